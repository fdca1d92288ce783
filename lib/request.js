'use strict';

// The request a handler receives: method, url and version at once; headers
// built on first read from the bytes the ring thread copied; the body as a
// Readable fed by BODY events.
const { Readable } = require('node:stream');
const { requestUrl, requestRawHeaders } = require('./batch');
const { kSetReading } = require('./socket');

const kBytes = Symbol('bytes');
const kWords = Symbol('words');
const kAt = Symbol('at');
const kHeaders = Symbol('headers');
const kRawHeaders = Symbol('rawHeaders');

// Headers of which a second copy is dropped, as node:http does.
const SINGLE_VALUED = new Set([
  'age', 'authorization', 'content-length', 'content-type', 'etag',
  'expires', 'from', 'host', 'if-modified-since', 'if-unmodified-since',
  'last-modified', 'location', 'max-forwards', 'proxy-authorization',
  'referer', 'retry-after', 'server', 'user-agent',
]);

class IncomingMessage extends Readable {
  // words[at] is the request's REQUEST record in its batch (see
  // lib/batch.js), kept to build the headers from when asked for.
  constructor(socket, method, major, minor, words, bytes, at) {
    super();
    this.socket = socket;
    this.method = method;
    this.httpVersionMajor = major;
    this.httpVersionMinor = minor;
    this.httpVersion = `${major}.${minor}`;
    this.url = requestUrl(words, bytes, at);
    this.complete = false;
    this.aborted = false;
    this[kWords] = words;
    this[kBytes] = bytes;
    this[kAt] = at;
    this[kHeaders] = null;
    this[kRawHeaders] = null;
  }

  // Reading the body resumes a connection paused for its consumer.
  _read() {
    this.socket[kSetReading](true);
  }

  get connection() {
    return this.socket;
  }

  get rawHeaders() {
    if (this[kRawHeaders] === null) {
      this[kRawHeaders] = requestRawHeaders(this[kWords], this[kBytes], this[kAt]);
    }
    return this[kRawHeaders];
  }

  set rawHeaders(value) {
    this[kRawHeaders] = value;
  }

  get headers() {
    if (this[kHeaders] === null) this[kHeaders] = joinHeaders(this.rawHeaders);
    return this[kHeaders];
  }

  set headers(value) {
    this[kHeaders] = value;
  }

  get headersDistinct() {
    const distinct = Object.create(null);
    const raw = this.rawHeaders;
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i].toLowerCase();
      (distinct[name] ||= []).push(raw[i + 1]);
    }
    return distinct;
  }

  get trailers() {
    return {};
  }

  setTimeout(msecs, callback) {
    if (callback) this.on('timeout', callback);
    return this;
  }
}

// rawHeaders -> the lower-cased headers object node:http builds.
function joinHeaders(raw) {
  const headers = {};
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i].toLowerCase();
    const value = raw[i + 1];
    const prev = headers[name];
    if (prev === undefined) {
      headers[name] = name === 'set-cookie' ? [value] : value;
    } else if (name === 'set-cookie') {
      prev.push(value);
    } else if (!SINGLE_VALUED.has(name)) {
      headers[name] = `${prev}${name === 'cookie' ? '; ' : ', '}${value}`;
    }
  }
  return headers;
}

module.exports = { IncomingMessage };
