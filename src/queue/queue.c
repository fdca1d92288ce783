#include "queue.h"

#include "ops.h"
#include "stack.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

/* user_data of the queue's own requests; an op's is its address. */
#define NU_QUEUE_UD_WAKE 0
#define NU_QUEUE_UD_CANCEL_ALL 1

/* ---- the ring thread ---- */

static void nu__queue_arm_wake(struct nu_queue *q) {
  struct io_uring_sqe *sqe = nu_ring_sqe(&q->ring);

  io_uring_prep_read(sqe, q->waker.efd, &q->wake_value, sizeof(q->wake_value),
                     0);
  io_uring_sqe_set_data64(sqe, NU_QUEUE_UD_WAKE);
}

static void nu__queue_complete(struct nu_queue *q, struct nu_op *op, int res) {
  struct nu_batch *b = q->batch;

  op->res = res;
  op->next = NULL;
  if (b->ops_last)
    b->ops_last->next = op;
  else
    b->ops = op;
  b->ops_last = op;
}

static void nu__queue_append(struct nu_queue *q, struct nu_op *op) {
  op->next = NULL;
  if (q->pending_last)
    q->pending_last->next = op;
  else
    q->pending = op;
  q->pending_last = op;
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

  while (t && (uint64_t)(uintptr_t)t != cancel->addr) {
    prev = t;
    t = t->next;
  }
  if (t == NULL) {
    nu_op_prep(nu_ring_sqe(&q->ring), cancel);
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
      nu__queue_append(q, op);
    op = next;
  }
}

static struct nu_op *nu__queue_pop_pending(struct nu_queue *q) {
  struct nu_op *op = q->pending;

  q->pending = op->next;
  if (q->pending == NULL)
    q->pending_last = NULL;
  op->next = NULL;
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
    if (io_uring_sq_space_left(&q->ring.uring) < n) {
      io_uring_submit(&q->ring.uring);
      /* With SQPOLL the kernel thread takes SQEs in its own time, and no
       * completion need come to wake us: wait for the room itself. */
      while ((q->ring.setup_flags & IORING_SETUP_SQPOLL) &&
             io_uring_sq_space_left(&q->ring.uring) < n &&
             io_uring_sqring_wait(&q->ring.uring) >= 0)
        ;
      if (io_uring_sq_space_left(&q->ring.uring) < n)
        return; /* the kernel is busy (CQ overflow): drain first */
    }
    while (n--) {
      nu_op_prep(io_uring_get_sqe(&q->ring.uring), nu__queue_pop_pending(q));
      q->inflight++;
    }
  }
}

/* Stopping: nothing more is submitted; what waits is answered at once and
 * what is in flight is cancelled (the wake read with it). */
static void nu__queue_begin_stop(struct nu_queue *q) {
  struct io_uring_sqe *sqe = nu_ring_sqe(&q->ring);

  q->stopping = 1;
  io_uring_prep_cancel64(sqe, 0, IORING_ASYNC_CANCEL_ANY);
  io_uring_sqe_set_data64(sqe, NU_QUEUE_UD_CANCEL_ALL);
}

static void nu__queue_cancel_pending(struct nu_queue *q) {
  while (q->pending)
    nu__queue_complete(q, nu__queue_pop_pending(q), -ECANCELED);
}

static void nu__queue_wait(struct nu_queue *q) {
  atomic_store(&q->waker.sleeping, 1);
  if (atomic_load(&q->inbox) != NULL || (atomic_load(&q->stop) && !q->stopping))
    io_uring_submit_and_get_events(&q->ring.uring);
  else
    io_uring_submit_and_wait(&q->ring.uring, 1);
  atomic_store(&q->waker.sleeping, 0);
}

static void nu__queue_drain(struct nu_queue *q) {
  struct io_uring_cqe *cqe;

  while (io_uring_peek_cqe(&q->ring.uring, &cqe) == 0) {
    uint64_t ud = cqe->user_data;
    int res = cqe->res;

    io_uring_cqe_seen(&q->ring.uring, cqe);
    if (ud == NU_QUEUE_UD_WAKE) {
      atomic_store(&q->waker.pending, 0);
      if (!q->stopping)
        nu__queue_arm_wake(q);
    } else if (ud != NU_QUEUE_UD_CANCEL_ALL) {
      q->inflight--;
      nu__queue_complete(q, (struct nu_op *)(uintptr_t)ud, res);
    }
  }
}

static void nu__queue_deliver(struct nu_queue *q) {
  struct nu_batch *next;

  if (q->batch->ops == NULL)
    return;
  next = nu_batch_pool_get(&q->pool);
  if (next == NULL)
    return; /* out of memory: keep collecting, try next turn */
  q->cfg.deliver(q->cfg.ctx, q->batch);
  q->batch = next;
}

/* The last batch: what completed since the last delivery, marked as the
 * end. It needs no memory, so JS always learns the ring is done. */
static void nu__queue_deliver_last(struct nu_queue *q) {
  q->batch->last = 1;
  q->cfg.deliver(q->cfg.ctx, q->batch);
  q->batch = NULL;
}

static int nu__queue_setup(struct nu_queue *q, const char **op) {
  int ret = nu_ring_init(&q->ring, q->cfg.sq_entries, q->cfg.cq_entries,
                         q->cfg.sqpoll ? IORING_SETUP_SQPOLL : 0,
                         q->cfg.sq_thread_idle);

  if (ret < 0) {
    *op = "io_uring_setup";
    return ret;
  }
  q->batch = nu_batch_pool_get(&q->pool);
  if (q->batch == NULL) {
    *op = "malloc";
    nu_ring_exit(&q->ring);
    return -ENOMEM;
  }
  nu__queue_arm_wake(q);
  io_uring_submit(&q->ring.uring);
  return 0;
}

static void *nu__queue_main(void *arg) {
  struct nu_queue *q = arg;
  const char *op = NULL;
  int err = nu__queue_setup(q, &op);

  nu_thread_started(&q->thread, err, op);
  if (err)
    return NULL;
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
    nu__queue_deliver(q);
    nu__queue_wait(q);
    nu__queue_drain(q);
  }
  /* The ring goes before the last batch, which tells JS all is over. */
  nu_ring_exit(&q->ring);
  nu__queue_deliver_last(q);
  q->cfg.exited(q->cfg.ctx);
  return NULL;
}

/* ---- the JS thread ---- */

static void nu__queue_free(struct nu_queue *q) {
  struct nu_op *inbox;

  NU_STACK_TAKE_ALL(&q->inbox, &inbox);
  nu_op_list_free(inbox);
  nu_op_list_free(q->staged);
  nu_batch_pool_destroy(&q->pool);
  if (q->waker.efd >= 0)
    close(q->waker.efd);
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
  q->waker.efd = eventfd(0, EFD_CLOEXEC);
  if (q->waker.efd < 0) {
    ret = -errno;
    *op = "eventfd";
    nu__queue_free(q);
    return ret;
  }
  ret = nu_thread_start(&q->thread, "nu-queue", nu__queue_main, q, op);
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
  nu_waker_wake(&q->waker);
}

void nu_queue_stop(struct nu_queue *q) {
  atomic_store(&q->stop, 1);
  if (q->waker.efd >= 0)
    nu_waker_wake(&q->waker);
}

/* The eventfd goes with the thread, so that a closed ring holds no fd
 * while its JS object waits for the GC. */
void nu_queue_join(struct nu_queue *q) {
  nu_thread_join(&q->thread);
  if (q->waker.efd >= 0) {
    close(q->waker.efd);
    q->waker.efd = -1;
  }
}

void nu_queue_batch_done(struct nu_queue *q, struct nu_batch *b) {
  nu_batch_pool_put(&q->pool, b);
}

void nu_queue_destroy(struct nu_queue *q) { nu__queue_free(q); }

unsigned nu_queue_setup_flags(const struct nu_queue *q) {
  return q->ring.setup_flags;
}
