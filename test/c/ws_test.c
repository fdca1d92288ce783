/* Unit tests of src/ws: SHA-1, base64 and the accept key; UTF-8; frames
 * parsed from input cut at every point, and written. */
#include "frame.h"
#include "handshake.h"
#include "utf8.h"

#include <errno.h>
#include <stdlib.h>

#include "nu_test.h"

static void hex(const uint8_t *p, size_t n, char *out) {
  for (size_t i = 0; i < n; i++)
    snprintf(out + 2 * i, 3, "%02x", p[i]);
}

static void test_sha1(struct nu_test *t) {
  static const struct {
    const char *in, *digest;
  } cases[] = {
      {"", "da39a3ee5e6b4b0d3255bfef95601890afd80709"},
      {"abc", "a9993e364706816aba3e25717850c26c9cd0d89d"},
      /* 56 bytes: the padding takes a block of its own. */
      {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
       "84983e441c3bd26ebaae4aa1f95129e5e54670f1"},
  };
  uint8_t d[20];
  char out[41];
  char *million = malloc(1000000);

  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    t->name = cases[i].in;
    nu_sha1(cases[i].in, strlen(cases[i].in), d);
    hex(d, 20, out);
    NU_EXPECT_STR(out, cases[i].digest);
  }
  t->name = "a million a's";
  memset(million, 'a', 1000000);
  nu_sha1(million, 1000000, d);
  hex(d, 20, out);
  NU_EXPECT_STR(out, "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
  free(million);
}

static void test_base64_and_accept(struct nu_test *t) {
  char out[32];
  size_t n;

  n = nu_base64((const uint8_t *)"foob", 4, out);
  NU_EXPECT_BYTES(out, n, "Zm9vYg==");
  n = nu_base64((const uint8_t *)"fooba", 5, out);
  NU_EXPECT_BYTES(out, n, "Zm9vYmE=");
  n = nu_base64((const uint8_t *)"foobar", 6, out);
  NU_EXPECT_BYTES(out, n, "Zm9vYmFy");
  /* RFC 6455, 1.3. */
  NU_EXPECT_INT(nu_ws_accept("dGhlIHNhbXBsZSBub25jZQ==", 24, out), 0);
  NU_EXPECT_BYTES(out, NU_WS_ACCEPT_LEN, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  NU_EXPECT_INT(nu_ws_accept(out, NU_WS_KEY_MAX + 1, out), -1);
}

static void test_utf8(struct nu_test *t) {
  static const struct {
    const char *bytes;
    int valid;
  } cases[] = {
      {"", 1},
      {"plain ascii, longer than eight bytes", 1},
      {"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 1}, /* é € 😀 */
      {"\xed\x9f\xbf", 1},                         /* U+D7FF */
      {"\xf4\x8f\xbf\xbf", 1},                     /* U+10FFFF */
      {"\x80", 0},                                 /* a lone continuation */
      {"\xc0\x80", 0},                             /* overlong NUL */
      {"\xc1\xbf", 0},
      {"\xe0\x9f\xbf", 0},                         /* overlong */
      {"\xed\xa0\x80", 0},                         /* a surrogate */
      {"\xf0\x8f\xbf\xbf", 0},                     /* overlong */
      {"\xf4\x90\x80\x80", 0},                     /* past U+10FFFF */
      {"\xf5\x80\x80\x80", 0},
      {"\xe2\x82", 0},                             /* cut short */
      {"abcdefgh\xff", 0},
  };

  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    const uint8_t *p = (const uint8_t *)cases[i].bytes;
    size_t n = strlen(cases[i].bytes);

    t->name = cases[i].bytes;
    NU_EXPECT_INT(nu_utf8_valid(p, n), cases[i].valid);
    /* Cut anywhere, the verdict is the same. */
    for (size_t cut = 0; cut <= n; cut++) {
      struct nu_utf8 u = {0, 0, 0};
      int ok = nu_utf8_step(&u, p, cut) == 0 &&
               nu_utf8_step(&u, p + cut, n - cut) == 0 && nu_utf8_complete(&u);

      NU_EXPECT_INT(ok, cases[i].valid);
    }
  }
}

/* A sink that records what the parser hands on, as text. */
struct rec {
  uint8_t msg[4096];
  size_t msg_len;
  char log[1024];
  size_t log_len;
};

static void rec_add(struct rec *r, const char *what, const uint8_t *p,
                    size_t n) {
  r->log_len += (size_t)snprintf(r->log + r->log_len, sizeof(r->log) - r->log_len,
                                 "%s:%.*s;", what, (int)n, (const char *)p);
}

static uint8_t *rec_keep(void *ctx, const uint8_t *p, size_t n, int whole) {
  struct rec *r = ctx;

  memcpy(r->msg + r->msg_len, p, n);
  r->msg_len += n;
  return r->msg + r->msg_len - n;
}

static int rec_message(void *ctx, unsigned opcode, uint64_t len) {
  struct rec *r = ctx;

  rec_add(r, opcode == NU_WS_OP_TEXT ? "text" : "binary", r->msg, r->msg_len);
  r->msg_len = 0;
  return 0;
}

static int rec_control(void *ctx, unsigned opcode, const uint8_t *p, size_t n) {
  rec_add(ctx, opcode == NU_WS_OP_PING ? "ping" : "pong", p, n);
  return 0;
}

static int rec_close(void *ctx, unsigned code, const uint8_t *p, size_t n) {
  char what[16];

  snprintf(what, sizeof(what), "close %u", code);
  rec_add(ctx, what, p, n);
  return 0;
}

static const struct nu_ws_sink rec_sink = {rec_keep, rec_message, rec_control,
                                           rec_close};

/* A client frame of payload p (n bytes) masked with a fixed key, to out;
 * returns its length. */
static size_t client_frame(uint8_t *out, uint8_t b0, const char *p, size_t n) {
  static const uint8_t key[4] = {0x37, 0xfa, 0x21, 0x3d};
  size_t at = 0;

  out[at++] = b0;
  if (n < 126) {
    out[at++] = (uint8_t)(0x80 | n);
  } else {
    out[at++] = 0x80 | 126;
    out[at++] = (uint8_t)(n >> 8);
    out[at++] = (uint8_t)n;
  }
  memcpy(out + at, key, 4);
  at += 4;
  for (size_t i = 0; i < n; i++)
    out[at + i] = (uint8_t)p[i] ^ key[i & 3];
  return at + n;
}

static void test_parse_cut_anywhere(struct nu_test *t) {
  uint8_t in[1024], big[300];
  size_t n = 0;
  const char *want = "ping:p;text:hello;binary:"; /* the ping comes first */

  memset(big, 'b', sizeof(big));
  n += client_frame(in + n, 0x01, "hel", 3); /* TEXT, not FIN */
  n += client_frame(in + n, 0x89, "p", 1);   /* a ping between */
  n += client_frame(in + n, 0x80, "lo", 2);  /* the last fragment */
  n += client_frame(in + n, 0x82, (const char *)big, sizeof(big));
  n += client_frame(in + n, 0x88, "\x03\xe8ok", 4); /* close 1000 "ok" */
  for (size_t cut = 0; cut <= n; cut++) {
    struct nu_ws_parser p;
    struct rec r;

    memset(&p, 0, sizeof(p));
    memset(&r, 0, sizeof(r));
    t->name = "two pieces";
    NU_EXPECT_INT(nu_ws_parse(&p, in, cut, &rec_sink, &r), 0);
    NU_EXPECT_INT(nu_ws_parse(&p, in + cut, n - cut, &rec_sink, &r), 0);
    NU_EXPECT_INT(strncmp(r.log, want, strlen(want)), 0);
    NU_EXPECT_INT(r.log_len, strlen(want) + sizeof(big) + strlen(";close 1000:ok;"));
    NU_EXPECT_INT(p.done, 1);
  }
}

static void test_parse_errors(struct nu_test *t) {
  static const struct {
    const char *name;
    uint8_t b0;
    const char *payload;
    size_t n;
    int mask;
    enum nu_ws_error err;
  } cases[] = {
      {"unmasked", 0x81, "x", 1, 0, NU_WS_ERR_MASK},
      {"rsv1", 0xc1, "x", 1, 1, NU_WS_ERR_RSV1},
      {"rsv3", 0x91, "x", 1, 1, NU_WS_ERR_RSV23},
      {"opcode 3", 0x83, "x", 1, 1, NU_WS_ERR_OPCODE},
      {"opcode 15", 0x8f, "", 0, 1, NU_WS_ERR_OPCODE},
      {"continuation first", 0x80, "x", 1, 1, NU_WS_ERR_OPCODE},
      {"fragmented ping", 0x09, "x", 1, 1, NU_WS_ERR_FIN},
      {"bad utf-8", 0x81, "\xff", 1, 1, NU_WS_ERR_UTF8},
      {"close of one byte", 0x88, "\x03", 1, 1, NU_WS_ERR_CONTROL_LENGTH},
      {"close 1006", 0x88, "\x03\xee", 2, 1, NU_WS_ERR_CLOSE_CODE},
      {"close reason", 0x88, "\x03\xe8\xc0\x80", 4, 1, NU_WS_ERR_UTF8},
      {"too big", 0x82, "0123456789a", 11, 1, NU_WS_ERR_TOO_BIG},
  };

  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    struct nu_ws_parser p;
    struct rec r;
    uint8_t in[64];
    size_t n = client_frame(in, cases[i].b0, cases[i].payload, cases[i].n);

    if (!cases[i].mask) {
      in[1] &= 0x7f;
      memmove(in + 2, in + 6, n - 6);
      for (size_t k = 0; k < cases[i].n; k++)
        in[2 + k] = (uint8_t)cases[i].payload[k];
      n -= 4;
    }
    memset(&p, 0, sizeof(p));
    memset(&r, 0, sizeof(r));
    p.max_payload = 10;
    t->name = cases[i].name;
    NU_EXPECT_INT(nu_ws_parse(&p, in, n, &rec_sink, &r), cases[i].err);
    NU_EXPECT_INT(p.done, 1);
    NU_EXPECT_INT(r.log_len, 0);
    /* Nothing more is parsed. */
    NU_EXPECT_INT(nu_ws_parse(&p, in, n, &rec_sink, &r), 0);
  }
  NU_EXPECT_INT(nu_ws_error_code(NU_WS_ERR_TOO_BIG), 1009);
  NU_EXPECT_INT(nu_ws_error_code(NU_WS_ERR_UTF8), 1007);
  NU_EXPECT_STR(nu_ws_error_name(NU_WS_ERR_MASK), "WS_ERR_EXPECTED_MASK");
}

static void test_frame_header(struct nu_test *t) {
  static const struct {
    uint64_t len;
    size_t hlen;
    const char *bytes;
  } cases[] = {
      {0, 2, "\x81\x00"},
      {125, 2, "\x81\x7d"},
      {126, 4, "\x81\x7e\x00\x7e"},
      {65535, 4, "\x81\x7e\xff\xff"},
      {65536, 10, "\x81\x7f\x00\x00\x00\x00\x00\x01\x00\x00"},
  };
  uint8_t out[NU_WS_HEADER_MAX];

  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    size_t n = nu_ws_frame_header(out, NU_WS_OP_TEXT, 1, cases[i].len);

    t->name = "a header";
    NU_EXPECT_INT(n, cases[i].hlen);
    NU_EXPECT_INT(nu_ws_header_len(cases[i].len), cases[i].hlen);
    NU_EXPECT_INT(memcmp(out, cases[i].bytes, n), 0);
  }
  NU_EXPECT_INT(nu_ws_frame_header(out, NU_WS_OP_CONT, 0, 1), 2);
  NU_EXPECT_INT(out[0], 0x00);
  NU_EXPECT_INT(nu_ws_close_payload(out, 4000, "ok", 2), 4);
  NU_EXPECT_BYTES((char *)out, 4, "\x0f\xa0ok");
}

int main(void) {
  struct nu_test t = {0};

  NU_RUN(&t, test_sha1);
  NU_RUN(&t, test_base64_and_accept);
  NU_RUN(&t, test_utf8);
  NU_RUN(&t, test_parse_cut_anywhere);
  NU_RUN(&t, test_parse_errors);
  NU_RUN(&t, test_frame_header);
  return nu_test_end(&t, __FILE__);
}
