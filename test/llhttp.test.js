'use strict';

// The addon must parse with its own llhttp (Debian's node-llhttp 8.1.0), not
// bind to the copy inside the node binary, whose struct layout differs. When
// it binds to node's, header callbacks go missing: check that every header
// of two pipelined requests arrives.

const assert = require('node:assert/strict');
const { skipOnNodeBackend, startServer, cleanup, rawRequest } = require('./helpers');

const HEADERS = [
  ['Host', 'example.test'],
  ['User-Agent', 'llhttp-check/1.0'],
  ['Accept', '*/*'],
  ['X-First', 'one'],
  ['X-Second', 'two'],
  ['X-Third', 'three'],
  ['Cache-Control', 'no-cache'],
];

function requestWith(path, extra) {
  const lines = [...HEADERS, ['X-Request', extra]].map(([k, v]) => `${k}: ${v}\r\n`).join('');
  return `GET ${path} HTTP/1.1\r\n${lines}\r\n`;
}

describe('llhttp ownership', () => {
  afterEach(cleanup);

  it('sees every header of two pipelined requests', async () => {
    const seen = [];
    const { port } = await startServer((req, res) => {
      seen.push({ url: req.url, headers: { ...req.headers }, rawHeaders: [...req.rawHeaders] });
      res.end(req.url);
    });
    const { responses } = await rawRequest(port, requestWith('/first', 'a') + requestWith('/second', 'b'), 2);
    assert.deepEqual(responses.map((r) => r.body.toString()), ['/first', '/second']);
    assert.equal(seen.length, 2);
    for (const [i, extra] of ['a', 'b'].entries()) {
      const expected = [...HEADERS, ['X-Request', extra]];
      assert.equal(seen[i].rawHeaders.length, expected.length * 2, `rawHeaders of request ${i + 1}`);
      assert.deepEqual(seen[i].rawHeaders, expected.flat());
      for (const [name, value] of expected) {
        assert.equal(seen[i].headers[name.toLowerCase()], value, `${name} of request ${i + 1}`);
      }
    }
  });

  it('reports the llhttp version it was built with: Debian 8.1.0, not node\'s', function () {
    skipOnNodeBackend(this, 'node:http parses with node\'s own llhttp');
    const native = require('../lib/native.js');
    assert.equal(
      typeof native.llhttpVersion,
      'string',
      'lib/native.js must export llhttpVersion, the LLHTTP_VERSION_* the addon was compiled with',
    );
    assert.equal(native.llhttpVersion, '8.1.0');
    assert.notEqual(native.llhttpVersion, process.versions.llhttp);
  });

  // The build patches Debian's llhttp 8.1 (scripts/llhttp_patch.js); a
  // source it does not know must fail the build, not compile half-patched.
  it('refuses to patch an llhttp whose source it does not know', () => {
    const { patch } = require('../scripts/llhttp_patch.js');
    const source = require('node:fs').readFileSync('/usr/share/llhttp/llhttp.c', 'latin1');
    assert.match(patch(source), /s_n_llhttp__internal__n_chunk_extension_quoted_value_quoted_pair:/);
    assert.match(patch(source), /s_n_llhttp__internal__n_after_start_req_nu_query:/);
    assert.throws(() => patch(source.replace(/pause_9/g, 'pause_99')), /occurs 0 time\(s\), not twice/);
    assert.throws(() => patch(patch(source)), /not twice/);
  });
});
