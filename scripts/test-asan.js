'use strict';

// `npm run test:asan`: builds the addon with AddressSanitizer and UBSan into
// build/Debug, then runs the mocha suite against it. A plain node binary
// does not load the ASan runtime by itself, so it is preloaded; leak
// detection is left to valgrind, since node itself keeps memory at exit.
const { execFileSync, spawnSync } = require('node:child_process');
const path = require('node:path');

const root = path.join(__dirname, '..');
const gyp = require.resolve('node-gyp/bin/node-gyp.js');

function run(cmd, args, env) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

run(process.execPath, [gyp, 'configure', '--debug', '--', '-Dnu_asan=1']);
run(process.execPath, [gyp, 'build', '--debug']);

const runtime = (name) =>
  execFileSync('gcc', [`-print-file-name=${name}`], { encoding: 'latin1' }).trim();

run(process.execPath, [require.resolve('mocha/bin/mocha.js'), ...process.argv.slice(2)], {
  ...process.env,
  NODE_URING_BINARY: path.join(root, 'build', 'Debug', 'node_uring.node'),
  LD_PRELOAD: [runtime('libasan.so'), runtime('libubsan.so')].join(':'),
  ASAN_OPTIONS: 'detect_leaks=0:abort_on_error=1:halt_on_error=1',
  UBSAN_OPTIONS: 'print_stacktrace=1:halt_on_error=1',
});
