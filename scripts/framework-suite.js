'use strict';

// Runs a framework's own test suite (mocha files, as Express's, Koa's and
// Fastify's are, or node:test files) twice: on node:http, then with every
// http.createServer() of the run made by node-uring (backend 'uring'),
// which is what supertest and app.listen() call. Reports each run's pass
// count and the tests that pass on node:http but not on node-uring.
//
//   node scripts/framework-suite.js [--mocha-args '...'] DIR [FILE...]
//
// DIR holds the suite's test files (*.js directly in it, or the FILEs
// named), laid out as the suite expects (Express's tests require('..')
// for express itself). The suites are not shipped with the packages nor
// kept here: bring your own copy. Exit code 1 when a test passes on
// node:http only.
//
// Run with --preload (internal): the module that swaps http.createServer.

const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const ROOT = path.join(__dirname, '..');

// In a test process of the node-uring run: http.createServer() is node-
// uring's createServer, with the same signature.
function preload() {
  const http = require('node:http');
  const { createServer } = require(ROOT);
  http.createServer = function createUringServer(options, handler) {
    if (typeof options === 'function' || options === undefined) [options, handler] = [{}, options];
    return createServer({ ...options, backend: 'uring' }, handler);
  };
}

// Runs the files with mocha, its JSON reporter to a file: { passed:
// Set<title>, failed: Set<title>, pending }.
function runMocha(dir, files, uring, extra) {
  const out = path.join(require('node:os').tmpdir(), `framework-suite-${process.pid}-${uring}.json`);
  const args = [require.resolve('mocha/bin/mocha.js'), '--no-config', '--exit', '--timeout', '10000',
    '--reporter', 'json', '--reporter-option', `output=${out}`, ...extra];
  if (uring) args.push('--require', __filename);
  const env = { ...process.env, NODE_PATH: path.join(ROOT, 'node_modules'), FRAMEWORK_SUITE_URING: uring ? '1' : '' };
  const r = spawnSync(process.execPath, [...args, ...files], { cwd: dir, env, stdio: ['ignore', 'ignore', 'pipe'], timeout: 600000 });
  if (!fs.existsSync(out)) throw new Error(`mocha wrote no report (${r.status}): ${r.stderr}`);
  const report = JSON.parse(fs.readFileSync(out, 'utf8'));
  fs.unlinkSync(out);
  return {
    passed: new Set(report.passes.map((t) => t.fullTitle)),
    failed: new Map(report.failures.map((t) => [t.fullTitle, t.err.message])),
    pending: report.pending.length,
  };
}

function main(argv) {
  let extra = [];
  const rest = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--mocha-args') extra = argv[++i].split(/\s+/).filter(Boolean);
    else rest.push(argv[i]);
  }
  const [dir, ...named] = rest;
  if (!dir) {
    console.error('usage: node scripts/framework-suite.js [--mocha-args ARGS] DIR [FILE...]');
    process.exit(2);
  }
  const files = named.length > 0 ? named
    : fs.readdirSync(dir).filter((f) => f.endsWith('.js')).sort();
  const node = runMocha(dir, files, false, extra);
  const uring = runMocha(dir, files, true, extra);
  const lost = [...node.passed].filter((t) => !uring.passed.has(t));
  console.log(`${files.length} files`);
  console.log(`node:http:  ${node.passed.size} passing, ${node.failed.size} failing, ${node.pending} pending`);
  console.log(`node-uring: ${uring.passed.size} passing, ${uring.failed.size} failing, ${uring.pending} pending`);
  for (const title of lost) console.log(`  passes on node:http only: ${title}\n    ${uring.failed.get(title) ?? '(not run)'}`);
  process.exitCode = lost.length > 0 ? 1 : 0;
}

if (require.main === module) main(process.argv.slice(2));
else if (process.env.FRAMEWORK_SUITE_URING === '1') preload();
