'use strict';

// The batch reader: the one place in lib/ that knows how a ring thread lays
// out the batches it hands to JS (src/nu.h, enum nu_event). A batch is one
// ArrayBuffer: nwords 32-bit words of records, then the bytes the records
// point into (client addresses, request heads, body chunks). Each record
// starts with its kind and the connection's slot and generation; the words
// after those are the kind's own.
//
// The layout comes from the addon's constants. They are copied into
// module-level constants here, so that the loop over a batch reads them as
// cheaply as it would read literals.
const native = require('./native');
const { codedError } = require('./errors');

// Without the addon there are no constants, and no batch to read either.
const C = native.constants ?? {};
const METHODS = native.methods;

const EV_OPEN = C.EV_OPEN;
const EV_REQUEST = C.EV_REQUEST;
const EV_BODY = C.EV_BODY;
const EV_END = C.EV_END;
const EV_CLOSE = C.EV_CLOSE;
const EV_STOPPED = C.EV_STOPPED;
const EV_TIMEOUT = C.EV_TIMEOUT;
const EV_DRAIN = C.EV_DRAIN;
const EV_HANGUP = C.EV_HANGUP;
const EV_HELD_HANGUP = C.EV_HELD_HANGUP;
const EV_DATA = C.EV_DATA;
const EV_WS = C.EV_WS;
const EV_CLIENT_ERROR = C.EV_CLIENT_ERROR;
const EV_TRAILERS = C.EV_TRAILERS;
const EV_RELEASED = C.EV_RELEASED;

const REC_KIND = C.REC_KIND;
const REC_SLOT = C.REC_SLOT;
const REC_GEN = C.REC_GEN;
const OPEN_FAMILY = C.OPEN_FAMILY;
const OPEN_PORT = C.OPEN_PORT;
const OPEN_ADDR_OFF = C.OPEN_ADDR_OFF;
const OPEN_WORDS = C.OPEN_WORDS;
const REQUEST_SEQ = C.REQUEST_SEQ;
const REQUEST_INFO = C.REQUEST_INFO;
const REQUEST_HEAD_OFF = C.REQUEST_HEAD_OFF;
const REQUEST_NLENS = C.REQUEST_NLENS;
const REQUEST_LENS = C.REQUEST_LENS;
const REQUEST_WORDS = C.REQUEST_WORDS;
const TRAILERS_HEAD_OFF = C.TRAILERS_HEAD_OFF;
const TRAILERS_NLENS = C.TRAILERS_NLENS;
const TRAILERS_LENS = C.TRAILERS_LENS;
const TRAILERS_WORDS = C.TRAILERS_WORDS;
const BODY_OFF = C.BODY_OFF;
const BODY_LEN = C.BODY_LEN;
const BODY_WORDS = C.BODY_WORDS;
const END_WORDS = C.END_WORDS;
const CLOSE_WORDS = C.CLOSE_WORDS;
const TIMEOUT_WORDS = C.TIMEOUT_WORDS;
const STOPPED_WORDS = C.STOPPED_WORDS;
const DRAIN_SENT_LO = C.DRAIN_SENT_LO;
const DRAIN_SENT_HI = C.DRAIN_SENT_HI;
const DRAIN_WORDS = C.DRAIN_WORDS;
const RELEASED_ID = C.RELEASED_ID;
const RELEASED_WORDS = C.RELEASED_WORDS;
const HANGUP_WORDS = C.HANGUP_WORDS;
const HELD_HANGUP_WORDS = C.HELD_HANGUP_WORDS;
const DATA_OFF = C.DATA_OFF;
const DATA_LEN = C.DATA_LEN;
const DATA_WORDS = C.DATA_WORDS;
const WS_OP = C.WS_OP;
const WS_CODE = C.WS_CODE;
const WS_OFF = C.WS_OFF;
const WS_LEN = C.WS_LEN;
const WS_WORDS = C.WS_WORDS;
const CLIENT_ERROR_STATUS = C.CLIENT_ERROR_STATUS;
const CLIENT_ERROR_SEQ = C.CLIENT_ERROR_SEQ;
const CLIENT_ERROR_CODE_OFF = C.CLIENT_ERROR_CODE_OFF;
const CLIENT_ERROR_CODE_LEN = C.CLIENT_ERROR_CODE_LEN;
const CLIENT_ERROR_REASON_OFF = C.CLIENT_ERROR_REASON_OFF;
const CLIENT_ERROR_REASON_LEN = C.CLIENT_ERROR_REASON_LEN;
const CLIENT_ERROR_PACKET_OFF = C.CLIENT_ERROR_PACKET_OFF;
const CLIENT_ERROR_PACKET_LEN = C.CLIENT_ERROR_PACKET_LEN;
const CLIENT_ERROR_PARSED = C.CLIENT_ERROR_PARSED;
const CLIENT_ERROR_WORDS = C.CLIENT_ERROR_WORDS;

// The REQUEST record's info word: the method's number, the version's two
// 4-bit digits, and flags.
const REQ_METHOD_MASK = C.REQ_METHOD_MASK;
const REQ_MAJOR_SHIFT = C.REQ_MAJOR_SHIFT;
const REQ_MINOR_SHIFT = C.REQ_MINOR_SHIFT;
const REQ_KEEP_ALIVE = C.REQ_KEEP_ALIVE;
const REQ_HAS_BODY = C.REQ_HAS_BODY;
const REQ_EXPECT_CONTINUE = C.REQ_EXPECT_CONTINUE;
const REQ_EXPECT_OTHER = C.REQ_EXPECT_OTHER;
const REQ_UPGRADE = C.REQ_UPGRADE;

// The OPEN record's family word for an IPv6 client, an IPv4 one (0: a
// Unix socket's).
const FAMILY_IPV6 = 6;
const FAMILY_IPV4 = 4;

// Hands the records of one batch to sink, in the order the ring thread
// wrote them, one call each:
//   onOpen(slot, gen, family, port, addr)   a connection: family 'IPv4' or
//                                           'IPv6', addr an IPv4 address as
//                                           a number, or an IPv6 one's bytes
//                                           (a copy); family and addr
//                                           undefined, port 0, on a Unix
//                                           socket
//   onRequest(slot, gen, seq, info, words, bytes, at)
//                                           a request head; at is its record,
//                                           for requestUrl/requestRawHeaders
//   onBody(slot, gen, chunk)                a view into the batch's bytes
//   onTrailers(slot, gen, rawTrailers)      a chunked body's trailer fields, as
//                                           rawTrailers (before its onEnd)
//   onEnd(slot, gen), onClose(slot, gen), onTimeout(slot, gen)
//   onDrain(slot, gen, sent)                bytes sent since the connection opened
//   onReleased(slot, gen, id)               the ring thread is done with lent body id
//   onHangup(slot, gen)                     the client sent its FIN
//   onHeldHangup(slot, gen)                 the client sent its FIN right
//                                           after an upgrade request, which
//                                           the ring thread still holds
//   onData(slot, gen, chunk)                bytes of a connection in raw mode
//                                           (after an upgrade), a view as onBody's
//   onWs(slot, gen, op, code, chunk)        a WebSocket message (op TEXT or
//                                           BINARY), PING, PONG, CLOSE (code,
//                                           reason) or WS_REC_ERROR (code, text)
//   onClientError(slot, gen, status, seq, code, reason, packet, parsed)
//                                           a request that could not be parsed:
//                                           the status the ring thread would
//                                           answer, the response number JS answers
//                                           it as, node:http's code and reason,
//                                           the input (a view) and how much of it
//                                           was parsed
//   onStopped()                             the ring thread is exiting
// The sink should be of one class, so that these calls stay monomorphic.
function readBatch(buffer, nwords, sink) {
  const words = new Uint32Array(buffer, 0, nwords);
  const bytes = Buffer.from(buffer, nwords * 4);
  for (let i = 0; i < nwords;) {
    const kind = words[i + REC_KIND];
    if (kind === EV_STOPPED) { // the one record without a connection
      sink.onStopped();
      i += STOPPED_WORDS;
      continue;
    }
    const slot = words[i + REC_SLOT];
    const gen = words[i + REC_GEN];
    switch (kind) {
      case EV_REQUEST:
        sink.onRequest(slot, gen, words[i + REQUEST_SEQ], words[i + REQUEST_INFO], words, bytes, i);
        i += REQUEST_WORDS + words[i + REQUEST_NLENS];
        break;
      case EV_OPEN:
        sink.onOpen(slot, gen, clientFamily(words[i + OPEN_FAMILY]), words[i + OPEN_PORT],
          clientAddress(words, bytes, i));
        i += OPEN_WORDS;
        break;
      case EV_BODY:
        sink.onBody(slot, gen, bodyChunk(words, bytes, i));
        i += BODY_WORDS;
        break;
      case EV_END:
        sink.onEnd(slot, gen);
        i += END_WORDS;
        break;
      case EV_CLOSE:
        sink.onClose(slot, gen);
        i += CLOSE_WORDS;
        break;
      case EV_TIMEOUT:
        sink.onTimeout(slot, gen);
        i += TIMEOUT_WORDS;
        break;
      case EV_DRAIN:
        sink.onDrain(slot, gen, words[i + DRAIN_SENT_LO] + words[i + DRAIN_SENT_HI] * 2 ** 32);
        i += DRAIN_WORDS;
        break;
      case EV_RELEASED:
        sink.onReleased(slot, gen, words[i + RELEASED_ID]);
        i += RELEASED_WORDS;
        break;
      case EV_HANGUP:
        sink.onHangup(slot, gen);
        i += HANGUP_WORDS;
        break;
      case EV_HELD_HANGUP:
        sink.onHeldHangup(slot, gen);
        i += HELD_HANGUP_WORDS;
        break;
      case EV_DATA:
        sink.onData(slot, gen, bytesAt(bytes, words[i + DATA_OFF], words[i + DATA_LEN]));
        i += DATA_WORDS;
        break;
      case EV_WS:
        sink.onWs(slot, gen, words[i + WS_OP], words[i + WS_CODE],
          bytesAt(bytes, words[i + WS_OFF], words[i + WS_LEN]));
        i += WS_WORDS;
        break;
      case EV_TRAILERS:
        sink.onTrailers(slot, gen, trailerFields(words, bytes, i));
        i += TRAILERS_WORDS + words[i + TRAILERS_NLENS];
        break;
      case EV_CLIENT_ERROR:
        sink.onClientError(slot, gen, words[i + CLIENT_ERROR_STATUS], words[i + CLIENT_ERROR_SEQ],
          bytes.latin1Slice(words[i + CLIENT_ERROR_CODE_OFF],
            words[i + CLIENT_ERROR_CODE_OFF] + words[i + CLIENT_ERROR_CODE_LEN]),
          bytes.latin1Slice(words[i + CLIENT_ERROR_REASON_OFF],
            words[i + CLIENT_ERROR_REASON_OFF] + words[i + CLIENT_ERROR_REASON_LEN]),
          bytesAt(bytes, words[i + CLIENT_ERROR_PACKET_OFF], words[i + CLIENT_ERROR_PACKET_LEN]),
          words[i + CLIENT_ERROR_PARSED]);
        i += CLIENT_ERROR_WORDS;
        break;
      default:
        throw codedError(Error, 'ERR_INTERNAL_ASSERTION',
          `node-uring: corrupt batch: event ${kind} at word ${i}`);
    }
  }
}

// The OPEN record's family word as net.Socket's remoteFamily.
function clientFamily(word) {
  if (word === FAMILY_IPV6) return 'IPv6';
  return word === FAMILY_IPV4 ? 'IPv4' : undefined;
}

// The client's address of the OPEN record at i: the socket keeps it, and
// formats it only when asked. An IPv4 one is a number (big-endian, as on
// the wire), not a Uint8Array and its ArrayBuffer: every idle connection
// keeps one. An IPv6 one is its 16 bytes, copied. A Unix socket's peer
// (family 0) has none: undefined.
function clientAddress(words, bytes, i) {
  const off = words[i + OPEN_ADDR_OFF];
  const family = words[i + OPEN_FAMILY];
  if (family === FAMILY_IPV6) return new Uint8Array(bytes.subarray(off, off + 16));
  if (family !== FAMILY_IPV4) return undefined;
  return ((bytes[off] << 24) | (bytes[off + 1] << 16) | (bytes[off + 2] << 8) | bytes[off + 3]) >>> 0;
}

// The BODY record at i's chunk, a view into the batch.
function bodyChunk(words, bytes, i) {
  return bytesAt(bytes, words[i + BODY_OFF], words[i + BODY_LEN]);
}

function bytesAt(bytes, off, len) {
  return bytes.subarray(off, off + len);
}

function requestMethod(info) {
  return METHODS[info & REQ_METHOD_MASK];
}

function requestMajor(info) {
  return (info >>> REQ_MAJOR_SHIFT) & 15;
}

function requestMinor(info) {
  return (info >>> REQ_MINOR_SHIFT) & 15;
}

// A REQUEST record's head is its url, then each header's name and value,
// back to back from head_off; lens[] holds their lengths in that order.
// requestHead copies it out of the batch as one string, at once: each
// field is then a slice
// of it (one native call a request instead of one a field: 0.3 µs less for
// a browser's dozen headers).
function requestHead(words, bytes, at) {
  const nlens = words[at + REQUEST_NLENS];
  const off = words[at + REQUEST_HEAD_OFF];
  let len = 0;
  for (let i = 0; i < nlens; i++) len += words[at + REQUEST_LENS + i];
  return bytes.latin1Slice(off, off + len);
}

// The url, from the record's head (see requestHead).
function requestUrl(words, at, head) {
  return head.slice(0, words[at + REQUEST_LENS]);
}

// The header names and values, from the record's head, as rawHeaders.
function requestRawHeaders(words, at, head) {
  const nlens = words[at + REQUEST_NLENS];
  const raw = new Array(nlens - 1);
  let off = words[at + REQUEST_LENS];
  for (let i = 1; i < nlens; i++) {
    const end = off + words[at + REQUEST_LENS + i];
    raw[i - 1] = head.slice(off, end);
    off = end;
  }
  return raw;
}

// The trailer names and values of the TRAILERS record at `at`, as
// rawTrailers.
function trailerFields(words, bytes, at) {
  const n = words[at + TRAILERS_NLENS];
  const raw = new Array(n);
  let off = words[at + TRAILERS_HEAD_OFF];
  for (let i = 0; i < n; i++) {
    const len = words[at + TRAILERS_LENS + i];
    raw[i] = bytes.latin1Slice(off, off + len);
    off += len;
  }
  return raw;
}

module.exports = {
  readBatch,
  requestMethod,
  requestMajor,
  requestMinor,
  requestHead,
  requestUrl,
  requestRawHeaders,
  REQ_KEEP_ALIVE,
  REQ_HAS_BODY,
  REQ_EXPECT_CONTINUE,
  REQ_EXPECT_OTHER,
  REQ_UPGRADE,
};
