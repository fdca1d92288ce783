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

const ROOT = path.join(__dirname, '..');
const hasWrk = !spawnSync('wrk', ['-v']).error;

const positive = (n) => Number.isFinite(n) && n > 0;

describe('node bench', () => {
  it('measures uring and node:http in a quick hello-c50 run, and Ring and fs.promises, and charts them', function (done) {
    skipOnNodeBackend(this, '`node bench` starts its own servers, whatever the backend');
    if (!hasWrk) this.skip();
    this.timeout(60000);
    // Not bench/results/latest.json: a test must not overwrite a real run.
    const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'node-uring-bench-')), 'results.json');
    const args = ['bench', '--quick', '--cases', 'hello-c50,ring-random4k', '--servers', 'uring,node', '--json', '--out', out];
    execFile(process.execPath, args, { cwd: ROOT, timeout: 55000 }, (err, stdout, stderr) => {
      try {
        assert.ifError(err && new Error(`node bench failed: ${err.message}\n${stderr}`));
        const report = JSON.parse(stdout);
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
        fs.rmSync(path.dirname(out), { recursive: true, force: true });
        done();
      } catch (e) {
        done(e);
      }
    });
  });
});
