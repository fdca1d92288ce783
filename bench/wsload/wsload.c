/*
 * wsload: the WebSocket load generator of `node bench` (its ws-* cases).
 *
 * One thread, epoll, non-blocking sockets to 127.0.0.1 only. It does the
 * HTTP upgrade itself (checks the 101 and Sec-WebSocket-Accept), then runs
 * one of three loads for a warm-up and a measured window:
 *
 *   echo       each connection sends a text message and waits for its echo
 *              (--depth 1);
 *   pipelined  the same with --depth messages in flight (default 16);
 *   broadcast  --connections subscribers that only read, and one publisher
 *              connection whose messages the server sends to each of them.
 *              Flow control: the publisher keeps at most --window messages
 *              unconfirmed, and a message is confirmed once EVERY
 *              subscriber got it. So the rate measured is what the server
 *              delivers to all subscribers with at most window x
 *              subscribers messages queued anywhere: a server cannot look
 *              faster by letting slow subscribers fall behind (a message
 *              one skipped is counted lost, an error).
 *
 * Each message is --size bytes (default 32) of text: the sequence number
 * and the send time (CLOCK_MONOTONIC, ns) as 16 hex digits each, then 'x'
 * up to the size. An echo is checked against the message it answers (its
 * connection's next sequence number, its size and bytes), a broadcast
 * delivery against its subscriber's next sequence number; the latency of
 * each is now less the send time it carries.
 *
 * Server frames are checked as a client must (RFC 6455, 5): unmasked, no
 * reserved bits, known opcodes, control frames whole and at most 125
 * bytes, lengths in their shortest form; messages may come in fragments,
 * and frames cut anywhere by the reads. Pings are answered with pongs.
 * Client frames are masked with a fresh key each.
 *
 * Output: on stdout, the line {"event":"measuring"} when the measured
 * window starts, then one JSON object when it ends (before the connections
 * are closed, so that a caller sampling the server's CPU between the two
 * lines measures the window alone). Exit status 0 when the load ran, 1
 * when no connection could be set up, 2 on bad arguments.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "handshake.h"

#define NU_WL_HEAD_LEN 32          /* seq and time, 16 hex digits each */
#define NU_WL_MAX_SIZE 65535       /* the largest --size */
#define NU_WL_MAX_MESSAGE (16u << 20) /* the largest server message taken */
#define NU_WL_READ_CHUNK 65536
#define NU_WL_CONNECTING_MAX 128   /* handshakes under way at once */
#define NU_WL_SETUP_NS (60ull * 1000000000ull)
#define NU_WL_STALL_NS (5ull * 1000000000ull)
#define NU_WL_CLOSE_NS (2ull * 1000000000ull)
#define NU_WL_EVENTS 512

enum nu_wl_mode { NU_WL_ECHO, NU_WL_BROADCAST };
enum nu_wl_role { NU_WL_ROLE_ECHO, NU_WL_ROLE_SUB, NU_WL_ROLE_PUB };
enum nu_wl_state {
  NU_WL_IDLE,       /* not connected yet */
  NU_WL_CONNECTING, /* connect() under way */
  NU_WL_UPGRADING,  /* request sent, waiting for the 101 */
  NU_WL_OPEN,
  NU_WL_CLOSING,    /* our close frame sent, waiting for the server's */
  NU_WL_DONE        /* closed */
};
enum nu_wl_phase { NU_WL_SETUP, NU_WL_WARMUP, NU_WL_MEASURE, NU_WL_CLOSE };

struct nu_wl_buf {
  uint8_t *p;
  size_t len, cap;
};

struct nu_wl_conn {
  int fd;
  enum nu_wl_role role;
  enum nu_wl_state state;
  int dirty;                 /* on the list of connections to flush */
  int writable_wait;         /* EPOLLOUT asked for */
  char key[24];
  struct nu_wl_buf in, out;
  struct nu_wl_buf msg;      /* a fragmented message being put together */
  int msg_op;                /* its opcode; 0: none under way */
  uint64_t next_send;        /* echo: the next sequence number to send */
  uint64_t next_recv;        /* the next one expected back, or broadcast */
};

/* Latency histogram in ns: 64 linear sub-buckets per power of two, so a
 * percentile is within 1/64 of the value. */
#define NU_WL_SUB 64
#define NU_WL_BUCKETS (NU_WL_SUB * 42)

struct nu_wl_hist {
  uint64_t count[NU_WL_BUCKETS];
  uint64_t n;
};

struct nu_wl_opts {
  enum nu_wl_mode mode;
  const char *mode_name;
  int port;
  unsigned connections;
  unsigned depth;
  unsigned window;
  unsigned size;
  double duration_s, warmup_s;
  uint64_t max_messages;     /* 0: no bound */
  const char *path, *pub_path;
};

struct nu_wl {
  struct nu_wl_opts o;
  int ep;
  struct nu_wl_conn *conns;
  unsigned nconns;           /* subscribers or echo connections, + publisher */
  unsigned *dirty;
  unsigned ndirty;
  unsigned next_connect, connecting, opened, closed;
  enum nu_wl_phase phase;
  uint64_t phase_ns, measure_ns, last_progress_ns;
  uint64_t rng;
  struct nu_wl_hist hist;
  uint64_t messages;         /* echoes, or deliveries, in the window */
  uint64_t published;        /* broadcast: publisher messages, in the window */
  uint64_t errors, lost, unexpected;
  char first_error[200];
  /* broadcast: got[seq % window] counts the subscribers that have seq */
  unsigned *got;
  uint64_t pub_next, pub_confirmed;
  uint8_t frame[14 + NU_WL_MAX_SIZE];
};

static uint64_t nu_wl_now(void) {
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* xorshift64*: mask keys and handshake keys need to vary, not to be
 * secret (the server is ours to load). */
static uint64_t nu_wl_rand(struct nu_wl *w) {
  w->rng ^= w->rng >> 12;
  w->rng ^= w->rng << 25;
  w->rng ^= w->rng >> 27;
  return w->rng * 2685821657736338717ull;
}

static void nu_wl_error(struct nu_wl *w, const char *fmt, ...) {
  va_list ap;

  if (w->errors++ > 0)
    return;
  va_start(ap, fmt);
  vsnprintf(w->first_error, sizeof(w->first_error), fmt, ap);
  va_end(ap);
}

static unsigned nu_wl_bucket(uint64_t v) {
  unsigned e;

  if (v < NU_WL_SUB)
    return (unsigned)v;
  e = 63u - (unsigned)__builtin_clzll(v); /* >= 6 */
  if (e > 46)
    return NU_WL_BUCKETS - 1;
  return (e - 5) * NU_WL_SUB + (unsigned)((v >> (e - 6)) & (NU_WL_SUB - 1));
}

/* The smallest value of bucket i. */
static uint64_t nu_wl_bucket_low(unsigned i) {
  unsigned e;

  if (i < NU_WL_SUB)
    return i;
  e = i / NU_WL_SUB + 5;
  return ((uint64_t)NU_WL_SUB + i % NU_WL_SUB) << (e - 6);
}

static void nu_wl_hist_add(struct nu_wl_hist *h, uint64_t v) {
  h->count[nu_wl_bucket(v)]++;
  h->n++;
}

/* The q-quantile in ms (the middle of its bucket), or -1 with no data. */
static double nu_wl_hist_ms(const struct nu_wl_hist *h, double q) {
  uint64_t rank = (uint64_t)(q * (double)h->n), seen = 0;

  if (h->n == 0)
    return -1;
  if (rank >= h->n)
    rank = h->n - 1;
  for (unsigned i = 0; i < NU_WL_BUCKETS; i++) {
    seen += h->count[i];
    if (seen > rank) {
      uint64_t lo = nu_wl_bucket_low(i);
      uint64_t hi = i + 1 < NU_WL_BUCKETS ? nu_wl_bucket_low(i + 1) : lo;
      return (double)(lo + hi) / 2 / 1e6;
    }
  }
  return -1;
}

static int nu_wl_reserve(struct nu_wl_buf *b, size_t more) {
  size_t cap = b->cap ? b->cap : 256;
  uint8_t *p;

  if (b->len + more <= b->cap)
    return 0;
  while (cap < b->len + more)
    cap *= 2;
  p = realloc(b->p, cap);
  if (p == NULL)
    return -ENOMEM;
  b->p = p;
  b->cap = cap;
  return 0;
}

static int nu_wl_append(struct nu_wl_buf *b, const void *p, size_t n) {
  int rc = nu_wl_reserve(b, n);

  if (rc < 0)
    return rc;
  memcpy(b->p + b->len, p, n);
  b->len += n;
  return 0;
}

static void nu_wl_mark_dirty(struct nu_wl *w, struct nu_wl_conn *c) {
  if (c->dirty)
    return;
  c->dirty = 1;
  w->dirty[w->ndirty++] = (unsigned)(c - w->conns);
}

/* Queues a masked client frame (FIN set) on c. */
static int nu_wl_queue_frame(struct nu_wl *w, struct nu_wl_conn *c,
                             unsigned opcode, const uint8_t *payload,
                             size_t len) {
  uint8_t *f = w->frame;
  size_t h = 0;
  uint32_t key = (uint32_t)nu_wl_rand(w);
  uint8_t mask[4] = {(uint8_t)(key >> 24), (uint8_t)(key >> 16),
                     (uint8_t)(key >> 8), (uint8_t)key};

  f[h++] = (uint8_t)(0x80 | opcode);
  if (len < 126) {
    f[h++] = (uint8_t)(0x80 | len);
  } else {
    f[h++] = 0x80 | 126;
    f[h++] = (uint8_t)(len >> 8);
    f[h++] = (uint8_t)len;
  }
  memcpy(f + h, mask, 4);
  h += 4;
  for (size_t i = 0; i < len; i++)
    f[h + i] = payload[i] ^ mask[i & 3];
  if (nu_wl_append(&c->out, f, h + len) < 0)
    return -ENOMEM;
  nu_wl_mark_dirty(w, c);
  return 0;
}

static void nu_wl_hex16(uint8_t *out, uint64_t v) {
  static const char digits[] = "0123456789abcdef";

  for (int i = 15; i >= 0; i--, v >>= 4)
    out[i] = (uint8_t)digits[v & 15];
}

static int nu_wl_unhex16(const uint8_t *p, uint64_t *v) {
  uint64_t r = 0;

  for (int i = 0; i < 16; i++) {
    unsigned d;

    if (p[i] >= '0' && p[i] <= '9')
      d = p[i] - '0';
    else if (p[i] >= 'a' && p[i] <= 'f')
      d = p[i] - 'a' + 10u;
    else
      return -1;
    r = r << 4 | d;
  }
  *v = r;
  return 0;
}

/* Queues message seq on c, stamped with the time now. */
static int nu_wl_send_message(struct nu_wl *w, struct nu_wl_conn *c,
                              uint64_t seq) {
  uint8_t payload[NU_WL_MAX_SIZE];

  nu_wl_hex16(payload, seq);
  nu_wl_hex16(payload + 16, nu_wl_now());
  memset(payload + NU_WL_HEAD_LEN, 'x', w->o.size - NU_WL_HEAD_LEN);
  return nu_wl_queue_frame(w, c, 0x1, payload, w->o.size);
}

/* Checks a message of ours came back whole; returns its seq and send
 * time, or -1. */
static int nu_wl_parse_message(const struct nu_wl *w, unsigned op,
                               const uint8_t *p, size_t n, uint64_t *seq,
                               uint64_t *sent) {
  if (op != 0x1 || n != w->o.size || nu_wl_unhex16(p, seq) < 0 ||
      nu_wl_unhex16(p + 16, sent) < 0)
    return -1;
  for (size_t i = NU_WL_HEAD_LEN; i < n; i++)
    if (p[i] != 'x')
      return -1;
  return 0;
}

static void nu_wl_close_conn(struct nu_wl *w, struct nu_wl_conn *c) {
  if (c->state == NU_WL_DONE)
    return;
  if (c->fd >= 0)
    close(c->fd); /* also takes it out of the epoll set */
  c->fd = -1;
  if (c->state == NU_WL_CONNECTING || c->state == NU_WL_UPGRADING)
    w->connecting--;
  c->state = NU_WL_DONE;
  w->closed++;
}

/* A connection lost or broken before the end: an error, and the run ends
 * (a broadcast cannot confirm without it; an echo run's rate would be of
 * fewer connections than asked). */
static void nu_wl_fail(struct nu_wl *w, struct nu_wl_conn *c, const char *what,
                       int err) {
  if (err)
    nu_wl_error(w, "connection %u: %s: %s", (unsigned)(c - w->conns), what,
                strerror(err));
  else
    nu_wl_error(w, "connection %u: %s", (unsigned)(c - w->conns), what);
  nu_wl_close_conn(w, c); /* nu_wl_tick() sees the error and ends the run */
}

static int nu_wl_in_window(const struct nu_wl *w) {
  return w->phase == NU_WL_MEASURE;
}

/* Broadcast: subscriber c has message seq; confirms what every subscriber
 * now has, and lets the publisher fill its window. */
static void nu_wl_delivered(struct nu_wl *w, struct nu_wl_conn *c,
                            uint64_t seq, uint64_t sent) {
  unsigned subscribers = w->nconns - 1;
  struct nu_wl_conn *pub = &w->conns[w->nconns - 1];

  if (seq < c->next_recv || seq >= w->pub_next) {
    nu_wl_fail(w, c, "a broadcast message out of order or never sent", 0);
    return;
  }
  if (nu_wl_in_window(w))
    w->lost += seq - c->next_recv;
  for (uint64_t q = c->next_recv; q <= seq; q++)
    w->got[q % w->o.window]++;
  c->next_recv = seq + 1;
  w->last_progress_ns = nu_wl_now();
  if (nu_wl_in_window(w)) {
    w->messages++;
    nu_wl_hist_add(&w->hist, w->last_progress_ns - sent);
  }
  while (w->pub_confirmed < w->pub_next &&
         w->got[w->pub_confirmed % w->o.window] == subscribers) {
    w->got[w->pub_confirmed % w->o.window] = 0;
    w->pub_confirmed++;
  }
  while (w->phase != NU_WL_CLOSE && pub->state == NU_WL_OPEN &&
         w->pub_next - w->pub_confirmed < w->o.window) {
    if (nu_wl_send_message(w, pub, w->pub_next++) < 0) {
      nu_wl_fail(w, pub, "out of memory", 0);
      return;
    }
    if (nu_wl_in_window(w))
      w->published++;
  }
}

/* Echo: c's message seq came back. */
static void nu_wl_echoed(struct nu_wl *w, struct nu_wl_conn *c, uint64_t seq,
                         uint64_t sent) {
  if (seq != c->next_recv || seq >= c->next_send) {
    nu_wl_fail(w, c, "an echo out of order or of a message never sent", 0);
    return;
  }
  c->next_recv++;
  w->last_progress_ns = nu_wl_now();
  if (nu_wl_in_window(w)) {
    w->messages++;
    nu_wl_hist_add(&w->hist, w->last_progress_ns - sent);
  }
  if (w->phase != NU_WL_CLOSE &&
      nu_wl_send_message(w, c, c->next_send++) < 0)
    nu_wl_fail(w, c, "out of memory", 0);
}

static void nu_wl_on_message(struct nu_wl *w, struct nu_wl_conn *c,
                             unsigned op, const uint8_t *p, size_t n) {
  uint64_t seq, sent;

  if (c->role == NU_WL_ROLE_PUB) {
    w->unexpected++; /* a server may echo to the publisher; not counted */
    return;
  }
  if (nu_wl_parse_message(w, op, p, n, &seq, &sent) < 0) {
    nu_wl_fail(w, c, "a message that is not one sent, or not whole", 0);
    return;
  }
  if (c->role == NU_WL_ROLE_SUB)
    nu_wl_delivered(w, c, seq, sent);
  else
    nu_wl_echoed(w, c, seq, sent);
}

static void nu_wl_on_control(struct nu_wl *w, struct nu_wl_conn *c,
                             unsigned op, const uint8_t *p, size_t n) {
  if (op == 0x9) {
    if (c->state == NU_WL_OPEN && nu_wl_queue_frame(w, c, 0xA, p, n) < 0)
      nu_wl_fail(w, c, "out of memory", 0);
  } else if (op == 0x8) {
    if (c->state == NU_WL_CLOSING) {
      nu_wl_close_conn(w, c);
    } else {
      char what[80];
      unsigned code = n >= 2 ? (unsigned)p[0] << 8 | p[1] : 1005;

      snprintf(what, sizeof(what), "the server closed it (code %u)", code);
      nu_wl_fail(w, c, what, 0);
    }
  }
  /* a pong: nothing asked for it, nothing to do */
}

/* Parses the frames whole in c->in; returns the bytes used, or -1 once c
 * failed. */
static long nu_wl_parse_frames(struct nu_wl *w, struct nu_wl_conn *c) {
  const uint8_t *in = c->in.p;
  size_t avail = c->in.len, used = 0;

  while (avail - used >= 2 && c->state != NU_WL_DONE) {
    const uint8_t *f = in + used;
    unsigned fin = f[0] & 0x80, op = f[0] & 0x0f, len7 = f[1] & 0x7f;
    size_t h = 2;
    uint64_t len = len7;

    if (f[0] & 0x70)
      return nu_wl_fail(w, c, "a frame with reserved bits set", 0), -1;
    if (f[1] & 0x80)
      return nu_wl_fail(w, c, "a masked server frame", 0), -1;
    if (len7 == 126) {
      if (avail - used < 4)
        break;
      len = (uint64_t)f[2] << 8 | f[3];
      h = 4;
      if (len < 126)
        return nu_wl_fail(w, c, "a length not in its shortest form", 0), -1;
    } else if (len7 == 127) {
      if (avail - used < 10)
        break;
      len = 0;
      for (int i = 0; i < 8; i++)
        len = len << 8 | f[2 + i];
      h = 10;
      if (len <= 0xffff)
        return nu_wl_fail(w, c, "a length not in its shortest form", 0), -1;
    }
    if (len > NU_WL_MAX_MESSAGE)
      return nu_wl_fail(w, c, "a frame larger than 16 MiB", 0), -1;
    if (op >= 0x8) {
      if (op > 0xA)
        return nu_wl_fail(w, c, "an unknown control opcode", 0), -1;
      if (!fin || len > 125)
        return nu_wl_fail(w, c, "a fragmented or long control frame", 0), -1;
    } else if (op > 0x2) {
      return nu_wl_fail(w, c, "an unknown data opcode", 0), -1;
    } else if ((op == 0) != (c->msg_op != 0)) {
      return nu_wl_fail(w, c, op ? "a new message inside a fragmented one"
                                 : "a continuation with no message", 0), -1;
    }
    if (avail - used < h + len)
      break; /* the rest of this frame is in a later read */
    used += h + (size_t)len;
    if (op >= 0x8) {
      nu_wl_on_control(w, c, op, f + h, (size_t)len);
    } else if (fin && op != 0) {
      nu_wl_on_message(w, c, op, f + h, (size_t)len);
    } else {
      if (op != 0)
        c->msg_op = (int)op;
      if (c->msg.len + len > NU_WL_MAX_MESSAGE)
        return nu_wl_fail(w, c, "a message larger than 16 MiB", 0), -1;
      if (nu_wl_append(&c->msg, f + h, (size_t)len) < 0)
        return nu_wl_fail(w, c, "out of memory", 0), -1;
      if (fin) {
        unsigned mop = (unsigned)c->msg_op;
        size_t mlen = c->msg.len;

        c->msg_op = 0;
        c->msg.len = 0; /* its bytes stay put: nothing appends meanwhile */
        nu_wl_on_message(w, c, mop, c->msg.p, mlen);
      }
    }
  }
  return c->state == NU_WL_DONE ? -1 : (long)used;
}

/* ---- the handshake ---- */

static int nu_wl_start_upgrade(struct nu_wl *w, struct nu_wl_conn *c) {
  uint8_t raw[16];
  char req[512];
  const char *path = c->role == NU_WL_ROLE_PUB ? w->o.pub_path : w->o.path;
  int n;

  for (int i = 0; i < 16; i += 8) {
    uint64_t r = nu_wl_rand(w);
    memcpy(raw + i, &r, 8);
  }
  nu_base64(raw, sizeof(raw), c->key);
  n = snprintf(req, sizeof(req),
               "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
               "Connection: Upgrade\r\nSec-WebSocket-Key: %.24s\r\n"
               "Sec-WebSocket-Version: 13\r\n\r\n",
               path, w->o.port, c->key);
  c->state = NU_WL_UPGRADING;
  if (nu_wl_append(&c->out, req, (size_t)n) < 0)
    return -ENOMEM;
  nu_wl_mark_dirty(w, c);
  return 0;
}

/* The value of header name in the head, NUL-terminated by the caller's
 * copy, or NULL. */
static const char *nu_wl_header(const char *head, const char *name,
                                size_t *len) {
  size_t nlen = strlen(name);

  for (const char *line = strstr(head, "\r\n"); line != NULL;
       line = strstr(line + 2, "\r\n")) {
    const char *v = line + 2, *end;

    if (strncasecmp(v, name, nlen) != 0 || v[nlen] != ':')
      continue;
    v += nlen + 1;
    while (*v == ' ' || *v == '\t')
      v++;
    end = strstr(v, "\r\n");
    while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
      end--;
    *len = (size_t)(end - v);
    return v;
  }
  return NULL;
}

/* Checks the server's answer once its head is in: a 101, Upgrade:
 * websocket, the right Sec-WebSocket-Accept. Returns the bytes of the
 * head, 0 when more are needed, -1 once c failed. */
static long nu_wl_check_upgrade(struct nu_wl *w, struct nu_wl_conn *c) {
  char head[4096], accept[NU_WS_ACCEPT_LEN];
  const uint8_t *end = memmem(c->in.p, c->in.len, "\r\n\r\n", 4);
  size_t hlen, vlen;
  const char *v;

  if (end == NULL) {
    if (c->in.len >= sizeof(head))
      return nu_wl_fail(w, c, "a handshake answer too long", 0), -1;
    return 0;
  }
  hlen = (size_t)(end - c->in.p) + 4;
  if (hlen >= sizeof(head))
    return nu_wl_fail(w, c, "a handshake answer too long", 0), -1;
  memcpy(head, c->in.p, hlen);
  head[hlen] = '\0';
  if (strncmp(head, "HTTP/1.1 101 ", 13) != 0) {
    char what[120];

    snprintf(what, sizeof(what), "the upgrade was answered %.*s",
             (int)strcspn(head, "\r\n"), head);
    return nu_wl_fail(w, c, what, 0), -1;
  }
  v = nu_wl_header(head, "upgrade", &vlen);
  if (v == NULL || vlen != 9 || strncasecmp(v, "websocket", 9) != 0)
    return nu_wl_fail(w, c, "a 101 without Upgrade: websocket", 0), -1;
  nu_ws_accept(c->key, sizeof(c->key), accept);
  v = nu_wl_header(head, "sec-websocket-accept", &vlen);
  if (v == NULL || vlen != sizeof(accept) || memcmp(v, accept, vlen) != 0)
    return nu_wl_fail(w, c, "a wrong Sec-WebSocket-Accept", 0), -1;
  c->state = NU_WL_OPEN;
  w->connecting--;
  w->opened++;
  return (long)hlen;
}

/* ---- sockets ---- */

static int nu_wl_want(struct nu_wl *w, struct nu_wl_conn *c, int writable) {
  struct epoll_event ev = {.events = EPOLLIN | (writable ? EPOLLOUT : 0),
                           .data.u32 = (uint32_t)(c - w->conns)};

  if (c->writable_wait == writable)
    return 0;
  c->writable_wait = writable;
  return epoll_ctl(w->ep, EPOLL_CTL_MOD, c->fd, &ev) < 0 ? -errno : 0;
}

static void nu_wl_connect(struct nu_wl *w, struct nu_wl_conn *c) {
  struct sockaddr_in sa = {.sin_family = AF_INET,
                           .sin_port = htons((uint16_t)w->o.port),
                           .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  struct epoll_event ev = {.events = EPOLLOUT,
                           .data.u32 = (uint32_t)(c - w->conns)};
  int one = 1;

  w->connecting++;
  c->state = NU_WL_CONNECTING;
  c->writable_wait = 1;
  c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (c->fd < 0) {
    nu_wl_fail(w, c, "socket", errno);
    return;
  }
  setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 &&
      errno != EINPROGRESS) {
    nu_wl_fail(w, c, "connect", errno);
    return;
  }
  if (epoll_ctl(w->ep, EPOLL_CTL_ADD, c->fd, &ev) < 0) {
    nu_wl_fail(w, c, "epoll_ctl", errno);
    return;
  }
}

static void nu_wl_flush(struct nu_wl *w, struct nu_wl_conn *c) {
  size_t off = 0;

  if (c->state == NU_WL_DONE || c->state == NU_WL_CONNECTING)
    return;
  while (off < c->out.len) {
    ssize_t n = write(c->fd, c->out.p + off, c->out.len - off);

    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && errno == EAGAIN)
      break;
    if (n < 0) {
      nu_wl_fail(w, c, "write", errno);
      return;
    }
    off += (size_t)n;
  }
  memmove(c->out.p, c->out.p + off, c->out.len - off);
  c->out.len -= off;
  if (nu_wl_want(w, c, c->out.len > 0) < 0)
    nu_wl_fail(w, c, "epoll_ctl", errno);
}

/* Drops the first n bytes of b. */
static void nu_wl_consume(struct nu_wl_buf *b, size_t n) {
  memmove(b->p, b->p + n, b->len - n);
  b->len -= n;
}

static void nu_wl_readable(struct nu_wl *w, struct nu_wl_conn *c) {
  ssize_t n;
  long used;

  if (nu_wl_reserve(&c->in, NU_WL_READ_CHUNK) < 0) {
    nu_wl_fail(w, c, "out of memory", 0);
    return;
  }
  n = read(c->fd, c->in.p + c->in.len, c->in.cap - c->in.len);
  if (n < 0) {
    if (errno != EAGAIN && errno != EINTR)
      nu_wl_fail(w, c, "read", errno);
    return;
  }
  if (n == 0) {
    if (c->state == NU_WL_CLOSING)
      nu_wl_close_conn(w, c); /* closed with no close frame: allowed late */
    else
      nu_wl_fail(w, c, "closed by the server", 0);
    return;
  }
  c->in.len += (size_t)n;
  if (c->state == NU_WL_UPGRADING) {
    used = nu_wl_check_upgrade(w, c);
    if (used <= 0)
      return;
    nu_wl_consume(&c->in, (size_t)used);
  }
  used = nu_wl_parse_frames(w, c);
  if (used > 0)
    nu_wl_consume(&c->in, (size_t)used);
}

static void nu_wl_event(struct nu_wl *w, const struct epoll_event *ev) {
  struct nu_wl_conn *c = &w->conns[ev->data.u32];

  if (c->state == NU_WL_DONE)
    return;
  if (c->state == NU_WL_CONNECTING) {
    int err = 0;
    socklen_t len = sizeof(err);

    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err) {
      nu_wl_fail(w, c, "connect", err);
      return;
    }
    if (nu_wl_start_upgrade(w, c) < 0) {
      nu_wl_fail(w, c, "out of memory", 0);
      return;
    }
    return;
  }
  if (ev->events & (EPOLLIN | EPOLLHUP | EPOLLERR))
    nu_wl_readable(w, c);
  if (c->state != NU_WL_DONE && (ev->events & EPOLLOUT))
    nu_wl_flush(w, c);
}

/* ---- the phases ---- */

static void nu_wl_json_string(FILE *f, const char *s) {
  fputc('"', f);
  for (; *s; s++) {
    if (*s == '"' || *s == '\\')
      fprintf(f, "\\%c", *s);
    else if ((unsigned char)*s < 0x20)
      fprintf(f, "\\u%04x", *s);
    else
      fputc(*s, f);
  }
  fputc('"', f);
}

static void nu_wl_report(struct nu_wl *w, uint64_t now) {
  double s = w->measure_ns ? (double)(now - w->measure_ns) / 1e9 : 0;
  double p50 = nu_wl_hist_ms(&w->hist, 0.5), p99 = nu_wl_hist_ms(&w->hist, 0.99);
  FILE *f = stdout;

  /* depth is the echo modes', window the broadcast's: the other is 0 */
  fprintf(f, "{\"mode\":\"%s\",\"connections\":%u,\"depth\":%u,"
             "\"window\":%u,\"size\":%u,\"seconds\":%.6f,"
             "\"messages\":%" PRIu64 ",\"messagesPerSec\":%.1f,"
             "\"published\":%" PRIu64 ",\"publishedPerSec\":%.1f,",
          w->o.mode_name, w->o.connections,
          w->o.mode == NU_WL_ECHO ? w->o.depth : 0,
          w->o.mode == NU_WL_BROADCAST ? w->o.window : 0,
          w->o.size, s, w->messages, s > 0 ? (double)w->messages / s : 0,
          w->published, s > 0 ? (double)w->published / s : 0);
  if (p50 < 0)
    fputs("\"p50Ms\":null,\"p99Ms\":null,", f);
  else
    fprintf(f, "\"p50Ms\":%.4f,\"p99Ms\":%.4f,", p50, p99);
  fprintf(f, "\"lost\":%" PRIu64 ",\"unexpected\":%" PRIu64 ","
             "\"errors\":%" PRIu64 ",\"firstError\":",
          w->lost, w->unexpected, w->errors + (w->lost ? 1 : 0));
  if (w->errors)
    nu_wl_json_string(f, w->first_error);
  else if (w->lost)
    nu_wl_json_string(f, "subscribers missed broadcast messages");
  else
    fputs("null", f);
  fputs("}\n", f);
  fflush(f);
}

static void nu_wl_start_load(struct nu_wl *w, uint64_t now) {
  w->phase = NU_WL_WARMUP;
  w->phase_ns = w->last_progress_ns = now;
  if (w->o.mode == NU_WL_BROADCAST) {
    struct nu_wl_conn *pub = &w->conns[w->nconns - 1];

    while (w->pub_next < w->o.window)
      if (nu_wl_send_message(w, pub, w->pub_next++) < 0) {
        nu_wl_fail(w, pub, "out of memory", 0);
        return;
      }
    return;
  }
  for (unsigned i = 0; i < w->nconns; i++)
    for (unsigned d = 0; d < w->o.depth; d++)
      if (nu_wl_send_message(w, &w->conns[i], w->conns[i].next_send++) < 0) {
        nu_wl_fail(w, &w->conns[i], "out of memory", 0);
        return;
      }
}

static void nu_wl_start_measure(struct nu_wl *w, uint64_t now) {
  w->phase = NU_WL_MEASURE;
  w->measure_ns = w->phase_ns = now;
  memset(&w->hist, 0, sizeof(w->hist));
  w->messages = w->published = w->lost = w->unexpected = 0;
  fputs("{\"event\":\"measuring\"}\n", stdout);
  fflush(stdout);
}

/* The end of the load: the report, then a close frame (1000) on each open
 * connection, answered within NU_WL_CLOSE_NS or cut. */
static void nu_wl_start_close(struct nu_wl *w, uint64_t now) {
  static const uint8_t normal[2] = {0x03, 0xe8};

  nu_wl_report(w, now);
  w->phase = NU_WL_CLOSE;
  w->phase_ns = now;
  for (unsigned i = 0; i < w->nconns; i++) {
    struct nu_wl_conn *c = &w->conns[i];

    if (c->state == NU_WL_OPEN) {
      if (nu_wl_queue_frame(w, c, 0x8, normal, 2) < 0)
        nu_wl_close_conn(w, c);
      else
        c->state = NU_WL_CLOSING;
    } else if (c->state != NU_WL_DONE) {
      nu_wl_close_conn(w, c);
    }
  }
}

/* Time-driven steps; returns 0 once everything is closed. */
static int nu_wl_tick(struct nu_wl *w, uint64_t start_ns) {
  uint64_t now = nu_wl_now();

  switch (w->phase) {
  case NU_WL_SETUP:
    while (w->connecting < NU_WL_CONNECTING_MAX && w->next_connect < w->nconns)
      nu_wl_connect(w, &w->conns[w->next_connect++]);
    if (w->errors || now - start_ns > NU_WL_SETUP_NS) {
      if (!w->errors)
        nu_wl_error(w, "%u of %u connections open after %llu s", w->opened,
                    w->nconns, NU_WL_SETUP_NS / 1000000000ull);
      nu_wl_start_close(w, now);
    } else if (w->opened == w->nconns) {
      nu_wl_start_load(w, now);
    }
    break;
  case NU_WL_WARMUP:
  case NU_WL_MEASURE:
    if (w->errors) {
      nu_wl_start_close(w, now);
    } else if (now - w->last_progress_ns > NU_WL_STALL_NS) {
      nu_wl_error(w, "no message arrived for %llu s",
                  NU_WL_STALL_NS / 1000000000ull);
      nu_wl_start_close(w, now);
    } else if (w->phase == NU_WL_WARMUP) {
      if ((double)(now - w->phase_ns) >= w->o.warmup_s * 1e9)
        nu_wl_start_measure(w, now);
    } else if ((double)(now - w->measure_ns) >= w->o.duration_s * 1e9 ||
               (w->o.max_messages && w->messages >= w->o.max_messages)) {
      nu_wl_start_close(w, now);
    }
    break;
  case NU_WL_CLOSE:
    if (w->closed == w->nconns)
      return 0;
    if (now - w->phase_ns > NU_WL_CLOSE_NS) {
      fprintf(stderr, "wsload: %u connections had no close frame back in %llu s\n",
              w->nconns - w->closed, NU_WL_CLOSE_NS / 1000000000ull);
      for (unsigned i = 0; i < w->nconns; i++)
        nu_wl_close_conn(w, &w->conns[i]);
      return 0;
    }
    break;
  }
  return 1;
}

static int nu_wl_run(struct nu_wl *w) {
  struct epoll_event evs[NU_WL_EVENTS];
  uint64_t start_ns = nu_wl_now();

  while (nu_wl_tick(w, start_ns)) {
    int n = epoll_wait(w->ep, evs, NU_WL_EVENTS, 10);

    if (n < 0 && errno != EINTR)
      return -errno;
    for (int i = 0; i < n; i++)
      nu_wl_event(w, &evs[i]);
    /* One write per connection per turn, however many frames it got. */
    for (unsigned i = 0; i < w->ndirty; i++) {
      struct nu_wl_conn *c = &w->conns[w->dirty[i]];

      c->dirty = 0;
      nu_wl_flush(w, c);
    }
    w->ndirty = 0;
  }
  return 0;
}

/* ---- arguments ---- */

static const char nu_wl_usage[] =
    "usage: wsload --port N [--mode echo|pipelined|broadcast]\n"
    "  [--connections N]  echo connections, or broadcast subscribers (100)\n"
    "  [--depth N]        messages in flight per echo connection (echo 1,\n"
    "                     pipelined 16)\n"
    "  [--window N]       broadcast: unconfirmed messages (16)\n"
    "  [--size N]         bytes per message, 32 to 65535 (32)\n"
    "  [--duration S] [--warmup S]  seconds (5, 1)\n"
    "  [--messages N]     end the window after N messages (no bound)\n"
    "  [--path P]         echo and subscriber path (/ or /sub)\n"
    "  [--publish-path P] the publisher's path (/pub)\n";

static int nu_wl_number(const char *s, double lo, double hi, double *out) {
  char *end;
  double v = strtod(s, &end);

  if (*s == '\0' || *end != '\0' || !(v >= lo && v <= hi))
    return -1;
  *out = v;
  return 0;
}

static int nu_wl_parse_args(int argc, char **argv, struct nu_wl_opts *o) {
  double v;
  int depth_given = 0;

  *o = (struct nu_wl_opts){.mode = NU_WL_ECHO, .mode_name = "echo",
                           .connections = 100, .depth = 1, .window = 16,
                           .size = 32, .duration_s = 5, .warmup_s = 1,
                           .path = NULL, .pub_path = "/pub"};
  for (int i = 1; i < argc; i += 2) {
    const char *k = argv[i], *a = i + 1 < argc ? argv[i + 1] : NULL;

    if (a == NULL)
      return -1;
    if (!strcmp(k, "--mode")) {
      if (!strcmp(a, "echo") || !strcmp(a, "pipelined"))
        o->mode = NU_WL_ECHO;
      else if (!strcmp(a, "broadcast"))
        o->mode = NU_WL_BROADCAST;
      else
        return -1;
      o->mode_name = a;
    } else if (!strcmp(k, "--path")) {
      o->path = a;
    } else if (!strcmp(k, "--publish-path")) {
      o->pub_path = a;
    } else if (!strcmp(k, "--duration") || !strcmp(k, "--warmup")) {
      if (nu_wl_number(a, 0, 3600, &v) < 0)
        return -1;
      *(k[2] == 'd' ? &o->duration_s : &o->warmup_s) = v;
    } else if (nu_wl_number(a, 1, 1e15, &v) < 0 || v != (uint64_t)v) {
      return -1;
    } else if (!strcmp(k, "--port") && v <= 65535) {
      o->port = (int)v;
    } else if (!strcmp(k, "--connections") && v <= 1000000) {
      o->connections = (unsigned)v;
    } else if (!strcmp(k, "--depth") && v <= 4096) {
      o->depth = (unsigned)v;
      depth_given = 1;
    } else if (!strcmp(k, "--window") && v <= 1000000) {
      o->window = (unsigned)v;
    } else if (!strcmp(k, "--size") && v >= NU_WL_HEAD_LEN && v <= NU_WL_MAX_SIZE) {
      o->size = (unsigned)v;
    } else if (!strcmp(k, "--messages")) {
      o->max_messages = (uint64_t)v;
    } else {
      return -1;
    }
  }
  if (!depth_given && !strcmp(o->mode_name, "pipelined"))
    o->depth = 16;
  if (o->path == NULL)
    o->path = o->mode == NU_WL_BROADCAST ? "/sub" : "/";
  return o->port > 0 && o->path[0] == '/' && o->pub_path[0] == '/' &&
                 strlen(o->path) < 200 && strlen(o->pub_path) < 200
             ? 0 : -1;
}

/* Room for every socket: the soft limit raised to the hard one if need be. */
static int nu_wl_fds(unsigned needed) {
  struct rlimit rl;

  if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
    return -errno;
  if (rl.rlim_cur >= needed)
    return 0;
  if (rl.rlim_max < needed)
    return -EMFILE;
  rl.rlim_cur = needed;
  return setrlimit(RLIMIT_NOFILE, &rl) < 0 ? -errno : 0;
}

static struct nu_wl *nu_wl_new(const struct nu_wl_opts *o) {
  struct nu_wl *w = calloc(1, sizeof(*w));

  if (w == NULL)
    return NULL;
  w->o = *o;
  w->nconns = o->connections + (o->mode == NU_WL_BROADCAST);
  w->conns = calloc(w->nconns, sizeof(*w->conns));
  w->dirty = calloc(w->nconns, sizeof(*w->dirty));
  w->got = calloc(o->window, sizeof(*w->got));
  w->ep = epoll_create1(EPOLL_CLOEXEC);
  w->rng = nu_wl_now() ^ ((uint64_t)getpid() << 32) ^ 0x9e3779b97f4a7c15ull;
  if (w->conns == NULL || w->dirty == NULL || w->got == NULL || w->ep < 0)
    return NULL; /* the process exits: nothing to free */
  for (unsigned i = 0; i < w->nconns; i++) {
    w->conns[i].fd = -1;
    w->conns[i].role = o->mode == NU_WL_ECHO ? NU_WL_ROLE_ECHO
                       : i + 1 < w->nconns   ? NU_WL_ROLE_SUB
                                             : NU_WL_ROLE_PUB;
  }
  return w;
}

int main(int argc, char **argv) {
  struct nu_wl_opts o;
  struct nu_wl *w;
  int rc;

  if (nu_wl_parse_args(argc, argv, &o) < 0) {
    fputs(nu_wl_usage, stderr);
    return 2;
  }
  rc = nu_wl_fds(o.connections + 64);
  if (rc < 0) {
    fprintf(stderr, "wsload: no room for %u sockets: %s\n", o.connections,
            strerror(-rc));
    return 1;
  }
  w = nu_wl_new(&o);
  if (w == NULL) {
    fputs("wsload: out of memory\n", stderr);
    return 1;
  }
  rc = nu_wl_run(w);
  if (rc < 0) {
    fprintf(stderr, "wsload: epoll_wait: %s\n", strerror(-rc));
    return 1;
  }
  return w->opened == w->nconns ? 0 : 1;
}
