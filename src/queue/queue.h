/*
 * queue/: the Ring API, io_uring operations that JS starts (nu_queue_* and
 * nu_op_* in nu.h): the queue and its ring thread (queue.c), the
 * operations' constructors (ops.c) and probe() (probe.c). It stands on
 * core/ and sees nothing of the server.
 *
 * queue: the state behind struct nu_queue, the Ring API's instance: a ring
 * thread that submits the operations JS stages and hands their completions
 * back in batches. Its ring thread is a nu_worker, as a server's is.
 */
#ifndef NU_QUEUE_H
#define NU_QUEUE_H

#include <stdatomic.h>

#include "nu.h"
#include "worker.h"

struct nu_queue {
  /* Written by nu_queue_start(), read-only afterwards. */
  struct nu_queue_config cfg;
  struct nu_worker w; /* the ring thread, its ring, waker and batches */

  /* Shared between threads. */
  _Atomic(struct nu_op *) inbox; /* staged ops handed over, newest first */
  atomic_int stop;

  /* JS thread only. */
  struct nu_op *staged, *staged_last; /* newest first */
  int linking;

  /* Ring thread only. */
  struct nu_op *pending, *pending_last; /* taken, not submitted; oldest
                                           first */
  uint32_t inflight;                    /* submitted, CQE not yet seen */
  int stopping;
};

#endif
