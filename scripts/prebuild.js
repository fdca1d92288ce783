'use strict';

// `npm run prebuild` (and `npm pack`, through prepack): builds the binary
// the npm package ships, prebuilds/<platform>-<arch>/node-uring.napi.glibc.node:
// Node-API only (NAPI_VERSION 8, see binding.gyp), so one binary serves
// every Node from 18 on; stripped; tagged glibc, so that node-gyp-build
// does not offer it to a musl system. node-gyp is pointed at this Node's
// headers, so nothing is downloaded.
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { nodeGypEnv } = require('./nodedir');

const root = path.join(__dirname, '..');
const bin = require.resolve('prebuildify/bin.js');
const run = spawnSync(process.execPath, [bin, '--napi', '--strip', '--tag-libc', ...process.argv.slice(2)], {
  cwd: root, env: nodeGypEnv(), stdio: 'inherit',
});
process.exitCode = run.status ?? 1;
