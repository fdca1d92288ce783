/*
 * nu.h: the C core's interface to its one C++ caller, addon.cc. Plain C, no
 * atomics, so that C++ can include it.
 *
 * A struct nu_server is one listening socket served by one ring thread. The
 * JS thread starts and stops it and hands it response chunks; the ring
 * thread hands the JS thread batches of events through a callback.
 */
#ifndef NU_H
#define NU_H

#include <linux/io_uring.h>
#include <linux/time_types.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A server's batch holds records whose format http/batch.h defines (the
 * NU_EV_* kinds, each kind's fields, the NU_REQ_* bits); a queue's holds
 * its completed operations. */

struct nu_op;

/* Allocated by the ring thread, owned by whoever holds it. A server's
 * batch carries events in words and bytes; a queue's carries the
 * operations that completed, oldest first, freed with the batch (by
 * clear, which its queue sets: core knows nothing of operations). */
struct nu_batch {
  struct nu_batch *next; /* pool link */
  uint32_t *words;
  uint32_t nwords, cap_words;
  char *bytes;
  uint32_t nbytes, cap_bytes;
  struct nu_op *ops, *ops_last;
  int last; /* the ring thread's last batch: it is exiting */
  /* A server's batch whose records are all one connection's: its slot + 1
   * in the high half, its generation in the low one; 0 otherwise. */
  uint64_t conn;
  /* Set on delivery: JS takes it in the same call as the batch before it
   * (see src/addon/context.h). */
  int joins;
  /* Frees what the owner keeps in the batch beyond words and bytes. */
  void (*clear)(struct nu_batch *b);
};

/* Frees a batch outright, for when its owner may be gone already. */
void nu_batch_free(struct nu_batch *b);

/* Bits of a chunk's flags. CHUNKED frames the body as one HTTP chunk and,
 * with END, adds the last chunk. PAUSE and RESUME carry no bytes: they stop
 * and restart reading the connection (JS holds enough of a request body);
 * nor does NOTIFY (JS holds enough unsent response bytes). */
#define NU_OUT_END 1u   /* last chunk of the response numbered seq */
#define NU_OUT_CLOSE 2u /* close the connection once this chunk is sent */
#define NU_OUT_CHUNKED 4u
#define NU_OUT_PAUSE 8u
#define NU_OUT_RESUME 16u
/* Carries no bytes: asks for a DRAIN event once the connection's queued
 * chunks, this one's predecessors included, are all sent. */
#define NU_OUT_NOTIFY 32u
/* Carries no bytes: closes the connection at once, whatever it owes. */
#define NU_OUT_ABORT 64u
/* Its len body bytes are not in data but in the file fd from file_off on,
 * spliced to the socket without a copy (static files; see file.h). The
 * chunk owns fd. */
#define NU_OUT_SPLICE 128u
/* Raw mode, for a connection whose request had NU_REQ_UPGRADE (batch.h):
 * the chunk's bytes (head and body, either may be empty) go out as they
 * are, no framing, after every response chunk queued before it (seq is
 * ignored: the connection has no more responses). The first RAW chunk
 * switches the connection to raw mode: what it received after the
 * upgrade request, and all it receives from then on, comes to JS as DATA
 * records, and no HTTP timeout applies to it any more. */
#define NU_OUT_RAW 256u
/* With RAW: once this chunk is sent, the write side is shut
 * (shutdown(SHUT_WR)); the connection closes when the peer's FIN is in
 * too. */
#define NU_OUT_SHUTDOWN 512u
/* Carries no bytes: the upgrade request the ring thread holds is an
 * ordinary request after all (nobody takes the upgrade): parsing goes on
 * after it, as HTTP. */
#define NU_OUT_PARSE 1024u
/* WebSocket mode, for a connection whose upgrade JS accepted (held, or
 * raw already): the head bytes (the 101 response) go out as a RAW chunk's
 * do; then the connection's input is parsed as WebSocket frames on the
 * ring thread (http/wsconn.h), which hands JS whole messages (WS records,
 * batch.h) and answers pings and close frames itself. The body bytes are
 * not sent: they are input JS received in raw mode before, parsed first.
 * ws.max_message is the largest message taken (0: as many bytes as a
 * batch holds), past which the connection closes with 1009; the rest of
 * ws says how the ring thread keeps the connection (struct nu_ws_options). */
#define NU_OUT_WS_OPEN 2048u
/* A WebSocket frame, built whole (nu_ws_frame_header(), ws/frame.h), for
 * a connection in WebSocket mode; dropped once the connection's close
 * frame is sent. With WS_CLOSE, it is that close frame. */
#define NU_OUT_WS 4096u
#define NU_OUT_WS_CLOSE 8192u
/* WebSocket pub/sub (nu_server_topic_new()): carries no frame to send;
 * seq says what it does with the topic, the head bytes. */
#define NU_OUT_WS_TOPIC 16384u
/* Its bytes are not in data but in a frame it shares (struct nu_frame):
 * one publish's frame, sent to each subscriber without a copy. */
#define NU_OUT_SHARED 32768u
/* With ABORT: the connection is reset rather than closed (an RST, as
 * net.Socket's resetAndDestroy() sends), dropping all it owes. */
#define NU_OUT_RESET 65536u
/* Carries no bytes: sets an option of the connection's socket, at once
 * (net.Socket's setNoDelay() and setKeepAlive()); seq says which. */
#define NU_OUT_SOCKOPT 131072u

/* What a NU_OUT_SOCKOPT chunk sets, in the low bits of its seq. With
 * KEEPALIVE_ON, the bits above NU_SOCKOPT_SHIFT are the idle seconds
 * before the first probe (TCP_KEEPIDLE; 0 keeps the system's). */
enum nu_sockopt {
  NU_SOCKOPT_NODELAY_OFF,
  NU_SOCKOPT_NODELAY_ON,
  NU_SOCKOPT_KEEPALIVE_OFF,
  NU_SOCKOPT_KEEPALIVE_ON
};
#define NU_SOCKOPT_SHIFT 4

/* What a NU_OUT_WS_TOPIC chunk does, in its seq. */
enum nu_ws_topic_action {
  NU_WS_SUBSCRIBE,   /* connection (slot, gen) joins the topic */
  NU_WS_UNSUBSCRIBE, /* and leaves it */
  NU_WS_PUBLISH,     /* the frame goes to each subscriber, but (slot, gen) */
};
/* A slot no connection has: a publish that skips nobody. */
#define NU_WS_NOBODY 0xffffffffu

/* What the ring thread does for a WebSocket on its own (NU_OUT_WS_OPEN),
 * besides answering pings and close frames. */
struct nu_ws_options {
  uint64_t max_message;      /* see NU_OUT_WS_OPEN */
  uint32_t max_backpressure; /* unsent bytes past which a publish skips it;
                                0: none */
  uint16_t idle_s;           /* seconds without input before it closes; 0:
                                never */
  uint8_t close_on_limit;    /* past max_backpressure a publish closes it */
  uint8_t send_pings;        /* idle half of idle_s, it is pinged */
};

struct nu_frame;

/* Its body is not in data but lent: body_len bytes at lent.bytes, which
 * the JS thread keeps alive, and leaves as they are, until the ring
 * thread reports the chunk done with (a RELEASED record with lent.id,
 * batch.h). data holds the head, then the chunked framing: the size line
 * before the body (body_off), the rest after it. Set by
 * nu_server_out_lend(), never by JS. */
#define NU_OUT_LENT (1u << 20)

struct nu_out_pool;
struct nu_server;

/* A lent body (NU_OUT_LENT). */
struct nu_out_lent {
  const char *bytes;
  uint32_t id; /* the JS thread's name for it */
};

/* One piece of a response, allocated by nu_out_new() on the JS thread and
 * freed by the ring thread with nu_out_free() once sent or dropped. */
struct nu_out {
  struct nu_out *next;
  struct nu_out_pool *pool; /* where its memory goes back to, or NULL */
  unsigned size_index;      /* its size in pool (see out_pool.h) */
  uint32_t slot, gen, seq, flags;
  uint32_t len; /* bytes in data (and the lent body for NU_OUT_LENT), or in
                   the file for NU_OUT_SPLICE */
  uint32_t head_len; /* data[0, head_len): the response head, if any */
  uint32_t body_off; /* data[body_off, body_off + body_len): the body; lent,
                        where the framing after it is */
  uint32_t body_len;
  int fd; /* NU_OUT_SPLICE: the file, else -1 */
  union {
    uint64_t file_off;     /* NU_OUT_SPLICE: where its bytes start in the file */
    struct nu_ws_options ws; /* NU_OUT_WS_OPEN: see there */
    struct nu_frame *frame;  /* NU_OUT_SHARED: its bytes, one reference */
    struct nu_out_lent lent; /* NU_OUT_LENT: see there */
  };
  char data[];
};

/* The largest head plus body one chunk carries. */
#define NU_OUT_MAX ((uint32_t)0xffffff00u)

/*
 * Allocates a chunk with room for head_len head bytes and body_len body
 * bytes plus their chunked framing. The caller copies the head to data and
 * the body to data + body_off (each may write one NUL past its end), then
 * calls nu_out_seal(). Returns NULL when out of memory, or when head_len +
 * body_len exceeds NU_OUT_MAX.
 */
struct nu_out *nu_out_new(uint32_t slot, uint32_t gen, uint32_t seq,
                          uint32_t flags, size_t head_len, size_t body_len);
/* The same, on the JS thread, in memory from the server's pool of used
 * chunks (see src/http/out_pool.h). */
struct nu_out *nu_server_out_new(struct nu_server *s, uint32_t slot,
                                 uint32_t gen, uint32_t seq, uint32_t flags,
                                 size_t head_len, size_t body_len);
/* The same, its body_len body bytes lent (NU_OUT_LENT): only head_len
 * and the framing are copied, to data; bytes must stay as they are until
 * the ring thread's RELEASED record for id. Returns NULL as
 * nu_server_out_new() does. */
struct nu_out *nu_server_out_lend(struct nu_server *s, uint32_t slot,
                                  uint32_t gen, uint32_t seq, uint32_t flags,
                                  size_t head_len, const void *bytes,
                                  size_t body_len, uint32_t id);
/* A NU_OUT_SPLICE chunk of len bytes of fd from off, taking fd (closed
 * here when out of memory). */
struct nu_out *nu_out_new_splice(uint32_t slot, uint32_t gen, uint32_t seq,
                                 uint32_t flags, int fd, uint64_t off,
                                 uint32_t len);
/* Frames shared by the chunks of a publish, on every ring it reaches:
 * len bytes the caller fills, counted references, freed with the last
 * (any thread). nu_frame_new() returns one reference, or NULL; its
 * data has room for a NUL past len. */
struct nu_frame *nu_frame_new(size_t len);
char *nu_frame_data(struct nu_frame *f);
void nu_frame_unref(struct nu_frame *f);
/* A NU_OUT_WS_TOPIC chunk of s for connection (slot, gen) (NU_WS_NOBODY:
 * none) doing action with the topic's len bytes; a publish takes a
 * reference to frame, a whole frame built by nu_ws_frame_header(). NULL
 * when out of memory. */
struct nu_out *nu_server_topic_new(struct nu_server *s, uint32_t slot,
                                   uint32_t gen,
                                   enum nu_ws_topic_action action,
                                   const char *topic, size_t len,
                                   struct nu_frame *frame);
/* Writes the chunked framing around the body, once head and body are in. */
void nu_out_seal(struct nu_out *o);
void nu_out_free(struct nu_out *o);

/*
 * Opens a TCP socket listening on host:port with SO_REUSEADDR (and
 * SO_REUSEPORT when reuse_port is set). host is a numeric IPv4 or IPv6
 * address; NULL means every address, IPv6 and IPv4 alike when the kernel
 * allows. Port 0 picks a free port, returned in *bound_port either way.
 * Returns 0 and the socket in *fd, or -errno with *op naming the call that
 * failed ("socket", "bind", "listen").
 */
int nu_listen(const char *host, int port, int backlog, int reuse_port, int *fd,
              int *bound_port, const char **op);

/* The same on a Unix domain socket bound to path (which must not exist:
 * EADDRINUSE; removing it once done is the caller's, as libuv does at a
 * pipe server's close). A path past sun_path's 107 bytes is ENAMETOOLONG. */
int nu_listen_unix(const char *path, int backlog, int *fd, const char **op);

struct nu_server;

/* Called on the ring thread. deliver() receives a full batch, whose
 * ownership passes to the callee until it calls nu_server_batch_done().
 * exited() is the ring thread's last call; nothing is delivered after it. */
typedef void (*nu_deliver_fn)(void *ctx, struct nu_batch *b);
typedef void (*nu_exited_fn)(void *ctx);

/* A fixed response the ring thread sends by itself to GET and HEAD of
 * path ("*": any path), its query ignored: JS builds the head (status
 * line and headers, Content-Length included, no blank line); the ring
 * thread ends it with the connection's lines and Date (see http/head_end.h)
 * and adds the body (not for HEAD). Copied by nu_server_start(). */
struct nu_route_spec {
  const char *path;
  size_t path_len;
  const char *head;
  size_t head_len;
  const char *body;
  size_t body_len;
};

/* A directory served by the ring thread under a URL prefix (server.static(),
 * see mount.h and file.h). Copied, and the directory opened, by
 * nu_server_start(). */
struct nu_mount_spec {
  const char *prefix; /* "/" or "/dir", no trailing slash */
  size_t prefix_len;
  const char *root; /* the directory's path, NUL-terminated */
};

struct nu_server_config {
  int listen_fd;               /* a listening socket, owned by the server from a
                                  successful nu_server_start() on */
  uint32_t sq_entries;         /* SQ size; the CQ is four times larger */
  uint32_t max_header_size;    /* bytes of url and headers before a 431 */
  uint64_t max_body_size;      /* request body bytes before a 413; 0: none */
  int host_optional; /* HTTP/1.1 without Host is served (requireHostHeader:
                        false); 0: 400, as RFC 9112 asks */
  uint32_t headers_timeout_ms; /* 0 disables; see timeout.h */
  uint32_t request_timeout_ms;
  uint32_t keep_alive_timeout_ms;
  uint32_t socket_timeout_ms; /* server.timeout: see NU_EV_TIMEOUT */
  /* Load bounds (struct nu_load in http/conn.h); 0: none. Past the
   * requests or the bytes JS has not answered or taken, nothing new is
   * read; past max_held connections held so, nothing is accepted. */
  uint32_t max_queued_requests;
  uint64_t max_queued_bytes;
  uint32_t max_held_connections;
  const struct nu_route_spec *routes; /* the first match wins */
  uint32_t nroutes;
  const struct nu_mount_spec *mounts; /* after the routes; first match wins */
  uint32_t nmounts;
  nu_deliver_fn deliver;
  nu_exited_fn exited;
  void *ctx;
  /* No ring thread: the calling thread drives the ring (see
   * nu_server_turn()), and deliver() and exited() are called on it. */
  int inline_mode;
};

/*
 * Starts a ring thread serving cfg->listen_fd and returns once its ring is
 * set up. Returns 0 and the server in *out, or -errno with *op naming what
 * failed ("io_uring_setup", "io_uring_register", "eventfd", "open" for a
 * mount's directory, ...), in which
 * case the thread is gone and the caller still owns listen_fd.
 */
int nu_server_start(const struct nu_server_config *cfg, struct nu_server **out,
                    const char **op);

/* Queues a response chunk; the ring thread gets it at the next
 * nu_server_flush(). Only ever from the thread that flushes (JS's). */
void nu_server_send(struct nu_server *s, struct nu_out *o);

/* Queues a publish of frame (a whole frame, or several) to s's
 * subscribers of the topic's len bytes, but connection (slot, gen)
 * (NU_WS_NOBODY: none), as nu_server_send() does. When the chunk queued
 * just before is a publish to the same topic, skipping the same
 * connection, and both together stay within NU_PUBLISH_MERGE_MAX, it
 * takes frame's bytes instead: its subscribers get both in one chunk.
 * The caller keeps its reference to frame (a chunk queued takes its
 * own). 0, or -ENOMEM. */
int nu_server_publish(struct nu_server *s, uint32_t slot, uint32_t gen,
                      const char *topic, size_t len, struct nu_frame *frame);
/* The bytes of publishes merged into one chunk at most: a subscriber's
 * backpressure limit (nu_ws_options) is checked once for them all. */
#define NU_PUBLISH_MERGE_MAX (16u * 1024)

/* Hands the ring thread what was queued, and wakes it to send it. Cheap
 * when it is awake. */
void nu_server_flush(struct nu_server *s);

/* How a stop (nu_server_stop()) closes the connections; each is stronger
 * than the one before. */
enum nu_stop {
  /* node:http's close(): the idle connections close, the others are
   * served as before (keep-alive included) until they are idle past the
   * Keep-Alive timeout or their client closes them. */
  NU_STOP_CLOSE = 1,
  /* Each connection closes once it is idle (drainOnClose). */
  NU_STOP_DRAIN = 2,
  /* Every connection closes at once. */
  NU_STOP_FORCE = 3
};

/*
 * Asks the ring thread to stop: it stops accepting, closes the connections
 * as how says, then exits once none is left. Any thread, any number of
 * times; a request only ever strengthens an earlier one.
 */
void nu_server_stop(struct nu_server *s, enum nu_stop how);

/* Closes every connection now, responses in flight included; the server
 * keeps accepting. Any thread. */
void nu_server_close_connections(struct nu_server *s);

/* Closes the connections idle now, as node:http's closeIdleConnections():
 * no request being read or answered, nothing of a response left to send.
 * One whose responses have all ended (before this call), some of them
 * still going out, closes once they are sent; but for (slot, gen) when
 * spare is set: the connection whose request JS is handling as it calls,
 * which node:http's parser still counts as busy. The others are left as
 * they are. The sending thread (its responses are handed over first). */
void nu_server_close_idle_connections(struct nu_server *s, int spare,
                                      uint32_t slot, uint32_t gen);

/* Whether a request that cannot be parsed (or whose head times out) goes
 * to JS as a CLIENT_ERROR record (batch.h), JS answering it on the
 * connection, rather than being answered by the ring thread (400, 408,
 * 431; node:http's default without a 'clientError' listener). Off at
 * start. Any thread; errors already reported keep their course. */
void nu_server_set_client_errors(struct nu_server *s, int to_js);

/* The config's headers, request, keep-alive and socket timeouts (ms, 0:
 * none), set again after the start, as node:http reads them at each use:
 * from the ring thread's next turn on, they are the ones its connections,
 * open or to come, are held to, and the Keep-Alive line of the responses
 * it builds says the new keep-alive. Any thread. */
void nu_server_set_timeouts(struct nu_server *s, uint32_t headers_ms,
                            uint32_t request_ms, uint32_t keep_alive_ms,
                            uint32_t socket_ms);

/* Waits for the ring thread to exit. Idempotent. Inline, it runs the
 * loop to its end here, blocking, unless it ended already: for a server
 * stopped (nu_server_stop()) whose JS is going away. */
void nu_server_join(struct nu_server *s);

/* Inline mode (cfg->inline_mode), on the thread that started s: the fd
 * that is readable when s needs a turn (an eventfd the kernel signals on
 * completions), and the turn, which never blocks, and calls deliver() (and
 * on the last, exited()) from inside. Outside a turn, nu_server_flush(),
 * _stop() and _close_connections() submit at once. */
int nu_server_fd(const struct nu_server *s);
void nu_server_turn(struct nu_server *s);

/* Gives back a batch that deliver() handed over. Any thread. */
void nu_server_batch_done(struct nu_server *s, struct nu_batch *b);

/* Frees s; the ring thread must have been joined. */
void nu_server_destroy(struct nu_server *s);

/* How many connections the ring thread holds open (accepted and not yet
 * released), as of a moment ago. Any thread. */
unsigned nu_server_live_connections(struct nu_server *s);

/* Where a server stands against its load bounds, as of its ring thread's
 * last turn. */
struct nu_server_stats {
  uint32_t connections;      /* open (accepted, not yet released) */
  uint32_t requests_queued;  /* received, their response not yet queued */
  uint64_t bytes_queued;     /* of batches JS has not taken yet */
  uint64_t bytes_unsent;     /* response bytes queued, not yet sent */
  uint32_t connections_held; /* not read until JS catches up */
  int overloaded;            /* past a bound: nothing new is read */
  int accepting;             /* 0 while accepting is stopped for load */
};

/* Fills *st. Any thread. */
void nu_server_stats(struct nu_server *s, struct nu_server_stats *st);

/* The IORING_SETUP_* flags the kernel accepted for s's ring. */
unsigned nu_server_setup_flags(const struct nu_server *s);

/* ---- The Ring API: io_uring operations that JS starts, run by a ring
 * thread of their own, their completions handed back in batches. ---- */

/* One operation, allocated by a constructor below (on the JS thread),
 * staged with nu_queue_stage(), and given back in a batch with res set;
 * freed with the batch (or with nu_op_free() if never staged). The
 * constructor maps its arguments to the SQE once and for all; the ring
 * thread only copies it. JS reads id and res; the rest is the queue's. */
struct nu_op {
  struct nu_op *next;
  uint32_t id;                 /* the caller's name for it */
  int32_t res;                 /* the CQE's result, once complete */
  uint8_t opcode;              /* IORING_OP_* */
  uint8_t sqe_flags;           /* IOSQE_IO_LINK when the next op waits for it */
  uint64_t target;             /* ASYNC_CANCEL: the op it cancels, by handle */
  struct __kernel_timespec ts; /* TIMEOUT: how long */
  struct io_uring_sqe sqe;     /* prepared; points into ts or data */
  uint32_t data_len;
  /* A path, iovecs or a sockaddr, made by the constructor. */
  char data[] __attribute__((aligned(8)));
};

/*
 * Constructors, one per family of operations, each for the opcodes named.
 * Each returns 0 and the op in *op; or -EINVAL, *op NULL, when opcode is
 * not one of its family's (or an argument cannot be mapped, as said);
 * or -ENOMEM, *op NULL. Buffers (buf, statx_buf, the iovecs' memory) are
 * the caller's, and must stay valid until the op completes.
 */

/* READ and WRITE len bytes at buf from file position off (-1: the current
 * one); RECV and SEND with msg flags. */
int nu_op_new_rw(uint8_t opcode, uint32_t id, int fd, void *buf, uint32_t len,
                 uint64_t off, uint32_t flags, struct nu_op **op);
/* READV and WRITEV at file position off: room for niov iovecs, which the
 * caller fills through nu_op_iov() before staging. */
int nu_op_new_rwv(uint8_t opcode, uint32_t id, int fd, uint32_t niov,
                  uint64_t off, struct nu_op **op);
struct iovec *nu_op_iov(struct nu_op *op);
/* OPENAT (open flags, mode) and STATX (statx flags, mode is the mask,
 * 256 bytes of result at statx_buf) of path, len bytes, copied. */
int nu_op_new_path(uint8_t opcode, uint32_t id, const char *path, size_t len,
                   uint32_t flags, uint32_t mode, void *statx_buf,
                   struct nu_op **op);
/* NOP, CLOSE, FSYNC (fsync flags) and ACCEPT (accept4 flags) on fd. */
int nu_op_new_fd(uint8_t opcode, uint32_t id, int fd, uint32_t flags,
                 struct nu_op **op);
/* SOCKET, as socket(domain, type, protocol). */
int nu_op_new_socket(uint32_t id, int domain, uint32_t type, uint32_t protocol,
                     struct nu_op **op);
/* CONNECT fd to a numeric IPv4 or IPv6 address (-EINVAL when address is
 * not one). */
int nu_op_new_connect(uint32_t id, int fd, const char *address, int port,
                      struct nu_op **op);
/* TIMEOUT after ms milliseconds (-EINVAL when negative or NaN). */
int nu_op_new_timeout(uint32_t id, double ms, struct nu_op **op);
/* ASYNC_CANCEL of the op staged under handle target. */
int nu_op_new_cancel(uint32_t id, uint64_t target, struct nu_op **op);
void nu_op_free(struct nu_op *op);

struct nu_queue;

struct nu_queue_config {
  uint32_t sq_entries;
  uint32_t cq_entries;     /* also the most operations in flight */
  int sqpoll;              /* a kernel thread polls the SQ */
  uint32_t sq_thread_idle; /* ms before that thread sleeps */
  nu_deliver_fn deliver;
  nu_exited_fn exited;
  void *ctx;
};

/*
 * Starts a ring thread for operations and returns once its ring is set up.
 * Returns 0 and the queue in *out, or -errno with *op naming what failed.
 */
int nu_queue_start(const struct nu_queue_config *cfg, struct nu_queue **out,
                   const char **op);

/* JS thread only. Stages op for the next nu_queue_submit(). While linking
 * is on, each staged op is linked to the one staged after it; turning it
 * off ends the chain at the last op staged. */
void nu_queue_stage(struct nu_queue *q, struct nu_op *op);
void nu_queue_link(struct nu_queue *q, int on);

/* JS thread only: hands every staged op to the ring thread, which submits
 * them together. Ops beyond cq_entries in flight wait their turn there. */
void nu_queue_submit(struct nu_queue *q);

/* Asks the ring thread to cancel everything in flight, complete what was
 * not submitted with -ECANCELED, deliver it all, and exit. Any thread. */
void nu_queue_stop(struct nu_queue *q);
/* Waits for the ring thread to exit and closes what it used. JS thread. */
void nu_queue_join(struct nu_queue *q);
void nu_queue_batch_done(struct nu_queue *q, struct nu_batch *b);
/* Frees q; the ring thread must have been joined. */
void nu_queue_destroy(struct nu_queue *q);
unsigned nu_queue_setup_flags(const struct nu_queue *q);

/* The IORING_OP_* codes the liburing compiled in knows: 0 .. count - 1. */
unsigned nu_probe_op_count(void);
/* "NOP", "READV", ...: the op's name without IORING_OP_, or NULL. */
const char *nu_probe_op_name(unsigned op);
/* Sets supported[op] to 1 or 0 for each of the count ops. Returns 0 or
 * -errno when no ring could be set up to ask the kernel. */
int nu_probe(unsigned char *supported, unsigned count);

/* QUERY, which llhttp 9 numbers so and scripts/llhttp_patch.js teaches
 * Debian's llhttp 8.1: past the methods its header lists. */
#define NU_HTTP_QUERY 46u

/* The name of llhttp method number method (below 256), or NULL for a
 * number no method has. */
const char *nu_http_method_name(unsigned method);

/* The llhttp version compiled in, "major.minor.patch". */
const char *nu_llhttp_version(void);

/* Entry i of the static files' MIME table (static/mime.c): its lower-case
 * extension and its type. lib/static.js has a copy for the node backend,
 * which a test holds equal to this one. Returns 0, or -1 past the end. */
int nu_mime_entry(uint32_t i, const char **ext, const char **type);

#ifdef __cplusplus
}
#endif

#endif
