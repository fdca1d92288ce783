/*
 * conditional: what a static file's validators and a request's
 * conditional headers and Range decide (RFC 9110 13 and 14). Pure
 * functions: no I/O, no state. lib/static.js implements the same rules
 * for the node backend; test/fixtures/conditional.js holds the two
 * backends to the same answers, test/c/conditional_test.c these functions
 * to theirs.
 */
#ifndef NU_CONDITIONAL_H
#define NU_CONDITIONAL_H

#include <stdint.h>

#include "date.h"

/* Room for an ETag, its quotes and a NUL. */
#define NU_ETAG_MAX 64

/* A file's validators, as its response carries them. */
struct nu_validators {
  char etag[NU_ETAG_MAX]; /* strong, quoted: "size-sec.nsec" in hex */
  uint32_t etag_len;
  char last_modified[NU_DATE_LEN + 1]; /* "" when no HTTP date can say it */
  int64_t mtime;                       /* seconds since the epoch */
};

/* Sets v for a file of size bytes last modified at sec + nsec (nsec below
 * 10^9). The ETag writes sec in signed hex, as JS's toString(16). */
void nu_validators_init(struct nu_validators *v, uint64_t size, int64_t sec,
                        uint32_t nsec);

/* Whether the client's copy is current (304): If-None-Match when the
 * request has it (inm not NULL, even empty), else If-Modified-Since (ims
 * NULL when absent), RFC 9110 13.2.2. */
int nu_validators_not_modified(const struct nu_validators *v, const char *inm,
                               uint32_t inm_len, const char *ims,
                               uint32_t ims_len);

/* Whether an If-Range value (NULL when the request has none) lets the
 * range be served (RFC 9110 13.1.5): it must be the ETag or the
 * Last-Modified value, byte for byte. */
int nu_validators_if_range(const struct nu_validators *v, const char *value,
                           uint32_t len);

/* Whether the If-None-Match list v (len bytes) names etag, weakly (RFC
 * 9110 13.1.2): a member is the text between two commas, without its
 * spaces and tabs around and a W/ prefix; "*" names any. */
int nu_etag_list_match(const char *v, uint32_t len, const char *etag,
                       uint32_t etag_len);

/* The Range value v (len bytes) against a file of size bytes (RFC 9110
 * 14.2): 0 to ignore it (anything but one well-formed range of bytes, the
 * unit in any case), 206 with the range in [*first, *last], or 416 for a
 * range that starts past the end. */
int nu_range_parse(const char *v, uint32_t len, uint64_t size, uint64_t *first,
                   uint64_t *last);

#endif
