/* Unit tests of src/static/conditional.c: Range, If-None-Match, If-Range,
 * If-Modified-Since and the ETag. test/fixtures/conditional.js has the
 * same rules end to end, on both backends. */
#include "conditional.h"

#include "nu_test.h"

#define SIZE 1000u

static void test_range_parse(struct nu_test *t) {
  static const struct {
    const char *v;
    uint64_t size;
    int status;
    uint64_t first, last;
  } cases[] = {
      {"bytes=0-99", SIZE, 206, 0, 99},
      {"bytes=0-0", SIZE, 206, 0, 0},
      {"bytes=500-", SIZE, 206, 500, 999},
      {"bytes=999-", SIZE, 206, 999, 999},
      {"bytes=990-5000", SIZE, 206, 990, 999}, /* clamped */
      {"bytes=-10", SIZE, 206, 990, 999},
      {"bytes=-1000", SIZE, 206, 0, 999},
      {"bytes=-99999999999999999999999", SIZE, 206, 0, 999},
      {"bytes=0-99999999999999999999999", SIZE, 206, 0, 999},
      {"bytes=007-010", SIZE, 206, 7, 10},
      {"BYTES=1-2", SIZE, 206, 1, 2},
      {"Bytes=1-2", SIZE, 206, 1, 2},
      {"bytes=5-5", SIZE, 206, 5, 5},
      {"bytes=1000-", SIZE, 416, 0, 0},
      {"bytes=1000-2000", SIZE, 416, 0, 0},
      {"bytes=99999999999999999999-", SIZE, 416, 0, 0},
      {"bytes=-0", SIZE, 416, 0, 0},
      {"bytes=-000", SIZE, 416, 0, 0},
      {"bytes=0-", 0, 416, 0, 0},
      {"bytes=-5", 0, 416, 0, 0},
      {"bytes=0-1,5-6", SIZE, 0, 0, 0},
      {"bytes=0-1, 5-6", SIZE, 0, 0, 0},
      {"bytes=5-3", SIZE, 0, 0, 0},
      {"bytes=2000-1500", SIZE, 0, 0, 0},
      /* Past the cap, still ordered: last before first is invalid. */
      {"bytes=1000000000000000002-1000000000000000001", SIZE, 0, 0, 0},
      {"bytes=999999999999999999991-999999999999999999990", SIZE, 0, 0, 0},
      {"bytes=0001000000000000000000-1000000000000000000000", SIZE, 416, 0, 0},
      {"bytes=1000000000000000001-1000000000000000002", SIZE, 416, 0, 0},
      {"bytes=-", SIZE, 0, 0, 0},
      {"bytes=", SIZE, 0, 0, 0},
      {"bytes", SIZE, 0, 0, 0},
      {"items=0-1", SIZE, 0, 0, 0},
      {"0-1", SIZE, 0, 0, 0},
      {"bytes= 0-1", SIZE, 0, 0, 0},
      {"bytes=0 -1", SIZE, 0, 0, 0},
      {"bytes=0- 1", SIZE, 0, 0, 0},
      {"bytes=1-2-3", SIZE, 0, 0, 0},
      {"bytes=+1-2", SIZE, 0, 0, 0},
      {"bytes=0x10-20", SIZE, 0, 0, 0},
      {"bytes=abc", SIZE, 0, 0, 0},
      {"bytes=1", SIZE, 0, 0, 0},
      {"bytes=--1", SIZE, 0, 0, 0},
  };

  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    uint64_t first = 0, last = 0;
    int status = nu_range_parse(cases[i].v, (uint32_t)strlen(cases[i].v),
                                cases[i].size, &first, &last);

    t->name = cases[i].v;
    NU_EXPECT_INT(status, cases[i].status);
    if (status == 206) {
      NU_EXPECT_UINT(first, cases[i].first);
      NU_EXPECT_UINT(last, cases[i].last);
    }
  }
}

#define ETAG "\"1000-6553f100.1dcd6500\""

static void test_etag_list_match(struct nu_test *t) {
  static const struct {
    const char *v;
    int match;
  } cases[] = {
      {ETAG, 1},
      {"W/" ETAG, 1},
      {"\"x\", " ETAG, 1},
      {"\"x\",W/" ETAG " ,\t\"y\"", 1},
      {ETAG ",", 1},
      {",," ETAG, 1},
      {"*", 1},
      {" * ", 1},
      {"\"x\", *", 1},
      {"\"x, " ETAG, 1}, /* members end at commas, quotes or not */
      {"", 0},
      {",", 0},
      {"\"nope\"", 0},
      {"**", 0},
      {"*" ETAG, 0},
      {ETAG "x", 0},
      {"w/" ETAG, 0},
      {"W/ " ETAG, 0},
      {"W/W/" ETAG, 0},
      {"1000-6553f100.1dcd6500", 0},
      {"\xa0" ETAG, 0}, /* OWS is spaces and tabs, nothing else */
      {"\"1000-6553f100.1dcd650\"", 0},
  };

  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    t->name = cases[i].v;
    NU_EXPECT_INT(nu_etag_list_match(cases[i].v, (uint32_t)strlen(cases[i].v),
                                     ETAG, (uint32_t)strlen(ETAG)),
                  cases[i].match);
  }
  t->name = "a value that is not NUL-terminated";
  NU_EXPECT_INT(nu_etag_list_match("*x", 1, ETAG, (uint32_t)strlen(ETAG)), 1);
  NU_EXPECT_INT(nu_etag_list_match(ETAG ETAG, (uint32_t)strlen(ETAG) - 1, ETAG,
                                   (uint32_t)strlen(ETAG)),
                0);
}

static void test_validators_init(struct nu_test *t) {
  struct nu_validators v;

  nu_validators_init(&v, 4096, 1700000000, 500000000);
  NU_EXPECT_BYTES(v.etag, v.etag_len, ETAG);
  NU_EXPECT_STR(v.last_modified, "Tue, 14 Nov 2023 22:13:20 GMT");
  NU_EXPECT_INT(v.mtime, 1700000000);
  /* Before 1970, in signed hex as JS writes -3786825600n.toString(16). */
  nu_validators_init(&v, 5, -3786825600, 0);
  NU_EXPECT_BYTES(v.etag, v.etag_len, "\"5--e1b65f80.0\"");
  NU_EXPECT_STR(v.last_modified, "Tue, 01 Jan 1850 00:00:00 GMT");
  /* No HTTP date for the year 36812: no Last-Modified. */
  nu_validators_init(&v, 4, 1099511627776, 0);
  NU_EXPECT_BYTES(v.etag, v.etag_len, "\"4-10000000000.0\"");
  NU_EXPECT_STR(v.last_modified, "");
  nu_validators_init(&v, UINT64_MAX, INT64_MIN, 999999999);
  NU_EXPECT_BYTES(v.etag, v.etag_len,
                  "\"ffffffffffffffff--8000000000000000.3b9ac9ff\"");
}

#define LAST_MODIFIED "Tue, 14 Nov 2023 22:13:20 GMT"

/* Its If-None-Match and If-Modified-Since values, NULL when absent. */
static int not_modified(const struct nu_validators *v, const char *inm,
                        const char *ims) {
  return nu_validators_not_modified(v, inm, inm ? (uint32_t)strlen(inm) : 0,
                                    ims, ims ? (uint32_t)strlen(ims) : 0);
}

static void test_validators_not_modified(struct nu_test *t) {
  struct nu_validators v, far;

  nu_validators_init(&v, 4096, 1700000000, 500000000);
  nu_validators_init(&far, 4, 1099511627776, 0);
  NU_EXPECT_INT(not_modified(&v, NULL, NULL), 0);
  NU_EXPECT_INT(not_modified(&v, ETAG, NULL), 1);
  NU_EXPECT_INT(not_modified(&v, "\"x\"", NULL), 0);
  NU_EXPECT_INT(not_modified(&v, NULL, LAST_MODIFIED), 1);
  NU_EXPECT_INT(not_modified(&v, NULL, "Tue, 14 Nov 2023 22:13:19 GMT"), 0);
  NU_EXPECT_INT(not_modified(&v, NULL, "Fri, 31 Dec 9999 23:59:59 GMT"), 1);
  NU_EXPECT_INT(not_modified(&v, NULL, "yesterday"), 0);
  NU_EXPECT_INT(not_modified(&v, NULL, ""), 0);
  /* If-None-Match, even empty or not matching, leaves the date unread. */
  NU_EXPECT_INT(not_modified(&v, "", LAST_MODIFIED), 0);
  NU_EXPECT_INT(not_modified(&v, "\"x\"", LAST_MODIFIED), 0);
  /* A file no HTTP date can say is never "not modified since", even one
   * older than any date (as the node backend, which has no date for it to
   * compare). */
  NU_EXPECT_INT(not_modified(&far, NULL, "Fri, 31 Dec 9999 23:59:59 GMT"), 0);
  NU_EXPECT_INT(not_modified(&far, "*", NULL), 1);
  nu_validators_init(&far, 4, -((int64_t)1 << 40), 0);
  NU_EXPECT_STR(far.last_modified, "");
  NU_EXPECT_INT(not_modified(&far, NULL, "Sun, 06 Nov 1994 08:49:37 GMT"), 0);
}

/* Its If-Range value, NULL when absent. */
static int if_range(const struct nu_validators *v, const char *value) {
  return nu_validators_if_range(v, value, value ? (uint32_t)strlen(value) : 0);
}

static void test_validators_if_range(struct nu_test *t) {
  struct nu_validators v, far;

  nu_validators_init(&v, 4096, 1700000000, 500000000);
  nu_validators_init(&far, 4, 1099511627776, 0);
  NU_EXPECT_INT(if_range(&v, NULL), 1);
  NU_EXPECT_INT(if_range(&v, ETAG), 1);
  NU_EXPECT_INT(if_range(&v, LAST_MODIFIED), 1);
  NU_EXPECT_INT(if_range(&v, ""), 0);
  NU_EXPECT_INT(if_range(&v, "W/" ETAG), 0);
  NU_EXPECT_INT(if_range(&v, ETAG ", \"x\""), 0);
  NU_EXPECT_INT(if_range(&v, "Tue, 14 Nov 2023 22:13:21 GMT"), 0);
  NU_EXPECT_INT(if_range(&v, "\"x\""), 0);
  /* An empty Last-Modified matches no date, not even an empty one. */
  NU_EXPECT_INT(if_range(&far, ""), 0);
  NU_EXPECT_INT(if_range(&far, "\"4-10000000000.0\""), 1);
}

int main(void) {
  struct nu_test t = {0};

  NU_RUN(&t, test_range_parse);
  NU_RUN(&t, test_etag_list_match);
  NU_RUN(&t, test_validators_init);
  NU_RUN(&t, test_validators_not_modified);
  NU_RUN(&t, test_validators_if_range);
  return nu_test_end(&t, __FILE__);
}
