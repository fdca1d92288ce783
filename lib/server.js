'use strict';

// Server: net.Server's and http.Server's shape, and its lifecycle: the
// options, listen() and close(), the routes and static mounts, and which
// backend serves. The io_uring backend (lib/uring_backend.js) serves by
// default; where io_uring cannot run, the node:http backend
// (lib/node_backend.js) does instead. listen() decides, as backend says.
const { EventEmitter } = require('node:events');
const dns = require('node:dns');
const fs = require('node:fs');
const net = require('node:net');
const util = require('node:util');
const native = require('./native');
const { errnoException, uringUnavailable, codedError } = require('./errors');
const { UringServer } = require('./uring_backend');
const {
  createNodeServer, listenOptions, closeNodeServer, nodeStats, serveHanded,
} = require('./node_backend');
const { UringSocket } = require('./socket');
const { makeRoute, matchRoute } = require('./route');
const { makeStatic } = require('./static');

const kAddress = Symbol('address');
const kState = Symbol('state');
const kUnref = Symbol('unref');
const kBackend = Symbol('backend');
const kActive = Symbol('active');
const kUring = Symbol('uring');
const kNode = Symbol('node');
const kHanded = Symbol('handed');
const kRoutes = Symbol('routes');
const kStatics = Symbol('statics');
const kMaxConnections = Symbol('maxConnections');
const kHandle = Symbol('handle');
const kSettingChanged = Symbol('settingChanged');

// What server._handle is while a ring backend listens. Harnesses written
// against node:http (supertest, for one) read `_handle` to tell a
// listening server from a closed one, and close only the former.
class RingsHandle {
  constructor(uring) {
    this.uring = uring;
  }
}

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
  // Not node:http's, and the io_uring backend's only: the load bounds (see
  // README, "Limits under load"), for the whole server, shared out evenly
  // among its rings. Past the requests handed to handlers and not yet
  // answered, or the bytes of events not yet taken by this thread, no new
  // input is read; past the connections so paused, none is accepted, until
  // the handlers catch up. 0: no bound.
  ['maxQueuedRequests', 4096, 0, 2 ** 31 - 1],
  ['maxQueuedBytes', 16 * 1024 * 1024, 0, Number.MAX_SAFE_INTEGER],
  ['maxPausedConnections', 1024, 0, 2 ** 31 - 1],
];

function checkRange(name, value, min, max) {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw codedError(RangeError, 'ERR_OUT_OF_RANGE',
      `The value of "${name}" is out of range. It must be an integer >= ${min} ` +
      `and <= ${max}. Received ${value}`);
  }
}

// A boolean option, fallback when not given.
function booleanOption(options, name, fallback) {
  const value = options[name];
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') {
    throw codedError(TypeError, 'ERR_INVALID_ARG_TYPE',
      `The "options.${name}" property must be of type boolean. Received ${util.inspect(value)}`);
  }
  return value;
}

// Not node:http's: whether the ring runs on a thread of its own (true), or
// this thread drives it between its other events (false, the default with
// one ring). Several rings always have their threads.
function validateRingThread(options, rings) {
  const ringThread = booleanOption(options, 'ringThread', rings > 1);
  if (!ringThread && rings > 1) {
    throw codedError(TypeError, 'ERR_INVALID_ARG_VALUE',
      `The property 'options.ringThread' must be true with ${rings} rings: each runs on a thread of its own`);
  }
  return ringThread;
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
  opts.ringThread = validateRingThread(options, opts.rings);
  // node:http's: false serves an HTTP/1.1 request without Host.
  opts.requireHostHeader = booleanOption(options, 'requireHostHeader', true);
  // Not node:http's: close() lets each connection go once its responses
  // are out (server.drainOnClose).
  opts.drainOnClose = booleanOption(options, 'drainOnClose', false);
  return opts;
}

// listen(port[, host][, backlog][, cb]), listen(path[, backlog][, cb]) or
// listen({ port, host, path, backlog }[, cb]): where to listen, as
// { host, port, path, backlog, callback }. A string that is not a number
// is a Unix socket's path, as net.Server#listen() reads it.
function normalizeListenArgs(args) {
  const callback = typeof args[args.length - 1] === 'function' ? args.pop() : undefined;
  let [port, host, backlog] = args;
  let path;
  if (port !== null && typeof port === 'object') ({ port, host, backlog, path } = port);
  else if (isPipeName(port)) [path, port, host, backlog] = [port, undefined, undefined, host];
  if (typeof host === 'number') [host, backlog] = [undefined, host];
  if (path !== undefined && path !== null) {
    if (typeof path !== 'string') {
      throw codedError(TypeError, 'ERR_INVALID_ARG_TYPE', 'The "path" argument must be of type string');
    }
    return { port: undefined, host: undefined, path, backlog: backlog ?? 511, callback };
  }
  port = port === undefined || port === null ? 0 : Number(port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw codedError(RangeError, 'ERR_SOCKET_BAD_PORT',
      `Port should be >= 0 and < 65536. Received ${args[0]}.`);
  }
  if (host !== undefined && host !== null && typeof host !== 'string') {
    throw codedError(TypeError, 'ERR_INVALID_ARG_TYPE',
      'The "host" argument must be of type string');
  }
  return { port, host: host || undefined, path: undefined, backlog: backlog ?? 511, callback };
}

function isPipeName(s) {
  return typeof s === 'string' && !(Number(s) >= 0);
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

// A 'connection' with a socket the server did not accept (emit('connection',
// socket), as node:http serves such a socket): node:http's parser serves
// it, on this thread, through the node backend's http.Server, or one made
// for it, which never listens (lib/node_backend.js serveHanded()).
function onConnection(socket) {
  if (socket instanceof UringSocket) return;
  let inner = this[kNode];
  if (inner === null) {
    if (this[kHanded] === null) this[kHanded] = createNodeServer(this);
    inner = this[kHanded];
  }
  serveHanded(inner, socket);
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
    this.maxRequestBodySize = opts.maxRequestBodySize;
    // Read at each use, as node:http's (see LIVE_SETTINGS).
    this.headersTimeout = opts.headersTimeout;
    this.requestTimeout = opts.requestTimeout;
    this.keepAliveTimeout = opts.keepAliveTimeout;
    this.maxRequestsPerSocket = opts.maxRequestsPerSocket;
    this.timeout = opts.timeout;
    // As node:http's: how many headers req.headers takes (null: 1000).
    // Read per request; on the node backend, at listen().
    this.maxHeadersCount = null;
    this.ringEntries = opts.ringEntries;
    this.rings = opts.rings;
    this.ringThread = opts.ringThread;
    this.requireHostHeader = opts.requireHostHeader;
    // Read by close(): node:http's close() (false) leaves a connection
    // with a request in flight open, served as before, until it is idle
    // past keepAliveTimeout; true closes each once its responses are out,
    // those not begun saying Connection: close, so that its clients go
    // elsewhere (the new workers of a PM2 or cluster reload) at once.
    this.drainOnClose = opts.drainOnClose;
    this.maxQueuedRequests = opts.maxQueuedRequests;
    this.maxQueuedBytes = opts.maxQueuedBytes;
    this.maxPausedConnections = opts.maxPausedConnections;
    this.reusePort = opts.reusePort;
    this[kMaxConnections] = undefined;
    this[kRoutes] = [];
    this[kStatics] = [];
    this[kBackend] = opts.backend;
    this[kActive] = null; // the backend serving: 'uring' or 'node'
    this[kUring] = null; // the UringServer of the io_uring backend
    this[kNode] = null; // the http.Server of the node backend
    // The http.Server that serves sockets handed over (onConnection()),
    // made at the first.
    this[kHanded] = null;
    // As node:http's connection listener, first of them.
    this.on('connection', onConnection);
    if (requestListener) this.on('request', requestListener);
    this[kAddress] = null;
    this[kHandle] = null;
    this[kState] = IDLE;
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
    } else if (this[kUring]) {
      this[kUring].getConnections(callback);
    } else {
      process.nextTick(callback, null, 0);
    }
    return this;
  }

  // Where the server stands under load (see index.d.ts, ServerStats): what
  // waits for the handlers, what waits for the clients, who is paused.
  stats() {
    if (this[kNode]) return nodeStats(this[kNode]);
    if (this[kUring]) return this[kUring].stats();
    return {
      connections: 0, requestsQueued: 0, bytesQueued: 0, bytesUnsent: 0,
      connectionsPaused: 0, overloaded: false, accepting: false, buffersLent: 0,
    };
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
    const address = this[kAddress];
    return address !== null && typeof address === 'object' ? { ...address } : address;
  }

  listen(...args) {
    const { callback, ...where } = normalizeListenArgs(args);
    if (this[kState] !== IDLE) {
      throw codedError(Error, 'ERR_SERVER_ALREADY_LISTEN',
        'Listen method has been called more than once without closing.');
    }
    for (const [name, , min, max] of NUMERIC_OPTIONS) checkRange(`server.${name}`, this[name], min, max);
    if (where.path !== undefined && this.rings > 1) {
      throw codedError(TypeError, 'ERR_INVALID_ARG_VALUE',
        `A Unix socket is served by one ring; this server has ${this.rings} (rings)`);
    }
    if (callback) this.once('listening', callback);
    this[kState] = STARTING;
    if (where.host === undefined || net.isIP(where.host)) {
      this._bind(where);
    } else {
      dns.lookup(where.host, (err, address) => {
        if (err) {
          this[kState] = IDLE;
          this.emit('error', err);
        } else {
          this._bind({ ...where, host: address });
        }
      });
    }
    return this;
  }

  // where: { host, port, path, backlog }, host numeric or undefined.
  _bind(where) {
    if (this[kBackend] === 'node') {
      this._bindNode(where);
    } else if (native.loadError) { // backend 'auto': 'uring' threw in the constructor
      warnFallback(native.loadError);
      this._bindNode(where);
    } else {
      this._bindUring(where);
    }
  }

  // The io_uring backend: a UringServer's rings listen and serve; this
  // Server keeps its state and emits the events.
  _bindUring(where) {
    const { host, path } = where;
    const uring = new UringServer(this);
    const failure = uring.listen({ ...where, routes: this[kRoutes], statics: this[kStatics] });
    if (failure !== null) {
      this._listenFailed(uring, failure, where);
      return;
    }
    this[kUring] = uring;
    uring.once('close', () => {
      // As libuv does at a pipe server's close.
      if (path !== undefined) fs.rm(path, { force: true }, () => this._onStopped());
      else this._onStopped();
    });
    if (this[kUnref]) uring.unref();
    this[kState] = LISTENING;
    this[kActive] = 'uring';
    // A Unix socket's address() is its path, as net.Server's.
    this[kAddress] = path ?? {
      address: host ?? '::',
      family: host !== undefined && net.isIPv4(host) ? 'IPv4' : 'IPv6',
      port: uring.port,
    };
    this[kHandle] = new RingsHandle(uring);
    process.nextTick(emitListening, this);
  }

  // The ring numbered `started` could not start: { errno, syscall }. port
  // is the one asked for, or the one the first ring bound.
  _listenFailed(uring, { errno, syscall, port, started }, where) {
    // The socket is bound before the ring is set up: an error of the
    // first ring means the address itself was fine, and io_uring is not.
    const unavailable = syscall.startsWith('io_uring') && started === 0;
    if (unavailable && this[kBackend] === 'auto') {
      warnFallback(uringUnavailable(errno, syscall));
      if (where.path !== undefined) fs.rmSync(where.path, { force: true }); // bound, for nothing
      this._bindNode({ ...where, port });
      return;
    }
    const err = unavailable
      ? uringUnavailable(errno, syscall)
      : errnoException(errno, syscall === 'bind' ? 'listen' : syscall, where.path ?? where.host ?? '::',
        where.path === undefined ? port : undefined);
    if (started === 0) {
      this[kState] = IDLE;
      process.nextTick(() => this.emit('error', err));
      return;
    }
    // Stop the rings that started; the error comes once they are gone,
    // so that the port is free by then.
    this[kUring] = uring;
    uring.once('close', () => {
      this[kUring] = null;
      this[kState] = IDLE;
      this.emit('error', err);
    });
    uring.close(true);
  }

  // The node:http backend: an http.Server does the listening and serving;
  // this Server keeps its state and emits the events.
  _bindNode(where) {
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
    // node:http binds at once (outside a cluster worker): so is this
    // Server then, address() set before 'listening', as node:http's is.
    const bound = () => {
      this[kState] = LISTENING;
      this[kActive] = 'node';
      this[kAddress] = inner.address();
    };
    inner.once('listening', () => {
      if (this[kState] === STARTING) bound();
      else if (this[kState] !== LISTENING || this[kNode] !== inner) return; // closed meanwhile
      this.emit('listening');
    });
    inner.once('close', () => this._onStopped());
    inner.listen(listenOptions(where, this.reusePort));
    // (A Unix socket's address() is its path even when its bind failed.)
    if (this[kState] === STARTING && inner.listening) bound();
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
      // Through the instance, as node:http's close() calls it (Fastify
      // counts the calls of its override).
      this.closeIdleConnections();
      this[kState] = CLOSING;
      if (this[kNode] !== null) closeNodeServer(this[kNode], this.drainOnClose);
      if (this[kHanded] !== null) closeNodeServer(this[kHanded], this.drainOnClose);
      this[kHanded] = null;
      // An unref()ed server still closes, and calls back, before the
      // process exits, as node:http's handle does: its rings hold the loop
      // until they have stopped.
      if (this[kUring] !== null && this[kUnref]) this[kUring].ref();
      if (this[kUring] !== null) this[kUring].close();
    }
    return this;
  }

  // Closes every connection now, in-flight responses included; the server
  // keeps listening unless close() was called.
  closeAllConnections() {
    if (this[kUring]) this[kUring].closeAllConnections();
    if (this[kNode]) this[kNode].closeAllConnections();
    if (this[kHanded]) this[kHanded].closeAllConnections();
  }

  // As node:http's: closes the connections with no request in flight
  // (keep-alive connections waiting for their next request).
  closeIdleConnections() {
    if (this[kUring]) this[kUring].closeIdleConnections();
    if (this[kNode]) this[kNode].closeIdleConnections();
    if (this[kHanded]) this[kHanded].closeIdleConnections();
  }

  // node:http's internal handle, which harnesses test for: truthy while
  // listening, null from close() on, as net.Server's. Not a libuv handle on
  // the ring backend.
  get _handle() {
    if (this[kNode]) return this[kNode]._handle;
    return this[kState] === LISTENING ? this[kHandle] : null;
  }

  // `await using server = createServer(...)`: closes it, as node:http's.
  async [Symbol.asyncDispose]() {
    if (this[kState] === IDLE) return;
    await new Promise((resolve, reject) => {
      this.close((err) => (err ? reject(err) : resolve()));
    });
  }

  ref() {
    this[kUnref] = false;
    if (this[kUring]) this[kUring].ref();
    if (this[kNode]) this[kNode].ref();
    return this;
  }

  unref() {
    this[kUnref] = true;
    if (this[kUring]) this[kUring].unref();
    if (this[kNode]) this[kNode].unref();
    return this;
  }

  // As node:http's server.setTimeout(): for the connections open and to come.
  setTimeout(msecs, callback) {
    checkRange('msecs', msecs, 0, 2 ** 31 - 1);
    this.timeout = msecs;
    if (callback) this.on('timeout', callback);
    return this;
  }

  // A setting of LIVE_SETTINGS was set: whichever backend serves applies it.
  [kSettingChanged](name, value) {
    if (this[kUring]) this[kUring].applySettings();
    if (this[kNode]) this[kNode][name] = value;
    if (this[kHanded]) this[kHanded][name] = value;
  }

  // Every ring, or the node backend's server, stopped.
  _onStopped() {
    this[kUring] = null;
    this[kNode] = null;
    this[kActive] = null;
    this[kAddress] = null;
    this[kHandle] = null;
    this[kState] = IDLE;
    this.emit('close');
  }
}

// 'listening', and in a cluster worker the news of it for the primary.
function emitListening(server) {
  if (server[kState] !== LISTENING) return; // closed meanwhile
  announceToCluster(server);
  server.emit('listening');
}

// A net.Server in a cluster worker listens through the primary (cluster's
// 'queryServer'), and once it listens the worker tells the primary so
// ('listening'): that message is what cluster.on('listening') and PM2's
// cluster mode wait for. The rings bind their own SO_REUSEPORT sockets,
// which the primary must not share or round-robin, so only the second
// message is sent, as node's lib/internal/cluster/child.js shapes it.
function announceToCluster(server) {
  const cluster = require('node:cluster');
  if (!cluster.isWorker || typeof process.send !== 'function' || !process.connected) return;
  const bound = server[kAddress];
  // A Unix socket's address is its path, its addressType -1.
  const { address, family, port } = typeof bound === 'string' ? { address: bound, family: 'pipe' } : bound;
  cluster.worker.state = 'listening';
  process.send({
    cmd: 'NODE_CLUSTER', act: 'listening',
    address, port, addressType: { IPv4: 4, IPv6: 6 }[family] ?? -1, fd: undefined,
  });
}

// What node:http reads at each use, so that a server set up after
// listen() (`server.keepAliveTimeout = 65000` behind a load balancer) holds
// the connections open, and those to come, to the new value, on either
// backend. Accessors: checked as the options are, once the server serves
// (before, listen() checks them).
const LIVE_SETTINGS = ['headersTimeout', 'requestTimeout', 'keepAliveTimeout', 'timeout', 'maxRequestsPerSocket'];
for (const name of LIVE_SETTINGS) {
  const key = Symbol(name);
  const [, , min, max] = NUMERIC_OPTIONS.find((option) => option[0] === name);
  Object.defineProperty(Server.prototype, name, {
    get() {
      return this[key];
    },
    set(value) {
      if (this[kActive]) checkRange(`server.${name}`, value, min, max);
      this[key] = value;
      this[kSettingChanged](name, value);
    },
    enumerable: true,
    configurable: true,
  });
}

function createServer(options, requestListener) {
  return new Server(options, requestListener);
}

module.exports = { Server, createServer };
