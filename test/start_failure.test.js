'use strict';

// A server whose start fails inside the C core (here: a static mount's
// directory removed between server.static() and listen()) frees what it
// made, and nothing else: it once closed fd 0, the eventfd's zeroed place,
// when the failure came before the eventfd existed.

const assert = require('node:assert/strict');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { skipOnNodeBackend } = require('./helpers');

const packageDir = path.join(__dirname, '..');

describe('a failed start', () => {
  before(function () {
    skipOnNodeBackend(this, 'the C core is the uring backend\'s');
  });

  it('reports the mount\'s error and leaves fd 0 open', () => {
    const script = `
      const fs = require('node:fs');
      const os = require('node:os');
      const path = require('node:path');
      const { createServer } = require(process.env.NODE_URING_PACKAGE);
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nu-start-'));
      const server = createServer({ backend: 'uring' }, (req, res) => res.end());
      server.static('/s', dir);
      fs.rmdirSync(dir);
      server.on('error', (e) => {
        fs.fstatSync(0); // throws EBADF if the failure closed it
        console.log(e.code);
      });
      server.listen(0);
    `;
    const child = spawnSync(process.execPath, ['-e', script], {
      encoding: 'utf8', timeout: 20000, stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, NODE_URING_PACKAGE: packageDir },
    });
    assert.equal(child.status, 0, child.stderr);
    assert.equal(child.stdout.trim(), 'ENOENT');
  });
});
