/*
 * utf8: an incremental UTF-8 validator (RFC 3629: no overlong forms, no
 * surrogates, nothing past U+10FFFF), for text messages whose bytes arrive
 * in pieces that may cut a character.
 */
#ifndef NU_UTF8_H
#define NU_UTF8_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Where a validation stands between pieces; all zero to start. */
struct nu_utf8 {
  uint8_t need;   /* continuation bytes still due for this character */
  uint8_t lo, hi; /* the range the next continuation byte must fall in */
};

/* Checks n more bytes. Returns 0, or -1 once the input cannot be UTF-8. */
int nu_utf8_step(struct nu_utf8 *u, const uint8_t *p, size_t n);

/* Whether the input checked so far ends on a character's end. */
static inline int nu_utf8_complete(const struct nu_utf8 *u) {
  return u->need == 0;
}

/* Whether n bytes at p are UTF-8, whole. */
int nu_utf8_valid(const uint8_t *p, size_t n);

#ifdef __cplusplus
}
#endif

#endif
