/* Unit tests of src/http/conn.c and conn.h: what a connection owes in
 * response order, and the load bounds it counts against. */
#include "conn.h"

#include "nu_test.h"

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

int main(void) {
  struct nu_test t = {0};

  NU_RUN(&t, test_conn_owed);
  NU_RUN(&t, test_load_full);
  NU_RUN(&t, test_conn_held_not_read);
  return nu_test_end(&t, __FILE__);
}
