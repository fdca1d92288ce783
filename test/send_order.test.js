'use strict';

// Responses that JS ends on several connections in one tick reach their
// clients in the order JS ended them, as node:http writes them. A client
// in the server's own process (socket.io's and engine.io's tests) reads
// its connections in that order: engine.io-client, reading the answer to
// its poll before the one to its POST, defers a close, and a reconnect
// made at the next tick is lost.

const assert = require('node:assert/strict');
const net = require('node:net');
const { HOST, startServer, cleanup, withTimeout } = require('./helpers');

const N = 8;

// N connections, the i-th sending GET /i.
function connectAll(port) {
  return Array.from({ length: N }, (_, i) => {
    const socket = net.connect(port, HOST);
    socket.write(`GET /${i} HTTP/1.1\r\nHost: x\r\n\r\n`);
    return socket;
  });
}

describe('send order across connections', () => {
  afterEach(cleanup);

  for (const ringThread of [false, true]) {
    it(`sends the responses ended in one tick in that order (ringThread: ${ringThread})`, async () => {
      const held = []; // held[i] answers GET /i
      let allIn;
      const arrived = new Promise((resolve) => (allIn = resolve));
      const { port } = await startServer((req, res) => {
        held[Number(req.url.slice(1))] = res;
        if (held.filter(Boolean).length === N) allIn();
      }, { ringThread });
      const sockets = connectAll(port);
      try {
        await withTimeout(arrived, 5000, `the server holding ${N} requests`);
        const order = [];
        const read = Promise.all(sockets.map((socket, i) => new Promise((resolve, reject) => {
          socket.once('data', () => resolve(order.push(i)));
          socket.once('error', reject);
        })));
        // Ended in the order they are numbered, not the one they came in.
        for (let i = 0; i < N; i++) held[i].end(`${i}`);
        await withTimeout(read, 5000, 'the responses');
        assert.deepEqual(order, [...Array(N).keys()]);
      } finally {
        for (const socket of sockets) socket.destroy();
      }
    });
  }
});
