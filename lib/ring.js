'use strict';

// Ring: the io_uring queue itself. Each operation stages one SQE and returns
// a Promise of its CQE's result; everything staged in one tick goes to the
// kernel in one submit, from a ring thread of the ring's own.
const fs = require('node:fs');
const net = require('node:net');
const dns = require('node:dns');
const { fileURLToPath } = require('node:url');
const binding = require('./native');
const { errnoException, uringUnavailable, codedError, opException } = require('./errors');
const { Stats, STATX_SIZE, STATX_MASK } = require('./stats');

const OP = binding.opcodes ?? {}; // none when the addon failed to load
const { O_CLOEXEC, O_RDONLY, O_RDWR, O_WRONLY, O_CREAT, O_TRUNC, O_APPEND, O_EXCL, O_SYNC } =
  fs.constants;
const AT_SYMLINK_NOFOLLOW = 0x100;
const FSYNC_DATASYNC = 1;
const SOCK_CLOEXEC = 0o2000000;
const MSG_NOSIGNAL = 0x4000;
const ECANCELED = -125;
const ETIME = -62;

const OPEN_FLAGS = {
  'r': O_RDONLY,
  'rs+': O_RDWR | O_SYNC,
  'r+': O_RDWR,
  'w': O_WRONLY | O_CREAT | O_TRUNC,
  'wx': O_WRONLY | O_CREAT | O_TRUNC | O_EXCL,
  'w+': O_RDWR | O_CREAT | O_TRUNC,
  'wx+': O_RDWR | O_CREAT | O_TRUNC | O_EXCL,
  'a': O_WRONLY | O_APPEND | O_CREAT,
  'ax': O_WRONLY | O_APPEND | O_CREAT | O_EXCL,
  'as': O_WRONLY | O_APPEND | O_CREAT | O_SYNC,
  'a+': O_RDWR | O_APPEND | O_CREAT,
  'ax+': O_RDWR | O_APPEND | O_CREAT | O_EXCL,
  'as+': O_RDWR | O_APPEND | O_CREAT | O_SYNC,
};

// [domain, type] of socket()'s kinds.
const SOCKET_KINDS = {
  tcp4: [2, 1], tcp6: [10, 1], udp4: [2, 2], udp6: [10, 2],
};

const kOps = Symbol('ops'); // Promise -> its op, for cancel()

// A ring with operations in flight stays reachable from here, so that the
// GC cannot take it, nor the buffers it holds for the kernel, until they
// complete. An idle ring nobody references is collected, and closed then.
const busyRings = new Set();
const dropped = new FinalizationRegistry((native) => native.close());

function argType(name, expected, value) {
  return codedError(TypeError, 'ERR_INVALID_ARG_TYPE',
    `The "${name}" argument must be ${expected}. Received ${typeof value}`);
}

function validateInt(name, value, min, max) {
  if (!Number.isInteger(value)) throw argType(name, 'an integer', value);
  if (value < min || value > max) {
    throw codedError(RangeError, 'ERR_OUT_OF_RANGE',
      `The value of "${name}" is out of range. It must be >= ${min} && <= ${max}. ` +
      `Received ${value}`);
  }
  return value;
}

const validateFd = (fd) => validateInt('fd', fd, 0, 0x7fffffff);

function validateView(name, value) {
  if (!ArrayBuffer.isView(value)) {
    throw argType(name, 'an instance of Buffer, TypedArray, or DataView', value);
  }
  return value;
}

// position: a byte offset, or null/undefined/-1 for the file's current one.
function validatePosition(position) {
  if (position === null || position === undefined) return -1;
  if (position === -1) return -1;
  return validateInt('position', position, 0, Number.MAX_SAFE_INTEGER);
}

// [offset, length] inside view, defaulting to the rest of it.
function validateSpan(view, offset = 0, length) {
  validateInt('offset', offset, 0, view.byteLength);
  if (length === undefined) length = view.byteLength - offset;
  validateInt('length', length, 0, view.byteLength - offset);
  return [offset, length];
}

function toPath(path) {
  if (path instanceof URL) return fileURLToPath(path);
  if (Buffer.isBuffer(path)) path = path.toString();
  if (typeof path !== 'string') throw argType('path', 'of type string or an instance of URL', path);
  if (path.includes('\0')) {
    throw codedError(TypeError, 'ERR_INVALID_ARG_VALUE',
      'The argument "path" must be a string without null bytes');
  }
  return path;
}

function openFlags(flags) {
  if (typeof flags === 'number') return validateInt('flags', flags, 0, 0x7fffffff) | O_CLOEXEC;
  const f = Object.hasOwn(OPEN_FLAGS, flags) ? OPEN_FLAGS[flags] : undefined;
  if (f === undefined) {
    throw codedError(TypeError, 'ERR_INVALID_ARG_VALUE',
      `The argument "flags" is invalid. Received ${String(flags)}`);
  }
  return f | O_CLOEXEC;
}

function validateOptions(options) {
  if (options === undefined) return {};
  if (options === null || typeof options !== 'object') throw argType('options', 'of type object', options);
  return options;
}

// The ring's batch callback. It holds the ring weakly (see busyRings) and
// is made out here, since a closure made in the constructor would share
// the constructor's context, and with it `this`. Once the ring is
// collected, it only winds the native side down.
function batchListener(weak, native) {
  return (batch, n) => {
    const ring = weak.deref();
    if (ring !== undefined) ring._onBatch(batch, n);
    else native.join(); // the last batch of a ring the GC closed
  };
}

class Ring {
  constructor(options) {
    const {
      entries = 256, sqpoll = false, sqThreadIdle = 1000, queueFull = 'wait',
    } = validateOptions(options);
    validateInt('options.entries', entries, 1, 32768);
    validateInt('options.sqThreadIdle', sqThreadIdle, 0, 0xffffffff);
    if (queueFull !== 'wait' && queueFull !== 'reject') {
      throw codedError(TypeError, 'ERR_INVALID_ARG_VALUE',
        `options.queueFull must be 'wait' or 'reject'. Received ${String(queueFull)}`);
    }
    // The kernel rounds the SQ up to a power of two; so do we, to report it.
    this.entries = 2 ** Math.ceil(Math.log2(entries));
    this.cqEntries = this.entries * 2;
    if (binding.loadError) throw binding.loadError; // the Ring API is io_uring only
    this._rejectWhenFull = queueFull === 'reject';
    this._ops = new Map(); // id -> op in flight
    this._nextId = 1;
    this._submitScheduled = false;
    this._linking = false;
    this._closing = null; // the close() promise once closing
    this._onClosed = null;
    this._refed = true;
    this._holding = false; // the ring keeps the event loop alive
    this._submit = () => {
      this._submitScheduled = false;
      if (this._closing === null) this._native.submit();
    };

    const native = new binding.NativeRing();
    this._native = native;
    const res = native.open({
      entries: this.entries, cqEntries: this.cqEntries, sqpoll: Boolean(sqpoll), sqThreadIdle,
    }, batchListener(new WeakRef(this), native));
    if (res.errno !== undefined) {
      throw res.syscall === 'io_uring_setup'
        ? uringUnavailable(res.errno, res.syscall)
        : errnoException(res.errno, res.syscall);
    }
    this.setupFlags = res.setupFlags;
    native.unref(); // an idle ring does not keep the process alive
    dropped.register(this, native, this);
  }

  get closed() { return this._closing !== null; }

  // Operations in flight (staged, submitted, or waiting for room).
  get pending() { return this._ops.size; }

  // ---- operations ----

  nop() {
    return this._start('nop', null, (id) => this._native.fdop(OP.NOP, id, -1, 0));
  }

  read(fd, buffer, offset, length, position) {
    validateFd(fd);
    validateView('buffer', buffer);
    [offset, length] = validateSpan(buffer, offset, length);
    position = validatePosition(position);
    return this._start('read', buffer,
      (id) => this._native.rw(OP.READ, id, fd, buffer, offset, length, position));
  }

  write(fd, buffer, offset, length, position) {
    validateFd(fd);
    if (typeof buffer === 'string') buffer = Buffer.from(buffer);
    validateView('buffer', buffer);
    [offset, length] = validateSpan(buffer, offset, length);
    position = validatePosition(position);
    return this._start('write', buffer,
      (id) => this._native.rw(OP.WRITE, id, fd, buffer, offset, length, position));
  }

  readv(fd, buffers, position) {
    return this._vector('readv', OP.READV, fd, buffers, position);
  }

  writev(fd, buffers, position) {
    return this._vector('writev', OP.WRITEV, fd, buffers, position);
  }

  open(path, flags = 'r', mode = 0o666) {
    path = toPath(path);
    const f = openFlags(flags);
    validateInt('mode', mode, 0, 0o7777);
    return this._start('open', null, (id) => this._native.path(OP.OPENAT, id, path, f, mode),
      path);
  }

  // close(fd) closes a file descriptor; close() with no argument, the ring.
  close(fd) {
    if (arguments.length === 0) return this._closeRing();
    validateFd(fd);
    return this._start('close', null, (id) => this._native.fdop(OP.CLOSE, id, fd, 0));
  }

  fsync(fd, options) {
    validateFd(fd);
    const { datasync = false } = validateOptions(options);
    return this._start('fsync', null,
      (id) => this._native.fdop(OP.FSYNC, id, fd, datasync ? FSYNC_DATASYNC : 0));
  }

  statx(path, options) {
    path = toPath(path);
    const { followSymlinks = true } = validateOptions(options);
    const out = Buffer.alloc(STATX_SIZE);
    const flags = followSymlinks ? 0 : AT_SYMLINK_NOFOLLOW;
    return this._start('statx', out,
      (id) => this._native.path(OP.STATX, id, path, flags, STATX_MASK, out), path, out);
  }

  socket(kind = 'tcp4') {
    const k = Object.hasOwn(SOCKET_KINDS, kind) ? SOCKET_KINDS[kind] : undefined;
    if (k === undefined) {
      throw codedError(TypeError, 'ERR_INVALID_ARG_VALUE',
        `kind must be one of ${Object.keys(SOCKET_KINDS).join(', ')}. Received ${String(kind)}`);
    }
    return this._start('socket', null,
      (id) => this._native.socket(id, k[0], k[1] | SOCK_CLOEXEC, 0));
  }

  accept(fd) {
    validateFd(fd);
    return this._start('accept', null,
      (id) => this._native.fdop(OP.ACCEPT, id, fd, SOCK_CLOEXEC));
  }

  // host: an IP address, or a name looked up first (dns.lookup, as net does).
  connect(fd, host, port) {
    validateFd(fd);
    validateInt('port', port, 0, 65535);
    if (typeof host !== 'string') throw argType('host', 'of type string', host);
    if (net.isIP(host)) {
      return this._start('connect', null, (id) => this._native.connect(id, fd, host, port));
    }
    return dns.promises.lookup(host).then(({ address }) => this.connect(fd, address, port));
  }

  recv(fd, buffer, offset, length) {
    validateFd(fd);
    validateView('buffer', buffer);
    [offset, length] = validateSpan(buffer, offset, length);
    return this._start('recv', buffer,
      (id) => this._native.rw(OP.RECV, id, fd, buffer, offset, length, 0));
  }

  send(fd, buffer, offset, length) {
    validateFd(fd);
    if (typeof buffer === 'string') buffer = Buffer.from(buffer);
    validateView('buffer', buffer);
    [offset, length] = validateSpan(buffer, offset, length);
    return this._start('send', buffer,
      (id) => this._native.rw(OP.SEND, id, fd, buffer, offset, length, MSG_NOSIGNAL));
  }

  // Resolves once ms milliseconds have passed.
  timeout(ms) {
    if (typeof ms !== 'number' || !(ms >= 0) || ms > 2 ** 53) {
      throw codedError(RangeError, 'ERR_OUT_OF_RANGE',
        `The value of "ms" is out of range. It must be a number >= 0. Received ${ms}`);
    }
    return this._start('timeout', null, (id) => this._native.timeout(id, ms));
  }

  // Cancels the operation that returned promise. Resolves true when it was
  // cancelled (its promise then rejects with ECANCELED), false when it had
  // completed, could no longer be stopped, or the ring is closing. It never
  // waits for room in the queue: a full queue is when cancel is needed most.
  cancel(promise) {
    if (!(promise instanceof Promise)) {
      throw argType('promise', 'a Promise returned by this ring', promise);
    }
    const target = promise[kOps];
    if (target !== undefined && target.ring !== this) {
      throw argType('promise', 'a Promise returned by this ring', promise);
    }
    if (this._linking) {
      // A linked cancel would run after the ops before it, when its target
      // may be gone and its address taken by another op.
      throw codedError(Error, 'ERR_URING_LINK_CANCEL', 'cancel() cannot be part of a ring.link() chain');
    }
    if (target === undefined || !this._ops.has(target.id) || this._closing !== null) {
      return Promise.resolve(false);
    }
    return this._start('cancel', null, (id) => this._native.cancel(id, target.handle), undefined,
      undefined, true).then((res) => res === 0, () => false);
  }

  // Runs fn, which starts operations synchronously; they are linked
  // (IOSQE_IO_LINK): each starts only once the one before it succeeded, and
  // when one fails the rest reject with ECANCELED. Returns what fn returns.
  link(fn) {
    if (typeof fn !== 'function') throw argType('fn', 'of type function', fn);
    if (this._linking) {
      throw codedError(Error, 'ERR_URING_LINK_NESTED', 'ring.link() calls cannot be nested');
    }
    this._assertOpen();
    this._linking = true;
    this._native.link(true);
    try {
      return fn();
    } finally {
      this._linking = false;
      this._native.link(false);
    }
  }

  // ---- lifetime ----

  // Stops the ring: operations not yet submitted and those the kernel can
  // still cancel reject with ECANCELED, the others complete; resolves once
  // every operation is answered and the ring thread is gone.
  _closeRing() {
    if (this._closing) return this._closing;
    this._closing = new Promise((resolve) => { this._onClosed = resolve; });
    dropped.unregister(this);
    busyRings.add(this); // until the last batch is in
    this._native.ref();
    this._native.close();
    return this._closing;
  }

  ref() {
    this._refed = true;
    if (this._ops.size > 0 && !this._holding) this._hold(true);
    return this;
  }

  unref() {
    this._refed = false;
    if (this._holding) this._hold(false);
    return this;
  }

  // ---- internals ----

  _assertOpen() {
    if (this._closing !== null) {
      throw codedError(Error, 'ERR_URING_CLOSED', 'the ring is closed');
    }
  }

  _hold(on) {
    this._holding = on;
    if (this._closing !== null) return; // held until the end anyway
    if (on) this._native.ref();
    else this._native.unref();
  }

  _vector(syscall, opcode, fd, buffers, position) {
    validateFd(fd);
    if (!Array.isArray(buffers)) throw argType('buffers', 'an Array', buffers);
    validateInt('buffers.length', buffers.length, 0, 1024);
    for (let i = 0; i < buffers.length; i++) validateView(`buffers[${i}]`, buffers[i]);
    position = validatePosition(position);
    const keep = buffers.slice();
    return this._start(syscall, keep,
      (id) => this._native.rwv(opcode, id, fd, keep, position));
  }

  // Stages one operation through stage(id) -> handle and returns its
  // promise. keep stays referenced until the operation completes, so the
  // GC cannot free memory the kernel writes into.
  _start(syscall, keep, stage, path, out, exempt = false) {
    this._assertOpen();
    if (this._rejectWhenFull && !exempt && this._ops.size >= this.cqEntries) {
      return Promise.reject(codedError(Error, 'ERR_URING_QUEUE_FULL',
        `the ring has ${this._ops.size} operations in flight, its completion ` +
        `queue's size; wait for some, or create it with queueFull: 'wait'`));
    }
    let id = this._nextId;
    while (this._ops.has(id) || id === 0) id = (id + 1) >>> 0;
    const handle = stage(id);
    this._nextId = (id + 1) >>> 0;
    const op = { id, handle, syscall, keep, path, out, ring: this, resolve: null, reject: null };
    const promise = new Promise((resolve, reject) => {
      op.resolve = resolve;
      op.reject = reject;
    });
    promise[kOps] = op;
    this._ops.set(id, op);
    if (this._ops.size === 1) {
      busyRings.add(this);
      if (this._refed) this._hold(true);
    }
    if (!this._submitScheduled) {
      this._submitScheduled = true;
      queueMicrotask(this._submit);
    }
    return promise;
  }

  // (id, res) int32 pairs of completed operations; id 0 says the ring
  // thread has answered everything and is exiting.
  _onBatch(batch, n) {
    const pairs = new Int32Array(batch);
    for (let i = 0; i < 2 * n; i += 2) {
      const id = pairs[i] >>> 0;
      if (id === 0) {
        this._finishClose();
        continue;
      }
      const op = this._ops.get(id);
      if (op === undefined) continue;
      this._ops.delete(id);
      this._settle(op, pairs[i + 1]);
    }
    if (this._ops.size === 0) {
      if (this._closing === null) busyRings.delete(this);
      if (this._holding) this._hold(false);
    }
  }

  _settle(op, res) {
    op.keep = null; // the promise may live on; the buffers need not
    if (res >= 0) {
      op.resolve(op.out ? new Stats(op.out) : res);
    } else if (res === ETIME && op.syscall === 'timeout') {
      op.resolve(undefined);
    } else {
      op.reject(opException(res, op.syscall, op.path));
    }
  }

  _finishClose() {
    for (const op of this._ops.values()) this._settle(op, ECANCELED);
    this._ops.clear();
    this._native.join();
    this._native.unref();
    busyRings.delete(this);
    this._onClosed();
  }
}

// A TCP socket listening on host:port (every address when host is omitted;
// port 0 picks a free one), for accept(). Returns { fd, port }; the caller
// closes fd (ring.close(fd)). Synchronous: binding is no io_uring operation
// before Linux 6.11.
function listenSocket(port = 0, host, backlog = 511) {
  validateInt('port', port, 0, 65535);
  validateInt('backlog', backlog, 1, 0x7fffffff);
  if (host !== undefined && !net.isIP(host)) {
    throw codedError(TypeError, 'ERR_INVALID_ARG_VALUE',
      `host must be an IP address. Received ${String(host)}`);
  }
  if (binding.loadError) throw binding.loadError;
  const res = binding.listenSocket(host, port, backlog);
  if (res.errno !== undefined) {
    throw errnoException(res.errno, res.syscall === 'bind' ? 'listen' : res.syscall,
      host ?? '::', port);
  }
  return res;
}

module.exports = { Ring, listenSocket };
