'use strict';

// The lines node-uring adds to every response head it builds in JS: the
// Date line and the connection's lines (Connection, Keep-Alive). They are
// made here only, so that a default header is added in one place for JS
// responses and routes alike. The ring thread ends the heads it builds
// (routes, static files, its error responses) with the same lines from
// src/http/head_end.c; test/head.test.js holds the two to the same bytes. The
// node backend's heads are node:http's own.

// The lines of a response after which the connection closes.
const CLOSE_LINES = 'Connection: close\r\n';

// The lines of a response after which the connection stays open, as
// node:http writes them: the Keep-Alive line advertises keepAliveTimeout
// (ms) in whole seconds and, when set, maxRequestsPerSocket; there is none
// without a timeout. The ring thread's heads never say max=: the requests
// it answers by itself do not count towards maxRequestsPerSocket.
function keepAliveLines(keepAliveTimeout, maxRequestsPerSocket = 0) {
  if (!(keepAliveTimeout > 0)) return 'Connection: keep-alive\r\n';
  const max = maxRequestsPerSocket > 0 ? `, max=${maxRequestsPerSocket}` : '';
  return `Connection: keep-alive\r\nKeep-Alive: timeout=${Math.floor(keepAliveTimeout / 1000)}${max}\r\n`;
}

let dateLineCache = '';

function resetDate() {
  dateLineCache = '';
}

// The Date line, formatted at most once a second (as node:http caches it):
// formatting a date per response would cost more than the rest of the head.
function dateLine() {
  if (dateLineCache === '') {
    const now = new Date();
    dateLineCache = `Date: ${now.toUTCString()}\r\n`;
    setTimeout(resetDate, 1000 - now.getMilliseconds()).unref();
  }
  return dateLineCache;
}

module.exports = { CLOSE_LINES, keepAliveLines, dateLine };
