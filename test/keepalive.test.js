'use strict';

// Connection persistence: HTTP/1.1 keep-alive by default, `Connection: close`
// from either side, HTTP/1.0 closing unless it asks for keep-alive.

const assert = require('node:assert/strict');
const net = require('node:net');
const { skipOnNodeBackend, startServer, cleanup, RawClient } = require('./helpers');

const IDLE_MS = 150; // how long a socket must stay open to count as kept alive

describe('keep-alive and Connection: close', () => {
  let port;
  beforeEach(async () => {
    ({ port } = await startServer((req, res) => {
      if (req.url === '/server-closes') res.setHeader('Connection', 'close');
      if (req.url === '/explicit-length') res.setHeader('Content-Length', Buffer.byteLength(`got ${req.url}`));
      if (req.url === '/streamed') {
        res.write('part1,');
        res.end('part2');
        return;
      }
      res.end(`got ${req.url}`);
    }));
  });
  afterEach(cleanup);

  it('keeps an HTTP/1.1 connection open by default', async () => {
    const client = await RawClient.connect(port);
    client.write('GET /1 HTTP/1.1\r\nHost: x\r\n\r\n');
    const first = await client.readResponse();
    assert.equal(first.statusCode, 200);
    assert.notEqual(first.headers.connection, 'close');
    assert.equal(await client.closedWithin(IDLE_MS), false, 'server closed a keep-alive connection');
    client.write('GET /2 HTTP/1.1\r\nHost: x\r\n\r\n');
    const second = await client.readResponse();
    assert.equal(second.body.toString(), 'got /2');
  });

  it('honours Connection: close from the client', async () => {
    const client = await RawClient.connect(port);
    client.write('GET /bye HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    const res = await client.readResponse();
    assert.equal(res.statusCode, 200);
    assert.equal(res.body.toString(), 'got /bye');
    assert.equal(res.headers.connection, 'close');
    const rest = await client.waitEnd(2000);
    assert.equal(rest.length, 0, 'bytes after the response');
  });

  it('does not answer requests pipelined after Connection: close', async () => {
    const client = await RawClient.connect(port);
    client.write(
      'GET /last HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' +
      'GET /ignored HTTP/1.1\r\nHost: x\r\n\r\n',
    );
    const res = await client.readResponse();
    assert.equal(res.body.toString(), 'got /last');
    const rest = await client.waitEnd(2000);
    assert.equal(rest.toString(), '', 'a request after Connection: close was answered');
  });

  it('closes after a response the handler marked Connection: close', async () => {
    const client = await RawClient.connect(port);
    client.write('GET /server-closes HTTP/1.1\r\nHost: x\r\n\r\n');
    const res = await client.readResponse();
    assert.equal(res.headers.connection, 'close');
    await client.waitEnd(2000);
  });

  it('a response the handler marked Connection: close reaches a client that pipelined more, which sees an end, not a reset', async () => {
    // The requests after it are not answered, so the connection closes
    // with input unread: closed as is, the kernel would reset it and throw
    // away the response still in its send buffer.
    for (let round = 0; round < 3; round++) {
      const socket = net.connect(port, '127.0.0.1');
      await new Promise((resolve) => socket.once('connect', resolve));
      let bytes = Buffer.alloc(0);
      let error = null;
      socket.on('data', (d) => (bytes = Buffer.concat([bytes, d])));
      socket.on('error', (err) => (error = err));
      const closed = new Promise((resolve) => socket.once('close', resolve));
      const more = `GET /more HTTP/1.1\r\nHost: x\r\nX-Pad: ${'p'.repeat(1000)}\r\n\r\n`.repeat(2000);
      socket.write(`GET /server-closes HTTP/1.1\r\nHost: x\r\n\r\n${more}`);
      await closed;
      assert.equal(error, null, `the client saw ${error?.code}`);
      assert.match(bytes.toString('latin1'), /^HTTP\/1\.1 200 OK\r\n[^]*Connection: close\r\n[^]*\r\n\r\ngot \/server-closes$/);
    }
  });

  it('closes an HTTP/1.0 connection after the response', async () => {
    const client = await RawClient.connect(port);
    client.write('GET /old HTTP/1.0\r\nHost: x\r\n\r\n');
    const res = await client.readResponse();
    assert.equal(res.statusCode, 200);
    assert.equal(res.body.toString(), 'got /old');
    const rest = await client.waitEnd(2000);
    assert.equal(rest.length, 0);
  });

  // node:http keeps HTTP/1.0 alive only when the handler sets Content-Length
  // itself; a body given whole to end() has a known length too.
  for (const how of ['an explicit Content-Length', 'a body given to end()']) {
    it(`keeps an HTTP/1.0 connection with Connection: keep-alive open (${how})`, async function () {
      const path = how.startsWith('an explicit') ? '/explicit-length' : '/a';
      if (path === '/a') {
        skipOnNodeBackend(this, 'node:http closes HTTP/1.0 keep-alive unless the handler set Content-Length');
      }
      const client = await RawClient.connect(port);
      client.write(`GET ${path} HTTP/1.0\r\nHost: x\r\nConnection: keep-alive\r\n\r\n`);
      const first = await client.readResponse();
      assert.equal(first.body.toString(), `got ${path}`);
      assert.match(first.headers.connection || '', /keep-alive/i);
      assert.equal(await client.closedWithin(IDLE_MS), false, 'server closed a keep-alive HTTP/1.0 connection');
      client.write('GET /b HTTP/1.0\r\nHost: x\r\nConnection: keep-alive\r\n\r\n');
      const second = await client.readResponse();
      assert.equal(second.body.toString(), 'got /b');
    });
  }

  it('sends an HTTP/1.0 streamed body unchunked and closes to end it', async () => {
    const client = await RawClient.connect(port);
    client.write('GET /streamed HTTP/1.0\r\nHost: x\r\n\r\n');
    await client.waitEnd(2000);
    const res = await client.readResponse();
    assert.equal(res.chunked, false, 'HTTP/1.0 clients do not understand chunked encoding');
    assert.equal(res.body.toString(), 'part1,part2');
  });
});
