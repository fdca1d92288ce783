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
 *
 * A chunk whose body is lent (NU_OUT_LENT) is not reused at once when
 * freed: it waits on the pool's lent list until the ring thread, once a
 * turn, tells JS its body is released (nu_out_pool_take_lent()).
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
/* A ring thread's own pool, for the chunks it makes for the subscribers
 * of a publish (all of the smallest size): 16,384 of them, a window of
 * 16 messages in flight to 1,000 subscribers. */
#define NU_RING_POOL_MAX_BYTES ((size_t)8 << 20)

struct nu_out_pool {
  _Atomic(struct nu_out *) returned[NU_OUT_POOL_SIZES]; /* any thread puts */
  struct nu_out *ready[NU_OUT_POOL_SIZES];              /* the taker's */
  _Atomic(struct nu_out *) lent; /* freed lent chunks, not yet reported */
  atomic_size_t bytes;            /* waiting in returned and ready */
  size_t max_bytes;
};

void nu_out_pool_init(struct nu_out_pool *p, size_t max_bytes);
/* The taker's thread: memory for a chunk of size bytes (struct nu_out and
 * its data), o->pool and o->size_index set, o->flags 0; NULL when out of
 * memory. A size past the largest is malloc'ed, and freed when put back. */
struct nu_out *nu_out_pool_take(struct nu_out_pool *p, size_t size);
/* Any thread: o (taken from p) back to p, or freed when p is full; a lent
 * chunk to the lent list. */
void nu_out_pool_put(struct nu_out_pool *p, struct nu_out *o);
/* The lent chunks freed since the last call, linked by next. Each goes back
 * with nu_out_pool_put() once its flag NU_OUT_LENT is cleared, or to the
 * list again with nu_out_pool_put() as it is. */
struct nu_out *nu_out_pool_take_lent(struct nu_out_pool *p);
/* Frees what p holds; no thread may use p any more. */
void nu_out_pool_destroy(struct nu_out_pool *p);

/* nu_out_new(), its memory taken from pool (on pool's taker's thread), or
 * malloc'ed when pool is NULL. */
struct nu_out *nu_out_new_in(struct nu_out_pool *pool, uint32_t slot,
                             uint32_t gen, uint32_t seq, uint32_t flags,
                             size_t head_len, size_t body_len);

/* nu_server_out_lend(), in memory from pool (on its taker's thread). */
struct nu_out *nu_out_lend_in(struct nu_out_pool *pool, uint32_t slot,
                              uint32_t gen, uint32_t seq, uint32_t flags,
                              size_t head_len, const void *bytes,
                              size_t body_len, uint32_t id);

struct iovec;
/* Fills iov (room for max > 0) with o's bytes from off on, in the order
 * they go out: one piece, or for a lent body the head and size line, the
 * body, and the framing after it. Returns the pieces filled, fewer than
 * o holds when max runs out. */
unsigned nu_out_iov(const struct nu_out *o, uint32_t off, struct iovec *iov,
                    unsigned max);

#endif
