'use strict';

// The request a handler receives: a node:http IncomingMessage, with method,
// url, version and rawHeaders set from the bytes the ring thread copied;
// the body a Readable fed by BODY events (lib/socket.js).
//
// Its state is where node:http's own getters look for it, since a
// framework may swap its prototype for one inheriting from node:http's
// (Express does): rawHeaders is a real array of its own and node:http's
// header count is set, so that node:http's headers, headersDistinct and
// trailers getters, inherited here, build the same objects either way.
const http = require('node:http');
const { requestHead, requestUrl, requestRawHeaders } = require('./batch');
const { kHeadersCount } = require('./http_state');


// How many rawHeaders entries req.headers (and headersDistinct) take, as
// node:http counts them: server.maxHeadersCount headers (0: all), 1000
// when it is not a number; the others are left out, not refused.
function headersCount(entries, maxHeadersCount) {
  const limit = typeof maxHeadersCount === 'number' ? maxHeadersCount * 2 : 2000;
  return limit > 0 && entries > limit ? limit : entries;
}

class IncomingMessage extends http.IncomingMessage {
  // words[at] is the request's REQUEST record in its batch (see
  // lib/batch.js), which the head is read from.
  constructor(socket, method, major, minor, words, bytes, at) {
    super(socket);
    this.method = method;
    this.httpVersionMajor = major;
    this.httpVersionMinor = minor;
    this.httpVersion = `${major}.${minor}`;
    const head = requestHead(words, bytes, at);
    this.url = requestUrl(words, at, head);
    // Built now, not on first read: after a prototype swap only an own
    // array is seen.
    const raw = requestRawHeaders(words, at, head);
    this.rawHeaders = raw;
    this[kHeadersCount] = headersCount(raw.length, socket.server.maxHeadersCount);
  }
}

module.exports = { IncomingMessage };
