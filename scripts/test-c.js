#!/usr/bin/env node
'use strict';

// `npm run test:c`: the C core's unit tests. Builds each test/c/<module>_test.c
// with the sources it tests (SUITES below) under AddressSanitizer and
// UBSan, every sanitizer error fatal, into build/c/, and runs it. A test
// prints each failed check's file:line and values; the run fails if any
// suite does not build, fails a check, or is missing from SUITES.
// CC picks the compiler (gcc by default).

const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const root = path.join(__dirname, '..');
const out = path.join(root, 'build', 'c');

// Each suite's sources besides its test: the module, and what it calls.
const SUITES = {
  conditional: ['src/static/conditional.c', 'src/http/date.c'],
  conn: ['src/http/conn.c', 'src/http/wsconn.c', 'src/http/out.c', 'src/http/pubsub.c', 'src/http/out_pool.c', 'src/core/grow.c',
    'src/http/batch.c', 'src/core/handoff.c', 'src/ws/frame.c', 'src/ws/utf8.c'],
  date: ['src/http/date.c'],
  head_end: ['src/http/head_end.c'],
  mime: ['src/static/mime.c'],
  mount: ['src/static/mount.c'],
  out: ['src/http/out.c', 'src/http/pubsub.c', 'src/http/out_pool.c'],
  out_pool: ['src/http/out_pool.c'],
  pubsub: ['src/http/pubsub.c'],
  timeout: ['src/http/timeout.c'],
  topics: ['src/http/topics.c'],
  ws: ['src/ws/frame.c', 'src/ws/handshake.c', 'src/ws/utf8.c'],
};

const FLAGS = [
  '-std=gnu11', '-D_GNU_SOURCE', '-g', '-O1', '-fno-omit-frame-pointer',
  '-Wall', '-Wextra', '-Werror', '-Wno-unused-parameter',
  '-fsanitize=address,undefined', '-fno-sanitize-recover=all',
  ...['src', 'src/core', 'src/http', 'src/static', 'src/ws', 'test/c'].flatMap((d) => ['-I', path.join(root, d)]),
  '-I', '/usr/share/include/llhttp', // conn.h holds a parser
];

function run(cmd, args, env) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env });
  return r.status === 0;
}

const found = fs.readdirSync(path.join(root, 'test', 'c'))
  .filter((f) => f.endsWith('_test.c')).map((f) => f.slice(0, -'_test.c'.length)).sort();
const unknown = found.filter((name) => !SUITES[name]);
const missing = Object.keys(SUITES).filter((name) => !found.includes(name));
if (unknown.length || missing.length) {
  console.error(`test:c: no SUITES entry for ${unknown.join(', ') || '-'}; ` +
    `no test/c file for ${missing.join(', ') || '-'}`);
  process.exit(1);
}

fs.mkdirSync(out, { recursive: true });
const cc = process.env.CC || 'gcc';
const failed = [];
for (const name of found) {
  const binary = path.join(out, `${name}_test`);
  const sources = [`test/c/${name}_test.c`, ...SUITES[name]].map((f) => path.join(root, f));
  const ok = run(cc, [...FLAGS, ...sources, '-o', binary]) &&
    run(binary, [], { ...process.env, ASAN_OPTIONS: 'detect_leaks=1:abort_on_error=1', UBSAN_OPTIONS: 'print_stacktrace=1' });
  if (!ok) failed.push(name);
}
console.log(`test:c: ${found.length - failed.length} of ${found.length} suites passed` +
  (failed.length ? `; failed: ${failed.join(', ')}` : ''));
process.exitCode = failed.length ? 1 : 0;
