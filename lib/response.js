'use strict';

// The response a handler writes. Nothing reaches the ring thread before
// write() or end(): res.end(body) without an earlier write is the fast
// path, one native call carrying head and body, sent with one send.
const { Stream } = require('node:stream');
const { STATUS_CODES, validateHeaderName, validateHeaderValue } = require('node:http');
const { constants: C } = require('./native');
const { codedError } = require('./errors');
const {
  kSend, kAskDrain, kKeepAliveLines, kResponseEnded, kResponseSeq,
} = require('./socket');
const { CLOSE_LINES, dateLine } = require('./head');

const kHeaders = Symbol('headers');
const kHeadSent = Symbol('headSent');
const kWroteHead = Symbol('wroteHead');
const kChunked = Symbol('chunked');
const kHasBody = Symbol('hasBody');
const kSeq = kResponseSeq; // the socket reads it when the client hangs up
const kNeedDrain = Symbol('needDrain');

// Unsent response bytes on a connection past which write() returns false,
// as a net.Socket's default writableHighWaterMark.
const HIGH_WATER_MARK = 16 * 1024;

// What may not appear in a status line's reason phrase: it would split the
// response or not survive the latin1 encoding of the head.
const INVALID_TEXT = /[^\t\x20-\x7e\x80-\xff]/;

function checkStatusMessage(message) {
  if (INVALID_TEXT.test(message)) {
    throw codedError(TypeError, 'ERR_INVALID_CHAR', 'Invalid character in statusMessage');
  }
}

function headersSentError(what) {
  return codedError(Error, 'ERR_HTTP_HEADERS_SENT',
    `Cannot ${what} headers after they are sent to the client`);
}

// A chunk as the native side takes it: a string it writes as UTF-8, or
// bytes. Other encodings are converted here.
function toBody(chunk, encoding) {
  if (typeof chunk === 'string') {
    if (!encoding || encoding === 'utf8' || encoding === 'utf-8') return chunk;
    return Buffer.from(chunk, encoding);
  }
  if (chunk instanceof Uint8Array) return chunk;
  throw codedError(TypeError, 'ERR_INVALID_ARG_TYPE',
    'The "chunk" argument must be of type string or an instance of Buffer ' +
    `or Uint8Array. Received ${chunk === null ? 'null' : typeof chunk}`);
}

function byteLength(body) {
  return typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength;
}

function emitFinish(res, callback) {
  res.emit('finish');
  if (callback) callback();
  res.emit('close');
}

class ServerResponse extends Stream {
  constructor(req, seq, keepAlive) {
    super();
    this.req = req;
    this.socket = req.socket;
    this.statusCode = 200;
    this.statusMessage = undefined;
    this.sendDate = true;
    this.shouldKeepAlive = keepAlive;
    this.writableEnded = false;
    this.finished = false;
    this[kSeq] = seq;
    this[kHeaders] = null;
    this[kHeadSent] = false;
    this[kWroteHead] = false;
    this[kChunked] = false;
    this[kHasBody] = true;
    this[kNeedDrain] = false;
  }

  get connection() {
    return this.socket;
  }

  get writableLength() {
    return this.socket.writableLength;
  }

  get writableHighWaterMark() {
    return HIGH_WATER_MARK;
  }

  get writableNeedDrain() {
    return this[kNeedDrain];
  }

  get headersSent() {
    return this[kWroteHead] || this[kHeadSent];
  }

  get writableFinished() {
    return this.finished;
  }

  setHeader(name, value) {
    if (this.headersSent) throw headersSentError('set');
    validateHeaderName(name);
    validateHeaderValue(name, value);
    // A Map: iterating a null-prototype object is slow in V8 (dictionary mode).
    (this[kHeaders] ||= new Map()).set(name.toLowerCase(), [name, value]);
    return this;
  }

  appendHeader(name, value) {
    const prev = this.getHeader(name);
    if (prev === undefined) return this.setHeader(name, value);
    return this.setHeader(name, [].concat(prev, value));
  }

  getHeader(name) {
    const entry = this[kHeaders] && this[kHeaders].get(name.toLowerCase());
    return entry ? entry[1] : undefined;
  }

  hasHeader(name) {
    return this.getHeader(name) !== undefined;
  }

  removeHeader(name) {
    if (this.headersSent) throw headersSentError('remove');
    if (this[kHeaders]) this[kHeaders].delete(name.toLowerCase());
  }

  getHeaderNames() {
    return this[kHeaders] ? [...this[kHeaders].keys()] : [];
  }

  getHeaders() {
    const out = Object.create(null);
    if (this[kHeaders]) for (const [key, entry] of this[kHeaders]) out[key] = entry[1];
    return out;
  }

  writeHead(statusCode, statusMessage, headers) {
    if (this.headersSent) throw headersSentError('write');
    statusCode |= 0;
    if (statusCode < 100 || statusCode > 999) {
      throw codedError(RangeError, 'ERR_HTTP_INVALID_STATUS_CODE',
        `Invalid status code: ${statusCode}`);
    }
    if (typeof statusMessage === 'string') {
      checkStatusMessage(statusMessage);
      this.statusMessage = statusMessage;
    } else {
      headers = statusMessage;
    }
    this.statusCode = statusCode;
    if (Array.isArray(headers)) {
      const pairs = Array.isArray(headers[0]) ? headers : null;
      const n = pairs ? pairs.length : headers.length / 2;
      for (let i = 0; i < n; i++) {
        const [k, v] = pairs ? pairs[i] : [headers[2 * i], headers[2 * i + 1]];
        this.appendHeader(k, v);
      }
    } else if (headers) {
      for (const key of Object.keys(headers)) this.setHeader(key, headers[key]);
    }
    this[kWroteHead] = true;
    return this;
  }

  // Sends "100 Continue" to a client that asked for it (Expect header).
  writeContinue(callback) {
    this.socket[kSend](this[kSeq], 0, 'HTTP/1.1 100 Continue\r\n\r\n', undefined, 0);
    if (callback) process.nextTick(callback);
  }

  flushHeaders() {
    if (!this[kHeadSent]) this._send(0, this._head(-1), undefined);
  }

  write(chunk, encoding, callback) {
    if (typeof encoding === 'function') {
      callback = encoding;
      encoding = undefined;
    }
    if (this.writableEnded) {
      const err = codedError(Error, 'ERR_STREAM_WRITE_AFTER_END', 'write after end');
      process.nextTick(() => {
        if (callback) callback(err);
        this.emit('error', err);
      });
      return false;
    }
    const body = toBody(chunk, encoding);
    const head = this[kHeadSent] ? undefined : this._head(-1);
    this._send(this[kChunked] ? C.OUT_CHUNKED : 0, head,
      this[kHasBody] ? body : undefined);
    if (callback) process.nextTick(callback);
    if (this.socket.writableLength < HIGH_WATER_MARK || this.socket.destroyed) return true;
    // Too much unsent: 'drain' follows once the ring thread has sent it all.
    this[kNeedDrain] = true;
    this.socket[kAskDrain]();
    return false;
  }

  // The ring thread sent everything queued on the connection.
  _drained() {
    if (!this[kNeedDrain]) return;
    this[kNeedDrain] = false;
    this.emit('drain');
  }

  end(chunk, encoding, callback) {
    if (typeof chunk === 'function') {
      callback = chunk;
      chunk = undefined;
    } else if (typeof encoding === 'function') {
      callback = encoding;
      encoding = undefined;
    }
    if (this.writableEnded) {
      if (callback) process.nextTick(callback);
      return this;
    }
    if (this.destroyed) { // the client went away: nothing is sent, no 'finish'
      this.writableEnded = true;
      if (callback) process.nextTick(callback);
      return this;
    }
    let body = chunk == null ? undefined : toBody(chunk, encoding);
    // Measured once: for Content-Length and for the connection's count.
    let bodyBytes = body === undefined ? 0 : byteLength(body);
    let head;
    if (!this[kHeadSent]) head = this._head(bodyBytes);
    if (!this[kHasBody]) {
      body = undefined;
      bodyBytes = 0;
    }
    let flags = C.OUT_END;
    if (this[kChunked]) flags |= C.OUT_CHUNKED;
    if (!this.shouldKeepAlive) flags |= C.OUT_CLOSE;
    this._send(flags, head, body, bodyBytes);
    this.writableEnded = true;
    this.finished = true;
    this.socket[kResponseEnded](this);
    process.nextTick(emitFinish, this, callback);
    return this;
  }

  _send(flags, head, body, bodyBytes = body === undefined ? 0 : byteLength(body)) {
    this.socket[kSend](this[kSeq], flags, head, body, bodyBytes);
    this[kHeadSent] = true; // not before: the native side may refuse it
  }

  // Serializes the head. bodyLength is the whole body's size when end()
  // knows it, -1 when writes will follow (chunked on HTTP/1.1).
  _head(bodyLength) {
    const status = this.statusCode;
    if (this.statusMessage) checkStatusMessage(this.statusMessage);
    const message = this.statusMessage || STATUS_CODES[status] || 'unknown';
    let head = `HTTP/1.1 ${status} ${message}\r\n`;
    let hasDate = false;
    let hasConnection = false;
    let hasFraming = false;
    const headers = this[kHeaders];
    if (headers !== null) {
      for (const [key, entry] of headers) {
        const name = entry[0];
        const value = entry[1];
        if (key === 'date') {
          hasDate = true;
        } else if (key === 'connection') {
          hasConnection = true;
          if (/\bclose\b/i.test(value)) this.shouldKeepAlive = false;
        } else if (key === 'content-length') {
          hasFraming = true;
        } else if (key === 'transfer-encoding') {
          hasFraming = true;
          this[kChunked] = /\bchunked\b/i.test(value);
        }
        if (Array.isArray(value)) {
          for (let i = 0; i < value.length; i++) head += `${name}: ${value[i]}\r\n`;
        } else {
          head += `${name}: ${value}\r\n`;
        }
      }
    }
    if (!hasDate && this.sendDate) head += dateLine();
    this[kHasBody] = this.req.method !== 'HEAD' && status !== 204 &&
      status !== 304 && status >= 200;
    if (!this[kHasBody]) this[kChunked] = false; // no body, not even a last chunk
    if (!hasFraming && this[kHasBody]) {
      if (bodyLength >= 0) {
        head += `Content-Length: ${bodyLength}\r\n`;
      } else if (this.req.httpVersionMajor === 1 && this.req.httpVersionMinor >= 1) {
        head += 'Transfer-Encoding: chunked\r\n';
        this[kChunked] = true;
      } else {
        this.shouldKeepAlive = false; // HTTP/1.0: the close ends the body
      }
    }
    if (!hasConnection) {
      head += this.shouldKeepAlive ? this.socket[kKeepAliveLines] : CLOSE_LINES;
    }
    return `${head}\r\n`;
  }
}

module.exports = { ServerResponse, byteLength, kSeq };
