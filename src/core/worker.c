#include "worker.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/eventfd.h>
#include <unistd.h>

int nu_worker_init(struct nu_worker *w, nu_deliver_fn deliver,
                   nu_exited_fn exited, void *ctx, const char **op) {
  w->deliver = deliver;
  w->exited = exited;
  w->ctx = ctx;
  w->waker.efd = eventfd(0, EFD_CLOEXEC);
  if (w->waker.efd < 0) {
    *op = "eventfd";
    return -errno;
  }
  return 0;
}

static void *nu__worker_main(void *arg) {
  struct nu_worker *w = arg;
  const char *op = NULL;
  int err = w->setup(w->owner, &op);

  nu_thread_started(&w->thread, err, op);
  if (err == 0)
    w->run(w->owner);
  return NULL;
}

int nu_worker_start(struct nu_worker *w, const char *name,
                    nu_worker_setup_fn setup, nu_worker_run_fn run, void *owner,
                    const char **op) {
  w->setup = setup;
  w->run = run;
  w->owner = owner;
  return nu_thread_start(&w->thread, name, nu__worker_main, w, op);
}

int nu_worker_start_inline(struct nu_worker *w, nu_worker_setup_fn setup,
                           void *owner, const char **op) {
  int flags = fcntl(w->waker.efd, F_GETFL), ret;

  /* A turn empties the eventfd without knowing whether it was signalled. */
  if (flags < 0 || fcntl(w->waker.efd, F_SETFL, flags | O_NONBLOCK) < 0) {
    *op = "fcntl";
    return -errno;
  }
  w->inline_mode = 1;
  w->thread.joined = 1; /* nothing to join */
  w->setup = setup;
  w->owner = owner;
  ret = setup(owner, op);
  if (ret == 0)
    nu_worker_signal(w); /* the first turn submits what setup queued */
  return ret;
}

void nu_worker_clear(struct nu_worker *w) {
  uint64_t value;

  while (read(w->waker.efd, &value, sizeof(value)) < 0 && errno == EINTR)
    ;
}

static void nu__worker_arm_wake(struct nu_worker *w) {
  struct io_uring_sqe *sqe = nu_ring_sqe(&w->ring);

  io_uring_prep_read(sqe, w->waker.efd, &w->wake_value, sizeof(w->wake_value),
                     0);
  io_uring_sqe_set_data64(sqe, w->wake_ud);
}

int nu_worker_ready(struct nu_worker *w, uint64_t wake_ud, const char **op) {
  w->batch = nu_batch_pool_get(&w->pool);
  if (w->batch == NULL) {
    *op = "malloc";
    nu_ring_exit(&w->ring);
    return -ENOMEM;
  }
  if (w->inline_mode) {
    int ret = io_uring_register_eventfd(&w->ring.uring, w->waker.efd);

    if (ret < 0) {
      *op = "io_uring_register";
      nu_batch_free(w->batch);
      w->batch = NULL;
      nu_ring_exit(&w->ring);
    }
    return ret;
  }
  w->wake_ud = wake_ud;
  nu__worker_arm_wake(w);
  return 0;
}

void nu_worker_woken(struct nu_worker *w, int rearm) {
  atomic_store(&w->waker.pending, 0);
  if (rearm)
    nu__worker_arm_wake(w);
}

void nu_worker_wait(struct nu_worker *w, nu_worker_has_work_fn has_work,
                    void *arg) {
  /* Said before the work is looked at, not after: a producer queues, then
   * reads sleeping (nu_waker_wake()); with both sides sequentially
   * consistent, either it sees the thread about to sleep and writes the
   * eventfd, or has_work() sees what it queued. Looked at first, work
   * queued between the look and the store would wait for the next
   * completion of some other kind. */
  atomic_store(&w->waker.sleeping, 1);
  if (has_work(arg))
    io_uring_submit_and_get_events(&w->ring.uring);
  else
    io_uring_submit_and_wait(&w->ring.uring, 1);
  atomic_store(&w->waker.sleeping, 0);
}

void nu_worker_deliver(struct nu_worker *w) {
  struct nu_batch *next;

  if (w->batch->nwords == 0 && w->batch->ops == NULL)
    return;
  next = nu_batch_pool_get(&w->pool);
  if (next == NULL)
    return; /* out of memory: keep collecting, try next turn */
  w->deliver(w->ctx, w->batch);
  w->batch = next;
}

void nu_worker_deliver_last(struct nu_worker *w) {
  w->batch->last = 1;
  w->deliver(w->ctx, w->batch);
  w->batch = NULL;
}

static void nu__worker_close_waker(struct nu_worker *w) {
  if (w->waker.efd >= 0) {
    close(w->waker.efd);
    w->waker.efd = -1;
  }
}

void nu_worker_join(struct nu_worker *w) {
  nu_thread_join(&w->thread);
  /* Inline, the owner's poll of the eventfd may not be closed yet. */
  if (!w->inline_mode)
    nu__worker_close_waker(w);
}

void nu_worker_destroy(struct nu_worker *w) {
  nu_batch_pool_destroy(&w->pool);
  nu__worker_close_waker(w);
}
