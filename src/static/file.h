/*
 * static/: static files for the HTTP server's ring thread (server.static()):
 * the per-request state machine (file.c), conditional requests and ranges
 * (conditional.c), mounts and the path rules beneath them (mount.c), MIME
 * types (mime.c). It stands on core/ and uses http/'s dates and head lines;
 * http/ drives it.
 *
 * file: one static file response in the making (server.static()). The
 * ring thread opens the file beneath its mount's directory (openat2 with
 * RESOLVE_BENEATH: no "..", absolute path or symlink leads out of it),
 * reads its metadata (statx), decides the status (200, 206, 304, 416, a
 * redirect or an error), then reads a small body whole into the chunk that
 * carries its head, or queues a large one as splice chunks (NU_OUT_SPLICE)
 * after its head; each open, statx and read is an io_uring operation whose
 * completion brings the next step. The loop
 * drives it: nu_file_step() says what to do next, nu_file_prep() prepares
 * the operation, nu_file_complete() takes its result.
 *
 * A connection's file responses wait in a FIFO (nu_conn.files); only the
 * first one has an operation in flight.
 */
#ifndef NU_FILE_H
#define NU_FILE_H

#include <fcntl.h>
#include <liburing.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <sys/stat.h>

#include "conditional.h"
#include "head_end.h"
#include "mount.h"
#include "nu.h"

/* How much a connection may have queued unsent before a file response
 * waits to open its file or to queue its next splice chunk: each
 * connection then holds one or two files open, however many it pipelines. */
#define NU_FILE_AHEAD_MAX (256u * 1024)
/* A body larger than this is not read but spliced from the file to the
 * socket (NU_OUT_SPLICE chunks of up to NU_FILE_SPLICE_MAX bytes): no copy
 * through memory. A smaller one is cheaper read whole, and sent with its
 * head in one chunk. */
#define NU_FILE_SPLICE_MIN (64u * 1024)
#define NU_FILE_SPLICE_MAX (1u << 30)

/* Bytes of a request, borrowed until nu_file_new() returns; p is NULL for
 * a header the request does not have. */
struct nu_span {
  const char *p;
  uint32_t len;
};

/* What a request asks of a mount, gathered by the parser. */
struct nu_file_request {
  const struct nu_mount *mount;
  struct nu_span url; /* the request target as received */
  uint32_t path_len;  /* of url, up to a '?' or '#' */
  struct nu_span if_none_match, if_modified_since, range, if_range;
  uint32_t slot, gen, seq; /* the response's place */
  int keep_alive;
  int head_only; /* HEAD */
};

/* Set by nu_file_new() and the steps; the loop only reads next. */
struct nu_file {
  struct nu_file *next; /* the connection's FIFO */
  const struct nu_mount *mount;
  uint32_t slot, gen, seq;
  uint8_t keep_alive, head_only;
  uint8_t index;   /* the target names a directory: its index.html */
  uint8_t has_inm; /* If-None-Match is there, even empty */
  uint8_t has_if_range;
  uint8_t state;      /* NU_FILE_* in file.c */
  int status;         /* the response's status, once decided */
  int fd;             /* the file, once open */
  uint64_t off;       /* the next body byte to read or to splice */
  uint64_t end;       /* one past the last body byte */
  struct nu_out *out; /* head and body, the body being read into it */
  uint32_t filled;    /* body bytes in out so far */
  struct statx stx;
  struct open_how how;
  struct nu_validators val; /* once stat'ed */
  /* In bytes, each NUL-terminated: the file's relative path (path_len
   * bytes, 0 when the target alone decided the status), the target, then
   * the four header values. */
  uint32_t path_len;
  uint32_t url_off, url_len, url_path_len;
  uint32_t inm_off, inm_len, ims_off, ims_len, range_off, range_len,
      if_range_off, if_range_len;
  char bytes[];
};

/* Returns a file response for req, or NULL when out of memory. When the
 * target alone decides the answer (a bad escape, "..", a dotfile), its
 * status is set and no file is opened. */
struct nu_file *nu_file_new(const struct nu_file_request *req);
/* Frees f, closing its file and dropping the chunk it was reading. */
void nu_file_free(struct nu_file *f);

/* What the connection's response head needs from the server. */
struct nu_file_env {
  const struct nu_head_end *head_end; /* what ends every head */
  /* The connection's response bytes queued in order and unsent: what
   * goes out before anything f queues now. */
  uint64_t ahead_bytes;
  uint32_t send_seq; /* the connection's response being queued */
};

enum nu_file_step {
  NU_FILE_STEP_OP,   /* post an operation, prepared by nu_file_prep() */
  NU_FILE_STEP_SEND, /* queue *out, then step again */
  NU_FILE_STEP_WAIT, /* step again once the connection sent some bytes */
  NU_FILE_STEP_DONE, /* the response is all queued: free f */
  NU_FILE_STEP_NOMEM /* out of memory: the connection must close */
};

/* Decides f's next step; with NU_FILE_STEP_SEND, *out is a chunk of its
 * response, the last one flagged NU_OUT_END. */
enum nu_file_step nu_file_step(struct nu_file *f, const struct nu_file_env *env,
                               struct nu_out **out);

/* Prepares the operation nu_file_step() asked for. */
void nu_file_prep(struct nu_file *f, struct io_uring_sqe *sqe);

/* Takes the result of f's operation. */
void nu_file_complete(struct nu_file *f, int res);

#endif
