/* grow: the one doubling-growth helper for the core's growable arrays. */
#ifndef NU_GROW_H
#define NU_GROW_H

#include <stddef.h>
#include <stdint.h>

/*
 * Makes the array *p of *cap elements of unit bytes hold at least need
 * elements, doubling from 64. Returns 0, or -ENOMEM (the array unchanged)
 * when memory or the 32-bit capacity runs out.
 */
int nu_grow(void **p, uint32_t *cap, uint64_t need, size_t unit);

#endif
