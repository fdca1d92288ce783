/* Unit tests of src/http/out.c's chunks whose body is lent (NU_OUT_LENT):
 * the framing copied around a body that is not, and the pieces a send
 * takes from any offset, as partial sends resume. */
#include "out_pool.h"

#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "nu_test.h"

/* The bytes of iov[0, n), joined, in buf (room for cap); their count. */
static size_t nu__join(const struct iovec *iov, unsigned n, char *buf,
                       size_t cap) {
  size_t len = 0;

  for (unsigned i = 0; i < n && len + iov[i].iov_len <= cap; i++) {
    memcpy(buf + len, iov[i].iov_base, iov[i].iov_len);
    len += iov[i].iov_len;
  }
  return len;
}

/* A lent chunked chunk, its last: head, size line, body, "\r\n", the last
 * chunk; every offset gives the rest of those bytes, in at most three
 * pieces, the body's from the lent bytes themselves. */
static void test_lent_chunked(struct nu_test *t) {
  static const char head[] = "HTTP/1.1 200 OK\r\n\r\n";
  static const char body[] = "0123456789abcdefghij"; /* 20 bytes: 0x14 */
  static const char wire[] =
      "HTTP/1.1 200 OK\r\n\r\n14\r\n0123456789abcdefghij\r\n0\r\n\r\n";
  struct nu_out_pool p;
  struct nu_out *o;
  struct iovec iov[3];
  char buf[128];

  nu_out_pool_init(&p, NU_OUT_POOL_MAX_BYTES);
  o = nu_out_lend_in(&p, 1, 2, 3, NU_OUT_CHUNKED | NU_OUT_END, strlen(head),
                     body, strlen(body), 42);
  NU_EXPECT(o != NULL && (o->flags & NU_OUT_LENT) && o->lent.id == 42);
  memcpy(o->data, head, strlen(head));
  nu_out_seal(o);
  NU_EXPECT_INT(o->len, strlen(wire));
  NU_EXPECT_INT(o->body_len, strlen(body));
  for (uint32_t off = 0; off < o->len; off++) {
    unsigned n = nu_out_iov(o, off, iov, 3);

    NU_EXPECT(n >= 1 && n <= 3);
    NU_EXPECT_BYTES(buf, nu__join(iov, n, buf, sizeof(buf)), wire + off);
  }
  nu_out_iov(o, 0, iov, 3);
  NU_EXPECT(iov[1].iov_base == (void *)body); /* not a copy */
  /* Out of room: the first pieces only. */
  NU_EXPECT_INT(nu_out_iov(o, 0, iov, 1), 1);
  NU_EXPECT_INT(iov[0].iov_len, strlen(head) + 4);
  o->flags &= ~NU_OUT_LENT;
  nu_out_free(o);
  nu_out_pool_destroy(&p);
}

/* Lent, framed by Content-Length: head, then the body, nothing after. */
static void test_lent_plain(struct nu_test *t) {
  static const char body[] = "lent body";
  struct nu_out_pool p;
  struct nu_out *o;
  struct iovec iov[4];
  char buf[64];

  nu_out_pool_init(&p, NU_OUT_POOL_MAX_BYTES);
  o = nu_out_lend_in(&p, 0, 0, 0, NU_OUT_END, 3, body, strlen(body), 7);
  memcpy(o->data, "H\r\n", 3);
  nu_out_seal(o);
  NU_EXPECT_INT(o->len, 3 + strlen(body));
  NU_EXPECT_INT(nu_out_iov(o, 0, iov, 4), 2);
  NU_EXPECT_BYTES(buf, nu__join(iov, 2, buf, sizeof(buf)), "H\r\nlent body");
  NU_EXPECT_INT(nu_out_iov(o, 5, iov, 4), 1);
  NU_EXPECT_BYTES(iov[0].iov_base, iov[0].iov_len, "nt body");
  o->flags &= ~NU_OUT_LENT;
  nu_out_free(o);
  nu_out_pool_destroy(&p);
}

/* A copied chunk is one piece, even an empty one: its send retires it. */
static void test_copied(struct nu_test *t) {
  struct nu_out *o = nu_out_new(0, 0, 0, NU_OUT_END, 0, 0);
  struct iovec iov[2];

  NU_EXPECT_INT(nu_out_iov(o, 0, iov, 2), 1);
  NU_EXPECT_INT(iov[0].iov_len, 0);
  nu_out_free(o);
  o = nu_out_new(0, 0, 0, NU_OUT_END, 4, 2);
  memcpy(o->data, "headxy", 6);
  NU_EXPECT_INT(nu_out_iov(o, 1, iov, 2), 1);
  NU_EXPECT_BYTES(iov[0].iov_base, iov[0].iov_len, "eadxy");
  nu_out_free(o);
}

int main(void) {
  struct nu_test t = {0};

  NU_RUN(&t, test_lent_chunked);
  NU_RUN(&t, test_lent_plain);
  NU_RUN(&t, test_copied);
  return nu_test_end(&t, __FILE__);
}
