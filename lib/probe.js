'use strict';

// probe(): which io_uring operations this kernel supports.
const os = require('node:os');
const binding = require('./native');
const { errnoException, uringUnavailable } = require('./errors');

// { kernel, available, error?, ops: { NOP: true, READV: true, ... } }: one
// entry for each IORING_OP_* the liburing built in knows, in opcode order.
// Where io_uring cannot be used at all, available is false, error says why
// (an ERR_URING_UNAVAILABLE error) and every op reads false; without the
// addon, error is its load error (ERR_URING_ADDON) and ops is empty.
function probe() {
  if (binding.loadError) {
    return { kernel: os.release(), available: false, error: binding.loadError, ops: {} };
  }
  const res = binding.probe();
  const ops = {};
  if (res.errno !== undefined) {
    for (const name of Object.keys(binding.opcodes)) ops[name] = false;
    const error = res.errno === -22 // EINVAL: a kernel older than 5.6
      ? errnoException(res.errno, 'io_uring_register')
      : uringUnavailable(res.errno, res.syscall);
    return { kernel: os.release(), available: false, error, ops };
  }
  for (const [name, supported] of res.ops) ops[name] = supported;
  return { kernel: os.release(), available: true, ops };
}

module.exports = { probe };
