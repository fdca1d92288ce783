'use strict';

// One MIME table: the ring thread's (src/static/mime.c, exported by the
// addon as mimeTypes) and the node backend's copy (lib/static.js) must be
// the same entries in the same order, so that a type added to one and not
// the other fails here.

const assert = require('node:assert/strict');
const native = require('../lib/native');
const { CONTENT_TYPES } = require('../lib/static');

describe('the MIME table', () => {
  it("lib/static.js's is the ring thread's, entry for entry", () => {
    assert.ok(Array.isArray(native.mimeTypes), 'the addon exports mimeTypes');
    assert.ok(native.mimeTypes.length > 0);
    assert.deepEqual([...CONTENT_TYPES], native.mimeTypes);
  });

  it('names each extension once, in lower case', () => {
    const exts = native.mimeTypes.map(([ext]) => ext);
    assert.deepEqual(exts, [...new Set(exts)]);
    for (const ext of exts) assert.match(ext, /^[a-z0-9]+$/);
  });
});
