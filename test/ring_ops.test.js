'use strict';

// The native ring's operation constructors (src/queue/ops.c): each takes
// the opcodes of its family only. lib/ring.js never passes another one,
// so this calls the addon directly; an opcode no constructor knows must be
// refused with a clear error, never staged as something else.

const assert = require('node:assert/strict');
const { Ring } = require('..');
const native = require('../lib/native.js');
const { skipOnNodeBackend } = require('./helpers');

describe('Ring: operation constructors', () => {
  before(function () {
    skipOnNodeBackend(this, 'the Ring API runs on io_uring only; the default run covers it');
  });

  let ring;
  beforeEach(() => { ring = new Ring({ entries: 4 }); });
  afterEach(() => ring.close());

  const refused = (fn, message) => assert.throws(fn, (e) => {
    assert.equal(e.name, 'TypeError');
    assert.equal(e.code, 'ERR_INVALID_ARG_VALUE');
    assert.match(e.message, message);
    return true;
  });

  it('refuses an opcode outside the family, or unknown, with ERR_INVALID_ARG_VALUE', () => {
    const { opcodes } = native;
    const buf = Buffer.alloc(8);
    refused(() => ring._native.fdop(opcodes.READ, 1, -1, 0), /^fdop: the opcode is not NOP/);
    refused(() => ring._native.fdop(250, 1, -1, 0), /^fdop: the opcode is not NOP/);
    refused(() => ring._native.fdop(2 ** 20, 1, -1, 0), /^fdop: the opcode is not NOP/);
    refused(() => ring._native.rw(opcodes.NOP, 1, 0, buf, 0, 8, 0), /^rw: the opcode is not READ/);
    refused(() => ring._native.rwv(opcodes.READ, 1, 0, [buf], -1), /^rwv: the opcode is not READV/);
    refused(() => ring._native.path(opcodes.CLOSE, 1, '/', 0, 0), /^path: the opcode is not OPENAT/);
    refused(() => ring._native.connect(1, 0, 'localhost', 80), /^connect: not an IP address/);
    refused(() => ring._native.timeout(1, -1), /^timeout: ms is not a number >= 0/);
  });

  it('leaves the ring working after a refusal', async () => {
    assert.throws(() => ring._native.fdop(250, 1, -1, 0), TypeError);
    assert.equal(await ring.nop(), 0);
    assert.equal(ring.pending, 0);
  });
});
