'use strict';

// Server: net.Server's and http.Server's shape over a ring thread. The ring
// thread accepts, parses and sends; this file turns its event batches into
// 'request' events and hands responses back, one flush per batch. Where
// io_uring cannot run, the same Server runs on node:http instead
// (lib/node_backend.js); listen() decides, as backend says.
const { EventEmitter } = require('node:events');
const dns = require('node:dns');
const net = require('node:net');
const util = require('node:util');
const native = require('./native');
const { IncomingMessage } = require('./request');
const { ServerResponse, byteLength } = require('./response');
const { UringSocket } = require('./socket');
const { errnoException, uringUnavailable, codedError } = require('./errors');
const { createNodeServer, listenOptions, closeNodeServer } = require('./node_backend');
const { makeRoute, routeHead, matchRoute } = require('./route');
const { keepAliveLines } = require('./head');
const { makeStatic } = require('./static');

const C = native.constants;
const METHODS = native.methods;

const kRings = Symbol('rings');
const kStartError = Symbol('startError');
const kAddress = Symbol('address');
const kState = Symbol('state');
const kCorked = Symbol('corked');
const kFlushPending = Symbol('flushPending');
const kUnref = Symbol('unref');
const kBackend = Symbol('backend');
const kActive = Symbol('active');
const kNode = Symbol('node');
const kConnCount = Symbol('connCount');
const kRoutes = Symbol('routes');
const kStatics = Symbol('statics');
const kMaxConnections = Symbol('maxConnections');

// kState: what listen() and close() have done so far.
const IDLE = 0;
const STARTING = 1;
const LISTENING = 2;
const CLOSING = 3;


// 'auto': io_uring when the ring can be set up, node:http otherwise.
const BACKENDS = ['auto', 'uring', 'node'];

// Options with node:http's names and defaults: [name, default, min, max].
const NUMERIC_OPTIONS = [
  ['maxHeaderSize', 16 * 1024, 1, 2 ** 30],
  ['headersTimeout', 60 * 1000, 0, 2 ** 31 - 1],
  ['requestTimeout', 300 * 1000, 0, 2 ** 31 - 1],
  ['keepAliveTimeout', 5 * 1000, 0, 2 ** 31 - 1],
  // Not node:http's: request body bytes past which the client gets 413
  // (0: no cap). A declared Content-Length over it never reaches the handler.
  ['maxRequestBodySize', 0, 0, Number.MAX_SAFE_INTEGER],
  // node:http's: requests a connection serves before it closes (0: no limit).
  ['maxRequestsPerSocket', 0, 0, 2 ** 31 - 1],
  // Not node:http's: the ring's submission queue (its completion queue is
  // four times larger); the kernel rounds it up to a power of two.
  ['ringEntries', 512, 8, 32768],
  // node:http's server.timeout: ms without a byte in or out before
  // 'timeout' (with no listener, the connection is destroyed); 0: never.
  ['timeout', 0, 0, 2 ** 31 - 1],
  // Not node:http's: ring threads, each with its own listening socket on
  // the port (SO_REUSEPORT), all feeding this thread's handlers.
  ['rings', 1, 1, 64],
];

function checkRange(name, value, min, max) {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw codedError(RangeError, 'ERR_OUT_OF_RANGE',
      `The value of "${name}" is out of range. It must be an integer >= ${min} ` +
      `and <= ${max}. Received ${value}`);
  }
}

function validateOptions(options) {
  if (options === null || typeof options !== 'object') {
    throw codedError(TypeError, 'ERR_INVALID_ARG_TYPE',
      'The "options" argument must be of type object');
  }
  const opts = { reusePort: Boolean(options.reusePort), backend: options.backend ?? 'auto' };
  if (!BACKENDS.includes(opts.backend)) {
    throw codedError(TypeError, 'ERR_INVALID_ARG_VALUE',
      `The property 'options.backend' must be one of: 'auto', 'uring', 'node'. ` +
      `Received ${util.inspect(opts.backend)}`);
  }
  for (const [name, fallback, min, max] of NUMERIC_OPTIONS) {
    opts[name] = options[name] ?? fallback;
    checkRange(`options.${name}`, opts[name], min, max);
  }
  return opts;
}

// listen(port[, host][, backlog][, cb]) or listen({ port, host, backlog }[, cb])
function normalizeListenArgs(args) {
  const callback = typeof args[args.length - 1] === 'function' ? args.pop() : undefined;
  let [port, host, backlog] = args;
  if (port !== null && typeof port === 'object') ({ port, host, backlog } = port);
  if (typeof host === 'number') [host, backlog] = [undefined, host];
  port = port === undefined || port === null ? 0 : Number(port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw codedError(RangeError, 'ERR_SOCKET_BAD_PORT',
      `Port should be >= 0 and < 65536. Received ${args[0]}.`);
  }
  if (host !== undefined && host !== null && typeof host !== 'string') {
    throw codedError(TypeError, 'ERR_INVALID_ARG_TYPE',
      'The "host" argument must be of type string');
  }
  return { port, host: host || undefined, backlog: backlog ?? 511, callback };
}

function rethrow(err) {
  throw err;
}

function flushNT(server) {
  server._flush();
}

let warnedFallback = false;

// backend 'auto' serves with node:http: say why, once per process.
function warnFallback(err) {
  if (warnedFallback) return;
  warnedFallback = true;
  const why = err.code === 'ERR_URING_ADDON'
    ? `its native addon cannot be loaded (${err.cause.message.split('\n')[0]}); ` +
      'run `npm install` in the package directory to build it'
    : err.message;
  process.emitWarning(
    `node-uring: ${why}. Serving HTTP with node:http instead (backend 'auto'); ` +
    "set backend: 'node' to choose node:http without this warning, or " +
    "backend: 'uring' to get this as an error.", { code: 'URING_FALLBACK' });
}

class Server extends EventEmitter {
  constructor(options, requestListener) {
    super();
    if (typeof options === 'function') {
      requestListener = options;
      options = {};
    }
    const opts = validateOptions(options ?? {});
    if (opts.backend === 'uring' && native.loadError) throw native.loadError;
    // Read at listen(), as the ring thread applies them.
    this.maxHeaderSize = opts.maxHeaderSize;
    this.headersTimeout = opts.headersTimeout;
    this.requestTimeout = opts.requestTimeout;
    this.keepAliveTimeout = opts.keepAliveTimeout;
    this.maxRequestBodySize = opts.maxRequestBodySize;
    this.maxRequestsPerSocket = opts.maxRequestsPerSocket; // read per request
    this.ringEntries = opts.ringEntries;
    this.timeout = opts.timeout;
    this.rings = opts.rings;
    this.reusePort = opts.reusePort;
    this[kMaxConnections] = undefined;
    this[kConnCount] = 0;
    this[kRoutes] = [];
    this[kStatics] = [];
    this[kBackend] = opts.backend;
    this[kActive] = null; // the backend serving: 'uring' or 'node'
    this[kNode] = null; // the http.Server of the node backend
    // The head lines of a keep-alive response, fixed at listen().
    this._keepAliveLines = '';
    if (requestListener) this.on('request', requestListener);
    this[kRings] = []; // while listening on io_uring, one ServerRing per ring
    this[kStartError] = null; // reported once the rings started are gone
    this[kAddress] = null;
    this[kState] = IDLE;
    this[kCorked] = false;
    this[kFlushPending] = false;
    this[kUnref] = false;
  }

  get listening() {
    return this[kState] === LISTENING;
  }

  // A fixed response to GET (and HEAD) of path, or of any path for '*',
  // its query ignored: { status = 200, headers = {}, body = '' }. The ring
  // thread answers it by itself, Date and framing added, and the handler
  // never sees the request. Before listen(); the first match wins.
  route(method, path, response) {
    if (this[kState] !== IDLE) {
      throw codedError(Error, 'ERR_SERVER_ALREADY_LISTEN', 'server.route() must be called before listen()');
    }
    this[kRoutes].push(makeRoute(method, path, response));
    return this;
  }

  // The route for a request on the node backend, or undefined.
  _routeFor(method, url) {
    return this[kRoutes].length ? matchRoute(this[kRoutes], method, url) : undefined;
  }

  // The files under dir, served to GET and HEAD of urlPrefix and of the
  // paths beneath it (see lib/static.js). The ring thread serves them by
  // itself, and the handler never sees those requests. Before listen();
  // routes come first, then the mounts, the first match winning.
  static(urlPrefix, dir) {
    if (this[kState] !== IDLE) {
      throw codedError(Error, 'ERR_SERVER_ALREADY_LISTEN', 'server.static() must be called before listen()');
    }
    this[kStatics].push(makeStatic(urlPrefix, dir));
    return this;
  }

  // The static mounts, for the node backend.
  get _statics() {
    return this[kStatics];
  }

  // As net.Server's: callback(null, count) with the connections open (on
  // the ring thread: accepted and not yet fully closed).
  getConnections(callback) {
    if (typeof callback !== 'function') {
      throw codedError(TypeError, 'ERR_INVALID_ARG_TYPE', 'The "callback" argument must be of type function');
    }
    if (this[kNode]) {
      this[kNode].getConnections(callback);
    } else {
      let count = 0;
      for (const ring of this[kRings]) if (ring.handle !== null) count += ring.handle.liveConnections();
      process.nextTick(callback, null, count);
    }
    return this;
  }

  // As net.Server's: connections past it are closed as they come, with a
  // 'drop' event. Unset (undefined) means no limit.
  get maxConnections() {
    return this[kMaxConnections];
  }

  set maxConnections(value) {
    if (value !== undefined) checkRange('server.maxConnections', value, 0, 2 ** 31 - 1);
    this[kMaxConnections] = value;
    if (this[kNode]) this[kNode].maxConnections = value ?? Infinity;
  }

  // 'uring' or 'node' while listening, null otherwise.
  get backend() {
    return this[kActive];
  }

  address() {
    return this[kAddress] ? { ...this[kAddress] } : null;
  }

  listen(...args) {
    const { port, host, backlog, callback } = normalizeListenArgs(args);
    if (this[kState] !== IDLE) {
      throw codedError(Error, 'ERR_SERVER_ALREADY_LISTEN',
        'Listen method has been called more than once without closing.');
    }
    for (const [name, , min, max] of NUMERIC_OPTIONS) checkRange(`server.${name}`, this[name], min, max);
    if (callback) this.once('listening', callback);
    this[kState] = STARTING;
    if (host === undefined || net.isIP(host)) {
      this._bind(host, port, backlog);
    } else {
      dns.lookup(host, (err, address) => {
        if (err) {
          this[kState] = IDLE;
          this.emit('error', err);
        } else {
          this._bind(address, port, backlog);
        }
      });
    }
    return this;
  }

  _bind(host, port, backlog) {
    if (this[kBackend] === 'node') {
      this._bindNode(host, port, backlog);
    } else if (native.loadError) { // backend 'auto': 'uring' threw in the constructor
      warnFallback(native.loadError);
      this._bindNode(host, port, backlog);
    } else {
      this._bindUring(host, port, backlog);
    }
  }

  _bindUring(host, port, backlog) {
    const options = {
      host: host ?? null, port, backlog,
      // Each ring binds a socket of its own to the port.
      reusePort: this.reusePort || this.rings > 1,
      ringEntries: this.ringEntries,
      routes: this[kRoutes].map((r) => ({ path: r.path, head: routeHead(r), body: r.body })),
      statics: this[kStatics].map(({ prefix, root }) => ({ prefix, root })),
    };
    for (const [name] of NUMERIC_OPTIONS) options[name] = this[name];
    const rings = this[kRings];
    for (let k = 0; k < this.rings; k++) {
      const ring = new ServerRing(this, k);
      const result = ring.handle.listen(options, ring.onBatch);
      if (result.errno !== undefined) {
        this._listenFailed(result, host, options.port, backlog);
        return;
      }
      rings.push(ring);
      // Port 0: the first bind picked the port, the other rings join it.
      options.port = result.port;
    }
    this._keepAliveLines = keepAliveLines(this.keepAliveTimeout, this.maxRequestsPerSocket);
    if (this[kUnref]) this.unref();
    this[kState] = LISTENING;
    this[kActive] = 'uring';
    this[kAddress] = {
      address: host ?? '::',
      family: host !== undefined && net.isIPv4(host) ? 'IPv4' : 'IPv6',
      port: options.port,
    };
    process.nextTick(() => this.emit('listening'));
  }

  // Ring number kRings.length could not start: { errno, syscall }. port
  // is the one asked for, or the one the first ring bound.
  _listenFailed({ errno, syscall }, host, port, backlog) {
    const started = this[kRings];
    // The socket is bound before the ring is set up: an error of the
    // first ring means the address itself was fine, and io_uring is not.
    const unavailable = syscall.startsWith('io_uring') && started.length === 0;
    if (unavailable && this[kBackend] === 'auto') {
      warnFallback(uringUnavailable(errno, syscall));
      this._bindNode(host, port, backlog);
      return;
    }
    const err = unavailable
      ? uringUnavailable(errno, syscall)
      : errnoException(errno, syscall === 'bind' ? 'listen' : syscall, host ?? '::', port);
    if (started.length === 0) {
      this[kState] = IDLE;
      process.nextTick(() => this.emit('error', err));
      return;
    }
    // Stop the rings that started; the error comes once they are gone
    // (_onRingStopped), so that the port is free by then.
    this[kStartError] = err;
    for (const ring of started) ring.handle.stop(true);
  }

  // The node:http backend: an http.Server does the listening and serving;
  // this Server keeps its state and emits the events.
  _bindNode(host, port, backlog) {
    const inner = createNodeServer(this);
    this[kNode] = inner;
    if (this[kUnref]) inner.unref();
    inner.on('error', (err) => {
      if (this[kState] === STARTING) {
        this[kNode] = null;
        this[kState] = IDLE;
      }
      this.emit('error', err);
    });
    inner.once('listening', () => {
      if (this[kState] !== STARTING) return; // closed meanwhile
      this[kState] = LISTENING;
      this[kActive] = 'node';
      this[kAddress] = inner.address();
      this.emit('listening');
    });
    inner.once('close', () => this._onStopped());
    inner.listen(listenOptions(host, port, backlog, this.reusePort));
  }

  // Stops accepting, closes idle connections, lets in-flight responses
  // finish, then emits 'close'.
  close(callback) {
    // The node backend's socket is bound before 'listening': it can close.
    const bound = this[kState] === LISTENING ||
      (this[kState] === STARTING && this[kNode] !== null);
    if (!bound && this[kState] !== CLOSING) {
      if (callback) {
        process.nextTick(callback, codedError(Error, 'ERR_SERVER_NOT_RUNNING',
          'Server is not running.'));
      }
      return this;
    }
    if (callback) this.once('close', callback);
    if (bound) {
      this[kState] = CLOSING;
      if (this[kNode] !== null) closeNodeServer(this[kNode]);
      for (const ring of this[kRings]) if (ring.handle !== null) ring.handle.stop(false);
    }
    return this;
  }

  // Closes every connection now, in-flight responses included; the server
  // keeps listening unless close() was called.
  closeAllConnections() {
    for (const ring of this[kRings]) if (ring.handle !== null) ring.handle.closeConnections();
    if (this[kNode]) this[kNode].closeAllConnections();
  }

  ref() {
    this[kUnref] = false;
    for (const ring of this[kRings]) if (ring.handle !== null) ring.handle.ref();
    if (this[kNode]) this[kNode].ref();
    return this;
  }

  unref() {
    this[kUnref] = true;
    for (const ring of this[kRings]) if (ring.handle !== null) ring.handle.unref();
    if (this[kNode]) this[kNode].unref();
    return this;
  }

  // One batch from a ring thread: the events of one completion drain.
  _onBatch(ring, buffer, nwords) {
    const words = new Uint32Array(buffer, 0, nwords);
    const bytes = Buffer.from(buffer, nwords * 4);
    this[kCorked] = true;
    try {
      for (let i = 0; i < nwords;) {
        switch (words[i]) {
          case C.EV_REQUEST:
            this._onRequest(ring, words, bytes, i);
            i += 7 + words[i + 6];
            break;
          case C.EV_OPEN:
            this._onOpen(ring, words, bytes, i);
            i += 6;
            break;
          case C.EV_BODY:
            this._onBody(ring, words, bytes, i);
            i += 5;
            break;
          case C.EV_END:
            this._onEnd(ring, words, i);
            i += 3;
            break;
          case C.EV_CLOSE:
            this._onClose(ring, words, i);
            i += 3;
            break;
          case C.EV_TIMEOUT:
            this._onTimeout(ring, words, i);
            i += 3;
            break;
          case C.EV_DRAIN:
            this._onDrain(ring, words, i);
            i += 5;
            break;
          case C.EV_STOPPED:
            this._onRingStopped(ring);
            i += 1;
            break;
          default:
            throw new Error(`node-uring: corrupt batch: event ${words[i]} at word ${i}`);
        }
      }
    } finally {
      this[kCorked] = false;
      if (this[kFlushPending]) this._flush();
    }
  }

  _connection(ring, words, i) {
    const socket = ring.conns[words[i + 1]];
    return socket !== undefined && socket.gen === words[i + 2] ? socket : undefined;
  }

  _onOpen(ring, words, bytes, i) {
    // A ring that started before another one failed to is stopping: its
    // connections are not the handler's.
    if (this[kState] === STARTING) return;
    const off = words[i + 5];
    const addr = new Uint8Array(bytes.subarray(off, off + (words[i + 3] === 6 ? 16 : 4)));
    const socket = new UringSocket(this, ring.index, words[i + 1], words[i + 2],
      words[i + 3], words[i + 4], addr);
    ring.conns[words[i + 1]] = socket;
    if (++this[kConnCount] > (this[kMaxConnections] ?? Infinity)) {
      socket.destroy();
      this.emit('drop', {
        localAddress: this[kAddress]?.address, localPort: this[kAddress]?.port,
        localFamily: this[kAddress]?.family, remoteAddress: socket.remoteAddress,
        remotePort: socket.remotePort, remoteFamily: socket.remoteFamily,
      });
    }
  }

  _onRequest(ring, words, bytes, i) {
    const socket = this._connection(ring, words, i);
    if (socket === undefined) return;
    const info = words[i + 4];
    const req = new IncomingMessage(socket, METHODS[info & C.REQ_METHOD_MASK],
      (info >>> C.REQ_MAJOR_SHIFT) & 15, (info >>> C.REQ_MINOR_SHIFT) & 15,
      words, bytes, i);
    const keepAlive = (info & C.REQ_KEEP_ALIVE) !== 0 && this[kState] === LISTENING;
    const res = new ServerResponse(req, words[i + 3], keepAlive);
    socket.pending.push(res);
    if (info & C.REQ_HAS_BODY) {
      socket.bodyRequest = req;
    } else {
      req.complete = true;
      req.push(null);
    }
    // maxRequestsPerSocket, as node:http: the last request allowed is
    // answered with Connection: close, and any pipelined after it with 503.
    const max = this.maxRequestsPerSocket;
    if (max > 0 && ++socket.requests >= max) {
      res.shouldKeepAlive = false;
      if (socket.requests > max) {
        this.emit('dropRequest', req, socket);
        res.writeHead(503);
        res.end();
        return;
      }
    }
    if ((info & C.REQ_EXPECT_CONTINUE) && this.listenerCount('checkContinue') > 0) {
      this._emitSafely('checkContinue', req, res);
      return;
    }
    if (info & C.REQ_EXPECT_CONTINUE) res.writeContinue();
    this._emitSafely('request', req, res);
  }

  // A throwing handler must not cost the other requests of its batch their
  // dispatch: its error is rethrown on its own, as an uncaught exception,
  // which is what node:http makes of it too.
  _emitSafely(event, req, res) {
    try {
      this.emit(event, req, res);
    } catch (err) {
      process.nextTick(rethrow, err);
    }
  }

  _onBody(ring, words, bytes, i) {
    const socket = this._connection(ring, words, i);
    if (socket === undefined || socket.bodyRequest === null) return;
    const off = words[i + 3];
    socket.bodyRequest._pushBody(bytes.subarray(off, off + words[i + 4]));
  }

  _onEnd(ring, words, i) {
    const socket = this._connection(ring, words, i);
    if (socket === undefined || socket.bodyRequest === null) return;
    const req = socket.bodyRequest;
    socket.bodyRequest = null;
    req._endBody();
  }

  _onClose(ring, words, i) {
    const socket = this._connection(ring, words, i);
    if (socket === undefined) return;
    ring.conns[socket.slot] = undefined;
    this[kConnCount]--;
    socket.destroyed = true;
    const pending = socket.pending;
    socket.pending = [];
    for (const res of pending) abortExchange(res);
    socket.emit('close');
  }

  // As node:http's server.setTimeout(): read at listen().
  setTimeout(msecs, callback) {
    checkRange('msecs', msecs, 0, 2 ** 31 - 1);
    this.timeout = msecs;
    if (callback) this.on('timeout', callback);
    return this;
  }

  // No traffic on a connection for server.timeout: 'timeout' on the server
  // and the socket, or, with nobody listening, the connection goes.
  _onTimeout(ring, words, i) {
    const socket = this._connection(ring, words, i);
    if (socket === undefined) return;
    const heard = this.emit('timeout', socket);
    if (!socket.emit('timeout') && !heard) socket.destroy();
  }

  // Everything written on a connection is sent: responses that saw
  // write() return false get their 'drain'.
  _onDrain(ring, words, i) {
    const socket = this._connection(ring, words, i);
    if (socket === undefined) return;
    socket.sentBytes = words[i + 3] + words[i + 4] * 2 ** 32;
    socket.drainAsked = false;
    for (const res of socket.pending) res._drained();
  }

  // Closes socket's connection at once (socket.destroy()).
  _abort(socket) {
    this._sendChunk(socket, 0, C.OUT_ABORT, undefined, undefined);
  }

  // Asks the ring thread for a DRAIN event on socket, once.
  _askDrain(socket) {
    if (socket.drainAsked) return;
    socket.drainAsked = true;
    this._sendChunk(socket, 0, C.OUT_NOTIFY, undefined, undefined);
  }

  // A ring thread is gone, its connections closed and its port let go.
  _onRingStopped(ring) {
    ring.handle = null;
    ring.conns = [];
    if (this[kRings].some((r) => r.handle !== null)) return;
    const err = this[kStartError];
    if (err === null) {
      this._onStopped();
      return;
    }
    this[kStartError] = null;
    this[kRings] = [];
    this[kState] = IDLE;
    this.emit('error', err);
  }

  // Every ring, or the node backend's server, stopped.
  _onStopped() {
    this[kRings] = [];
    this[kNode] = null;
    this[kActive] = null;
    this[kAddress] = null;
    this[kState] = IDLE;
    this.emit('close');
  }

  _responseEnded(res) {
    const pending = res.socket.pending;
    const at = pending.indexOf(res);
    if (at >= 0) pending.splice(at, 1);
    // A body nobody reads once the response is out is read and dropped,
    // as node:http does, so that the connection moves on.
    const req = res.req;
    if (!req.complete && req.readableFlowing === null) req.resume();
  }

  // Asks the ring thread to stop or resume reading a connection.
  _setReading(socket, reading) {
    this._sendChunk(socket, 0, reading ? C.OUT_RESUME : C.OUT_PAUSE, undefined, undefined);
  }

  // Queues a response chunk for the ring thread. Chunks written while a
  // batch is being handled go with one wake-up after it; later ones with
  // one wake-up at the end of the tick. bodyBytes: body's size, when the
  // caller measured it already.
  _sendChunk(socket, seq, flags, head, body, bodyBytes) {
    const ring = this[kRings][socket.ring];
    if (socket.destroyed || ring === undefined || ring.handle === null) return;
    ring.handle.send(socket.slot, socket.gen, seq, flags, head, body);
    // Counted as the ring thread counts what it sent (see _onDrain): the
    // head's latin1 bytes and the body's.
    if (head !== undefined) socket.queuedBytes += head.length;
    if (body !== undefined) socket.queuedBytes += bodyBytes ?? byteLength(body);
    if (ring.flushPending) return;
    ring.flushPending = true;
    if (this[kFlushPending]) return;
    this[kFlushPending] = true;
    if (!this[kCorked]) process.nextTick(flushNT, this);
  }

  // Wakes the rings that were sent chunks, each once.
  _flush() {
    this[kFlushPending] = false;
    for (const ring of this[kRings]) {
      if (!ring.flushPending) continue;
      ring.flushPending = false;
      if (ring.handle !== null) ring.handle.flush();
    }
  }
}

// One ring thread and its listening socket: the native handle (null once
// the ring stopped), and the connections it reported, by slot. Slots and
// generations are the ring's own, so connections of two rings can share
// them. flushPending: chunks were sent to it since its last flush.
class ServerRing {
  constructor(server, index) {
    this.index = index;
    this.handle = new native.NativeServer();
    this.conns = [];
    this.flushPending = false;
    this.onBatch = (buffer, nwords) => server._onBatch(this, buffer, nwords);
  }
}

// The connection closed before res.end(): tell the request and the response.
function abortExchange(res) {
  const req = res.req;
  if (!req.complete) {
    req.aborted = true;
    req.emit('aborted');
    const err = codedError(Error, 'ECONNRESET', 'aborted');
    req.destroy(req.listenerCount('error') > 0 ? err : undefined);
  }
  res.destroyed = true;
  res.emit('close');
}

function createServer(options, requestListener) {
  return new Server(options, requestListener);
}

module.exports = { Server, createServer };
