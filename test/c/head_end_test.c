/* Unit tests of src/http/head_end.c: the lines that end the ring
 * thread's heads. test/head.test.js holds them to lib/head.js's. */
#include "head_end.h"

#include "nu_test.h"

#define DATE "Date: Tue, 14 Nov 2023 22:13:20 GMT\r\n"

/* What e writes with flags, checked against nu_head_end_len(). */
static void expect_end(struct nu_test *t, const struct nu_head_end *e,
                       unsigned flags, const char *want) {
  char buf[256];
  char *end;

  memset(buf, 'x', sizeof(buf));
  end = nu_head_end_write(e, flags, buf);
  NU_EXPECT_BYTES(buf, end - buf, want);
  NU_EXPECT_UINT(nu_head_end_len(e, flags), end - buf);
  NU_EXPECT_INT(*end, 'x'); /* not a byte more */
}

static void test_head_end(struct nu_test *t) {
  struct nu_date date = {DATE, sizeof(DATE) - 1, 1700000000};
  struct nu_head_end e;

  nu_head_end_init(&e, &date, 5000);
  expect_end(t, &e, 0,
             "Connection: keep-alive\r\nKeep-Alive: timeout=5\r\n" DATE "\r\n");
  expect_end(t, &e, NU_HEAD_END_CLOSE, "Connection: close\r\n" DATE "\r\n");
  expect_end(t, &e, NU_HEAD_END_CLOSE | NU_HEAD_END_NO_DATE,
             "Connection: close\r\n\r\n");
  expect_end(t, &e, NU_HEAD_END_NO_DATE,
             "Connection: keep-alive\r\nKeep-Alive: timeout=5\r\n\r\n");
}

/* As node:http (and lib/head.js): whole seconds, rounded down, and no
 * Keep-Alive line without a timeout. */
static void test_head_end_timeouts(struct nu_test *t) {
  static const struct {
    uint32_t ms;
    const char *lines;
  } cases[] = {
      {0, "Connection: keep-alive\r\n"},
      {1, "Connection: keep-alive\r\nKeep-Alive: timeout=0\r\n"},
      {999, "Connection: keep-alive\r\nKeep-Alive: timeout=0\r\n"},
      {1999, "Connection: keep-alive\r\nKeep-Alive: timeout=1\r\n"},
      {2147483647, "Connection: keep-alive\r\nKeep-Alive: timeout=2147483\r\n"},
      {UINT32_MAX, "Connection: keep-alive\r\nKeep-Alive: timeout=4294967\r\n"},
  };
  struct nu_date date = {DATE, sizeof(DATE) - 1, 1700000000};

  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    struct nu_head_end e;
    char want[128];

    nu_head_end_init(&e, &date, cases[i].ms);
    snprintf(want, sizeof(want), "%s" DATE "\r\n", cases[i].lines);
    t->name = cases[i].lines;
    expect_end(t, &e, 0, want);
  }
}

/* The statuses the ring thread answers with, as node:http names them. */
static void test_head_status_line(struct nu_test *t) {
  static const struct {
    int status;
    const char *line;
  } cases[] = {
      {200, "HTTP/1.1 200 OK\r\n"},
      {206, "HTTP/1.1 206 Partial Content\r\n"},
      {301, "HTTP/1.1 301 Moved Permanently\r\n"},
      {304, "HTTP/1.1 304 Not Modified\r\n"},
      {400, "HTTP/1.1 400 Bad Request\r\n"},
      {403, "HTTP/1.1 403 Forbidden\r\n"},
      {404, "HTTP/1.1 404 Not Found\r\n"},
      {408, "HTTP/1.1 408 Request Timeout\r\n"},
      {413, "HTTP/1.1 413 Payload Too Large\r\n"},
      {416, "HTTP/1.1 416 Range Not Satisfiable\r\n"},
      {431, "HTTP/1.1 431 Request Header Fields Too Large\r\n"},
      {500, "HTTP/1.1 500 Internal Server Error\r\n"},
      {299, "HTTP/1.1 299 unknown\r\n"},
      {999, "HTTP/1.1 999 unknown\r\n"},
  };

  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    char out[NU_HEAD_STATUS_LINE_MAX];
    uint32_t len = nu_head_status_line(out, cases[i].status);

    t->name = cases[i].line;
    NU_EXPECT_BYTES(out, len, cases[i].line);
    NU_EXPECT_INT(out[len], '\0');
  }
}

int main(void) {
  struct nu_test t = {0};

  NU_RUN(&t, test_head_end);
  NU_RUN(&t, test_head_end_timeouts);
  NU_RUN(&t, test_head_status_line);
  return nu_test_end(&t, __FILE__);
}
