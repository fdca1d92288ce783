'use strict';

// The node:http backend: what a Server runs on where io_uring cannot (or
// with backend: 'node'). A thin adapter, not a second server: an
// http.Server configured from the Server's options, whose requests reach
// the Server's listeners. Handlers get node:http's own IncomingMessage and
// ServerResponse, which lib/request.js and lib/response.js mimic.
const http = require('node:http');
const { framingStatus } = require('./framing');
const { answerRoute } = require('./route');
const { serveStatic } = require('./static');

// net.Server#listen() takes reusePort from Node 22.12 and 23.1 on; older
// versions ignore the option without a word.
const [major, minor] = process.versions.node.split('.').map(Number);
const HAS_REUSE_PORT = major > 23 || (major === 23 && minor >= 1) || (major === 22 && minor >= 12);

let warnedReusePort = false;

const kSockets = Symbol('sockets'); // on the http.Server: every open connection
const kResponses = Symbol('responses'); // on a socket: its responses not closed yet
const kDraining = Symbol('draining');
const kServer = Symbol('server'); // on the http.Server: the Server it serves
const kRefused = Symbol('refused'); // on a socket: a request on it was refused
const kTunnel = Symbol('tunnel'); // on a socket: handed to 'upgrade' or 'connect'
const kNodeServed = Symbol('nodeServed'); // on a socket: an http.Server here serves it

// How often node:http looks for expired headers and request timeouts. Its
// default, 30 s, would let a 1 s headersTimeout run for 30 s; use the ring
// thread's tick instead: a quarter of the shortest timeout, 100 ms to 1 s.
function checkingInterval(server) {
  const timeouts = [server.headersTimeout, server.requestTimeout].filter((t) => t > 0);
  if (timeouts.length === 0) return 1000;
  return Math.min(1000, Math.max(100, Math.floor(Math.min(...timeouts) / 4)));
}

// close() as the ring thread does it (closeNodeServer()), so the backend
// tracks each connection's responses: at close(), a connection without a
// response in flight is destroyed; draining (drainOnClose), a response not
// begun goes out with `Connection: close`, and a connection is destroyed
// when its last one ends too. The sets hang off the sockets, so a
// connection that goes away takes its responses with it, closed or not.
function onConnection(socket) {
  socket[kResponses] = new Set();
  // One the Server was handed (serveHanded()) was its 'connection' already.
  if (!socket[kNodeServed]) {
    socket[kNodeServed] = true;
    this[kServer].emit('connection', socket);
  }
  this[kSockets].add(socket);
  socket.once('close', () => this[kSockets].delete(socket));
}

function track(res) {
  const socket = res.req.socket;
  if (socket.server[kDraining]) res.shouldKeepAlive = false;
  socket[kResponses].add(res);
  res.once('close', onResponseClose);
}

function onResponseClose() {
  const socket = this.req.socket;
  socket[kResponses].delete(this);
  if (socket.server[kDraining] && socket[kResponses].size === 0 && !socket[kTunnel]) socket.destroy();
}

// Refuses a request whose framing the ring thread refuses (lib/framing.js)
// before any handler, route or '100 Continue' sees it, as node:http's
// clientError default does: the status, then the connection closes. It
// goes out through res, so that the responses before it keep their order;
// whatever node:http parses after it on the connection is dropped, since
// its framing cannot be trusted. Returns true when req was refused (or
// follows a refused one).
function refused(req, res) {
  const socket = req.socket;
  if (socket[kRefused]) return true;
  const status = framingStatus(req);
  if (status === 0) return false;
  socket[kRefused] = true;
  res.shouldKeepAlive = false;
  res.writeHead(status, { Connection: 'close' });
  res.end();
  return true;
}

// Answers req from a route or a static mount, as the ring thread does
// before JS sees the request: returns true then.
function answerBuiltin(server, req, res) {
  const route = server._routeFor(req.method, req.url);
  if (route !== undefined) {
    answerRoute(route, req, res);
    return true;
  }
  return serveStatic(server._statics, req, res);
}

// Sends '100 Continue' for the handler unless the Server listens to
// 'checkContinue' itself, as node:http does for its own listeners. A
// route or mount answers at once, without it.
function onCheckContinue(server, req, res) {
  track(res);
  if (refused(req, res) || answerBuiltin(server, req, res)) return;
  if (server.listenerCount('checkContinue') > 0) {
    server.emit('checkContinue', req, res);
  } else {
    res.writeContinue();
    server.emit('request', req, res);
  }
}

// An http.Server carrying server's options, whose 'request' and
// 'checkContinue' events go to server's listeners. The caller wires
// 'listening', 'error' and 'close', and calls listen.
function createNodeServer(server) {
  // Not http.createServer(), which may be wrapped (or replaced by
  // node-uring's, as scripts/framework-suite.js does).
  const inner = new http.Server({
    maxHeaderSize: server.maxHeaderSize,
    requireHostHeader: server.requireHostHeader,
    connectionsCheckingInterval: checkingInterval(server),
  });
  // Properties, not options: node:http's options refuse a headersTimeout
  // above requestTimeout, which our Server accepts.
  inner.headersTimeout = server.headersTimeout;
  inner.requestTimeout = server.requestTimeout;
  inner.keepAliveTimeout = server.keepAliveTimeout;
  inner.maxRequestsPerSocket = server.maxRequestsPerSocket;
  inner.maxHeadersCount = server.maxHeadersCount;
  inner.timeout = server.timeout;
  if (server.maxConnections !== undefined) inner.maxConnections = server.maxConnections;
  inner.on('drop', (data) => server.emit('drop', data));
  inner.on('dropRequest', (req, socket) => server.emit('dropRequest', req, socket));
  inner[kServer] = server;
  watchListeners(server, inner);
  inner[kSockets] = new Set();
  inner[kDraining] = false;
  inner.on('connection', onConnection);
  inner.on('request', (req, res) => {
    track(res);
    if (refused(req, res) || answerBuiltin(server, req, res)) return;
    if (bodyTooLarge(server, req)) {
      res.writeHead(413, { Connection: 'close' });
      res.end();
      return;
    }
    server.emit('request', req, res);
  });
  inner.on('checkContinue', (req, res) => onCheckContinue(server, req, res));
  return inner;
}

// node:http acts itself on 'clientError' (a 400, 408 or 431, then destroy)
// and 'checkExpectation' (417) only while nobody listens to them, and
// takes an upgrade (or a CONNECT) only while it has a listener for it,
// treating the request as an ordinary one (closing a CONNECT) otherwise:
// so the http.Server listens to each exactly while the Server does, and
// passes them on.
function forwardClientError(err, socket) {
  this[kServer].emit('clientError', err, socket);
}

function forwardCheckExpectation(req, res) {
  track(res);
  if (!refused(req, res)) this[kServer].emit('checkExpectation', req, res);
}

// An upgrade or a CONNECT whose framing is refused gets node:http's own
// 400 (or 501) on the socket it would have been handed.
function refusedTunnel(req, socket) {
  const status = framingStatus(req);
  if (status === 0) return false;
  socket.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nConnection: close\r\n\r\n`);
  socket.destroySoon();
  return true;
}

// The socket handed on has left HTTP: close() leaves it open (kTunnel), as
// node:http's does, and the server's 'close' waits for it.
function forwardUpgrade(req, socket, head) {
  if (refusedTunnel(req, socket)) return;
  socket[kTunnel] = true;
  this[kServer].emit('upgrade', req, socket, head);
}

function forwardConnect(req, socket, head) {
  if (refusedTunnel(req, socket)) return;
  socket[kTunnel] = true;
  this[kServer].emit('connect', req, socket, head);
}

// A listener of node:http's own stops its default destroy(): forwarded
// only while the server has one.
function forwardTimeout(socket) {
  this[kServer].emit('timeout', socket);
}

const FORWARDED = {
  clientError: forwardClientError, checkExpectation: forwardCheckExpectation,
  upgrade: forwardUpgrade, connect: forwardConnect, timeout: forwardTimeout,
};

function watchListeners(server, inner) {
  const sync = (event, wanted) => {
    const forward = FORWARDED[event];
    const has = inner.listeners(event).includes(forward);
    if (wanted && !has) inner.on(event, forward);
    if (!wanted && has) inner.off(event, forward);
  };
  // 'newListener' comes before the listener is added, 'removeListener' after.
  const onNew = (event) => {
    if (Object.hasOwn(FORWARDED, event)) sync(event, true);
  };
  const onRemoved = (event) => {
    if (Object.hasOwn(FORWARDED, event)) sync(event, server.listenerCount(event) > 0);
  };
  server.on('newListener', onNew);
  server.on('removeListener', onRemoved);
  inner.once('close', () => {
    server.off('newListener', onNew);
    server.off('removeListener', onRemoved);
  });
  for (const event of Object.keys(FORWARDED)) sync(event, server.listenerCount(event) > 0);
}

// maxRequestBodySize, which node:http lacks: checked against a declared
// Content-Length only (a chunked body is not counted on this backend).
function bodyTooLarge(server, req) {
  const max = server.maxRequestBodySize;
  const length = Number(req.headers['content-length']);
  return max > 0 && length > max;
}

// net.Server#listen()'s options. reusePort needs Node 22.12 or 23.1; on an
// older Node it is dropped with a warning (once), and a second server on
// the port fails with EADDRINUSE.
function listenOptions({ host, port, path, backlog }, reusePort) {
  if (path !== undefined) return { path, backlog };
  const options = { host, port, backlog };
  if (reusePort && HAS_REUSE_PORT) {
    options.reusePort = true;
  } else if (reusePort && !warnedReusePort) {
    warnedReusePort = true;
    process.emitWarning(
      `node-uring: reusePort is ignored by the node:http backend on Node ${process.versions.node} ` +
      '(net.Server supports it from Node 22.12 and 23.1 on); the port is not shared',
      { code: 'URING_NO_REUSEPORT' });
  }
  return options;
}

// Stops accepting and closes the connections without a response in flight,
// as the ring thread does: node:http's close() leaves open one whose
// request head is still arriving, for as long as its client likes (it
// stops the headersTimeout checks). The others are served on, as
// node:http's close() leaves them or, draining (drainOnClose), close once
// their responses are out. 'close' follows when the last one is gone.
function closeNodeServer(inner, drain) {
  inner[kDraining] = drain;
  inner.close();
  for (const socket of inner[kSockets]) {
    const responses = socket[kResponses];
    if (drain) for (const res of responses) if (!res.headersSent) res.shouldKeepAlive = false;
    if (responses.size === 0 && !socket[kTunnel]) socket.destroy();
  }
}

// server.stats() as far as node:http can say: it has no load bounds
// (nothing is queued between threads, nothing is held back for load), so
// requestsQueued counts the responses not yet finished, and
// connectionsPaused the sockets node:http stopped reading (a client that
// pipelines past what its responses let out).
function nodeStats(inner) {
  let requestsQueued = 0;
  let bytesUnsent = 0;
  let connectionsPaused = 0;
  for (const socket of inner[kSockets]) {
    requestsQueued += socket[kResponses].size;
    bytesUnsent += socket.writableLength;
    if (socket.isPaused()) connectionsPaused++;
  }
  return {
    connections: inner[kSockets].size, requestsQueued, bytesQueued: 0, bytesUnsent,
    connectionsPaused, overloaded: false, accepting: inner.listening, buffersLent: 0,
  };
}

// A socket the Server did not accept, handed to it by emit('connection',
// socket) as node:http takes one (a proxy that sniffs TLS and hands plain
// HTTP on, httpolyglot): inner, an http.Server of the Server's that may
// never listen, serves it, its requests reaching the Server's listeners.
// False for a socket the Server serves already.
function serveHanded(inner, socket) {
  if (socket[kNodeServed]) return false;
  socket[kNodeServed] = true;
  inner.emit('connection', socket);
  return true;
}

module.exports = { createNodeServer, listenOptions, closeNodeServer, nodeStats, serveHanded };
