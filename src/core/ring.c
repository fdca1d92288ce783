#include "ring.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

/* Sets r up with the first of tries[0..n) the kernel takes. */
static int nu__ring_try(struct nu_ring *r, unsigned sq_entries,
                        unsigned cq_entries, const unsigned *tries, size_t n,
                        unsigned extra_flags, unsigned sq_thread_idle) {
  int ret = -EINVAL;

  memset(r, 0, sizeof(*r));
  for (size_t i = 0; i < n; i++) {
    struct io_uring_params p;

    memset(&p, 0, sizeof(p));
    p.flags =
        tries[i] | extra_flags | IORING_SETUP_CQSIZE | IORING_SETUP_SUBMIT_ALL;
    p.cq_entries = cq_entries;
    p.sq_thread_idle = sq_thread_idle;
    ret = io_uring_queue_init_params(sq_entries, &r->uring, &p);
    if (ret == 0) {
      r->setup_flags = p.flags;
      return 0;
    }
    /* Only an unknown flag is worth another try; EPERM, ENOSYS, ENOMEM
     * would fail again. */
    if (ret != -EINVAL)
      return ret;
  }
  return ret;
}

int nu_ring_init(struct nu_ring *r, unsigned sq_entries, unsigned cq_entries,
                 unsigned extra_flags, unsigned sq_thread_idle) {
  static const unsigned attempts[] = {
      IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN |
          IORING_SETUP_TASKRUN_FLAG,
      IORING_SETUP_COOP_TASKRUN,
      0,
  };
  static const unsigned sqpoll_attempts[] = {IORING_SETUP_SINGLE_ISSUER, 0};
  int sqpoll = (extra_flags & IORING_SETUP_SQPOLL) != 0;

  return sqpoll ? nu__ring_try(r, sq_entries, cq_entries, sqpoll_attempts, 2,
                               extra_flags, sq_thread_idle)
                : nu__ring_try(r, sq_entries, cq_entries, attempts, 3,
                               extra_flags, sq_thread_idle);
}

/* COOP_TASKRUN is left out: its completions wait for the thread's next
 * system call, and a thread asleep in epoll_wait() makes none. Without
 * it, they interrupt the sleep; under DEFER_TASKRUN they signal the
 * registered eventfd. */
int nu_ring_init_polled(struct nu_ring *r, unsigned sq_entries,
                        unsigned cq_entries) {
  static const unsigned attempts[] = {
      IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN |
          IORING_SETUP_TASKRUN_FLAG,
      0,
  };

  return nu__ring_try(r, sq_entries, cq_entries, attempts, 2, 0, 0);
}

int nu_ring_bufs_init(struct nu_ring *r, unsigned nbufs, unsigned buf_size) {
  size_t ring_bytes = nbufs * sizeof(struct io_uring_buf);
  struct io_uring_buf_reg reg;
  void *map;
  int ret;

  map = mmap(NULL, ring_bytes, PROT_READ | PROT_WRITE,
             MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  if (map == MAP_FAILED)
    return -errno;
  r->bufs = mmap(NULL, (size_t)nbufs * buf_size, PROT_READ | PROT_WRITE,
                 MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  if (r->bufs == MAP_FAILED) {
    ret = -errno;
    r->bufs = NULL;
    munmap(map, ring_bytes);
    return ret;
  }
  r->br = map;
  r->nbufs = nbufs;
  r->buf_size = buf_size;
  io_uring_buf_ring_init(r->br);

  memset(&reg, 0, sizeof(reg));
  reg.ring_addr = (unsigned long)map;
  reg.ring_entries = nbufs;
  reg.bgid = NU_RING_BGID;
  ret = io_uring_register_buf_ring(&r->uring, &reg, 0);
  if (ret < 0) {
    munmap(r->bufs, (size_t)nbufs * buf_size);
    munmap(map, ring_bytes);
    r->br = NULL;
    r->bufs = NULL;
    return ret;
  }
  for (unsigned bid = 0; bid < nbufs; bid++)
    io_uring_buf_ring_add(r->br, nu_ring_buf(r, bid), buf_size, bid,
                          io_uring_buf_ring_mask(nbufs), bid);
  io_uring_buf_ring_advance(r->br, nbufs);
  return 0;
}

void nu_ring_exit(struct nu_ring *r) {
  /* Tearing the ring down first cancels every request still using the
   * buffers, so they can be unmapped after it. */
  io_uring_queue_exit(&r->uring);
  if (r->br) {
    munmap(r->br, r->nbufs * sizeof(struct io_uring_buf));
    munmap(r->bufs, (size_t)r->nbufs * r->buf_size);
    r->br = NULL;
    r->bufs = NULL;
  }
}

/* The SQ is full: hand it to the kernel. If it takes none (-EBUSY: the CQ
 * overflowed), let it flush the overflow into the CQ, which the caller
 * consumes as it goes, and try again. With SQPOLL the kernel thread takes
 * the SQEs when it runs: wait for it. */
static void nu__ring_make_room(struct nu_ring *r) {
  if (io_uring_submit(&r->uring) <= 0)
    io_uring_get_events(&r->uring);
  if (r->setup_flags & IORING_SETUP_SQPOLL)
    io_uring_sqring_wait(&r->uring);
}

struct io_uring_sqe *nu_ring_sqe(struct nu_ring *r) {
  struct io_uring_sqe *sqe;

  while ((sqe = io_uring_get_sqe(&r->uring)) == NULL)
    nu__ring_make_room(r);
  return sqe;
}

void nu_ring_reserve(struct nu_ring *r, unsigned n) {
  while (io_uring_sq_space_left(&r->uring) < n)
    nu__ring_make_room(r);
}

int nu_ring_bufs_release(struct nu_ring *r) {
  if (r->bufs == NULL || !(r->setup_flags & IORING_SETUP_DEFER_TASKRUN) ||
      io_uring_cq_ready(&r->uring) > 0)
    return 0;
  return madvise(r->bufs, (size_t)r->nbufs * r->buf_size, MADV_DONTNEED) == 0;
}

void nu_ring_buf_recycle(struct nu_ring *r, unsigned bid) {
  io_uring_buf_ring_add(r->br, nu_ring_buf(r, bid), r->buf_size, bid,
                        io_uring_buf_ring_mask(r->nbufs), 0);
  io_uring_buf_ring_advance(r->br, 1);
}
