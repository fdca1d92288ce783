'use strict';

// Where the ring runs (options.ringThread): by default, with one ring, the
// JS thread drives it between its other events, as libuv drives its
// sockets, and no thread is started; with ringThread: true (and always
// with several rings) it runs on a thread of its own, which answers routes
// and static files while JS is busy. Both serve the same bytes.

const assert = require('node:assert/strict');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { Worker } = require('node:worker_threads');
const uring = require('..');
const {
  HOST, createServer, trackServer, listening, startServer, cleanup, request, RawClient, delay, withTimeout, threadsNamed, skipOnNodeBackend,
} = require('./helpers');

const packageDir = path.join(__dirname, '..');
const ringThreads = () => threadsNamed('nu-ring');

// curl must not inherit the ASan runtime that `npm run test:asan` preloads
// into node: it hangs under it.
const { LD_PRELOAD, ...curlEnv } = process.env;

// What curl says of one request, sent after `after` seconds: status, body
// and the seconds it took.
function curl(url, after) {
  return new Promise((resolve, reject) => {
    const script = `sleep ${after} && exec curl -s -m 10 -w '\n%{http_code} %{time_total}' "$0"`;
    const child = spawn('sh', ['-c', script, url], { env: curlEnv });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('close', () => {
      const [body, last] = [out.slice(0, out.lastIndexOf('\n')), out.slice(out.lastIndexOf('\n') + 1)];
      const [status, seconds] = last.split(' ');
      resolve({ status: Number(status), body, seconds: Number(seconds) });
    });
  });
}

// Blocks this thread for ms, as a long synchronous handler would.
function blockFor(ms) {
  const end = Date.now() + ms;
  while (Date.now() < end);
}

describe('ringThread', () => {
  afterEach(cleanup);

  it('defaults to false with one ring and true with more, and is checked', () => {
    assert.equal(uring.createServer().ringThread, false);
    assert.equal(uring.createServer({ rings: 2 }).ringThread, true);
    assert.equal(uring.createServer({ ringThread: true }).ringThread, true);
    for (const ringThread of [1, 'yes', null]) {
      assert.throws(() => uring.createServer({ ringThread }), { code: 'ERR_INVALID_ARG_TYPE', name: 'TypeError' });
    }
    assert.throws(() => uring.createServer({ rings: 2, ringThread: false }),
      { code: 'ERR_INVALID_ARG_VALUE', message: /ringThread.*2 rings/ });
  });

  for (const ringThread of [false, true]) {
    it(`serves the same responses with ringThread: ${ringThread}, on ${ringThread ? 'one ring thread' : 'no thread of its own'}`, async function () {
      skipOnNodeBackend(this, 'no ring');
      const before = ringThreads();
      const { server, port } = await startServer((req, res) => {
        res.setHeader('x-url', req.url);
        res.end(`hello ${req.method}`);
      }, { ringThread });
      assert.equal(ringThreads() - before, ringThread ? 1 : 0);
      const client = await RawClient.connect(port);
      client.write('GET /a HTTP/1.1\r\nHost: x\r\n\r\nPOST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi');
      const first = await client.readResponse();
      const second = await client.readResponse();
      assert.equal(first.headers['x-url'], '/a');
      assert.equal(first.body.toString(), 'hello GET');
      assert.equal(second.headers['x-url'], '/b');
      assert.equal(second.body.toString(), 'hello POST');
      client.destroy();
      await new Promise((resolve) => server.close(resolve));
      assert.equal(ringThreads(), before);
    });
  }

  // The one difference a user can see: with the JS thread blocked, a ring
  // thread still answers what needs no JS; a ring the JS thread drives
  // answers once it is free again.
  for (const ringThread of [false, true]) {
    it(`answers a route while JS is blocked only with ringThread: true (here ${ringThread})`, async function () {
      skipOnNodeBackend(this, 'routes are answered by JS there');
      this.timeout(10000);
      const server = trackServer(createServer({ ringThread }, (req, res) => res.end('js')));
      server.route('GET', '/health', { body: 'ok' });
      await listening(server, 0, HOST);
      const { port } = server.address();
      assert.equal((await request(port, { path: '/health' })).body.toString(), 'ok');
      // curl asks 0.3 s into the block, which lasts 1.2 s.
      const answer = curl(`http://${HOST}:${port}/health`, 0.3);
      blockFor(1200);
      const { status, body, seconds } = await answer;
      assert.equal(status, 200);
      assert.equal(body, 'ok');
      if (ringThread) assert.ok(seconds < 0.4, `answered after ${seconds} s, while JS was blocked`);
      else assert.ok(seconds >= 0.5, `answered after ${seconds} s, while JS was blocked`);
    });
  }

  it('lets the process exit once unref()ed, and keeps it alive otherwise', async function () {
    skipOnNodeBackend(this, 'no ring');
    const run = (unref) => new Promise((resolve) => {
      const script = `
        const { createServer } = require(${JSON.stringify(packageDir)});
        const server = createServer({ backend: 'uring' }, (req, res) => res.end());
        server.listen(0, '127.0.0.1', () => { ${unref ? 'server.unref();' : ''} console.log('up'); });
      `;
      const child = spawn(process.execPath, ['-e', script]);
      const timer = setTimeout(() => child.kill('SIGKILL'), 1500);
      child.on('exit', (code, signal) => {
        clearTimeout(timer);
        resolve(signal ?? code);
      });
    });
    assert.equal(await run(true), 0);
    assert.equal(await run(false), 'SIGKILL');
  });

  it('ends a worker thread cleanly that exits with connections open and a response pending', async function () {
    skipOnNodeBackend(this, 'no ring');
    this.timeout(15000);
    const source = `
      const { parentPort } = require('node:worker_threads');
      const { createServer } = require(${JSON.stringify(packageDir)});
      const server = createServer({ backend: 'uring' }, (req, res) => {
        if (req.url === '/hang') parentPort.postMessage('hanging'); else res.end('ok');
      });
      server.listen(0, '127.0.0.1', () => parentPort.postMessage(server.address().port));
    `;
    const worker = new Worker(source, { eval: true });
    const port = await new Promise((resolve) => worker.once('message', resolve));
    const idle = await RawClient.connect(port);
    idle.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.equal((await idle.readResponse()).body.toString(), 'ok');
    const hanging = await RawClient.connect(port);
    hanging.write('GET /hang HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.equal(await new Promise((resolve) => worker.once('message', resolve)), 'hanging');
    await withTimeout(worker.terminate(), 5000, 'the worker to end');
    // Both connections were closed as the worker went.
    for (const c of [idle, hanging]) assert.ok(await c.closedWithin(5000), 'a connection left open');
  });
});
