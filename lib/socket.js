'use strict';

// One client connection as the handler sees it (req.socket), and its
// transport. The socket itself lives on a ring thread; this object names it
// there by (slot, generation) and talks to that ring: it sends what its
// responses write, pauses and resumes reading for a body's consumer, asks
// to hear when all it queued is sent, and aborts. It also keeps the
// exchanges it carries: the responses not yet ended, oldest first, and the
// request whose body is arriving.
const { EventEmitter } = require('node:events');
const { constants: C } = require('./native');
const { codedError } = require('./errors');

const kRing = Symbol('ring');
const kSlot = Symbol('slot');
const kGen = Symbol('gen');
const kAddr = Symbol('addr');
const kRemoteAddress = Symbol('remoteAddress');
const kPending = Symbol('pending');
const kBodyRequest = Symbol('bodyRequest');
const kQueuedBytes = Symbol('queuedBytes');
const kSentBytes = Symbol('sentBytes');
const kDrainAsked = Symbol('drainAsked');
const kRequests = Symbol('requests');
const kRaw = Symbol('raw');

// The transport, for lib/request.js and lib/response.js.
const kSend = Symbol('send');
const kSetReading = Symbol('setReading');
const kAskDrain = Symbol('askDrain');
const kKeepAliveLines = Symbol('keepAliveLines');
const kResponseEnded = Symbol('responseEnded');
const kResponseSeq = Symbol('seq'); // a ServerResponse's number
// What the ring reports, for lib/uring_backend.js.
const kMatches = Symbol('matches');
const kAddExchange = Symbol('addExchange');
const kCountRequest = Symbol('countRequest');
const kOnBody = Symbol('onBody');
const kOnBodyEnd = Symbol('onBodyEnd');
const kOnDrain = Symbol('onDrain');
const kOnClose = Symbol('onClose');
const kOnHangup = Symbol('onHangup');
const kOnData = Symbol('onData');
const kUpgrade = Symbol('upgrade');
const kKeepParsing = Symbol('keepParsing');

class UringSocket extends EventEmitter {
  // ring: the ServerRing that serves the connection (lib/uring_backend.js).
  constructor(ring, slot, gen, family, port, addrBytes) {
    super();
    this.server = ring.server;
    this.remoteFamily = family;
    this.remotePort = port;
    this.destroyed = false;
    this[kRing] = ring;
    this[kSlot] = slot;
    this[kGen] = gen;
    this[kAddr] = addrBytes;
    this[kRemoteAddress] = undefined;
    this[kPending] = [];
    this[kBodyRequest] = null;
    // Response bytes (heads and bodies, as the ring thread counts them)
    // queued for the ring thread, and those it reported sent; whether a
    // DRAIN event was asked for and is still to come.
    this[kQueuedBytes] = 0;
    this[kSentBytes] = 0;
    this[kDrainAsked] = false;
    this[kRequests] = 0; // counted when maxRequestsPerSocket is set
    this[kRaw] = null; // the UpgradedSocket, once JS took an upgrade
  }

  // Closes the connection at once; its responses not yet ended are
  // aborted ('close' follows, as for a client that went away).
  destroy() {
    if (!this.destroyed) this[kSend](0, C.OUT_ABORT, undefined, undefined, 0);
    return this;
  }

  // Which of the server's rings (0 to rings - 1) serves the connection.
  get ring() {
    return this[kRing].index;
  }

  // Response bytes written and not yet sent: what res.write() weighs
  // against the high-water mark.
  get writableLength() {
    return this[kQueuedBytes] - this[kSentBytes];
  }

  get remoteAddress() {
    if (this[kRemoteAddress] === undefined) {
      this[kRemoteAddress] = formatAddress(this[kAddr]);
    }
    return this[kRemoteAddress];
  }

  address() {
    return this.server.address();
  }

  get localPort() {
    const a = this.server.address();
    return a ? a.port : undefined;
  }

  // Kept for code written against net.Socket; the ring thread already sets
  // TCP_NODELAY on every connection, and timeouts are the server's.
  setNoDelay() { return this; }
  setKeepAlive() { return this; }
  setTimeout() { return this; }

  // ---- the transport ----

  // Queues a chunk of response seq for the ring thread: head (a latin1
  // string) and body (a string sent as UTF-8, or bytes, bodyBytes long)
  // may each be undefined. Nothing goes once the connection is gone.
  [kSend](seq, flags, head, body, bodyBytes) {
    if (this.destroyed || !this[kRing].send(this[kSlot], this[kGen], seq, flags, head, body)) return;
    // Counted as the ring thread counts what it sent (see kOnDrain).
    if (head !== undefined) this[kQueuedBytes] += head.length;
    this[kQueuedBytes] += bodyBytes;
  }

  // Asks the ring thread to stop or resume reading the connection.
  [kSetReading](reading) {
    this[kSend](0, reading ? C.OUT_RESUME : C.OUT_PAUSE, undefined, undefined, 0);
  }

  // Asks the ring thread for a DRAIN event, once until it comes.
  [kAskDrain]() {
    if (this[kDrainAsked]) return;
    this[kDrainAsked] = true;
    this[kSend](0, C.OUT_NOTIFY, undefined, undefined, 0);
  }

  // The head lines of a keep-alive response, as the server was listened.
  get [kKeepAliveLines]() {
    return this[kRing].keepAliveLines;
  }

  // res.end() was called: the exchange is over for this side.
  [kResponseEnded](res) {
    const pending = this[kPending];
    const at = pending.indexOf(res);
    if (at >= 0) pending.splice(at, 1);
    // A body nobody reads once the response is out is read and dropped,
    // as node:http does, so that the connection moves on.
    const req = res.req;
    if (!req.complete && req.readableFlowing === null) req.resume();
  }

  // ---- what the ring reports ----

  // The request of number seq asked for an upgrade (or is a CONNECT) and
  // JS takes it: the connection leaves HTTP, and its bytes, both ways, are
  // the returned UpgradedSocket's. Its first (empty) raw chunk tells the
  // ring thread.
  [kUpgrade](req, seq) {
    req.complete = true;
    req.push(null);
    const { UpgradedSocket } = require('./upgraded_socket');
    const raw = new UpgradedSocket(this, seq);
    this[kRaw] = raw;
    this[kSend](seq, C.OUT_RAW, undefined, undefined, 0);
    return raw;
  }

  // Nobody takes the upgrade the ring thread holds: parse on as HTTP.
  [kKeepParsing]() {
    this[kSend](0, C.OUT_PARSE, undefined, undefined, 0);
  }

  // Whether gen is this connection's generation: a record for its slot
  // may be about an earlier connection that had the slot.
  [kMatches](gen) {
    return this[kGen] === gen;
  }

  // A request arrived: res is pending until it ends; a request with a
  // body receives the BODY events that follow, until END.
  [kAddExchange](req, res, hasBody) {
    this[kPending].push(res);
    if (hasBody) {
      this[kBodyRequest] = req;
    } else {
      req.complete = true;
      req.push(null);
    }
  }

  // Counts a request against maxRequestsPerSocket: returns how many came.
  [kCountRequest]() {
    return ++this[kRequests];
  }

  [kOnBody](chunk) {
    if (this[kBodyRequest] !== null) this[kBodyRequest]._pushBody(chunk);
  }

  [kOnBodyEnd]() {
    const req = this[kBodyRequest];
    if (req === null) return;
    this[kBodyRequest] = null;
    req._endBody();
  }

  // Everything written is sent (sent: the bytes since the connection
  // opened): responses that saw write() return false get their 'drain'.
  [kOnDrain](sent) {
    this[kSentBytes] = sent;
    this[kDrainAsked] = false;
    for (const res of this[kPending]) res._drained();
    if (this[kRaw] !== null) this[kRaw][kOnDrain]();
  }

  // The client sent its FIN. In raw mode that ends the upgraded socket's
  // input. Otherwise, as node:http, a client that half-closes has gone:
  // the responses not yet ended are aborted now, and the connection
  // closes once those ended before are sent (an empty last chunk that
  // closes, in the place of the first aborted response).
  [kOnHangup]() {
    if (this[kRaw] !== null) {
      this[kRaw][kOnHangup]();
      return;
    }
    const pending = this[kPending];
    if (pending.length === 0) return;
    this[kPending] = [];
    this[kSend](pending[0][kResponseSeq], C.OUT_END | C.OUT_CLOSE, undefined, undefined, 0);
    for (const res of pending) abortExchange(res);
  }

  // Bytes received in raw mode.
  [kOnData](chunk) {
    if (this[kRaw] !== null) this[kRaw][kOnData](chunk);
  }

  // The ring thread closed the connection.
  [kOnClose]() {
    this.destroyed = true;
    const pending = this[kPending];
    this[kPending] = [];
    for (const res of pending) abortExchange(res);
    if (this[kRaw] !== null) this[kRaw][kOnClose]();
    this.emit('close');
  }
}

// The connection closed before res.end(): tell the request and the response.
// As node:http's, a request not read to its end is 'aborted' too, and
// every one is destroyed ('close').
function abortExchange(res) {
  const req = res.req;
  if (!req.complete || !req.readableEnded) {
    req.aborted = true;
    req.emit('aborted');
  }
  if (!req.destroyed) {
    const err = req.complete ? undefined : codedError(Error, 'ECONNRESET', 'aborted');
    req.destroy(err !== undefined && req.listenerCount('error') > 0 ? err : undefined);
  }
  res.destroyed = true;
  res.emit('close');
}

function formatAddress(bytes) {
  if (bytes.length === 4) return bytes.join('.');
  const words = [];
  for (let i = 0; i < 16; i += 2) words.push((bytes[i] << 8) | bytes[i + 1]);
  // An IPv4 client of a dual-stack socket: ::ffff:a.b.c.d, as Node prints.
  if (words.slice(0, 5).every((w) => w === 0) && words[5] === 0xffff) {
    return `::ffff:${bytes[12]}.${bytes[13]}.${bytes[14]}.${bytes[15]}`;
  }
  return compressIPv6(words.map((w) => w.toString(16)));
}

// The longest run of zero groups becomes "::" (RFC 5952).
function compressIPv6(groups) {
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j === i ? i + 1 : j;
  }
  if (best < 0) return groups.join(':');
  const head = groups.slice(0, best).join(':');
  const tail = groups.slice(best + bestLen).join(':');
  return `${head}::${tail}`;
}

module.exports = {
  UringSocket,
  kSend,
  kSetReading,
  kAskDrain,
  kKeepAliveLines,
  kResponseEnded,
  kMatches,
  kAddExchange,
  kCountRequest,
  kOnBody,
  kOnBodyEnd,
  kOnDrain,
  kOnClose,
  kOnHangup,
  kOnData,
  kUpgrade,
  kKeepParsing,
  kResponseSeq,
  kRing,
  kSlot,
  kGen,
};
