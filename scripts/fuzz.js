#!/usr/bin/env node
'use strict';

// `npm run fuzz [-- libFuzzer flags]`: builds fuzz/http_fuzz.c with clang's
// libFuzzer, ASan and UBSan into build/fuzz/, then fuzzes the C request
// path from the seeds in fuzz/corpus (new inputs it finds go to
// build/fuzz/corpus, so the checked-in seeds stay as they are). Without
// flags it runs for 60 seconds (-max_total_time=60). A crash leaves its
// input in build/fuzz/ and fails the run.

const fs = require('node:fs');
const path = require('node:path');
const { execFileSync, spawnSync } = require('node:child_process');

const root = path.join(__dirname, '..');
const out = path.join(root, 'build', 'fuzz');
const binary = path.join(out, 'http_fuzz');
const sources = [
  'fuzz/http_fuzz.c',
  'src/http.c', 'src/conn.c', 'src/handoff.c', 'src/grow.c', 'src/ops.c', 'src/route.c',
  'src/date.c', 'src/file.c', 'src/mime.c', 'src/mount.c',
  'src/llhttp/llhttp_api.c', 'src/llhttp/llhttp_http.c', 'src/llhttp/llhttp_llhttp.c',
].map((f) => path.join(root, f));

function build() {
  fs.mkdirSync(out, { recursive: true });
  execFileSync('clang', [
    '-g', '-O1', '-std=gnu11', '-D_GNU_SOURCE',
    '-fsanitize=fuzzer,address,undefined', '-fno-sanitize-recover=undefined',
    '-I', path.join(root, 'src'), '-I', '/usr/share/include/llhttp',
    ...sources, '-o', binary,
  ], { stdio: 'inherit' });
}

try {
  build();
} catch {
  console.error('npm run fuzz: the build failed; it needs clang with libFuzzer ' +
    '(apt-get install clang libclang-rt-14-dev) and node-llhttp');
  process.exit(1);
}
const corpus = path.join(out, 'corpus');
fs.mkdirSync(corpus, { recursive: true });
const flags = process.argv.slice(2);
if (!flags.some((f) => f.startsWith('-max_total_time=') || f.startsWith('-runs='))) {
  flags.push('-max_total_time=60');
}
const run = spawnSync(binary, [
  `-artifact_prefix=${out}/`, `-dict=${path.join(root, 'fuzz', 'http.dict')}`,
  '-max_len=8192', '-print_final_stats=1', ...flags,
  corpus, path.join(root, 'fuzz', 'corpus'),
], { stdio: 'inherit' });
process.exitCode = run.status ?? 1;
