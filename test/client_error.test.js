'use strict';

// 'clientError', as node:http emits it (issue 13): a request that cannot
// be parsed, or whose head times out, goes to the listener with node:http's
// error (code, reason, rawPacket, bytesParsed) and the connection, which
// stays open until the listener answers on it or destroys it. Without a
// listener the server answers by itself: 400 (431 past maxHeaderSize, 408
// on a headers timeout) and close. The same cases run on node:http, whose
// error codes the io_uring backend's must match.

const assert = require('node:assert/strict');
const http = require('node:http');
const {
  HOST, BACKEND, startServer, trackServer, listening, cleanup, RawClient, delay,
} = require('./helpers');

const OK = 'GET /ok HTTP/1.1\r\nHost: x\r\n\r\n';
// Malformed requests llhttp 8.1 (the ring thread's) and llhttp 9
// (node:http's) name alike.
const MALFORMED = [
  ['an unknown method', 'FROB / HTTP/1.1\r\nHost: x\r\n\r\n', 'HPE_INVALID_METHOD'],
  ['a bad version', 'GET / HTTP/x.1\r\nHost: x\r\n\r\n', 'HPE_INVALID_VERSION'],
  ['a bad Content-Length', 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1x\r\n\r\n', 'HPE_INVALID_CONTENT_LENGTH'],
  ['a bad chunk size', 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n', 'HPE_INVALID_CHUNK_SIZE'],
];

// The node:http server that runs the same case, for its codes.
async function nodeServer(handler, options = {}) {
  const server = trackServer(http.createServer(options, handler));
  await listening(server, 0, HOST);
  return { server, port: server.address().port };
}

// Sends bytes on a connection of their own; resolves { err, socket,
// client } once the server's 'clientError' listener is called.
async function provoke(server, port, bytes, answer) {
  const heard = new Promise((resolve) => {
    server.once('clientError', (err, socket) => {
      answer?.(err, socket);
      resolve({ err, socket });
    });
  });
  const client = await RawClient.connect(port);
  client.write(bytes);
  return { ...(await heard), client };
}

describe("'clientError'", function () {
  afterEach(cleanup);

  it('answers 400 and closes without a listener, 431 past maxHeaderSize', async function () {
    const { port } = await startServer((req, res) => res.end('ok'), { maxHeaderSize: 1024 });
    let client = await RawClient.connect(port);
    client.write('FROB / HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.equal((await client.readResponse()).statusCode, 400);
    assert.ok(await client.closedWithin(2000));
    client = await RawClient.connect(port);
    client.write(`GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(2000)}\r\n\r\n`);
    const big = await client.readResponse();
    assert.equal(big.statusCode, 431);
    assert.equal(big.headers.connection, 'close');
  });

  it("names the errors as node:http does, with the input as err.rawPacket", async function () {
    const { server, port } = await startServer((req, res) => res.end('ok'));
    const reference = await nodeServer((req, res) => res.end('ok'));
    for (const [what, bytes, code] of MALFORMED) {
      for (const [name, s] of [['node-uring', { server, port }], ['node:http', reference]]) {
        const { err, socket } = await provoke(s.server, s.port, bytes, (e, sock) => sock.destroy());
        assert.equal(err.code, code, `${what} on ${name}`);
        assert.match(err.message, /^Parse Error: /, `${what} on ${name}`);
        assert.equal(typeof err.reason, 'string');
        assert.ok(Buffer.isBuffer(err.rawPacket), `${what} on ${name}: rawPacket`);
        assert.equal(err.rawPacket.toString('latin1'), bytes, `${what} on ${name}: rawPacket`);
        assert.ok(err.bytesParsed >= 0 && err.bytesParsed <= bytes.length);
        assert.equal(typeof socket.destroy, 'function');
      }
    }
  });

  it('names a head past maxHeaderSize HPE_HEADER_OVERFLOW', async function () {
    const bytes = `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(2000)}\r\n\r\n`;
    const { server, port } = await startServer((req, res) => res.end('ok'), { maxHeaderSize: 1024 });
    const { err } = await provoke(server, port, bytes, (e, socket) => socket.destroy());
    assert.equal(err.code, 'HPE_HEADER_OVERFLOW');
  });

  it('lets the listener answer on the socket; end() closes once it is sent', async function () {
    const { server, port } = await startServer((req, res) => res.end('ok'));
    const teapot = "HTTP/1.1 418 I'm a teapot\r\nContent-Length: 4\r\nConnection: close\r\n\r\ntea!";
    const { client, socket } = await provoke(server, port, 'FROB / HTTP/1.1\r\n\r\n', (err, sock) => {
      assert.equal(sock.writable, true);
      sock.end(teapot);
    });
    const res = await client.readResponse();
    assert.equal(res.statusCode, 418);
    assert.equal(res.body.toString(), 'tea!');
    assert.ok(await client.closedWithin(2000), 'the connection closes');
    await new Promise((resolve) => (socket.destroyed ? resolve() : socket.once('close', resolve)));
  });

  it('keeps the connection open, unanswered, until the listener acts', async function () {
    const { server, port } = await startServer((req, res) => res.end('ok'));
    let held;
    const { client } = await provoke(server, port, 'FROB / HTTP/1.1\r\n\r\n', (err, socket) => {
      held = socket;
    });
    assert.equal(await client.closedWithin(300), false, 'nothing is answered meanwhile');
    assert.equal(client.buf.length, 0);
    held.write('HTTP/1.1 400 Bad Request\r\n');
    held.end('Content-Length: 0\r\nConnection: close\r\n\r\n');
    assert.equal((await client.readResponse()).statusCode, 400);
  });

  it('destroy() from the listener closes the connection without an answer', async function () {
    const { server, port } = await startServer((req, res) => res.end('ok'));
    const { client } = await provoke(server, port, 'FROB / HTTP/1.1\r\n\r\n', (err, socket) => socket.destroy());
    const rest = await client.waitEnd(2000);
    assert.equal(rest.length, 0);
  });

  // Fastify's default clientError handler does this (node:http's own
  // default too): what was written still goes, as a net.Socket's destroy()
  // lets the kernel send what was written.
  it('sends what the listener wrote before destroy(err)', async function () {
    const { server, port } = await startServer((req, res) => res.end('ok'));
    const { client } = await provoke(server, port, 'FROB / HTTP/1.1\r\n\r\n', (err, socket) => {
      socket.write('HTTP/1.1 400 Bad Request\r\nContent-Length: 3\r\nContent-Type: text/plain\r\n\r\nbad');
      socket.destroy(err);
    });
    const res = await client.readResponse();
    assert.equal(res.statusCode, 400);
    assert.equal(res.body.toString(), 'bad');
    assert.ok(await client.closedWithin(2000), 'the connection closes');
  });

  it('sends the responses owed before the malformed request first', async function () {
    // Answered at once: node:http writes a listener's bytes ahead of a
    // response still pending; the ring thread sends them after it.
    const { server, port } = await startServer((req, res) => res.end('ok'));
    const { client } = await provoke(server, port, `${OK}FROB / HTTP/1.1\r\n\r\n`, (err, socket) => {
      socket.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
    });
    const [first, second] = await client.readResponses(2);
    assert.equal(first.statusCode, 200);
    assert.equal(first.body.toString(), 'ok');
    assert.equal(second.statusCode, 400);
  });

  it('aborts the request whose body was malformed', async function () {
    let aborted;
    const gotRequest = new Promise((resolve) => {
      aborted = resolve;
    });
    const { server, port } = await startServer((req) => {
      req.on('close', () => aborted(req.complete));
    });
    const { client } = await provoke(server, port,
      'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nzz\r\n', (err, socket) => {
        assert.equal(err.code, 'HPE_INVALID_CHUNK_SIZE');
        socket.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
      });
    assert.equal(await gotRequest, false);
    assert.equal((await client.readResponse()).statusCode, 400);
  });

  it('is heard from a listener added after listen(), and not once it is removed', async function () {
    const { server, port } = await startServer((req, res) => res.end('ok'));
    const listener = (err, socket) => socket.end('HTTP/1.1 418 Teapot\r\nContent-Length: 0\r\n\r\n');
    server.on('clientError', listener);
    let client = await RawClient.connect(port);
    client.write('FROB / HTTP/1.1\r\n\r\n');
    assert.equal((await client.readResponse()).statusCode, 418);
    server.off('clientError', listener);
    await delay(20);
    client = await RawClient.connect(port);
    client.write('FROB / HTTP/1.1\r\n\r\n');
    assert.equal((await client.readResponse()).statusCode, 400);
  });

  it('hands a head that timed out to the listener as ERR_HTTP_REQUEST_TIMEOUT', async function () {
    // node:http checks its headers timeout every connectionsCheckingInterval.
    const options = { headersTimeout: 300, requestTimeout: 300, connectionsCheckingInterval: 100 };
    const { server, port } = await startServer((req, res) => res.end('ok'), options);
    const { err, client } = await provoke(server, port, 'GET / HTTP/1.1\r\nHost: x\r\n', (e, socket) => {
      socket.end('HTTP/1.1 408 Too Slow\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
    });
    assert.equal(err.code, 'ERR_HTTP_REQUEST_TIMEOUT');
    assert.equal(err.message, 'Request timeout');
    assert.equal((await client.readResponse()).statusMessage, 'Too Slow');
  });

  it('answers node:http\'s default when the listener is gone by the time the error arrives', async function () {
    if (BACKEND === 'node') this.skip(); // node:http decides at once
    const { server, port } = await startServer((req, res) => res.end('ok'));
    // Listening, then not, with no turn of the ring thread in between
    // guaranteed: both outcomes must be node:http's 400 and close.
    const listener = () => {};
    server.on('clientError', listener);
    const client = await RawClient.connect(port);
    client.write('FROB / HTTP/1.1\r\n\r\n');
    server.off('clientError', listener);
    const res = await client.readResponse();
    assert.equal(res.statusCode, 400);
    assert.ok(await client.closedWithin(2000));
  });
});
