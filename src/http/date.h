/*
 * date: HTTP dates (RFC 9110 5.6.7 IMF-fixdate), and the Date line the ring
 * thread adds to the responses it sends by itself (see head.h), formatted
 * once a second.
 */
#ifndef NU_DATE_H
#define NU_DATE_H

#include <stdint.h>
#include <time.h>

/* "Sun, 06 Nov 1994 08:49:37 GMT": 29 characters and a NUL. */
#define NU_DATE_LEN 29

struct nu_date {
  char line[64]; /* "Date: <IMF-fixdate>\r\n" */
  uint32_t line_len;
  time_t sec; /* the second line was formatted for */
};

/* Writes t as an IMF-fixdate and a NUL into out[NU_DATE_LEN + 1].
 * Returns 0, or -1 (out empty) for a time outside the years 0 to 9999,
 * which the format cannot write. */
int nu_date_format(char *out, time_t t);

/* Reads an IMF-fixdate of exactly len bytes, of the years 0 to 9999.
 * Second 60, a leap second, is the next minute's first. Returns 0 and *t,
 * or -1 for anything else: a day or month name that is none, a day the
 * month does not have (30 Feb), the obsolete formats (a recipient may
 * ignore them, as conditional requests do here). lib/static.js reads
 * dates to the same rules. */
int nu_date_parse(const char *s, uint32_t len, time_t *t);

/* Formats d's line for the current second, if it is not that already. */
void nu_date_tick(struct nu_date *d);

#endif
