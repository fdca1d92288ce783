'use strict';

// req and res are node:http's IncomingMessage and ServerResponse, and stay
// working when a framework swaps their prototypes for objects inheriting
// from node:http's (as Express does).

const assert = require('node:assert/strict');
const http = require('node:http');
const { startServer, cleanup, request, rawRequest } = require('./helpers');
const { startBoth, same } = require('./frameworks/compare');

// The prototypes Express gives every request and response.
const requestProto = Object.create(http.IncomingMessage.prototype);
const responseProto = Object.create(http.ServerResponse.prototype);

function swapped(handler) {
  return (req, res) => {
    Object.setPrototypeOf(req, requestProto);
    Object.setPrototypeOf(res, responseProto);
    handler(req, res);
  };
}

describe('req and res as node:http objects', function () {
  afterEach(cleanup);

  it('are instances of http.IncomingMessage and http.ServerResponse', async function () {
    let seen;
    const { port } = await startServer((req, res) => {
      seen = [req instanceof http.IncomingMessage, res instanceof http.ServerResponse, res.req === req];
      res.end();
    });
    await request(port);
    assert.deepEqual(seen, [true, true, true]);
  });

  // node:http's own end() writes through the socket; past its high-water
  // mark (16 KiB of responses on one connection) a write waits for the
  // ring thread, and the end must wait behind it: it went ahead, and the
  // next response's bytes found none to belong to (Express cut every
  // keep-alive connection after some 60 responses).
  it('carry a keep-alive connection past the socket\'s high-water mark after a prototype swap', async function () {
    const body = 'x'.repeat(1000);
    const { port } = await startServer(swapped((req, res) => {
      res.setHeader('Content-Type', 'text/plain');
      res.end(`${req.url} ${body}`);
    }));
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const sockets = new Set();
      for (let i = 0; i < 100; i++) {
        const { res, body: got } = await request(port, { path: `/${i}`, agent });
        sockets.add(res.socket);
        assert.equal(res.statusCode, 200);
        assert.equal(got.toString(), `/${i} ${body}`);
      }
      assert.equal(sockets.size, 1, 'the connection was closed on the way');
    } finally {
      agent.destroy();
    }
  });

  // Past 64 unanswered the ring thread reads no more, and past 16 KiB
  // the socket's writes wait: the responses queued meanwhile (node:http's
  // outputData) must still each end, in order.
  it('answer 300 pipelined requests in order after a prototype swap', async function () {
    const n = 300;
    const { port } = await startServer(swapped((req, res) => {
      res.setHeader('Content-Type', 'text/plain');
      res.end(`${req.url} ${'y'.repeat(200)}`);
    }));
    const burst = Array.from({ length: n }, (_, i) => `GET /${i} HTTP/1.1\r\nHost: x\r\n\r\n`).join('');
    const { responses } = await rawRequest(port, burst, n);
    assert.deepEqual(responses.map((r) => r.body.toString().split(' ')[0]),
      Array.from({ length: n }, (_, i) => `/${i}`));
  });

  it('answer as node:http does after their prototypes are swapped: headers, write, end', async function () {
    const ports = await startBoth(swapped((req, res) => {
      res.setHeader('X-Seen', JSON.stringify(req.headers));
      res.setHeader('X-Distinct', JSON.stringify(req.headersDistinct));
      if (req.url === '/chunked') {
        res.write('one ');
        res.end('two');
      } else {
        res.end('done');
      }
    }));
    await same(ports, { path: '/', headers: { host: 'example.test', 'x-a': '1', 'x-b': '2' } });
    await same(ports, { path: '/chunked', headers: { host: 'example.test' } });
  });

  it('serve pipelined requests in order after a swap', async function () {
    const { port } = await startServer(swapped((req, res) => {
      setTimeout(() => res.end(req.url), req.url === '/a' ? 30 : 0);
    }));
    const { client, responses } = await rawRequest(port,
      'GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\nGET /c HTTP/1.1\r\nHost: x\r\n\r\n', 3);
    client.destroy();
    assert.deepEqual(responses.map((r) => r.body.toString()), ['/a', '/b', '/c']);
  });

  it("reads a body after a swap", async function () {
    const ports = await startBoth(swapped((req, res) => {
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => res.end(`${Buffer.concat(chunks).length} ${req.complete}`));
    }));
    const { body } = await same(ports, { method: 'POST', path: '/' }, Buffer.alloc(200000, 1));
    assert.equal(body.toString(), '200000 true');
  });

  it('removeHeader() of Content-Length stops the automatic one, as on node:http', async function () {
    const ports = await startBoth((req, res) => {
      res.removeHeader('Content-Length');
      res.end('hello');
    });
    const { headers } = await same(ports, { path: '/' });
    assert.equal(headers['content-length'], undefined);
  });

  it('writeHead() returns res; the header methods are node:http\'s', async function () {
    const ports = await startBoth((req, res) => {
      res.setHeaders(new Map([['X-One', '1'], ['X-Two', '2']]));
      res.appendHeader('X-Two', '3');
      res.setHeader('X-Names', `${res.getHeaderNames()} ${res.getRawHeaderNames()}`);
      assert.equal(res.writeHead(200, { 'Content-Type': 'text/plain' }), res);
      res.end('ok');
    });
    await same(ports, { path: '/' });
  });

  it('end() goes through a wrapped writeHead() (on-headers)', async function () {
    const ports = await startBoth((req, res) => {
      const writeHead = res.writeHead;
      res.writeHead = function (...args) {
        this.setHeader('X-Wrapped', 'yes');
        return writeHead.apply(this, args);
      };
      res.end('ok');
    });
    const { headers } = await same(ports, { path: '/' });
    assert.equal(headers['x-wrapped'], 'yes');
  });

  it('res.destroy() closes the connection', async function () {
    const { port } = await startServer((req, res) => res.destroy());
    await assert.rejects(request(port), { code: 'ECONNRESET' });
  });
});

describe('the node:http response surface', function () {
  afterEach(cleanup);

  it('addTrailers() on a chunked response, statusMessage defaults', async function () {
    let message;
    const ports = await startBoth((req, res) => {
      res.setHeader('Trailer', 'X-Sum');
      res.write('part ');
      message = res.statusMessage;
      res.addTrailers({ 'X-Sum': '42' });
      res.end('last');
    });
    const { res } = await same(ports, { path: '/' });
    assert.equal(message, 'OK');
    assert.deepEqual(res.trailers, { 'x-sum': '42' });
  });

  it('writeEarlyHints() sends a 103 before the response', async function () {
    const { port } = await startServer((req, res) => {
      res.writeEarlyHints({ link: '</style.css>; rel=preload; as=style' });
      res.end('ok');
    });
    const { client, responses } = await rawRequest(port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n', 2);
    client.destroy();
    assert.deepEqual(responses.map((r) => r.statusCode), [103, 200]);
  });

  it('strictContentLength: a body of another size than Content-Length throws, as on node:http', async function () {
    const errors = [];
    const ports = await startBoth((req, res) => {
      res.strictContentLength = true;
      res.setHeader('Content-Length', '10');
      try {
        res.end('short');
      } catch (err) {
        errors.push(err.code);
        res.destroy();
      }
    });
    await assert.rejects(request(ports.nodePort), { code: 'ECONNRESET' });
    await assert.rejects(request(ports.port), { code: 'ECONNRESET' });
    assert.deepEqual(errors, ['ERR_HTTP_CONTENT_LENGTH_MISMATCH', 'ERR_HTTP_CONTENT_LENGTH_MISMATCH']);
  });

  it("no 'finish' for a response ended after its connection closed", async function () {
    let finished = false;
    let done;
    const ended = new Promise((resolve) => (done = resolve));
    const { port } = await startServer((req, res) => {
      res.on('finish', () => (finished = true));
      req.socket.on('close', () => {
        res.end('late');
        setTimeout(done, 20);
      });
      req.socket.destroy();
    });
    await assert.rejects(request(port), { code: 'ECONNRESET' });
    await ended;
    assert.equal(finished, false);
  });
});

describe('backpressure after a prototype swap', function () {
  afterEach(cleanup);

  it("node:http's res.write() returns false past the high-water mark, and 'drain' follows", async function () {
    let falses = 0;
    let drains = 0;
    const chunk = Buffer.alloc(64 * 1024, 'x');
    const { port } = await startServer(swapped((req, res) => {
      let left = 64; // 4 MiB: more than the socket buffers hold
      const more = () => {
        while (left > 0) {
          left--;
          if (!res.write(chunk)) {
            falses++;
            res.once('drain', () => {
              drains++;
              more();
            });
            return;
          }
        }
        res.end();
      };
      more();
    }));
    const { body } = await request(port);
    assert.equal(body.length, 64 * chunk.length);
    assert.ok(falses > 0, 'write() returned false');
    assert.equal(drains, falses);
  });
});
