#include "conn.h"

#include "fifo.h"
#include "grow.h"
#include "wsconn.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

void nu_outq_append(struct nu_outq *q, struct nu_out *o) {
  NU_FIFO_APPEND(q->head, q->tail, o);
}

struct nu_out *nu_outq_pop(struct nu_outq *q) {
  struct nu_out *o;

  NU_FIFO_POP(q->head, q->tail, &o);
  return o;
}

void nu_outq_free_all(struct nu_outq *q) {
  struct nu_out *o;

  while ((o = nu_outq_pop(q)) != NULL)
    nu_out_free(o);
}

static int nu__table_grow(struct nu_conn_table *t) {
  uint32_t cap = t->cap ? t->cap * 2 : 64;
  struct nu_conn **slots;

  /* user_data has room for 32 bits of slot (see nu__ud() in loop.c); 16M
   * connections, far past any fd limit, is where growing stops being
   * plausible, and where the doubling is kept well clear of overflow. */
  if (cap > (1u << 24))
    return -ENOMEM;
  slots = realloc(t->slots, cap * sizeof(*slots));
  if (slots == NULL)
    return -ENOMEM;
  t->slots = slots;
  t->cap = cap;
  return 0;
}

int nu_conn_pipe_open(struct nu_conn *c) {
  int fds[2], cap;

  if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) < 0)
    return -errno;
  /* What the kernel gives is what counts: past the user's pipe quota it
   * refuses the size asked for (EPERM), and the pipe keeps 64 KiB or less
   * (see NU_CONN_PIPE_SIZE). Reads then cost no more, and hold no pipe. */
  cap = fcntl(fds[1], F_SETPIPE_SZ, NU_CONN_PIPE_SIZE);
  if (cap < (int)NU_CONN_PIPE_SIZE) {
    close(fds[0]);
    close(fds[1]);
    c->pipe.reads = 1;
    return -ENOBUFS;
  }
  c->pipe.r = fds[0];
  c->pipe.w = fds[1];
  c->pipe.cap = (uint32_t)cap;
  c->pipe.bytes = 0;
  return 0;
}

void nu_conn_pipe_close(struct nu_conn *c) {
  free(c->pipe.buf);
  c->pipe.buf = NULL;
  c->pipe.buf_off = 0;
  c->pipe.bytes = 0;
  if (c->pipe.r < 0)
    return;
  close(c->pipe.r);
  close(c->pipe.w);
  c->pipe.r = c->pipe.w = -1;
}

struct nu_conn *nu_conn_acquire(struct nu_conn_table *t) {
  struct nu_conn *c = t->free_list;

  if (c) {
    t->free_list = c->next_free;
  } else {
    if (t->next_new_slot == t->cap && nu__table_grow(t))
      return NULL;
    c = calloc(1, sizeof(*c));
    if (c == NULL)
      return NULL;
    c->slot = t->next_new_slot++;
    t->slots[c->slot] = c;
  }
  c->gen++;
  c->fd = -1;
  c->pipe.r = c->pipe.w = -1;
  c->pipe.reads = 0;
  c->pipe.in_flight = c->pipe.out_cancelled = 0;
  c->flags &= NU_CONN_DIRTY; /* it may still be on the loop's flush list */
  c->inflight = 0;
  c->next_seq = 0;
  c->send_seq = 0;
  c->sent_off = 0;
  c->queued_bytes = 0;
  c->parked_bytes = 0;
  c->owed_counted = 0;
  c->reply_seq = 0;
  c->unsent_counted = 0;
  c->backlog_len = 0;
  c->head.len = 0;
  c->head.nlens = 0;
  c->head.scan = 0;
  c->next_free = NULL;
  t->nopen++;
  return c;
}

void nu_conn_release(struct nu_conn_table *t, struct nu_conn *c) {
  nu_conn_pipe_close(c);
  nu_wsconn_free(c);
  nu_outq_free_all(&c->sendq);
  nu_outq_free_all(&c->parked);
  /* A long header block may have grown the head; give that memory back
   * rather than keep it for a connection that may never need it. */
  if (c->head.cap > 4096) {
    free(c->head.bytes);
    free(c->head.lens);
    memset(&c->head, 0, sizeof(c->head));
  }
  free(c->backlog); /* only pipelining floods make one */
  c->backlog = NULL;
  c->backlog_cap = 0;
  c->fd = -1;
  c->next_free = t->free_list;
  t->free_list = c;
  t->nopen--;
}

struct nu_sendmsg *nu_conn_sendmsg_get(struct nu_conn_table *t) {
  struct nu_sendmsg *m = t->free_sendmsgs;

  if (m == NULL)
    return malloc(sizeof(*m));
  t->free_sendmsgs = m->next_free;
  return m;
}

void nu_conn_sendmsg_put(struct nu_conn_table *t, struct nu_conn *c) {
  if (c->sendmsg == NULL)
    return;
  c->sendmsg->next_free = t->free_sendmsgs;
  t->free_sendmsgs = c->sendmsg;
  c->sendmsg = NULL;
}

struct nu_conn *nu_conn_find(struct nu_conn_table *t, uint32_t slot,
                             uint32_t gen) {
  struct nu_conn *c;

  if (slot >= t->next_new_slot)
    return NULL;
  c = t->slots[slot];
  if (c->gen != gen || c->fd < 0 || (c->flags & NU_CONN_CLOSING))
    return NULL;
  return c;
}

void nu_conn_table_destroy(struct nu_conn_table *t) {
  for (uint32_t i = 0; i < t->next_new_slot; i++) {
    struct nu_conn *c = t->slots[i];

    nu_conn_pipe_close(c);
    nu_outq_free_all(&c->sendq);
    nu_outq_free_all(&c->parked);
    nu_wsconn_free(c);
    free(c->head.bytes);
    free(c->head.lens);
    free(c->backlog);
    free(c->sendmsg);
    free(c);
  }
  while (t->free_sendmsgs) {
    struct nu_sendmsg *m = t->free_sendmsgs;

    t->free_sendmsgs = m->next_free;
    free(m);
  }
  free(t->spare_head.bytes);
  free(t->spare_head.lens);
  free(t->slots);
  memset(t, 0, sizeof(*t));
}

/* Moves the parked chunks whose turn has come to sendq, in order. */
static void nu__conn_unpark(struct nu_conn *c) {
  struct nu_out *o, *prev;
  int moved;

  do {
    moved = 0;
    prev = NULL;
    for (o = c->parked.head; o; prev = o, o = o->next) {
      if (o->seq != c->send_seq)
        continue;
      if (prev)
        prev->next = o->next;
      else
        c->parked.head = o->next;
      if (c->parked.tail == o)
        c->parked.tail = prev;
      nu_outq_append(&c->sendq, o);
      c->parked_bytes -= o->len;
      if (o->flags & NU_OUT_END)
        c->send_seq++;
      moved = 1;
      break;
    }
  } while (moved);
}

void nu_conn_enqueue(struct nu_conn *c, struct nu_out *o) {
  c->queued_bytes += o->len;
  if (o->seq != c->send_seq) {
    nu_outq_append(&c->parked, o);
    c->parked_bytes += o->len;
    return;
  }
  nu_outq_append(&c->sendq, o);
  if (o->flags & NU_OUT_END) {
    c->send_seq++;
    if (c->parked.head)
      nu__conn_unpark(c);
  }
}

int nu_conn_response_begun(const struct nu_conn *c, uint32_t seq) {
  const struct nu_out *o;

  if ((int32_t)(c->send_seq - seq) > 0)
    return 1; /* queued whole already */
  for (o = c->sendq.head; o; o = o->next)
    if (o->seq == seq)
      return 1;
  for (o = c->parked.head; o; o = o->next)
    if (o->seq == seq)
      return 1;
  return 0;
}

int nu_conn_sockopt(int fd, uint32_t seq) {
  uint32_t what = seq & ((1u << NU_SOCKOPT_SHIFT) - 1);
  int idle = (int)(seq >> NU_SOCKOPT_SHIFT);
  int on = what == NU_SOCKOPT_NODELAY_ON || what == NU_SOCKOPT_KEEPALIVE_ON;

  if (what == NU_SOCKOPT_NODELAY_OFF || what == NU_SOCKOPT_NODELAY_ON)
    return setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on)) < 0
               ? -errno
               : 0;
  if (what != NU_SOCKOPT_KEEPALIVE_OFF && what != NU_SOCKOPT_KEEPALIVE_ON)
    return -EINVAL;
  if (setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on)) < 0)
    return -errno;
  if (on && idle > 0 &&
      setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle)) < 0)
    return -errno;
  return 0;
}

int nu_conn_backlog_append(struct nu_conn *c, const char *data, uint32_t n) {
  uint64_t need = (uint64_t)c->backlog_len + n;

  if (n == 0)
    return 0; /* a pause at the input's very end; backlog may be NULL */
  if (need > c->backlog_cap &&
      nu_grow((void **)&c->backlog, &c->backlog_cap, need, 1))
    return -ENOMEM;
  memmove(c->backlog + c->backlog_len, data, n);
  c->backlog_len += n;
  return 0;
}
