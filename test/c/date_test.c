/* Unit tests of src/http/date.c: IMF-fixdates written and read. */
#include "date.h"

#include "nu_test.h"

static void test_date_format(struct nu_test *t) {
  static const struct {
    time_t t;
    const char *date; /* "" when it has none */
  } cases[] = {
      {0, "Thu, 01 Jan 1970 00:00:00 GMT"},
      {784111777, "Sun, 06 Nov 1994 08:49:37 GMT"},
      {1700000000, "Tue, 14 Nov 2023 22:13:20 GMT"},
      {951782400, "Tue, 29 Feb 2000 00:00:00 GMT"},
      {-1, "Wed, 31 Dec 1969 23:59:59 GMT"},
      {-3786825600, "Tue, 01 Jan 1850 00:00:00 GMT"},
      /* The years 0 to 9999, and not one second past them. */
      {-62167219200, "Sat, 01 Jan 0000 00:00:00 GMT"},
      {253402300799, "Fri, 31 Dec 9999 23:59:59 GMT"},
      {-62167219201, ""},
      {253402300800, ""},
      {(time_t)1 << 40, ""},
      {-((time_t)1 << 40), ""},
  };

  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    char out[NU_DATE_LEN + 1] = "junk";
    int ret = nu_date_format(out, cases[i].t);

    t->name = cases[i].date[0] ? cases[i].date : "a time without a date";
    NU_EXPECT_INT(ret, cases[i].date[0] ? 0 : -1);
    NU_EXPECT_STR(out, cases[i].date);
  }
}

/* Whether s parses, and to what. */
static int parse(const char *s, time_t *t) {
  *t = -12345;
  return nu_date_parse(s, (uint32_t)strlen(s), t);
}

static void test_date_parse(struct nu_test *t) {
  static const struct {
    const char *s;
    time_t t;
  } valid[] = {
      {"Thu, 01 Jan 1970 00:00:00 GMT", 0},
      {"Sun, 06 Nov 1994 08:49:37 GMT", 784111777},
      {"Tue, 14 Nov 2023 22:13:20 GMT", 1700000000},
      /* The day name need not be the date's: a recipient reads the date. */
      {"Mon, 14 Nov 2023 22:13:20 GMT", 1700000000},
      /* A leap second is the next minute's first. */
      {"Tue, 14 Nov 2023 22:13:60 GMT", 1700000040},
      {"Fri, 31 Dec 1999 23:59:60 GMT", 946684800},
      {"Tue, 29 Feb 2000 00:00:00 GMT", 951782400},
      {"Thu, 29 Feb 2024 00:00:00 GMT", 1709164800},
      {"Sat, 01 Jan 0000 00:00:00 GMT", -62167219200},
      {"Sat, 29 Feb 0000 00:00:00 GMT", -62162121600}, /* 0 is a leap year */
      {"Tue, 01 Jan 1850 00:00:00 GMT", -3786825600},
      {"Mon, 01 Jan 1900 00:00:00 GMT", -2208988800},
      {"Fri, 31 Dec 9999 23:59:59 GMT", 253402300799},
  };
  static const char *invalid[] = {
      "",
      "Tue, 14 Nov 2023 22:13:20 GM",
      "Tue, 14 Nov 2023 22:13:20 GMT ",
      "Tue, 14 Nov 2023 22:13:20 UTC",
      "Xyz, 14 Nov 2023 22:13:20 GMT", /* no such day */
      "tue, 14 Nov 2023 22:13:20 GMT",
      "Tue, 14 nov 2023 22:13:20 GMT",
      "Tue, 14 Foo 2023 22:13:20 GMT",
      "Tue,  4 Nov 2023 22:13:20 GMT",
      "Tue, 00 Nov 2023 22:13:20 GMT",
      "Tue, 31 Nov 2023 22:13:20 GMT", /* November has 30 days */
      "Sun, 29 Feb 2023 00:00:00 GMT", /* not a leap year */
      "Thu, 29 Feb 1900 00:00:00 GMT", /* nor is 1900 */
      "Tue, 32 Dec 2023 22:13:20 GMT",
      "Tue, 14 Nov 2023 24:00:00 GMT",
      "Tue, 14 Nov 2023 23:60:00 GMT",
      "Tue, 14 Nov 2023 23:59:61 GMT",
      "Tue, 14 Nov 2O23 22:13:20 GMT",
      "Tue, 14 Nov -023 22:13:20 GMT",
      "Tue, 1a Nov 2023 22:13:20 GMT",
      "Tue, 14 Nov 2023 22-13-20 GMT",
      "Tuesday, 14-Nov-23 22:13:20 GMT", /* RFC 850 */
      "Tue Nov 14 22:13:20 2023",        /* asctime */
  };

  for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++) {
    time_t got;

    t->name = valid[i].s;
    NU_EXPECT_INT(parse(valid[i].s, &got), 0);
    NU_EXPECT_INT(got, valid[i].t);
  }
  for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
    time_t got;

    t->name = invalid[i];
    NU_EXPECT_INT(parse(invalid[i], &got), -1);
  }
  t->name = "a date cut short by its length";
  {
    time_t got;

    NU_EXPECT_INT(nu_date_parse("Tue, 14 Nov 2023 22:13:20 GMTx", 29, &got), 0);
    NU_EXPECT_INT(got, 1700000000);
    NU_EXPECT_INT(nu_date_parse("Tue, 14 Nov 2023 22:13:20 GMT", 28, &got), -1);
  }
}

/* Every date written reads back as the same second. */
static void test_date_round_trip(struct nu_test *t) {
  for (time_t s = -62167219200; s <= 253402300799; s += 86399 * 97 + 13) {
    char out[NU_DATE_LEN + 1];
    time_t back = 0;

    if (nu_date_format(out, s) != 0 ||
        nu_date_parse(out, NU_DATE_LEN, &back) != 0 || back != s) {
      t->name = out;
      NU_EXPECT_INT(back, s);
      return;
    }
  }
  NU_EXPECT_INT(0, 0);
}

static void test_date_tick(struct nu_test *t) {
  struct nu_date d = {{0}, 0, 0};
  char want[NU_DATE_LEN + 10];

  nu_date_tick(&d);
  NU_EXPECT_INT(d.line_len, strlen("Date: \r\n") + NU_DATE_LEN);
  nu_date_format(want + 6, d.sec);
  memcpy(want, "Date: ", 6);
  memcpy(want + 6 + NU_DATE_LEN, "\r\n", 3);
  NU_EXPECT_BYTES(d.line, d.line_len, want);
}

int main(void) {
  struct nu_test t = {0};

  NU_RUN(&t, test_date_format);
  NU_RUN(&t, test_date_parse);
  NU_RUN(&t, test_date_round_trip);
  NU_RUN(&t, test_date_tick);
  return nu_test_end(&t, __FILE__);
}
