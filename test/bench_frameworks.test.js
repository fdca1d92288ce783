'use strict';

// The framework cases' servers of `node bench` (bench/lib/frameworks.js),
// without load: each starts, checks its own answers, and says it is ready,
// or why the bench should skip it; and their ratios are to the same
// framework on node:http.

const assert = require('node:assert/strict');
const path = require('node:path');
const { fork } = require('node:child_process');
const { addRatios, table, medians } = require('../bench/lib/report');
const { skipOnNodeBackend } = require('./helpers');

const SERVERS = path.join(__dirname, '..', 'bench', 'servers');

// Forks bench/servers/<name>.js; resolves its first message.
function startBenchServer(name) {
  const child = fork(path.join(SERVERS, `${name}.js`), ['0'], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} said nothing in 8 s`)), 8000);
    child.once('message', (msg) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      resolve(msg);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${code}) without a word`));
    });
  });
}

describe('node bench: the framework servers', () => {
  before(function () {
    skipOnNodeBackend(this, '`node bench` starts its own servers, whatever the backend');
  });

  for (const name of ['fastify-uring', 'fastify-node', 'hono-uring', 'hono-node', 'express-node', 'koa-node']) {
    it(`${name} answers GET and POST /json right, or says why it cannot run`, async () => {
      const msg = await startBenchServer(name);
      if (msg.skip) {
        // Only a framework that is not installed may be skipped here.
        assert.match(msg.skip, /is not installed/);
      } else {
        assert.equal(msg.ready, true);
        assert.ok(msg.port > 0);
      }
    });
  }

  // Express and Koa may not run on node-uring yet (their req and res
  // prototypes): then the bench skips them, saying why, instead of failing.
  for (const name of ['express-uring', 'koa-uring']) {
    it(`${name} is ready, or skipped with a reason`, async () => {
      const msg = await startBenchServer(name);
      assert.ok(msg.ready === true || (typeof msg.skip === 'string' && msg.skip.length > 0), JSON.stringify(msg));
    });
  }

  it("puts each framework's ratio over the same framework on node:http, in a table of its own", () => {
    const result = (server, baseline, rps) => ({
      case: 'json', server, ratioOf: 'rps', baseline, framework: true,
      median: medians([{ rps, busiestUsPerReq: 1e6 / rps, cpuUsPerReq: 1e6 / rps }]),
    });
    const results = [
      result('fastify-uring', 'fastify-node', 300), result('fastify-node', 'fastify-node', 100),
      result('hono-uring', 'hono-node', 200), result('hono-node', 'hono-node', 400),
    ];
    addRatios(results);
    assert.deepEqual(results.map((r) => r.ratio), [3, 1, 0.5, 1]);
    const text = table(results);
    assert.match(text, /vs node:http/);
    assert.match(text, /fastify-uring .* 3\.00 /);
  });
});
