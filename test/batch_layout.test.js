'use strict';

// The batch format's constants (src/http/batch.h), as the addon exports
// them for the JS reader: every name there, and a layout that holds
// together (slot and gen where every record has them, each kind's fields
// after them, each count just past its last field).

const assert = require('node:assert/strict');
const native = require('../lib/native.js');

const NAMES = [
  'REC_KIND', 'REC_SLOT', 'REC_GEN',
  'OPEN_FAMILY', 'OPEN_PORT', 'OPEN_ADDR_OFF', 'OPEN_WORDS',
  'REQUEST_SEQ', 'REQUEST_INFO', 'REQUEST_HEAD_OFF', 'REQUEST_NLENS', 'REQUEST_LENS',
  'REQUEST_WORDS',
  'BODY_OFF', 'BODY_LEN', 'BODY_WORDS',
  'TRAILERS_HEAD_OFF', 'TRAILERS_NLENS', 'TRAILERS_LENS', 'TRAILERS_WORDS',
  'END_WORDS', 'CLOSE_WORDS', 'TIMEOUT_WORDS', 'STOPPED_WORDS',
  'DRAIN_SENT_LO', 'DRAIN_SENT_HI', 'DRAIN_WORDS',
  'RELEASED_ID', 'RELEASED_WORDS',
  'DATA_OFF', 'DATA_LEN', 'DATA_WORDS',
  'WS_OP', 'WS_CODE', 'WS_OFF', 'WS_LEN', 'WS_WORDS',
  'CLIENT_ERROR_STATUS', 'CLIENT_ERROR_SEQ', 'CLIENT_ERROR_CODE_OFF', 'CLIENT_ERROR_CODE_LEN',
  'CLIENT_ERROR_REASON_OFF', 'CLIENT_ERROR_REASON_LEN', 'CLIENT_ERROR_PACKET_OFF',
  'CLIENT_ERROR_PACKET_LEN', 'CLIENT_ERROR_PARSED', 'CLIENT_ERROR_WORDS',
];

describe('batch layout constants', () => {
  let C;
  before(function () {
    if (native.constants === undefined) this.skip(); // the addon failed to load
    C = native.constants;
  });

  it('exports every record field and word count as a small integer', () => {
    for (const name of NAMES) {
      assert.ok(Number.isInteger(C[name]) && C[name] >= 0 && C[name] < 64, `${name}: ${C[name]}`);
    }
  });

  it('puts kind, slot and gen first, and each kind\'s fields after them', () => {
    assert.deepEqual([C.REC_KIND, C.REC_SLOT, C.REC_GEN], [0, 1, 2]);
    const fields = {
      OPEN: ['OPEN_FAMILY', 'OPEN_PORT', 'OPEN_ADDR_OFF'],
      REQUEST: ['REQUEST_SEQ', 'REQUEST_INFO', 'REQUEST_HEAD_OFF', 'REQUEST_NLENS'],
      BODY: ['BODY_OFF', 'BODY_LEN'],
      TRAILERS: ['TRAILERS_HEAD_OFF', 'TRAILERS_NLENS'],
      DRAIN: ['DRAIN_SENT_LO', 'DRAIN_SENT_HI'],
      RELEASED: ['RELEASED_ID'],
      DATA: ['DATA_OFF', 'DATA_LEN'],
      WS: ['WS_OP', 'WS_CODE', 'WS_OFF', 'WS_LEN'],
      CLIENT_ERROR: ['CLIENT_ERROR_STATUS', 'CLIENT_ERROR_SEQ', 'CLIENT_ERROR_CODE_OFF', 'CLIENT_ERROR_CODE_LEN',
        'CLIENT_ERROR_REASON_OFF', 'CLIENT_ERROR_REASON_LEN', 'CLIENT_ERROR_PACKET_OFF',
        'CLIENT_ERROR_PACKET_LEN', 'CLIENT_ERROR_PARSED'],
      END: [], CLOSE: [], TIMEOUT: [],
    };
    for (const [kind, names] of Object.entries(fields)) {
      const at = names.map((n) => C[n]);
      assert.deepEqual(at, names.map((_, k) => C.REC_GEN + 1 + k), `${kind}'s fields`);
      assert.equal(C[`${kind}_WORDS`], C.REC_GEN + 1 + names.length, `${kind}_WORDS`);
    }
    assert.equal(C.STOPPED_WORDS, C.REC_KIND + 1);
    assert.equal(C.REQUEST_LENS, C.REQUEST_WORDS, 'the lengths follow the fixed part');
    assert.equal(C.TRAILERS_LENS, C.TRAILERS_WORDS, "the trailers' lengths follow the fixed part");
  });

  it("gives a WS record's error a kind no opcode has, and the opcodes RFC 6455's numbers", () => {
    assert.deepEqual([C.WS_OP_CONT, C.WS_OP_TEXT, C.WS_OP_BINARY, C.WS_OP_CLOSE, C.WS_OP_PING, C.WS_OP_PONG],
      [0, 1, 2, 8, 9, 10]);
    assert.ok(C.WS_REC_ERROR > 15, `WS_REC_ERROR: ${C.WS_REC_ERROR}`);
  });
});
