/*
 * http_fuzz: libFuzzer over the C request path, without sockets. The input
 * is a client's bytes, cut into reads of varying sizes; the harness plays
 * the ring thread's part around nu_http_parse(): it answers requests as JS
 * would (some at once, some later), resumes a paused parser as the loop
 * does, and checks every event it is handed stays inside its batch. Static
 * file responses get made-up completions: a missing file or /dev/null
 * passed off as a regular file of any size and date, read in full, short,
 * or cut off.
 *
 *   npm run fuzz -- -max_total_time=60
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "file.h"
#include "fuzz.h"
#include "http.h"
#include "route.h"

/* The first input byte seeds how reads are cut and requests answered;
 * the second picks the header size limit. */
struct nu__fuzz_plan {
  uint32_t state;
};

static uint32_t nu__fuzz_next(struct nu__fuzz_plan *p) {
  p->state = p->state * 1103515245u + 12345u;
  return p->state >> 16;
}

/* The requests JS has and has not answered yet, oldest first. */
struct nu__fuzz_owed {
  uint32_t seq[2048];
  uint32_t head, tail;
};

/* Checks a record of strings laid back to back (REQUEST, TRAILERS) at w,
 * left words before the batch's end, whose offset, count and lengths are
 * at off_at, nlens_at and lens_at: the lengths are in the words, the
 * strings in the bytes. Returns the count. */
static uint32_t nu__fuzz_fields(const struct nu_batch *b, const uint32_t *w,
                                uint32_t left, uint32_t off_at,
                                uint32_t nlens_at, uint32_t lens_at) {
  uint32_t nlens;
  uint64_t end;

  NU__CHECK(left >= lens_at);
  nlens = w[nlens_at];
  NU__CHECK(left >= lens_at + (uint64_t)nlens);
  end = w[off_at];
  for (uint32_t k = 0; k < nlens; k++)
    end += w[lens_at + k];
  NU__CHECK(end <= b->nbytes);
  return nlens;
}

/* Walks the records appended since word `from`, laid out as batch.h
 * says: each record is whole, and every offset and length it carries
 * stays inside the batch's bytes. Notes each request in owed. */
static void nu__fuzz_check(const struct nu_batch *b, uint32_t from,
                           struct nu__fuzz_owed *owed) {
  uint32_t i = from;

  while (i < b->nwords) {
    const uint32_t *w = b->words + i;
    uint32_t left = b->nwords - i;

    switch (w[NU_REC_KIND]) {
    case NU_EV_REQUEST: {
      uint32_t nlens = nu__fuzz_fields(b, w, left, NU_REQUEST_HEAD_OFF,
                                       NU_REQUEST_NLENS, NU_REQUEST_LENS);

      NU__CHECK(nlens % 2 == 1); /* the url, then name-value pairs */
      NU__CHECK(owed->tail - owed->head < 2048);
      owed->seq[owed->tail++ % 2048] = w[NU_REQUEST_SEQ];
      i += NU_REQUEST_WORDS + nlens;
      break;
    }
    case NU_EV_TRAILERS: {
      uint32_t nlens = nu__fuzz_fields(b, w, left, NU_TRAILERS_HEAD_OFF,
                                       NU_TRAILERS_NLENS, NU_TRAILERS_LENS);

      NU__CHECK(nlens > 0 && nlens % 2 == 0); /* name-value pairs */
      i += NU_TRAILERS_WORDS + nlens;
      /* Just before its body's END. */
      NU__CHECK(i < b->nwords && b->words[i + NU_REC_KIND] == NU_EV_END);
      break;
    }
    case NU_EV_BODY:
      NU__CHECK(left >= NU_BODY_WORDS &&
                (uint64_t)w[NU_BODY_OFF] + w[NU_BODY_LEN] <= b->nbytes);
      i += NU_BODY_WORDS;
      break;
    case NU_EV_END:
      NU__CHECK(left >= NU_END_WORDS);
      i += NU_END_WORDS;
      break;
    case NU_EV_CLOSE:
      NU__CHECK(left >= NU_CLOSE_WORDS);
      i += NU_CLOSE_WORDS;
      break;
    default:
      NU__CHECK(0);
    }
  }
}

/* The ring thread writes out all it can: whatever sendq holds. */
static void nu__fuzz_send(struct nu_conn *c) {
  struct nu_out *o;

  while ((o = nu__fuzz_sent(c)) != NULL) {
    nu_out_free(o);
  }
}

/* JS answers the oldest request it owes, and the answer goes out with
 * whatever routes answered before it. */
static void nu__fuzz_answer(struct nu_conn *c, struct nu__fuzz_owed *owed) {
  struct nu_out *o;

  if (owed->head == owed->tail)
    return;
  o = nu_out_new(c->slot, c->gen, owed->seq[owed->head++ % 2048], NU_OUT_END, 0,
                 0);
  NU__CHECK(o != NULL);
  nu_conn_enqueue(c, o);
  nu__fuzz_send(c);
}

/* Routes for /r and /health, as server.route() makes them. */
static const struct nu_routes *nu__fuzz_routes(void) {
  static struct nu_routes rt;
  static const struct nu_route_spec specs[] = {
      {"/r", 2, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n", 36, "ok", 2},
      {"/health", 7, "HTTP/1.1 204 No Content\r\n", 25, "", 0},
  };

  if (rt.n == 0)
    NU__CHECK(nu_routes_init(&rt, specs, 2) == 0);
  return &rt;
}

/* A mount of "/s", and one of "/" behind it. */
static const struct nu_mounts *nu__fuzz_mounts(void) {
  static struct nu_mounts m;
  static const struct nu_mount_spec specs[] = {{"/s", 2, "/"}, {"/", 1, "/"}};
  const char *op;

  if (m.n == 0)
    NU__CHECK(nu_mounts_init(&m, specs, 2, &op) == 0);
  return &m;
}

/* Completes the operation f posted into sqe as the kernel might have. */
static void nu__fuzz_complete(struct nu_file *f, const struct io_uring_sqe *sqe,
                              struct nu__fuzz_plan *plan) {
  uint32_t r = nu__fuzz_next(plan);

  switch (sqe->opcode) {
  case IORING_OP_OPENAT2:
    NU__CHECK(((const char *)(uintptr_t)sqe->addr)[0] != '/');
    nu_file_complete(f, r % 4 ? open("/dev/null", O_RDONLY) : -ENOENT);
    break;
  case IORING_OP_STATX: {
    struct statx *sx = (struct statx *)(uintptr_t)sqe->off;

    memset(sx, 0, sizeof(*sx));
    sx->stx_mode = r % 8 ? S_IFREG : S_IFDIR;
    sx->stx_size = r % 3 ? (uint64_t)nu__fuzz_next(plan) % 4096 : 0;
    sx->stx_mtime.tv_sec = 784111777 + r % 1024;
    nu_file_complete(f, 0);
    break;
  }
  case IORING_OP_READ:
    NU__CHECK(sqe->len > 0 && sqe->len <= NU_FILE_SPLICE_MIN);
    memset((void *)(uintptr_t)sqe->addr, 'x', sqe->len);
    nu_file_complete(f, r % 8 ? (int)sqe->len
                              : (r % 16 ? (int)(sqe->len / 2) : 0));
    break;
  default:
    NU__CHECK(0);
  }
}

/* Plays the loop's part for the connection's file responses. */
static void nu__fuzz_files(struct nu_conn *c, const struct nu_head_end *end,
                           struct nu__fuzz_plan *plan) {
  struct nu_file_env env = {end, 0, 0};
  struct nu_file *f;
  struct nu_out *o;
  struct io_uring_sqe sqe;

  while ((f = c->files) != NULL) {
    env.ahead_bytes = c->queued_bytes - c->parked_bytes;
    env.send_seq = c->send_seq;
    switch (nu_file_step(f, &env, &o)) {
    case NU_FILE_STEP_OP:
      memset(&sqe, 0, sizeof(sqe));
      nu_file_prep(f, &sqe);
      nu__fuzz_complete(f, &sqe, plan);
      break;
    case NU_FILE_STEP_SEND:
      NU__CHECK(o->slot == c->slot && o->len >= o->body_len);
      nu_conn_enqueue(c, o);
      nu__fuzz_send(c);
      break;
    case NU_FILE_STEP_WAIT:
      return; /* for JS to answer a request before it */
    case NU_FILE_STEP_DONE:
      c->files = f->next;
      nu_file_free(f);
      break;
    case NU_FILE_STEP_NOMEM:
      NU__CHECK(0);
    }
  }
}

/* Parses len bytes at at (none: nothing to parse) as the loop would, then
 * checks the records it wrote, sends what routes answered, and drives the
 * static files it started. Returns nu_http_parse()'s status. */
static int nu__fuzz_parse(struct nu_conn *c, struct nu_batch *b,
                          const struct nu_http_limits *limits, const char *at,
                          size_t len, struct nu__fuzz_owed *owed,
                          struct nu__fuzz_plan *plan) {
  uint32_t from = b->nwords;
  int status = len ? nu_http_parse(c, b, limits, at, len) : 0;

  nu__fuzz_check(b, from, owed);
  nu__fuzz_send(c);
  nu__fuzz_files(c, limits->head_end, plan);
  return status;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static llhttp_settings_t settings;
  static int settings_ready;
  static struct nu_date date;
  static struct nu_head_end head_end;
  struct nu_conn_table table;
  struct nu_batch *b = calloc(1, sizeof(*b));
  struct nu__fuzz_plan plan;
  static struct nu__fuzz_owed owed;
  struct nu_http_limits limits;
  struct nu_conn *c;
  size_t off = 2;

  if (size < 2 || b == NULL) {
    free(b);
    return 0;
  }
  if (!settings_ready) {
    nu_http_settings_init(&settings);
    nu_date_tick(&date);
    nu_head_end_init(&head_end, &date, 5000);
    settings_ready = 1;
  }
  plan.state = data[0];
  memset(&limits, 0, sizeof(limits));
  limits.max_header_size = data[1] & 1 ? 16384 : 64 + data[1];
  if (data[1] & 2)
    limits.max_body_size = 100;
  if (data[1] & 4)
    limits.routes = nu__fuzz_routes();
  if (data[1] & 8)
    limits.mounts = nu__fuzz_mounts();
  limits.head_end = &head_end;
  memset(&table, 0, sizeof(table));
  limits.spare = &table.spare_head; /* heads park between messages */
  c = nu_conn_acquire(&table);
  NU__CHECK(c != NULL);
  c->fd = 3; /* not a real socket: nothing here does I/O */
  owed.head = owed.tail = 0;
  nu_http_conn_init(c, &settings);

  while (off < size && !(c->flags & NU_CONN_PARSE_DONE)) {
    size_t n = 1 + nu__fuzz_next(&plan) % 64;
    int status;

    if (n > size - off)
      n = size - off;
    status = nu__fuzz_parse(c, b, &limits, (const char *)data + off, n, &owed,
                            &plan);
    off += n;
    if (nu__fuzz_next(&plan) % 4)
      nu__fuzz_answer(c, &owed);
    /* Now and then JS catches up on everything, and the loop resumes a
     * parser that paused on a pipelining flood, as after a send. */
    if (nu__fuzz_next(&plan) % 8 == 0)
      while (owed.head != owed.tail)
        nu__fuzz_answer(c, &owed);
    while (status == 0 && (c->flags & NU_CONN_PARSE_PAUSED) &&
           !nu_conn_owes_too_much(c)) {
      nu_http_resume(c);
      status = nu__fuzz_parse(c, b, &limits, c->backlog, c->backlog_len, &owed,
                              &plan);
    }
    /* An upgrade JS gets: half the time it takes the connection (no more
     * HTTP), else the held input is parsed on as HTTP. */
    if (status == 0 && (c->flags & NU_CONN_UPGRADE_HELD)) {
      if (nu__fuzz_next(&plan) % 2)
        break;
      nu_http_continue(c);
      status = nu__fuzz_parse(c, b, &limits, c->backlog, c->backlog_len, &owed,
                              &plan);
    }
    if (status > 0) {
      /* As the loop does: a failed body is answered in its request's place. */
      uint32_t seq = nu_http_in_body(c) ? c->next_seq - 1 : c->next_seq++;
      struct nu_out *o = nu_http_error_response(&head_end, c, status, seq);

      NU__CHECK(status == 400 || status == 413 || status == 431 ||
                status == 501);
      NU__CHECK(o != NULL && o->len > 0);
      nu_out_free(o);
      break;
    }
    if (status == NU_HTTP_ABORT)
      break;
    /* The batch went to JS and came back empty. */
    b->nwords = 0;
    b->nbytes = 0;
  }
  while (c->files) {
    struct nu_file *f = c->files;

    c->files = f->next;
    nu_file_free(f);
  }
  nu_conn_release(&table, c);
  nu_conn_table_destroy(&table);
  nu_batch_free(b);
  return 0;
}
