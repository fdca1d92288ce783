#include "utf8.h"

#include <string.h>

/* Takes the lead byte c of a character: sets what its continuation bytes
 * must be. Returns -1 for a byte that starts no character. */
static int nu__utf8_lead(struct nu_utf8 *u, uint8_t c) {
  u->lo = 0x80;
  u->hi = 0xbf;
  if (c >= 0xc2 && c <= 0xdf) {
    u->need = 1;
  } else if (c >= 0xe0 && c <= 0xef) {
    u->need = 2;
    if (c == 0xe0)
      u->lo = 0xa0; /* overlong below */
    else if (c == 0xed)
      u->hi = 0x9f; /* the surrogates above */
  } else if (c >= 0xf0 && c <= 0xf4) {
    u->need = 3;
    if (c == 0xf0)
      u->lo = 0x90;
    else if (c == 0xf4)
      u->hi = 0x8f; /* past U+10FFFF above */
  } else {
    return -1; /* a continuation byte, C0, C1, or F5 to FF */
  }
  return 0;
}

int nu_utf8_step(struct nu_utf8 *u, const uint8_t *p, size_t n) {
  size_t i = 0;

  while (i < n) {
    uint8_t c = p[i];

    if (u->need > 0) {
      if (c < u->lo || c > u->hi)
        return -1;
      u->need--;
      u->lo = 0x80;
      u->hi = 0xbf;
      i++;
      continue;
    }
    if (c < 0x80) {
      /* ASCII runs, the common text, eight bytes at a time. */
      uint64_t w;

      while (i + 8 <= n) {
        memcpy(&w, p + i, 8);
        if (w & 0x8080808080808080ull)
          break;
        i += 8;
      }
      while (i < n && p[i] < 0x80)
        i++;
      continue;
    }
    if (nu__utf8_lead(u, c) < 0)
      return -1;
    i++;
  }
  return 0;
}

int nu_utf8_valid(const uint8_t *p, size_t n) {
  struct nu_utf8 u = {0, 0, 0};

  return nu_utf8_step(&u, p, n) == 0 && nu_utf8_complete(&u);
}
