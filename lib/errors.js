'use strict';

// Errors shaped like Node's own: `code`, `errno`, `syscall`, and a message
// that says what to do.
const fs = require('node:fs');
const util = require('node:util');

const errorMap = util.getSystemErrorMap();

// An error for a failed system call, as net.Server reports them:
// "listen EADDRINUSE: address already in use 127.0.0.1:8080".
function errnoException(errno, syscall, address, port) {
  const [code, text] = errorMap.get(errno) || ['UNKNOWN', 'unknown error'];
  let where = '';
  if (address !== undefined) where = port ? ` ${address}:${port}` : ` ${address}`;
  const err = new Error(`${syscall} ${code}: ${text}${where}`);
  err.code = code;
  err.errno = errno;
  err.syscall = syscall;
  if (address !== undefined) err.address = address;
  if (port !== undefined) err.port = port;
  return err;
}

// An error for a failed operation, as fs reports them:
// "ENOENT: no such file or directory, open '/nope'".
function opException(errno, syscall, path) {
  const [code, text] = errorMap.get(errno) || ['UNKNOWN', 'unknown error'];
  const where = path === undefined ? '' : ` '${path}'`;
  const err = new Error(`${code}: ${text}, ${syscall}${where}`);
  err.code = code;
  err.errno = errno;
  err.syscall = syscall;
  if (path !== undefined) err.path = path;
  return err;
}

// The message for errno (positive or negative), as strerror(3) would
// give it in libuv's words; "unknown error N" for numbers it does not know.
function strerror(errno) {
  if (!Number.isInteger(errno)) {
    throw codedError(TypeError, 'ERR_INVALID_ARG_TYPE',
      `The "errno" argument must be an integer. Received ${typeof errno}`);
  }
  const entry = errorMap.get(-Math.abs(errno));
  return entry ? entry[1] : `unknown error ${Math.abs(errno)}`;
}

function readSysctl(name) {
  try {
    return fs.readFileSync(`/proc/sys/kernel/${name}`, 'latin1').trim();
  } catch {
    return null;
  }
}

// Why io_uring could not be set up, in words a user can act on.
function uringCause(code, syscall) {
  if (code === 'EPERM' || code === 'EACCES') {
    const disabled = readSysctl('io_uring_disabled');
    if (disabled === '2') {
      return 'the kernel.io_uring_disabled sysctl is 2: io_uring is ' +
        'disabled for every process on this host';
    }
    if (disabled === '1') {
      return 'the kernel.io_uring_disabled sysctl is 1: only members of ' +
        'kernel.io_uring_group may use io_uring';
    }
    return 'a seccomp filter forbids io_uring_setup (the default profiles ' +
      'of Docker and containerd do); allow io_uring in the profile or run ' +
      'outside the container';
  }
  if (code === 'ENOSYS') return 'this kernel has no io_uring (Linux 6.0 or later is needed)';
  if (code === 'ENOMEM') {
    return 'not enough locked memory for the ring (raise RLIMIT_MEMLOCK, ' +
      '`ulimit -l`, or use Linux 5.12 or later, which does not charge it)';
  }
  if (code === 'EINVAL' && syscall === 'io_uring_register') {
    return 'this kernel lacks provided buffer rings (Linux 5.19 or later, ' +
      'and 6.0 for multishot receive, are needed)';
  }
  return `${syscall} failed with ${code}`;
}

// io_uring exists in the kernel but this process cannot use it.
function uringUnavailable(errno, syscall) {
  const cause = errnoException(errno, syscall);
  const err = new Error(
    `io_uring is unavailable: ${uringCause(cause.code, syscall)}`, { cause });
  err.code = 'ERR_URING_UNAVAILABLE';
  err.errno = errno;
  err.syscall = syscall;
  return err;
}

function codedError(Type, code, message) {
  const err = new Type(message);
  err.code = code;
  return err;
}

module.exports = { errnoException, opException, strerror, uringUnavailable, codedError };
