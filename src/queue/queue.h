/*
 * queue: the state behind struct nu_queue, the Ring API's instance: a ring
 * thread that submits the operations JS stages and hands their completions
 * back in batches. It shares the server's machinery: nu_ring for setup,
 * nu_thread to start, a nu_waker to wake it, pooled batches to answer.
 */
#ifndef NU_QUEUE_H
#define NU_QUEUE_H

#include <stdatomic.h>

#include "handoff.h"
#include "nu.h"
#include "ring.h"
#include "thread.h"

struct nu_queue {
  /* Written by nu_queue_start(), read-only afterwards. */
  struct nu_queue_config cfg;
  struct nu_thread thread;

  /* Shared between threads. */
  _Atomic(struct nu_op *) inbox; /* staged ops handed over, newest first */
  struct nu_waker waker;
  struct nu_batch_pool pool;
  atomic_int stop;

  /* JS thread only. */
  struct nu_op *staged, *staged_last; /* newest first */
  int linking;

  /* Ring thread only. */
  struct nu_ring ring;
  struct nu_op *pending, *pending_last; /* taken, not submitted; oldest
                                           first */
  uint32_t inflight;                    /* submitted, CQE not yet seen */
  struct nu_batch *batch;
  int stopping;
  uint64_t wake_value;
};

#endif
