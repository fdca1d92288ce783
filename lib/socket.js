'use strict';

// One client connection as the handler sees it (req.socket): a Duplex
// shaped like the net.Socket node:http gives, and its transport. The
// socket itself lives on a ring thread; this object names it there by
// (slot, generation) and talks to that ring: it sends what its responses
// write, pauses and resumes reading for a body's consumer, asks to hear
// when all it queued is sent, and aborts. It also keeps the exchanges it
// carries: the responses not yet ended, oldest first (the first is
// _httpMessage, as node:http sets it), and the request whose body is
// arriving.
//
// The ring thread parses what the client sends, so the readable side never
// carries data: it stays open while the connection does, which is what
// code that checks socket.readable (on-finished, raw-body) asks. The
// writable side carries bytes of the response at the head of the line, as
// node:http's own ServerResponse writes them into its socket.
const { Duplex } = require('node:stream');
const { constants: C } = require('./native');
const { codedError } = require('./errors');
// node:http's own response notes here that its write() returned false: its
// 'drain' is then due when the socket drains (node:http's server tells it
// so; here the socket does).
const { kNeedDrain: kHttpNeedDrain } = require('./http_state');

const kRing = Symbol('ring');
const kSlot = Symbol('slot');
const kGen = Symbol('gen');
// The client's address: an IPv4 one as a number, an IPv6 one's 16 bytes,
// or either as remoteAddress formatted it once asked.
const kAddr = Symbol('addr');
const kPort = Symbol('port');
const kPending = Symbol('pending');
const kNextSeq = Symbol('nextSeq');
const kBodyRequest = Symbol('bodyRequest');
const kQueuedBytes = Symbol('queuedBytes');
const kSentBytes = Symbol('sentBytes');
const kReadBytes = Symbol('readBytes');
const kDrainAsked = Symbol('drainAsked');
const kReadingPaused = Symbol('readingPaused');
const kRequests = Symbol('requests');
// The upgrade request's seq once the connection left HTTP (raw mode), else -1.
const kUpgradeSeq = Symbol('upgradeSeq');
const kClosed = Symbol('closed');
const kOnClosed = Symbol('onClosed');
const kTimer = Symbol('timer');
const kWriteCallback = Symbol('writeCallback');
// Written after the bytes of a response that node:http's own end() wrote
// through the socket, when they wait in its buffer: that response ends.
const END_CHUNK = Buffer.alloc(0);
// resetAndDestroy() was called: the destroy resets the connection.
const kReset = Symbol('reset');


// The transport, for lib/request.js and lib/response.js.
const kSend = Symbol('send');
const kSetReading = Symbol('setReading');
const kAskDrain = Symbol('askDrain');
const kKeepAliveLines = Symbol('keepAliveLines');
const kResponseEnded = Symbol('responseEnded');
// State a response keeps here, not behind its methods: frameworks swap a
// response's prototype (Express sets one inheriting from node:http's), so
// the socket reaches its requests and responses through their data only.
// kSeq: the response's number on its connection, which kSend takes;
// kNeedDrain: a write() returned false and 'drain' is due.
const kSeq = Symbol('seq');
const kNeedDrain = Symbol('needDrain');
// The response writes through the socket (node:http's own methods do,
// after a prototype swap): its end is heard from its 'prefinish'.
const kViaSocket = Symbol('viaSocket');
// What the ring reports, for lib/uring_backend.js.
const kMatches = Symbol('matches');
const kAddExchange = Symbol('addExchange');
const kCountRequest = Symbol('countRequest');
const kOnBody = Symbol('onBody');
const kOnBodyEnd = Symbol('onBodyEnd');
const kOnTrailers = Symbol('onTrailers');
const kOnDrain = Symbol('onDrain');
const kOnClose = Symbol('onClose');
const kGoRaw = Symbol('goRaw');
const kOnHangup = Symbol('onHangup');
const kOnHeldHangup = Symbol('onHeldHangup');
const kOnData = Symbol('onData');
const kUpgrade = Symbol('upgrade');
const kKeepParsing = Symbol('keepParsing');
const kDrain = Symbol('drain');
const kIdentity = Symbol('identity');
// The upgrade is taken but the ring thread still holds it: the first use of
// the socket as a byte stream (a read, write or end) switches it to raw
// mode; a WebSocket accept (kWsOpen) switches it to WebSocket mode instead.
const kRawPending = Symbol('rawPending');
// In WebSocket mode: the WebSocket (lib/websocket.js) the ring thread's WS
// records, and the connection's end, go to.
const kWsPeer = Symbol('wsPeer');
const kWsOpen = Symbol('wsOpen');
const kWsSend = Symbol('wsSend');
const kWsTopic = Symbol('wsTopic');
const kWsPublish = Symbol('wsPublish');
const kWsServer = Symbol('wsServer');
const kOnWs = Symbol('onWs');
const kClientError = Symbol('clientError');

class UringSocket extends Duplex {
  // ring: the ServerRing that serves the connection (lib/uring_backend.js).
  // The client's address is kept as the batch gave it (see kAddr) until
  // asked: a socket per idle connection is memory per idle connection.
  constructor(ring, slot, gen, port, addr) {
    // Strings reach _write() as they were given: a latin1 head goes to the
    // ring thread as it is, without a Buffer made of it.
    super({ decodeStrings: false, allowHalfOpen: true });
    this.server = ring.server;
    this.timeout = 0;
    this._httpMessage = null;
    this[kRing] = ring;
    this[kSlot] = slot;
    this[kGen] = gen;
    this[kAddr] = addr;
    this[kPort] = port;
    this[kPending] = [];
    // The seq of the response after the last request seen: where an end()
    // with no response pending closes the connection.
    this[kNextSeq] = 0;
    this[kBodyRequest] = null;
    // Response bytes (heads and bodies, as the ring thread counts them)
    // queued for the ring thread, and those it reported sent; whether a
    // DRAIN event was asked for and is still to come.
    this[kQueuedBytes] = 0;
    this[kSentBytes] = 0;
    this[kReadBytes] = 0;
    this[kDrainAsked] = false;
    // Reading is paused: a body's consumer has not caught up.
    this[kReadingPaused] = false;
    this[kRequests] = 0; // counted when maxRequestsPerSocket is set
    // The ring thread reported the connection closed; until then a
    // destroy() waits for it (kOnClosed), so that the responses it aborts
    // say 'close' before the socket does, as node:http's do.
    this[kClosed] = false;
    this[kOnClosed] = null;
    this[kTimer] = null;
    // The callback of a write() past the high-water mark, held until the
    // ring thread has sent everything: what makes socket.write() (and
    // node:http's res.write() over it) return false while a client reads
    // slowly.
    this[kWriteCallback] = null;
    this[kReset] = false;
    // As node:http's server does, the socket always has an 'error'
    // listener: destroy(err) tells whoever listens, and never throws.
    this.on('error', onSocketError);
    this[kUpgradeSeq] = -1;
    this[kRawPending] = false;
    this[kWsPeer] = null;
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

  get bytesWritten() {
    return this[kSentBytes];
  }

  // The body bytes the connection carried; the ring thread parses the
  // heads and does not count them.
  get bytesRead() {
    return this[kReadBytes];
  }

  // Accessors, as net.Socket's are.
  // A Unix socket's peer has none of the three, as net.Socket's has not.
  get remoteAddress() {
    const addr = this[kAddr];
    if (typeof addr === 'string' || addr === undefined) return addr;
    return (this[kAddr] = formatAddress(addr));
  }

  get remoteFamily() {
    const addr = this[kAddr];
    if (addr === undefined) return undefined;
    const v4 = typeof addr === 'number' || (typeof addr === 'string' && !addr.includes(':'));
    return v4 ? 'IPv4' : 'IPv6';
  }

  get remotePort() {
    return this[kAddr] === undefined ? undefined : this[kPort];
  }

  get localAddress() {
    const a = this.server.address();
    return a ? a.address : undefined;
  }

  get localPort() {
    const a = this.server.address();
    return a ? a.port : undefined;
  }

  get localFamily() {
    const a = this.server.address();
    return a ? a.family : undefined;
  }

  get connecting() {
    return false;
  }

  get pending() {
    return false;
  }

  get readyState() {
    if (this.destroyed) return 'closed';
    if (this.writableEnded) return 'readOnly';
    return 'open';
  }

  // A Unix socket's is {}, as net.Socket's.
  address() {
    const address = this.server.address();
    return typeof address === 'string' ? {} : address;
  }

  // As net.Socket's, applied by the ring thread to the connection's
  // socket (which has TCP_NODELAY from its accept on).
  setNoDelay(noDelay = true) {
    this[kSend](noDelay ? C.SOCKOPT_NODELAY_ON : C.SOCKOPT_NODELAY_OFF, C.OUT_SOCKOPT, undefined, undefined, 0);
    return this;
  }

  // As net.Socket's: TCP keepalive probes, the first after initialDelay
  // ms of silence (in whole seconds; under one keeps the system's).
  setKeepAlive(enable = false, initialDelay = 0) {
    const idle = Math.min(32767, Math.max(0, Math.trunc(initialDelay / 1000))); // TCP_KEEPIDLE's bounds
    const seq = enable ? (C.SOCKOPT_KEEPALIVE_ON | (idle << C.SOCKOPT_SHIFT)) >>> 0 : C.SOCKOPT_KEEPALIVE_OFF;
    this[kSend](seq, C.OUT_SOCKOPT, undefined, undefined, 0);
    return this;
  }

  // The server is what keeps the loop alive: one connection cannot hold
  // it alone, nor let it go.
  ref() { return this; }
  unref() { return this; }

  // As net.Socket's: 'timeout' after msecs without traffic on the
  // connection (what its requests, bodies and responses carry); 0 stops
  // it. The server's own timeout (server.timeout) is the ring thread's.
  setTimeout(msecs, callback) {
    if (this.destroyed) return this;
    this.timeout = msecs;
    if (this[kTimer] !== null) clearTimeout(this[kTimer]);
    this[kTimer] = null;
    if (msecs === 0) {
      if (callback !== undefined) this.removeListener('timeout', callback);
      return this;
    }
    this[kTimer] = setTimeout(onSocketTimeout, msecs, this).unref();
    if (callback !== undefined) this.once('timeout', callback);
    return this;
  }

  // Stops and resumes reading the connection, as net.Socket's. A request
  // resumes it when its body is read (node:http's IncomingMessage calls
  // socket.resume() from _read() too).
  pause() {
    this[kSetReading](false);
    return super.pause();
  }

  resume() {
    this[kSetReading](true);
    return super.resume();
  }

  // Nothing arrives on the readable side but in raw mode (after an
  // upgrade), where the ring thread's DATA is pushed: reading resumes
  // once the consumer wants more.
  _read() {
    if (this[kUpgradeSeq] === -1) return;
    this[kGoRaw]();
    this[kSetReading](true);
  }

  // Bytes written on the socket belong to the response at the head of the
  // line, as on node:http's socket: the ring thread sends them with that
  // response's seq, in order with what the response itself sent. In raw
  // mode they go as they are (NU_OUT_RAW), after every response before.
  _write(chunk, encoding, callback) {
    if (chunk === END_CHUNK) {
      // The response whose bytes came before (a destroy() may have taken it).
      if (this._httpMessage !== null) responseWritten(this, this._httpMessage);
      callback();
      return;
    }
    const raw = this[kUpgradeSeq] !== -1;
    if (raw) this[kGoRaw]();
    const res = raw ? null : this._httpMessage;
    if (!raw && res === null) {
      callback(codedError(Error, 'ERR_SOCKET_NO_MESSAGE',
        'No response is being written on this connection: ' +
        'socket.write() sends bytes of the response at the head of the line'));
      return;
    }
    const seq = raw ? this[kUpgradeSeq] : res[kSeq];
    const flags = raw ? C.OUT_RAW : 0;
    if (typeof chunk === 'string') {
      if (encoding === 'latin1' || encoding === 'binary') {
        this[kSend](seq, flags, chunk, undefined, 0);
      } else if (encoding === 'utf8' || encoding === 'utf-8') {
        this[kSend](seq, flags, undefined, chunk, Buffer.byteLength(chunk));
      } else {
        const bytes = Buffer.from(chunk, encoding);
        this[kSend](seq, flags, undefined, bytes, bytes.byteLength);
      }
    } else {
      this[kSend](seq, flags, undefined, chunk, chunk.byteLength);
    }
    if (!raw) writesViaSocket(res);
    if (this.writableLength < this.writableHighWaterMark) {
      callback();
    } else {
      this[kWriteCallback] = callback;
      this[kAskDrain]();
    }
  }

  // end(): the connection closes once what was written is sent, in the
  // place of the first response not yet ended (what it wrote goes, the
  // rest of it never), or after the last one; in raw mode its write side
  // is shut then (the peer's FIN closes it).
  _final(callback) {
    if (this[kUpgradeSeq] !== -1) {
      this[kGoRaw]();
      this[kSend](this[kUpgradeSeq], C.OUT_RAW | C.OUT_SHUTDOWN, undefined, undefined, 0);
    } else if (!this[kClosed]) {
      const pending = this[kPending];
      this[kSend](pending.length > 0 ? pending[0][kSeq] : this[kNextSeq], C.OUT_CLOSE, undefined, undefined, 0);
    }
    callback();
  }

  // destroy([err]): the connection closes at once, its responses not yet
  // ended are aborted; 'error' (with err) follows at the next tick, as a
  // net.Socket's does (on-finished, which Koa reports an error through,
  // hears it before a stream.pipeline() that destroyed the response calls
  // back), and 'close' once the ring thread confirms. When every response
  // begun was ended, the ring thread sends what is left of them first, as
  // the kernel sends what a net.Socket wrote (nu__conn_abort()).
  _destroy(err, callback) {
    if (this[kTimer] !== null) clearTimeout(this[kTimer]);
    this[kTimer] = null;
    if (this[kClosed] || this[kRing].handle === null) {
      callback(err);
      return;
    }
    if (err) process.nextTick(emitError, this, err);
    this[kOnClosed] = callback; // called without err: 'close' alone
    this[kSend](0, this[kReset] ? C.OUT_ABORT | C.OUT_RESET : C.OUT_ABORT, undefined, undefined, 0);
  }

  // As net.Socket's: the connection is reset (the client gets an RST,
  // ECONNRESET) and the socket destroyed; on a closed one, the destroy()
  // has ERR_SOCKET_CLOSED.
  resetAndDestroy() {
    if (this[kClosed]) {
      this.destroy(codedError(Error, 'ERR_SOCKET_CLOSED', 'Socket is closed'));
    } else {
      this[kReset] = true;
      this.destroy();
    }
    return this;
  }

  // ---- the transport ----

  // Queues a chunk of response seq for the ring thread: head (a latin1
  // string) and body (a string sent as UTF-8, or bytes, bodyBytes long)
  // may each be undefined. Nothing goes once the connection is gone.
  [kSend](seq, flags, head, body, bodyBytes) {
    if (this[kClosed] || !this[kRing].send(this[kSlot], this[kGen], seq, flags, head, body, bodyBytes)) return;
    // Counted as the ring thread counts what it sent (see kOnDrain).
    if (head !== undefined) this[kQueuedBytes] += head.length;
    this[kQueuedBytes] += bodyBytes;
    if (this[kTimer] !== null) this[kTimer].refresh();
  }

  // Asks the ring thread to stop or resume reading the connection, when
  // that changes anything.
  [kSetReading](reading) {
    if (this[kReadingPaused] !== reading) return;
    this[kReadingPaused] = !reading;
    this[kSend](0, reading ? C.OUT_RESUME : C.OUT_PAUSE, undefined, undefined, 0);
  }

  // Asks the ring thread for a DRAIN event, once until it comes.
  [kAskDrain]() {
    if (this[kDrainAsked]) return;
    this[kDrainAsked] = true;
    this[kSend](0, C.OUT_NOTIFY, undefined, undefined, 0);
  }

  // The head lines of a keep-alive response, as the server's settings are.
  get [kKeepAliveLines]() {
    return this[kRing].uring.keepAliveLines;
  }

  // res.end() was called: the exchange is over for this side, and the
  // next response in line is the one the socket writes. (Its request is
  // dumped once it finishes: dumpOnFinish().)
  [kResponseEnded](res) {
    const pending = this[kPending];
    if (pending[0] === res) { // in order, as nearly always
      pending.shift();
    } else {
      const at = pending.indexOf(res);
      if (at >= 0) pending.splice(at, 1);
    }
    if (this._httpMessage === res) {
      const next = pending.length > 0 ? pending[0] : null;
      this._httpMessage = next;
      // What node:http's own write() kept for its turn (after a prototype
      // swap) goes now, as node:http's server hands a queued response its
      // socket. Its end, if it came, follows at once ('prefinish'), and
      // its writes may wait in this socket's buffer: hear it first.
      if (next !== null && next.outputData.length > 0) {
        writesViaSocket(next);
        next._flush();
      }
    }
  }

  // ---- what the ring reports ----

  // The request of number seq asked for an upgrade (or is a CONNECT) and
  // JS takes it: the connection leaves HTTP (raw mode), and its bytes,
  // both ways, are this socket's, as net.Socket's are after node:http's
  // 'upgrade'. The first (empty) raw chunk tells the ring thread.
  // The first (empty) raw chunk tells the ring thread, at the socket's
  // first use (kGoRaw).
  [kUpgrade](req, seq) {
    req.complete = true;
    req.push(null);
    this[kUpgradeSeq] = seq;
    this._httpMessage = null;
    this[kRawPending] = true;
    return this;
  }

  // The ring thread could not parse what the client sent, and hands the
  // connection to 'clientError': it reads nothing more, and what is
  // written on the socket from now on answers the error as response
  // number seq (raw, as after an upgrade; end() closes the connection once
  // it is sent). A request whose body was arriving gets no more of it: it
  // is aborted when the connection closes, as on node:http.
  [kClientError](seq) {
    this[kBodyRequest] = null;
    this[kUpgradeSeq] = seq;
    this._httpMessage = null;
  }

  [kGoRaw]() {
    if (!this[kRawPending]) return;
    this[kRawPending] = false;
    this[kSend](this[kUpgradeSeq], C.OUT_RAW, undefined, undefined, 0);
  }

  // A WebSocket accepted the upgrade: head (the 101 response) goes out and
  // the ring thread parses the connection's input as frames from then on,
  // handing peer their records. given: bytes that came before, to be
  // parsed first (head of 'upgrade', and what this socket read in raw
  // mode); ring: what the ring thread keeps for it ({ maxPayload,
  // maxBackpressure, idleTimeout, flags }, see ServerRing#wsOpen()).
  // Returns false when the connection is gone.
  [kWsOpen](peer, head, ring, given) {
    if (this[kClosed] || this[kWsPeer] !== null) return false;
    const parts = given.length > 0 ? [given] : [];
    if (!this[kRawPending]) { // raw already: what it read and nobody took
      for (let chunk; (chunk = this.read()) !== null;) parts.push(chunk);
    }
    this[kRawPending] = false;
    this[kWsPeer] = peer;
    const bytes = parts.length > 0 ? Buffer.concat(parts) : undefined;
    // The ring thread counts the frames JS sends, not head, in what it
    // reports sent (see kOnDrain), nor do we.
    return this[kRing].wsOpen(this[kSlot], this[kGen], head, ring, bytes);
  }

  // One WebSocket frame; bytes: its header's and payload's length, as the
  // ring thread counts what it sent. Returns false once the connection is gone.
  [kWsSend](opcode, fin, data, bytes) {
    if (this[kClosed] || !this[kRing].wsSend(this[kSlot], this[kGen], opcode, fin, data)) return false;
    this[kQueuedBytes] += bytes;
    return true;
  }

  // Pub/sub (lib/websocket.js): this connection subscribes to a topic or
  // unsubscribes (action), or publishes to the topic's other subscribers
  // on every ring. False once the connection (or the server) is gone.
  [kWsTopic](action, topic) {
    return !this[kClosed] && this[kRing].wsTopic(this[kSlot], this[kGen], action, topic);
  }

  [kWsPublish](topic, data, opcode) {
    if (this[kRing].handle === null) return false;
    this[kRing].wsPublish(topic, data, opcode, this[kSlot], this[kGen]);
    return true;
  }

  // The server (lib/uring_backend.js's UringServer) whose rings a publish
  // reaches.
  get [kWsServer]() {
    return this[kRing].uring;
  }

  // Nobody takes the upgrade the ring thread holds: parse on as HTTP.
  [kKeepParsing]() {
    this[kSend](0, C.OUT_PARSE, undefined, undefined, 0);
  }

  // Which connection of its ring this is: [slot, gen].
  [kIdentity]() {
    return [this[kSlot], this[kGen]];
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
    this[kNextSeq] = (res[kSeq] + 1) >>> 0;
    if (this._httpMessage === null) this._httpMessage = res;
    if (this[kTimer] !== null) this[kTimer].refresh();
    if (hasBody) {
      this[kBodyRequest] = req;
    } else {
      req.complete = true;
      // Pushed before the handler runs, the end's 'readable' keeps the
      // tick of its own Readable defers it to (a new stream counts as
      // inside a read): a 'readable' listener the handler adds is called
      // then, as on node:http. Without that tick it was emitted here, to
      // no listener, and only 'end' came.
      req.push(null);
    }
  }

  // The server closes draining (drainOnClose), and so will the ring thread
  // this connection once its responses are out: those whose head is not
  // written yet say so (Connection: close).
  [kDrain]() {
    for (const res of this[kPending]) if (!res.headersSent) res.shouldKeepAlive = false;
  }

  // Counts a request against maxRequestsPerSocket: returns how many came.
  [kCountRequest]() {
    return ++this[kRequests];
  }

  [kOnBody](chunk) {
    this[kReadBytes] += chunk.length;
    if (this[kTimer] !== null) this[kTimer].refresh();
    const req = this[kBodyRequest];
    // Past the high-water mark the connection is paused until the
    // consumer reads (the request's _read() resumes it).
    if (req !== null && !req.push(chunk)) this[kSetReading](false);
  }

  // A chunked body's trailer fields, before its end: stored as node:http's
  // parser stores them (complete first makes them trailers), into
  // req.trailers too if it was read before.
  [kOnTrailers](raw) {
    const req = this[kBodyRequest];
    if (req === null) return;
    req.complete = true;
    req._addHeaderLines(raw, raw.length);
  }

  [kOnBodyEnd]() {
    const req = this[kBodyRequest];
    if (req === null) return;
    this[kBodyRequest] = null;
    req.complete = true;
    req.push(null);
    this[kSetReading](true); // what follows on the connection is not ours
  }

  // Everything written is sent (sent: the bytes since the connection
  // opened): responses that saw write() return false get their 'drain'.
  [kOnDrain](sent) {
    this[kSentBytes] = sent;
    this[kDrainAsked] = false;
    if (this[kWsPeer] !== null) this[kWsPeer].onDrain();
    for (const res of this[kPending]) {
      if (res[kNeedDrain]) {
        res[kNeedDrain] = false;
        res.emit('drain');
      }
    }
    const callback = this[kWriteCallback];
    if (callback === null) return;
    this[kWriteCallback] = null;
    callback(); // the socket's own 'drain', when a write() returned false
    const msg = this._httpMessage;
    if (msg !== null && !msg.finished && msg[kHttpNeedDrain]) {
      msg[kHttpNeedDrain] = false;
      msg.emit('drain');
    }
  }

  // The client sent its FIN. In raw mode that ends the upgraded socket's
  // input. Otherwise, as node:http, a client that half-closes has gone:
  // an empty last chunk that closes goes in the place of the first
  // response not yet ended, so that the ring thread sends those ended
  // before, then closes; its CLOSE aborts the others (kOnClose). That
  // waits for the check phase (hangUp()): node:http reads a FIN in a later
  // turn of the loop than the requests before it (libuv stops reading at a
  // short read), so a response those requests' handlers end from a promise
  // or a setImmediate() still goes out, and Koa's, ended once its
  // middleware's promise settles, do.
  [kOnHangup]() {
    if (this[kWsPeer] !== null) {
      this[kWsPeer].onHangup();
      return;
    }
    if (this[kUpgradeSeq] !== -1) {
      // As net.Socket: 'end' once what came before is read, even when
      // nobody reads (then at once, with nothing before).
      this.push(null);
      this.read(0);
      return;
    }
    setImmediate(hangUp, this);
  }

  // The client sent its FIN, and nothing after the upgrade request the
  // ring thread holds. The socket of 'upgrade' ends now, read or not: its
  // readable side can carry nothing more (the ring thread passes the FIN
  // on again when it lets go of the request, a no-op here then). When
  // nobody took the upgrade, or a WebSocket did, the ring thread's own
  // pass is the one that counts.
  [kOnHeldHangup]() {
    if (this[kUpgradeSeq] !== -1 && this[kWsPeer] === null) this[kOnHangup]();
  }

  // Bytes received in raw mode. Past the readable side's high-water mark
  // the ring thread stops reading until _read().
  [kOnData](chunk) {
    // In WebSocket mode these were on their way before the switch (see
    // README, WebSockets): nobody reads them any more.
    if (this[kWsPeer] !== null) return;
    this[kReadBytes] += chunk.length;
    if (this[kTimer] !== null) this[kTimer].refresh();
    if (!this.push(chunk)) this[kSetReading](false);
  }

  // The ring thread closed the connection: its responses not yet ended
  // are aborted, then the socket is destroyed ('close'), or, when
  // destroy() was called, its wait is over.
  // A WS record: a message, control frame or error (lib/batch.js).
  [kOnWs](op, code, chunk) {
    this[kReadBytes] += chunk.length;
    if (this[kWsPeer] !== null) this[kWsPeer].onRecord(op, code, chunk);
  }

  [kOnClose]() {
    this[kClosed] = true;
    const peer = this[kWsPeer];
    const pending = this[kPending];
    this[kPending] = [];
    this._httpMessage = null;
    // Destroyed first: a request destroyed below must find its socket
    // gone, or node:http's IncomingMessage destroys it again, with an error.
    const onClosed = this[kOnClosed];
    if (onClosed !== null) {
      this[kOnClosed] = null;
      onClosed();
    } else {
      this.destroy();
    }
    for (const res of pending) abortExchange(res);
    if (peer !== null) peer.onClose();
  }
}

// As node:http's server hears its sockets' 'timeout': the request still
// arriving, the response being written and the server are told, and when
// none of them listens the connection goes, whoever listens to the socket.
function onSocketError() {}

// destroy(err)'s 'error', emitted before the ring thread confirms the
// close (see _destroy()); destroy() has set socket.errored already.
function emitError(socket, err) {
  socket.emit('error', err);
}

// res writes through its socket (node:http's own write() and end(),
// after a prototype swap): its end is heard ('prefinish').
function writesViaSocket(res) {
  if (res[kViaSocket] === true) return;
  res[kViaSocket] = true;
  res.once('prefinish', onResponsePrefinish);
}

// A response written through its socket ended: all its bytes were
// written, the ring thread may move on to the next response. Some of them
// may wait in the socket's buffer (behind a write held at the high-water
// mark, or written while the buffer was being emptied), so its end goes
// behind them, through the buffer too (END_CHUNK): ahead of them, the
// next response would take them.
function onResponsePrefinish() {
  const socket = this.socket;
  if (socket.destroyed || socket.writableEnded) responseWritten(socket, this);
  else socket.write(END_CHUNK);
}

function responseWritten(socket, res) {
  let flags = C.OUT_END;
  if (!res.shouldKeepAlive || res._last) flags |= C.OUT_CLOSE;
  socket[kSend](res[kSeq], flags, undefined, undefined, 0);
  socket[kResponseEnded](res);
  // node:http's own end() emits 'finish' itself, unless the socket is gone.
  if (socket.destroyed) dumpRequest(res.req);
  else res.once('finish', onFinishDump);
}

const { emit: EMIT } = require('node:events').prototype;

// The client's FIN, heard in the check phase (see kOnHangup): the first
// response not yet ended closes the connection; with none, the ring thread
// closes it once those ended are sent.
function hangUp(socket) {
  const pending = socket[kPending];
  if (pending.length > 0) socket[kSend](pending[0][kSeq], C.OUT_END | C.OUT_CLOSE, undefined, undefined, 0);
}

// A request nobody reads once its response has finished is read and
// dropped, as node:http's server dumps it from its 'finish' listener: the
// connection moves on past a body still coming, and a request already
// complete (bodyless, or its body all in) gets its 'end' and 'close',
// which stream.finished(req) and cleanup on req 'close' wait for (Fastify
// aborts request.signal on it, unless the reply has finished). A request
// with nothing left to read ends through read(0), which schedules its
// 'end' at once: resume() would take a tick more, and a third of the JS
// cost of a bodyless request went to that path.
function dumpRequest(req) {
  if (req.readableFlowing !== null) return;
  if (req.complete && req.readableLength === 0) req.read(0);
  else req.resume();
}

// res's 'finish' is being emitted (lib/response.js): its request is dumped
// with it, as by node:http's listener, first of the 'finish' listeners.
// Without a listener when emit() is the EventEmitter's, the common case;
// one that wraps emit() may hold 'finish' back, and the dump waits for it.
function dumpOnFinish(res) {
  if (res.emit === EMIT) dumpRequest(res.req);
  else res.once('finish', onFinishDump);
}

function onFinishDump() {
  dumpRequest(this.req);
}

function onSocketTimeout(socket) {
  socket[kTimer] = null;
  timedOut(socket);
}

// The socket's 'timeout' (its own setTimeout(), or the server's timeout
// the ring thread keeps), told as node:http's socketOnTimeout() tells it: a
// listener of the socket's own does not keep it from being destroyed.
function timedOut(socket) {
  socket.emit('timeout');
  const req = socket[kBodyRequest];
  const res = socket._httpMessage;
  const heard = (req !== null && req.emit('timeout', socket)) |
    (res !== null && res.emit('timeout', socket)) |
    socket.server.emit('timeout', socket);
  if (!heard) socket.destroy();
}

// The connection closed before res.end(): tell the request and the
// response. Destroying a request not read to its end is what makes
// node:http's IncomingMessage say 'aborted' (node:http destroys every
// one, complete or not: 'close' on each).
function abortExchange(res) {
  const req = res.req;
  if (!req.destroyed) {
    const err = req.complete ? undefined : codedError(Error, 'ECONNRESET', 'aborted');
    req.destroy(err !== undefined && req.listenerCount('error') > 0 ? err : undefined);
  }
  res.destroyed = true;
  res.emit('close');
}

function formatAddress(addr) {
  if (typeof addr === 'number') return `${addr >>> 24}.${(addr >>> 16) & 255}.${(addr >>> 8) & 255}.${addr & 255}`;
  const bytes = addr;
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
  timedOut,
  kSend,
  kSetReading,
  kAskDrain,
  kIdentity,
  kKeepAliveLines,
  kResponseEnded,
  dumpOnFinish,
  dumpRequest,
  kSeq,
  kNeedDrain,
  kMatches,
  kAddExchange,
  kCountRequest,
  kOnBody,
  kOnBodyEnd,
  kOnTrailers,
  kOnDrain,
  kOnClose,
  kOnHangup,
  kOnHeldHangup,
  kOnData,
  kUpgrade,
  kKeepParsing,
  kDrain,
  kWsOpen,
  kWsSend,
  kWsTopic,
  kWsPublish,
  kWsServer,
  kOnWs,
  kClientError,
};
