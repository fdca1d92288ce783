'use strict';

// Limits a server sets on its clients: request body size (413),
// requests per connection, connections at once; and req.socket.destroy().

const assert = require('node:assert/strict');
const {
  BACKEND, skipOnNodeBackend, startServer, cleanup, RawClient, rawRequest, delay,
} = require('./helpers');

const collect = async (req) => {
  let n = 0;
  for await (const chunk of req) n += chunk.length;
  return n;
};

describe('limits', () => {
  afterEach(cleanup);

  describe('maxRequestBodySize', () => {
    it('answers 413 and closes for a declared body over it, without calling the handler', async () => {
      let calls = 0;
      const { port } = await startServer((req, res) => {
        calls++;
        collect(req).then((n) => res.end(`got ${n}`));
      }, { maxRequestBodySize: 1000 });
      const { client, responses: [over] } = await rawRequest(port,
        `POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1001\r\n\r\n${'a'.repeat(1001)}`);
      assert.equal(over.statusCode, 413);
      assert.ok(await client.closedWithin(3000));
      assert.equal(calls, 0);

      const { responses: [ok] } = await rawRequest(port,
        `POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n${'a'.repeat(1000)}`);
      assert.equal(ok.statusCode, 200);
      assert.equal(ok.body.toString(), 'got 1000');
      assert.equal(calls, 1);
    });

    it('answers 413 in the request\'s place once a chunked body passes it', async function () {
      skipOnNodeBackend(this, 'the node:http backend checks a declared Content-Length only');
      const { port } = await startServer((req, res) => {
        collect(req).then((n) => res.end(`got ${n}`), () => {});
      }, { maxRequestBodySize: 1000 });
      const client = await RawClient.connect(port);
      client.write('POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n');
      client.write('258\r\n' + 'a'.repeat(600) + '\r\n'); // 600 bytes: under the cap
      await delay(50);
      client.write('258\r\n' + 'a'.repeat(600) + '\r\n0\r\n\r\n'); // 1,200 in all
      const res = await client.readResponse();
      assert.equal(res.statusCode, 413);
      assert.equal(res.headers.connection, 'close');
      assert.ok(await client.closedWithin(3000));
    });

    it('rejects a bad value', () => {
      const { createServer } = require('..');
      assert.throws(() => createServer({ maxRequestBodySize: -1 }), { code: 'ERR_OUT_OF_RANGE' });
      assert.throws(() => createServer({ maxRequestBodySize: 1.5 }), { code: 'ERR_OUT_OF_RANGE' });
    });
  });

  // As node:http documents it: Connection: close on the last response
  // allowed, and 503 for any request after it, while the connection is
  // left to the client (or to keepAliveTimeout).
  describe('maxRequestsPerSocket', () => {
    it('says close on the last request allowed and answers 503 past it, keeping the connection', async () => {
      let dropped = 0;
      const server = await startServer((req, res) => res.end(req.url), { maxRequestsPerSocket: 2 });
      server.server.on('dropRequest', (req, socket) => {
        assert.equal(req.url, '/3');
        assert.equal(socket, req.socket);
        dropped++;
      });
      const client = await RawClient.connect(server.port);
      client.write('GET /1 HTTP/1.1\r\nHost: x\r\n\r\n');
      const first = await client.readResponse();
      assert.equal(first.headers.connection, 'keep-alive');
      assert.equal(first.headers['keep-alive'], 'timeout=5, max=2');
      client.write('GET /2 HTTP/1.1\r\nHost: x\r\n\r\n');
      const second = await client.readResponse();
      assert.equal(second.body.toString(), '/2');
      assert.equal(second.headers.connection, 'close');
      assert.equal(second.headers['keep-alive'], undefined);
      client.write('GET /3 HTTP/1.1\r\nHost: x\r\n\r\n');
      const third = await client.readResponse();
      assert.equal(third.statusCode, 503);
      assert.equal(third.headers.connection, 'close');
      assert.equal(dropped, 1);
      assert.equal(await client.closedWithin(300), false);
    });

    it('serves no more than that many of a pipelined burst', async () => {
      const seen = [];
      const server = await startServer((req, res) => {
        seen.push(req.url);
        res.end(req.url);
      }, { maxRequestsPerSocket: 2 });
      const client = await RawClient.connect(server.port);
      client.write([1, 2, 3, 4].map((n) => `GET /${n} HTTP/1.1\r\nHost: x\r\n\r\n`).join(''));
      const responses = await client.readResponses(4);
      assert.deepEqual(responses.map((r) => r.statusCode), [200, 200, 503, 503]);
      assert.deepEqual(responses.map((r) => r.headers.connection), ['keep-alive', 'close', 'close', 'close']);
      assert.deepEqual(seen, ['/1', '/2']);
    });

    it('leaves a connection past the limit to keepAliveTimeout', async () => {
      const server = await startServer((req, res) => res.end(req.url),
        { maxRequestsPerSocket: 1, keepAliveTimeout: 200 });
      const client = await RawClient.connect(server.port);
      client.write('GET /1 HTTP/1.1\r\nHost: x\r\n\r\n');
      assert.equal((await client.readResponse()).headers.connection, 'close');
      // node:http adds a second to keepAliveTimeout before it closes.
      assert.ok(await client.closedWithin(3000), 'the idle connection stayed open');
    });
  });

  describe('maxConnections', () => {
    it("closes connections past it as they come, with a 'drop' event", async () => {
      const server = await startServer((req, res) => res.end('ok'));
      server.server.maxConnections = 2;
      const drops = [];
      server.server.on('drop', (data) => drops.push(data));
      const a = await RawClient.connect(server.port);
      const b = await RawClient.connect(server.port);
      a.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
      b.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
      assert.equal((await a.readResponse()).statusCode, 200);
      assert.equal((await b.readResponse()).statusCode, 200);
      const c = await RawClient.connect(server.port);
      assert.ok(await c.closedWithin(3000), 'the third connection stayed open');
      assert.equal(drops.length, 1);
      assert.equal(typeof drops[0].remotePort, 'number');
      // Room again once one goes.
      a.destroy();
      await delay(100);
      const d = await RawClient.connect(server.port);
      d.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
      assert.equal((await d.readResponse()).statusCode, 200);
      assert.throws(() => { server.server.maxConnections = -1; }, { code: 'ERR_OUT_OF_RANGE' });
    });
  });

  describe('req.socket.destroy()', () => {
    it('closes the connection at once, without a response, and the server serves on', async () => {
      let closed = 0;
      const { port } = await startServer((req, res) => {
        if (req.url === '/kill') {
          res.on('close', () => closed++);
          req.socket.destroy();
          return;
        }
        res.end('alive');
      });
      const client = await RawClient.connect(port);
      client.write('GET /kill HTTP/1.1\r\nHost: x\r\n\r\n');
      const rest = await client.waitEnd(3000);
      assert.equal(rest.length, 0);
      await delay(50);
      assert.equal(closed, 1);
      const { responses: [ok] } = await rawRequest(port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n');
      assert.equal(ok.body.toString(), 'alive');
    });
  });
});
