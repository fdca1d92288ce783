/*
 * loop: the ring thread. It owns the io_uring, the listening socket from
 * start on, every accepted socket and every connection struct. Each turn it
 * takes the response chunks JS queued, submits, waits, dispatches every
 * completion by the op tag in its user_data, and hands JS one batch of the
 * events that turn produced.
 */
#include "server.h"

#include "file.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define NU_RECV_BUFS 1024
#define NU_RECV_BUF_SIZE 8192
#define NU_ACCEPT_BACKOFF_NS (50 * 1000 * 1000)
/* How long a refused connection's input is drained before closing. */
#define NU_LINGER_MS 2000

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

/* Resumes parsing once c no longer owes too much, then posts or cancels
 * its recv as nu_conn_wants_input() says, and watches it while it is not
 * read (nu_conn_wants_watch()). */
static void nu__conn_update_reading(struct nu_server *s, struct nu_conn *c) {
  if (c->flags & NU_CONN_LINGER)
    return; /* its recv runs until the peer closes */
  if ((c->flags & NU_CONN_PARSE_PAUSED) && !nu_conn_owes_too_much(c)) {
    nu_http_resume(c);
    if (c->backlog_len > 0)
      nu__conn_input(s, c, c->backlog, c->backlog_len);
    if (c->fd < 0 || (c->flags & NU_CONN_CLOSING))
      return;
  }
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
  /* Out of memory here only costs JS the 'close' events of this
   * connection; its (slot, gen) is dead either way. */
  (void)nu_batch_put_close(s->w.batch, c->slot, c->gen);
  nu_conn_release(&s->conns, c);
  atomic_store_explicit(&s->live_conns, s->conns.nopen, memory_order_relaxed);
}

/* Starts closing c: no more input is read, pending requests are cancelled,
 * and c is freed when their completions are in. */
static void nu__conn_close(struct nu_server *s, struct nu_conn *c) {
  if (c->flags & NU_CONN_CLOSING)
    return;
  c->flags |= NU_CONN_CLOSING | NU_CONN_READ_DONE;
  if (c->inflight > 0) {
    struct io_uring_sqe *sqe = nu__sqe(s, NU_OP_CANCEL, NULL);

    io_uring_prep_cancel_fd(sqe, c->fd, IORING_ASYNC_CANCEL_ALL);
  }
  nu__conn_maybe_release(s, c);
}

/*
 * Closes c once its last response is sent. A client that was refused (an
 * error status, or bytes after a request that closes) may still be sending
 * what it had begun, a body or a pipeline; closing with that input unread
 * makes the kernel reset the connection, and the reset can destroy the
 * error response before the client reads it. So such a connection gets
 * its write side shut (a FIN after the response) and its input read and
 * dropped until the peer closes, or NU_LINGER_MS pass on the tick. With no
 * tick (every timeout disabled), or once the server stops, it closes at
 * once.
 */
static void nu__conn_close_after_response(struct nu_server *s,
                                          struct nu_conn *c) {
  if (!(c->flags & NU_CONN_PARSE_DONE) || (c->flags & NU_CONN_PEER_EOF) ||
      s->stop_seen || nu_timeout_tick_ms(&s->timeouts) == 0) {
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
  socklen_t len = sizeof(c->peer);
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
  if (getpeername(fd, (struct sockaddr *)&c->peer, &len) < 0)
    memset(&c->peer, 0, sizeof(c->peer));
  nu_http_conn_init(c, &s->settings);
  if (nu_batch_put_open(s->w.batch, c->slot, c->gen, &c->peer) < 0) {
    nu__conn_close(s, c);
    return;
  }
  nu__arm_recv(s, c);
  if (s->stop_seen)
    c->flags |= NU_CONN_CLOSE_WHEN_IDLE;
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
static void nu__conn_splice(struct nu_server *s, struct nu_conn *c,
                            struct nu_out *o) {
  uint32_t left = o->len - c->sent_off;
  uint32_t n = c->pipe.bytes;
  struct io_uring_sqe *sqe;

  if (c->pipe.r < 0 && nu_conn_pipe_open(c) < 0) {
    nu__conn_close(s, c);
    return;
  }
  nu_ring_reserve(&s->w.ring, 2); /* a link cut by a submit would not hold */
  if (n == 0) {
    n = left < c->pipe.cap ? left : c->pipe.cap;
    sqe = nu__sqe(s, NU_OP_SPLICE_IN, c);
    io_uring_prep_splice(sqe, o->fd, (int64_t)(o->file_off + c->sent_off),
                         c->pipe.w, -1, n, SPLICE_F_NONBLOCK);
    sqe->flags |= IOSQE_IO_LINK;
    c->inflight++;
  }
  sqe = nu__sqe(s, NU_OP_SPLICE_OUT, c);
  io_uring_prep_splice(sqe, c->pipe.r, -1, c->fd, -1, n,
                       SPLICE_F_NONBLOCK | (n < left ? SPLICE_F_MORE : 0));
  c->flags |= NU_CONN_SENDING;
  c->inflight++;
}

/* Submits one send of as much of c's queue as one sendmsg gathers. */
static void nu__conn_flush(struct nu_server *s, struct nu_conn *c) {
  struct io_uring_sqe *sqe;
  struct nu_out *o = c->sendq.head;
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
    c->iov[n].iov_base = o->data + off;
    c->iov[n++].iov_len = o->len - off;
    if (o->flags & (NU_OUT_CLOSE | NU_OUT_SHUTDOWN))
      break; /* nothing after it may reach the client */
  }
  sqe = nu__sqe(s, NU_OP_SEND, c);
  if (n == 1) {
    io_uring_prep_send(sqe, c->fd, c->iov[0].iov_base, c->iov[0].iov_len,
                       MSG_NOSIGNAL);
  } else {
    memset(&c->msg, 0, sizeof(c->msg));
    c->msg.msg_iov = c->iov;
    c->msg.msg_iovlen = n;
    io_uring_prep_sendmsg(sqe, c->fd, &c->msg, MSG_NOSIGNAL);
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
  c->next_dirty = s->dirty;
  s->dirty = c;
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
 * upgrade request goes to JS as DATA, even none (JS's 'upgrade' waits for
 * it, its head), and its FIN, if in, as HANGUP.
 * Returns 0, or -ENOMEM with c closing. */
static int nu__conn_go_raw(struct nu_server *s, struct nu_conn *c) {
  struct nu_batch *b = s->w.batch;

  c->flags = (c->flags & ~(NU_CONN_UPGRADE_HELD | NU_CONN_TIMED_OUT)) |
             NU_CONN_RAW | NU_CONN_PARSE_DONE;
  if (nu_batch_put_data(b, c->slot, c->gen, c->backlog, c->backlog_len) ||
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
  if (c->backlog_len > 0)
    nu__conn_input(s, c, c->backlog, c->backlog_len);
  if (c->fd >= 0 && !(c->flags & NU_CONN_CLOSING) &&
      (c->flags & NU_CONN_PEER_EOF) && !(c->flags & NU_CONN_UPGRADE_HELD))
    nu__conn_eof(s, c);
  if (c->fd >= 0 && !(c->flags & NU_CONN_CLOSING))
    nu__mark_dirty(s, c);
}

/* Moves the chunks JS queued to their connections, oldest first. */
static void nu__take_outbox(struct nu_server *s) {
  struct nu_out *o = nu_outbox_take_all(&s->outbox);

  while (o) {
    struct nu_out *next = o->next;
    struct nu_conn *c = nu_conn_find(&s->conns, o->slot, o->gen);

    if (c == NULL) {
      nu_out_free(o); /* its connection is gone */
    } else if (o->flags & NU_OUT_ABORT) {
      nu_out_free(o);
      nu__conn_close(s, c);
    } else if (o->flags & NU_OUT_NOTIFY) {
      c->flags |= NU_CONN_WANT_DRAIN;
      nu_out_free(o);
      nu__conn_maybe_drained(s, c);
    } else if (o->flags & NU_OUT_PARSE) {
      nu_out_free(o);
      nu__conn_continue(s, c);
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
  if (s->accept_armed || s->stop_seen || cqe->res == -ECANCELED)
    return;
  if (cqe->res >= 0)
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

  if (!(c->flags & NU_CONN_IN_MESSAGE))
    c->since_ms = s->now_ms; /* a request starts: its timeouts run */
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
 * upgrade, c waits for JS's decision (nu__conn_go_raw() or
 * nu__conn_continue() pass the FIN on). Otherwise, as node:http: a
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
  if (c->flags & NU_CONN_UPGRADE_HELD)
    return;
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

    /* Bytes that arrive while a pause is being posted are still parsed:
     * dropping them would lose requests. */
    if (c->flags & NU_CONN_RAW)
      nu__conn_raw_input(s, c, nu_ring_buf(&s->w.ring, bid), (uint32_t)res);
    else if (!(c->flags & NU_CONN_PARSE_DONE))
      nu__conn_input(s, c, nu_ring_buf(&s->w.ring, bid), (uint32_t)res);
    nu_ring_buf_recycle(&s->w.ring, bid);
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

static void nu__on_send(struct nu_server *s, const struct io_uring_cqe *cqe) {
  struct nu_conn *c = nu_conn_at(&s->conns, nu__ud_slot(cqe->user_data));

  c->flags &= ~NU_CONN_SENDING;
  c->inflight--;
  if (c->flags & NU_CONN_CLOSING)
    nu__conn_maybe_release(s, c);
  else if (cqe->res < 0)
    nu__conn_close(s, c); /* EPIPE, ECONNRESET */
  else
    nu__conn_wrote(s, c, (uint32_t)cqe->res);
}

/* The file-to-pipe half of a splice; the pipe-to-socket half follows. */
static void nu__on_splice_in(struct nu_server *s,
                             const struct io_uring_cqe *cqe) {
  struct nu_conn *c = nu_conn_at(&s->conns, nu__ud_slot(cqe->user_data));

  c->inflight--;
  if (cqe->res > 0)
    c->pipe.bytes += (uint32_t)cqe->res;
  else if (cqe->res != -ECANCELED)
    c->flags |= NU_CONN_SPLICE_FAILED; /* 0: the file shrank */
  nu__conn_maybe_release(s, c);
}

static void nu__on_splice_out(struct nu_server *s,
                              const struct io_uring_cqe *cqe) {
  struct nu_conn *c = nu_conn_at(&s->conns, nu__ud_slot(cqe->user_data));
  int res = cqe->res;

  c->flags &= ~NU_CONN_SENDING;
  c->inflight--;
  if (c->flags & NU_CONN_CLOSING) {
    nu__conn_maybe_release(s, c);
  } else if (res > 0 && (uint32_t)res <= c->pipe.bytes) {
    c->pipe.bytes -= (uint32_t)res;
    nu__conn_wrote(s, c, (uint32_t)res);
    if (c->fd >= 0 && c->pipe.bytes == 0 &&
        !(c->sendq.head && (c->sendq.head->flags & NU_OUT_SPLICE)))
      nu_conn_pipe_close(c); /* no more file to send for now */
  } else if (res == -EAGAIN) {
    /* The socket is full: wait until the client reads. */
    io_uring_prep_poll_add(nu__sqe(s, NU_OP_WRITABLE, c), c->fd, POLLOUT);
    c->flags |= NU_CONN_SENDING;
    c->inflight++;
  } else if (res == -ECANCELED && c->pipe.bytes > 0 &&
             !(c->flags & NU_CONN_SPLICE_FAILED)) {
    nu__conn_flush(s, c); /* the file half came up short: send what it got */
  } else {
    nu__conn_close(s, c); /* EPIPE, ECONNRESET, or the file failed */
  }
}

static void nu__on_writable(struct nu_server *s,
                            const struct io_uring_cqe *cqe) {
  struct nu_conn *c = nu_conn_at(&s->conns, nu__ud_slot(cqe->user_data));

  c->flags &= ~NU_CONN_SENDING;
  c->inflight--;
  if (c->flags & NU_CONN_CLOSING)
    nu__conn_maybe_release(s, c);
  else
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

/* Closes the connections that waited too long; see timeout.h. */
static void nu__on_tick(struct nu_server *s) {
  for (uint32_t i = 0; i < s->conns.next_new_slot; i++) {
    struct nu_conn *c = nu_conn_at(&s->conns, i);

    if (c->fd < 0 || (c->flags & NU_CONN_RAW))
      continue; /* a raw connection's timeouts are JS's, as node:http's */
    if (c->flags & NU_CONN_LINGER) {
      if (s->now_ms - c->since_ms >= NU_LINGER_MS)
        nu__conn_close(s, c);
      continue;
    }
    switch (nu_timeout_check(&s->timeouts, c, s->now_ms)) {
    case NU_EXPIRY_NONE:
      break;
    case NU_EXPIRY_HEADERS:
      if (!nu__conn_client_error(s, c, 408, NULL, 0))
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
  }
  nu__arm_tick(s);
}

static void nu__dispatch(void *arg, const struct io_uring_cqe *cqe) {
  struct nu_server *s = arg;

  switch (nu__ud_op(cqe->user_data)) {
  case NU_OP_ACCEPT:
    nu__on_accept(s, cqe);
    break;
  case NU_OP_ACCEPT_RETRY:
    s->accept_retry = 0;
    if (!s->stop_seen && !s->accept_armed)
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

/* Closes every open connection that is idle, or all of them; the others
 * close as soon as they are idle. A raw one (upgraded) owes no HTTP: it
 * closes as an idle one, as the node:http backend's close() destroys
 * its upgraded sockets. */
static void nu__close_connections(struct nu_server *s, int all) {
  for (uint32_t i = 0; i < s->conns.next_new_slot; i++) {
    struct nu_conn *c = nu_conn_at(&s->conns, i);

    if (c->fd < 0 || (c->flags & NU_CONN_CLOSING))
      continue;
    c->flags |= NU_CONN_CLOSE_WHEN_IDLE;
    if (all || nu_conn_is_idle(c) ||
        (c->flags & (NU_CONN_LINGER | NU_CONN_RAW)))
      nu__conn_close(s, c);
  }
}

static int nu__requests_pending(struct nu_server *s) {
  return atomic_load(&s->stop) != s->stop_seen ||
         atomic_load(&s->close_all) != s->close_all_seen;
}

/* Acts on what JS asked since the last turn: close every connection, or
 * stop (stop accepting, close what is idle, or everything when forced). */
static void nu__check_requests(struct nu_server *s) {
  unsigned close_all = atomic_load(&s->close_all);
  int level = atomic_load(&s->stop);

  if (close_all != s->close_all_seen) {
    s->close_all_seen = close_all;
    nu__close_connections(s, 1);
  }
  if (level == s->stop_seen)
    return;
  s->stop_seen = level;
  if (s->accept_armed)
    io_uring_prep_cancel64(nu__sqe(s, NU_OP_CANCEL, NULL),
                           nu__ud(NU_OP_ACCEPT, NULL), 0);
  nu__close_connections(s, level == 2);
}

/* JS has queued chunks or asked for something (nu_worker_has_work_fn). */
static int nu__has_work(void *arg) {
  struct nu_server *s = arg;

  return !nu_outbox_is_empty(&s->outbox) || nu__requests_pending(s);
}

/* Submits, then blocks for a completion unless JS has queued work. */
static void nu__wait(struct nu_server *s) {
  nu_worker_wait(&s->w, nu__has_work, s);
  s->now_ms = nu_now_ms();
  if (s->routes.n || s->mounts.n)
    nu_date_tick(&s->date);
}

static int nu__done(const struct nu_server *s) {
  return s->stop_seen && !s->accept_armed && !s->accept_retry &&
         s->conns.nopen == 0;
}

int nu__loop_setup(void *arg, const char **op) {
  struct nu_server *s = arg;
  int ret =
      nu_ring_init(&s->w.ring, s->cfg.sq_entries, s->cfg.sq_entries * 4, 0, 0);

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
  nu_date_tick(&s->date);
  s->now_ms = nu_now_ms();
  nu__arm_accept(s);
  if (nu_timeout_tick_ms(&s->timeouts)) {
    uint32_t tick = nu_timeout_tick_ms(&s->timeouts);

    s->tick.tv_sec = tick / 1000;
    s->tick.tv_nsec = (long long)(tick % 1000) * 1000000;
    nu__arm_tick(s);
  }
  return 0;
}

void nu__loop_run(void *arg) {
  struct nu_server *s = arg;

  while (!nu__done(s)) {
    nu__take_outbox(s);
    nu__check_requests(s);
    nu__flush_dirty(s);
    nu__wait(s);
    nu_worker_drain(&s->w, nu__dispatch, s);
    nu__flush_dirty(s);
    nu_worker_deliver(&s->w);
  }
  if (s->cfg.listen_fd >= 0)
    close(s->cfg.listen_fd);
  (void)nu_batch_put_stopped(s->w.batch);
  nu_worker_deliver_last(&s->w);
  nu_conn_table_destroy(&s->conns);
  nu_ring_exit(&s->w.ring);
  nu_worker_exited(&s->w);
}
