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
// The HTTP layer and what it stands on (see binding.gyp): the harness sees
// the headers the http layer sees, no more, and links no Ring code.
const sources = [
  'fuzz/http_fuzz.c',
  'src/http/http.c', 'src/http/batch.c', 'src/http/conn.c', 'src/http/out.c', 'src/http/out_pool.c', 'src/http/route.c',
  'src/http/date.c', 'src/http/head_end.c', 'src/core/handoff.c', 'src/core/grow.c',
  'src/static/file.c', 'src/static/conditional.c', 'src/static/mime.c', 'src/static/mount.c',
  'src/http/llhttp/llhttp_api.c', 'src/http/llhttp/llhttp_http.c',
  'src/http/llhttp/llhttp_llhttp.c',
].map((f) => path.join(root, f));
const includes = ['src', 'src/core', 'src/http', 'src/static']
  .flatMap((d) => ['-I', path.join(root, d)]);

function build() {
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
