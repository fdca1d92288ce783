'use strict';

// The response a handler writes: a node:http ServerResponse. Nothing
// reaches the ring thread before write() or end(): res.end(body) without an
// earlier write is the fast path, one native call carrying head and body,
// sent with one send.
//
// Its state is where node:http's own methods look for it, since a
// framework may swap its prototype for one inheriting from node:http's
// (Express does): the headers are node:http's (setHeader() and friends
// are inherited, and the head is built from what they stored), and
// _header, _headerSent, finished, shouldKeepAlive are kept as node:http
// keeps them. After such a swap node:http's write() and end() write the
// response into req.socket, which sends it as this response's bytes (see
// lib/socket.js).
const http = require('node:http');
const { STATUS_CODES, validateHeaderName, validateHeaderValue } = http;
const { constants: C } = require('./native');
const { codedError } = require('./errors');
const {
  kSend, kAskDrain, kKeepAliveLines, kResponseEnded, kSeq, kNeedDrain, dumpOnFinish, dumpRequest,
} = require('./socket');
const { CLOSE_LINES, dateLine } = require('./head');
const { kOutHeaders } = require('./http_state');

const kHeadSent = Symbol('headSent');
const kWritten = Symbol('written');
const kWroteHead = Symbol('wroteHead');
const kChunked = Symbol('chunked');
const kHasBody = Symbol('hasBody');


// The prototype of the header store setHeader() makes, in node:http's
// shape ({ [lower-cased name]: [name, value] }, nothing inherited). node:http
// makes it a { __proto__: null } literal: V8 keeps such an object in
// dictionary mode, and adding a key fresh from toLowerCase() to it costs
// about 0.4 µs, a tenth of the whole request here. An object made from an
// empty, frozen null-prototype object stays a fast object.
const HEADERS_PROTO = Object.freeze(Object.create(null));

// Lower-cased header names, for the names an app sets again and again: a
// cached string is already internalized, which a property key must be,
// and was validated when it was cached (node:http's check is a regular
// expression run on every setHeader()).
const LOWER_NAMES = new Map();
const LOWER_NAMES_MAX = 256;

// name, validated as node:http's setHeader() does, lower-cased.
function validLowerName(name) {
  let lower = LOWER_NAMES.get(name);
  if (lower === undefined) {
    validateHeaderName(name);
    lower = name.toLowerCase();
    if (LOWER_NAMES.size < LOWER_NAMES_MAX) LOWER_NAMES.set(name, lower);
  }
  return lower;
}

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

// strictContentLength: the body's size must be the Content-Length the
// handler set, as node:http checks it.
function checkContentLength(res, bodyBytes) {
  const declared = res.getHeader('content-length');
  if (declared === undefined) return;
  const written = res[kWritten] + bodyBytes;
  if (written !== Number(declared)) {
    throw codedError(Error, 'ERR_HTTP_CONTENT_LENGTH_MISMATCH',
      `Response body's content-length of ${written} byte(s) does not match the content-length of ${declared} byte(s) set in header`);
  }
}

function emitFinish(res, callback) {
  try {
    dumpOnFinish(res);
    res.emit('finish');
    if (callback) callback();
  } catch (err) {
    // As on node:http, whose 'close' does not hang on 'finish': it still
    // comes, a tick after (tracking such as on-finished waits for it).
    process.nextTick(emitClose, res);
    throw err;
  }
  res.emit('close');
}

function emitClose(res) {
  res.emit('close');
}

// Responses ended since the last tick, each followed by its end() callback:
// their 'finish' and 'close' come in one tick for them all rather than a
// tick each (a batch ends many responses at once).
let finishing = [];

function finishLater(res, callback) {
  if (finishing.length === 0) process.nextTick(emitFinishes);
  finishing.push(res, callback);
}

function emitFinishes() {
  const list = finishing;
  finishing = [];
  let i = 0;
  try {
    for (; i < list.length; i += 2) emitFinish(list[i], list[i + 1]);
  } finally {
    // A listener threw: the responses after its own get theirs next tick.
    if (i + 2 < list.length) {
      if (finishing.length === 0) process.nextTick(emitFinishes);
      finishing = list.slice(i + 2).concat(finishing);
    }
  }
}

class ServerResponse extends http.ServerResponse {
  constructor(req, seq, keepAlive, server) {
    super(req);
    this.socket = req.socket;
    this.shouldKeepAlive = keepAlive; // as node:http's server sets it after its constructor
    // What node:http's own head (after a prototype swap) advertises.
    this._keepAliveTimeout = server.keepAliveTimeout;
    this._maxRequestsPerSocket = server.maxRequestsPerSocket;
    this[kSeq] = seq;
    this[kHeadSent] = false;
    this[kWritten] = 0; // body bytes given to write(), for strictContentLength
    this[kWroteHead] = false;
    this[kChunked] = false;
    this[kHasBody] = true;
    this[kNeedDrain] = false;
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

  // writeHead() here keeps the head until end() knows the body's length.
  get headersSent() {
    return this[kWroteHead] || this[kHeadSent];
  }

  get writableFinished() {
    return this.finished && this.socket.writableLength === 0;
  }

  // node:http's setHeader(), storing where its other header methods read,
  // without its cost (see HEADERS_PROTO). After writeHead() the head is
  // fixed, as node:http's, though built only when sent.
  setHeader(name, value) {
    if (this._header || this[kWroteHead]) throw headersSentError('set');
    const lower = validLowerName(name);
    validateHeaderValue(name, value);
    let headers = this[kOutHeaders];
    if (headers === null) this[kOutHeaders] = headers = Object.create(HEADERS_PROTO);
    headers[lower] = [name, value];
    return this;
  }

  appendHeader(name, value) {
    if (this[kWroteHead]) throw headersSentError('append');
    return super.appendHeader(name, value);
  }

  removeHeader(name) {
    if (this[kWroteHead]) throw headersSentError('remove');
    super.removeHeader(name);
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
    this._sent100 = true;
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
    if (this.strictContentLength) this[kWritten] += byteLength(body);
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
    // After an explicit writeHead(), node:http's head is fixed before the
    // body is known: without a Content-Length of the handler's, the body
    // is chunked. end() alone knows it, and says its length.
    const lengthKnown = !this[kWroteHead];
    // A wrapper of writeHead() (on-headers, express-session) must see the
    // head written through it, as node:http's end() does.
    if (lengthKnown && !this[kHeadSent] && this.writeHead !== ServerResponse.prototype.writeHead) {
      this.writeHead(this.statusCode);
    }
    let body = chunk == null ? undefined : toBody(chunk, encoding);
    // Measured once: for Content-Length and for the connection's count.
    let bodyBytes = body === undefined ? 0 : byteLength(body);
    let head;
    if (!this[kHeadSent]) head = this._head(lengthKnown ? bodyBytes : -1);
    if (!this[kHasBody]) {
      body = undefined;
      bodyBytes = 0;
    }
    if (this.strictContentLength) checkContentLength(this, bodyBytes);
    let flags = C.OUT_END;
    if (!this.shouldKeepAlive) flags |= C.OUT_CLOSE;
    if (this[kChunked] && this._trailer !== '') {
      // addTrailers(): the last chunk carries them, so it is written here
      // rather than by the ring thread.
      if (body !== undefined || head !== undefined) this._send(C.OUT_CHUNKED, head, body, bodyBytes);
      this._send(flags, `0\r\n${this._trailer}\r\n`, undefined, 0);
    } else {
      if (this[kChunked]) flags |= C.OUT_CHUNKED;
      this._send(flags, head, body, bodyBytes);
    }
    this.finished = true;
    this.socket[kResponseEnded](this);
    // A response that cannot be delivered does not 'finish' (as on
    // node:http); its 'close' came with the connection's, and its request
    // is dumped now.
    if (!this.socket.destroyed) finishLater(this, callback);
    else dumpRequest(this.req);
    return this;
  }

  _send(flags, head, body, bodyBytes = body === undefined ? 0 : byteLength(body)) {
    this.socket[kSend](this[kSeq], flags, head, body, bodyBytes);
    // Not before: the native side may refuse it.
    if (head !== undefined && !this[kHeadSent]) {
      this[kHeadSent] = true;
      this._header = head;
      this._headerSent = true;
    }
  }

  // Serializes the head. bodyLength is the whole body's size when end()
  // knows it, -1 when writes will follow (chunked on HTTP/1.1).
  _head(bodyLength) {
    const status = this.statusCode;
    if (this.statusMessage) checkStatusMessage(this.statusMessage);
    const message = this.statusMessage || STATUS_CODES[status] || 'unknown';
    this.statusMessage = message; // as node:http's writeHead() sets it
    let head = `HTTP/1.1 ${status} ${message}\r\n`;
    let hasDate = false;
    let hasConnection = false;
    let hasFraming = false;
    const headers = this[kOutHeaders];
    if (headers !== null) {
      for (const key in headers) {
        const entry = headers[key];
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
    // Decided before the connection's lines, which follow the body's
    // framing (node:http's order) and depend on it. removeHeader() of a
    // framing header stops that automatic one, as on node:http.
    // A length set before writeHead() through node:http's _contentLength
    // (Hono's adapter does) frames the body as node:http's would.
    if (bodyLength < 0 && typeof this._contentLength === 'number') bodyLength = this._contentLength;
    let framing = '';
    if (!hasFraming && this[kHasBody]) {
      if (bodyLength >= 0 && !this._removedContLen) {
        framing = `Content-Length: ${bodyLength}\r\n`;
      } else if (!this._removedTE && this.req.httpVersionMajor === 1 && this.req.httpVersionMinor >= 1) {
        framing = 'Transfer-Encoding: chunked\r\n';
        this[kChunked] = true;
      } else {
        this.shouldKeepAlive = false; // the close ends the body
      }
    }
    if (!hasConnection && !this._removedConnection) {
      const keepAlive = this.shouldKeepAlive && !this.maxRequestsOnConnectionReached;
      head += keepAlive ? this.socket[kKeepAliveLines] : CLOSE_LINES;
    }
    return `${head}${framing}\r\n`;
  }
}

module.exports = { ServerResponse, byteLength, kSeq };
