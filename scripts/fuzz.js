#!/usr/bin/env node
'use strict';

// `npm run fuzz [-- http|ws] [libFuzzer flags]`: builds each harness
// (fuzz/http_fuzz.c, the C request path; fuzz/ws_fuzz.c, a connection in
// WebSocket mode) with clang's libFuzzer, ASan and UBSan into build/fuzz/,
// then fuzzes it from its seeds in fuzz/ (new inputs it finds go to
// build/fuzz/, so the checked-in seeds stay as they are). Without flags
// each runs for 60 seconds (-max_total_time=60). A crash leaves its input
// in build/fuzz/ and fails the run.

const fs = require('node:fs');
const path = require('node:path');
const { execFileSync, spawnSync } = require('node:child_process');

const root = path.join(__dirname, '..');
const out = path.join(root, 'build', 'fuzz');
const llhttp = [
  'src/http/llhttp/llhttp_api.c', 'src/http/llhttp/llhttp_http.c', 'src/http/llhttp/llhttp_llhttp.c',
];
// Each harness, with what it stands on (see binding.gyp): it sees the
// headers its layer sees, no more, and links no Ring code.
const TARGETS = {
  // The HTTP request path.
  http: {
    sources: [
      'fuzz/http_fuzz.c',
      'src/http/http.c', 'src/http/batch.c', 'src/http/conn.c', 'src/http/out.c', 'src/http/pubsub.c', 'src/http/out_pool.c', 'src/http/route.c',
      'src/http/date.c', 'src/http/head_end.c', 'src/core/handoff.c', 'src/core/grow.c',
      'src/static/file.c', 'src/static/conditional.c', 'src/static/mime.c', 'src/static/mount.c',
      'src/http/wsconn.c', 'src/ws/frame.c', 'src/ws/utf8.c',
      ...llhttp,
    ],
    dict: 'fuzz/http.dict', corpus: 'fuzz/corpus', maxLen: 8192,
  },
  // A connection in WebSocket mode: the frame parser, and what the ring
  // thread makes of its frames.
  ws: {
    sources: [
      'fuzz/ws_fuzz.c',
      'src/http/wsconn.c', 'src/http/batch.c', 'src/http/conn.c', 'src/http/out.c', 'src/http/pubsub.c', 'src/http/out_pool.c',
      'src/core/handoff.c', 'src/core/grow.c', 'src/ws/frame.c', 'src/ws/utf8.c',
    ],
    dict: null, corpus: 'fuzz/ws_corpus', maxLen: 4096,
  },
};
const includes = ['src', 'src/core', 'src/http', 'src/static', 'src/ws']
  .flatMap((d) => ['-I', path.join(root, d)]);

function build(name) {
  fs.mkdirSync(out, { recursive: true });
  // llhttp's parser as binding.gyp compiles it: patched, into out/.
  execFileSync(process.execPath, [
    path.join(root, 'scripts', 'llhttp_patch.js'), '/usr/share/llhttp/llhttp.c',
    path.join(out, 'llhttp_patched.c'),
  ], { stdio: 'inherit' });
  execFileSync('clang', [
    '-I', out,
    '-g', '-O1', '-std=gnu11', '-D_GNU_SOURCE',
    '-fsanitize=fuzzer,address,undefined', '-fno-sanitize-recover=undefined',
    ...includes, '-I', '/usr/share/include/llhttp',
    ...TARGETS[name].sources.map((f) => path.join(root, f)), '-o', path.join(out, `${name}_fuzz`),
  ], { stdio: 'inherit' });
}

// `npm run fuzz [-- http|ws] [libFuzzer flags]`: one harness, or each in
// turn for the time given.
const args = process.argv.slice(2);
const names = args.length > 0 && TARGETS[args[0]] ? [args.shift()] : Object.keys(TARGETS);
const flags = args;
if (!flags.some((f) => f.startsWith('-max_total_time=') || f.startsWith('-runs='))) {
  flags.push('-max_total_time=60');
}
for (const name of names) {
  try {
    build(name);
  } catch {
    console.error('npm run fuzz: the build failed; it needs clang with libFuzzer ' +
      '(apt-get install clang libclang-rt-14-dev) and node-llhttp');
    process.exit(1);
  }
  const t = TARGETS[name];
  const corpus = path.join(out, name === 'http' ? 'corpus' : `${name}_corpus`);
  fs.mkdirSync(corpus, { recursive: true });
  const run = spawnSync(path.join(out, `${name}_fuzz`), [
    `-artifact_prefix=${out}/${name}-`, ...(t.dict ? [`-dict=${path.join(root, t.dict)}`] : []),
    `-max_len=${t.maxLen}`, '-print_final_stats=1', ...flags,
    corpus, path.join(root, t.corpus),
  ], { stdio: 'inherit' });
  if (run.status !== 0) {
    process.exitCode = run.status ?? 1;
    break;
  }
}
