/*
 * out_pool: the memory of response chunks made on the JS thread, kept for
 * the next ones once the ring thread is done with it.
 *
 * A chunk malloc'ed on one thread and freed on another never meets glibc's
 * per-thread cache, and a large one freed at the top of the heap hands its
 * pages back to the kernel (the heap is trimmed), only for the next
 * response to fault them in again: a 64 KiB body cost the JS thread about
 * 15 µs of page faults, more than its send. Pooled, the memory stays mapped
 * and warm.
 *
 * Chunks come in power-of-two sizes. Any thread puts a used one back on its
 * size's lock-free stack; the JS thread, the only one that takes, moves a
 * whole stack to a list of its own when that runs dry. At most max_bytes
 * wait in a pool: past that a chunk is freed. Under AddressSanitizer a
 * pooled chunk's bytes are poisoned until it is taken again, so that a use
 * after nu_out_free() is still caught.
 */
#ifndef NU_OUT_POOL_H
#define NU_OUT_POOL_H

#include <stdatomic.h>
#include <stddef.h>

#include "nu.h"

#define NU_OUT_POOL_MIN_SHIFT 9 /* the smallest size: 512 bytes */
#define NU_OUT_POOL_SIZES 12    /* the largest: 1 MiB */
/* Enough for 64 KiB responses on a hundred connections at once. */
#define NU_OUT_POOL_MAX_BYTES ((size_t)8 << 20)

struct nu_out_pool {
  _Atomic(struct nu_out *) returned[NU_OUT_POOL_SIZES]; /* any thread puts */
  struct nu_out *ready[NU_OUT_POOL_SIZES];              /* the taker's */
  atomic_size_t bytes; /* waiting in returned and ready */
  size_t max_bytes;
};

void nu_out_pool_init(struct nu_out_pool *p, size_t max_bytes);
/* The taker's thread: memory for a chunk of size bytes (struct nu_out and
 * its data), o->pool and o->size_index set; NULL when out of memory. A
 * size past the largest is malloc'ed, with o->pool NULL. */
struct nu_out *nu_out_pool_take(struct nu_out_pool *p, size_t size);
/* Any thread: o (taken from p) back to p, or freed when p is full. */
void nu_out_pool_put(struct nu_out_pool *p, struct nu_out *o);
/* Frees what p holds; no thread may use p any more. */
void nu_out_pool_destroy(struct nu_out_pool *p);

/* nu_out_new(), its memory taken from pool (on pool's taker's thread), or
 * malloc'ed when pool is NULL. */
struct nu_out *nu_out_new_in(struct nu_out_pool *pool, uint32_t slot,
                             uint32_t gen, uint32_t seq, uint32_t flags,
                             size_t head_len, size_t body_len);

#endif
