'use strict';

// Hostile and malformed requests over raw sockets, each held to an exact
// outcome: the statuses sent (an error status at most once, and nothing
// after it), whether the connection closes, and how many requests reached
// the handler. The table is test/fixtures/bad_input.js; its expectations
// come from node:http (Node 20, llhttp 9, default options), as
// test/fixtures/bad_input_oracle.js shows by running the same table against
// it; where we differ on purpose, the table says so and why.

const assert = require('node:assert/strict');
const { BACKEND, startServer, cleanup, request } = require('./helpers');
const { CASES, runCase, handler, expected } = require('./fixtures/bad_input');

// Cases short enough to also send one byte at a time, which makes the
// server meet every boundary between two reads.
const DRIP_MAX = 600;

// The table's outcome for the backend under test: node:http's on the
// node:http backend (npm run test:node-backend), but for the framing that
// backend refuses itself (`framing`, lib/framing.js). node:http answers
// pipelined input as node-uring does when it arrives a byte at a time, and
// as its `node` outcome says only when it comes in one read.
function which(c, drip) {
  return BACKEND === 'node' && !c.framing && !(drip && c.expect.responses.length > 1) ? 'node' : 'uring';
}

function describeOutcome(e) {
  const statuses = e.responses.length ? e.responses.join(', ') : 'no response';
  return `${statuses}, ${e.end === 'closed' ? 'then closes' : 'stays open'}`;
}

async function check(port, handled, c, options) {
  const node = which(c, options && options.drip) === 'node';
  const want = expected(c, node ? 'node' : 'uring');
  const got = await runCase(port, c, { ...options, expect: (node && c.node) || c.expect });
  assert.deepEqual(
    { responses: got.responses, end: got.end },
    { responses: want.responses, end: want.end },
    `received ${JSON.stringify(got.heads.map((h) => h.split('\r\n')[0]))}, then ${JSON.stringify(got.rest.slice(0, 100))}`,
  );
  assert.equal(got.rest, '', 'bytes after the last response');
  const calls = handled.filter((h) => !h.endsWith(' /follow-up'));
  assert.equal(calls.length, want.handled, `handler calls: ${JSON.stringify(calls)}`);
  got.responses.forEach((status, i) => {
    if (status !== 200 && want.end === 'closed') assert.match(got.heads[i], /\r\nConnection: close\r\n/i, 'an error response closes');
  });
  for (const [i, fields] of (c.seen || []).entries()) {
    const seen = JSON.parse(got.bodies[i]);
    for (const [key, value] of Object.entries(fields)) {
      assert.deepEqual(seen[key], value, `the handler's req: ${key}`);
    }
  }
  // The server still serves everyone else.
  const { res, body } = await request(port, { path: '/after' });
  assert.equal(res.statusCode, 200);
  assert.equal(JSON.parse(body).url, '/after');
}

describe('bad input, as node:http answers it', function () {
  let port;
  let handled;
  beforeEach(async () => {
    handled = [];
    ({ port } = await startServer(handler(handled)));
  });
  afterEach(cleanup);

  it(`has at least 40 cases, each named once (${CASES.length})`, () => {
    assert.ok(CASES.length >= 40);
    assert.equal(new Set(CASES.map((c) => c.name)).size, CASES.length);
  });

  for (const c of CASES) {
    it(`${c.name}: ${describeOutcome(expected(c, which(c)))}`, () => check(port, handled, c));
  }

  describe('sent one byte at a time', () => {
    for (const c of CASES.filter((k) => k.raw.length <= DRIP_MAX)) {
      it(c.name, () => check(port, handled, c, { drip: true }));
    }
  });
});
