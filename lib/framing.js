'use strict';

// The framing rules of the ring thread (nu__check_framing() in
// src/http/http.c), for the node:http backend, which checks a request's
// head with them before any handler sees it. node:http (llhttp 9) refuses
// most ambiguous framing itself, but takes a few that the ring thread
// refuses (RFC 9112 6): an empty Transfer-Encoding (beside a
// Content-Length, or alone), Transfer-Encoding in an HTTP/1.0 request, and
// chunked under another coding, which no handler here decodes.

// RFC 9110 tchar.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const LENGTH = /^[0-9]+$/;

// s without the optional whitespace (RFC 9110 5.6.3) around it.
const ows = (s) => s.replace(/^[ \t]+|[ \t]+$/g, '');

// Adds the codings of one Transfer-Encoding line to `codings`; false when
// the line is no list of tokens (empty elements are skipped, RFC 9110
// 5.6.1).
function addCodings(codings, value) {
  for (const element of value.split(',')) {
    const coding = ows(element);
    if (coding === '') continue;
    if (!TOKEN.test(coding)) return false;
    codings.last = coding.toLowerCase();
    if (codings.last === 'chunked') codings.chunked++;
    else codings.others++;
  }
  return true;
}

// The status that refuses req's framing: 400 when it is ambiguous, 501
// when the body is chunked under a coding not implemented here; 0 when it
// is sound. Reads req.rawHeaders, as received, and req.httpVersion.
function framingStatus(req) {
  const raw = req.rawHeaders;
  const codings = { chunked: 0, others: 0, last: '' };
  let lengths = 0;
  let encodings = 0;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i];
    if (name.length === 14 && name.toLowerCase() === 'content-length') {
      if (++lengths > 1 || !LENGTH.test(ows(raw[i + 1]))) return 400;
    } else if (name.length === 17 && name.toLowerCase() === 'transfer-encoding') {
      encodings++;
      if (!addCodings(codings, raw[i + 1])) return 400;
    }
  }
  if (encodings === 0) return 0;
  if (lengths > 0 || req.httpVersionMajor < 1 || req.httpVersion === '1.0') return 400;
  if (codings.last !== 'chunked' || codings.chunked !== 1) return 400;
  return codings.others > 0 ? 501 : 0;
}

module.exports = { framingStatus };
