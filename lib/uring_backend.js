'use strict';

// The io_uring backend: what a Server runs on wherever io_uring can. Each
// of its rings is a ring thread with a listening socket of its own on the
// port; the ring thread accepts, parses and sends, and hands this thread
// its events in batches. Here the rings are bound, their batches are read
// (lib/batch.js) into sockets and 'request' events, and each ring is woken
// once per batch of responses. It mirrors lib/node_backend.js, which serves
// the same Server with node:http.
const { EventEmitter } = require('node:events');
const { STATUS_CODES } = require('node:http');
const native = require('./native');
const {
  readBatch, requestMethod, requestMajor, requestMinor,
  REQ_KEEP_ALIVE, REQ_HAS_BODY, REQ_EXPECT_CONTINUE, REQ_EXPECT_OTHER, REQ_UPGRADE,
} = require('./batch');
const { IncomingMessage } = require('./request');
const { ServerResponse } = require('./response');
const {
  UringSocket, kMatches, kAddExchange, kCountRequest, kOnBody, kOnBodyEnd, kOnDrain, kOnClose,
  kOnHangup, kOnHeldHangup, kOnData, kUpgrade, kKeepParsing, kDrain, kIdentity, kOnWs, kClientError, kOnTrailers, timedOut,
} = require('./socket');
const { routeHead } = require('./route');
const { keepAliveLines, CLOSE_LINES } = require('./head');
const { codedError } = require('./errors');

// The Server's options that the ring thread applies, by their names.
const RING_OPTIONS = ['maxHeaderSize', 'maxRequestBodySize', 'ringEntries', 'requireHostHeader'];
// And its timeouts, which it applies again when they are set (setTimeouts()).
const RING_TIMEOUTS = ['headersTimeout', 'requestTimeout', 'keepAliveTimeout', 'timeout'];
// The load bounds, which are the whole server's: each ring gets its share.
const SHARED_OPTIONS = ['maxQueuedRequests', 'maxQueuedBytes', 'maxPausedConnections'];

// What NativeServer#listen() takes: the Server's options, its routes
// as the bytes the ring thread sends, and its static mounts.
function nativeOptions(server, { host, port, path, backlog, routes, statics }) {
  const options = {
    host: host ?? null, port, path, backlog,
    // Each ring binds a socket of its own to the port. So does each worker
    // of a cluster, whose net servers share the port through the primary:
    // here the kernel shares it (a reload's new worker binds it too).
    reusePort: server.reusePort || server.rings > 1 || require('node:cluster').isWorker,
    routes: routes.map((r) => ({ path: r.path, head: routeHead(r), body: r.body })),
    statics: statics.map(({ prefix, root }) => ({ prefix, root })),
    // No ring thread: this thread drives the ring (see nu_server_turn()).
    inline: !server.ringThread,
  };
  for (const name of RING_OPTIONS) options[name] = server[name];
  Object.assign(options, ringTimeouts(server));
  for (const name of SHARED_OPTIONS) options[name] = Math.ceil(server[name] / server.rings);
  return options;
}

// The head lines of a keep-alive response, as the server's settings say.
function serverKeepAliveLines(server) {
  return keepAliveLines(server.keepAliveTimeout, server.maxRequestsPerSocket);
}

// The server's timeouts, as NativeServer#listen() and setTimeouts() take them.
function ringTimeouts(server) {
  const timeouts = {};
  for (const name of RING_TIMEOUTS) timeouts[name] = server[name];
  return timeouts;
}

// The body size (bytes of a Buffer or other typed array) from which a
// response chunk lends its body to the ring thread instead of copying it:
// below it, the copy costs less than holding the body and hearing back.
const LEND_MIN = 16 * 1024;
const STAT_COUNTS = ['connections', 'requestsQueued', 'bytesQueued', 'bytesUnsent', 'connectionsPaused'];

function flushNT(uring) {
  uring.flush();
}

function rethrow(err) {
  throw err;
}

// A throwing listener must not cost the other records of its batch their
// dispatch: its error is rethrown on its own, as an uncaught exception,
// which is what node:http makes of it too.
function emitSafely(server, event, a, b) {
  try {
    server.emit(event, a, b);
  } catch (err) {
    process.nextTick(rethrow, err);
  }
}

// maxRequestsPerSocket, as node:http documents it: the last request
// allowed is answered with Connection: close, and any after it with 503
// (and close too), but the connection is left to the client, or to
// keepAliveTimeout. Returns true when req got its 503.
function refusedPastLimit(server, socket, req, res) {
  const max = server.maxRequestsPerSocket;
  const count = socket[kCountRequest]();
  // node:http's own name: its head (after a prototype swap) reads it too.
  res.maxRequestsOnConnectionReached = count >= max;
  if (count <= max) return false;
  server.emit('dropRequest', req, socket);
  res.writeHead(503);
  res.end();
  return true;
}

// An expectation other than 100-continue: node:http's 417, unless the
// server listens to 'checkExpectation', which then gets the request.
function expectationFailed(server, req, res) {
  if (server.listenerCount('checkExpectation') > 0) {
    emitSafely(server, 'checkExpectation', req, res);
  } else {
    res.writeHead(417);
    res.end();
  }
}

const EMPTY_HEAD = Buffer.alloc(0);

// An upgrade request (or a CONNECT), as node:http: taken by an 'upgrade'
// ('connect') listener, with the connection, which leaves HTTP; without
// one an upgrade is an ordinary request and a CONNECT closes the
// connection. Returns true when the request was taken or refused. The
// `head` argument is always empty: the bytes that followed the request
// come as the socket's first 'data'.
function takeUpgrade(server, socket, req, seq) {
  const event = req.method === 'CONNECT' ? 'connect' : 'upgrade';
  if (server.listenerCount(event) === 0) {
    if (event === 'connect') {
      socket.destroy();
      return true;
    }
    socket[kKeepParsing]();
    return false;
  }
  req.upgrade = true;
  const raw = socket[kUpgrade](req, seq);
  try {
    server.emit(event, req, raw, EMPTY_HEAD);
  } catch (err) {
    process.nextTick(rethrow, err);
  }
  return true;
}

// The error 'clientError' gets, as node:http makes it: a parse error
// carries the input it was found in (a copy: the batch is reused).
function clientError(code, reason, packet, parsed) {
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return codedError(Error, code, 'Request timeout');
  const err = codedError(Error, code, `Parse Error: ${reason}`);
  err.bytesParsed = parsed;
  err.reason = reason;
  err.rawPacket = Buffer.from(packet);
  return err;
}

// A connection past maxConnections: closed at once, with a 'drop' event.
function dropConnection(server, socket) {
  socket.destroy();
  const local = server.address();
  server.emit('drop', {
    localAddress: local?.address, localPort: local?.port, localFamily: local?.family,
    remoteAddress: socket.remoteAddress, remotePort: socket.remotePort,
    remoteFamily: socket.remoteFamily,
  });
}

// A Server's rings, listening on one port: to this backend what the
// http.Server of lib/node_backend.js is to that one. It emits 'close' once
// every ring thread has stopped.
class UringServer extends EventEmitter {
  constructor(server) {
    super();
    this.server = server;
    this.rings = [];
    this.port = 0;
    // Connections open, as the rings reported them, for maxConnections.
    this.connections = 0;
    // Until every ring listens, connections are not the handler's: a start
    // that failed is stopping the rings that did start.
    this.starting = true;
    this.closing = false;
    this.draining = false; // closing with drainOnClose
    // The socket whose request is being handed to its handler, if any.
    this.dispatching = null;
    // While a batch is handled, chunks sent wait for its end (corked); a
    // flush is due once any ring has been sent chunks since the last one.
    this.corked = false;
    this.flushPending = false;
    // WebSocket subscriptions on all rings, topic -> sockets, for
    // wss.numSubscribers(): the ring threads each know only their own.
    this.subscribers = new Map();
    // The head lines of a keep-alive response (applySettings()).
    this.keepAliveLines = '';
    // The ring threads hand malformed requests to JS only while the server
    // listens to 'clientError'; otherwise they answer them themselves.
    this.onNewListener = (event) => {
      if (event === 'clientError') this.setClientErrors(true);
    };
    this.onRemoveListener = (event) => {
      if (event === 'clientError' && server.listenerCount('clientError') === 0) this.setClientErrors(false);
    };
  }

  setClientErrors(toJs) {
    for (const handle of this.handles()) handle.setClientErrors(toJs);
  }

  // Starts server.rings rings, where says: { host, port, backlog, routes,
  // statics }. Returns null, or why the ring numbered `started` failed:
  // { errno, syscall, port, started }, port being the one asked for, or
  // the one the first ring bound.
  listen(where) {
    this.keepAliveLines = serverKeepAliveLines(this.server);
    const options = nativeOptions(this.server, where);
    for (let k = 0; k < this.server.rings; k++) {
      const ring = new ServerRing(this, k);
      const result = ring.handle.listen(options, batchListener(ring));
      if (result.errno !== undefined) {
        return { errno: result.errno, syscall: result.syscall, port: options.port, started: k };
      }
      this.rings.push(ring);
      // Port 0: the first bind picked the port, the other rings join it.
      options.port = result.port;
    }
    this.port = options.port;
    this.starting = false;
    if (this.server.listenerCount('clientError') > 0) this.setClientErrors(true);
    this.server.on('newListener', this.onNewListener);
    this.server.on('removeListener', this.onRemoveListener);
    return null;
  }

  // The server's timeouts or maxRequestsPerSocket were set: the rings hold
  // every connection to them from now on, and responses advertise them.
  applySettings() {
    this.keepAliveLines = serverKeepAliveLines(this.server);
    const timeouts = ringTimeouts(this.server);
    for (const handle of this.handles()) handle.setTimeouts(timeouts);
  }

  // Stops accepting on every ring, and closes the idle connections. The
  // others are served on, as node:http's close() leaves them, until idle
  // past keepAliveTimeout; with drainOnClose each closes once its
  // responses are out (those not begun say Connection: close); force
  // closes every one at once.
  close(force = false) {
    const { STOP_CLOSE, STOP_DRAIN, STOP_FORCE } = native.constants;
    this.closing = true;
    this.draining = !force && this.server.drainOnClose;
    if (this.draining) {
      for (const ring of this.rings) for (const socket of ring.conns) socket?.[kDrain]();
    }
    const how = force ? STOP_FORCE : this.draining ? STOP_DRAIN : STOP_CLOSE;
    for (const handle of this.handles()) handle.stop(how);
  }

  // Closes every connection now, in-flight responses included.
  closeAllConnections() {
    for (const handle of this.handles()) handle.closeConnections();
  }

  // Closes the connections with no exchange in flight: no request being
  // answered or read, nothing of a response still being sent; and, once
  // sent, those whose responses have all ended. The ring threads judge it,
  // who know what is left to send. As node:http's parser counts the
  // connection whose request is being handled as busy (the handler runs
  // inside its parse), that one is spared.
  closeIdleConnections() {
    const spared = this.dispatching;
    for (const ring of this.rings) {
      if (ring.handle === null) continue;
      if (spared?.ring === ring.index) ring.handle.closeIdleConnections(...spared[kIdentity]());
      else ring.handle.closeIdleConnections();
    }
  }

  // As net.Server's: callback(null, count), the connections open on the
  // ring threads (accepted and not yet fully closed).
  getConnections(callback) {
    let count = 0;
    for (const handle of this.handles()) count += handle.liveConnections();
    process.nextTick(callback, null, count);
  }

  // server.stats(): the rings' counts, summed; overloaded when any ring
  // is, accepting while any ring accepts.
  stats() {
    const total = {
      connections: 0, requestsQueued: 0, bytesQueued: 0, bytesUnsent: 0,
      connectionsPaused: 0, overloaded: false, accepting: false, buffersLent: 0,
    };
    for (const handle of this.handles()) {
      const ring = handle.stats();
      for (const key of STAT_COUNTS) total[key] += ring[key];
      total.overloaded ||= ring.overloaded;
      total.accepting ||= ring.accepting && !this.closing;
    }
    for (const ring of this.rings) total.buffersLent += ring.lentCount();
    return total;
  }

  ref() {
    for (const handle of this.handles()) handle.ref();
  }

  unref() {
    for (const handle of this.handles()) handle.unref();
  }

  // The native handles of the rings still running.
  * handles() {
    for (const ring of this.rings) if (ring.handle !== null) yield ring.handle;
  }

  // A ring was sent its first chunk since it was last flushed: one flush
  // for them all, after the batch being handled or at the end of the tick.
  flushSoon() {
    if (this.flushPending) return;
    this.flushPending = true;
    if (!this.corked) process.nextTick(flushNT, this);
  }

  // Wakes the rings that were sent chunks, each once.
  flush() {
    this.flushPending = false;
    for (const ring of this.rings) ring.flush();
  }

  // wss.publish(): to the subscribers on every ring still running.
  // Returns false once none is.
  wsPublish(topic, data, opcode) {
    const ring = this.rings.find((r) => r.handle !== null);
    if (ring === undefined) return false;
    ring.wsPublish(topic, data, opcode, native.constants.WS_NOBODY, 0);
    return true;
  }

  // A WebSocket subscribed to topic (delta 1), or left it (-1).
  countSubscriber(topic, delta) {
    const n = (this.subscribers.get(topic) ?? 0) + delta;
    if (n === 0) this.subscribers.delete(topic);
    else this.subscribers.set(topic, n);
  }

  // A ring thread is gone; 'close' once they all are.
  ringStopped() {
    if (!this.rings.every((ring) => ring.handle === null)) return;
    this.server.off('newListener', this.onNewListener);
    this.server.off('removeListener', this.onRemoveListener);
    this.emit('close');
  }
}

// One ring thread and its listening socket: the native handle (null once
// the ring stopped), and the connections it reported, by slot. Slots and
// generations are the ring's own, so connections of two rings can share
// them. It is the sink its batches are read into (lib/batch.js), and the
// transport of its sockets (lib/socket.js).
class ServerRing {
  constructor(uring, index) {
    this.uring = uring;
    this.server = uring.server;
    this.index = index;
    this.handle = new native.NativeServer();
    this.conns = [];
    // The bodies the ring thread sends from (see lend()), by id, and the
    // ids free for reuse.
    this.lent = [];
    this.lentFree = [];
    // Chunks were sent to it since its last flush.
    this.flushPending = false;
  }

  // Queues a response chunk (or a PAUSE, RESUME, NOTIFY or ABORT) for the
  // ring thread; the wake-up comes with the next flush. Returns false when
  // the ring has stopped: nothing was sent.
  send(slot, gen, seq, flags, head, body, bodyBytes) {
    if (this.handle === null) return false;
    if (typeof body === 'object' && body.byteLength >= LEND_MIN) this.lend(slot, gen, seq, flags, head, body);
    else this.handle.send(slot, gen, seq, flags, head, body, bodyBytes);
    this.wake();
    return true;
  }

  // A large body's bytes go out from where they are, not copied: body is
  // held, under an id in this.lent, until the ring thread reports it done
  // with (onReleased). Like node:http's socket, which may still be writing
  // from a Buffer after end(buffer), nothing stops its bytes from being
  // changed meanwhile.
  lend(slot, gen, seq, flags, head, body) {
    const id = this.lentFree.length > 0 ? this.lentFree.pop() : this.lent.length;
    this.lent[id] = body;
    let lent = false;
    try {
      lent = this.handle.send(slot, gen, seq, flags, head, body, undefined, id);
    } finally {
      if (!lent) this.onReleased(slot, gen, id);
    }
  }

  // The lent bodies not yet released (server.stats().buffersLent).
  lentCount() {
    return this.lent.length - this.lentFree.length;
  }

  // A WebSocket's accept and frames (lib/websocket.js), as send() queues.
  // o: what the ring thread keeps for it, { maxPayload, maxBackpressure,
  // idleTimeout (s), flags (1: closeOnBackpressureLimit, 2:
  // sendPingsAutomatically) }.
  wsOpen(slot, gen, head, o, given) {
    if (this.handle === null) return false;
    this.handle.wsOpen(slot, gen, head, o.maxPayload, given, o.maxBackpressure, o.idleTimeout, o.flags);
    this.wake();
    return true;
  }

  wsSend(slot, gen, opcode, fin, data) {
    if (this.handle === null) return false;
    this.handle.wsSend(slot, gen, opcode, fin, data);
    this.wake();
    return true;
  }

  // Pub/sub: a WebSocket's subscription (action: constants.WS_SUBSCRIBE
  // or WS_UNSUBSCRIBE), and a publish to every ring of the server, that
  // skips connection (slot, gen) of this ring (WS_NOBODY: none). One
  // native call frames it once for every ring.
  wsTopic(slot, gen, action, topic) {
    if (this.handle === null) return false;
    this.handle.wsTopic(slot, gen, action, topic);
    this.wake();
    return true;
  }

  wsPublish(topic, data, opcode, slot, gen) {
    const others = [];
    for (const ring of this.uring.rings) {
      if (ring !== this && ring.handle !== null) {
        others.push(ring.handle);
        ring.wake();
      }
    }
    this.handle.wsPublish(topic, data, opcode, slot, gen, others);
    this.wake();
  }

  // Something was queued: a flush is due.
  wake() {
    if (!this.flushPending) {
      this.flushPending = true;
      this.uring.flushSoon();
    }
  }

  flush() {
    if (!this.flushPending) return;
    this.flushPending = false;
    if (this.handle !== null) this.handle.flush();
  }

  // One batch from the ring thread: the events of one completion drain.
  // What its handlers write is flushed once, after it.
  onBatch(buffer, nwords) {
    const uring = this.uring;
    uring.corked = true;
    try {
      readBatch(buffer, nwords, this);
    } finally {
      uring.corked = false;
      if (uring.flushPending) uring.flush();
    }
  }

  // The socket of (slot, gen), or undefined once that connection is gone.
  connection(slot, gen) {
    const socket = this.conns[slot];
    return socket !== undefined && socket[kMatches](gen) ? socket : undefined;
  }

  // ---- the records of a batch (see readBatch) ----

  // The socket tells the family by the address (see lib/socket.js).
  onOpen(slot, gen, family, port, addr) {
    const uring = this.uring;
    if (uring.starting) return; // a failed start is stopping this ring
    const socket = new UringSocket(this, slot, gen, port, addr);
    this.conns[slot] = socket;
    if (++uring.connections > (this.server.maxConnections ?? Infinity)) {
      dropConnection(this.server, socket);
    } else {
      // As net.Server's, once per accepted connection (not for one dropped).
      emitSafely(this.server, 'connection', socket);
    }
  }

  onRequest(slot, gen, seq, info, words, bytes, at) {
    const socket = this.connection(slot, gen);
    if (socket === undefined) return;
    const uring = this.uring;
    uring.dispatching = socket; // see UringServer#closeIdleConnections()
    try {
      this.dispatchRequest(socket, seq, info, words, bytes, at);
    } finally {
      uring.dispatching = null;
    }
  }

  // A request's objects, and its event ('request', or another a handler
  // takes it with).
  dispatchRequest(socket, seq, info, words, bytes, at) {
    const req = new IncomingMessage(socket, requestMethod(info), requestMajor(info),
      requestMinor(info), words, bytes, at);
    if ((info & REQ_UPGRADE) !== 0 && takeUpgrade(this.server, socket, req, seq)) return;
    const keepAlive = (info & REQ_KEEP_ALIVE) !== 0 && !this.uring.draining;
    const res = new ServerResponse(req, seq, keepAlive, this.server);
    socket[kAddExchange](req, res, (info & REQ_HAS_BODY) !== 0);
    const server = this.server;
    if (server.maxRequestsPerSocket > 0 && refusedPastLimit(server, socket, req, res)) return;
    // As node:http: an Expect header counts in HTTP/1.1 only.
    if ((info & (REQ_EXPECT_CONTINUE | REQ_EXPECT_OTHER)) !== 0 && req.httpVersion === '1.1') {
      if (info & REQ_EXPECT_CONTINUE) {
        if (server.listenerCount('checkContinue') > 0) {
          emitSafely(server, 'checkContinue', req, res);
          return;
        }
        res.writeContinue();
      } else {
        expectationFailed(server, req, res);
        return;
      }
    }
    emitSafely(server, 'request', req, res);
  }

  onBody(slot, gen, chunk) {
    const socket = this.connection(slot, gen);
    if (socket !== undefined) socket[kOnBody](chunk);
  }

  onTrailers(slot, gen, raw) {
    const socket = this.connection(slot, gen);
    if (socket !== undefined) socket[kOnTrailers](raw);
  }

  onEnd(slot, gen) {
    const socket = this.connection(slot, gen);
    if (socket !== undefined) socket[kOnBodyEnd]();
  }

  onClose(slot, gen) {
    const socket = this.connection(slot, gen);
    if (socket === undefined) return;
    this.conns[slot] = undefined;
    this.uring.connections--;
    socket[kOnClose]();
  }

  // No traffic on a connection for server.timeout: 'timeout' on the
  // socket, its request, its response and the server, or, with none of the
  // last three listening, the connection goes (lib/socket.js timedOut()).
  onTimeout(slot, gen) {
    const socket = this.connection(slot, gen);
    if (socket !== undefined) timedOut(socket);
  }

  // The client sent its FIN (see UringSocket's kOnHangup).
  onHangup(slot, gen) {
    const socket = this.connection(slot, gen);
    if (socket !== undefined) socket[kOnHangup]();
  }

  onHeldHangup(slot, gen) {
    const socket = this.connection(slot, gen);
    if (socket !== undefined) socket[kOnHeldHangup]();
  }

  // Bytes of an upgraded connection.
  onData(slot, gen, chunk) {
    const socket = this.connection(slot, gen);
    if (socket !== undefined) socket[kOnData](chunk);
  }

  // A WebSocket's message, control frame or error.
  onWs(slot, gen, op, code, chunk) {
    const socket = this.connection(slot, gen);
    if (socket !== undefined) socket[kOnWs](op, code, chunk);
  }

  // A request that could not be parsed, handed over because the server
  // listens to 'clientError' (or did a moment ago: then node:http's
  // default answer goes, the status's prebuilt response, and the
  // connection closes once it is sent).
  onClientError(slot, gen, status, seq, code, reason, packet, parsed) {
    const socket = this.connection(slot, gen);
    if (socket === undefined) return;
    socket[kClientError](seq);
    const err = clientError(code, reason, packet, parsed);
    let heard = true;
    try {
      heard = this.server.emit('clientError', err, socket);
    } catch (thrown) {
      process.nextTick(rethrow, thrown);
    }
    if (!heard && socket.writable) socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n${CLOSE_LINES}\r\n`, 'latin1');
  }

  // Everything written on a connection is sent.
  onDrain(slot, gen, sent) {
    const socket = this.connection(slot, gen);
    if (socket !== undefined) socket[kOnDrain](sent);
  }

  // A lent body the ring thread is done with.
  onReleased(slot, gen, id) {
    this.lent[id] = undefined;
    this.lentFree.push(id);
  }

  // The ring thread is ending, its connections closed and its port let go:
  // joined here, so that 'close' comes once it is gone. It released every
  // body it took; one queued after its last look is read by nobody.
  onStopped() {
    this.handle.join();
    this.handle = null;
    this.conns = [];
    this.lent = [];
    this.lentFree = [];
    this.uring.ringStopped();
  }
}

// The native handle's batch callback, made out here rather than in the
// constructor, whose context it would share.
function batchListener(ring) {
  return (buffer, nwords) => ring.onBatch(buffer, nwords);
}

module.exports = { UringServer };
