'use strict';

// WebSocketServer and its WebSocket, shaped like the `ws` package's, so
// that an app switches by changing its import. On the io_uring backend
// the frames are the ring thread's (src/ws, src/http/wsconn.c): it parses
// them, answers pings and close frames, and hands this thread whole
// messages in its batches; a send is one native call that builds the
// frame. Here are the handshake's checks (as ws makes them), the 101, the
// socket's states and its events. A connection of the node:http backend
// is handed to the `ws` package itself, when it is installed.
//
// permessage-deflate is declined: the 101 names no extension, and a client
// that offered it talks without it.
const { EventEmitter } = require('node:events');
const http = require('node:http');
const native = require('./native');
const { codedError } = require('./errors');
const {
  UringSocket, kWsOpen, kWsSend, kAskDrain, kSetReading, kWsTopic, kWsPublish, kWsServer,
} = require('./socket');
const { mixEventTarget, kWasClean } = require('./websocket_events');

const C = native.constants ?? {};
const OP_TEXT = C.WS_OP_TEXT;
const OP_BINARY = C.WS_OP_BINARY;
const OP_CLOSE = C.WS_OP_CLOSE;
const OP_PING = C.WS_OP_PING;
const OP_PONG = C.WS_OP_PONG;
const OP_CONT = C.WS_OP_CONT;
const REC_ERROR = C.WS_REC_ERROR;
const SUBSCRIBE = C.WS_SUBSCRIBE;
const UNSUBSCRIBE = C.WS_UNSUBSCRIBE;
// The longest topic, in UTF-8 bytes: the ring thread's bound (topics.h).
const TOPIC_MAX = C.WS_TOPIC_MAX ?? 1024;

const CONNECTING = 0;
const OPEN = 1;
const CLOSING = 2;
const CLOSED = 3;
const STATE_NAMES = ['CONNECTING', 'OPEN', 'CLOSING', 'CLOSED'];

// ws's defaults: the largest message (100 MiB), and how long a closing
// connection waits for the peer before it is cut.
const DEFAULT_MAX_PAYLOAD = 100 * 1024 * 1024;
// uWS's names: past maxBackpressure bytes unsent, send() returns false
// and a publish skips the socket (or closes it); idleTimeout seconds
// without input close it, after a ping at half of them.
const DEFAULT_MAX_BACKPRESSURE = 64 * 1024;
const DEFAULT_IDLE_TIMEOUT = 120;
const IDLE_TIMEOUT_MAX = 0xffff;
const CLOSE_TIMEOUT_MS = 30000;
const CONTROL_MAX = 125;
const NO_STATUS = 1005;
const ABNORMAL = 1006;
const EMPTY = Buffer.alloc(0);

// As ws: a key is 16 bytes in base64; a protocol list is tokens.
const KEY_RE = /^[+/0-9A-Za-z]{22}==$/;
const TOKEN_RE = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

// The close codes an endpoint may send (RFC 6455, 7.4); the ring thread
// checks the peer's with the same rule (nu_ws_close_code_valid()).
function validCloseCode(code) {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
    (code >= 3000 && code <= 4999);
}

// What send(), ping() and pong() take, as bytes or a string: a string goes
// to the native call as it is, and is written there as UTF-8.
function toPayload(data) {
  if (data === undefined) return EMPTY;
  if (typeof data === 'string' || data instanceof Uint8Array) return data;
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (typeof data === 'number') return String(data);
  return Buffer.from(data);
}

function payloadLength(data) {
  return typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength;
}

function headerLength(len) {
  return len < 126 ? 2 : len <= 0xffff ? 4 : 10;
}

// A topic is a string of at most TOPIC_MAX bytes in UTF-8.
function checkTopic(topic) {
  if (typeof topic !== 'string') {
    throw codedError(TypeError, 'ERR_INVALID_ARG_TYPE', 'The "topic" argument must be of type string');
  }
  if (topic.length > TOPIC_MAX / 3 && Buffer.byteLength(topic) > TOPIC_MAX) {
    throw codedError(RangeError, 'ERR_OUT_OF_RANGE', `A topic must not be longer than ${TOPIC_MAX} bytes in UTF-8`);
  }
}

// What publish() sends: data as send() takes it, text unless binary says
// otherwise or data is bytes.
function publishOpcode(payload, options) {
  return (options?.binary ?? typeof payload !== 'string') ? OP_BINARY : OP_TEXT;
}

function notOpen(ws) {
  return codedError(Error, 'WS_ERR_NOT_OPEN',
    `WebSocket is not open: readyState ${ws.readyState} (${STATE_NAMES[ws.readyState]})`);
}

const kSocket = Symbol('socket');
const kState = Symbol('state');
const kProtocol = Symbol('protocol');
const kCloseCode = Symbol('closeCode');
const kCloseReason = Symbol('closeReason');
const kCloseTimer = Symbol('closeTimer');
const kFragment = Symbol('fragment');
const kCallbacks = Symbol('callbacks');
const kLimits = Symbol('limits');
const kTopics = Symbol('topics');
const kNeedDrain = Symbol('needDrain');
const kPaused = Symbol('paused');
const kBinaryType = Symbol('binaryType');

// What binaryType takes, as in ws: how a binary message comes.
const BINARY_TYPES = ['nodebuffer', 'arraybuffer', 'fragments'];
if (typeof Blob === 'function') BINARY_TYPES.push('blob');

// A binary message's bytes as the socket's binaryType asks. buf is a
// view into the batch the message came in: 'arraybuffer' copies it out.
function binaryOf(buf, type) {
  switch (type) {
    case 'arraybuffer':
      return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
    case 'fragments':
      return [buf];
    case 'blob':
      return new Blob([buf]);
    default:
      return buf;
  }
}

// One WebSocket connection on the io_uring backend, as ws's WebSocket is
// on the server side. Made by WebSocketServer#handleUpgrade().
class WebSocket extends EventEmitter {
  // limits: the server's { maxBackpressure, maxBufferedAmount, ... }.
  constructor(socket, protocol, limits) {
    super();
    this[kSocket] = socket;
    this[kLimits] = limits;
    // The topics subscribed to, once there is one; the ring thread keeps
    // its own membership, and drops it when the connection closes.
    this[kTopics] = null;
    // A send() returned false: 'drain' is due once all is sent.
    this[kNeedDrain] = false;
    this[kState] = OPEN;
    this[kProtocol] = protocol;
    // The peer's close frame: its code and reason, once it came.
    this[kCloseCode] = ABNORMAL;
    this[kCloseReason] = EMPTY;
    this[kCloseTimer] = null;
    // A message sent in fragments (send with fin: false) is under way.
    this[kFragment] = false;
    // send() callbacks, called once the ring thread reports all sent.
    this[kCallbacks] = [];
    this[kPaused] = false;
    this[kBinaryType] = 'nodebuffer';
    // The closing handshake completed: close frames went both ways.
    this[kWasClean] = false;
  }

  get readyState() { return this[kState]; }
  get protocol() { return this[kProtocol]; }
  get extensions() { return ''; }
  get url() { return undefined; }

  // 'nodebuffer' (a Buffer, the default), 'arraybuffer', 'fragments' (an
  // array of Buffers: here always one, the ring thread joins fragments)
  // or 'blob'; anything else is ignored, as in ws. Text messages come as
  // Buffers whatever it says.
  get binaryType() { return this[kBinaryType]; }
  set binaryType(type) {
    if (BINARY_TYPES.includes(type)) this[kBinaryType] = type;
  }

  // pause() and resume(), as ws's: the ring thread stops reading the
  // connection, so the peer is held by TCP's flow control (and an idle
  // timeout does not count the pause), then reads it again. Messages it
  // had read already still come, as ws's own do until what its socket
  // had read is parsed. No-ops before the socket is open or once closed.
  get isPaused() { return this[kPaused]; }

  pause() {
    if (this[kState] === CONNECTING || this[kState] === CLOSED) return;
    this[kPaused] = true;
    this[kSocket][kSetReading](false);
  }

  resume() {
    if (this[kState] === CONNECTING || this[kState] === CLOSED) return;
    this[kPaused] = false;
    this[kSocket][kSetReading](true);
  }

  // Bytes of send(), ping(), pong() and close() queued that the ring
  // thread has not reported sent (published messages are not counted).
  // It reports when asked: when a send() has a callback, past 16 KiB
  // queued, or past maxBackpressure; and once all is sent.
  get bufferedAmount() {
    const socket = this[kSocket];
    return this[kState] === CLOSED ? 0 : Math.max(0, socket.writableLength);
  }

  // send(data[, { binary, fin }][, cb]) -> false once bufferedAmount is
  // past maxBackpressure ('drain' follows when it is back to 0), or when
  // the socket is not open; true otherwise. Past maxBufferedAmount (when
  // set) the message is not queued: the connection is cut, with an error.
  send(data, options, cb) {
    if (typeof options === 'function') [options, cb] = [{}, options];
    if (this[kState] === CONNECTING) throw notOpen(this);
    const payload = toPayload(data);
    if (this[kState] !== OPEN) {
      if (cb) process.nextTick(cb, notOpen(this));
      return false;
    }
    const limits = this[kLimits];
    if (limits.maxBufferedAmount > 0 &&
        this.bufferedAmount + payloadLength(payload) > limits.maxBufferedAmount) {
      this.overflow(cb);
      return false;
    }
    const binary = options?.binary ?? typeof payload !== 'string';
    const fin = options?.fin ?? true;
    const opcode = this[kFragment] ? OP_CONT : binary ? OP_BINARY : OP_TEXT;
    this[kFragment] = !fin;
    this.frame(opcode, fin, payload, cb);
    if (limits.maxBackpressure === 0 || this.bufferedAmount <= limits.maxBackpressure) return true;
    this[kNeedDrain] = true;
    this[kSocket][kAskDrain]();
    return false;
  }

  // ---- pub/sub, as uWS's: the ring thread keeps the subscriptions ----

  // subscribe(topic) -> whether it is a new subscription. Messages
  // published to the topic (wss.publish(), or another socket's publish())
  // reach this socket from then on, until it unsubscribes or closes.
  subscribe(topic) {
    checkTopic(topic);
    if (this[kState] !== OPEN) return false;
    const topics = this[kTopics] ??= new Set();
    if (topics.has(topic)) return false;
    if (!this[kSocket][kWsTopic](SUBSCRIBE, topic)) return false; // gone meanwhile
    topics.add(topic);
    this[kSocket][kWsServer].countSubscriber(topic, 1);
    return true;
  }

  // unsubscribe(topic) -> whether it was subscribed.
  unsubscribe(topic) {
    checkTopic(topic);
    const topics = this[kTopics];
    if (topics === null || !topics.delete(topic)) return false;
    this[kSocket][kWsTopic](UNSUBSCRIBE, topic);
    this[kSocket][kWsServer].countSubscriber(topic, -1);
    return true;
  }

  isSubscribed(topic) {
    return this[kTopics] !== null && this[kTopics].has(topic);
  }

  getTopics() {
    return this[kTopics] === null ? [] : [...this[kTopics]];
  }

  // publish(topic, data[, { binary }]) -> false when this socket is not
  // open. Every subscriber of the topic on every ring of the server gets
  // it, but this socket, as in uWS.
  publish(topic, data, options) {
    checkTopic(topic);
    if (this[kState] !== OPEN) return false;
    const payload = toPayload(data);
    return this[kSocket][kWsPublish](topic, payload, publishOpcode(payload, options));
  }

  ping(data, mask, cb) {
    this.control(OP_PING, data, mask, cb);
  }

  pong(data, mask, cb) {
    this.control(OP_PONG, data, mask, cb);
  }

  // close([code[, reason]]): our close frame goes; the ring thread answers
  // the peer's, then the connection ends, or after 30 s without one.
  close(code, reason) {
    const state = this[kState];
    if (state === CLOSED || state === CLOSING) return;
    let payload = EMPTY;
    if (code !== undefined) {
      if (typeof code !== 'number' || !validCloseCode(code)) {
        throw codedError(TypeError, 'ERR_INVALID_ARG_VALUE',
          'First argument must be a valid error code number');
      }
      const text = reason === undefined ? EMPTY : Buffer.from(reason);
      if (text.length > CONTROL_MAX - 2) {
        throw codedError(RangeError, 'ERR_OUT_OF_RANGE',
          'The message must not be greater than 123 bytes');
      }
      payload = Buffer.allocUnsafe(2 + text.length);
      payload.writeUInt16BE(code, 0);
      text.copy(payload, 2);
    }
    this[kState] = CLOSING;
    this.frame(OP_CLOSE, true, payload, undefined);
    this.closeSoon();
  }

  // The connection goes at once; 'close' follows with 1006.
  terminate() {
    if (this[kState] === CLOSED) return;
    this[kState] = CLOSING;
    this[kSocket].destroy();
  }

  // ---- the transport ----

  // A send() past maxBufferedAmount: the peer reads too slowly for what
  // the app sends. A close frame would wait behind what it does not
  // read: the connection is cut, and 'error' says why.
  overflow(cb) {
    const err = codedError(Error, 'ERR_WS_BUFFER_FULL',
      `WebSocket bufferedAmount would pass maxBufferedAmount (${this[kLimits].maxBufferedAmount} bytes)`);
    if (cb) process.nextTick(cb, err);
    this.terminate();
    if (this.listenerCount('error') > 0) this.emit('error', err);
  }

  frame(opcode, fin, payload, cb) {
    const len = payloadLength(payload);
    const socket = this[kSocket];
    if (!socket[kWsSend](opcode, fin, payload, headerLength(len) + len)) {
      if (cb) process.nextTick(cb, notOpen(this));
      return;
    }
    if (cb) this[kCallbacks].push(cb);
    if (cb || socket.writableLength > 16384) socket[kAskDrain]();
  }

  control(opcode, data, mask, cb) {
    if (typeof data === 'function') [data, cb] = [undefined, data];
    else if (typeof mask === 'function') cb = mask;
    if (this[kState] === CONNECTING) throw notOpen(this);
    const payload = toPayload(data);
    if (payloadLength(payload) > CONTROL_MAX) {
      throw codedError(RangeError, 'ERR_OUT_OF_RANGE',
        'The data size must not be greater than 125 bytes');
    }
    if (this[kState] !== OPEN) {
      if (cb) process.nextTick(cb, notOpen(this));
      return;
    }
    this.frame(opcode, true, payload, cb);
  }

  // Closing: a peer that never ends the connection is cut, as ws does.
  closeSoon() {
    if (this[kCloseTimer] !== null) return;
    this[kCloseTimer] = setTimeout(cut, CLOSE_TIMEOUT_MS, this[kSocket]).unref();
  }

  // ---- what the socket reports (lib/socket.js) ----

  onRecord(op, code, chunk) {
    switch (op) {
      case OP_TEXT:
        this.emit('message', chunk, false);
        break;
      case OP_BINARY:
        this.emit('message', binaryOf(chunk, this[kBinaryType]), true);
        break;
      case OP_PING:
        this.emit('ping', chunk);
        break;
      case OP_PONG:
        this.emit('pong', chunk);
        break;
      case OP_CLOSE: // the ring thread answered (or this was the answer)
        this[kState] = CLOSING;
        this[kWasClean] = true;
        this[kCloseCode] = code;
        this[kCloseReason] = chunk;
        this.closeSoon();
        break;
      case REC_ERROR:
        this[kState] = CLOSING;
        this.closeSoon();
        this.emit('error', protocolError(code, chunk));
        break;
      default:
        break;
    }
  }

  // Everything queued is sent: the send() callbacks waiting for it, and
  // 'drain' when a send() returned false.
  onDrain() {
    const callbacks = this[kCallbacks];
    this[kCallbacks] = [];
    for (const cb of callbacks) cb();
    if (this[kNeedDrain] && this.bufferedAmount === 0) {
      this[kNeedDrain] = false;
      this.emit('drain');
    }
  }

  // The peer ended the connection: ours ends too, after what is queued.
  onHangup() {
    this[kState] = CLOSING;
    this[kSocket].end();
  }

  onClose() {
    this[kState] = CLOSED;
    // The ring thread dropped them with the connection.
    if (this[kTopics] !== null) {
      for (const topic of this[kTopics]) this[kSocket][kWsServer].countSubscriber(topic, -1);
    }
    this[kTopics] = null;
    if (this[kCloseTimer] !== null) clearTimeout(this[kCloseTimer]);
    this[kCloseTimer] = null;
    const callbacks = this[kCallbacks];
    this[kCallbacks] = [];
    for (const cb of callbacks) cb(notOpen(this));
    this.emit('close', this[kCloseCode], this[kCloseReason]);
  }
}

for (const [name, value] of Object.entries({ CONNECTING, OPEN, CLOSING, CLOSED })) {
  Object.defineProperty(WebSocket, name, { value, enumerable: true });
  Object.defineProperty(WebSocket.prototype, name, { value, enumerable: true });
}
mixEventTarget(WebSocket);

function cut(socket) {
  socket.destroy();
}

// The error of a WS_REC_ERROR record: text is ws's code, a space, and the
// message; code the close code the ring thread sent.
function protocolError(code, text) {
  const s = text.latin1Slice(0, text.length);
  const at = s.indexOf(' ');
  const Ctor = code === 1007 ? Error : RangeError; // as ws's receiver
  const err = codedError(Ctor, s.slice(0, at), `Invalid WebSocket frame: ${s.slice(at + 1)}`);
  err.statusCode = code;
  return err;
}

// The `ws` package, for the node:http backend's connections.
let wsPackage;
function wsPackageOrThrow() {
  if (wsPackage === undefined) {
    try {
      wsPackage = require('ws');
    } catch (err) {
      throw codedError(Error, 'ERR_NODE_URING_WS_UNAVAILABLE',
        'WebSocketServer serves the node:http backend through the `ws` package, ' +
        'which is not installed: npm install ws, or serve with the io_uring backend');
    }
  }
  return wsPackage;
}

// The Sec-WebSocket-Protocol list, as ws parses it; throws a SyntaxError
// when it is not a list of distinct tokens.
function parseProtocols(header) {
  const set = new Set();
  for (const part of header.split(',')) {
    const token = part.trim();
    if (!TOKEN_RE.test(token) || set.has(token)) {
      throw new SyntaxError('Invalid Sec-WebSocket-Protocol header');
    }
    set.add(token);
  }
  return set;
}

// The refusal of a handshake, as ws writes it, then our side of the
// connection ends; it closes with the client's, or after CLOSE_TIMEOUT_MS.
function abortHandshake(socket, code, message, headers) {
  const body = message || http.STATUS_CODES[code];
  const lines = {
    Connection: 'close', 'Content-Type': 'text/html',
    'Content-Length': Buffer.byteLength(body), ...headers,
  };
  setTimeout(cut, CLOSE_TIMEOUT_MS, socket).unref();
  socket.end(`HTTP/1.1 ${code} ${http.STATUS_CODES[code]}\r\n` +
    Object.keys(lines).map((h) => `${h}: ${lines[h]}`).join('\r\n') + '\r\n\r\n' + body);
}

const RUNNING = 0;
const SERVER_CLOSING = 1;
const SERVER_CLOSED = 2;

const kOptions = Symbol('options');
const kServerState = Symbol('serverState');
const kDetach = Symbol('detach');
const kEmitCloseWhenEmpty = Symbol('emitCloseWhenEmpty');
const kNodeServer = Symbol('nodeServer');
const kOwnServer = Symbol('ownServer');
const kServers = Symbol('servers');
const kHub = Symbol('hub');

// A non-negative integer option, or the error that names it.
function checkCount(opts, name, max = Number.MAX_SAFE_INTEGER) {
  const v = opts[name];
  if (!Number.isSafeInteger(v) || v < 0 || v > max) {
    throw codedError(RangeError, 'ERR_OUT_OF_RANGE',
      `The "${name}" option must be an integer from 0 to ${max}. Received ${v}`);
  }
}

// What each connection's ring thread keeps for it (see ServerRing#wsOpen
// in lib/uring_backend.js), and the limits send() checks.
function connectionLimits(opts) {
  for (const name of ['maxBackpressure', 'maxBufferedAmount']) checkCount(opts, name);
  checkCount(opts, 'idleTimeout', IDLE_TIMEOUT_MAX);
  return {
    maxPayload: opts.maxPayload,
    // The ring thread counts in 32 bits; past that is no bound at all.
    maxBackpressure: Math.min(opts.maxBackpressure, 0xffffffff),
    maxBufferedAmount: opts.maxBufferedAmount,
    idleTimeout: opts.idleTimeout,
    flags: (opts.closeOnBackpressureLimit ? 1 : 0) | (opts.sendPingsAutomatically ? 2 : 0),
  };
}

class WebSocketServer extends EventEmitter {
  // new WebSocketServer({ server | port | noServer, path, maxPayload,
  //   handleProtocols, verifyClient, clientTracking, host, backlog }[, callback])
  constructor(options, callback) {
    super();
    const opts = {
      maxPayload: DEFAULT_MAX_PAYLOAD, clientTracking: true, path: null,
      handleProtocols: null, verifyClient: null, noServer: false,
      server: null, port: null, host: undefined, backlog: undefined,
      maxBackpressure: DEFAULT_MAX_BACKPRESSURE, closeOnBackpressureLimit: false,
      maxBufferedAmount: 0, idleTimeout: DEFAULT_IDLE_TIMEOUT, sendPingsAutomatically: true,
      ...options,
    };
    if ((opts.port == null) + (opts.server == null) + !opts.noServer !== 2) {
      throw codedError(TypeError, 'ERR_INVALID_ARG_VALUE',
        'One and only one of the "port", "server", or "noServer" options must be specified');
    }
    if (!Number.isSafeInteger(opts.maxPayload) || opts.maxPayload < 0) {
      throw codedError(RangeError, 'ERR_OUT_OF_RANGE',
        `The "maxPayload" option must be a non-negative integer. Received ${opts.maxPayload}`);
    }
    this[kOptions] = opts;
    this[kLimits] = connectionLimits(opts);
    // The io_uring servers whose connections this server took: a publish
    // reaches their rings. And the node:http backend's subscriptions.
    this[kServers] = new Set();
    this[kHub] = null;
    this[kServerState] = RUNNING;
    this[kEmitCloseWhenEmpty] = false;
    this[kNodeServer] = null;
    this[kOwnServer] = null;
    this.clients = opts.clientTracking ? new Set() : undefined;
    let server = opts.server;
    if (opts.port != null) {
      // Its own server, answering plain HTTP with 426 as ws's does.
      const { createServer } = require('./server');
      server = createServer((req, res) => {
        const body = http.STATUS_CODES[426];
        res.writeHead(426, { 'Content-Length': body.length, 'Content-Type': 'text/plain' });
        res.end(body);
      });
      server.listen(opts.port, opts.host, opts.backlog, callback);
      this[kOwnServer] = server;
    }
    this[kDetach] = null;
    if (server != null) this.attach(server);
  }

  // The server's 'upgrade' requests on our path are handshakes.
  attach(server) {
    const onListening = () => this.emit('listening');
    const onError = (err) => this.emit('error', err);
    const onUpgrade = (req, socket, head) => {
      this.handleUpgrade(req, socket, head, (ws) => this.emit('connection', ws, req));
    };
    server.on('listening', onListening);
    server.on('error', onError);
    server.on('upgrade', onUpgrade);
    this[kDetach] = () => {
      server.off('listening', onListening);
      server.off('error', onError);
      server.off('upgrade', onUpgrade);
    };
  }

  address() {
    const server = this[kOwnServer] ?? this[kOptions].server;
    if (server === null) throw new Error('The server is operating in "noServer" mode');
    return server.address();
  }

  // Whether req is for this server: its path, when one was given.
  shouldHandle(req) {
    const path = this[kOptions].path;
    if (!path) return true;
    const q = req.url.indexOf('?');
    return (q === -1 ? req.url : req.url.slice(0, q)) === path;
  }

  // handleUpgrade(req, socket, head, cb): checks the handshake as ws does,
  // and calls cb(ws, req) once it is accepted.
  handleUpgrade(req, socket, head, cb) {
    socket.on('error', onSocketError);
    const key = req.headers['sec-websocket-key'];
    const upgrade = req.headers.upgrade;
    const version = Number(req.headers['sec-websocket-version']);
    if (req.method !== 'GET') return this.refuse(req, socket, 405, 'Invalid HTTP method');
    if (upgrade === undefined || upgrade.toLowerCase() !== 'websocket') {
      return this.refuse(req, socket, 400, 'Invalid Upgrade header');
    }
    if (key === undefined || !KEY_RE.test(key)) {
      return this.refuse(req, socket, 400, 'Missing or invalid Sec-WebSocket-Key header');
    }
    if (version !== 8 && version !== 13) {
      return this.refuse(req, socket, 400, 'Missing or invalid Sec-WebSocket-Version header',
        { 'Sec-WebSocket-Version': '13, 8' });
    }
    if (!this.shouldHandle(req)) return abortHandshake(socket, 400);
    let protocols = new Set();
    const header = req.headers['sec-websocket-protocol'];
    if (header !== undefined) {
      try {
        protocols = parseProtocols(header);
      } catch {
        return this.refuse(req, socket, 400, 'Invalid Sec-WebSocket-Protocol header');
      }
    }
    const verify = this[kOptions].verifyClient;
    if (verify) {
      const info = {
        origin: req.headers[version === 8 ? 'sec-websocket-origin' : 'origin'],
        secure: Boolean(req.socket.authorized || req.socket.encrypted), req,
      };
      if (verify.length === 2) {
        verify(info, (verified, code, message, headers) => {
          if (!verified) return abortHandshake(socket, code || 401, message, headers);
          this.completeUpgrade(key, protocols, req, socket, head, cb);
        });
        return undefined;
      }
      if (!verify(info)) return abortHandshake(socket, 401);
    }
    return this.completeUpgrade(key, protocols, req, socket, head, cb);
  }

  // A bad handshake: 'wsClientError' when listened to, else its answer.
  refuse(req, socket, code, message, headers) {
    if (this.listenerCount('wsClientError') > 0) {
      const err = codedError(Error, 'WS_ERR_HANDSHAKE', message);
      Error.captureStackTrace(err, this.refuse);
      this.emit('wsClientError', err, socket, req);
    } else {
      abortHandshake(socket, code, message, headers);
    }
  }

  completeUpgrade(key, protocols, req, socket, head, cb) {
    if (socket.destroyed) return undefined;
    if (this[kServerState] !== RUNNING) return abortHandshake(socket, 503);
    if (!(socket instanceof UringSocket)) return this.nodeUpgrade(req, socket, head, cb);
    const lines = [
      'HTTP/1.1 101 Switching Protocols', 'Upgrade: websocket', 'Connection: Upgrade',
      `Sec-WebSocket-Accept: ${native.wsAccept(key)}`,
    ];
    let protocol = '';
    if (protocols.size > 0) {
      const handle = this[kOptions].handleProtocols;
      const chosen = handle ? handle(protocols, req) : protocols.values().next().value;
      if (chosen) {
        lines.push(`Sec-WebSocket-Protocol: ${chosen}`);
        protocol = chosen;
      }
    }
    this.emit('headers', lines, req);
    const limits = this[kLimits];
    const ws = new WebSocket(socket, protocol, limits);
    socket.removeListener('error', onSocketError);
    const given = head === undefined ? EMPTY : head;
    if (!socket[kWsOpen](ws, lines.join('\r\n') + '\r\n\r\n', limits, given)) {
      return undefined;
    }
    this[kServers].add(socket[kWsServer]);
    this.track(ws);
    cb(ws, req);
    return undefined;
  }

  // A connection of the node:http backend: ws's own server takes it.
  nodeUpgrade(req, socket, head, cb) {
    if (this[kNodeServer] === null) {
      const { WebSocketServer: WsServer } = wsPackageOrThrow();
      const o = this[kOptions];
      this[kNodeServer] = new WsServer({
        noServer: true, clientTracking: false, perMessageDeflate: false,
        maxPayload: o.maxPayload, handleProtocols: o.handleProtocols ?? undefined,
      });
      // Its 101 is this server's: listeners may add to it here.
      this[kNodeServer].on('headers', (headers, req2) => this.emit('headers', headers, req2));
    }
    this[kNodeServer].handleUpgrade(req, socket, head, (ws) => {
      this[kHub] ??= new NodeHub(this[kOptions]);
      this[kHub].adopt(ws);
      this.track(ws);
      cb(ws, req);
    });
  }

  // numSubscribers(topic), as uWS's app.numSubscribers(): the sockets a
  // publish(topic) reaches now, on every ring of every server this one
  // took connections from (its other WebSocketServers' included: topics
  // are the server's).
  numSubscribers(topic) {
    checkTopic(topic);
    let n = this[kHub]?.topics.get(topic)?.size ?? 0;
    for (const server of this[kServers]) n += server.subscribers.get(topic) ?? 0;
    return n;
  }

  // publish(topic, data[, { binary }]): to every subscriber of topic, on
  // every ring of every server this one took connections from. The ring
  // threads frame and send it; no JS runs per subscriber.
  publish(topic, data, options) {
    checkTopic(topic);
    const payload = toPayload(data);
    const opcode = publishOpcode(payload, options);
    for (const server of this[kServers]) {
      if (!server.wsPublish(topic, payload, opcode)) this[kServers].delete(server); // closed
    }
    if (this[kHub] !== null) this[kHub].publish(topic, payload, opcode === OP_BINARY, null);
  }

  track(ws) {
    const clients = this.clients;
    if (clients === undefined) return;
    clients.add(ws);
    ws.on('close', () => {
      clients.delete(ws);
      if (this[kEmitCloseWhenEmpty] && clients.size === 0) process.nextTick(emitClose, this);
    });
  }

  // close([cb]): no more handshakes; 'close' once the server it made is
  // closed, or (with a server given) once its clients are gone. Open
  // connections stay open, as in ws 8.
  close(cb) {
    if (cb) this.once('close', cb);
    if (this[kServerState] === SERVER_CLOSED) {
      process.nextTick(emitClose, this);
      return;
    }
    if (this[kServerState] === SERVER_CLOSING) return;
    this[kServerState] = SERVER_CLOSING;
    if (this[kDetach] !== null) this[kDetach]();
    this[kDetach] = null;
    const own = this[kOwnServer];
    if (own !== null) {
      own.close(() => emitClose(this));
    } else if (this.clients !== undefined && this.clients.size > 0) {
      this[kEmitCloseWhenEmpty] = true;
    } else {
      process.nextTick(emitClose, this);
    }
  }
}

// Pub/sub on the node:http backend, in JS over the `ws` package's
// sockets, with the io_uring backend's rules: a publish skips its
// publisher, and a subscriber past maxBackpressure (or closes, with
// closeOnBackpressureLimit).
class NodeHub {
  constructor(opts) {
    this.topics = new Map(); // topic -> Set of sockets
    this.maxBackpressure = opts.maxBackpressure;
    this.closeOnLimit = Boolean(opts.closeOnBackpressureLimit);
  }

  // Gives ws (the ws package's) the methods of ours.
  adopt(ws) {
    ws[kHub] = this;
    ws[kTopics] = new Set();
    Object.assign(ws, NODE_PUBSUB);
    ws.on('close', () => {
      for (const topic of ws[kTopics]) this.leave(ws, topic);
      ws[kTopics].clear();
    });
  }

  leave(ws, topic) {
    const set = this.topics.get(topic);
    if (set === undefined) return;
    set.delete(ws);
    if (set.size === 0) this.topics.delete(topic);
  }

  publish(topic, payload, binary, publisher) {
    const set = this.topics.get(topic);
    if (set === undefined) return;
    for (const ws of set) {
      if (ws === publisher || ws.readyState !== OPEN) continue;
      if (this.maxBackpressure > 0 && ws.bufferedAmount > this.maxBackpressure) {
        if (this.closeOnLimit) ws.terminate();
        continue;
      }
      ws.send(payload, { binary });
    }
  }
}

const NODE_PUBSUB = {
  subscribe(topic) {
    checkTopic(topic);
    if (this.readyState !== OPEN || this[kTopics].has(topic)) return false;
    this[kTopics].add(topic);
    const hub = this[kHub];
    if (!hub.topics.has(topic)) hub.topics.set(topic, new Set());
    hub.topics.get(topic).add(this);
    return true;
  },
  unsubscribe(topic) {
    checkTopic(topic);
    if (!this[kTopics].delete(topic)) return false;
    this[kHub].leave(this, topic);
    return true;
  },
  isSubscribed(topic) {
    return this[kTopics].has(topic);
  },
  getTopics() {
    return [...this[kTopics]];
  },
  publish(topic, data, options) {
    checkTopic(topic);
    if (this.readyState !== OPEN) return false;
    const payload = toPayload(data);
    this[kHub].publish(topic, payload, publishOpcode(payload, options) === OP_BINARY, this);
    return true;
  },
};

function emitClose(wss) {
  wss[kServerState] = SERVER_CLOSED;
  wss.emit('close');
}

function onSocketError() {
  this.destroy();
}

module.exports = { WebSocketServer, WebSocket };
