'use strict';

// probe(), strerror() and `node-uring probe`; and the Ring API where
// io_uring is forbidden.

const assert = require('node:assert/strict');
const { execFileSync, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { probe, strerror } = require('..');
const { buildDenyLauncher } = require('./fixtures/deny_io_uring');
const { skipOnNodeBackend } = require('./helpers');

const packageDir = path.join(__dirname, '..');
const bin = path.join(packageDir, 'bin', 'node-uring.js');

describe('probe', () => {
  before(function () {
    skipOnNodeBackend(this, 'the Ring API runs on io_uring only; the default run covers it');
  });

  it('reports the kernel and every opcode liburing knows', () => {
    const { kernel, available, ops } = probe();
    assert.equal(kernel, os.release());
    assert.equal(available, true);
    const names = Object.keys(ops);
    assert.equal(names[0], 'NOP');
    assert.ok(names.length >= 48, `${names.length} ops`); // liburing 2.3 knows 48
    assert.ok(names.every((n) => typeof ops[n] === 'boolean'));
    // What the Ring API and the server use (Linux 6.0+).
    for (const op of ['NOP', 'READ', 'WRITE', 'READV', 'WRITEV', 'OPENAT', 'CLOSE', 'FSYNC',
      'STATX', 'ACCEPT', 'CONNECT', 'SEND', 'RECV', 'TIMEOUT', 'ASYNC_CANCEL', 'SOCKET']) {
      assert.equal(ops[op], true, op);
    }
  });

  it('`node-uring probe` prints a table with ✅ and ❌', () => {
    const out = execFileSync(process.execPath, [bin, 'probe'], { encoding: 'utf8' });
    assert.match(out, new RegExp(`^Linux ${os.release().replace(/[.+]/g, '\\$&')}: io_uring available`));
    assert.match(out, /^✅ IORING_OP_NOP$/m);
    assert.match(out, /^✅ IORING_OP_READ$/m);
    const rows = out.split('\n').filter((l) => /^(✅|❌) IORING_OP_/.test(l));
    assert.equal(rows.length, Object.keys(probe().ops).length);
    assert.match(out, /\d+ of \d+ operations supported/);
  });

  it('`node-uring` without a known command shows its usage', () => {
    const child = spawnSync(process.execPath, [bin, 'frobnicate'], { encoding: 'utf8' });
    assert.equal(child.status, 2);
    assert.match(child.stderr, /unknown command 'frobnicate'/);
    assert.match(child.stderr, /probe/);
  });

  it('strerror() names errnos, positive or negative', () => {
    assert.equal(strerror(2), 'no such file or directory');
    assert.equal(strerror(-2), 'no such file or directory');
    assert.equal(strerror(-125), 'operation canceled');
    assert.equal(strerror(99999), 'unknown error 99999');
    assert.throws(() => strerror('ENOENT'), { code: 'ERR_INVALID_ARG_TYPE' });
  });

  describe('where io_uring is forbidden', () => {
    let tmp;
    let launcher;

    before(function () {
      tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'node-uring-'));
      launcher = buildDenyLauncher(tmp);
      if (!launcher) this.skip(); // no C compiler: the addon could not have been built either
    });

    after(() => fs.rmSync(tmp, { recursive: true, force: true }));

    it('probe() says so, new Ring() fails with ERR_URING_UNAVAILABLE, the bin exits 1', () => {
      const script = `
        const { probe, Ring } = require(${JSON.stringify(packageDir)});
        const p = probe();
        let ring;
        try { new Ring(); } catch (err) { ring = { code: err.code, cause: err.cause.code, message: err.message }; }
        console.log(JSON.stringify({
          available: p.available, code: p.error.code, any: Object.values(p.ops).some(Boolean), ring,
        }));
      `;
      const child = spawnSync(launcher, [process.execPath, '-e', script], {
        encoding: 'utf8', timeout: 10000,
      });
      assert.equal(child.status, 0, `exit ${child.status} ${child.signal}: ${child.stderr}`);
      const res = JSON.parse(child.stdout);
      assert.deepEqual([res.available, res.code, res.any], [false, 'ERR_URING_UNAVAILABLE', false]);
      assert.equal(res.ring.code, 'ERR_URING_UNAVAILABLE');
      assert.equal(res.ring.cause, 'EPERM');
      assert.match(res.ring.message, /seccomp/);

      const cli = spawnSync(launcher, [process.execPath, bin, 'probe'], { encoding: 'utf8' });
      assert.equal(cli.status, 1);
      assert.match(cli.stdout, /io_uring unavailable/);
      assert.match(cli.stdout, /^❌ IORING_OP_NOP$/m);
    });
  });
});
