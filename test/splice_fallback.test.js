'use strict';

// Static files that cannot be spliced (issue 17). Past the user's pipe
// quota: a large file is
// spliced through a pipe of 1 MiB, and a non-root user's pipes share a
// quota (fs.pipe-user-pages-soft, 64 MiB by default) past which the kernel
// refuses that size and gives a new pipe 64 KiB, then two pages. The ring
// thread then reads the file instead (nu__conn_read_file() in
// src/http/loop.c): the connections past the quota hold no pipe, and every
// byte still arrives.
// The server runs as `nobody` in a child, since root has no quota.
// A file system without splice_read: the kernel refuses the first splice
// with EINVAL and the file is read instead. No regular file on the test
// machine is such (kernel 6.18: /proc and /sys checked), so a test build
// (npm run test:asan) makes the kernel refuse it (NU_TEST_NO_SPLICE).

const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const net = require('node:net');
const path = require('node:path');
const { spawn } = require('node:child_process');
const native = require('../lib/native.js');
const {
  skipOnNodeBackend, createServer, trackServer, listening, cleanup, request, parseResponse, HOST,
} = require('./helpers');

const NOBODY = 65534;
const FILE_SIZE = 8 * 1024 * 1024; // more than loopback's socket buffers hold

const CHILD = `
const fs = require('node:fs');
const { createServer } = require(process.env.PKG);
const pipes = () => fs.readdirSync('/proc/self/fd').filter((fd) => {
  try { return fs.readlinkSync('/proc/self/fd/' + fd).startsWith('pipe:'); } catch { return false; }
}).length;
const server = createServer({ backend: 'uring' }, (req, res) => res.end());
server.static('/s', process.env.ROOT);
server.listen(0, process.env.HOST, () => process.send({ port: server.address().port, pipes: pipes() }));
process.on('message', () => process.send({ pipes: pipes() }));
`;

function startChild(root) {
  const child = spawn(process.execPath, ['-e', CHILD], {
    uid: NOBODY, gid: NOBODY, stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, PKG: path.join(__dirname, '..'), ROOT: root, HOST },
  });
  return new Promise((resolve, reject) => {
    child.once('message', (m) => resolve({ child, ...m }));
    child.once('exit', (code) => reject(new Error(`the server exited (${code})`)));
  });
}

const ask = (child) => new Promise((resolve) => {
  child.once('message', (m) => resolve(m.pipes));
  child.send('pipes');
});

describe('static files past the pipe quota', function () {
  this.timeout(60000);
  let dir;
  let child;

  before(function () {
    skipOnNodeBackend(this, 'node:http sends files through its own streams');
    if (process.getuid() !== 0) this.skip(); // cannot run a server as nobody
  });

  afterEach(() => {
    if (child) child.kill('SIGKILL');
    child = undefined;
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('reads the files it cannot splice through a full-size pipe, byte for byte', async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nu-quota-'));
    fs.chmodSync(dir, 0o755);
    const body = crypto.randomBytes(FILE_SIZE);
    fs.writeFileSync(path.join(dir, 'big.bin'), body, { mode: 0o644 });
    const started = await startChild(dir);
    child = started.child;
    // 1 MiB pipes under the quota, and 16 connections past it.
    const soft = Number(fs.readFileSync('/proc/sys/fs/pipe-user-pages-soft', 'utf8'));
    assert.ok(soft > 0, 'no pipe quota on this machine');
    const underQuota = Math.floor(soft / 256);
    const n = underQuota + 16;
    const clients = [];
    for (let i = 0; i < n; i++) clients.push(await stalledDownload(started.port, '/s/big.bin'));
    // Until every connection has begun its body and stalled.
    let held = -1;
    for (let last = -2, deadline = Date.now() + 10000; held !== last && Date.now() < deadline;) {
      last = held;
      await new Promise((r) => setTimeout(r, 300));
      held = (await ask(child)) - started.pipes;
    }
    // Two fds a pipe. Without the fallback every connection holds one.
    assert.ok(held <= 2 * underQuota, `${held / 2} pipes held by ${n} stalled downloads`);
    const responses = await Promise.all(clients.map((c) => c.finish()));
    for (const response of responses) {
      assert.equal(response.statusCode, 200);
      assert.ok(response.body.equals(body), 'the body differs from the file');
    }
  });
});

// Sends a GET for target on a connection that reads nothing until
// finish(), which resolves the whole response (its chunks are kept as
// they come and joined once: 80 responses of 8 MiB).
async function stalledDownload(port, target) {
  const socket = net.connect({ port, host: HOST });
  await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  socket.pause();
  socket.write(`GET ${target} HTTP/1.1\r\nHost: x\r\n\r\n`);
  const finish = () => new Promise((resolve, reject) => {
    const chunks = [];
    let got = 0;
    const done = () => {
      const buf = Buffer.concat(chunks);
      const parsed = parseResponse(buf);
      if (!parsed) return false;
      socket.destroy();
      resolve(parsed.response);
      return true;
    };
    socket.on('data', (d) => {
      chunks.push(d);
      got += d.length;
      if (got >= FILE_SIZE) done();
    });
    socket.once('end', () => done() || reject(new Error(`the connection closed after ${got} bytes`)));
    socket.once('error', reject);
    socket.resume();
  });
  return { finish };
}

describe('static files on a file system without splice', function () {
  let dir;

  before(function () {
    skipOnNodeBackend(this, 'node:http sends files through its own streams');
    if (!native.testHooks) this.skip(); // only a test build can refuse splice
  });

  afterEach(async () => {
    await cleanup();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('reads a file whose first splice the kernel refuses (EINVAL), whole and in ranges', async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nu-nosplice-'));
    const body = crypto.randomBytes(3 * 1024 * 1024 + 7);
    fs.writeFileSync(path.join(dir, 'big.bin'), body);
    const server = trackServer(createServer((req, res) => res.end('handler')));
    server.static('/s', dir);
    process.env.NU_TEST_NO_SPLICE = '1'; // read by the ring thread as it starts
    try {
      await listening(server, 0, HOST);
    } finally {
      delete process.env.NU_TEST_NO_SPLICE;
    }
    const { port } = server.address();
    const agent = new (require('node:http').Agent)({ keepAlive: true });
    for (let i = 0; i < 2; i++) { // and again on the same connection
      const whole = await request(port, { path: '/s/big.bin', agent });
      assert.equal(whole.res.statusCode, 200);
      assert.ok(whole.body.equals(body), 'the body differs from the file');
    }
    const range = await request(port, { path: '/s/big.bin', agent, headers: { range: 'bytes=100000-2100006' } });
    assert.equal(range.res.statusCode, 206);
    assert.ok(range.body.equals(body.subarray(100000, 2100007)), 'the range differs from the file');
    agent.destroy();
  });
});
