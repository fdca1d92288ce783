/*
 * loop: the ring thread. It owns the io_uring, the listening socket from
 * start on, every accepted socket and every connection struct. Each turn it
 * takes the response chunks JS queued, submits, waits, dispatches every
 * completion by the op tag in its user_data, and hands JS one batch of the
 * events that turn produced.
 */
#include "server.h"

#include "file.h"
#include "pubsub.h"
#include "wsconn.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#define NU_RECV_BUFS 1024
#define NU_RECV_BUF_SIZE 8192
#define NU_ACCEPT_BACKOFF_NS (50 * 1000 * 1000)
/* How long a refused connection's input is drained before closing. */
#define NU_LINGER_MS 2000
/* How many expired connections one turn answers or closes; see
 * nu__expire_some(). */
#define NU_EXPIRE_PER_TURN 64

/* user_data: the op in the top byte, then 24 bits of the connection's
 * generation and 32 of its slot, so a late cancel can never match a newer
 * connection in the same slot. */
enum nu_loop_op {
  NU_OP_ACCEPT = 1,
  NU_OP_ACCEPT_RETRY,
  NU_OP_RECV,
  NU_OP_SEND,
  NU_OP_WAKE,
  NU_OP_CANCEL,
  NU_OP_TICK,
  NU_OP_FILE,       /* the operation of the connection's first file response */
  NU_OP_SPLICE_IN,  /* file to pipe, linked to */
  NU_OP_SPLICE_OUT, /* pipe to socket: a send */
  NU_OP_WRITABLE,   /* a poll for room in the socket, after EAGAIN */
  NU_OP_WATCH,      /* a poll for the peer going, while c is not read */
  NU_OP_FILE_READ,  /* a piece of a file read, where it is not spliced */
  NU_OP_FILE_SEND,  /* that piece sent */
};

static uint64_t nu__ud(enum nu_loop_op op, const struct nu_conn *c) {
  uint64_t ud = (uint64_t)op << 56;

  if (c)
    ud |= (uint64_t)(c->gen & 0xffffff) << 32 | c->slot;
  return ud;
}

static enum nu_loop_op nu__ud_op(uint64_t ud) {
  return (enum nu_loop_op)(ud >> 56);
}
static uint32_t nu__ud_slot(uint64_t ud) { return (uint32_t)ud; }

static struct io_uring_sqe *nu__sqe(struct nu_server *s, enum nu_loop_op op,
                                    const struct nu_conn *c) {
  struct io_uring_sqe *sqe = nu_ring_sqe(&s->w.ring);

  io_uring_sqe_set_data64(sqe, nu__ud(op, c));
  return sqe;
}

/* ---- arming requests ---- */

static void nu__arm_accept(struct nu_server *s) {
  struct io_uring_sqe *sqe = nu__sqe(s, NU_OP_ACCEPT, NULL);

  /* Nonblocking, for splice (see nu__conn_splice()): io_uring's recv and
   * send never block anyway, they poll, whatever the flag says. */
  io_uring_prep_multishot_accept(sqe, s->cfg.listen_fd, NULL, NULL,
                                 SOCK_CLOEXEC | SOCK_NONBLOCK);
  s->accept_armed = 1;
}

/* Accept failed (EMFILE, ENFILE, ENOMEM): try again a little later rather
 * than spin on an error that will not go away at once. */
static void nu__arm_accept_retry(struct nu_server *s) {
  struct io_uring_sqe *sqe = nu__sqe(s, NU_OP_ACCEPT_RETRY, NULL);

  s->accept_backoff.tv_sec = 0;
  s->accept_backoff.tv_nsec = NU_ACCEPT_BACKOFF_NS;
  io_uring_prep_timeout(sqe, &s->accept_backoff, 0, 0);
  s->accept_retry = 1;
}

static void nu__arm_tick(struct nu_server *s) {
  io_uring_prep_timeout(nu__sqe(s, NU_OP_TICK, NULL), &s->tick, 0, 0);
}

/* The tick's period from its next arming on. */
static void nu__tick_every(struct nu_server *s, uint32_t ms) {
  s->tick.tv_sec = ms / 1000;
  s->tick.tv_nsec = (long long)(ms % 1000) * 1000000;
}

/* A WebSocket with an idle timeout needs the tick, which runs already
 * unless every HTTP timeout is off: then it starts, once a second. */
static void nu__ws_tick_start(struct nu_server *s) {
  if (s->ws_tick || nu_timeout_tick_ms(&s->timeouts) != 0)
    return;
  s->ws_tick = 1;
  nu__tick_every(s, 1000);
  nu__arm_tick(s);
}

static void nu__arm_recv(struct nu_server *s, struct nu_conn *c) {
  struct io_uring_sqe *sqe = nu__sqe(s, NU_OP_RECV, c);

  io_uring_prep_recv_multishot(sqe, c->fd, NULL, 0, 0);
  sqe->flags |= IOSQE_BUFFER_SELECT;
  sqe->buf_group = NU_RING_BGID;
  c->flags |= NU_CONN_RECV_ARMED;
  c->inflight++;
}

/* Watches c for its peer's FIN or reset while it is not read: a client
 * that goes away is noticed at once, whatever it is owed. */
static void nu__arm_watch(struct nu_server *s, struct nu_conn *c) {
  io_uring_prep_poll_add(nu__sqe(s, NU_OP_WATCH, c), c->fd, POLLRDHUP);
  c->flags |= NU_CONN_WATCHING;
  c->inflight++;
}

static void nu__conn_input(struct nu_server *s, struct nu_conn *c,
                           const char *data, uint32_t len);

/* ---- load (struct nu_load) ---- */

/* Brings the server's counts up to date with c's. A connection's counts
 * change in many places (the parser, the queues, the sends); they are
 * taken in here, whenever the loop is done with c for the moment. */
static void nu__conn_account(struct nu_server *s, struct nu_conn *c) {
  struct nu_load *l = &s->load;
  uint32_t owed = nu_conn_owed(c);

  l->owed += owed - c->owed_counted;
  c->owed_counted = owed;
  l->unsent += c->queued_bytes - c->unsent_counted;
  c->unsent_counted = c->queued_bytes;
  if (l->max_requests && l->owed >= l->max_requests)
    l->full = 1;
}

/* Holds c, not read nor parsed, until the load falls (nu__load_update()). */
static void nu__conn_hold(struct nu_server *s, struct nu_conn *c) {
  if (c->flags & (NU_CONN_LOAD_HELD | NU_CONN_LINGER | NU_CONN_CLOSING |
                  NU_CONN_READ_DONE))
    return;
  c->flags |= NU_CONN_LOAD_HELD;
  c->held_next = NULL;
  c->held_prev = s->held_tail;
  if (s->held_tail)
    s->held_tail->held_next = c;
  else
    s->held_head = c;
  s->held_tail = c;
  s->nheld++;
}

static void nu__conn_unhold(struct nu_server *s, struct nu_conn *c) {
  if (!(c->flags & NU_CONN_LOAD_HELD))
    return;
  c->flags &= ~NU_CONN_LOAD_HELD;
  if (c->held_prev)
    c->held_prev->held_next = c->held_next;
  else
    s->held_head = c->held_next;
  if (c->held_next)
    c->held_next->held_prev = c->held_prev;
  else
    s->held_tail = c->held_prev;
  s->nheld--;
}

/* Resumes parsing once c no longer owes too much (and the server is not
 * over its load bounds, else c is held), then posts or cancels its recv
 * as nu_conn_wants_input() says, and watches it while it is not read
 * (nu_conn_wants_watch()). */
static void nu__conn_update_reading(struct nu_server *s, struct nu_conn *c) {
  nu__conn_account(s, c);
  if (c->flags & NU_CONN_LINGER)
    return; /* its recv runs until the peer closes */
  if ((c->flags & (NU_CONN_PARSE_PAUSED | NU_CONN_LOAD_HELD)) ==
          NU_CONN_PARSE_PAUSED &&
      !nu_conn_owes_too_much(c)) {
    if (s->load.full) {
      nu__conn_hold(s, c);
    } else {
      nu_http_resume(c);
      if (c->backlog_len > 0)
        nu__conn_input(s, c, c->backlog, c->backlog_len);
      if (c->fd < 0 || (c->flags & NU_CONN_CLOSING))
        return;
      nu__conn_account(s, c);
    }
  }
  /* A recv still posted is left to run: c is held when input comes. */
  if (s->load.full && !(c->flags & NU_CONN_RECV_ARMED) &&
      nu_conn_wants_input(c))
    nu__conn_hold(s, c);
  if (nu_conn_wants_input(c)) {
    if (c->flags & NU_CONN_WATCHING) /* the recv sees what it would */
      io_uring_prep_cancel64(nu__sqe(s, NU_OP_CANCEL, NULL),
                             nu__ud(NU_OP_WATCH, c), 0);
    if (!(c->flags & NU_CONN_RECV_ARMED))
      nu__arm_recv(s, c);
  } else if (nu_conn_wants_watch(c)) {
    nu__arm_watch(s, c);
  } else if ((c->flags & NU_CONN_RECV_ARMED) &&
             !(c->flags & (NU_CONN_RECV_CANCELING | NU_CONN_CLOSING))) {
    io_uring_prep_cancel64(nu__sqe(s, NU_OP_CANCEL, NULL),
                           nu__ud(NU_OP_RECV, c), 0);
    c->flags |= NU_CONN_RECV_CANCELING;
  }
}

/* ---- connection lifetime ---- */

/* Frees c once it is closing and the kernel holds nothing of it. */
static void nu__conn_maybe_release(struct nu_server *s, struct nu_conn *c) {
  if (c->fd < 0 || !(c->flags & NU_CONN_CLOSING) || c->inflight > 0)
    return;
  while (c->files) {
    struct nu_file *f = c->files;

    c->files = f->next;
    nu_file_free(f);
  }
  close(c->fd);
  if (c->ws)
    nu_topics_leave_all(&s->topics, &c->ws->subs);
  nu__conn_unhold(s, c);
  s->load.owed -= c->owed_counted;
  s->load.unsent -= c->unsent_counted;
  /* Out of memory here only costs JS the 'close' events of this
   * connection; its (slot, gen) is dead either way. */
  (void)nu_batch_put_close(s->w.batch, c->slot, c->gen);
  nu_conn_release(&s->conns, c);
  atomic_store_explicit(&s->live_conns, s->conns.nopen, memory_order_relaxed);
}

/*
 * Starts closing c: no more input is read, what is posted on its socket
 * ends, and c is freed when those completions are in. A shutdown of both
 * ways ends them: the recv sees the end of input, a send or a poll wakes
 * and fails. An async cancel by fd would too, but the kernel finds an
 * fd's requests by walking every poll the ring has posted, and again for
 * each match: with thousands of connections, closing them all (a wave of
 * timeouts) cost the ring thread tens of milliseconds, which every other
 * client waited through. The cancel stays for a socket that refuses the
 * shutdown. File operations end by themselves.
 */
static void nu__conn_close(struct nu_server *s, struct nu_conn *c) {
  if (c->flags & NU_CONN_CLOSING)
    return;
  c->flags |= NU_CONN_CLOSING | NU_CONN_READ_DONE;
  if (c->inflight > 0 && shutdown(c->fd, SHUT_RDWR) < 0 && errno != ENOTCONN) {
    struct io_uring_sqe *sqe = nu__sqe(s, NU_OP_CANCEL, NULL);

    io_uring_prep_cancel_fd(sqe, c->fd, IORING_ASYNC_CANCEL_ALL);
  }
  nu__conn_maybe_release(s, c);
}

/*
 * Closes c once its last response is sent. A client that was refused (an
 * error status, or bytes after a request that closes), or told the
 * connection closes (Connection: close from the handler), may still be
 * sending what it had begun, a body or a pipeline; closing with that input
 * unread makes the kernel reset the connection, and the reset destroys the
 * response still in the socket's send buffer. So such a connection gets
 * its write side shut (a FIN after the response) and its input read and
 * dropped until the peer closes, or NU_LINGER_MS pass on the tick. With no
 * tick (every timeout disabled), or once the server stops, it closes at
 * once.
 */
static void nu__conn_close_after_response(struct nu_server *s,
                                          struct nu_conn *c) {
  int unread = 0;

  /* A close after an ordinary response (not a refusal) with no input
   * waiting is a plain close: most such clients asked for it and send no
   * more, and a linger would cost them a round of their own. */
  if (!(c->flags & NU_CONN_PARSE_DONE) &&
      (ioctl(c->fd, SIOCINQ, &unread) < 0 || unread == 0)) {
    nu__conn_close(s, c);
    return;
  }
  if ((c->flags & (NU_CONN_PEER_EOF | NU_CONN_EXPIRED)) || s->stop_seen ||
      nu_timeout_tick_ms(&s->timeouts) == 0) {
    nu__conn_close(s, c);
    return;
  }
  shutdown(c->fd, SHUT_WR);
  c->flags |= NU_CONN_LINGER;
  c->since_ms = s->now_ms;
  if (!(c->flags & NU_CONN_RECV_ARMED))
    nu__arm_recv(s, c);
}

/* A recv completion on a lingering connection: the bytes are dropped
 * already; the end of input, or an error, closes. */
static void nu__conn_linger_read(struct nu_server *s, struct nu_conn *c,
                                 int res) {
  if (c->flags & NU_CONN_CLOSING)
    return;
  if (res == 0 || (res < 0 && res != -ENOBUFS && res != -ECANCELED))
    nu__conn_close(s, c);
  else if (!(c->flags & NU_CONN_RECV_ARMED))
    nu__arm_recv(s, c); /* the recv a refusal cancelled, or one that ended */
}

/* Closes c if it was waiting to be idle and now is. */
static void nu__conn_close_if_idle(struct nu_server *s, struct nu_conn *c) {
  if ((c->flags & NU_CONN_CLOSE_WHEN_IDLE) && nu_conn_is_idle(c))
    nu__conn_close(s, c);
}

static void nu__conn_open(struct nu_server *s, int fd) {
  struct nu_conn *c = nu_conn_acquire(&s->conns);

  atomic_store_explicit(&s->live_conns, s->conns.nopen, memory_order_relaxed);
  struct sockaddr_storage peer;
  socklen_t len = sizeof(peer);
  int one = 1;

  if (c == NULL) {
    close(fd);
    return;
  }
  c->fd = fd;
  c->since_ms = s->now_ms; /* the headers timeout runs from here */
  c->io_ms = s->now_ms;
  /* Responses are written whole; Nagle would only delay them. */
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  if (getpeername(fd, (struct sockaddr *)&peer, &len) < 0)
    memset(&peer, 0, sizeof(peer));
  nu_http_conn_init(c, &s->settings);
  if (nu_batch_put_open(s->w.batch, c->slot, c->gen, &peer) < 0) {
    nu__conn_close(s, c);
    return;
  }
  nu__arm_recv(s, c);
  /* Accepted as the stop came. Draining, it is served what it sent;
   * otherwise it goes as the idle ones went. */
  if (s->stop_seen == NU_STOP_DRAIN)
    c->flags |= NU_CONN_CLOSE_WHEN_IDLE;
  else if (s->stop_seen)
    nu__conn_close(s, c);
}

/* ---- sending ---- */

/*
 * Sends the next piece of splice chunk o: a splice from the file into c's
 * pipe linked to one from the pipe to the socket, or only the second when
 * the pipe still holds what a short splice left. The bytes go from the
 * page cache to the socket without a copy. io_uring runs splices on io-wq
 * workers; the socket is nonblocking (accepted with SOCK_NONBLOCK, as
 * SPLICE_F_NONBLOCK covers only the pipe), so a full socket returns EAGAIN
 * and is waited for with a poll, rather than by a worker blocked for as
 * long as the client does not read.
 */
static void nu__conn_read_file(struct nu_server *s, struct nu_conn *c,
                               struct nu_out *o);

/* The flags of the file half of a splice. In a test build (NU_TEST_HOOKS)
 * with NU_TEST_NO_SPLICE set, one the kernel does not know, so that it
 * refuses the splice with EINVAL, as it does a file on a file system
 * without splice_read: the test machine offers no such regular file. */
static unsigned nu__splice_in_flags(const struct nu_server *s) {
#ifdef NU_TEST_HOOKS
  if (s->test_no_splice)
    return SPLICE_F_NONBLOCK | (SPLICE_F_GIFT << 1); /* past SPLICE_F_ALL */
#endif
  (void)s;
  return SPLICE_F_NONBLOCK;
}

static void nu__conn_splice(struct nu_server *s, struct nu_conn *c,
                            struct nu_out *o) {
  uint32_t left = o->len - c->sent_off;
  uint32_t n = c->pipe.bytes;
  struct io_uring_sqe *sqe;
  int ret = 0;

  if (c->pipe.r < 0 && !c->pipe.reads)
    ret = nu_conn_pipe_open(c);
  if (c->pipe.reads) {
    nu__conn_read_file(s, c, o); /* the pipe would be too small */
    return;
  }
  if (ret < 0) {
    nu__conn_close(s, c);
    return;
  }
  nu_ring_reserve(&s->w.ring, 2); /* a link cut by a submit would not hold */
  if (n == 0) {
    n = left < c->pipe.cap ? left : c->pipe.cap;
    sqe = nu__sqe(s, NU_OP_SPLICE_IN, c);
    io_uring_prep_splice(sqe, o->fd, (int64_t)(o->file_off + c->sent_off),
                         c->pipe.w, -1, n, nu__splice_in_flags(s));
    sqe->flags |= IOSQE_IO_LINK;
    c->inflight++;
    c->pipe.in_flight = 1;
  }
  sqe = nu__sqe(s, NU_OP_SPLICE_OUT, c);
  io_uring_prep_splice(sqe, c->pipe.r, -1, c->fd, -1, n,
                       SPLICE_F_NONBLOCK | (n < left ? SPLICE_F_MORE : 0));
  c->flags |= NU_CONN_SENDING;
  c->inflight++;
}

/*
 * Sends the next piece of splice chunk o through memory, where splice
 * cannot: a file system without splice_read (the first splice fails with
 * EINVAL), or a pipe the kernel kept small (past the user's pipe quota).
 * A read of the file into c's buffer, then a send of what it got; a short
 * send leaves the rest in the buffer for the next call.
 */
static void nu__conn_read_file(struct nu_server *s, struct nu_conn *c,
                               struct nu_out *o) {
  uint32_t left = o->len - c->sent_off;
  struct io_uring_sqe *sqe;

  if (c->pipe.buf == NULL &&
      (c->pipe.buf = malloc(NU_CONN_READ_SIZE)) == NULL) {
    nu__conn_close(s, c);
    return;
  }
  if (c->pipe.bytes > 0) {
    sqe = nu__sqe(s, NU_OP_FILE_SEND, c);
    io_uring_prep_send(sqe, c->fd, c->pipe.buf + c->pipe.buf_off, c->pipe.bytes,
                       MSG_NOSIGNAL | (c->pipe.bytes < left ? MSG_MORE : 0));
  } else {
    sqe = nu__sqe(s, NU_OP_FILE_READ, c);
    io_uring_prep_read(sqe, o->fd, c->pipe.buf,
                       left < NU_CONN_READ_SIZE ? left : NU_CONN_READ_SIZE,
                       o->file_off + c->sent_off);
  }
  c->flags |= NU_CONN_SENDING;
  c->inflight++;
}

/* Submits one send of as much of c's queue as one sendmsg gathers: a
 * plain send for one chunk, a sendmsg with a state from the table for
 * more (or, out of memory for that state, a send of the first). */
static void nu__conn_flush(struct nu_server *s, struct nu_conn *c) {
  struct io_uring_sqe *sqe;
  struct nu_out *o = c->sendq.head;
  struct iovec iov[NU_CONN_IOV_MAX];
  uint32_t off = c->sent_off;
  unsigned n = 0;

  if (o == NULL || (c->flags & (NU_CONN_SENDING | NU_CONN_CLOSING)))
    return;
  if (o->flags & NU_OUT_SPLICE) {
    nu__conn_splice(s, c, o);
    return;
  }
  for (; o && n < NU_CONN_IOV_MAX && !(o->flags & NU_OUT_SPLICE);
       o = o->next, off = 0) {
    n += nu_out_iov(o, off, iov + n, NU_CONN_IOV_MAX - n);
    if (o->flags & (NU_OUT_CLOSE | NU_OUT_SHUTDOWN))
      break; /* nothing after it may reach the client */
  }
  if (n > 1 && (c->sendmsg = nu_conn_sendmsg_get(&s->conns)) == NULL)
    n = 1;
  sqe = nu__sqe(s, NU_OP_SEND, c);
  if (n == 1) {
    io_uring_prep_send(sqe, c->fd, iov[0].iov_base, iov[0].iov_len,
                       MSG_NOSIGNAL);
  } else {
    memcpy(c->sendmsg->iov, iov, n * sizeof(iov[0]));
    memset(&c->sendmsg->msg, 0, sizeof(c->sendmsg->msg));
    c->sendmsg->msg.msg_iov = c->sendmsg->iov;
    c->sendmsg->msg.msg_iovlen = n;
    io_uring_prep_sendmsg(sqe, c->fd, &c->sendmsg->msg, MSG_NOSIGNAL);
  }
  c->flags |= NU_CONN_SENDING;
  c->inflight++;
}

/* A raw chunk asking for it is sent: our FIN goes. Returns 1 when the
 * peer's came already, and c may close. */
static int nu__conn_shut(struct nu_conn *c) {
  shutdown(c->fd, SHUT_WR);
  c->flags |= NU_CONN_WR_SHUT;
  return (c->flags & NU_CONN_PEER_EOF) != 0;
}

/* Retires the chunks that `sent` bytes completed. Returns 1 when one of
 * them asked to close the connection. */
static int nu__conn_sent(struct nu_conn *c, uint32_t sent) {
  struct nu_out *o;
  int close_after = 0;

  while ((o = c->sendq.head) != NULL) {
    uint32_t left = o->len - c->sent_off;

    if (sent < left) {
      c->sent_off += sent;
      break;
    }
    sent -= left;
    c->sent_off = 0;
    c->queued_bytes -= o->len;
    c->sent_total += (uint64_t)o->head_len + o->body_len;
    nu_outq_pop(&c->sendq);
    close_after |= (o->flags & NU_OUT_CLOSE) != 0;
    if (o->flags & NU_OUT_SHUTDOWN)
      close_after |= nu__conn_shut(c);
    nu_out_free(o);
  }
  return close_after;
}

/* Tells JS, if it asked, once everything queued on c is sent. Out of
 * memory, the flag stays and the next send tries again. */
static void nu__conn_maybe_drained(struct nu_server *s, struct nu_conn *c) {
  if ((c->flags & NU_CONN_WANT_DRAIN) && c->queued_bytes == 0 &&
      nu_batch_put_drain(s->w.batch, c->slot, c->gen, c->sent_total) == 0)
    c->flags &= ~NU_CONN_WANT_DRAIN;
}

static void nu__mark_dirty(struct nu_server *s, struct nu_conn *c) {
  if (c->flags & NU_CONN_DIRTY)
    return;
  c->flags |= NU_CONN_DIRTY;
  c->next_dirty = NULL;
  if (s->dirty != NULL)
    s->dirty_tail->next_dirty = c;
  else
    s->dirty = c;
  s->dirty_tail = c;
}

/* Moves c's file responses along: queues the chunks they have ready and
 * posts the operation the first one waits for. */
static void nu__conn_run_files(struct nu_server *s, struct nu_conn *c) {
  struct nu_file_env env = {&s->head_end, 0, 0};
  struct nu_file *f;
  struct nu_out *o;

  while ((f = c->files) != NULL && !(c->flags & NU_CONN_CLOSING)) {
    env.ahead_bytes = c->queued_bytes - c->parked_bytes;
    env.send_seq = c->send_seq;
    switch (nu_file_step(f, &env, &o)) {
    case NU_FILE_STEP_OP:
      nu_file_prep(f, nu__sqe(s, NU_OP_FILE, c));
      c->inflight++;
      return;
    case NU_FILE_STEP_SEND:
      nu_conn_enqueue(c, o);
      nu__mark_dirty(s, c);
      break;
    case NU_FILE_STEP_WAIT:
      return;
    case NU_FILE_STEP_DONE:
      c->files = f->next;
      nu_file_free(f);
      break;
    case NU_FILE_STEP_NOMEM:
      nu__conn_close(s, c);
      return;
    }
  }
}

/* Sends what every connection touched this turn has queued. */
static void nu__flush_dirty(struct nu_server *s) {
  struct nu_conn *c = s->dirty;

  s->dirty = NULL;
  while (c) {
    struct nu_conn *next = c->next_dirty;

    c->flags &= ~NU_CONN_DIRTY;
    if (c->fd >= 0)
      nu__conn_flush(s, c);
    if (c->fd >= 0) /* a splice without a pipe closes c */
      nu__conn_update_reading(s, c);
    c = next;
  }
}

static void nu__conn_eof(struct nu_server *s, struct nu_conn *c);

/* Takes c out of HTTP for JS (NU_OUT_RAW): what it held after the
 * upgrade request goes to JS as DATA, and its FIN, if in, as HANGUP.
 * Returns 0, or -ENOMEM with c closing. */
static int nu__conn_go_raw(struct nu_server *s, struct nu_conn *c) {
  struct nu_batch *b = s->w.batch;

  c->flags = (c->flags & ~(NU_CONN_UPGRADE_HELD | NU_CONN_TIMED_OUT)) |
             NU_CONN_RAW | NU_CONN_PARSE_DONE;
  if ((c->backlog_len > 0 &&
       nu_batch_put_data(b, c->slot, c->gen, c->backlog, c->backlog_len)) ||
      ((c->flags & NU_CONN_PEER_EOF) &&
       nu_batch_put_hangup(b, c->slot, c->gen))) {
    nu__conn_close(s, c);
    return -ENOMEM;
  }
  c->backlog_len = 0;
  return 0;
}

/* A raw chunk from JS answering the error it was handed (CLIENT_ERROR):
 * response upgrade_seq, after those owed before; SHUTDOWN ends it, and
 * the connection closes once it is sent. */
static void nu__conn_error_out(struct nu_server *s, struct nu_conn *c,
                               struct nu_out *o) {
  o->seq = c->upgrade_seq;
  o->flags = (o->flags & NU_OUT_SHUTDOWN) ? NU_OUT_END | NU_OUT_CLOSE : 0;
  nu_conn_enqueue(c, o);
  nu__mark_dirty(s, c);
}

/* A raw chunk from JS: the first takes c out of HTTP. Its bytes go after
 * the responses queued before, as part of the upgrade request's response,
 * which never ends. A raw chunk for a connection that held no upgrade is
 * a mistake of JS's, dropped. */
static void nu__conn_raw_out(struct nu_server *s, struct nu_conn *c,
                             struct nu_out *o) {
  if (!(c->flags & (NU_CONN_RAW | NU_CONN_UPGRADE_HELD)) ||
      (!(c->flags & NU_CONN_RAW) && nu__conn_go_raw(s, c) < 0)) {
    nu_out_free(o);
    return;
  }
  o->seq = c->upgrade_seq;
  o->flags &= ~(NU_OUT_END | NU_OUT_CLOSE | NU_OUT_CHUNKED);
  nu_conn_enqueue(c, o);
  nu__mark_dirty(s, c);
}

/* Nobody takes the upgrade c holds (NU_OUT_PARSE): what it held is parsed
 * as HTTP, and a FIN that came meanwhile is acted on now. */
static void nu__conn_continue(struct nu_server *s, struct nu_conn *c) {
  if (!(c->flags & NU_CONN_UPGRADE_HELD))
    return;
  nu_http_continue(c);
  if (s->stop_seen >= NU_STOP_DRAIN)
    c->flags |= NU_CONN_CLOSE_WHEN_IDLE; /* back in HTTP after a stop */
  if (c->backlog_len > 0)
    nu__conn_input(s, c, c->backlog, c->backlog_len);
  if (c->fd >= 0 && !(c->flags & NU_CONN_CLOSING) &&
      (c->flags & NU_CONN_PEER_EOF))
    nu__conn_eof(s, c); /* of the upgrade held next too, if one is */
  if (c->fd >= 0 && !(c->flags & NU_CONN_CLOSING))
    nu__mark_dirty(s, c);
}

/* Input of a connection in WebSocket mode: frames to records, and the
 * frames the ring thread answers with. Out of memory, c closes. */
static void nu__conn_ws_input(struct nu_server *s, struct nu_conn *c,
                              const char *data, uint32_t len) {
  c->ws->rx_ms = s->now_ms; /* a peer that talks is not idle */
  c->ws->pinged = 0;
  if (nu_wsconn_input(c, s->w.batch, data, len) < 0)
    nu__conn_close(s, c);
  else if (c->sendq.head)
    nu__mark_dirty(s, c);
}

/* JS accepted c's upgrade as a WebSocket (NU_OUT_WS_OPEN): the 101 goes
 * out first, then what c received since the upgrade request, the bytes JS
 * had in raw mode (the chunk's body) and those the ring thread held, is
 * parsed as frames. A FIN that came meanwhile is passed on. A chunk for a
 * connection in no state to take it is dropped. */
static void nu__conn_ws_open(struct nu_server *s, struct nu_conn *c,
                             struct nu_out *o) {
  const char *given = o->data + o->body_off;
  uint32_t given_len = o->body_len;

  if ((c->flags & NU_CONN_WS) ||
      !(c->flags & (NU_CONN_RAW | NU_CONN_UPGRADE_HELD))) {
    nu_out_free(o);
    return;
  }
  if (nu_wsconn_start(c, o->ws.max_message) < 0) {
    nu_out_free(o);
    nu__conn_close(s, c);
    return;
  }
  c->ws->opt = o->ws;
  c->ws->rx_ms = s->now_ms;
  if (o->ws.idle_s)
    nu__ws_tick_start(s);
  c->flags = (c->flags & ~(NU_CONN_UPGRADE_HELD | NU_CONN_TIMED_OUT)) |
             NU_CONN_RAW | NU_CONN_PARSE_DONE;
  o->seq = c->upgrade_seq;
  o->flags &= ~(NU_OUT_END | NU_OUT_CLOSE | NU_OUT_CHUNKED);
  /* The body was input, not output; and only the frames JS sends count in
   * what DRAIN reports sent (the WebSocket's bufferedAmount). */
  o->len = o->head_len;
  o->head_len = o->body_len = 0;
  nu_conn_enqueue(c, o); /* o's bytes stay until it is sent: given holds */
  nu__mark_dirty(s, c);
  if (given_len > 0)
    nu__conn_ws_input(s, c, given, given_len);
  if (c->backlog_len > 0 && !(c->flags & NU_CONN_CLOSING))
    nu__conn_ws_input(s, c, c->backlog, c->backlog_len);
  c->backlog_len = 0;
  if ((c->flags & (NU_CONN_PEER_EOF | NU_CONN_CLOSING)) == NU_CONN_PEER_EOF &&
      nu_batch_put_hangup(s->w.batch, c->slot, c->gen))
    nu__conn_close(s, c);
}

/* A frame published to subscriber c, unless c is too far behind
 * (struct nu_ws_options): then it goes without (uWS's skip), or closes
 * at once (closeOnBackpressureLimit): a close frame would wait behind
 * what c does not read. Out of memory, c closes too. */
static void nu__ws_deliver(struct nu_server *s, struct nu_conn *c,
                           struct nu_frame *frame) {
  const struct nu_ws_options *opt = &c->ws->opt;
  struct nu_out *o;

  if (c->flags & (NU_CONN_WS_CLOSE_SENT | NU_CONN_CLOSING))
    return;
  if (opt->max_backpressure && c->queued_bytes > opt->max_backpressure) {
    if (opt->close_on_limit)
      nu__conn_close(s, c);
    return;
  }
  o = nu_out_new_in(&s->ring_pool, c->slot, c->gen, c->upgrade_seq,
                    NU_OUT_RAW | NU_OUT_WS | NU_OUT_SHARED, 0, 0);
  if (o == NULL) {
    nu__conn_close(s, c);
    return;
  }
  o->frame = nu_frame_ref(frame);
  o->len = frame->len; /* not counted in what DRAIN reports: not JS's */
  nu_conn_enqueue(c, o);
  nu__mark_dirty(s, c);
}

/* Publishes the frame of chunk o to the ring's subscribers of its topic,
 * but publisher (NULL: nobody skipped). A subscriber closed here leaves
 * the topic at once (nu__conn_maybe_release()), freeing its membership
 * and, when it was the last, the topic: the walk reads each next link
 * before it acts. */
static void nu__ws_publish(struct nu_server *s, struct nu_conn *publisher,
                           struct nu_out *o) {
  struct nu_topic *tp = nu_topics_find(&s->topics, o->data, o->head_len);
  struct nu_sub *sub, *next;

  for (sub = tp ? tp->subs : NULL; sub; sub = next) {
    next = sub->next;
    if (sub->owner != publisher)
      nu__ws_deliver(s, sub->owner, o->frame);
  }
}

/* A NU_OUT_WS_TOPIC chunk, for connection c (NULL: none, or gone). Out
 * of memory for a subscription, c closes: JS believes it subscribed. */
static void nu__ws_topic(struct nu_server *s, struct nu_conn *c,
                         struct nu_out *o) {
  int ws = c != NULL && (c->flags & NU_CONN_WS);

  switch (o->seq) {
  case NU_WS_SUBSCRIBE:
    if (ws && nu_topics_subscribe(&s->topics, &c->ws->subs, c, o->data,
                                  o->head_len) == -ENOMEM)
      nu__conn_close(s, c);
    break;
  case NU_WS_UNSUBSCRIBE:
    if (ws)
      nu_topics_unsubscribe(&s->topics, &c->ws->subs, o->data, o->head_len);
    break;
  case NU_WS_PUBLISH:
    if (o->flags & NU_OUT_SHARED)
      nu__ws_publish(s, c, o);
    break;
  }
  nu_out_free(o);
}

/* Resets c (NU_OUT_RESET): closed with a zero linger, the socket sends an
 * RST and drops what it still holds. What is posted on it is cancelled:
 * the shutdown nu__conn_close() ends it with would send a FIN first. */
static void nu__conn_reset(struct nu_server *s, struct nu_conn *c) {
  static const struct linger now = {1, 0};

  if (c->flags & NU_CONN_CLOSING)
    return;
  (void)setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &now, sizeof(now));
  c->flags |= NU_CONN_CLOSING | NU_CONN_READ_DONE;
  if (c->inflight > 0)
    io_uring_prep_cancel_fd(nu__sqe(s, NU_OP_CANCEL, NULL), c->fd,
                            IORING_ASYNC_CANCEL_ALL);
  nu__conn_maybe_release(s, c);
}

/*
 * JS destroyed c (NU_OUT_ABORT; with NU_OUT_RESET, it resets c, whatever
 * c owes). A raw connection (a WebSocket's too), or one handed to
 * 'clientError', sends what JS wrote on it before first, as
 * a net.Socket's destroy() lets the kernel send what was written (ws ends
 * a refused handshake's answer, then destroys the socket on 'finish'; a
 * WebSocket terminated at once still sends its 101; Fastify's clientError
 * handler writes its 400, then destroys): o goes
 * after it as the chunk that closes c, and until then c lingers (its input
 * dropped, NU_LINGER_MS at most for a peer that does not read). So does an
 * HTTP connection whose every response JS began is queued whole (a 500
 * ended, then destroyed, as @hono/node-server answers a handler's error):
 * what is left shows complete, as node:http's written responses do, and
 * our FIN goes before any reset the client's unread input may cause. Any
 * other connection closes at once: a response cut short must show as one.
 */
static void nu__conn_abort(struct nu_server *s, struct nu_conn *c,
                           struct nu_out *o) {
  uint32_t socket_owned = c->flags & (NU_CONN_RAW | NU_CONN_CLIENT_ERROR);
  int whole = !socket_owned && (int32_t)(c->reply_seq - c->send_seq) <= 0;

  if (o->flags & NU_OUT_RESET) {
    nu_out_free(o);
    nu__conn_reset(s, c);
    return;
  }
  if (!(socket_owned || whole) || nu_timeout_tick_ms(&s->timeouts) == 0 ||
      (socket_owned && c->sendq.head == NULL && c->parked.head == NULL)) {
    nu_out_free(o);
    nu__conn_close(s, c);
    return;
  }
  if (whole) {
    o->seq = c->send_seq; /* after the last response queued */
    o->flags = NU_OUT_CLOSE;
  } else {
    o->seq = c->upgrade_seq;
    /* A client error's answer is response upgrade_seq, which ends here. */
    o->flags = (c->flags & NU_CONN_RAW) ? NU_OUT_CLOSE : NU_OUT_END | NU_OUT_CLOSE;
  }
  nu_conn_enqueue(c, o);
  nu__mark_dirty(s, c);
  c->flags |= NU_CONN_LINGER;
  c->since_ms = s->now_ms;
  if (!(c->flags & (NU_CONN_RECV_ARMED | NU_CONN_PEER_EOF)))
    nu__arm_recv(s, c);
}

/* Moves the chunks JS queued to their connections, oldest first. */
static void nu__take_outbox(struct nu_server *s) {
  struct nu_out *o = nu_outbox_take_all(&s->outbox);

  while (o) {
    struct nu_out *next = o->next;
    struct nu_conn *c = nu_conn_find(&s->conns, o->slot, o->gen);

    if (o->flags & NU_OUT_WS_TOPIC) {
      nu__ws_topic(s, c, o);
    } else if (c == NULL) {
      nu_out_free(o); /* its connection is gone */
    } else if (o->flags & NU_OUT_ABORT) {
      nu__conn_abort(s, c, o);
    } else if (o->flags & NU_OUT_NOTIFY) {
      c->flags |= NU_CONN_WANT_DRAIN;
      nu_out_free(o);
      nu__conn_maybe_drained(s, c);
    } else if (o->flags & NU_OUT_SOCKOPT) {
      (void)nu_conn_sockopt(c->fd, o->seq); /* the socket may be going */
      nu_out_free(o);
    } else if (o->flags & NU_OUT_PARSE) {
      nu_out_free(o);
      nu__conn_continue(s, c);
    } else if (o->flags & NU_OUT_WS_OPEN) {
      nu__conn_ws_open(s, c, o);
    } else if (o->flags & NU_OUT_WS) {
      if ((c->flags & NU_CONN_WS) && nu_wsconn_admit(c, o))
        nu__conn_raw_out(s, c, o);
      else
        nu_out_free(o); /* after our close frame, or before WebSocket mode */
    } else if ((o->flags & NU_OUT_RAW) && (c->flags & NU_CONN_CLIENT_ERROR)) {
      nu__conn_error_out(s, c, o);
    } else if (o->flags & NU_OUT_RAW) {
      nu__conn_raw_out(s, c, o);
    } else if (o->flags & (NU_OUT_PAUSE | NU_OUT_RESUME)) {
      if (o->flags & NU_OUT_PAUSE)
        c->flags |= NU_CONN_JS_PAUSED;
      else
        c->flags &= ~NU_CONN_JS_PAUSED;
      nu_out_free(o);
      nu__mark_dirty(s, c);
    } else {
      if ((int32_t)(o->seq + 1 - c->reply_seq) > 0)
        c->reply_seq = o->seq + 1; /* JS has begun that response */
      nu_conn_enqueue(c, o);
      nu__mark_dirty(s, c);
    }
    o = next;
  }
}

/* ---- completions ---- */

/* Once stopping and no accept is posted or due, the port is let go, so
 * that clients are refused and it can be bound again at once. */
static void nu__maybe_close_listener(struct nu_server *s) {
  if (s->stop_seen && !s->accept_armed && !s->accept_retry &&
      s->cfg.listen_fd >= 0) {
    close(s->cfg.listen_fd);
    s->cfg.listen_fd = -1;
  }
}

static void nu__on_accept(struct nu_server *s, const struct io_uring_cqe *cqe) {
  if (!(cqe->flags & IORING_CQE_F_MORE))
    s->accept_armed = 0;
  if (cqe->res >= 0) {
    if (s->stop_seen)
      close(cqe->res);
    else
      nu__conn_open(s, cqe->res);
  }
  nu__maybe_close_listener(s);
  /* Cancelled for a stop, or for load (nu__load_gate_accept()), which
   * posts it again, unless it was let go before this came. */
  if (s->accept_armed || s->stop_seen || s->accept_held)
    return;
  if (cqe->res >= 0 || cqe->res == -ECANCELED)
    nu__arm_accept(s);
  else
    nu__arm_accept_retry(s);
}

/* Answers c with an error status, after the responses it owes, and
 * closes it then; nothing more is read. The status answers the request
 * whose body failed, if any (see nu_http_parse()), else it is a response
 * of its own. */
static void nu__conn_refuse(struct nu_server *s, struct nu_conn *c,
                            int status) {
  uint32_t seq = nu_http_in_body(c) ? c->next_seq - 1 : c->next_seq++;
  struct nu_out *o = nu_http_error_response(&s->head_end, c, status, seq);

  c->flags |= NU_CONN_PARSE_DONE | NU_CONN_READ_DONE;
  if (o == NULL) {
    nu__conn_close(s, c);
    return;
  }
  nu_conn_enqueue(c, o);
  nu__mark_dirty(s, c);
}

/* Hands c's error (status, from nu_http_parse() with the len bytes at data
 * as input, or 408) to JS instead of answering it, when JS asked for that
 * (a 'clientError' listener): c reads and parses nothing more and waits
 * for JS's answer (nu__conn_error_out()) or close. Returns 0 when the ring
 * thread answers it itself after all. */
static int nu__conn_client_error(struct nu_server *s, struct nu_conn *c,
                                 int status, const char *data, uint32_t len) {
  struct nu_client_error e;
  int in_body = nu_http_in_body(c);

  if (!atomic_load_explicit(&s->client_errors, memory_order_relaxed) ||
      nu_http_client_error(c, &s->limits, status, data, len, &e))
    return 0;
  /* The response number, as nu__conn_refuse() takes it. */
  e.seq = in_body ? c->next_seq - 1 : c->next_seq;
  if (nu_batch_put_client_error(s->w.batch, c->slot, c->gen, &e))
    return 0; /* out of memory: answered here */
  if (!in_body)
    c->next_seq++;
  c->upgrade_seq = e.seq;
  c->flags |= NU_CONN_PARSE_DONE | NU_CONN_READ_DONE | NU_CONN_CLIENT_ERROR;
  nu__mark_dirty(s, c); /* its recv is cancelled */
  return 1;
}

/* Feeds received bytes to the parser and answers what it cannot pass on. */
static void nu__conn_input(struct nu_server *s, struct nu_conn *c,
                           const char *data, uint32_t len) {
  int status;

  if (!(c->flags & NU_CONN_IN_MESSAGE)) {
    c->since_ms = s->now_ms; /* a request starts: its timeouts run */
    /* Past the load bounds no request starts: the input waits in the
     * backlog (nu_http_parse() keeps it) until c is let go. */
    if (!(c->flags & (NU_CONN_RAW | NU_CONN_PARSE_DONE)) &&
        nu_load_full(&s->load, c))
      c->flags |= NU_CONN_PARSE_PAUSED;
  }
  status = nu_http_parse(c, s->w.batch, &s->limits, data, len);
  if (c->files) {
    nu__conn_run_files(s, c); /* a mount answers */
    if (c->flags & NU_CONN_CLOSING)
      return; /* out of memory */
  }
  if (c->sendq.head)
    nu__mark_dirty(s, c); /* a route answered */
  if (status == 0) {
    /* The body of an answered request may have been all that kept a
     * closing connection open. */
    nu__conn_close_if_idle(s, c);
  } else if (status == NU_HTTP_ABORT) {
    nu__conn_close(s, c);
  } else if (!nu__conn_client_error(s, c, status, data, len)) {
    nu__conn_refuse(s, c, status);
  }
}

/*
 * The peer will send nothing more. In raw mode JS hears it (HANGUP) and
 * decides; the connection closes once our side is shut too. Holding an
 * upgrade, c waits for JS's decision (nu__conn_go_raw(), nu__conn_ws_open()
 * or nu__conn_continue() pass the FIN on, after what c held). With nothing
 * held, JS hears it at once too (HELD_HANGUP): the socket of 'upgrade'
 * ends then, as a net.Socket does on its FIN, whether or not it is read
 * (ws checks socket.readable before it answers). Otherwise, as node:http: a
 * client that sends its FIN has gone away, even one that sent whole
 * requests first. JS hears it (HANGUP) and aborts the responses it has
 * not ended, and c closes once those it did end are out.
 */
static void nu__conn_eof(struct nu_server *s, struct nu_conn *c) {
  c->flags |= NU_CONN_READ_DONE | NU_CONN_PEER_EOF;
  if (c->flags & NU_CONN_RAW) {
    if (nu_batch_put_hangup(s->w.batch, c->slot, c->gen) ||
        (c->flags & NU_CONN_WR_SHUT))
      nu__conn_close(s, c);
    return;
  }
  if (c->flags & NU_CONN_UPGRADE_HELD) {
    if (c->backlog_len == 0 &&
        nu_batch_put_held_hangup(s->w.batch, c->slot, c->gen))
      nu__conn_close(s, c);
    return;
  }
  c->flags |= NU_CONN_CLOSE_WHEN_IDLE;
  /* A body cut short aborts its request; one that failed to parse has its
   * error response queued, which closes the connection once sent. */
  if (nu_http_in_body(c) && !(c->flags & NU_CONN_PARSE_DONE)) {
    nu__conn_close(s, c);
    return;
  }
  if (!nu_conn_is_idle(c) && nu_batch_put_hangup(s->w.batch, c->slot, c->gen))
    nu__conn_close(s, c); /* out of memory: JS learns it from CLOSE */
  else
    nu__conn_close_if_idle(s, c); /* a head cut short is dropped */
}

/* Bytes a raw connection received: JS's. Out of memory, c closes. */
static void nu__conn_raw_input(struct nu_server *s, struct nu_conn *c,
                               const char *data, uint32_t len) {
  if (nu_batch_put_data(s->w.batch, c->slot, c->gen, data, len))
    nu__conn_close(s, c);
}

/* What c received, by its mode. Bytes that arrive while a pause is being
 * posted are still parsed: dropping them would lose requests. Bytes that
 * come to a connection being closed (its shutdown ends the recv, which may
 * deliver what it had first) are dropped: a request started there could
 * never be answered. */
static void nu__conn_received(struct nu_server *s, struct nu_conn *c,
                              const char *data, uint32_t len) {
  if (c->flags & (NU_CONN_CLOSING | NU_CONN_LINGER))
    return; /* a lingering connection's input is dropped */
  if (c->flags & NU_CONN_WS)
    nu__conn_ws_input(s, c, data, len);
  else if (c->flags & NU_CONN_RAW)
    nu__conn_raw_input(s, c, data, len);
  else if (!(c->flags & NU_CONN_PARSE_DONE))
    nu__conn_input(s, c, data, len);
}

static void nu__on_recv(struct nu_server *s, const struct io_uring_cqe *cqe) {
  struct nu_conn *c = nu_conn_at(&s->conns, nu__ud_slot(cqe->user_data));
  int res = cqe->res;

  if (!(cqe->flags & IORING_CQE_F_MORE)) {
    c->flags &= ~(NU_CONN_RECV_ARMED | NU_CONN_RECV_CANCELING);
    c->inflight--;
  }
  if (res > 0) {
    c->io_ms = s->now_ms; /* traffic: the socket timeout starts again */
    c->flags &= ~NU_CONN_TIMED_OUT;
    unsigned bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;

    nu__conn_received(s, c, nu_ring_buf(&s->w.ring, bid), (uint32_t)res);
    nu_ring_buf_recycle(&s->w.ring, bid);
    s->recv_since_tick = 1;
    s->bufs_release_due = s->bufs_released = 0;
    if (c->fd >= 0) {
      nu__conn_account(s, c);
      if (s->load.full)
        nu__conn_hold(s, c); /* its recv is cancelled below */
    }
  }
  if (c->flags & NU_CONN_LINGER) {
    nu__conn_linger_read(s, c, res);
  } else if (res == 0) {
    if (!(c->flags & NU_CONN_CLOSING))
      nu__conn_eof(s, c);
  } else if (res < 0 && res != -ENOBUFS && res != -ECANCELED) {
    nu__conn_close(s, c); /* reset */
  }
  /* -ENOBUFS: the buffers are back in the ring by now; read on.
   * -ECANCELED: our own pause, or our own close. */
  if (c->fd < 0)
    return; /* a close above released it */
  if (!(c->flags & NU_CONN_CLOSING))
    nu__conn_update_reading(s, c);
  nu__conn_maybe_release(s, c);
}

/* n bytes of c's queue went out: retires them and goes on. */
static void nu__conn_wrote(struct nu_server *s, struct nu_conn *c, uint32_t n) {
  if (n > 0) {
    c->io_ms = s->now_ms;
    c->flags &= ~NU_CONN_TIMED_OUT;
  }
  if (nu__conn_sent(c, n)) {
    nu__conn_close_after_response(s, c); /* the response asked for it */
  } else {
    nu__conn_maybe_drained(s, c);
    if (c->files)
      nu__conn_run_files(s, c); /* a file's next read may wait for room */
    if (c->sendq.head) {
      nu__conn_flush(s, c);
    } else {
      if (!(c->flags & NU_CONN_IN_MESSAGE))
        c->since_ms = s->now_ms; /* all sent: the keep-alive wait starts */
      nu__conn_close_if_idle(s, c);
    }
    if (c->fd >= 0 && !(c->flags & NU_CONN_CLOSING))
      nu__conn_update_reading(s, c); /* a paused client may be read again */
  }
}

/* Starts each completion of the sending side: c's send (or read, or
 * poll) is no longer posted. Returns c, or NULL when c is closing: then
 * it is released once its last completion is in. */
static struct nu_conn *nu__conn_send_done(struct nu_server *s,
                                          const struct io_uring_cqe *cqe) {
  struct nu_conn *c = nu_conn_at(&s->conns, nu__ud_slot(cqe->user_data));

  c->flags &= ~NU_CONN_SENDING;
  c->inflight--;
  if (!(c->flags & NU_CONN_CLOSING))
    return c;
  nu__conn_maybe_release(s, c);
  return NULL;
}

static void nu__on_send(struct nu_server *s, const struct io_uring_cqe *cqe) {
  struct nu_conn *c = nu_conn_at(&s->conns, nu__ud_slot(cqe->user_data));

  nu_conn_sendmsg_put(&s->conns, c); /* the kernel is done with it */
  c = nu__conn_send_done(s, cqe);

  if (c == NULL)
    return;
  if (cqe->res < 0)
    nu__conn_close(s, c); /* EPIPE, ECONNRESET */
  else
    nu__conn_wrote(s, c, (uint32_t)cqe->res);
}

/* The socket half of a splice came back cancelled: the file half it was
 * linked to came up short, or failed. Decides what follows, once both
 * halves are back. */
static void nu__conn_splice_cancelled(struct nu_server *s, struct nu_conn *c) {
  if (c->pipe.bytes > 0 && !(c->flags & NU_CONN_SPLICE_FAILED)) {
    nu__conn_flush(s, c); /* the file half came up short: send what it got */
  } else if (c->pipe.reads && c->pipe.bytes == 0) {
    nu_conn_pipe_close(c); /* the file cannot be spliced: it is read */
    nu__conn_flush(s, c);
  } else {
    nu__conn_close(s, c); /* the file failed */
  }
}

/* The file-to-pipe half of a splice; the pipe-to-socket half follows,
 * though its completion may come first. */
static void nu__on_splice_in(struct nu_server *s,
                             const struct io_uring_cqe *cqe) {
  struct nu_conn *c = nu_conn_at(&s->conns, nu__ud_slot(cqe->user_data));

  c->inflight--;
  c->pipe.in_flight = 0;
  if (cqe->res > 0)
    c->pipe.bytes += (uint32_t)cqe->res;
  else if (cqe->res == -EINVAL && c->sent_off == 0 && c->pipe.bytes == 0)
    c->pipe.reads = 1; /* no splice_read here: the file is read */
  else if (cqe->res != -ECANCELED)
    c->flags |= NU_CONN_SPLICE_FAILED; /* 0: the file shrank */
  if (c->pipe.out_cancelled) {
    c->pipe.out_cancelled = 0;
    c->flags &= ~NU_CONN_SENDING;
    if (!(c->flags & NU_CONN_CLOSING)) {
      nu__conn_splice_cancelled(s, c);
      return;
    }
  }
  nu__conn_maybe_release(s, c);
}

/* The socket half of a file's body, a splice from the pipe or a send from
 * the read buffer, completed with res. Returns 1 when it took res: bytes
 * sent, or a full socket to wait for until the client reads; 0 leaves the
 * other results to the caller. */
static int nu__conn_body_sent(struct nu_server *s, struct nu_conn *c, int res) {
  if (res == -EAGAIN) {
    io_uring_prep_poll_add(nu__sqe(s, NU_OP_WRITABLE, c), c->fd, POLLOUT);
    c->flags |= NU_CONN_SENDING;
    c->inflight++;
    return 1;
  }
  if (res <= 0 || (uint32_t)res > c->pipe.bytes)
    return 0;
  c->pipe.bytes -= (uint32_t)res;
  c->pipe.buf_off += (uint32_t)res;
  nu__conn_wrote(s, c, (uint32_t)res);
  if (c->fd >= 0 && c->pipe.bytes == 0 &&
      !(c->sendq.head && (c->sendq.head->flags & NU_OUT_SPLICE)))
    nu_conn_pipe_close(c); /* no more file to send for now */
  return 1;
}

static void nu__on_splice_out(struct nu_server *s,
                              const struct io_uring_cqe *cqe) {
  struct nu_conn *c = nu__conn_send_done(s, cqe);
  int res = cqe->res;

  if (c == NULL || nu__conn_body_sent(s, c, res))
    return; /* closing; or sent, or waiting for room */
  if (res == -ECANCELED && c->pipe.in_flight) {
    /* Decided when the file half is back (nu__on_splice_in()); nothing
     * else is sent meanwhile. */
    c->pipe.out_cancelled = 1;
    c->flags |= NU_CONN_SENDING;
  } else if (res == -ECANCELED) {
    nu__conn_splice_cancelled(s, c);
  } else {
    nu__conn_close(s, c); /* EPIPE, ECONNRESET */
  }
}

/* A piece of a file is read into c's buffer (nu__conn_read_file()). */
static void nu__on_file_read(struct nu_server *s,
                             const struct io_uring_cqe *cqe) {
  struct nu_conn *c = nu__conn_send_done(s, cqe);

  if (c == NULL)
    return;
  if (cqe->res <= 0) {
    nu__conn_close(s, c); /* 0: the file shrank; or it failed */
    return;
  }
  c->pipe.bytes = (uint32_t)cqe->res;
  c->pipe.buf_off = 0;
  nu__conn_flush(s, c);
}

/* Some of the read buffer's bytes are sent. */
static void nu__on_file_send(struct nu_server *s,
                             const struct io_uring_cqe *cqe) {
  struct nu_conn *c = nu__conn_send_done(s, cqe);

  if (c != NULL && !nu__conn_body_sent(s, c, cqe->res))
    nu__conn_close(s, c); /* EPIPE, ECONNRESET */
}

static void nu__on_writable(struct nu_server *s,
                            const struct io_uring_cqe *cqe) {
  struct nu_conn *c = nu__conn_send_done(s, cqe);

  if (c != NULL)
    nu__conn_flush(s, c); /* an error shows in the send */
}

static void nu__on_file(struct nu_server *s, const struct io_uring_cqe *cqe) {
  struct nu_conn *c = nu_conn_at(&s->conns, nu__ud_slot(cqe->user_data));

  c->inflight--;
  nu_file_complete(c->files, cqe->res);
  if (c->flags & NU_CONN_CLOSING) {
    nu__conn_maybe_release(s, c);
    return;
  }
  nu__conn_run_files(s, c);
}

/* The watch on a connection not read fired: its peer went away, a reset
 * (or both ways shut) closes it, a FIN is an end of input. Once it reads
 * again, or after a cancel, there is nothing to do. */
static void nu__on_watch(struct nu_server *s, const struct io_uring_cqe *cqe) {
  struct nu_conn *c = nu_conn_at(&s->conns, nu__ud_slot(cqe->user_data));
  int res = cqe->res;

  c->flags &= ~NU_CONN_WATCHING;
  c->inflight--;
  if (c->flags & NU_CONN_CLOSING) {
    nu__conn_maybe_release(s, c);
    return;
  }
  if (res > 0 && !(c->flags & (NU_CONN_RECV_ARMED | NU_CONN_READ_DONE))) {
    if (res & (POLLERR | POLLHUP))
      nu__conn_close(s, c);
    else if (res & POLLRDHUP)
      nu__conn_eof(s, c);
  }
  if (c->fd >= 0 && !(c->flags & NU_CONN_CLOSING))
    nu__conn_update_reading(s, c);
}

/* A WebSocket quiet for half its idle timeout is pinged, when asked: a
 * live peer answers, which is input. One quiet for all of it (and
 * pinged) closes without a close frame, as uWS's does (the peer sees
 * 1006). Returns 1 when it acted. */
static int nu__ws_expire(struct nu_server *s, struct nu_conn *c) {
  struct nu_wsconn *ws = c->ws;
  uint64_t idle_ms = (uint64_t)ws->opt.idle_s * 1000;
  uint64_t since = ws->rx_ms, quiet;

  if (idle_ms == 0 || (c->flags & NU_CONN_CLOSING))
    return 0;
  if (c->flags & (NU_CONN_LOAD_HELD | NU_CONN_JS_PAUSED)) {
    /* The server does not read it (held, or ws.pause()): not its silence. */
    ws->rx_ms = s->now_ms;
    return 0;
  }
  /* Not read while it owes too much (nu_conn_wants_input()): its pongs
   * wait unread, but a peer that takes what is sent is alive. */
  if (!nu_conn_wants_input(c) && c->io_ms > since)
    since = c->io_ms;
  quiet = s->now_ms - since;
  /* With pings, not before one went: a tick later than half the timeout
   * (a busy ring) pings late rather than not at all. */
  if (quiet >= idle_ms && (ws->pinged || !ws->opt.send_pings)) {
    nu__conn_close(s, c);
    return 1;
  }
  if (!ws->opt.send_pings || ws->pinged || quiet < idle_ms / 2)
    return 0;
  ws->pinged = 1;
  if (nu_wsconn_ping(c) < 0)
    nu__conn_close(s, c);
  else
    nu__mark_dirty(s, c);
  return 1;
}

/* Acts on what c has overstayed, if anything. Returns 1 when it did. */
static int nu__conn_expire(struct nu_server *s, struct nu_conn *c) {
  if (c->fd >= 0 && c->ws && !(c->flags & NU_CONN_LINGER))
    return nu__ws_expire(s, c);
  if (c->fd < 0 || (c->flags & NU_CONN_LOAD_HELD) ||
      (c->flags & (NU_CONN_RAW | NU_CONN_LINGER)) == NU_CONN_RAW)
    return 0; /* a raw connection's timeouts are JS's, as node:http's (but
                 one JS destroyed lingers, nu__conn_abort()); a held one
                 waits for the server, not the other way round */
  if (c->flags & NU_CONN_LINGER) {
    if (s->now_ms - c->since_ms < NU_LINGER_MS)
      return 0;
    nu__conn_close(s, c);
    return 1;
  }
  switch (nu_timeout_check(&s->timeouts, c, s->now_ms)) {
  case NU_EXPIRY_NONE:
    return 0;
  case NU_EXPIRY_HEADERS:
    if (nu__conn_client_error(s, c, 408, NULL, 0))
      break; /* 'clientError' answers it */
    c->flags |= NU_CONN_EXPIRED;
    nu__conn_refuse(s, c, 408);
    break;
  case NU_EXPIRY_REQUEST:
  case NU_EXPIRY_KEEP_ALIVE:
    nu__conn_close(s, c);
    break;
  case NU_EXPIRY_SOCKET:
    /* JS emits 'timeout' or, with nobody listening, destroys it. */
    if (nu_batch_put_timeout(s->w.batch, c->slot, c->gen) == 0)
      c->flags |= NU_CONN_TIMED_OUT;
    break;
  }
  return 1;
}

/*
 * Goes on with the tick's pass over the connections (see timeout.h),
 * acting on at most NU_EXPIRE_PER_TURN of them in this turn. Connections
 * that came together (a slowloris opens thousands at once) expire
 * together; answering and closing them all in one turn kept every other
 * client waiting for it, so the pass is spread over turns, each of which
 * serves the other connections' completions too. The next tick is armed
 * once the pass is over.
 */
static void nu__expire_some(struct nu_server *s) {
  unsigned acted = 0;

  while (s->expire_at < s->conns.next_new_slot && acted < NU_EXPIRE_PER_TURN)
    acted += nu__conn_expire(s, nu_conn_at(&s->conns, s->expire_at++));
  if (s->expire_at < s->conns.next_new_slot)
    return;
  s->expiring = 0;
  nu__arm_tick(s);
}

static void nu__on_tick(struct nu_server *s) {
  if (!s->recv_since_tick && !s->bufs_released)
    s->bufs_release_due = 1; /* a quiet tick: see nu__release_bufs() */
  s->recv_since_tick = 0;
  s->expiring = 1;
  s->expire_at = 0;
  nu__expire_some(s);
}

static void nu__dispatch(void *arg, const struct io_uring_cqe *cqe) {
  struct nu_server *s = arg;

  switch (nu__ud_op(cqe->user_data)) {
  case NU_OP_ACCEPT:
    nu__on_accept(s, cqe);
    break;
  case NU_OP_ACCEPT_RETRY:
    s->accept_retry = 0;
    if (!s->stop_seen && !s->accept_armed && !s->accept_held)
      nu__arm_accept(s);
    nu__maybe_close_listener(s);
    break;
  case NU_OP_RECV:
    nu__on_recv(s, cqe);
    break;
  case NU_OP_SEND:
    nu__on_send(s, cqe);
    break;
  case NU_OP_WAKE:
    nu_worker_woken(&s->w, cqe->res != -ECANCELED);
    break;
  case NU_OP_TICK:
    nu__on_tick(s);
    break;
  case NU_OP_FILE:
    nu__on_file(s, cqe);
    break;
  case NU_OP_SPLICE_IN:
    nu__on_splice_in(s, cqe);
    break;
  case NU_OP_SPLICE_OUT:
    nu__on_splice_out(s, cqe);
    break;
  case NU_OP_FILE_READ:
    nu__on_file_read(s, cqe);
    break;
  case NU_OP_FILE_SEND:
    nu__on_file_send(s, cqe);
    break;
  case NU_OP_WRITABLE:
    nu__on_writable(s, cqe);
    break;
  case NU_OP_WATCH:
    nu__on_watch(s, cqe);
    break;
  case NU_OP_CANCEL:
    break;
  }
}

/* ---- the loop ---- */

/* What nu__close_connections() closes: the idle HTTP connections
 * (closeIdleConnections(), a stop; a draining stop closes the others once
 * idle), every HTTP connection (closeAllConnections()), or every
 * connection (a forced stop). */
enum nu__close_scope {
  NU__CLOSE_IDLE_NOW, /* the idle ones, the others left as they are */
  NU__CLOSE_ENDED,    /* and those answered, once sent (but the spared) */
  NU__CLOSE_IDLE,     /* the idle ones, the others once they are */
  NU__CLOSE_HTTP,     /* all but those that left HTTP */
  NU__CLOSE_EVERY
};

/* What a stop of this level (enum nu_stop) closes. */
static enum nu__close_scope nu__stop_scope(int level) {
  if (level == NU_STOP_FORCE)
    return NU__CLOSE_EVERY;
  return level == NU_STOP_DRAIN ? NU__CLOSE_IDLE : NU__CLOSE_IDLE_NOW;
}

/* Closes the connections of scope. One that left HTTP (upgraded, or
 * holding an upgrade request for JS) is left open by all but a forced
 * stop, as node:http's close() and closeAllConnections() leave upgraded
 * sockets alone: it is the 'upgrade' listener's now, and the server's
 * 'close' waits for it to end. */
static void nu__close_connections(struct nu_server *s,
                                  enum nu__close_scope scope, uint64_t spared) {
  for (uint32_t i = 0; i < s->conns.next_new_slot; i++) {
    struct nu_conn *c = nu_conn_at(&s->conns, i);

    if (c->fd < 0 || (c->flags & NU_CONN_CLOSING))
      continue;
    if (scope != NU__CLOSE_EVERY &&
        (c->flags & (NU_CONN_RAW | NU_CONN_UPGRADE_HELD)))
      continue;
    if (scope >= NU__CLOSE_IDLE ||
        (scope == NU__CLOSE_ENDED && nu_conn_is_answered(c) &&
         ((uint64_t)c->slot << 32 | c->gen) != spared))
      c->flags |= NU_CONN_CLOSE_WHEN_IDLE;
    if (scope >= NU__CLOSE_HTTP || nu_conn_is_idle(c) ||
        (c->flags & NU_CONN_LINGER))
      nu__conn_close(s, c);
  }
}

static int nu__requests_pending(struct nu_server *s) {
  return atomic_load(&s->stop) != s->stop_seen ||
         atomic_load(&s->close_all) != s->close_all_seen ||
         atomic_load(&s->close_idle) != s->close_idle_seen;
}

/* Acts on what JS asked since the last turn: close every connection, or
 * the idle ones, or stop (stop accepting, close what is idle, or
 * everything when forced). */
static void nu__check_requests(struct nu_server *s) {
  unsigned close_all = atomic_load(&s->close_all);
  unsigned close_idle = atomic_load(&s->close_idle);
  int level = atomic_load(&s->stop);

  if (close_all != s->close_all_seen) {
    s->close_all_seen = close_all;
    nu__close_connections(s, NU__CLOSE_HTTP, UINT64_MAX);
  }
  if (close_idle != s->close_idle_seen) {
    s->close_idle_seen = close_idle;
    /* Taken again: JS hands over what it sent before asking ahead of the
     * request, maybe after this turn's first take (nu__take_work()). */
    nu__take_outbox(s);
    nu__close_connections(
        s, NU__CLOSE_ENDED,
        atomic_load_explicit(&s->close_idle_spared, memory_order_relaxed));
  }
  if (level == s->stop_seen)
    return;
  s->stop_seen = level;
  if (s->accept_armed)
    io_uring_prep_cancel64(nu__sqe(s, NU_OP_CANCEL, NULL),
                           nu__ud(NU_OP_ACCEPT, NULL), 0);
  nu__close_connections(s, nu__stop_scope(level), UINT64_MAX);
}

/* Lets held connections go, oldest first, while the load stays under its
 * bounds; each is read and parsed again, which may bring the load back
 * over them. The time it was held does not count against its timeouts. */
static void nu__load_release(struct nu_server *s) {
  struct nu_conn *c;

  while (!s->load.full && (c = s->held_head) != NULL) {
    nu__conn_unhold(s, c);
    c->since_ms = s->now_ms;
    nu__conn_update_reading(s, c);
  }
}

/* Past max_held held connections, accepting stops too: each accepted
 * connection would only be held, and hold memory. It starts again once
 * the load is back under its bounds. */
static void nu__load_gate_accept(struct nu_server *s) {
  const struct nu_load *l = &s->load;

  if (!s->accept_held && l->full && l->max_held && s->nheld >= l->max_held &&
      !s->stop_seen) {
    s->accept_held = 1;
    if (s->accept_armed)
      io_uring_prep_cancel64(nu__sqe(s, NU_OP_CANCEL, NULL),
                             nu__ud(NU_OP_ACCEPT, NULL), 0);
  } else if (s->accept_held && !l->full) {
    s->accept_held = 0;
    if (!s->accept_armed && !s->accept_retry && !s->stop_seen)
      nu__arm_accept(s);
  }
}

/* Whether n is back under three quarters of bound max (0: no bound). */
static int nu__load_low(uint64_t n, uint64_t max) {
  return max == 0 || n * 4 < max * 3;
}

/* Once a turn: takes in the bytes JS gave back, decides whether the load
 * is over its bounds (or back under three quarters of them), lets held
 * connections go or stops accepting, and publishes the counts. */
static void nu__load_update(struct nu_server *s) {
  struct nu_load *l = &s->load;
  long long bytes = atomic_load(&s->js_bytes);

  l->js_bytes = bytes > 0 ? (uint64_t)bytes : 0;
  if ((l->max_requests && l->owed >= l->max_requests) ||
      (l->max_bytes && l->js_bytes >= l->max_bytes))
    l->full = 1;
  else if (l->full && nu__load_low(l->owed, l->max_requests) &&
           nu__load_low(l->js_bytes, l->max_bytes))
    l->full = 0;
  nu__load_release(s);
  nu__load_gate_accept(s);
  atomic_store_explicit(&s->load_waiting, l->full, memory_order_relaxed);
  atomic_store_explicit(&s->pub_owed, l->owed, memory_order_relaxed);
  atomic_store_explicit(&s->pub_held, s->nheld, memory_order_relaxed);
  atomic_store_explicit(&s->pub_unsent, l->unsent, memory_order_relaxed);
  atomic_store_explicit(&s->pub_state,
                        (unsigned)l->full | (unsigned)s->accept_held << 1,
                        memory_order_relaxed);
}

/* Tells JS which lent bodies (NU_OUT_LENT) the ring thread is done with:
 * those of the chunks freed since the last turn, sent or dropped. Out of
 * memory, the rest wait for the next turn. */
static void nu__report_lent(struct nu_server *s) {
  struct nu_out *o = nu_out_pool_take_lent(&s->out_pool);

  while (o != NULL) {
    struct nu_out *next = o->next;

    if (nu_batch_put_released(s->w.batch, o->slot, o->gen, o->lent.id) == 0)
      o->flags &= ~NU_OUT_LENT;
    nu_out_free(o); /* to the pool, or back to the lent list */
    o = next;
  }
}

/* Hands JS the turn's batch, counting its bytes in until JS gives it
 * back (nu_server_batch_done()). Returns whether there was one. */
static int nu__deliver(struct nu_server *s) {
  struct nu_batch *b = s->w.batch;
  uint64_t size;

  nu__report_lent(s);
  size = nu_batch_size(b);
  /* Counted in first: inline, JS gives it back before deliver returns. */
  atomic_fetch_add(&s->js_bytes, (long long)size);
  nu_worker_deliver(&s->w);
  if (s->w.batch == b)
    atomic_fetch_sub(&s->js_bytes, (long long)size);
  return s->w.batch != b;
}

/* JS has queued chunks or asked for something, or a timeout pass is
 * under way (nu_worker_has_work_fn). */
static int nu__has_work(void *arg) {
  struct nu_server *s = arg;

  return !nu_outbox_is_empty(&s->outbox) || nu__requests_pending(s) ||
         s->expiring;
}

/* What a turn does after its wait: the clock, for timeouts and Date. */
static void nu__woke(struct nu_server *s) {
  s->now_ms = nu_now_ms();
  if (s->routes.n || s->mounts.n)
    nu_date_tick(&s->date);
}

/* Submits, then blocks for a completion unless JS has queued work. */
static void nu__wait(struct nu_server *s) {
  nu_worker_wait(&s->w, nu__has_work, s);
  nu__woke(s);
}

static int nu__done(const struct nu_server *s) {
  return s->stop_seen && !s->accept_armed && !s->accept_retry &&
         s->conns.nopen == 0;
}

int nu__loop_setup(void *arg, const char **op) {
  struct nu_server *s = arg;
  uint32_t sq = s->cfg.sq_entries;
  int ret = s->w.inline_mode ? nu_ring_init_polled(&s->w.ring, sq, sq * 4)
                             : nu_ring_init(&s->w.ring, sq, sq * 4, 0, 0);

  if (ret < 0) {
    *op = "io_uring_setup";
    return ret;
  }
  ret = nu_ring_bufs_init(&s->w.ring, NU_RECV_BUFS, NU_RECV_BUF_SIZE);
  if (ret < 0) {
    *op = "io_uring_register";
    io_uring_queue_exit(&s->w.ring.uring);
    return ret;
  }
  ret = nu_worker_ready(&s->w, nu__ud(NU_OP_WAKE, NULL), op);
  if (ret < 0)
    return ret;
  nu_http_settings_init(&s->settings);
#ifdef NU_TEST_HOOKS
  s->test_no_splice = getenv("NU_TEST_NO_SPLICE") != NULL;
#endif
  nu_date_tick(&s->date);
  s->now_ms = nu_now_ms();
  nu__arm_accept(s);
  if (nu_timeout_tick_ms(&s->timeouts)) {
    nu__tick_every(s, nu_timeout_tick_ms(&s->timeouts));
    nu__arm_tick(s);
  }
  return 0;
}

/* After a tick with no input, once the CQ is drained: the recv buffers'
 * pages go back to the system. A burst of input cycles through all of
 * them, and an idle server would keep them all resident (4 MiB). */
static void nu__release_bufs(struct nu_server *s) {
  if (s->bufs_release_due && nu_ring_bufs_release(&s->w.ring)) {
    s->bufs_release_due = 0;
    s->bufs_released = 1;
  }
}

/* Timeouts JS set again (nu_server_set_timeouts()), for every connection
 * from now on, and the Keep-Alive line they make. One tick runs whatever
 * they are: a new period starts at its next arming; timeouts that all go
 * off leave it running, as the WebSocket one (nu__ws_tick_start()). */
static void nu__take_timeouts(struct nu_server *s) {
  int ticking = s->ws_tick || nu_timeout_tick_ms(&s->timeouts) != 0;
  uint32_t tick;

  if (!nu_timeouts_take(&s->timeouts_box, &s->timeouts))
    return;
  nu_head_end_init(&s->head_end, &s->date, s->timeouts.keep_alive_ms);
  tick = nu_timeout_tick_ms(&s->timeouts);
  s->ws_tick = tick == 0 && ticking;
  if (tick == 0)
    return;
  nu__tick_every(s, tick);
  if (!ticking)
    nu__arm_tick(s);
}

/* A turn's first half: what JS queued or asked for, and the sends due. */
static void nu__take_work(struct nu_server *s) {
  nu__take_timeouts(s);
  nu__take_outbox(s);
  nu__check_requests(s);
  nu__flush_dirty(s);
}

/* A turn's second half, once the completions are in: handles them all and
 * collects the batch. */
static void nu__handle_completions(struct nu_server *s) {
  nu_worker_drain(&s->w, nu__dispatch, s);
  nu__release_bufs(s);
  if (s->expiring)
    nu__expire_some(s);
  nu__flush_dirty(s);
  nu__load_update(s);
}

/* The ring is done with: everything closes, and JS gets STOPPED. */
static void nu__loop_finish(struct nu_server *s) {
  s->finished = 1;
  if (s->cfg.listen_fd >= 0)
    close(s->cfg.listen_fd);
  nu_conn_table_destroy(&s->conns);
  nu_topics_destroy(&s->topics);
  nu_ring_exit(&s->w.ring);
  nu__report_lent(s);
  /* Last, so that JS, which joins this thread on STOPPED before its
   * 'close', waits for no more than the release of the function. */
  (void)nu_batch_put_stopped(s->w.batch);
  nu_worker_deliver_last(&s->w);
  nu_worker_exited(&s->w);
}

void nu__loop_run(void *arg) {
  struct nu_server *s = arg;

  while (!nu__done(s)) {
    nu__take_work(s);
    nu__wait(s);
    nu__handle_completions(s);
    nu__deliver(s);
  }
  nu__loop_finish(s);
}

/*
 * Inline mode: the JS thread's turn, when the eventfd is readable. It
 * never blocks: it submits, takes the completions in (under DEFER_TASKRUN
 * the enter runs the kernel's side of them), hands JS their batch, whose
 * handlers run before deliver returns, and submits what they wrote. Then
 * the event loop goes on, and polls the eventfd with its other fds: one
 * batch a turn, as libuv reads a socket once per poll. Going round again
 * at once was slower (hello: 8 rounds, 170k req/s against 184k), since a
 * client given the time sends more for the next batch. Work the kernel
 * still holds, records collected after the batch went, or a batch given
 * back with the load over its bounds (held connections may go, as
 * nu_server_batch_done() wakes a ring thread for) signal the eventfd for
 * the next turn.
 */
static int nu__batch_holds_any(const struct nu_server *s) {
  return s->w.batch->nwords != 0 || s->w.batch->ops != NULL;
}

void nu__loop_turn(struct nu_server *s) {
  int delivered;

  if (s->finished)
    return;
  nu_worker_clear(&s->w);
  s->in_turn = 1;
  nu__take_work(s);
  io_uring_submit_and_get_events(&s->w.ring.uring);
  nu__woke(s);
  nu__handle_completions(s);
  delivered = nu__deliver(s);
  /* What the handlers wrote, and the sends the completions called for. */
  nu__take_work(s);
  io_uring_submit(&s->w.ring.uring);
  s->in_turn = 0;
  if (nu__done(s))
    nu__loop_finish(s);
  else if (nu__batch_holds_any(s) || s->expiring ||
           nu_ring_work_pending(&s->w.ring) || (delivered && s->load.full))
    nu_worker_signal(&s->w);
}

/* Inline mode, whenever JS queued something outside a turn (a flush at
 * the end of a tick, a stop): submits it now. It hands JS nothing, since
 * JS is running; whatever it collects waits for the next turn, which the
 * eventfd is signalled for. So does a load over its bounds: what JS
 * answered may let held connections go (nu__load_update()), as a ring
 * thread's wake-up would. */
void nu__loop_submit(struct nu_server *s) {
  nu__take_work(s);
  io_uring_submit(&s->w.ring.uring);
  if (nu__batch_holds_any(s) || nu__done(s) ||
      nu_ring_work_pending(&s->w.ring) || s->load.full)
    nu_worker_signal(&s->w);
}
