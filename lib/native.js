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

// TEMPORARY (issue 12): the batch layout's word offsets and record sizes,
// until the addon exports them itself (branch c-structure, its `batch:`
// commit). Only the names the addon does not export are filled in, so that
// lib/batch.js reads the same constants either way. Delete this block once
// that commit is merged.
const BATCH_LAYOUT = {
  REC_KIND: 0, REC_SLOT: 1, REC_GEN: 2,
  OPEN_FAMILY: 3, OPEN_PORT: 4, OPEN_ADDR_OFF: 5, OPEN_WORDS: 6,
  REQUEST_SEQ: 3, REQUEST_INFO: 4, REQUEST_HEAD_OFF: 5, REQUEST_NLENS: 6, REQUEST_LENS: 7,
  REQUEST_WORDS: 7,
  BODY_OFF: 3, BODY_LEN: 4, BODY_WORDS: 5,
  END_WORDS: 3, CLOSE_WORDS: 3, TIMEOUT_WORDS: 3, STOPPED_WORDS: 1,
  DRAIN_SENT_LO: 3, DRAIN_SENT_HI: 4, DRAIN_WORDS: 5,
};
if (module.exports.constants !== undefined) {
  for (const [name, value] of Object.entries(BATCH_LAYOUT)) {
    if (!Object.hasOwn(module.exports.constants, name)) module.exports.constants[name] = value;
  }
}
