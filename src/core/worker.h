/*
 * core/: the machinery a server (http/) and a queue (queue/) share, and
 * nothing above it: ring setup (ring.h), a started thread (thread.h), the
 * channels between the JS thread and a ring thread (handoff.h), a ring
 * thread's skeleton (this file), lock-free stacks (stack.h), linked FIFOs
 * (fifo.h), array growth (grow.h) and the listening socket (nu_listen() in
 * nu.h). It sees only
 * nu.h and itself.
 *
 * worker: the skeleton of a ring thread. A struct nu_worker is its thread,
 * its ring, the eventfd through which the JS thread wakes it (with a read
 * always posted on it), the pool of batches and the batch being filled,
 * and the callbacks that hand batches to JS. Its owner (a nu_server, a
 * nu_queue) embeds it, and calls, on the JS thread, nu_worker_init() and
 * nu_worker_start(), later nu_worker_join() and nu_worker_destroy(). On
 * the ring thread the owner's setup() sets up w->ring and calls
 * nu_worker_ready(); its run() calls, each turn, nu_worker_wait(),
 * nu_worker_drain() and nu_worker_deliver(), then nu_worker_deliver_last()
 * and nu_worker_exited().
 */
#ifndef NU_WORKER_H
#define NU_WORKER_H

#include <stdint.h>

#include "handoff.h"
#include "nu.h"
#include "ring.h"
#include "thread.h"

/* The owner's part of its ring thread: setup(owner, op) returns 0, or
 * -errno with *op naming what failed (and nothing left to undo); run(owner)
 * is the rest of the thread's life, after a setup that worked. */
typedef int (*nu_worker_setup_fn)(void *owner, const char **op);
typedef void (*nu_worker_run_fn)(void *owner);

struct nu_worker {
  /* Written by nu_worker_init() and _start(), read-only afterwards. */
  nu_deliver_fn deliver;
  nu_exited_fn exited;
  void *ctx;
  nu_worker_setup_fn setup;
  nu_worker_run_fn run;
  void *owner;
  struct nu_thread thread;
  /* No ring thread: the starting thread drives the ring itself, turn by
   * turn, when the eventfd (registered with the ring) says a completion
   * is in (nu_worker_start_inline()). */
  int inline_mode;

  /* Shared between threads. */
  struct nu_waker waker;     /* JS -> ring wake-ups */
  struct nu_batch_pool pool; /* batches coming back from JS */

  /* Ring thread only. */
  struct nu_ring ring;
  struct nu_batch *batch; /* what this turn collects for JS */
  uint64_t wake_ud;       /* the wake read's user_data */
  uint64_t wake_value;    /* the wake read's target */
};

/* JS thread: makes w's eventfd; deliver, exited and ctx are the owner's
 * (see nu_server_config). Returns 0 or -errno with *op "eventfd". */
int nu_worker_init(struct nu_worker *w, nu_deliver_fn deliver,
                   nu_exited_fn exited, void *ctx, const char **op);

/* JS thread: starts the ring thread, named name, and returns once
 * setup(owner) ran there: 0, or its -errno (the thread is gone then) with
 * *op naming what failed. */
int nu_worker_start(struct nu_worker *w, const char *name,
                    nu_worker_setup_fn setup, nu_worker_run_fn run, void *owner,
                    const char **op);

/* JS thread: the inline mode of nu_worker_start(). setup(owner) runs here
 * and now, and no thread starts: from here on this thread is the ring's
 * (SINGLE_ISSUER), and drives it, never blocking, whenever the eventfd
 * (nu_worker_fd()) is readable. Returns setup's result. */
int nu_worker_start_inline(struct nu_worker *w, nu_worker_setup_fn setup,
                           void *owner, const char **op);

/* The eventfd: in inline mode, readable when the ring has completions (the
 * kernel signals it) or the owner asked for a turn (nu_worker_signal()). */
static inline int nu_worker_fd(const struct nu_worker *w) {
  return w->waker.efd;
}

/* Inline mode: empties the eventfd, before a turn looks at the ring. */
void nu_worker_clear(struct nu_worker *w);

/* Inline mode: makes the eventfd readable, for a turn to come. Each turn
 * empties it, so its counter stays small. */
static inline void nu_worker_signal(struct nu_worker *w) {
  nu_waker_signal(&w->waker);
}

/* Ring thread, once w->ring is set up: takes the first batch and posts the
 * wake read under wake_ud; in inline mode it registers the eventfd with the
 * ring instead. Returns 0, or -errno with *op ("malloc",
 * "io_uring_register") and the ring torn down. */
int nu_worker_ready(struct nu_worker *w, uint64_t wake_ud, const char **op);

/* Ring thread: the wake read completed; it is posted again if rearm. */
void nu_worker_woken(struct nu_worker *w, int rearm);

/* Whether JS queued work for the ring thread (chunks, a stop request):
 * work the waker may not announce, since it only wakes a sleeper. */
typedef int (*nu_worker_has_work_fn)(void *arg);

/* Ring thread: submits, then blocks for a completion unless
 * has_work(arg), which it asks once it has said it sleeps (so that no
 * wake-up is lost between the two). */
void nu_worker_wait(struct nu_worker *w, nu_worker_has_work_fn has_work,
                    void *arg);

/* Ring thread: hands every completion there is to on_cqe(owner, cqe).
 * Each is copied and consumed before it is handled, so that the CQ has
 * room for what the handler submits even when nu_ring_sqe() has to submit
 * in the middle. Inline, so that the handler can be too. */
static inline void nu_worker_drain(struct nu_worker *w,
                                   void (*on_cqe)(void *owner,
                                                  const struct io_uring_cqe *),
                                   void *owner) {
  struct io_uring_cqe *cqe;

  while (io_uring_peek_cqe(&w->ring.uring, &cqe) == 0) {
    struct io_uring_cqe copy = *cqe;

    io_uring_cqe_seen(&w->ring.uring, cqe);
    on_cqe(owner, &copy);
  }
}

/* Ring thread: hands the turn's batch to JS, if it holds anything and a
 * fresh batch can replace it (out of memory, it keeps collecting). */
void nu_worker_deliver(struct nu_worker *w);

/* Ring thread, last: hands the batch over marked last, whatever it holds
 * (it needs no memory, so JS always learns the ring is done). */
void nu_worker_deliver_last(struct nu_worker *w);

/* Ring thread, its very last call: nothing is delivered after it. */
static inline void nu_worker_exited(struct nu_worker *w) { w->exited(w->ctx); }

/* JS thread: waits for the ring thread to exit, and closes the eventfd
 * with it, so that a stopped owner holds no fd while its JS object waits
 * for the GC. Idempotent. In inline mode there is no thread: the owner
 * has ended its loop before. */
void nu_worker_join(struct nu_worker *w);

/* JS thread, once joined (or never started): frees the pooled batches and
 * closes the eventfd, if still open. */
void nu_worker_destroy(struct nu_worker *w);

#endif
