'use strict';

// A Ring's life: a full queue, close() with operations in flight, rings
// created and closed by the thousand, the GC against buffers in flight,
// the event loop kept alive only while operations are pending, workers.

const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { Ring, listenSocket } = require('..');
const { skipOnNodeBackend, threadsNamed } = require('./helpers');

const packageDir = path.join(__dirname, '..');

const countFds = () => fs.readdirSync('/proc/self/fd').length;
// The ring threads of this process (named nu-queue; servers' are nu-ring).
const countThreads = () => threadsNamed('nu-');

// Runs script in a fresh node and returns its stdout; fails on a non-zero exit.
function runNode(args, script) {
  const child = spawnSync(process.execPath, [...args, '-e', script], {
    encoding: 'utf8', timeout: 20000, env: { ...process.env, NODE_URING_PACKAGE: packageDir },
  });
  assert.equal(child.status, 0, `exit ${child.status} ${child.signal}: ${child.stderr}`);
  return child.stdout;
}

describe('Ring: lifecycle', () => {
  before(function () {
    skipOnNodeBackend(this, 'the Ring API runs on io_uring only; the default run covers it');
  });

  it('never drops an operation when more are started than the queue holds', async () => {
    const ring = new Ring({ entries: 4 }); // 8 in flight at most
    try {
      const results = await Promise.all(Array.from({ length: 1000 }, () => ring.nop()));
      assert.equal(results.length, 1000);
      assert.ok(results.every((r) => r === 0));
      const timers = await Promise.all(Array.from({ length: 50 }, (_, i) => ring.timeout(i % 5)));
      assert.equal(timers.length, 50);
    } finally {
      await ring.close();
    }
  });

  it("rejects with ERR_URING_QUEUE_FULL past the queue when asked to (queueFull: 'reject')", async () => {
    const ring = new Ring({ entries: 2, queueFull: 'reject' }); // 4 in flight at most
    try {
      const ops = Array.from({ length: 6 }, () => ring.timeout(1));
      const settled = await Promise.allSettled(ops);
      assert.deepEqual(settled.map((s) => s.status),
        ['fulfilled', 'fulfilled', 'fulfilled', 'fulfilled', 'rejected', 'rejected']);
      assert.equal(settled[4].reason.code, 'ERR_URING_QUEUE_FULL');
      assert.equal(await ring.nop(), 0); // room again
    } finally {
      await ring.close();
    }
  });

  it('close() rejects what is in flight with ECANCELED, then refuses new operations', async () => {
    const ring = new Ring();
    const { fd: lfd } = listenSocket(0, '127.0.0.1');
    const inFlight = [ring.timeout(60000), ring.accept(lfd), ring.nop()];
    const closing = ring.close();
    assert.equal(ring.close(), closing); // the same promise
    const settled = await Promise.allSettled(inFlight);
    await closing;
    fs.closeSync(lfd);
    assert.equal(settled[0].reason.code, 'ECANCELED');
    assert.equal(settled[1].reason.code, 'ECANCELED');
    // Staged in the same tick as close(): submitted first or cancelled, never lost.
    assert.ok(settled[2].status === 'fulfilled' || settled[2].reason.code === 'ECANCELED');
    assert.equal(ring.pending, 0);
    assert.ok(ring.closed);
    assert.throws(() => ring.nop(), { code: 'ERR_URING_CLOSED' });
  });

  it('leaves no fd or thread behind after 1,000 rings are created and closed', async () => {
    const fds = countFds();
    const threads = countThreads();
    for (let i = 0; i < 1000; i++) {
      const ring = new Ring({ entries: 8 });
      if (i % 2) await ring.nop();
      await ring.close();
    }
    assert.equal(countFds(), fds);
    assert.equal(countThreads(), threads);
  });

  it('keeps a buffer in flight alive whatever the GC does, and lets it go after', () => {
    const out = runNode(['--expose-gc'], `
      const { Ring, listenSocket } = require(process.env.NODE_URING_PACKAGE);
      const net = require('node:net');
      const tick = () => new Promise((r) => setImmediate(r));
      (async () => {
        const ring = new Ring();
        const { fd: lfd, port } = listenSocket(0, '127.0.0.1');
        const accepted = ring.accept(lfd);
        const peer = net.connect(port, '127.0.0.1');
        const fd = await accepted;
        const refs = [];
        // Made outside the async function, whose suspended frame would keep
        // the last buffer alive on its own.
        const startRecv = () => {
          const buf = Buffer.alloc(1 << 20, 0xaa); // its own ArrayBuffer, not the pool
          refs.push(new WeakRef(buf));
          return ring.recv(fd, buf);
        };
        const reads = Array.from({ length: 8 }, startRecv);
        for (let i = 0; i < 10; i++) { globalThis.gc(); await tick(); }
        const aliveWhilePending = refs.filter((r) => r.deref() !== undefined).length;
        peer.write(Buffer.alloc(1000, 0x55));
        // One recv gets the bytes, into memory the GC had every chance to take.
        const [i, n] = await Promise.race(reads.map((p, i) => p.then((n) => [i, n])));
        const got = refs[i].deref().subarray(0, n).every((b) => b === 0x55) && n === 1000;
        const closing = ring.close();
        const cancelled = await Promise.allSettled(reads.filter((_, j) => j !== i));
        await closing;
        peer.destroy();
        require('node:fs').closeSync(lfd);
        reads.length = 0;
        for (let i = 0; i < 10; i++) { globalThis.gc(); await tick(); }
        const aliveAfter = refs.filter((r) => r.deref() !== undefined).length;
        const codes = cancelled.map((c) => c.reason && c.reason.code);
        console.log(JSON.stringify({ aliveWhilePending, got, codes, aliveAfter }));
      })();
    `);
    const { aliveWhilePending, got, codes, aliveAfter } = JSON.parse(out);
    assert.equal(aliveWhilePending, 8);
    assert.equal(got, true);
    assert.deepEqual(codes, Array(7).fill('ECANCELED'));
    assert.equal(aliveAfter, 0);
  });

  it('closes a ring the GC collects once nothing references it and nothing is in flight', () => {
    const out = runNode(['--expose-gc'], `
      const fs = require('node:fs');
      const { Ring } = require(process.env.NODE_URING_PACKAGE);
      const threads = () => fs.readdirSync('/proc/self/task')
        .filter((t) => fs.readFileSync('/proc/self/task/' + t + '/comm', 'utf8').startsWith('nu-')).length;
      (async () => {
        const kept = new Ring();
        const busy = new Ring().timeout(300); // its ring is referenced by nothing but this op
        (() => { for (let i = 0; i < 20; i++) new Ring({ entries: 2 }); })();
        const made = threads();
        for (let i = 0; i < 10; i++) { globalThis.gc(); await new Promise((r) => setTimeout(r, 10)); }
        const afterGc = threads();
        await busy; // it completed: its ring was not taken while it ran
        await kept.close();
        console.log(JSON.stringify({ made, afterGc }));
      })();
    `);
    const { made, afterGc } = JSON.parse(out);
    assert.equal(made, 22);
    assert.equal(afterGc, 2);
  });

  it('survives terminating workers that call into a ring without pause', () => {
    const out = runNode([], `
      const { Worker } = require('node:worker_threads');
      (async () => {
        for (let i = 0; i < 10; i++) {
          const w = new Worker(\`
            const { Ring } = require(process.env.NODE_URING_PACKAGE);
            const ring = new Ring();
            require('node:worker_threads').parentPort.postMessage('go');
            for (;;) ring.link(() => ring.nop().catch(() => {}));
          \`, { eval: true });
          await new Promise((r) => w.once('message', r));
          await new Promise((r) => setTimeout(r, 5));
          await w.terminate();
        }
        console.log('survived');
      })();
    `);
    assert.equal(out.trim(), 'survived');
  });

  it('keeps the process alive only while operations are pending', () => {
    const start = Date.now();
    const out = runNode([], `
      const { Ring } = require(process.env.NODE_URING_PACKAGE);
      const idle = new Ring(); // never closed, never used: must not hold the process
      const ring = new Ring();
      ring.timeout(300).then(() => console.log('fired'));
    `);
    assert.equal(out.trim(), 'fired');
    assert.ok(Date.now() - start >= 300);
    const unrefed = runNode([], `
      const { Ring } = require(process.env.NODE_URING_PACKAGE);
      const ring = new Ring().unref();
      ring.timeout(60000).then(() => console.log('fired'));
    `);
    assert.equal(unrefed.trim(), '');
  });

  it('cleans up when a worker with operations in flight is terminated', () => {
    const out = runNode([], `
      const { Worker } = require('node:worker_threads');
      const fs = require('node:fs');
      const threads = () => fs.readdirSync('/proc/self/task')
        .filter((t) => fs.readFileSync('/proc/self/task/' + t + '/comm', 'utf8').startsWith('nu-')).length;
      const fds = () => fs.readdirSync('/proc/self/fd').length;
      const run = async (code) => {
        const w = new Worker(code, { eval: true });
        await new Promise((r) => w.once('message', r));
        await w.terminate();
      };
      (async () => {
        // A first worker makes what Node keeps for workers afterwards.
        await run("require('node:worker_threads').parentPort.postMessage('ready')");
        const before = { threads: threads(), fds: fds() };
        for (let i = 0; i < 10; i++) {
          await run(\`
            const { parentPort } = require('node:worker_threads');
            const { Ring } = require(process.env.NODE_URING_PACKAGE);
            const ring = new Ring();
            ring.timeout(60000);
            ring.nop().then(() => parentPort.postMessage('busy'));
          \`);
        }
        await new Promise((r) => setTimeout(r, 100));
        console.log(JSON.stringify({ before, after: { threads: threads(), fds: fds() } }));
      })();
    `);
    const { before, after } = JSON.parse(out);
    assert.deepEqual(after, before);
  });
});
