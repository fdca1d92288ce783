'use strict';

// Loads the addon once. NODE_URING_BINARY points at another build (the ASan
// one, for instance); the default is what `npm install` built.
//
// A missing or broken addon does not make require('node-uring') throw: the
// node:http backend needs no addon. This module then exports only
// `loadError` (code ERR_URING_ADDON), which lib/server.js reports or falls
// back on, as backend says.
const path = require('node:path');

const file = process.env.NODE_URING_BINARY ? path.resolve(process.env.NODE_URING_BINARY) :
  path.join(__dirname, '..', 'build', 'Release', 'node_uring.node');

try {
  module.exports = require(file);
} catch (err) {
  const e = new Error(
    `node-uring: cannot load its native addon (${file}): ${err.message}. ` +
    'Run `npm install` (or `npm run build`) in the package directory; it ' +
    'needs liburing-dev and node-llhttp (apt-get install liburing-dev ' +
    'node-llhttp) and a C compiler.', { cause: err });
  e.code = 'ERR_URING_ADDON';
  module.exports = { loadError: e };
}
