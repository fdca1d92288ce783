'use strict';

// Edge cases found in review: teardown with a live server, oversized
// chunks, framing of bodiless responses, closing with work in flight.

const assert = require('node:assert/strict');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const { Worker } = require('node:worker_threads');
const {
  serverOptions, skipOnNodeBackend, startServer, closeServer, cleanup, request, RawClient, delay, HOST,
} = require('./helpers');

const packageDir = path.join(__dirname, '..');

describe('robustness', () => {
  afterEach(cleanup);

  it('survives terminating workers whose servers are live', async function () {
    this.timeout(30000);
    const threads = () => fs.readdirSync('/proc/self/task').length;
    const fds = () => fs.readdirSync('/proc/self/fd').length;
    const before = { threads: threads(), fds: fds() };
    const source = `
      const { parentPort } = require('node:worker_threads');
      const { createServer } = require(${JSON.stringify(packageDir)});
      const server = createServer(${JSON.stringify(serverOptions())}, (req, res) => res.end('from a worker'));
      server.listen(0, '127.0.0.1', () => parentPort.postMessage(server.address().port));
    `;
    for (let i = 0; i < 10; i++) {
      const worker = new Worker(source, { eval: true });
      const port = await new Promise((resolve, reject) => {
        worker.once('message', resolve);
        worker.once('error', reject);
      });
      const { body } = await request(port);
      assert.equal(body.toString(), 'from a worker');
      if (i % 2) {
        // A keep-alive connection left open must not stop the teardown.
        const client = await RawClient.connect(port);
        client.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
        await client.readResponse();
      }
      await worker.terminate();
    }
    await delay(100);
    assert.ok(threads() <= before.threads + 1, `threads ${before.threads} -> ${threads()}`);
    assert.ok(fds() <= before.fds + 2, `fds ${before.fds} -> ${fds()}`);
  });

  it('refuses a response chunk over 4 GiB with a RangeError, then answers', async function () {
    skipOnNodeBackend(this, 'the 4 GiB limit is the native send path\'s; node:http takes any Buffer');
    const errors = [];
    const { port } = await startServer((req, res) => {
      try {
        // Untouched pages: allocating this costs address space, not memory.
        res.end(Buffer.allocUnsafe(2 ** 32));
      } catch (err) {
        errors.push(err);
      }
      res.statusCode = 500;
      res.end('too big');
    });
    const { res, body } = await request(port);
    assert.equal(errors.length, 1);
    assert.equal(errors[0].code, 'ERR_OUT_OF_RANGE');
    assert.equal(res.statusCode, 500);
    assert.equal(body.toString(), 'too big');
  });

  it('sends no body, not even a last chunk, for HEAD with Transfer-Encoding set', async () => {
    const { port } = await startServer((req, res) => {
      res.setHeader('Transfer-Encoding', 'chunked');
      res.end(req.method === 'HEAD' ? 'ignored' : 'second');
    });
    const client = await RawClient.connect(port);
    client.write('HEAD / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n');
    const head = await client.readResponse({ head: true });
    assert.equal(head.statusCode, 200);
    // A stray "0\r\n\r\n" after the HEAD response would break this one.
    const get = await client.readResponse();
    assert.equal(get.statusCode, 200);
    assert.equal(get.body.toString(), 'second');
  });

  it('rejects a statusMessage property that would split the response', async () => {
    let error;
    const { port } = await startServer((req, res) => {
      res.statusMessage = 'OK\r\nSet-Cookie: evil=1';
      try {
        res.end('x');
      } catch (err) {
        error = err;
        res.statusMessage = undefined;
        res.end('safe');
      }
    });
    const { res, body } = await request(port);
    assert.equal(error && error.code, 'ERR_INVALID_CHAR');
    assert.equal(res.headers['set-cookie'], undefined);
    assert.equal(body.toString(), 'safe');
  });

  // Draining, once the body is in; as node:http, once idle past
  // keepAliveTimeout after it (node:http waits a second more).
  for (const options of [{ drainOnClose: true }, { keepAliveTimeout: 300 }]) {
    it(`closes once a request answered before its body arrived is complete (${JSON.stringify(options)})`, async () => {
      const { server, port } = await startServer((req, res) => res.end('early'), options);
      const client = await RawClient.connect(port);
      client.write('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n');
      await client.readResponse();
      const closed = closeServer(server, 2500);
      await delay(100);
      client.write('0123456789');
      await closed;
      await client.waitEnd(1000);
    });
  }

  it('sends nothing after a response that closes the connection', async () => {
    const { port } = await startServer((req, res) => {
      if (req.url === '/0') res.setHeader('Connection', 'close');
      res.end(`answer ${req.url}`);
    });
    const client = await RawClient.connect(port);
    client.write('GET /0 HTTP/1.1\r\nHost: x\r\n\r\nGET /1 HTTP/1.1\r\nHost: x\r\n\r\n');
    const rest = await client.waitEnd(2000);
    assert.doesNotMatch(rest.toString(), /answer \/1/);
    assert.match(rest.toString(), /answer \/0$/);
  });

  it('lets the port go at close() while a request is still in flight', async () => {
    let finish;
    const { server, port } = await startServer((req, res) => {
      finish = () => res.end('late');
    });
    const pending = request(port);
    while (!finish) await delay(5);
    const closed = closeServer(server);
    await delay(100);
    const other = net.createServer().listen(port, HOST);
    await new Promise((resolve, reject) => {
      other.once('listening', resolve);
      other.once('error', reject);
    });
    other.close();
    finish();
    assert.equal((await pending).body.toString(), 'late');
    await closed;
  });
});
