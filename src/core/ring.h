/*
 * ring: io_uring setup with feature fallback, SQE acquisition, and the
 * provided buffer ring that multishot recv draws from.
 *
 * A struct nu_ring is embedded in its owner and used by one thread only: the
 * thread that called nu_ring_init(), since the ring may be set up with
 * IORING_SETUP_SINGLE_ISSUER.
 */
#ifndef NU_RING_H
#define NU_RING_H

#include <liburing.h>

/* Buffer group id of the provided buffer ring used for recv. */
#define NU_RING_BGID 0

struct nu_ring {
  struct io_uring uring;
  unsigned setup_flags;         /* the IORING_SETUP_* flags the kernel took */
  struct io_uring_buf_ring *br; /* mmap'ed buffer ring, NULL when none */
  char *bufs;                   /* nbufs * buf_size bytes of recv buffers */
  unsigned nbufs;               /* a power of two */
  unsigned buf_size;
};

/*
 * Sets up the ring with sq_entries SQEs and cq_entries CQEs. Tries
 * SINGLE_ISSUER | DEFER_TASKRUN | TASKRUN_FLAG first, then COOP_TASKRUN, then no flags;
 * with IORING_SETUP_SQPOLL in extra_flags (sq_thread_idle ms), only
 * SINGLE_ISSUER, then nothing, since the kernel thread does the work.
 * Returns 0 or -errno (-EPERM when seccomp or kernel.io_uring_disabled
 * forbids io_uring, -ENOSYS without io_uring, -ENOMEM past RLIMIT_MEMLOCK).
 */
int nu_ring_init(struct nu_ring *r, unsigned sq_entries, unsigned cq_entries,
                 unsigned extra_flags, unsigned sq_thread_idle);

/* As nu_ring_init(), for a ring whose thread sleeps in epoll rather than
 * in io_uring_enter(), woken by an eventfd registered with the ring (see
 * nu_worker_start_inline()). */
int nu_ring_init_polled(struct nu_ring *r, unsigned sq_entries,
                        unsigned cq_entries);

/* Whether the kernel holds completions the CQ does not show yet: task
 * work left for the next enter (DEFER_TASKRUN runs a bounded number of
 * items per enter, and signals no eventfd for the rest), or an
 * overflow. Under TASKRUN_FLAG only, which both setups ask for. */
static inline int nu_ring_work_pending(const struct nu_ring *r) {
  return (IO_URING_READ_ONCE(*r->uring.sq.kflags) &
          (IORING_SQ_TASKRUN | IORING_SQ_CQ_OVERFLOW)) != 0;
}

/*
 * Maps and registers a buffer ring of nbufs (a power of two) buffers of
 * buf_size bytes under NU_RING_BGID, all handed to the kernel.
 * Returns 0 or -errno (-EINVAL before Linux 5.19).
 */
int nu_ring_bufs_init(struct nu_ring *r, unsigned nbufs, unsigned buf_size);

/* Unregisters and unmaps everything nu_ring_init() and _bufs_init() made. */
void nu_ring_exit(struct nu_ring *r);

/*
 * Returns a free SQE, submitting what is queued first when the SQ is full.
 * Never NULL: when the kernel takes nothing it returns after a wait.
 */
struct io_uring_sqe *nu_ring_sqe(struct nu_ring *r);
/* Makes room for n SQEs in a row, submitting what is queued if need be,
 * so that a linked chain of n goes to the kernel in one submit. */
void nu_ring_reserve(struct nu_ring *r, unsigned n);

/* The start of recv buffer bid. */
static inline char *nu_ring_buf(struct nu_ring *r, unsigned bid) {
  return r->bufs + (size_t)bid * r->buf_size;
}

/* Hands recv buffer bid back to the kernel. */
void nu_ring_buf_recycle(struct nu_ring *r, unsigned bid);

/*
 * Gives the recv buffers' pages back to the system (MADV_DONTNEED), for a
 * quiet server not to keep every buffer it cycled through resident: the
 * kernel takes them in ring order, so a burst touches them all. Safe only
 * when no buffer holds data not yet seen: under DEFER_TASKRUN the kernel
 * fills them only inside this thread's io_uring_enter(), so a drained CQ
 * (and every buffer recycled as its completion is handled, as the caller
 * does) means none does. Returns 1 when done, 0 when it cannot be now.
 */
int nu_ring_bufs_release(struct nu_ring *r);

#endif
