/*
 * handoff: the two one-way channels between the JS thread and a ring thread.
 *
 * Ring -> JS: a struct nu_batch collects, during one CQ drain, what the JS
 * side needs, as 32-bit words plus the bytes they point into (a server's
 * records: see http/batch.h), or as a queue's completed operations. The whole
 * batch crosses threads at once, and comes back through nu_batch_pool_put() to
 * be reused, so steady state allocates nothing.
 *
 * JS -> ring: struct nu_out chunks of response bytes (made and framed by
 * the server, see http/out.c; here only their link is used), pushed onto a
 * lock-free outbox by any thread, taken all at once by the ring thread, and
 * a struct nu_waker that writes the ring's eventfd only when the ring thread
 * is asleep and no wake is already on its way.
 */
#ifndef NU_HANDOFF_H
#define NU_HANDOFF_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "nu.h"

/* Appends n words, for the caller to fill, and returns them; NULL when out
 * of memory. */
uint32_t *nu_batch_add_words(struct nu_batch *b, uint32_t n);

/* The memory b's words and bytes take, as handed over. */
static inline uint64_t nu_batch_size(const struct nu_batch *b) {
  return (uint64_t)b->nwords * sizeof(uint32_t) + b->nbytes;
}

/* Appends n bytes. Returns their offset or -ENOMEM. */
int64_t nu_batch_put_bytes(struct nu_batch *b, const void *p, uint32_t n);

/* Empty batches, taken by one thread (the ring thread) and given back by
 * any thread. Embedded in its owner, zeroed; clear, set before the first
 * get, is what the pool's batches call to empty themselves (see struct
 * nu_batch). */
struct nu_batch_pool {
  _Atomic(struct nu_batch *) returned; /* pushed by any thread */
  struct nu_batch *ready;              /* the taker's private list */
  void (*clear)(struct nu_batch *b);   /* NULL: words and bytes only */
};

/* Returns an empty batch, from the pool or new; NULL when out of memory. */
struct nu_batch *nu_batch_pool_get(struct nu_batch_pool *p);
/* Gives b back, emptied (b->clear too). Any thread. */
void nu_batch_pool_put(struct nu_batch_pool *p, struct nu_batch *b);
/* Frees every pooled batch. Only when no other thread uses the pool. */
void nu_batch_pool_destroy(struct nu_batch_pool *p);

/* A lock-free multi-producer, single-consumer queue of chunks. */
struct nu_outbox {
  _Atomic(struct nu_out *) head; /* newest first */
};

/* Any thread: pushes the chunks newest..oldest, linked newest first by
 * their next, at once. Chunks pushed by one thread are taken in the order
 * pushed. */
void nu_outbox_push_list(struct nu_outbox *q, struct nu_out *newest,
                         struct nu_out *oldest);
/* The consumer: takes every chunk, returned oldest first. */
struct nu_out *nu_outbox_take_all(struct nu_outbox *q);
static inline int nu_outbox_is_empty(struct nu_outbox *q) {
  return atomic_load(&q->head) == NULL;
}

/* Wakes a ring thread blocked in io_uring_enter through its eventfd. */
struct nu_waker {
  int efd;
  atomic_int sleeping; /* the ring thread is (about to be) blocked */
  atomic_int pending;  /* an eventfd write is on its way */
};

/* Any thread: wakes the ring thread unless it is awake or already woken. */
void nu_waker_wake(struct nu_waker *w);

/* Any thread: writes the eventfd, whoever reads it and whenever. */
void nu_waker_signal(struct nu_waker *w);

#endif
