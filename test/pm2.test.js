'use strict';

// node-uring under PM2's cluster mode (test/fixtures/pm2: the ecosystem file
// README "Deploying" shows): two workers both serve, and `pm2 reload` under
// a steady keep-alive load replaces them one by one in under 3 s without
// losing a request: every request a worker began is answered, and every
// request is answered in the end. A request whose connection was closed or
// reset before any worker read it (the closing worker lets its idle and
// not yet read connections go) is sent again, as HTTP allows for an
// idempotent request (RFC 9112, 9.3.1); those are counted. PM2 runs with
// its own PM2_HOME in a temporary directory; its daemon is killed at the end.

const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const net = require('node:net');
const http = require('node:http');
const path = require('node:path');
const { execFile } = require('node:child_process');
const { promisify } = require('node:util');

const PM2 = require.resolve('pm2/bin/pm2');
const ECOSYSTEM = path.join(__dirname, 'fixtures', 'pm2', 'ecosystem.config.js');
const APP = 'node-uring-app';
const RELOAD_MS = 3000;
const LOAD_RPS = 300;
// Each answer takes this long (a handler's I/O), so that requests are in
// flight at the moment PM2 stops a worker.
const DELAY_MS = 50;

// A port free on 127.0.0.1 a moment ago.
async function freePort() {
  const server = net.createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

// GET path with agent; resolves with the worker's { pid, backend }.
function get(port, path, agent) {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => { body += chunk; });
      res.on('end', () => (res.statusCode === 200 ? resolve(JSON.parse(body)) : reject(new Error(`status ${res.statusCode}`))));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

describe('PM2 cluster mode', function () {
  this.timeout(60000);
  let home;
  let port;
  let env;
  let seenFile;

  const pm2 = (...args) => promisify(execFile)(process.execPath, [PM2, ...args], { env, encoding: 'utf8', timeout: 30000 });

  before(async function () {
    // Under `npm run test:asan` every node process, PM2's daemon included,
    // runs with the ASan runtime preloaded, and there that daemon never
    // gets past stopping the old worker of a reload (the worker itself,
    // sent SIGINT by hand, closes and exits at once). PM2 is checked by
    // the default and the node-backend runs; the server's close is checked
    // under ASan by test/lifecycle.test.js.
    if (/libasan/.test(process.env.LD_PRELOAD || '')) {
      this.skip();
    }
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'node-uring-pm2-'));
    port = await freePort();
    // PM2 hands the environment of `pm2 start` to the app.
    seenFile = path.join(home, 'seen');
    env = { ...process.env, PM2_HOME: home, PORT: String(port), DELAY_MS: String(DELAY_MS), SEEN_FILE: seenFile };
    await pm2('start', ECOSYSTEM);
  });

  after(async () => {
    if (!home) return;
    try {
      await pm2('kill');
    } finally {
      // Whatever pm2 kill left (it should leave nothing): its daemon by pid.
      const pidFile = path.join(home, 'pm2.pid');
      if (fs.existsSync(pidFile)) {
        try { process.kill(Number(fs.readFileSync(pidFile, 'utf8')), 'SIGKILL'); } catch { /* gone */ }
      }
      fs.rmSync(home, { recursive: true, force: true });
    }
  });

  async function workers() {
    const { stdout } = await pm2('jlist');
    return JSON.parse(stdout.slice(stdout.indexOf('['))).filter((p) => p.name === APP);
  }

  it('starts 2 workers, and both serve', async () => {
    const list = await workers();
    assert.equal(list.length, 2);
    assert.ok(list.every((p) => p.pm2_env.status === 'online' && p.pm2_env.exec_mode === 'cluster_mode'));
    const pids = new Set(list.map((p) => p.pid));
    const seen = new Set();
    // New connections, spread over the workers by the kernel (SO_REUSEPORT)
    // or by the primary (node:http backend): both answer soon.
    for (let i = 0; i < 200 && seen.size < 2; i++) {
      const { pid, backend } = await get(port, `/start/${i}`, false);
      assert.equal(backend, process.env.NODE_URING_BACKEND === 'node' ? 'node' : 'uring');
      seen.add(pid);
    }
    assert.deepEqual([...seen].sort(), [...pids].sort());
  });

  it(`pm2 reload under a keep-alive load of ${LOAD_RPS} req/s loses no request and takes < ${RELOAD_MS} ms`, async function () {
    const before = new Set((await workers()).map((p) => p.pid));
    const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });
    const stats = { sent: 0, ok: 0, resent: 0, lost: [], failed: [], pids: new Set() };
    const seen = () => new Set(fs.existsSync(seenFile) ? fs.readFileSync(seenFile, 'utf8').split('\n') : []);
    // One request of the load, sent again (up to 3 times) while no worker
    // has begun it; one a worker began and did not answer is lost.
    async function one(n) {
      const url = `/load/${n}`;
      for (let attempt = 0; ; attempt++) {
        try {
          const { pid } = await get(port, url, agent);
          stats.ok++;
          stats.pids.add(pid);
          return;
        } catch (err) {
          if (seen().has(url)) return void stats.lost.push(`${url}: ${err.code || err.message}`);
          if (attempt === 3) return void stats.failed.push(`${url}: ${err.code || err.message}`);
          stats.resent++;
        }
      }
    }
    let loading = true;
    // A steady load: one request every 1000/LOAD_RPS ms, whatever the
    // answers take, until the reload is over and a moment more.
    const pending = new Set();
    const ticker = setInterval(() => {
      if (!loading) return;
      const p = one(stats.sent++).finally(() => pending.delete(p));
      pending.add(p);
    }, 1000 / LOAD_RPS);
    try {
      await new Promise((resolve) => setTimeout(resolve, 300));
      const t0 = Date.now();
      await pm2('reload', APP);
      const took = Date.now() - t0;
      await new Promise((resolve) => setTimeout(resolve, 300));
      loading = false;
      clearInterval(ticker);
      await Promise.all(pending);
      const after = await workers();
      const fresh = after.map((p) => p.pid);
      assert.equal(after.length, 2);
      assert.ok(fresh.every((pid) => !before.has(pid)), 'both workers were replaced');
      assert.deepEqual(stats.lost, [], 'requests a worker began and did not answer');
      assert.deepEqual(stats.failed, [], 'requests no worker read in 4 tries');
      assert.equal(stats.ok, stats.sent);
      assert.ok(stats.sent >= LOAD_RPS * (took + 600) / 1000 / 2, `only ${stats.sent} requests sent`);
      assert.ok(fresh.some((pid) => stats.pids.has(pid)), 'the new workers served part of the load');
      assert.ok(took < RELOAD_MS, `pm2 reload took ${took} ms`);
      this.test.title += ` (reload ${took} ms, ${stats.sent} requests, ${stats.resent} sent again)`;
    } finally {
      loading = false;
      clearInterval(ticker);
      agent.destroy();
    }
  });
});
