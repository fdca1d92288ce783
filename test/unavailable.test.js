'use strict';

// Where io_uring is forbidden (here by a seccomp filter, as Docker's default
// profile does), listen() fails with one clear error, and nothing crashes
// or hangs.

const assert = require('node:assert/strict');
const { execFileSync, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const packageDir = path.join(__dirname, '..');

describe('io_uring unavailable', () => {
  let launcher;
  let tmp;

  before(function () {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'node-uring-'));
    launcher = path.join(tmp, 'deny_io_uring');
    try {
      execFileSync('cc', ['-o', launcher, path.join(__dirname, 'fixtures', 'deny_io_uring.c')]);
    } catch {
      this.skip(); // no C compiler: the addon itself could not have been built either
    }
  });

  after(() => {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('fails listen() with ERR_URING_UNAVAILABLE naming seccomp, and exits cleanly', () => {
    const script = `
      const net = require('node:net');
      const { createServer } = require(${JSON.stringify(packageDir)});
      const server = createServer(() => {});
      server.on('error', (err) => {
        // The port must be free again: bind it with a plain net server.
        const probe = net.createServer().listen(server.port, '127.0.0.1', () => {
          probe.close();
          console.log(JSON.stringify({
            code: err.code, message: err.message, syscall: err.syscall,
            errno: err.errno, cause: err.cause && err.cause.code,
            listening: server.listening,
          }));
        });
      });
      const probe = net.createServer().listen(0, '127.0.0.1', () => {
        server.port = probe.address().port;
        probe.close(() => server.listen(server.port, '127.0.0.1'));
      });
    `;
    const child = spawnSync(launcher, [process.execPath, '-e', script], {
      encoding: 'utf8', timeout: 10000,
    });
    assert.equal(child.status, 0, `exit ${child.status} ${child.signal}: ${child.stderr}`);
    const err = JSON.parse(child.stdout);
    assert.equal(err.code, 'ERR_URING_UNAVAILABLE');
    assert.equal(err.syscall, 'io_uring_setup');
    assert.equal(err.cause, 'EPERM');
    assert.match(err.message, /seccomp|io_uring_disabled/);
    assert.equal(err.listening, false);
  });
});
