#include "conditional.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

void nu_validators_init(struct nu_validators *v, uint64_t size, int64_t sec,
                        uint32_t nsec) {
  uint64_t abs_sec = sec < 0 ? -(uint64_t)sec : (uint64_t)sec;

  v->etag_len = (uint32_t)snprintf(v->etag, sizeof(v->etag),
                                   "\"%" PRIx64 "-%s%" PRIx64 ".%" PRIx32 "\"",
                                   size, sec < 0 ? "-" : "", abs_sec, nsec);
  v->mtime = sec;
  /* An mtime outside the years 0 to 9999 leaves it empty. */
  nu_date_format(v->last_modified, (time_t)sec);
}

int nu_validators_not_modified(const struct nu_validators *v, const char *inm,
                               uint32_t inm_len, const char *ims,
                               uint32_t ims_len) {
  time_t since;

  if (inm != NULL)
    return nu_etag_list_match(inm, inm_len, v->etag, v->etag_len);
  return ims != NULL && v->last_modified[0] &&
         nu_date_parse(ims, ims_len, &since) == 0 && v->mtime <= since;
}

int nu_validators_if_range(const struct nu_validators *v, const char *value,
                           uint32_t len) {
  if (value == NULL)
    return 1;
  return (len == v->etag_len && memcmp(value, v->etag, len) == 0) ||
         (len == NU_DATE_LEN && v->last_modified[0] &&
          memcmp(value, v->last_modified, len) == 0);
}

static int nu__ows(char ch) { return ch == ' ' || ch == '\t'; }

int nu_etag_list_match(const char *v, uint32_t len, const char *etag,
                       uint32_t etag_len) {
  uint32_t start = 0;

  while (start <= len) {
    const char *comma = memchr(v + start, ',', len - start);
    uint32_t end = comma ? (uint32_t)(comma - v) : len;
    uint32_t next = end + 1;

    while (start < end && nu__ows(v[start]))
      start++;
    while (end > start && nu__ows(v[end - 1]))
      end--;
    if (end - start == 1 && v[start] == '*')
      return 1;
    if (end - start >= 2 && v[start] == 'W' && v[start + 1] == '/')
      start += 2;
    if (end - start == etag_len && memcmp(v + start, etag, etag_len) == 0)
      return 1;
    start = next;
  }
  return 0;
}

/* A number of a range, as written: its value, capped at NU_RANGE_HUGE,
 * and its digits without leading zeros, to compare two capped ones. */
struct nu_range_number {
  uint64_t value;
  const char *digits;
  uint32_t ndigits;
};

/* No file is this large: a number past it means as much as it does. */
#define NU_RANGE_HUGE 1000000000000000000ull

/* Reads the digits at *p, up to end. Returns 0 and *n, or -1 when there
 * are none. */
static int nu__range_number(const char **p, const char *end,
                            struct nu_range_number *n) {
  const char *start = *p;

  n->value = 0;
  while (*p < end && **p == '0')
    (*p)++;
  n->digits = *p;
  while (*p < end && **p >= '0' && **p <= '9') {
    n->value = n->value * 10 + (uint64_t)(**p - '0');
    if (n->value > NU_RANGE_HUGE)
      n->value = NU_RANGE_HUGE;
    (*p)++;
  }
  n->ndigits = (uint32_t)(*p - n->digits);
  return *p > start ? 0 : -1;
}

/* Whether a < b, exactly, capped or not. */
static int nu__range_less(const struct nu_range_number *a,
                          const struct nu_range_number *b) {
  if (a->value != NU_RANGE_HUGE || b->value != NU_RANGE_HUGE)
    return a->value < b->value;
  if (a->ndigits != b->ndigits)
    return a->ndigits < b->ndigits;
  return memcmp(a->digits, b->digits, a->ndigits) < 0;
}

/* "-suffix": the last suffix bytes. */
static int nu__range_suffix(const char *p, const char *end, uint64_t size,
                            uint64_t *first, uint64_t *last) {
  struct nu_range_number b;

  if (nu__range_number(&p, end, &b) || p != end)
    return 0;
  if (b.value == 0 || size == 0)
    return 416;
  *first = b.value >= size ? 0 : size - b.value;
  *last = size - 1;
  return 206;
}

int nu_range_parse(const char *v, uint32_t len, uint64_t size, uint64_t *first,
                   uint64_t *last) {
  const char *p = v + 6, *end = v + len;
  struct nu_range_number a, b = {UINT64_MAX, NULL, 0};

  if (len < 7 || strncasecmp(v, "bytes=", 6) != 0)
    return 0; /* a range unit is case-insensitive (RFC 9110 14.1) */
  if (*p == '-')
    return nu__range_suffix(p + 1, end, size, first, last);
  if (nu__range_number(&p, end, &a) || p == end || *p++ != '-')
    return 0;
  if (p != end &&
      (nu__range_number(&p, end, &b) || p != end || nu__range_less(&b, &a)))
    return 0; /* last before first: an invalid range */
  if (a.value >= size)
    return 416;
  *first = a.value;
  *last = b.value < size - 1 ? b.value : size - 1;
  return 206;
}
