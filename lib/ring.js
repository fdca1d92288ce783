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

// A Ring's own state ...
const kNative = Symbol('native');
const kInFlight = Symbol('inFlight');
const kNextId = Symbol('nextId');
const kRejectWhenFull = Symbol('rejectWhenFull');
const kSubmit = Symbol('submit');
const kSubmitScheduled = Symbol('submitScheduled');
const kLinking = Symbol('linking');
const kClosing = Symbol('closing');
const kOnClosed = Symbol('onClosed');
const kRefed = Symbol('refed');
const kHolding = Symbol('holding');
// ... and its internal methods.
const kStart = Symbol('start');
const kVector = Symbol('vector');
const kOnBatch = Symbol('onBatch');
const kSettle = Symbol('settle');
const kCloseRing = Symbol('closeRing');
const kFinishClose = Symbol('finishClose');
const kAssertOpen = Symbol('assertOpen');
const kHold = Symbol('hold');

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
    if (ring !== undefined) ring[kOnBatch](batch, n);
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
    this[kRejectWhenFull] = queueFull === 'reject';
    this[kInFlight] = new Map(); // id -> op in flight
    this[kNextId] = 1;
    this[kSubmitScheduled] = false;
    this[kLinking] = false;
    this[kClosing] = null; // the close() promise once closing
    this[kOnClosed] = null;
    this[kRefed] = true;
    this[kHolding] = false; // the ring keeps the event loop alive
    this[kSubmit] = () => {
      this[kSubmitScheduled] = false;
      if (this[kClosing] === null) this[kNative].submit();
    };

    const native = new binding.NativeRing();
    this[kNative] = native; // the NativeRing
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

  get closed() { return this[kClosing] !== null; }

  // Operations in flight (staged, submitted, or waiting for room).
  get pending() { return this[kInFlight].size; }

  // ---- operations ----

  nop() {
    return this[kStart]('nop', null, (id) => this[kNative].fdop(OP.NOP, id, -1, 0));
  }

  read(fd, buffer, offset, length, position) {
    validateFd(fd);
    validateView('buffer', buffer);
    [offset, length] = validateSpan(buffer, offset, length);
    position = validatePosition(position);
    return this[kStart]('read', buffer,
      (id) => this[kNative].rw(OP.READ, id, fd, buffer, offset, length, position));
  }

  write(fd, buffer, offset, length, position) {
    validateFd(fd);
    if (typeof buffer === 'string') buffer = Buffer.from(buffer);
    validateView('buffer', buffer);
    [offset, length] = validateSpan(buffer, offset, length);
    position = validatePosition(position);
    return this[kStart]('write', buffer,
      (id) => this[kNative].rw(OP.WRITE, id, fd, buffer, offset, length, position));
  }

  readv(fd, buffers, position) {
    return this[kVector]('readv', OP.READV, fd, buffers, position);
  }

  writev(fd, buffers, position) {
    return this[kVector]('writev', OP.WRITEV, fd, buffers, position);
  }

  open(path, flags = 'r', mode = 0o666) {
    path = toPath(path);
    const f = openFlags(flags);
    validateInt('mode', mode, 0, 0o7777);
    return this[kStart]('open', null, (id) => this[kNative].path(OP.OPENAT, id, path, f, mode),
      path);
  }

  // close(fd) closes a file descriptor; close() with no argument, the ring.
  close(fd) {
    if (arguments.length === 0) return this[kCloseRing]();
    validateFd(fd);
    return this[kStart]('close', null, (id) => this[kNative].fdop(OP.CLOSE, id, fd, 0));
  }

  fsync(fd, options) {
    validateFd(fd);
    const { datasync = false } = validateOptions(options);
    return this[kStart]('fsync', null,
      (id) => this[kNative].fdop(OP.FSYNC, id, fd, datasync ? FSYNC_DATASYNC : 0));
  }

  statx(path, options) {
    path = toPath(path);
    const { followSymlinks = true } = validateOptions(options);
    const out = Buffer.alloc(STATX_SIZE);
    const flags = followSymlinks ? 0 : AT_SYMLINK_NOFOLLOW;
    return this[kStart]('statx', out,
      (id) => this[kNative].path(OP.STATX, id, path, flags, STATX_MASK, out), path, out);
  }

  socket(kind = 'tcp4') {
    const k = Object.hasOwn(SOCKET_KINDS, kind) ? SOCKET_KINDS[kind] : undefined;
    if (k === undefined) {
      throw codedError(TypeError, 'ERR_INVALID_ARG_VALUE',
        `kind must be one of ${Object.keys(SOCKET_KINDS).join(', ')}. Received ${String(kind)}`);
    }
    return this[kStart]('socket', null,
      (id) => this[kNative].socket(id, k[0], k[1] | SOCK_CLOEXEC, 0));
  }

  accept(fd) {
    validateFd(fd);
    return this[kStart]('accept', null,
      (id) => this[kNative].fdop(OP.ACCEPT, id, fd, SOCK_CLOEXEC));
  }

  // host: an IP address, or a name looked up first (dns.lookup, as net does).
  connect(fd, host, port) {
    validateFd(fd);
    validateInt('port', port, 0, 65535);
    if (typeof host !== 'string') throw argType('host', 'of type string', host);
    if (net.isIP(host)) {
      return this[kStart]('connect', null, (id) => this[kNative].connect(id, fd, host, port));
    }
    return dns.promises.lookup(host).then(({ address }) => this.connect(fd, address, port));
  }

  recv(fd, buffer, offset, length) {
    validateFd(fd);
    validateView('buffer', buffer);
    [offset, length] = validateSpan(buffer, offset, length);
    return this[kStart]('recv', buffer,
      (id) => this[kNative].rw(OP.RECV, id, fd, buffer, offset, length, 0));
  }

  send(fd, buffer, offset, length) {
    validateFd(fd);
    if (typeof buffer === 'string') buffer = Buffer.from(buffer);
    validateView('buffer', buffer);
    [offset, length] = validateSpan(buffer, offset, length);
    return this[kStart]('send', buffer,
      (id) => this[kNative].rw(OP.SEND, id, fd, buffer, offset, length, MSG_NOSIGNAL));
  }

  // Resolves once ms milliseconds have passed.
  timeout(ms) {
    if (typeof ms !== 'number' || !(ms >= 0) || ms > 2 ** 53) {
      throw codedError(RangeError, 'ERR_OUT_OF_RANGE',
        `The value of "ms" is out of range. It must be a number >= 0. Received ${ms}`);
    }
    return this[kStart]('timeout', null, (id) => this[kNative].timeout(id, ms));
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
    if (this[kLinking]) {
      // A linked cancel would run after the ops before it, when its target
      // may be gone and its address taken by another op.
      throw codedError(Error, 'ERR_URING_LINK_CANCEL', 'cancel() cannot be part of a ring.link() chain');
    }
    if (target === undefined || !this[kInFlight].has(target.id) || this[kClosing] !== null) {
      return Promise.resolve(false);
    }
    return this[kStart]('cancel', null, (id) => this[kNative].cancel(id, target.handle), undefined,
      undefined, true).then((res) => res === 0, () => false);
  }

  // Runs fn, which starts operations synchronously; they are linked
  // (IOSQE_IO_LINK): each starts only once the one before it succeeded, and
  // when one fails the rest reject with ECANCELED. Returns what fn returns.
  link(fn) {
    if (typeof fn !== 'function') throw argType('fn', 'of type function', fn);
    if (this[kLinking]) {
      throw codedError(Error, 'ERR_URING_LINK_NESTED', 'ring.link() calls cannot be nested');
    }
    this[kAssertOpen]();
    this[kLinking] = true;
    this[kNative].link(true);
    try {
      return fn();
    } finally {
      this[kLinking] = false;
      this[kNative].link(false);
    }
  }

  // ---- lifetime ----

  // Stops the ring: operations not yet submitted and those the kernel can
  // still cancel reject with ECANCELED, the others complete; resolves once
  // every operation is answered and the ring thread is gone.
  [kCloseRing]() {
    if (this[kClosing]) return this[kClosing];
    this[kClosing] = new Promise((resolve) => { this[kOnClosed] = resolve; });
    dropped.unregister(this);
    busyRings.add(this); // until the last batch is in
    this[kNative].ref();
    this[kNative].close();
    return this[kClosing];
  }

  ref() {
    this[kRefed] = true;
    if (this[kInFlight].size > 0 && !this[kHolding]) this[kHold](true);
    return this;
  }

  unref() {
    this[kRefed] = false;
    if (this[kHolding]) this[kHold](false);
    return this;
  }

  // ---- internals ----

  [kAssertOpen]() {
    if (this[kClosing] !== null) {
      throw codedError(Error, 'ERR_URING_CLOSED', 'the ring is closed');
    }
  }

  [kHold](on) {
    this[kHolding] = on;
    if (this[kClosing] !== null) return; // held until the end anyway
    if (on) this[kNative].ref();
    else this[kNative].unref();
  }

  [kVector](syscall, opcode, fd, buffers, position) {
    validateFd(fd);
    if (!Array.isArray(buffers)) throw argType('buffers', 'an Array', buffers);
    validateInt('buffers.length', buffers.length, 0, 1024);
    for (let i = 0; i < buffers.length; i++) validateView(`buffers[${i}]`, buffers[i]);
    position = validatePosition(position);
    const keep = buffers.slice();
    return this[kStart](syscall, keep,
      (id) => this[kNative].rwv(opcode, id, fd, keep, position));
  }

  // Stages one operation through stage(id) -> handle and returns its
  // promise. keep stays referenced until the operation completes, so the
  // GC cannot free memory the kernel writes into.
  [kStart](syscall, keep, stage, path, out, exempt = false) {
    this[kAssertOpen]();
    if (this[kRejectWhenFull] && !exempt && this[kInFlight].size >= this.cqEntries) {
      return Promise.reject(codedError(Error, 'ERR_URING_QUEUE_FULL',
        `the ring has ${this[kInFlight].size} operations in flight, its completion ` +
        `queue's size; wait for some, or create it with queueFull: 'wait'`));
    }
    let id = this[kNextId];
    while (this[kInFlight].has(id) || id === 0) id = (id + 1) >>> 0;
    const handle = stage(id);
    this[kNextId] = (id + 1) >>> 0;
    const op = { id, handle, syscall, keep, path, out, ring: this, resolve: null, reject: null };
    const promise = new Promise((resolve, reject) => {
      op.resolve = resolve;
      op.reject = reject;
    });
    promise[kOps] = op;
    this[kInFlight].set(id, op);
    if (this[kInFlight].size === 1) {
      busyRings.add(this);
      if (this[kRefed]) this[kHold](true);
    }
    if (!this[kSubmitScheduled]) {
      this[kSubmitScheduled] = true;
      queueMicrotask(this[kSubmit]);
    }
    return promise;
  }

  // (id, res) int32 pairs of completed operations; id 0 says the ring
  // thread has answered everything and is exiting.
  [kOnBatch](batch, n) {
    const pairs = new Int32Array(batch);
    for (let i = 0; i < 2 * n; i += 2) {
      const id = pairs[i] >>> 0;
      if (id === 0) {
        this[kFinishClose]();
        continue;
      }
      const op = this[kInFlight].get(id);
      if (op === undefined) continue;
      this[kInFlight].delete(id);
      this[kSettle](op, pairs[i + 1]);
    }
    if (this[kInFlight].size === 0) {
      if (this[kClosing] === null) busyRings.delete(this);
      if (this[kHolding]) this[kHold](false);
    }
  }

  [kSettle](op, res) {
    op.keep = null; // the promise may live on; the buffers need not
    if (res >= 0) {
      op.resolve(op.out ? new Stats(op.out) : res);
    } else if (res === ETIME && op.syscall === 'timeout') {
      op.resolve(undefined);
    } else {
      op.reject(opException(res, op.syscall, op.path));
    }
  }

  [kFinishClose]() {
    for (const op of this[kInFlight].values()) this[kSettle](op, ECANCELED);
    this[kInFlight].clear();
    this[kNative].join();
    this[kNative].unref();
    busyRings.delete(this);
    this[kOnClosed]();
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

// kNative: a Ring's NativeRing, for tests that call the addon directly.
module.exports = { Ring, listenSocket, kNative };
