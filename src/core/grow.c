#include "grow.h"

#include <errno.h>
#include <stdlib.h>

int nu_grow(void **p, uint32_t *cap, uint64_t need, size_t unit) {
  uint64_t n = *cap ? *cap : 64;
  void *q;

  while (n < need)
    n *= 2;
  if (n > UINT32_MAX)
    return -ENOMEM;
  q = realloc(*p, n * unit);
  if (q == NULL)
    return -ENOMEM;
  *p = q;
  *cap = (uint32_t)n;
  return 0;
}
