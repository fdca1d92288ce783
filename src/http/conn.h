/*
 * conn: one accepted connection and the table that hands out its slot.
 *
 * JS names a connection by (slot, gen): the slot is its index in the table,
 * the generation counts the slot's reuses, so a response that arrives after
 * its connection closed finds another generation and is dropped.
 *
 * Everything here is owned by the ring thread. Connections are allocated on
 * first need and kept on a free list when closed, until the table is
 * destroyed: steady state allocates nothing.
 */
#ifndef NU_CONN_H
#define NU_CONN_H

#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "handoff.h"
#include "llhttp.h"

/* How many response chunks one sendmsg gathers. */
#define NU_CONN_IOV_MAX 16

/* Bits of nu_conn.flags. */
#define NU_CONN_RECV_ARMED (1u << 0) /* a multishot recv is posted */
#define NU_CONN_SENDING (1u << 1)    /* a send is posted */
#define NU_CONN_IN_MESSAGE (1u << 2) /* between message begin and complete */
#define NU_CONN_READ_DONE (1u << 3)  /* no more recv: EOF, error, closing */
#define NU_CONN_CLOSING (1u << 4)    /* shut down; waits for its CQEs */
#define NU_CONN_CLOSE_WHEN_IDLE (1u << 5) /* close once all is answered */
#define NU_CONN_DISPATCHED (1u << 6)      /* this message's head went to JS */
#define NU_CONN_DIRTY (1u << 7)           /* on the loop's list to flush */
#define NU_CONN_JS_PAUSED (1u << 8)       /* JS asked to stop reading */
#define NU_CONN_RECV_CANCELING (1u << 9)  /* the recv is being cancelled */
#define NU_CONN_PARSE_DONE (1u << 10)     /* input is no longer parsed */
/* Owes too many responses: input waits in the backlog. */
#define NU_CONN_PARSE_PAUSED (1u << 11)
#define NU_CONN_PEER_EOF (1u << 12) /* the peer sent its FIN */
/* Refused: the response is out, input is read and dropped until the peer
 * closes (see nu__conn_close_after_response() in loop.c). */
#define NU_CONN_LINGER (1u << 13)
#define NU_CONN_WANT_DRAIN (1u << 14) /* JS waits for a DRAIN event */
/* This request is answered by a route or a mount: JS never sees it. */
#define NU_CONN_ROUTED (1u << 15)
#define NU_CONN_TIMED_OUT (1u << 16) /* quiet past socket_ms; JS was told */
/* A splice from a file came up short: the response cannot be finished. */
#define NU_CONN_SPLICE_FAILED (1u << 17)
/* Parsing stopped after an upgrade request (NU_REQ_UPGRADE): input waits
 * in the backlog until JS takes the connection (NU_CONN_RAW) or lets it
 * go on as HTTP. */
#define NU_CONN_UPGRADE_HELD (1u << 18)
/* Raw mode, after an upgrade JS took: bytes in and out are JS's own. */
#define NU_CONN_RAW (1u << 19)
/* While c is not read, a poll watches for the peer going away. */
#define NU_CONN_WATCHING (1u << 20)
#define NU_CONN_WR_SHUT (1u << 21) /* raw mode: our FIN is sent */
/* WebSocket mode (with RAW): input is parsed as frames (wsconn.h). */
#define NU_CONN_WS (1u << 22)
/* WebSocket mode: our close frame is queued; no frame follows it. */
#define NU_CONN_WS_CLOSE_SENT (1u << 23)
/* Refused for its headers timeout: closes once the 408 is out, without
 * the lingering read of a refusal (see nu__conn_close_after_response()):
 * a client that trickles its head would keep the linger going to its
 * end, and keep its slot for that long past headersTimeout. */
#define NU_CONN_EXPIRED (1u << 24)
/* Not read, nor parsed, while the server is over its load bounds (struct
 * nu_load): on the server's held list until JS catches up. */
#define NU_CONN_LOAD_HELD (1u << 25)
/* Its error went to JS (CLIENT_ERROR, batch.h): nothing more is read, and
 * JS's raw chunks answer it as response upgrade_seq. */
#define NU_CONN_CLIENT_ERROR (1u << 26)
/* Past a chunked body's last chunk: the head holds its trailer fields. */
#define NU_CONN_IN_TRAILERS (1u << 27)

/* Past either bound a connection is not read until its responses go out:
 * a client that pipelines without reading cannot make the server buffer
 * without limit. */
#define NU_CONN_PIPELINE_MAX 64u      /* requests without a response */
#define NU_CONN_QUEUED_MAX (1u << 20) /* response bytes not yet sent */
/* Bytes held after an upgrade request before reading stops. */
#define NU_CONN_HELD_MAX (64u * 1024)

struct nu_file;   /* file.h */
struct nu_wsconn; /* wsconn.h */

/* What a static file's bytes pass through on their way from the file to
 * the socket (splice, see NU_OUT_SPLICE): open while such a chunk is
 * being sent. */
/* How a static file's body goes from the file to the socket: spliced
 * through a pipe, or, where splice cannot serve (nu__conn_splice() in
 * loop.c), read into buf and sent from there. */
struct nu_pipe {
  int r, w;              /* -1 when closed */
  uint32_t cap;          /* its capacity */
  uint32_t bytes;        /* in it (or in buf), not yet sent to the socket */
  char *buf;             /* NU_CONN_READ_SIZE bytes, once reads are used */
  uint32_t buf_off;      /* where the bytes not yet sent start in buf */
  int reads;             /* this connection's files are read, not spliced */
  uint8_t in_flight;     /* the file half of a splice is posted */
  uint8_t out_cancelled; /* the socket half came back cancelled before it */
};

/* The capacity asked for a pipe: fewer round trips than the default
 * 64 KiB. Past the user's pipe quota (fs.pipe-user-pages-soft, 64 MiB for
 * a non-root user) the kernel refuses it, and then gives new pipes less
 * than the default (two pages): nu_conn_pipe_open() takes no pipe smaller
 * than asked, and the connection's files are read instead. */
#define NU_CONN_PIPE_SIZE (1u << 20)
/* What one read of a file takes, when it is not spliced. */
#define NU_CONN_READ_SIZE (64u * 1024)

/* A singly linked FIFO of chunks. */
struct nu_outq {
  struct nu_out *head, *tail;
};

void nu_outq_append(struct nu_outq *q, struct nu_out *o);
struct nu_out *nu_outq_pop(struct nu_outq *q);
void nu_outq_free_all(struct nu_outq *q);

/* The request head being parsed, kept until it is complete because the recv
 * buffers it arrives in go back to the kernel at once. */
struct nu_head {
  char *bytes; /* the url, then each header's name and value */
  uint32_t len, cap;
  uint32_t *lens; /* url length, then name and value lengths */
  uint32_t nlens, cap_lens;
  uint32_t field_len; /* bytes of the name or value being received */
  uint32_t info;      /* NU_REQ_* bits gathered while parsing */
  uint32_t hosts;     /* Host field lines seen */
  uint32_t scan;      /* the line check's state (NU_SCAN_* in http.c) */
};

/* The msghdr and iovecs of a sendmsg, which the kernel reads until its
 * completion: taken from the table's free list while a send gathers more
 * than one chunk, so that a connection not sending holds none. */
struct nu_sendmsg {
  struct msghdr msg;
  struct iovec iov[NU_CONN_IOV_MAX];
  struct nu_sendmsg *next_free;
};

struct nu_conn {
  int fd;
  uint32_t slot, gen;
  uint32_t flags;        /* NU_CONN_* */
  uint32_t inflight;     /* posted SQEs whose last CQE has not arrived */
  uint32_t next_seq;     /* number of the next request parsed */
  uint32_t send_seq;     /* number of the response being queued for sending */
  uint32_t upgrade_seq;  /* number of the upgrade request, once held */
  uint32_t reply_seq;    /* past the last response JS has begun */
  struct nu_outq sendq;  /* in wire order; the head may be partly sent */
  struct nu_outq parked; /* chunks of later responses, in arrival order */
  struct nu_file *files; /* static file responses being made, in order */
  struct nu_wsconn *ws;  /* WebSocket mode's state, else NULL */
  struct nu_pipe pipe;
  uint32_t sent_off;     /* bytes of sendq.head already sent */
  uint64_t since_ms;     /* start of the current wait (see timeout.h) */
  uint64_t io_ms;        /* last byte received or sent */
  uint64_t queued_bytes; /* bytes in sendq and parked, unsent */
  uint64_t parked_bytes; /* of those, in parked */
  uint64_t sent_total;   /* head and body bytes of the chunks sent */
  uint64_t body_len;     /* body bytes of the request being received */
  struct nu_head head;
  char *backlog; /* input received while parsing was paused, unparsed */
  uint32_t backlog_len, backlog_cap;
  llhttp_t parser;
  uint32_t chunk_ext_len; /* chunk extension bytes of the current chunk */
  struct nu_sendmsg *sendmsg; /* while a sendmsg is posted, else NULL */
  struct nu_conn *next_free;             /* free list link */
  struct nu_conn *next_dirty;            /* the loop's flush list link */
  struct nu_conn *held_prev, *held_next; /* the loop's held list links */
  /* What struct nu_load counts of c: its requests JS has not begun to
   * answer (nu_conn_owed()) and its queued_bytes, as last counted. */
  uint32_t owed_counted;
  uint64_t unsent_counted;
};

/*
 * What a server's connections have handed JS and JS has not answered, and
 * its bounds. Requests owed (received, their response not yet queued) hold
 * a request and a response object each in JS; the bytes are those of the
 * batches JS has not taken yet. Past either bound nothing new is read or
 * parsed until the count falls back under three quarters of it (see
 * nu__load_* in loop.c). Ring thread only, but for the bytes, which it
 * copies from the server's atomic count at each turn.
 */
struct nu_load {
  uint32_t max_requests; /* 0: no bound */
  uint64_t max_bytes;    /* 0: no bound */
  uint32_t max_held;     /* held connections past which accepting stops */
  uint32_t owed;         /* requests owed, summed over the connections */
  uint64_t unsent;       /* queued_bytes, summed over the connections */
  uint64_t js_bytes;     /* batch bytes JS has not taken, a moment ago */
  int full;              /* over a bound, not yet back under the low mark */
};

/* c's requests whose response has not begun: neither queued whole
 * (send_seq) nor begun by JS (reply_seq; a response that streams, such
 * as server-sent events, is JS's own memory). An upgraded connection's
 * request never ends: it owes nothing. */
static inline uint32_t nu_conn_owed(const struct nu_conn *c) {
  uint32_t done =
      (int32_t)(c->reply_seq - c->send_seq) > 0 ? c->reply_seq : c->send_seq;

  if (c->flags & NU_CONN_RAW)
    return 0;
  return (int32_t)(c->next_seq - done) > 0 ? c->next_seq - done : 0;
}

/* Whether taking one more request from c would go past a bound: c's own
 * requests not yet counted are counted in. */
static inline int nu_load_full(const struct nu_load *l,
                               const struct nu_conn *c) {
  uint32_t owed = l->owed + nu_conn_owed(c) - c->owed_counted;

  return l->full || (l->max_requests && owed >= l->max_requests) ||
         (l->max_bytes && l->js_bytes >= l->max_bytes);
}

struct nu_conn_table {
  struct nu_conn **slots;
  uint32_t cap;
  uint32_t nopen;            /* connections between acquire and release */
  struct nu_conn *free_list; /* released connections, slot kept */
  uint32_t next_new_slot;    /* slots below it have a connection */
  struct nu_sendmsg *free_sendmsgs;
  /* Head buffers no connection holds: a connection between messages gives
   * its own back, and the next message to begin takes them (see
   * nu_http_parse()), so that idle connections hold none and steady state
   * allocates nothing. */
  struct nu_head spare_head;
};

/* Returns a connection with a fresh generation, or NULL out of memory. */
struct nu_conn *nu_conn_acquire(struct nu_conn_table *t);
/* Puts c back on the free list; c->fd must be closed already. */
void nu_conn_release(struct nu_conn_table *t, struct nu_conn *c);
/* The open connection named (slot, gen), or NULL. */
struct nu_conn *nu_conn_find(struct nu_conn_table *t, uint32_t slot,
                             uint32_t gen);
/* The connection in slot, open or not; slot must be below next_new_slot. */
static inline struct nu_conn *nu_conn_at(struct nu_conn_table *t,
                                         uint32_t slot) {
  return t->slots[slot];
}
/* A sendmsg's state, or NULL out of memory. */
struct nu_sendmsg *nu_conn_sendmsg_get(struct nu_conn_table *t);
/* Gives c's sendmsg state, if any, back to t. */
void nu_conn_sendmsg_put(struct nu_conn_table *t, struct nu_conn *c);

/* Frees every connection and the table itself. */
void nu_conn_table_destroy(struct nu_conn_table *t);

/*
 * Queues chunk o for sending in response order: a chunk of the response
 * being sent goes to sendq, a later one waits in parked until its turn.
 */
void nu_conn_enqueue(struct nu_conn *c, struct nu_out *o);

/* c has so many requests unanswered, or so many response bytes unsent,
 * that it should not take more requests for now. */
static inline int nu_conn_owes_too_much(const struct nu_conn *c) {
  return c->next_seq - c->send_seq >= NU_CONN_PIPELINE_MAX ||
         c->queued_bytes >= NU_CONN_QUEUED_MAX;
}

/* Whether c should have a recv posted. */
static inline int nu_conn_wants_input(const struct nu_conn *c) {
  return !(c->flags & (NU_CONN_READ_DONE | NU_CONN_CLOSING | NU_CONN_JS_PAUSED |
                       NU_CONN_PARSE_PAUSED | NU_CONN_LOAD_HELD)) &&
         !nu_conn_owes_too_much(c) &&
         !((c->flags & NU_CONN_UPGRADE_HELD) &&
           c->backlog_len >= NU_CONN_HELD_MAX);
}

/* Whether c, not read for now, should be watched for its peer going away
 * (a FIN or a reset): while it owes too much, or holds an upgrade. Not
 * while JS paused it: node:http does not see a paused client go either,
 * and a FIN there may follow a body JS has still to read. */
static inline int nu_conn_wants_watch(const struct nu_conn *c) {
  return !(c->flags &
           (NU_CONN_READ_DONE | NU_CONN_CLOSING | NU_CONN_JS_PAUSED |
            NU_CONN_LINGER | NU_CONN_RECV_ARMED | NU_CONN_WATCHING)) &&
         !nu_conn_wants_input(c);
}

/* Whether any byte of the response numbered seq has been queued: then an
 * error can no longer answer that request in its place. */
int nu_conn_response_begun(const struct nu_conn *c, uint32_t seq);

/* Opens c's pipe. Returns 0, -ENOBUFS when the kernel gives it less than
 * NU_CONN_PIPE_SIZE (then it is closed, and c->pipe.reads set), or -errno. */
int nu_conn_pipe_open(struct nu_conn *c);
/* Closes c's pipe, if open, and frees its read buffer. */
void nu_conn_pipe_close(struct nu_conn *c);

/* Sets what a NU_OUT_SOCKOPT chunk's seq says (enum nu_sockopt) on the
 * socket fd, as libuv's uv_tcp_nodelay() and uv_tcp_keepalive() do.
 * Returns 0 or -errno. */
int nu_conn_sockopt(int fd, uint32_t seq);

/* Appends n bytes to c's backlog. Returns 0 or -ENOMEM. */
int nu_conn_backlog_append(struct nu_conn *c, const char *data, uint32_t n);

/* Every request JS has seen is answered (its response queued whole, if
 * not all sent yet), and none is half received. A head still arriving does
 * not count; nobody has seen it yet. */
static inline int nu_conn_is_answered(const struct nu_conn *c) {
  const uint32_t receiving_body = NU_CONN_IN_MESSAGE | NU_CONN_DISPATCHED;

  return c->send_seq == c->next_seq && c->backlog_len == 0 &&
         (c->flags & receiving_body) != receiving_body;
}

/* Answered and sent: the connection may close without cutting anything
 * off. */
static inline int nu_conn_is_idle(const struct nu_conn *c) {
  return nu_conn_is_answered(c) && c->sendq.head == NULL &&
         !(c->flags & NU_CONN_SENDING);
}

#endif
