#include "handshake.h"

#include <string.h>

#define NU__SHA1_BLOCK 64

struct nu__sha1 {
  uint32_t h[5];
  uint64_t len; /* bytes hashed */
  uint8_t block[NU__SHA1_BLOCK];
  uint32_t fill;
};

static uint32_t nu__rol(uint32_t x, int n) {
  return (x << n) | (x >> (32 - n));
}

static uint32_t nu__be32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
         p[3];
}

static void nu__sha1_block(struct nu__sha1 *s, const uint8_t *p) {
  uint32_t w[80], a = s->h[0], b = s->h[1], c = s->h[2], d = s->h[3],
                  e = s->h[4];

  for (int i = 0; i < 16; i++)
    w[i] = nu__be32(p + 4 * i);
  for (int i = 16; i < 80; i++)
    w[i] = nu__rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
  for (int i = 0; i < 80; i++) {
    uint32_t f, k, t;

    if (i < 20) {
      f = (b & c) | (~b & d);
      k = 0x5a827999;
    } else if (i < 40) {
      f = b ^ c ^ d;
      k = 0x6ed9eba1;
    } else if (i < 60) {
      f = (b & c) | (b & d) | (c & d);
      k = 0x8f1bbcdc;
    } else {
      f = b ^ c ^ d;
      k = 0xca62c1d6;
    }
    t = nu__rol(a, 5) + f + e + k + w[i];
    e = d;
    d = c;
    c = nu__rol(b, 30);
    b = a;
    a = t;
  }
  s->h[0] += a;
  s->h[1] += b;
  s->h[2] += c;
  s->h[3] += d;
  s->h[4] += e;
}

static void nu__sha1_update(struct nu__sha1 *s, const uint8_t *p, size_t n) {
  s->len += n;
  while (n > 0) {
    uint32_t take = NU__SHA1_BLOCK - s->fill;

    if (take > n)
      take = (uint32_t)n;
    memcpy(s->block + s->fill, p, take);
    s->fill += take;
    p += take;
    n -= take;
    if (s->fill == NU__SHA1_BLOCK) {
      nu__sha1_block(s, s->block);
      s->fill = 0;
    }
  }
}

void nu_sha1(const void *p, size_t n, uint8_t digest[20]) {
  struct nu__sha1 s = {{0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476,
                        0xc3d2e1f0},
                       0,
                       {0},
                       0};
  uint64_t bits;
  uint8_t pad = 0x80, zero = 0, len[8];

  nu__sha1_update(&s, p, n);
  bits = s.len * 8;
  /* 0x80, zeros up to 56 bytes in the block, the length in bits. */
  nu__sha1_update(&s, &pad, 1);
  while (s.fill != NU__SHA1_BLOCK - 8)
    nu__sha1_update(&s, &zero, 1);
  for (int i = 0; i < 8; i++)
    len[i] = (uint8_t)(bits >> (56 - 8 * i));
  nu__sha1_update(&s, len, 8);
  for (int i = 0; i < 5; i++) {
    digest[4 * i] = (uint8_t)(s.h[i] >> 24);
    digest[4 * i + 1] = (uint8_t)(s.h[i] >> 16);
    digest[4 * i + 2] = (uint8_t)(s.h[i] >> 8);
    digest[4 * i + 3] = (uint8_t)s.h[i];
  }
}

size_t nu_base64(const uint8_t *p, size_t n, char *out) {
  static const char abc[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  size_t o = 0;

  for (size_t i = 0; i < n; i += 3) {
    uint32_t v = (uint32_t)p[i] << 16;

    if (i + 1 < n)
      v |= (uint32_t)p[i + 1] << 8;
    if (i + 2 < n)
      v |= p[i + 2];
    out[o++] = abc[v >> 18];
    out[o++] = abc[(v >> 12) & 63];
    out[o++] = i + 1 < n ? abc[(v >> 6) & 63] : '=';
    out[o++] = i + 2 < n ? abc[v & 63] : '=';
  }
  return o;
}

int nu_ws_accept(const char *key, size_t key_len,
                 char out[NU_WS_ACCEPT_LEN]) {
  static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  char buf[NU_WS_KEY_MAX + sizeof(guid) - 1];
  uint8_t digest[20];

  if (key_len > NU_WS_KEY_MAX)
    return -1;
  memcpy(buf, key, key_len);
  memcpy(buf + key_len, guid, sizeof(guid) - 1);
  nu_sha1(buf, key_len + sizeof(guid) - 1, digest);
  nu_base64(digest, sizeof(digest), out);
  return 0;
}
