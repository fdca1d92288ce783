'use strict';

// Static files past the user's pipe quota (issue 17): a large file is
// spliced through a pipe of 1 MiB, and a non-root user's pipes share a
// quota (fs.pipe-user-pages-soft, 64 MiB by default) past which the kernel
// refuses that size and gives a new pipe 64 KiB, then two pages. The ring
// thread then reads the file instead (nu__conn_read_file() in
// src/http/loop.c): the connections past the quota hold no pipe, and every
// byte still arrives.
// The server runs as `nobody` in a child, since root has no quota.

const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { skipOnNodeBackend, RawClient, parseResponse, HOST } = require('./helpers');

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
    for (let i = 0; i < n; i++) {
      const client = await RawClient.connect(started.port);
      client.socket.pause(); // not read: its response holds its pipe
      client.write('GET /s/big.bin HTTP/1.1\r\nHost: x\r\n\r\n');
      clients.push(client);
    }
    // Until every connection has begun its body and stalled.
    let held = -1;
    for (let last = -2, deadline = Date.now() + 10000; held !== last && Date.now() < deadline;) {
      last = held;
      await new Promise((r) => setTimeout(r, 300));
      held = (await ask(child)) - started.pipes;
    }
    // Two fds a pipe. Without the fallback every connection holds one.
    assert.ok(held <= 2 * underQuota, `${held / 2} pipes held by ${n} stalled downloads`);
    for (const client of clients) client.socket.resume();
    await Promise.all(clients.map(async (client) => {
      const { response } = await client.until(() => parseResponse(client.buf) || undefined, 'the whole response', 30000);
      assert.equal(response.statusCode, 200);
      assert.ok(response.body.equals(body), 'the body differs from the file');
      client.destroy();
    }));
  });
});
