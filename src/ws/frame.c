#include "frame.h"

#include <errno.h>
#include <string.h>

/* The first two bytes of a frame. */
#define NU__FIN 0x80u
#define NU__RSV1 0x40u
#define NU__RSV23 0x30u
#define NU__OPCODE 0x0fu
#define NU__MASK 0x80u
#define NU__LEN7 0x7fu

static const struct {
  unsigned code;
  const char *name, *message;
} nu__errors[NU_WS_ERR_COUNT] = {
    [NU_WS_ERR_NONE] = {0, "", ""},
    [NU_WS_ERR_RSV1] = {NU_WS_CLOSE_PROTOCOL, "WS_ERR_UNEXPECTED_RSV_1",
                        "RSV1 must be clear"},
    [NU_WS_ERR_RSV23] = {NU_WS_CLOSE_PROTOCOL, "WS_ERR_UNEXPECTED_RSV_2_3",
                         "RSV2 and RSV3 must be clear"},
    [NU_WS_ERR_OPCODE] = {NU_WS_CLOSE_PROTOCOL, "WS_ERR_INVALID_OPCODE",
                          "invalid opcode"},
    [NU_WS_ERR_FIN] = {NU_WS_CLOSE_PROTOCOL, "WS_ERR_EXPECTED_FIN",
                       "FIN must be set"},
    [NU_WS_ERR_CONTROL_LENGTH] = {NU_WS_CLOSE_PROTOCOL,
                                  "WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH",
                                  "invalid payload length"},
    [NU_WS_ERR_MASK] = {NU_WS_CLOSE_PROTOCOL, "WS_ERR_EXPECTED_MASK",
                        "MASK must be set"},
    [NU_WS_ERR_FRAME_LENGTH] = {NU_WS_CLOSE_TOO_BIG,
                                "WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH",
                                "Unsupported WebSocket frame: payload "
                                "length > 2^63 - 1"},
    [NU_WS_ERR_TOO_BIG] = {NU_WS_CLOSE_TOO_BIG,
                           "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH",
                           "Max payload size exceeded"},
    [NU_WS_ERR_UTF8] = {NU_WS_CLOSE_INVALID_DATA, "WS_ERR_INVALID_UTF8",
                        "invalid UTF-8 sequence"},
    [NU_WS_ERR_CLOSE_CODE] = {NU_WS_CLOSE_PROTOCOL, "WS_ERR_INVALID_CLOSE_CODE",
                              "invalid status code"},
};

unsigned nu_ws_error_code(enum nu_ws_error err) {
  return nu__errors[err].code;
}

const char *nu_ws_error_name(enum nu_ws_error err) {
  return nu__errors[err].name;
}

const char *nu_ws_error_message(enum nu_ws_error err) {
  return nu__errors[err].message;
}

int nu_ws_close_code_valid(unsigned code) {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
         (code >= 3000 && code <= 4999);
}

void nu_ws_unmask(uint8_t *buf, size_t n, const uint8_t mask[4], size_t off) {
  uint8_t m[8];
  uint64_t w, k;
  size_t i = 0;

  for (int j = 0; j < 8; j++)
    m[j] = mask[(off + (size_t)j) & 3];
  memcpy(&k, m, 8);
  for (; i + 8 <= n; i += 8) {
    memcpy(&w, buf + i, 8);
    w ^= k;
    memcpy(buf + i, &w, 8);
  }
  for (; i < n; i++)
    buf[i] ^= m[i & 7];
}

/* How many header bytes the frame whose first two are in needs. */
static size_t nu__header_need(const struct nu_ws_parser *p) {
  unsigned len7 = p->hdr[1] & NU__LEN7;

  return 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) + 4;
}

/* The checks that the first two bytes allow, before the rest is in. */
static int nu__check_start(struct nu_ws_parser *p) {
  unsigned b0 = p->hdr[0], b1 = p->hdr[1];
  unsigned op = b0 & NU__OPCODE;

  if (b0 & NU__RSV1)
    return NU_WS_ERR_RSV1;
  if (b0 & NU__RSV23)
    return NU_WS_ERR_RSV23;
  if (op >= NU_WS_OP_CLOSE) {
    if (op > NU_WS_OP_PONG)
      return NU_WS_ERR_OPCODE;
    if (!(b0 & NU__FIN))
      return NU_WS_ERR_FIN;
    if ((b1 & NU__LEN7) > NU_WS_CONTROL_MAX)
      return NU_WS_ERR_CONTROL_LENGTH;
  } else if (op > NU_WS_OP_BINARY ||
             (op == NU_WS_OP_CONT) != (p->msg_opcode != 0)) {
    /* A continuation outside a message, or a new message inside one. */
    return NU_WS_ERR_OPCODE;
  }
  if (!(b1 & NU__MASK))
    return NU_WS_ERR_MASK;
  return NU_WS_ERR_NONE;
}

/* The header is in: reads its length and mask, and readies the payload. */
static int nu__header_done(struct nu_ws_parser *p) {
  unsigned len7 = p->hdr[1] & NU__LEN7;
  const uint8_t *at = p->hdr + 2;
  uint64_t len = len7;

  if (len7 == 126) {
    len = (uint64_t)at[0] << 8 | at[1];
    at += 2;
  } else if (len7 == 127) {
    len = 0;
    for (int i = 0; i < 8; i++)
      len = len << 8 | at[i];
    at += 8;
    if (len >> 63)
      return NU_WS_ERR_FRAME_LENGTH;
  }
  p->opcode = p->hdr[0] & NU__OPCODE;
  p->fin = (p->hdr[0] & NU__FIN) != 0;
  if (p->opcode < NU_WS_OP_CLOSE) {
    if (p->opcode != NU_WS_OP_CONT) {
      p->msg_opcode = p->opcode;
      p->msg_len = 0;
      memset(&p->utf8, 0, sizeof(p->utf8));
    }
    if (p->max_payload && len > p->max_payload - p->msg_len)
      return NU_WS_ERR_TOO_BIG;
  }
  memcpy(p->mask, at, 4);
  p->frame_len = p->left = len;
  p->ctl_len = 0;
  p->in_payload = 1;
  return NU_WS_ERR_NONE;
}

/* A close frame's payload: its code and reason checked, handed on. */
static int nu__close(struct nu_ws_parser *p, const struct nu_ws_sink *sink,
                     void *ctx) {
  unsigned code = NU_WS_CLOSE_NO_STATUS;

  if (p->ctl_len == 1)
    return NU_WS_ERR_CONTROL_LENGTH;
  if (p->ctl_len >= 2) {
    code = (unsigned)p->ctl[0] << 8 | p->ctl[1];
    if (!nu_ws_close_code_valid(code))
      return NU_WS_ERR_CLOSE_CODE;
    if (!nu_utf8_valid(p->ctl + 2, p->ctl_len - 2u))
      return NU_WS_ERR_UTF8;
  }
  p->done = 1;
  return sink->close(ctx, code, p->ctl + 2, p->ctl_len >= 2 ? p->ctl_len - 2u : 0);
}

/* The frame's payload is all in. */
static int nu__frame_done(struct nu_ws_parser *p, const struct nu_ws_sink *sink,
                          void *ctx) {
  unsigned op = p->opcode;
  p->in_payload = 0;
  p->hdr_len = 0;
  if (op == NU_WS_OP_CLOSE)
    return nu__close(p, sink, ctx);
  if (op >= NU_WS_OP_PING)
    return sink->control(ctx, op, p->ctl, p->ctl_len);
  if (!p->fin)
    return 0;
  if (p->msg_opcode == NU_WS_OP_TEXT && !nu_utf8_complete(&p->utf8))
    return NU_WS_ERR_UTF8;
  op = p->msg_opcode;
  p->msg_opcode = 0;
  return sink->message(ctx, op, p->msg_len);
}

/* Takes up to n payload bytes at data; *used says how many. */
static int nu__payload(struct nu_ws_parser *p, const uint8_t *data, size_t n,
                       size_t *used, const struct nu_ws_sink *sink,
                       void *ctx) {
  size_t off = (size_t)(p->frame_len - p->left);
  uint8_t *dst;

  if (n > p->left)
    n = (size_t)p->left;
  *used = n;
  if (p->opcode >= NU_WS_OP_CLOSE) {
    memcpy(p->ctl + p->ctl_len, data, n);
    nu_ws_unmask(p->ctl + p->ctl_len, n, p->mask, off);
    p->ctl_len += (uint8_t)n;
  } else if (n > 0) {
    int whole = p->fin && p->opcode != NU_WS_OP_CONT && n == p->frame_len;

    dst = sink->keep(ctx, data, n, whole);
    if (dst == NULL)
      return -ENOMEM;
    nu_ws_unmask(dst, n, p->mask, off);
    if (p->msg_opcode == NU_WS_OP_TEXT && nu_utf8_step(&p->utf8, dst, n) < 0)
      return NU_WS_ERR_UTF8;
    p->msg_len += n;
  }
  p->left -= n;
  return p->left == 0 ? nu__frame_done(p, sink, ctx) : 0;
}

/* Takes header bytes at data, up to n, one at a time (a header is at most
 * 14); *used says how many. */
static int nu__header(struct nu_ws_parser *p, const uint8_t *data, size_t n,
                      size_t *used) {
  size_t i = 0;
  int err = NU_WS_ERR_NONE;

  while (i < n) {
    p->hdr[p->hdr_len++] = data[i++];
    if (p->hdr_len == 2 && (err = nu__check_start(p)) != NU_WS_ERR_NONE)
      break;
    if (p->hdr_len >= 2 && p->hdr_len == nu__header_need(p)) {
      err = nu__header_done(p);
      break;
    }
  }
  *used = i;
  return err;
}

int nu_ws_parse(struct nu_ws_parser *p, const uint8_t *data, size_t len,
                const struct nu_ws_sink *sink, void *ctx) {
  size_t i = 0;

  while (i < len && !p->done) {
    size_t used = 0;
    int ret = p->in_payload
                  ? nu__payload(p, data + i, len - i, &used, sink, ctx)
                  : nu__header(p, data + i, len - i, &used);

    i += used;
    if (ret > 0)
      p->done = 1;
    if (ret != 0)
      return ret;
    /* A frame of no payload is complete with its header. */
    if (p->in_payload && p->left == 0 && !p->done) {
      ret = nu__frame_done(p, sink, ctx);
      if (ret > 0)
        p->done = 1;
      if (ret != 0)
        return ret;
    }
  }
  return 0;
}

size_t nu_ws_frame_header(uint8_t *out, unsigned opcode, int fin,
                          uint64_t len) {
  out[0] = (uint8_t)((fin ? NU__FIN : 0) | (opcode & NU__OPCODE));
  if (len < 126) {
    out[1] = (uint8_t)len;
    return 2;
  }
  if (len <= 0xffff) {
    out[1] = 126;
    out[2] = (uint8_t)(len >> 8);
    out[3] = (uint8_t)len;
    return 4;
  }
  out[1] = 127;
  for (int i = 0; i < 8; i++)
    out[2 + i] = (uint8_t)(len >> (56 - 8 * i));
  return 10;
}

size_t nu_ws_close_payload(uint8_t *out, unsigned code, const void *reason,
                           size_t n) {
  out[0] = (uint8_t)(code >> 8);
  out[1] = (uint8_t)code;
  if (n)
    memcpy(out + 2, reason, n);
  return 2 + n;
}
