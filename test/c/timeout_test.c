/* Unit tests of src/http/timeout.c: the tick's period, and the timeouts
 * JS sets again while the ring thread runs (the box they travel in). */
#include "timeout.h"

#include "nu_test.h"

/* A quarter of the shortest timeout set, within [100 ms, 1 s]. */
static void test_tick(struct nu_test *t) {
  struct nu_timeouts none = {0, 0, 0, 0};
  struct nu_timeouts usual = {60000, 300000, 5000, 0};
  struct nu_timeouts short_one = {60000, 300000, 5000, 200};
  struct nu_timeouts quick = {1200, 0, 0, 0};

  NU_EXPECT_UINT(nu_timeout_tick_ms(&none), 0);
  NU_EXPECT_UINT(nu_timeout_tick_ms(&usual), 1000);
  NU_EXPECT_UINT(nu_timeout_tick_ms(&short_one), 100);
  NU_EXPECT_UINT(nu_timeout_tick_ms(&quick), 300);
}

static void expect_timeouts(struct nu_test *t, const struct nu_timeouts *got,
                            const struct nu_timeouts *want) {
  NU_EXPECT_UINT(got->headers_ms, want->headers_ms);
  NU_EXPECT_UINT(got->request_ms, want->request_ms);
  NU_EXPECT_UINT(got->keep_alive_ms, want->keep_alive_ms);
  NU_EXPECT_UINT(got->socket_ms, want->socket_ms);
}

/* A take finds what was posted once, and nothing until the next post; of
 * two posts before a take, the last one's values. */
static void test_box(struct nu_test *t) {
  struct nu_timeouts_box box = {0};
  const struct nu_timeouts first = {1000, 2000, 3000, 4000};
  const struct nu_timeouts second = {0, 300000, 65000, 0};
  const struct nu_timeouts held = {7, 7, 7, 7};
  struct nu_timeouts got = held;

  NU_EXPECT_INT(nu_timeouts_take(&box, &got), 0);
  expect_timeouts(t, &got, &held); /* untouched */
  nu_timeouts_post(&box, &first);
  NU_EXPECT_INT(nu_timeouts_take(&box, &got), 1);
  expect_timeouts(t, &got, &first);
  NU_EXPECT_INT(nu_timeouts_take(&box, &got), 0);
  nu_timeouts_post(&box, &first);
  nu_timeouts_post(&box, &second);
  NU_EXPECT_INT(nu_timeouts_take(&box, &got), 1);
  expect_timeouts(t, &got, &second);
  NU_EXPECT_INT(nu_timeouts_take(&box, &got), 0);
}

int main(void) {
  struct nu_test t = {0};

  NU_RUN(&t, test_tick);
  NU_RUN(&t, test_box);
  return nu_test_end(&t, __FILE__);
}
