'use strict';

// Ring file operations against real files in a temp dir: data round-trips
// byte-exact, errors carry Node's codes, linked chains run in order.

const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { Ring } = require('..');
const { skipOnNodeBackend } = require('./helpers');

describe('Ring: files', () => {
  before(function () {
    skipOnNodeBackend(this, 'the Ring API runs on io_uring only; the default run covers it');
  });

  let ring;
  let dir;

  beforeEach(() => {
    ring = new Ring({ entries: 64 });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'node-uring-ring-'));
  });

  afterEach(async () => {
    await ring.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const file = (name) => path.join(dir, name);

  it('nop resolves to 0', async () => {
    assert.equal(await ring.nop(), 0);
  });

  it('writes and reads back 1 MiB byte-exact, at explicit positions', async () => {
    const data = crypto.randomBytes(1 << 20);
    const fd = await ring.open(file('a'), 'w+');
    const half = data.length / 2;
    // Two writes in one tick, second half first: positions, not order, place them.
    const written = await Promise.all([
      ring.write(fd, data, half, half, half),
      ring.write(fd, data, 0, half, 0),
    ]);
    assert.deepEqual(written, [half, half]);
    const back = Buffer.alloc(data.length);
    let off = 0;
    while (off < back.length) {
      const n = await ring.read(fd, back, off, back.length - off, off);
      assert.ok(n > 0);
      off += n;
    }
    assert.ok(back.equals(data));
    assert.ok(fs.readFileSync(file('a')).equals(data));
    assert.equal(await ring.close(fd), 0);
  });

  it('reads and writes at the current position when position is null or omitted', async () => {
    const fd = await ring.open(file('b'), 'w+');
    await ring.write(fd, 'hello ');
    await ring.write(fd, Buffer.from('world'), 0, 5, null);
    const buf = Buffer.alloc(32);
    assert.equal(await ring.read(fd, buf, 0, 32, 0), 11);
    assert.equal(buf.toString('latin1', 0, 11), 'hello world');
    assert.equal(await ring.read(fd, buf), 0); // the position is at the end now
    await ring.close(fd);
  });

  it('reads into any TypedArray or DataView', async () => {
    fs.writeFileSync(file('t'), Buffer.from([1, 0, 2, 0, 3, 0, 4, 0]));
    const fd = await ring.open(file('t'));
    const u16 = new Uint16Array(4);
    assert.equal(await ring.read(fd, u16, 0, 8, 0), 8);
    assert.deepEqual([...u16], [1, 2, 3, 4]);
    const dv = new DataView(new ArrayBuffer(8), 2, 4);
    assert.equal(await ring.read(fd, dv, 0, 4, 2), 4);
    assert.equal(dv.getUint16(0, true), 2);
    await ring.close(fd);
  });

  it('readv and writev scatter and gather across buffers', async () => {
    const fd = await ring.open(file('v'), 'w+');
    const parts = [Buffer.from('abc'), Buffer.alloc(0), Buffer.from('defgh'), Buffer.from('i')];
    assert.equal(await ring.writev(fd, parts, 0), 9);
    const a = Buffer.alloc(4);
    const b = Buffer.alloc(10);
    assert.equal(await ring.readv(fd, [a, b], 0), 9);
    assert.equal(a.toString(), 'abcd');
    assert.equal(b.toString('latin1', 0, 5), 'efghi');
    await ring.close(fd);
  });

  it('open takes fs-style flags and modes', async () => {
    fs.writeFileSync(file('c'), 'one\n');
    let fd = await ring.open(file('c'), 'a');
    await ring.write(fd, 'two\n');
    await ring.close(fd);
    assert.equal(fs.readFileSync(file('c'), 'utf8'), 'one\ntwo\n');

    await assert.rejects(ring.open(file('c'), 'wx'), { code: 'EEXIST', syscall: 'open' });

    fd = await ring.open(file('d'), fs.constants.O_CREAT | fs.constants.O_WRONLY, 0o600);
    await ring.close(fd);
    assert.equal(fs.statSync(file('d')).mode & 0o777, 0o600 & ~process.umask());

    fd = await ring.open(new URL(`file://${file('c')}`), 'r');
    await assert.rejects(ring.write(fd, 'x'), { code: 'EBADF', syscall: 'write' });
    await ring.close(fd);
  });

  it('fails with Node-shaped errors: code, errno, syscall, path', async () => {
    const missing = file('missing/x');
    const err = await ring.open(missing).then(() => null, (e) => e);
    assert.ok(err instanceof Error);
    assert.equal(err.code, 'ENOENT');
    assert.equal(err.errno, -2);
    assert.equal(err.syscall, 'open');
    assert.equal(err.path, missing);
    assert.equal(err.message, `ENOENT: no such file or directory, open '${missing}'`);
    await assert.rejects(ring.read(1 << 30, Buffer.alloc(1)), { code: 'EBADF', syscall: 'read' });
    await assert.rejects(ring.close(1 << 30), { code: 'EBADF', syscall: 'close' });
    await assert.rejects(ring.statx(missing), { code: 'ENOENT', syscall: 'statx' });
  });

  it('fsync and fdatasync a file', async () => {
    const fd = await ring.open(file('s'), 'w');
    await ring.write(fd, 'durable');
    assert.equal(await ring.fsync(fd), 0);
    assert.equal(await ring.fsync(fd, { datasync: true }), 0);
    await ring.close(fd);
  });

  it('statx returns the main fields of fs.Stats', async () => {
    fs.writeFileSync(file('st'), 'twelve bytes');
    fs.symlinkSync(file('st'), file('ln'));
    const mine = await ring.statx(file('st'));
    const theirs = fs.statSync(file('st'));
    for (const key of ['dev', 'ino', 'mode', 'nlink', 'uid', 'gid', 'rdev', 'size', 'blksize', 'blocks']) {
      assert.equal(mine[key], theirs[key], key);
    }
    for (const key of ['atimeMs', 'mtimeMs', 'ctimeMs']) {
      assert.ok(Math.abs(mine[key] - theirs[key]) < 1, key);
    }
    assert.ok(mine.mtime instanceof Date);
    assert.ok(mine.isFile() && !mine.isDirectory());
    assert.ok((await ring.statx(dir)).isDirectory());
    assert.ok((await ring.statx(file('ln'))).isFile());
    const link = await ring.statx(file('ln'), { followSymlinks: false });
    assert.ok(link.isSymbolicLink());
  });

  it('runs a linked write -> fsync -> read chain in order', async () => {
    const fd = await ring.open(file('l'), 'w+');
    const out = Buffer.alloc(5);
    const results = await Promise.all(ring.link(() => [
      ring.write(fd, 'chain', 0, 5, 0),
      ring.fsync(fd),
      ring.read(fd, out, 0, 5, 0),
    ]));
    assert.deepEqual(results, [5, 0, 5]);
    assert.equal(out.toString(), 'chain');
    await ring.close(fd);
  });

  it('cancels the rest of a chain when one link fails', async () => {
    const fd = await ring.open(file('f'), 'w+');
    const [bad, write] = ring.link(() => [
      ring.read(1 << 30, Buffer.alloc(1)),
      ring.write(fd, 'never', 0, 5, 0),
    ]);
    await assert.rejects(bad, { code: 'EBADF' });
    await assert.rejects(write, { code: 'ECANCELED' });
    assert.equal(fs.readFileSync(file('f'), 'utf8'), '');
    await ring.close(fd);
  });

  it('ends a chain cleanly when the link function throws', async () => {
    let first;
    assert.throws(() => ring.link(() => {
      first = ring.nop();
      throw new Error('boom');
    }), /boom/);
    assert.equal(await first, 0);
    assert.equal(await ring.nop(), 0); // not held back by a dangling link
    assert.throws(() => ring.link(() => ring.link(() => {})), { code: 'ERR_URING_LINK_NESTED' });
  });

  it('rejects a chain longer than the submission queue with EINVAL', async () => {
    const small = new Ring({ entries: 2 });
    try {
      const settled = await Promise.allSettled(small.link(() => [small.nop(), small.nop(), small.nop()]));
      assert.deepEqual(settled.map((s) => s.reason && s.reason.code), ['EINVAL', 'EINVAL', 'EINVAL']);
      assert.deepEqual(await Promise.all(small.link(() => [small.nop(), small.nop()])), [0, 0]);
    } finally {
      await small.close();
    }
  });

  it('works with a kernel thread polling the queue (sqpoll)', async () => {
    const polled = new Ring({ sqpoll: true, sqThreadIdle: 10 });
    try {
      assert.ok(polled.setupFlags & 2, `setupFlags ${polled.setupFlags}`); // IORING_SETUP_SQPOLL
      const fd = await polled.open(file('p'), 'w+');
      await polled.write(fd, 'polled', 0, 6, 0);
      await polled.timeout(30); // the poller goes to sleep; the next submit wakes it
      const buf = Buffer.alloc(6);
      assert.equal(await polled.read(fd, buf, 0, 6, 0), 6);
      assert.equal(buf.toString(), 'polled');
      await polled.close(fd);
    } finally {
      await polled.close();
    }
  });

  it('does not stall with sqpoll when the submission queue is full', async () => {
    const polled = new Ring({ entries: 4, sqpoll: true, sqThreadIdle: 10 });
    try {
      const timers = Array.from({ length: 4 }, () => polled.timeout(5000));
      const start = Date.now();
      assert.equal(await polled.nop(), 0);
      assert.ok(Date.now() - start < 2000, `nop took ${Date.now() - start} ms`);
      for (const t of timers) await polled.cancel(t);
      await Promise.allSettled(timers);
    } finally {
      await polled.close();
    }
  });

  it('reads into views over a SharedArrayBuffer', async () => {
    fs.writeFileSync(file('sab'), 'shared');
    const fd = await ring.open(file('sab'));
    const view = new Uint8Array(new SharedArrayBuffer(16), 4, 8);
    assert.equal(await ring.read(fd, view, 0, 8, 0), 6);
    assert.equal(Buffer.from(view.subarray(0, 6)).toString(), 'shared');
    await ring.close(fd);
  });

  it('validates arguments synchronously, with Node error codes', () => {
    const buf = Buffer.alloc(8);
    assert.throws(() => ring.read(0, 'x'), { code: 'ERR_INVALID_ARG_TYPE' });
    assert.throws(() => ring.read(-1, buf), { code: 'ERR_OUT_OF_RANGE' });
    assert.throws(() => ring.read(0, buf, 4, 5), { code: 'ERR_OUT_OF_RANGE' });
    assert.throws(() => ring.read(0, buf, 9), { code: 'ERR_OUT_OF_RANGE' });
    assert.throws(() => ring.read(0, buf, 0, 8, -2), { code: 'ERR_OUT_OF_RANGE' });
    assert.throws(() => ring.open('a\0b'), { code: 'ERR_INVALID_ARG_VALUE' });
    assert.throws(() => ring.open(file('x'), 'rw'), { code: 'ERR_INVALID_ARG_VALUE' });
    assert.throws(() => ring.open(file('x'), 'toString'), { code: 'ERR_INVALID_ARG_VALUE' });
    assert.throws(() => ring.socket('constructor'), { code: 'ERR_INVALID_ARG_VALUE' });
    // eslint-disable-next-line no-sparse-arrays
    assert.throws(() => ring.readv(0, [, buf]), { code: 'ERR_INVALID_ARG_TYPE' });
    assert.throws(() => ring.timeout(-1), { code: 'ERR_OUT_OF_RANGE' });
    assert.throws(() => ring.socket('sctp'), { code: 'ERR_INVALID_ARG_VALUE' });
    assert.throws(() => new Ring({ entries: 0 }), { code: 'ERR_OUT_OF_RANGE' });
    assert.throws(() => new Ring({ queueFull: 'drop' }), { code: 'ERR_INVALID_ARG_VALUE' });
  });
});
