'use strict';

// More than one JS thread on one port: worker_threads and cluster, each
// with its own server and ring, sharing the port through SO_REUSEPORT.

const assert = require('node:assert/strict');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { Worker } = require('node:worker_threads');
const { spawn } = require('node:child_process');
const { skipOnNodeBackend, request, delay, HOST, threadsNamed } = require('./helpers');

const packageDir = path.join(__dirname, '..');

const ringThreads = () => threadsNamed('nu-');

// A free port on loopback, for servers that must all bind the same one.
function freePort() {
  return new Promise((resolve) => {
    const probe = net.createServer().listen(0, HOST, () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

// Who answers `count` fresh connections: the response bodies, counted.
async function answerers(port, count) {
  const seen = new Map();
  for (let i = 0; i < count; i++) {
    const { body } = await request(port, { headers: { Connection: 'close' } });
    const who = body.toString();
    seen.set(who, (seen.get(who) ?? 0) + 1);
  }
  return seen;
}

describe('scale out', () => {
  before(function () {
    skipOnNodeBackend(this, 'net.Server has reusePort only from Node 22.12');
  });

  // Each worker's ring is driven by the worker's own thread by default, or
  // runs on a thread of its own (ringThread: true).
  for (const ringThread of [false, true]) {
    it(`runs 20 worker_threads servers on one port (ringThread: ${ringThread}), then terminates them cleanly`, async function () {
      this.timeout(60000);
      const port = await freePort();
      const fdsBefore = fs.readdirSync('/proc/self/fd').length;
      const source = `
        const { parentPort, threadId } = require('node:worker_threads');
        const { createServer } = require(${JSON.stringify(packageDir)});
        const server = createServer({ reusePort: true, backend: 'uring', ringThread: ${ringThread} },
          (req, res) => res.end('worker ' + threadId));
        server.listen(${port}, '127.0.0.1', () => parentPort.postMessage('listening'));
        server.on('error', (err) => parentPort.postMessage(err.message));
      `;
      const workers = [];
      for (let i = 0; i < 20; i++) {
        const worker = new Worker(source, { eval: true });
        workers.push(worker);
        assert.equal(await new Promise((resolve, reject) => {
          worker.once('message', resolve);
          worker.once('error', reject);
        }), 'listening');
      }
      assert.equal(ringThreads(), ringThread ? 20 : 0);
      // The kernel spreads new connections over the 20 listening sockets.
      const seen = await answerers(port, 200);
      assert.ok(seen.size >= 5, `only ${seen.size} of 20 workers answered: ${[...seen.keys()]}`);
      for (const who of seen.keys()) assert.match(who, /^worker \d+$/);
      await Promise.all(workers.map((w) => w.terminate()));
      await delay(100);
      assert.equal(ringThreads(), 0);
      assert.ok(fs.readdirSync('/proc/self/fd').length <= fdsBefore + 2);
    });
  }

  it('runs under cluster with 2 workers sharing the port through reusePort', async function () {
    this.timeout(30000);
    const port = await freePort();
    const script = `
      const cluster = require('node:cluster');
      const { createServer } = require(${JSON.stringify(packageDir)});
      if (cluster.isPrimary) {
        let listening = 0;
        for (let i = 0; i < 2; i++) {
          cluster.fork().on('message', (msg) => {
            if (msg === 'listening' && ++listening === 2) console.log('ready');
          });
        }
      } else {
        // Each worker binds the port itself (SO_REUSEPORT): cluster's
        // round-robin handle passing is for net servers, not this one.
        const server = createServer({ reusePort: true, backend: 'uring' },
          (req, res) => res.end('pid ' + process.pid));
        server.listen(${port}, '127.0.0.1', () => process.send('listening'));
      }
    `;
    // A file, not -e: cluster forks workers from the primary's script.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'node-uring-cluster-'));
    const file = path.join(dir, 'cluster.js');
    fs.writeFileSync(file, script);
    // Its own process group, so that the workers go with the primary.
    const primary = spawn(process.execPath, [file], { stdio: ['ignore', 'pipe', 'inherit'], detached: true });
    try {
      await new Promise((resolve, reject) => {
        primary.stdout.on('data', (d) => d.toString().includes('ready') && resolve());
        primary.once('exit', (code) => reject(new Error(`the primary exited (${code})`)));
      });
      const seen = await answerers(port, 100);
      assert.equal(seen.size, 2, `answered by ${[...seen.keys()]}`);
      for (const who of seen.keys()) assert.match(who, /^pid \d+$/);
    } finally {
      process.kill(-primary.pid, 'SIGKILL');
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
