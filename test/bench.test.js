'use strict';

// `node bench` end to end, briefly: it runs, measures and writes its
// results and chart. Timings are not tests, so no ratio is asserted, only
// that the numbers are there.

const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const os = require('node:os');
const { execFile, spawnSync } = require('node:child_process');
const { skipOnNodeBackend } = require('./helpers');
const { nginxPath } = require('../bench/lib/nginx');
const { uwsSource } = require('../bench/lib/uws');

const ROOT = path.join(__dirname, '..');
const hasWrk = !spawnSync('wrk', ['-v']).error;
const hasNginx = Boolean(nginxPath());
const uws = uwsSource();

const positive = (n) => Number.isFinite(n) && n > 0;

// Runs `node bench ...args --json` writing to a temporary file (not
// bench/results/latest.json: a test must not overwrite a real run), and
// resolves { report, out } once it exits 0.
function runBench(args, { env, timeoutMs = 55000 } = {}) {
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'node-uring-bench-')), 'results.json');
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['bench', ...args, '--json', '--out', out],
      { cwd: ROOT, timeout: timeoutMs, env: { ...process.env, ...env } }, (err, stdout, stderr) => {
        if (err) return reject(new Error(`node bench failed: ${err.message}\n${stderr}`));
        resolve({ report: JSON.parse(stdout), out });
      });
  });
}

function removeOut(out) {
  fs.rmSync(path.dirname(out), { recursive: true, force: true });
}

describe('node bench', () => {
  before(function () {
    skipOnNodeBackend(this, '`node bench` starts its own servers, whatever the backend');
    if (!hasWrk) this.skip();
  });

  it('measures uring and node:http in a quick hello-c50 run, and Ring and fs.promises, and charts them', async function () {
    this.timeout(60000);
    const { report, out } = await runBench(['--quick', '--cases', 'hello-c50,ring-random4k', '--servers', 'uring,node']);
    const http = report.results.filter((r) => r.case === 'hello-c50');
    assert.deepEqual(http.map((r) => r.server).sort(), ['node', 'uring']);
    for (const { server, median } of http) {
      for (const key of ['rps', 'p50', 'cpuUsPerReq']) {
        assert.ok(positive(median[key]), `${server} ${key} is ${median[key]}`);
      }
    }
    const ring = report.results.filter((r) => r.case === 'ring-random4k');
    assert.deepEqual(ring.map((r) => r.server).sort(), ['fs', 'ring']);
    for (const { server, median } of ring) {
      for (const key of ['opsPerSec', 'cpuUsPerOp']) {
        assert.ok(positive(median[key]), `${server} ${key} is ${median[key]}`);
      }
    }
    assert.ok(JSON.parse(fs.readFileSync(out, 'utf8')).results.length > 0);
    // The chart, beside the JSON: one SVG element, text escaped, a
    // measured bar per server.
    const svg = fs.readFileSync(out.replace(/\.json$/, '.svg'), 'utf8');
    assert.match(svg, /^<svg [^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    assert.match(svg, /<\/svg>\n$/);
    assert.doesNotMatch(svg, /&(?!#\d+;)/, 'an unescaped &');
    for (const server of ['uring', 'node', 'ring', 'fs']) {
      assert.match(svg, new RegExp(`<rect class="bar measured" data-server="${server}" [^>]*height="[\\d.]+"`));
    }
    removeOut(out);
  });

  it('runs the route and static-4k cases against nginx, and skips a server that cannot run', async function () {
    this.timeout(60000);
    const servers = 'uring-route,uring-static,node,node-static,nginx';
    const { report, out } = await runBench(['--quick', '--cases', 'route,static-4k', '--servers', servers]);
    const measured = (kase) => report.results.filter((r) => r.case === kase).map((r) => r.server).sort();
    const nginx = hasNginx ? ['nginx'] : [];
    assert.deepEqual(measured('route'), [...nginx, 'node', 'uring-route']);
    // uring-static needs server.static(): measured where it exists, else
    // skipped with the reason, the run going on.
    const staticSkipped = report.skipped.some((s) => s.server === 'uring-static');
    assert.deepEqual(measured('static-4k'), [...nginx, 'node-static', ...(staticSkipped ? [] : ['uring-static'])]);
    assert.deepEqual(report.failed, []);
    for (const r of report.results) {
      assert.ok(positive(r.median.rps), `${r.case} ${r.server} rps is ${r.median.rps}`);
      assert.equal(r.peer, 'nginx');
      if (hasNginx) assert.ok(positive(r.peerRatio), `${r.case} ${r.server} vs nginx is ${r.peerRatio}`);
    }
    // 4 KiB bodies: at least that many bytes a request.
    for (const r of report.results.filter((r) => r.case === 'static-4k')) {
      assert.ok(r.median.bytesPerSec > r.median.rps * 4096, `${r.server} read ${r.median.bytesPerSec} B/s`);
      assert.equal(r.baseline, 'node-static');
    }
    removeOut(out);
  });

  it('compares the handler cases with uWebSockets.js, where it is there, and flags a busy machine', async function () {
    this.timeout(60000);
    if (uws.missing) {
      console.log(`      (uWebSockets.js not measured: ${uws.missing})`);
      this.skip();
    }
    const { report, out } = await runBench(['--quick', '--cases', 'hello-c50,post1k', '--servers', 'uring,node,uws']);
    assert.deepEqual(report.failed, []);
    for (const kase of ['hello-c50', 'post1k']) {
      const rows = report.results.filter((r) => r.case === kase);
      assert.deepEqual(rows.map((r) => r.server).sort(), ['node', 'uring', 'uws'], kase);
      for (const r of rows) {
        assert.ok(positive(r.rivalRatio), `${kase} ${r.server} vs uws is ${r.rivalRatio}`);
        assert.ok(positive(r.rivalCpu), `${kase} ${r.server} CPU vs uws is ${r.rivalCpu}`);
        for (const run of r.runs) {
          assert.ok(Number.isFinite(run.otherCpus) && run.otherCpus >= 0, `otherCpus ${run.otherCpus}`);
          assert.ok(Number.isFinite(run.loadBefore) && Number.isFinite(run.loadAfter));
          assert.equal(run.busy, run.otherCpus > 0.1);
        }
      }
      assert.equal(rows.find((r) => r.server === 'uws').rivalRatio, 1);
    }
    assert.equal(report.quiet, !report.results.some((r) => r.busy));
    removeOut(out);
  });

  it('runs the WebSocket cases under bench/wsload against node-uring, ws and uWebSockets.js where it is there', async function () {
    this.timeout(90000);
    const kases = ['ws-echo', 'ws-echo-pipelined', 'ws-broadcast'];
    const servers = ['uring-ws', 'ws', ...(uws.missing ? [] : ['uws-ws'])];
    const { report, out } = await runBench(['--quick', '--cases', kases.join(','), '--servers', servers.join(',')],
      { timeoutMs: 85000 });
    assert.deepEqual(report.failed, []);
    assert.match(report.wsload, /wsload-[0-9a-f]{16}$/);
    // node-uring's broadcast server needs wss.publish: measured once it is
    // there, else skipped in that case alone, with why.
    const publishSkipped = report.skipped.find((s) => s.server === 'uring-ws' && s.case === 'ws-broadcast');
    if (publishSkipped) assert.match(publishSkipped.reason, /publish/);
    for (const kase of kases) {
      const rows = report.results.filter((r) => r.case === kase);
      const expected = kase === 'ws-broadcast' && publishSkipped ? servers.filter((s) => s !== 'uring-ws') : servers;
      assert.deepEqual(rows.map((r) => r.server).sort(), [...expected].sort(), kase);
      for (const r of rows) {
        const what = `${kase} ${r.server}`;
        assert.equal(r.ratioOf, 'msgs', what);
        assert.equal(r.baseline, 'ws', what);
        for (const key of ['messagesPerSec', 'p50', 'p99', 'cpuUsPerMsg', 'rssMb', 'clientCpus']) {
          assert.ok(positive(r.median[key]), `${what} ${key} is ${r.median[key]}`);
        }
        assert.equal(r.median.errors, 0, `${what}: ${r.runs[0].firstError}`);
        assert.ok(positive(r.ratio), `${what} vs ws is ${r.ratio}`);
        if (r.server === 'ws') assert.equal(r.ratio, 1);
        if (uws.missing) assert.equal(r.rivalRatio, null);
        else assert.ok(positive(r.rivalRatio) && positive(r.rivalCpu), `${what} vs uws is ${r.rivalRatio}`);
        for (const run of r.runs) {
          assert.ok(Number.isFinite(run.otherCpus) && run.otherCpus >= 0, `otherCpus ${run.otherCpus}`);
          assert.equal(run.busy, run.otherCpus > 0.1);
        }
      }
    }
    // A broadcast delivers each published message to every subscriber.
    for (const r of report.results.filter((r) => r.case === 'ws-broadcast')) {
      for (const run of r.runs) assert.ok(run.messages >= (run.published - 16) * 1000, `${r.server}: ${run.messages} of ${run.published}`);
    }
    removeOut(out);
  });

  it('skips uWebSockets.js, saying why, when BENCH_UWS names a folder without it', async function () {
    this.timeout(30000);
    const { report, out } = await runBench(['--quick', '--cases', 'hello-c50', '--servers', 'node,uws'],
      { env: { BENCH_UWS: os.tmpdir() } });
    assert.deepEqual(report.results.map((r) => r.server), ['node']);
    assert.equal(report.results[0].rivalRatio, null);
    assert.deepEqual(report.skipped.map((s) => s.server), ['uws']);
    assert.match(report.skipped[0].reason, /has no uws\.js/);
    removeOut(out);
  });

  it('writes a --quick run to a scratch file, not over the committed results', async function () {
    this.timeout(30000);
    const latest = path.join(ROOT, 'bench', 'results', 'latest.json');
    const before = fs.statSync(latest).mtimeMs;
    const quick = path.join(os.tmpdir(), 'node-uring-bench', 'quick.json');
    fs.rmSync(quick, { force: true });
    await new Promise((resolve, reject) => {
      execFile(process.execPath, ['bench', '--quick', '--cases', 'hello-c50', '--servers', 'node'],
        { cwd: ROOT, timeout: 25000 }, (err) => (err ? reject(err) : resolve()));
    });
    assert.ok(fs.existsSync(quick), `${quick} was not written`);
    assert.equal(fs.statSync(latest).mtimeMs, before, 'bench/results/latest.json was overwritten');
  });

  it('skips nginx, saying why, when it is not installed', async function () {
    this.timeout(30000);
    const { report, out } = await runBench(['--quick', '--cases', 'route', '--servers', 'node,nginx'],
      { env: { BENCH_NGINX: path.join(os.tmpdir(), 'no-such-nginx') } });
    assert.deepEqual(report.results.map((r) => r.server), ['node']);
    assert.equal(report.skipped.length, 1);
    assert.equal(report.skipped[0].server, 'nginx');
    assert.match(report.skipped[0].reason, /no-such-nginx is not an executable/);
    removeOut(out);
  });
});
