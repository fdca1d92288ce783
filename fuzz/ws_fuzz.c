/*
 * ws_fuzz: libFuzzer over a connection in WebSocket mode, without
 * sockets: the client's bytes, cut into reads of varying sizes, go through
 * nu_wsconn_input() (http/wsconn.c, and ws/frame.c's parser under it) as
 * the ring thread feeds it. The harness checks that every WS record stays
 * inside its batch, that a text message and a close reason handed on are
 * UTF-8 (checked here by a decoder of its own), that nothing follows an
 * error or the peer's close, and that what the ring thread queued to send
 * is frames a client can parse; then it "sends" them.
 *
 *   npm run fuzz -- ws -max_total_time=60
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "conn.h"
#include "frame.h"
#include "fuzz.h"
#include "wsconn.h"

/* Whether n bytes at p are UTF-8: a plain decoder, not utf8.c's. */
static int nu__fuzz_utf8(const uint8_t *p, size_t n) {
  size_t i = 0;

  while (i < n) {
    uint32_t cp, min;
    size_t k;

    if (p[i] < 0x80) {
      i++;
      continue;
    }
    if ((p[i] & 0xe0) == 0xc0) {
      k = 1, cp = p[i] & 0x1f, min = 0x80;
    } else if ((p[i] & 0xf0) == 0xe0) {
      k = 2, cp = p[i] & 0x0f, min = 0x800;
    } else if ((p[i] & 0xf8) == 0xf0) {
      k = 3, cp = p[i] & 0x07, min = 0x10000;
    } else {
      return 0;
    }
    if (n - i <= k) /* cut short */
      return 0;
    for (size_t j = 1; j <= k; j++) {
      if ((p[i + j] & 0xc0) != 0x80)
        return 0;
      cp = cp << 6 | (p[i + j] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
      return 0;
    i += k + 1;
  }
  return 1;
}

/* Walks the records appended since word `from`. *over: an error or the
 * peer's close came; no record may follow it. */
static void nu__fuzz_check(const struct nu_batch *b, uint32_t from,
                           uint64_t max, int *over) {
  for (uint32_t i = from; i < b->nwords; i += NU_WS_WORDS) {
    const uint32_t *w = b->words + i;
    const uint8_t *p;
    uint32_t op, len;

    NU__CHECK(w[NU_REC_KIND] == NU_EV_WS && b->nwords - i >= NU_WS_WORDS);
    NU__CHECK(!*over);
    op = w[NU_WS_OP];
    len = w[NU_WS_LEN];
    NU__CHECK((uint64_t)w[NU_WS_OFF] + len <= b->nbytes);
    /* No bytes yet (empty messages only): b->bytes is NULL. */
    p = b->bytes ? (const uint8_t *)b->bytes + w[NU_WS_OFF] : (const uint8_t *)"";
    switch (op) {
    case NU_WS_OP_TEXT:
      NU__CHECK(nu__fuzz_utf8(p, len));
      /* fall through */
    case NU_WS_OP_BINARY:
      NU__CHECK(len <= max);
      break;
    case NU_WS_OP_PING:
    case NU_WS_OP_PONG:
      NU__CHECK(len <= NU_WS_CONTROL_MAX);
      break;
    case NU_WS_OP_CLOSE:
      NU__CHECK(nu_ws_close_code_valid(w[NU_WS_CODE]) ||
                (w[NU_WS_CODE] == NU_WS_CLOSE_NO_STATUS && len == 0));
      NU__CHECK(nu__fuzz_utf8(p, len));
      *over = 1;
      break;
    case NU_WS_REC_ERROR:
      NU__CHECK(w[NU_WS_CODE] == NU_WS_CLOSE_PROTOCOL ||
                w[NU_WS_CODE] == NU_WS_CLOSE_INVALID_DATA ||
                w[NU_WS_CODE] == NU_WS_CLOSE_TOO_BIG);
      *over = 1;
      break;
    default:
      NU__CHECK(0);
    }
  }
}

/* "Sends" what the ring thread queued: each chunk is one whole server
 * frame (unmasked, FIN, a control opcode), or our FIN alone. */
static void nu__fuzz_send(struct nu_conn *c) {
  struct nu_out *o;

  while ((o = nu__fuzz_sent(c)) != NULL) {
    const uint8_t *d = (const uint8_t *)o->data;

    if (o->len > 0) {
      NU__CHECK(o->len >= 2 && (d[0] & 0x80) && !(d[1] & 0x80));
      NU__CHECK(o->len == 2u + (d[1] & 0x7f) && (d[1] & 0x7f) <= 125);
      NU__CHECK((d[0] & 0x0f) == NU_WS_OP_PONG || (d[0] & 0x0f) == NU_WS_OP_CLOSE);
    } else {
      NU__CHECK(o->flags & NU_OUT_SHUTDOWN);
    }
    nu_out_free(o);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct nu_batch b;
  struct nu_conn c;
  uint32_t state;
  uint64_t max;
  int over = 0;

  if (size < 2)
    return 0;
  memset(&b, 0, sizeof(b));
  memset(&c, 0, sizeof(c));
  /* The first byte seeds the cuts; the second picks max_payload. */
  state = data[0];
  max = data[1] < 128 ? (uint64_t)data[1] * 8 : 0;
  data += 2;
  size -= 2;
  c.fd = -1;
  NU__CHECK(nu_wsconn_start(&c, max) == 0);
  if (max == 0)
    max = NU_WSCONN_MESSAGE_MAX;
  while (size > 0) {
    uint32_t from = b.nwords;
    size_t n;
    int ret;

    state = state * 1103515245u + 12345u;
    n = (state >> 16) % 64 + 1;
    if (n > size)
      n = size;
    ret = nu_wsconn_input(&c, &b, (const char *)data, (uint32_t)n);
    NU__CHECK(ret == 0);
    nu__fuzz_check(&b, from, max, &over);
    nu__fuzz_send(&c);
    data += n;
    size -= n;
  }
  nu_wsconn_free(&c);
  nu_outq_free_all(&c.sendq);
  free(b.words);
  free(b.bytes);
  return 0;
}
