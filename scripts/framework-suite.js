'use strict';

// Runs a framework's own test suite (mocha files, as Express's are,
// node:test files, as Koa's, or Vitest files, as @hono/node-server's)
// twice: on node:http, then with every http.createServer() of the run
// made by node-uring (backend 'uring'), which is what supertest and
// app.listen() call. Reports each run's pass count and the tests that
// pass on node:http but not on node-uring.
//
//   node scripts/framework-suite.js [--mocha-args '...'] DIR [FILE...]
//
// DIR holds the suite's test files (*.js directly in it, or the FILEs
// named, relative to DIR), laid out as the suite expects (Express's tests
// require('..') for express itself); they run with DIR as the working
// directory. Files that require('node:test') run under node --test, the
// others under mocha. The suites are not shipped with the packages nor
// kept here: bring your own copy. A DIR with a vitest.config.* is a
// Vitest project (its own vitest installed in it): the FILEs, relative to
// DIR, run with `vitest run` in child processes (pool 'forks'), which get
// the node-uring run's preload through NODE_OPTIONS (what NODE_OPTIONS
// already holds, --expose-gc for instance, goes to both runs). Exit code
// 1 when a test passes on node:http only. FRAMEWORK_SUITE_RING_THREAD=1
// makes the node-uring run's servers with ringThread: true (a ring thread
// instead of the JS thread driving the ring), to tell whether a failure
// is the default's.
//
// Run with --preload (internal): the module that swaps http.createServer.

const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const ROOT = path.join(__dirname, '..');

// In a test process of the node-uring run: http.createServer() is node-
// uring's createServer, with the same signature, for require('node:http')
// and import { createServer } from 'node:http' alike.
function preload() {
  const http = require('node:http');
  const { createServer } = require(ROOT);
  // FRAMEWORK_SUITE_RING_THREAD=1 (see the top of this file).
  const ringThread = process.env.FRAMEWORK_SUITE_RING_THREAD === '1' ? { ringThread: true } : {};
  http.createServer = function createUringServer(options, handler) {
    // createServer(handler), or (options, handler) with options possibly
    // undefined, as Fastify passes its `http` option.
    if (typeof options === 'function') [options, handler] = [{}, options];
    return createServer({ ...options, backend: 'uring', ...ringThread }, handler);
  };
  // ESM's `import { createServer } from 'node:http'` (@hono/node-server's
  // dist) reads a copy of the exports: bring it up to date.
  require('node:module').syncBuiltinESMExports();
}

// Runs a test process in dir, the node-uring run with this file preloaded
// (in every process of the run, children too, when viaEnv); returns the
// report it wrote to `out`, deleted.
function runReport(dir, args, uring, out, viaEnv = false) {
  const env = { ...process.env, NODE_PATH: path.join(ROOT, 'node_modules'), FRAMEWORK_SUITE_URING: uring ? '1' : '' };
  if (uring && viaEnv) env.NODE_OPTIONS = `${env.NODE_OPTIONS ?? ''} --require ${__filename}`.trim();
  const preload = uring && !viaEnv ? ['--require', __filename] : [];
  const r = spawnSync(process.execPath, [...preload, ...args], {
    cwd: dir, env, stdio: ['ignore', 'ignore', 'pipe'], timeout: 600000,
  });
  if (!fs.existsSync(out)) throw new Error(`the run wrote no report (${r.status}): ${r.stderr}`);
  const report = fs.readFileSync(out, 'utf8');
  fs.unlinkSync(out);
  return report;
}

function reportFile(uring) {
  return path.join(require('node:os').tmpdir(), `framework-suite-${process.pid}-${uring}`);
}

// Runs the files with mocha, its JSON reporter to a file: { passed:
// Set<title>, failed: Map<title, message>, pending }.
function runMocha(dir, files, uring, extra) {
  const out = reportFile(uring);
  const report = JSON.parse(runReport(dir, [require.resolve('mocha/bin/mocha.js'), '--no-config', '--exit',
    '--timeout', '10000', '--reporter', 'json', '--reporter-option', `output=${out}`, ...extra, ...files],
  uring, out));
  return {
    passed: new Set(report.passes.map((t) => t.fullTitle)),
    failed: new Map(report.failures.map((t) => [t.fullTitle, t.err.message])),
    pending: report.pending.length,
  };
}

function unescapeXml(s) {
  return s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&amp;/g, '&');
}

// Runs the files with node --test, its JUnit reporter to a file, read
// back into runMocha()'s shape (titles are the suites' and the test's
// names, space-separated, as mocha's fullTitle).
function runNodeTest(dir, files, uring) {
  const out = reportFile(uring);
  // node:test has no timeout of its own: a test that hangs fails instead.
  const xml = runReport(dir, ['--test', '--test-timeout=30000', '--test-reporter=junit',
    `--test-reporter-destination=${out}`, ...files],
    uring, out);
  const result = { passed: new Set(), failed: new Map(), pending: 0 };
  const suites = [];
  // Attribute values may hold a raw '>'.
  const tag = /<(\/?)(testsuite|testcase|skipped|failure)\b((?:[^>"]|"[^"]*")*?)(\/?)>/g;
  let current = null;
  for (let m; (m = tag.exec(xml)) !== null;) {
    const [, closing, name, attrs, selfClosing] = m;
    const title = unescapeXml(/\bname="([^"]*)"/.exec(attrs)?.[1] ?? '');
    if (name === 'testsuite') {
      if (closing) suites.pop();
      else suites.push(title);
    } else if (name === 'testcase' && !closing) {
      current = { title: [...suites, title].join(' '), state: 'passed' };
      if (selfClosing) current = settle(result, current);
    } else if (name === 'testcase') {
      current = settle(result, current);
    } else if (current !== null && !closing) {
      current.state = name;
      current.message = unescapeXml(/\bmessage="([^"]*)"/.exec(attrs)?.[1] ?? '');
    }
  }
  return result;
}

// Runs the files with Vitest, its JSON reporter (Jest's shape) to a file,
// read back into runMocha()'s shape; a title is the file's, then the
// describe blocks' and the test's, ' > ' between, as Vitest prints them.
function runVitest(dir, files, uring) {
  const vitest = path.join(path.dirname(require.resolve('vitest/package.json', { paths: [dir] })), 'vitest.mjs');
  const out = reportFile(uring);
  const report = JSON.parse(runReport(dir, [vitest, 'run', '--pool=forks', '--reporter=json',
    `--outputFile=${out}`, ...files], uring, out, true));
  const result = { passed: new Set(), failed: new Map(), pending: 0 };
  for (const file of report.testResults) {
    for (const t of file.assertionResults) {
      const title = [path.relative(dir, file.name), ...t.ancestorTitles, t.title].join(' > ');
      if (t.status === 'passed') result.passed.add(title);
      else if (t.status === 'failed') result.failed.set(title, t.failureMessages.join('\n').split('\n')[0]);
      else result.pending++;
    }
  }
  return result;
}

function settle(result, test) {
  if (test.state === 'passed') result.passed.add(test.title);
  else if (test.state === 'failure') result.failed.set(test.title, test.message);
  else result.pending++;
  return null;
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
  const vitest = fs.readdirSync(dir).some((f) => /^vitest\.config\.[cm]?[jt]s$/.test(f));
  const nodeTest = !vitest &&
    files.some((f) => /require\(['"]node:test['"]\)/.test(fs.readFileSync(path.resolve(dir, f), 'latin1')));
  const run = (uring) => (vitest ? runVitest(dir, files, uring)
    : nodeTest ? runNodeTest(dir, files, uring) : runMocha(dir, files, uring, extra));
  const node = run(false);
  const uring = run(true);
  const lost = [...node.passed].filter((t) => !uring.passed.has(t));
  console.log(`${files.length} files`);
  console.log(`node:http:  ${node.passed.size} passing, ${node.failed.size} failing, ${node.pending} pending`);
  console.log(`node-uring: ${uring.passed.size} passing, ${uring.failed.size} failing, ${uring.pending} pending`);
  for (const title of lost) console.log(`  passes on node:http only: ${title}\n    ${uring.failed.get(title) ?? '(not run)'}`);
  process.exitCode = lost.length > 0 ? 1 : 0;
}

if (require.main === module) main(process.argv.slice(2));
else if (process.env.FRAMEWORK_SUITE_URING === '1') preload();
