'use strict';

// The backend option: which server serves, and the parts of the API that
// differ in how each backend does them (unref, reusePort).

const assert = require('node:assert/strict');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { createServer: uringCreateServer } = require('..');
const {
  BACKEND, HOST, createServer, serverOptions, trackServer, listening, closeServer, cleanup, request,
} = require('./helpers');

const PKG = path.join(__dirname, '..');
// What serves the suite: 'auto' picks io_uring on the machines it runs on.
const EXPECTED = BACKEND === 'node' ? 'node' : 'uring';

// Runs script in a child node; resolves its stdout, asserting a clean exit
// within 5 s.
function runChild(script) {
  const child = spawnSync(process.execPath, ['-e', `
    const { createServer } = require(${JSON.stringify(PKG)});
    ${script}
  `], { encoding: 'utf8', timeout: 5000 });
  assert.equal(child.status, 0, `exit ${child.status} ${child.signal}: ${child.stderr}`);
  return { stdout: child.stdout, stderr: child.stderr };
}

describe('backend option', () => {
  afterEach(cleanup);

  it('rejects an unknown backend with ERR_INVALID_ARG_VALUE', () => {
    for (const backend of ['io_uring', 'http', '', 1]) {
      assert.throws(() => uringCreateServer({ backend }, () => {}), {
        name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE', message: /options\.backend/,
      }, String(backend));
    }
    // null or undefined: the default, 'auto'.
    for (const backend of [undefined, null, 'auto', 'uring', 'node']) {
      assert.equal(uringCreateServer({ backend }, () => {}).backend, null);
    }
  });

  it(`server.backend is null, then '${EXPECTED}' while listening, then null after close`, async () => {
    const server = trackServer(createServer((req, res) => res.end(server.backend)));
    assert.equal(server.backend, null);
    await listening(server, 0, HOST);
    assert.equal(server.backend, EXPECTED);
    assert.equal((await request(server.address().port)).body.toString(), EXPECTED);
    await closeServer(server);
    assert.equal(server.backend, null);
  });

  it('lets a process exit while an unref()ed server listens', () => {
    const { stdout } = runChild(`
      const server = createServer(${JSON.stringify(serverOptions())}, () => {});
      server.unref();
      server.listen(0, '127.0.0.1', () => console.log(server.backend));
    `);
    assert.equal(stdout.trim(), EXPECTED);
  });

  it('ref() after unref() keeps the process alive', () => {
    const { stdout } = runChild(`
      const server = createServer(${JSON.stringify(serverOptions())}, () => {});
      server.unref().ref();
      server.listen(0, '127.0.0.1', () => {
        setTimeout(() => { console.log('still here'); server.close(); }, 200).unref();
      });
    `);
    assert.equal(stdout.trim(), 'still here');
  });

  it('shares a port between two reusePort servers, or says why it cannot', async () => {
    const options = { reusePort: true };
    const first = trackServer(createServer(options, (req, res) => res.end('first')));
    const warnings = [];
    const onWarning = (w) => warnings.push(w.code);
    process.on('warning', onWarning);
    try {
      await listening(first, 0, HOST);
      const second = trackServer(createServer(options, (req, res) => res.end('second')));
      const shared = await listening(second, first.address().port, HOST).then(() => true, (err) => err);
      await new Promise((resolve) => setImmediate(resolve));
      if (shared === true) return;
      // node:http before Node 22.12 / 23.1 has no reusePort: it warns.
      assert.equal(first.backend, 'node', `uring reusePort failed: ${shared}`);
      assert.equal(shared.code, 'EADDRINUSE');
      assert.deepEqual(warnings, ['URING_NO_REUSEPORT']);
    } finally {
      process.off('warning', onWarning);
    }
  });
});
