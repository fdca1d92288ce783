'use strict';

const { Server, createServer } = require('./lib/server');
const { defaultPage, PAGE } = require('./lib/default_page');
const { Ring, listenSocket } = require('./lib/ring');
const { probe } = require('./lib/probe');
const { strerror } = require('./lib/errors');
const { WebSocketServer, WebSocket } = require('./lib/websocket');

// Starts a server on port (and host) at once. Without a handler it serves
// a page saying it is node-uring, on every path.
function server_listen(port, host, handler) {
  if (typeof host === 'function') {
    handler = host;
    host = undefined;
  }
  const server = createServer(handler || defaultPage);
  // Without a handler, GET and HEAD are answered by the ring thread alone;
  // other methods still get the page, from JS.
  if (!handler) {
    server.route('GET', '*', { headers: { 'Content-Type': 'text/html; charset=utf-8' }, body: PAGE });
  }
  server.listen(port, host);
  return server;
}

module.exports = {
  Server, createServer, server_listen, Ring, probe, strerror, listenSocket,
  WebSocketServer, WebSocket,
};
