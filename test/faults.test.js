'use strict';

// Misbehaving clients and faults: a handler that throws, resets in the
// middle of a response, half-closed clients, 10,000 connections at once,
// running out of file descriptors (EMFILE) and of receive buffers
// (ENOBUFS). The server answers what it can and never crashes or spins.

const assert = require('node:assert/strict');
const net = require('node:net');
const path = require('node:path');
const { spawn } = require('node:child_process');
const {
  BACKEND, skipOnNodeBackend, startServer, cleanup, RawClient, rawRequest, delay, HOST,
} = require('./helpers');
const { withFds, openIdle, ask } = require('../bench/lib/idle');

const packageDir = path.join(__dirname, '..');

const connections = (server) => new Promise((resolve, reject) => {
  server.getConnections((err, n) => (err ? reject(err) : resolve(n)));
});

async function until(check, what, ms = 5000) {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await delay(20);
  }
}

// Runs script with node in a child (stdio piped, an IPC channel), under
// `ulimit -n fds` when given. Resolves the child once it sends 'ready'.
function child(script, { fds } = {}) {
  const args = ['-e', script];
  const proc = fds
    ? spawn('sh', ['-c', `ulimit -n ${fds} && exec "$0" "$@"`, process.execPath, ...args],
      { stdio: ['ignore', 'pipe', 'pipe', 'ipc'], env: { ...process.env, PKG: packageDir } })
    : spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe', 'ipc'], env: { ...process.env, PKG: packageDir } });
  proc.output = '';
  proc.stdout.on('data', (d) => (proc.output += d));
  proc.stderr.on('data', (d) => (proc.output += d));
  return new Promise((resolve, reject) => {
    proc.once('message', (msg) => resolve({ proc, ...msg }));
    proc.once('exit', (code) => reject(new Error(`child exited (${code}): ${proc.output}`)));
  });
}

function cpuMs(pid) {
  const stat = require('node:fs').readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10; // ticks of 10 ms
}

describe('faults', () => {
  afterEach(cleanup);

  it('hands a handler\'s exception to uncaughtException and serves on', async () => {
    const { proc, port } = await child(`
      const { createServer } = require(process.env.PKG);
      process.on('uncaughtException', (err) => console.log('uncaught:', err.message));
      const server = createServer({ backend: ${JSON.stringify(BACKEND ?? 'auto')} }, (req, res) => {
        if (req.url === '/throw') throw new Error('boom');
        res.end('fine');
      });
      server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
    `);
    try {
      const thrower = await RawClient.connect(port);
      // The throwing request and a good one in the same read: the second is
      // still dispatched and answered... after the first, which never is.
      thrower.write('GET /throw HTTP/1.1\r\nHost: x\r\n\r\n');
      await until(() => proc.output.includes('uncaught: boom'), 'the uncaught exception');
      const { responses: [ok] } = await rawRequest(port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n');
      assert.equal(ok.body.toString(), 'fine');
      thrower.destroy();
    } finally {
      proc.kill();
    }
  });

  it('survives a client that resets in the middle of a large response', async () => {
    let closed = 0;
    const { server, port } = await startServer((req, res) => {
      if (req.url !== '/big') return res.end('small');
      res.on('close', () => closed++);
      const chunk = Buffer.alloc(1 << 20, 'z');
      let n = 0;
      const pump = () => {
        while (n < 64 && !res.destroyed) {
          n++;
          if (!res.write(chunk)) return res.once('drain', pump);
        }
        res.end();
      };
      pump();
    });
    const socket = net.connect(port, HOST);
    socket.write('GET /big HTTP/1.1\r\nHost: x\r\n\r\n');
    let got = 0;
    await new Promise((resolve) => socket.on('data', (d) => {
      got += d.length;
      if (got > 256 * 1024) resolve();
    }));
    socket.resetAndDestroy();
    await until(async () => closed === 1 && (await connections(server)) === 0, 'the reset connection to go');
    const { responses: [ok] } = await rawRequest(port, 'GET /small HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    assert.equal(ok.statusCode, 200);
  });

  // As node:http (20): a FIN is a client that went away, even after a
  // whole request; the response not ready by then is aborted, and the
  // connection closes (test/disconnect.test.js has the events).
  it('closes, unanswered, a client that half-closes before its response is ready', async () => {
    let closed;
    const aborted = new Promise((resolve) => { closed = resolve; });
    const { port } = await startServer((req, res) => {
      res.on('close', () => closed(!res.writableEnded));
      setTimeout(() => res.end('late'), 50);
    });
    const socket = net.connect({ port, host: HOST, allowHalfOpen: true });
    socket.end('GET / HTTP/1.1\r\nHost: x\r\n\r\n'); // request, then FIN
    let text = '';
    socket.on('data', (d) => (text += d));
    await new Promise((resolve) => socket.on('end', resolve));
    assert.equal(text, '');
    assert.ok(await aborted);
    socket.destroy();
  });

  it('holds 10,000 connections at once and lets them all go', async function () {
    this.timeout(60000);
    const fork = withFds(10000);
    if (fork.skip) this.skip();
    const { server, port } = await startServer((req, res) => res.end('ok'), { keepAliveTimeout: 0 });
    const client = await openIdle(port, 10000, { forkOptions: fork });
    try {
      assert.equal(client.failed, 0, client.error);
      assert.equal((await ask(client.child, 'count')).open, 10000);
      assert.equal(await connections(server), 10000);
    } finally {
      client.child.kill('SIGKILL');
    }
    await until(async () => (await connections(server)) === 0, 'every connection to close', 20000);
  });

  it('keeps serving through EMFILE on accept, without spinning, and accepts again after', async function () {
    this.timeout(30000);
    skipOnNodeBackend(this, 'node:http\'s accept loop is libuv\'s');
    // 64 descriptors: node's own, the ring's, then room for a few dozen
    // connections before accept fails with EMFILE.
    const { proc, port } = await child(`
      const { createServer } = require(process.env.PKG);
      const server = createServer({ backend: 'uring' }, (req, res) => res.end('ok'));
      server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
    `, { fds: 64 });
    const sockets = [];
    try {
      const first = await RawClient.connect(port);
      first.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
      assert.equal((await first.readResponse()).statusCode, 200);
      // 200 more connections: the kernel completes their handshakes (the
      // backlog), the server can accept only some of them.
      for (let i = 0; i < 200; i++) sockets.push(net.connect(port, HOST).on('error', () => {}));
      await delay(500);
      const before = cpuMs(proc.pid);
      await delay(1000);
      const busy = cpuMs(proc.pid) - before;
      assert.ok(busy < 300, `the server used ${busy} ms of CPU in 1 s of EMFILE`);
      // A connection accepted before the fds ran out is still served.
      first.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
      assert.equal((await first.readResponse()).statusCode, 200);
      // Fds come back: the connections waiting in the backlog are accepted.
      for (const s of sockets.splice(0)) s.destroy();
      await delay(300);
      const { responses: [later] } = await rawRequest(port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n', 1, { timeoutMs: 5000 });
      assert.equal(later.statusCode, 200);
      first.destroy();
    } finally {
      for (const s of sockets) s.destroy();
      proc.kill();
    }
  });

  for (const [what, options] of [
    ['more than its receive buffers', {}],
    ['and overflow a completion queue of 32', { ringEntries: 8 }],
  ]) {
    it(`loses no request when 3,000 bodies arrive at once (${what})`, async function () {
      this.timeout(30000);
      if (options.ringEntries) skipOnNodeBackend(this, 'node:http has no ring');
      await burst(options);
    });
  }

  async function burst(options) {
    const { port } = await startServer((req, res) => {
      let n = 0;
      req.on('data', (d) => (n += d.length));
      req.on('end', () => res.end(String(n)));
    }, options);
    const body = Buffer.alloc(8000, 'b');
    const head = `POST / HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`;
    const sockets = await Promise.all(Array.from({ length: 3000 }, () => new Promise((resolve, reject) => {
      const s = net.connect(port, HOST, () => resolve(s));
      s.on('error', reject);
    })));
    // Every request in one burst: each takes a receive buffer at once.
    const answers = sockets.map((s) => new Promise((resolve) => {
      let text = '';
      s.on('data', (d) => (text += d));
      s.on('close', () => resolve(text));
    }));
    for (const s of sockets) s.write(head + body.toString('latin1'));
    const texts = await Promise.all(answers);
    const bad = texts.filter((t) => !t.endsWith('\r\n\r\n8000'));
    assert.equal(bad.length, 0, `${bad.length} wrong answers, first: ${JSON.stringify(bad[0])}`);
  }
});
