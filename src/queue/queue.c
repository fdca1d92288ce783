#include "queue.h"

#include "fifo.h"
#include "ops.h"
#include "stack.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* user_data of the queue's own requests; an op's is its address. */
#define NU_QUEUE_UD_WAKE 0
#define NU_QUEUE_UD_CANCEL_ALL 1

/* ---- the ring thread ---- */

static void nu__queue_complete(struct nu_queue *q, struct nu_op *op, int res) {
  op->res = res;
  NU_FIFO_APPEND(q->w.batch->ops, q->w.batch->ops_last, op);
}

/* Answers the ops from `first` to the end of its chain, which the kernel
 * will never see, as the kernel answers a chain after a failed link. The
 * chain before them, if any, ends at prev. */
static void nu__queue_drop_chain(struct nu_queue *q, struct nu_op *prev,
                                 struct nu_op *first) {
  struct nu_op *end = first;

  while ((end->sqe_flags & IOSQE_IO_LINK) && end->next)
    end = end->next;
  if (prev) {
    prev->sqe_flags &= (uint8_t)~IOSQE_IO_LINK;
    prev->next = end->next;
  } else {
    q->pending = end->next;
  }
  if (q->pending_last == end)
    q->pending_last = prev;
  end->next = NULL;
  while (first) {
    struct nu_op *next = first->next;

    nu__queue_complete(q, first, -ECANCELED);
    first = next;
  }
}

/* A cancel acts at once, ahead of the waiting ops and past the cap on ops
 * in flight (it must work when the cap is reached, and the kernel keeps
 * CQEs beyond the CQ's size). A target still waiting here never reaches
 * the kernel; any other target is the kernel's to cancel. Only ops taken
 * before the cancel are searched: JS staged it while its target was alive,
 * and only an op staged later can have reused a freed target's address. */
static void nu__queue_cancel(struct nu_queue *q, struct nu_op *cancel) {
  struct nu_op *prev = NULL, *t = q->pending;

  while (t && (uint64_t)(uintptr_t)t != cancel->target) {
    prev = t;
    t = t->next;
  }
  if (t == NULL) {
    nu_op_prep(nu_ring_sqe(&q->w.ring), cancel);
    q->inflight++;
    return;
  }
  nu__queue_drop_chain(q, prev, t);
  nu__queue_complete(q, cancel, 0);
}

/* Moves what JS handed over behind the ops already waiting, oldest first,
 * acting on cancels as they come. */
static void nu__queue_take_inbox(struct nu_queue *q) {
  struct nu_op *op;

  NU_STACK_TAKE_ALL(&q->inbox, &op);
  while (op) {
    struct nu_op *next = op->next;

    if (op->opcode == IORING_OP_ASYNC_CANCEL)
      nu__queue_cancel(q, op);
    else
      NU_FIFO_APPEND(q->pending, q->pending_last, op);
    op = next;
  }
}

static struct nu_op *nu__queue_pop_pending(struct nu_queue *q) {
  struct nu_op *op;

  NU_FIFO_POP(q->pending, q->pending_last, &op);
  return op;
}

/* The ops of the chain that starts the pending list. */
static uint32_t nu__queue_chain_len(const struct nu_queue *q) {
  uint32_t n = 1;

  for (const struct nu_op *op = q->pending;
       op->next && (op->sqe_flags & IOSQE_IO_LINK); op = op->next)
    n++;
  return n;
}

/* Submits pending ops, oldest first, as long as the CQ has room for their
 * completions. A linked chain goes into the SQ whole, since the kernel
 * only links what one submit carries. */
static void nu__queue_submit_pending(struct nu_queue *q) {
  while (q->pending) {
    uint32_t n = nu__queue_chain_len(q);

    if (n > q->cfg.sq_entries) {
      while (n--)
        nu__queue_complete(q, nu__queue_pop_pending(q), -EINVAL);
      continue;
    }
    if (q->inflight + n > q->cfg.cq_entries)
      return; /* the rest waits for completions */
    if (io_uring_sq_space_left(&q->w.ring.uring) < n) {
      io_uring_submit(&q->w.ring.uring);
      /* With SQPOLL the kernel thread takes SQEs in its own time, and no
       * completion need come to wake us: wait for the room itself. */
      while ((q->w.ring.setup_flags & IORING_SETUP_SQPOLL) &&
             io_uring_sq_space_left(&q->w.ring.uring) < n &&
             io_uring_sqring_wait(&q->w.ring.uring) >= 0)
        ;
      if (io_uring_sq_space_left(&q->w.ring.uring) < n)
        return; /* the kernel is busy (CQ overflow): drain first */
    }
    while (n--) {
      nu_op_prep(io_uring_get_sqe(&q->w.ring.uring), nu__queue_pop_pending(q));
      q->inflight++;
    }
  }
}

/* Stopping: nothing more is submitted; what waits is answered at once and
 * what is in flight is cancelled (the wake read with it). */
static void nu__queue_begin_stop(struct nu_queue *q) {
  struct io_uring_sqe *sqe = nu_ring_sqe(&q->w.ring);

  q->stopping = 1;
  io_uring_prep_cancel64(sqe, 0, IORING_ASYNC_CANCEL_ANY);
  io_uring_sqe_set_data64(sqe, NU_QUEUE_UD_CANCEL_ALL);
}

static void nu__queue_cancel_pending(struct nu_queue *q) {
  while (q->pending)
    nu__queue_complete(q, nu__queue_pop_pending(q), -ECANCELED);
}

/* New ops, or a stop not yet acted on (nu_worker_has_work_fn). */
static int nu__queue_work_pending(void *arg) {
  struct nu_queue *q = arg;

  return atomic_load(&q->inbox) != NULL ||
         (atomic_load(&q->stop) && !q->stopping);
}

static void nu__queue_on_cqe(void *arg, const struct io_uring_cqe *cqe) {
  struct nu_queue *q = arg;
  uint64_t ud = cqe->user_data;

  if (ud == NU_QUEUE_UD_WAKE) {
    nu_worker_woken(&q->w, !q->stopping);
  } else if (ud != NU_QUEUE_UD_CANCEL_ALL) {
    q->inflight--;
    nu__queue_complete(q, (struct nu_op *)(uintptr_t)ud, cqe->res);
  }
}

static int nu__queue_setup(void *arg, const char **op) {
  struct nu_queue *q = arg;
  int ret = nu_ring_init(&q->w.ring, q->cfg.sq_entries, q->cfg.cq_entries,
                         q->cfg.sqpoll ? IORING_SETUP_SQPOLL : 0,
                         q->cfg.sq_thread_idle);

  if (ret < 0) {
    *op = "io_uring_setup";
    return ret;
  }
  ret = nu_worker_ready(&q->w, NU_QUEUE_UD_WAKE, op);
  if (ret < 0)
    return ret;
  io_uring_submit(&q->w.ring.uring);
  return 0;
}

static void nu__queue_run(void *arg) {
  struct nu_queue *q = arg;

  for (;;) {
    nu__queue_take_inbox(q);
    if (atomic_load(&q->stop) && !q->stopping)
      nu__queue_begin_stop(q);
    if (q->stopping)
      nu__queue_cancel_pending(q);
    else
      nu__queue_submit_pending(q);
    if (q->stopping && q->inflight == 0)
      break;
    nu_worker_deliver(&q->w);
    nu_worker_wait(&q->w, nu__queue_work_pending, q);
    nu_worker_drain(&q->w, nu__queue_on_cqe, q);
  }
  /* The ring goes before the last batch, which tells JS all is over: what
   * completed since the last delivery, marked as the end. */
  nu_ring_exit(&q->w.ring);
  nu_worker_deliver_last(&q->w);
  nu_worker_exited(&q->w);
}

/* ---- the JS thread ---- */

/* A batch's ops are the queue's to free, when the batch comes back or is
 * freed outright (see struct nu_batch): core knows nothing of them. */
static void nu__queue_batch_clear(struct nu_batch *b) {
  nu_op_list_free(b->ops);
  b->ops = b->ops_last = NULL;
}

static void nu__queue_free(struct nu_queue *q) {
  struct nu_op *inbox;

  NU_STACK_TAKE_ALL(&q->inbox, &inbox);
  nu_op_list_free(inbox);
  nu_op_list_free(q->staged);
  nu_worker_destroy(&q->w);
  free(q);
}

int nu_queue_start(const struct nu_queue_config *cfg, struct nu_queue **out,
                   const char **op) {
  struct nu_queue *q = calloc(1, sizeof(*q));
  int ret;

  if (q == NULL) {
    *op = "malloc";
    return -ENOMEM;
  }
  q->cfg = *cfg;
  q->w.pool.clear = nu__queue_batch_clear;
  ret = nu_worker_init(&q->w, cfg->deliver, cfg->exited, cfg->ctx, op);
  if (ret == 0)
    ret = nu_worker_start(&q->w, "nu-queue", nu__queue_setup, nu__queue_run, q,
                          op);
  if (ret < 0) {
    nu__queue_free(q);
    return ret;
  }
  *out = q;
  return 0;
}

void nu_queue_stage(struct nu_queue *q, struct nu_op *op) {
  if (q->linking)
    op->sqe_flags |= IOSQE_IO_LINK;
  op->next = q->staged;
  q->staged = op;
  if (q->staged_last == NULL)
    q->staged_last = op;
}

void nu_queue_link(struct nu_queue *q, int on) {
  if (!on && q->linking && q->staged)
    q->staged->sqe_flags &= (uint8_t)~IOSQE_IO_LINK;
  q->linking = on;
}

void nu_queue_submit(struct nu_queue *q) {
  if (q->staged == NULL)
    return;
  NU_STACK_PUSH(&q->inbox, q->staged, q->staged_last);
  q->staged = q->staged_last = NULL;
  nu_waker_wake(&q->w.waker);
}

void nu_queue_stop(struct nu_queue *q) {
  atomic_store(&q->stop, 1);
  if (q->w.waker.efd >= 0) /* not yet joined */
    nu_waker_wake(&q->w.waker);
}

void nu_queue_join(struct nu_queue *q) { nu_worker_join(&q->w); }

void nu_queue_batch_done(struct nu_queue *q, struct nu_batch *b) {
  nu_batch_pool_put(&q->w.pool, b);
}

void nu_queue_destroy(struct nu_queue *q) { nu__queue_free(q); }

unsigned nu_queue_setup_flags(const struct nu_queue *q) {
  return q->w.ring.setup_flags;
}
