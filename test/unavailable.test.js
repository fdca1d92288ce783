'use strict';

// Where io_uring is forbidden (here by a seccomp filter, as Docker's default
// profile does) or the addon cannot be loaded: backend 'uring' fails with one
// clear error, 'auto' serves through node:http with one warning, and
// nothing crashes or hangs.

const assert = require('node:assert/strict');
const { execFileSync, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { skipOnNodeBackend } = require('./helpers');

const packageDir = path.join(__dirname, '..');

// Runs script in a child node (under launcher when given); it prints one
// JSON line. Resolves { out, stderr }, asserting a clean exit.
function runChild(script, { launcher, env } = {}) {
  const argv = [process.execPath, '-e', `
    const { createServer } = require(${JSON.stringify(packageDir)});
    const warnings = [];
    process.on('warning', (w) => warnings.push({ code: w.code, message: w.message }));
    const listen = (server, ...args) => new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(...args, () => resolve(server.address().port));
    });
    const close = (server) => new Promise((resolve) => server.close(resolve));
    const fetchText = async (port, path) => {
      const res = await fetch('http://127.0.0.1:' + port + path);
      return res.status + ' ' + await res.text();
    };
    (async () => {
      const out = {};
      ${script}
      await new Promise((resolve) => setImmediate(resolve)); // let warnings land
      out.warnings = warnings;
      console.log(JSON.stringify(out));
    })();
  `];
  const [cmd, ...args] = launcher ? [launcher, ...argv] : argv;
  const child = spawnSync(cmd, args, {
    encoding: 'utf8', timeout: 10000, env: { ...process.env, ...env },
  });
  assert.equal(child.status, 0, `exit ${child.status} ${child.signal}: ${child.stderr}`);
  return { out: JSON.parse(child.stdout), stderr: child.stderr };
}

// The warnings of code URING_FALLBACK among what the child saw.
const fallbackWarnings = (out) => out.warnings.filter((w) => w.code === 'URING_FALLBACK');

describe('io_uring unavailable (seccomp)', () => {
  let launcher;
  let tmp;

  before(function () {
    skipOnNodeBackend(this, 'they test the fallback itself, choosing their own backends');
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

  it("backend 'uring': listen() fails with ERR_URING_UNAVAILABLE naming seccomp, and exits cleanly", () => {
    const { out } = runChild(`
      const net = require('node:net');
      const server = createServer({ backend: 'uring' }, () => {});
      const err = await listen(server, 0, '127.0.0.1').then(() => null, (e) => e);
      Object.assign(out, {
        code: err && err.code, message: err && err.message, syscall: err && err.syscall,
        cause: err && err.cause && err.cause.code, listening: server.listening,
        backend: server.backend,
      });
    `, { launcher });
    assert.equal(out.code, 'ERR_URING_UNAVAILABLE');
    assert.equal(out.syscall, 'io_uring_setup');
    assert.equal(out.cause, 'EPERM');
    assert.match(out.message, /seccomp|io_uring_disabled/);
    assert.equal(out.listening, false);
    assert.equal(out.backend, null);
    assert.deepEqual(out.warnings, []);
  });

  it("backend 'uring': frees the port it bound before the ring failed", () => {
    const { out } = runChild(`
      const net = require('node:net');
      const probe = net.createServer();
      const port = await listen(probe, 0, '127.0.0.1');
      await close(probe);
      const server = createServer({ backend: 'uring' }, () => {});
      out.code = await listen(server, port, '127.0.0.1').then(() => null, (e) => e.code);
      const again = net.createServer();
      out.rebound = await listen(again, port, '127.0.0.1') === port;
      await close(again);
    `, { launcher });
    assert.equal(out.code, 'ERR_URING_UNAVAILABLE');
    assert.equal(out.rebound, true);
  });

  it("backend 'auto' (the default) serves through node:http and warns once, naming the cause", () => {
    const { out, stderr } = runChild(`
      const a = createServer((req, res) => res.end('hello ' + req.url));
      out.before = a.backend;
      const portA = await listen(a, 0, '127.0.0.1');
      out.backend = a.backend;
      out.listening = a.listening;
      out.body = await fetchText(portA, '/x');
      // A second server: served too, and no second warning.
      const b = createServer({ backend: 'auto' }, (req, res) => res.end('b'));
      out.second = [await fetchText(await listen(b, 0, '127.0.0.1'), '/'), b.backend];
      await close(a);
      await close(b);
      out.after = a.backend;
    `, { launcher });
    assert.equal(out.before, null);
    assert.equal(out.backend, 'node');
    assert.equal(out.listening, true);
    assert.equal(out.body, '200 hello /x');
    assert.deepEqual(out.second, ['200 b', 'node']);
    assert.equal(out.after, null);
    assert.equal(out.warnings.length, 1, JSON.stringify(out.warnings));
    const [warning] = fallbackWarnings(out);
    assert.match(warning.message, /io_uring is unavailable: a seccomp filter forbids io_uring_setup/);
    assert.match(warning.message, /node:http/);
    assert.equal(stderr.match(/URING_FALLBACK/g).length, 1, stderr);
  });

  it("backend 'auto' still reports EADDRINUSE as such, without falling back", () => {
    const { out } = runChild(`
      const net = require('node:net');
      const holder = net.createServer();
      const port = await listen(holder, 0, '127.0.0.1');
      const server = createServer(() => {});
      const err = await listen(server, port, '127.0.0.1').then(() => null, (e) => e);
      out.code = err && err.code;
      out.syscall = err && err.syscall;
      out.backend = server.backend;
      await close(holder);
    `, { launcher });
    assert.equal(out.code, 'EADDRINUSE');
    assert.equal(out.syscall, 'listen');
    assert.equal(out.backend, null);
    assert.deepEqual(out.warnings, []);
  });

  it("backend 'node' serves without a warning", () => {
    const { out } = runChild(`
      const server = createServer({ backend: 'node' }, (req, res) => res.end('plain'));
      out.body = await fetchText(await listen(server, 0, '127.0.0.1'), '/');
      out.backend = server.backend;
      await close(server);
    `, { launcher });
    assert.equal(out.body, '200 plain');
    assert.equal(out.backend, 'node');
    assert.deepEqual(out.warnings, []);
  });
});

describe('native addon missing', () => {
  const env = { NODE_URING_BINARY: '/nonexistent/node_uring.node' };

  before(function () {
    skipOnNodeBackend(this, 'they test the fallback itself, choosing their own backends');
  });

  it("backend 'uring' throws ERR_URING_ADDON from createServer(); 'node' serves without a warning", () => {
    const { out } = runChild(`
      try {
        createServer({ backend: 'uring' }, () => {});
      } catch (err) {
        out.code = err.code;
        out.message = err.message;
      }
      const server = createServer({ backend: 'node' }, (req, res) => res.end('plain'));
      out.body = await fetchText(await listen(server, 0, '127.0.0.1'), '/');
      await close(server);
    `, { env });
    assert.equal(out.code, 'ERR_URING_ADDON');
    assert.match(out.message, /npm install/);
    assert.equal(out.body, '200 plain');
    assert.deepEqual(out.warnings, []);
  });

  it("backend 'auto' serves through node:http and warns once that the addon is missing", () => {
    const { out } = runChild(`
      const server = createServer((req, res) => res.end('no addon'));
      out.body = await fetchText(await listen(server, 0, '127.0.0.1'), '/');
      out.backend = server.backend;
      await close(server);
    `, { env });
    assert.equal(out.body, '200 no addon');
    assert.equal(out.backend, 'node');
    assert.equal(out.warnings.length, 1, JSON.stringify(out.warnings));
    assert.match(fallbackWarnings(out)[0].message, /native addon cannot be loaded.*\/nonexistent\/node_uring\.node/);
  });
});
