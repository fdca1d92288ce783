#include "date.h"

#include <stdio.h>
#include <string.h>

static const char nu__days[7][4] = {"Sun", "Mon", "Tue", "Wed",
                                    "Thu", "Fri", "Sat"};
static const char nu__months[12][4] = {"Jan", "Feb", "Mar", "Apr",
                                       "May", "Jun", "Jul", "Aug",
                                       "Sep", "Oct", "Nov", "Dec"};

int nu_date_format(char *out, time_t t) {
  char buf[64]; /* what the compiler reckons the widest ints could need */
  struct tm tm;

  out[0] = '\0';
  if (gmtime_r(&t, &tm) == NULL || tm.tm_year < -1900 || tm.tm_year > 8099)
    return -1; /* a file's mtime can be anything */
  /* By hand: strftime's names follow the locale. */
  snprintf(buf, sizeof(buf), "%s, %02d %s %04d %02d:%02d:%02d GMT",
           nu__days[tm.tm_wday], tm.tm_mday, nu__months[tm.tm_mon],
           tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
  memcpy(out, buf, NU_DATE_LEN);
  out[NU_DATE_LEN] = '\0';
  return 0;
}

/* The value of the n digits at s, or -1 if one is not a digit. */
static int nu__digits(const char *s, int n) {
  int v = 0;

  for (int i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9')
      return -1;
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

/* The index of the 3-letter name at s in names[n], or -1. */
static int nu__name(const char *s, const char names[][4], int n) {
  for (int i = 0; i < n; i++) {
    if (memcmp(s, names[i], 3) == 0)
      return i;
  }
  return -1;
}

/* The days of month (0 to 11) of year, in the proleptic Gregorian
 * calendar, as JS's Date counts them. */
static int nu__month_days(int year, int month) {
  static const char days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

  return days[month] + (month == 1 && leap);
}

int nu_date_parse(const char *s, uint32_t len, time_t *t) {
  struct tm tm;
  int year;

  /* "Sun, 06 Nov 1994 08:49:37 GMT" */
  if (len != NU_DATE_LEN || memcmp(s + 3, ", ", 2) != 0 || s[7] != ' ' ||
      s[11] != ' ' || s[16] != ' ' || s[19] != ':' || s[22] != ':' ||
      memcmp(s + 25, " GMT", 4) != 0 || nu__name(s, nu__days, 7) < 0)
    return -1;
  memset(&tm, 0, sizeof(tm));
  tm.tm_mon = nu__name(s + 8, nu__months, 12);
  tm.tm_mday = nu__digits(s + 5, 2);
  year = nu__digits(s + 12, 4);
  tm.tm_hour = nu__digits(s + 17, 2);
  tm.tm_min = nu__digits(s + 20, 2);
  tm.tm_sec = nu__digits(s + 23, 2);
  if (tm.tm_mon < 0 || year < 0 || tm.tm_mday < 1 ||
      tm.tm_mday > nu__month_days(year, tm.tm_mon) || tm.tm_hour < 0 ||
      tm.tm_hour > 23 || tm.tm_min < 0 || tm.tm_min > 59 || tm.tm_sec < 0 ||
      tm.tm_sec > 60)
    return -1;
  tm.tm_year = year - 1900;
  *t = timegm(&tm);
  return 0;
}

void nu_date_tick(struct nu_date *d) {
  time_t now = time(NULL);
  char date[NU_DATE_LEN + 1];

  if (now == d->sec && d->line_len)
    return;
  d->sec = now;
  nu_date_format(date, now);
  d->line_len =
      (uint32_t)snprintf(d->line, sizeof(d->line), "Date: %s\r\n", date);
}
