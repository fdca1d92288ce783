'use strict';

// The socket an 'upgrade' or 'connect' listener gets: a connection that
// left HTTP, as a net.Socket-like Duplex. The ring thread still owns the
// socket; in raw mode it hands every byte it receives to JS (DATA records,
// read here) and sends the bytes written here as they are (NU_OUT_RAW),
// after the responses queued before the upgrade. end() shuts the write
// side (NU_OUT_SHUTDOWN), destroy() aborts. Reading pauses and resumes
// with the readable side's backpressure (NU_OUT_PAUSE/RESUME); writing
// waits for the ring thread's DRAIN past the high-water mark. No HTTP
// timeout applies any more; setTimeout() is the user's, as on net.Socket.
const { Duplex } = require('node:stream');
const { constants: C } = require('./native');
const {
  kSend, kSetReading, kAskDrain, kOnDrain, kOnHangup, kOnData, kOnClose,
} = require('./socket');

const kConn = Symbol('conn');
const kSeq = Symbol('seq');
const kPaused = Symbol('paused');
const kWaiting = Symbol('waiting'); // a _write callback held until DRAIN
const kClosed = Symbol('closed');
const kTimer = Symbol('timer');
const kTimeoutMs = Symbol('timeoutMs');

// Past this many unsent bytes, a write's callback waits for DRAIN.
const HIGH_WATER_MARK = 1 << 20;

class UpgradedSocket extends Duplex {
  // conn: the UringSocket of the connection; seq: its upgrade request's.
  constructor(conn, seq) {
    // As node:http's sockets: the client's FIN does not end ours.
    super({ allowHalfOpen: true });
    this[kConn] = conn;
    this[kSeq] = seq;
    this[kPaused] = false;
    this[kWaiting] = null;
    this[kClosed] = false;
    this[kTimer] = null;
    this[kTimeoutMs] = 0;
    this.server = conn.server;
    this.remoteFamily = conn.remoteFamily;
    this.remotePort = conn.remotePort;
    this.bytesRead = 0;
  }

  get remoteAddress() { return this[kConn].remoteAddress; }
  get localPort() { return this[kConn].localPort; }
  get ring() { return this[kConn].ring; }
  address() { return this[kConn].address(); }
  get bytesWritten() { return this[kConn].writableLength; }

  setNoDelay() { return this; } // the ring thread sets TCP_NODELAY
  setKeepAlive() { return this; }

  // As net.Socket's: 'timeout' after ms without traffic; 0 turns it off.
  setTimeout(ms, callback) {
    this[kTimeoutMs] = ms;
    if (callback) this.once('timeout', callback);
    this._touch();
    return this;
  }

  ref() { return this; }
  unref() { return this; }

  _touch() {
    if (this[kTimer] !== null) clearTimeout(this[kTimer]);
    this[kTimer] = null;
    if (this[kTimeoutMs] > 0 && !this.destroyed) {
      this[kTimer] = setTimeout(() => this.emit('timeout'), this[kTimeoutMs]);
      this[kTimer].unref();
    }
  }

  _write(chunk, encoding, callback) {
    this._touch();
    this[kConn][kSend](this[kSeq], C.OUT_RAW, undefined, chunk, chunk.length);
    if (this[kConn].writableLength < HIGH_WATER_MARK) {
      callback();
      return;
    }
    this[kWaiting] = callback;
    this[kConn][kAskDrain]();
  }

  _final(callback) {
    this[kConn][kSend](this[kSeq], C.OUT_RAW | C.OUT_SHUTDOWN, undefined, undefined, 0);
    callback();
  }

  _read() {
    if (!this[kPaused]) return;
    this[kPaused] = false;
    this[kConn][kSetReading](true);
  }

  _destroy(err, callback) {
    if (this[kTimer] !== null) clearTimeout(this[kTimer]);
    if (!this[kClosed]) this[kConn].destroy();
    const waiting = this[kWaiting];
    this[kWaiting] = null;
    if (waiting !== null) waiting(err);
    callback(err);
  }

  // ---- what the connection reports (lib/socket.js) ----

  [kOnData](chunk) {
    this.bytesRead += chunk.length;
    this._touch();
    if (!this.push(chunk) && !this[kPaused]) {
      this[kPaused] = true;
      this[kConn][kSetReading](false);
    }
  }

  [kOnHangup]() {
    this.push(null);
  }

  [kOnDrain]() {
    const waiting = this[kWaiting];
    this[kWaiting] = null;
    if (waiting !== null) waiting();
  }

  [kOnClose]() {
    this[kClosed] = true;
    if (!this.readableEnded) this.push(null);
    this.destroy();
  }
}

module.exports = { UpgradedSocket };
