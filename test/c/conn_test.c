/* Unit tests of src/http/conn.c and conn.h: what a connection owes in
 * response order, the load bounds it counts against, and the socket
 * options JS sets on it. */
#include "conn.h"

#include "nu_test.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

static struct nu_conn *conn_new(struct nu_conn_table *tab) {
  struct nu_conn *c = nu_conn_acquire(tab);

  c->fd = 100; /* any: nothing here touches it */
  return c;
}

static void conn_free(struct nu_conn_table *tab, struct nu_conn *c) {
  c->fd = -1;
  nu_conn_release(tab, c);
  nu_conn_table_destroy(tab);
}

static struct nu_out *chunk(const struct nu_conn *c, uint32_t seq,
                            uint32_t flags) {
  struct nu_out *o = nu_out_new(c->slot, c->gen, seq, flags, 4, 0);

  memcpy(o->data, "abcd", 4);
  nu_out_seal(o);
  return o;
}

/* A request is owed until JS begins its response (reply_seq) or it is
 * queued whole, in order (send_seq). */
static void test_conn_owed(struct nu_test *t) {
  struct nu_conn_table tab = {0};
  struct nu_conn *c = conn_new(&tab);

  NU_EXPECT_UINT(nu_conn_owed(c), 0);
  c->next_seq = 3; /* three requests parsed */
  NU_EXPECT_UINT(nu_conn_owed(c), 3);
  nu_conn_enqueue(c, chunk(c, 1, NU_OUT_END)); /* the second, parked */
  NU_EXPECT_UINT(c->send_seq, 0);
  NU_EXPECT_UINT(nu_conn_owed(c), 3);
  nu_conn_enqueue(c, chunk(c, 0, NU_OUT_END)); /* the first: both go */
  NU_EXPECT_UINT(c->send_seq, 2);
  NU_EXPECT_UINT(nu_conn_owed(c), 1);
  c->reply_seq = 3; /* JS began the third, a stream */
  NU_EXPECT_UINT(nu_conn_owed(c), 0);
  c->flags |= NU_CONN_RAW; /* an upgrade owes nothing, whatever the seqs */
  c->reply_seq = 0;
  NU_EXPECT_UINT(nu_conn_owed(c), 0);
  NU_EXPECT_UINT(c->queued_bytes, 8);
  conn_free(&tab, c);
}

/* Full past either bound, or while the hysteresis holds; c's own requests
 * not yet counted count. */
static void test_load_full(struct nu_test *t) {
  struct nu_conn_table tab = {0};
  struct nu_conn *c = conn_new(&tab);
  struct nu_load l = {.max_requests = 10, .max_bytes = 1000};

  l.owed = 8;
  NU_EXPECT_INT(nu_load_full(&l, c), 0);
  c->next_seq = 2; /* not yet counted in l.owed */
  NU_EXPECT_INT(nu_load_full(&l, c), 1);
  c->owed_counted = 2; /* counted: l.owed holds them already */
  NU_EXPECT_INT(nu_load_full(&l, c), 0);
  l.owed = 10;
  NU_EXPECT_INT(nu_load_full(&l, c), 1);
  l.owed = 0;
  c->owed_counted = 0;
  c->next_seq = 0;
  l.js_bytes = 1000;
  NU_EXPECT_INT(nu_load_full(&l, c), 1);
  l.js_bytes = 0;
  l.full = 1;
  NU_EXPECT_INT(nu_load_full(&l, c), 1);
  l = (struct nu_load){.owed = 1u << 30, .js_bytes = 1ull << 40};
  NU_EXPECT_INT(nu_load_full(&l, c), 0); /* 0: no bounds */
  conn_free(&tab, c);
}

/* Not read while held for load, whatever else allows it. */
static void test_conn_held_not_read(struct nu_test *t) {
  struct nu_conn_table tab = {0};
  struct nu_conn *c = conn_new(&tab);

  NU_EXPECT_INT(nu_conn_wants_input(c), 1);
  c->flags |= NU_CONN_LOAD_HELD;
  NU_EXPECT_INT(nu_conn_wants_input(c), 0);
  NU_EXPECT_INT(nu_conn_wants_watch(c), 1); /* its peer may still go */
  conn_free(&tab, c);
}

static int sockopt_value(int fd, int level, int name) {
  int v = -1;
  socklen_t len = sizeof(v);

  return getsockopt(fd, level, name, &v, &len) < 0 ? -1 : v;
}

/* setNoDelay() and setKeepAlive() (NU_OUT_SOCKOPT) on a real TCP socket:
 * the accepted end of a loopback connection, as the ring thread has. */
static void test_conn_sockopt(struct nu_test *t) {
  struct sockaddr_in a = {.sin_family = AF_INET};
  socklen_t len = sizeof(a);
  int lfd = socket(AF_INET, SOCK_STREAM, 0);
  int cfd = socket(AF_INET, SOCK_STREAM, 0);
  int fd;

  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  NU_EXPECT(bind(lfd, (struct sockaddr *)&a, sizeof(a)) == 0);
  NU_EXPECT(listen(lfd, 1) == 0);
  NU_EXPECT(getsockname(lfd, (struct sockaddr *)&a, &len) == 0);
  NU_EXPECT(connect(cfd, (struct sockaddr *)&a, sizeof(a)) == 0);
  fd = accept(lfd, NULL, NULL);
  NU_EXPECT(fd >= 0);

  NU_EXPECT_INT(nu_conn_sockopt(fd, NU_SOCKOPT_NODELAY_ON), 0);
  NU_EXPECT(sockopt_value(fd, IPPROTO_TCP, TCP_NODELAY) != 0);
  NU_EXPECT_INT(nu_conn_sockopt(fd, NU_SOCKOPT_NODELAY_OFF), 0);
  NU_EXPECT_INT(sockopt_value(fd, IPPROTO_TCP, TCP_NODELAY), 0);

  NU_EXPECT_INT(
      nu_conn_sockopt(fd, NU_SOCKOPT_KEEPALIVE_ON | (7u << NU_SOCKOPT_SHIFT)),
      0);
  NU_EXPECT(sockopt_value(fd, SOL_SOCKET, SO_KEEPALIVE) != 0);
  NU_EXPECT_INT(sockopt_value(fd, IPPROTO_TCP, TCP_KEEPIDLE), 7);
  /* No delay: the idle time set before stays. */
  NU_EXPECT_INT(nu_conn_sockopt(fd, NU_SOCKOPT_KEEPALIVE_ON), 0);
  NU_EXPECT_INT(sockopt_value(fd, IPPROTO_TCP, TCP_KEEPIDLE), 7);
  NU_EXPECT_INT(nu_conn_sockopt(fd, NU_SOCKOPT_KEEPALIVE_OFF), 0);
  NU_EXPECT_INT(sockopt_value(fd, SOL_SOCKET, SO_KEEPALIVE), 0);

  NU_EXPECT_INT(nu_conn_sockopt(fd, 9), -EINVAL);
  NU_EXPECT_INT(nu_conn_sockopt(-1, NU_SOCKOPT_NODELAY_ON), -EBADF);
  close(fd);
  close(cfd);
  close(lfd);
}

int main(void) {
  struct nu_test t = {0};

  NU_RUN(&t, test_conn_owed);
  NU_RUN(&t, test_load_full);
  NU_RUN(&t, test_conn_held_not_read);
  NU_RUN(&t, test_conn_sockopt);
  return nu_test_end(&t, __FILE__);
}
