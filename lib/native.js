'use strict';

// Loads the addon once: NODE_URING_BINARY if set (the ASan build, for
// instance), else what node-gyp-build finds: a build from source
// (build/Release) before the prebuilt binary the npm package ships
// (prebuilds/<platform>-<arch>/).
//
// A missing or broken addon does not make require('node-uring') throw: the
// node:http backend needs no addon. This module then exports only
// `loadError` (code ERR_URING_ADDON), which lib/server.js reports or falls
// back on, as backend says.
const path = require('node:path');

const root = path.join(__dirname, '..');

function load() {
  if (process.env.NODE_URING_BINARY) return require(path.resolve(process.env.NODE_URING_BINARY));
  return require('node-gyp-build')(root);
}

try {
  module.exports = load();
} catch (err) {
  const e = new Error(
    `node-uring: cannot load its native addon: ${err.message.trim()}. ` +
    'Run `npm install` (or `npm run build`) in the package directory; a ' +
    'build from source needs liburing-dev and node-llhttp (apt-get install ' +
    'liburing-dev node-llhttp) and a C compiler.', { cause: err });
  e.code = 'ERR_URING_ADDON';
  module.exports = { loadError: e };
}
