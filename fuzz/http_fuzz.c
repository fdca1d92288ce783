/*
 * http_fuzz: libFuzzer over the C request path, without sockets. The input
 * is a client's bytes, cut into reads of varying sizes; the harness plays
 * the ring thread's part around nu_http_parse(): it answers requests as JS
 * would (some at once, some later), resumes a paused parser as the loop
 * does, and checks every event it is handed stays inside its batch.
 *
 *   npm run fuzz -- -max_total_time=60
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"

/* The first input byte seeds how reads are cut and requests answered;
 * the second picks the header size limit. */
struct nu__fuzz_plan {
  uint32_t state;
};

static uint32_t nu__fuzz_next(struct nu__fuzz_plan *p) {
  p->state = p->state * 1103515245u + 12345u;
  return p->state >> 16;
}

#define NU__CHECK(cond)                                                        \
  do {                                                                         \
    if (!(cond))                                                               \
      __builtin_trap();                                                        \
  } while (0)

/* Walks the events appended since word `from`: each record is whole, and
 * every offset and length it carries stays inside the batch's bytes.
 * Returns how many requests it saw. */
static uint32_t nu__fuzz_check(const struct nu_batch *b, uint32_t from) {
  uint32_t requests = 0;
  uint32_t i = from;

  while (i < b->nwords) {
    const uint32_t *w = b->words + i;
    uint32_t left = b->nwords - i;

    switch (w[0]) {
    case NU_EV_REQUEST: {
      uint64_t end;

      NU__CHECK(left >= 7 && left >= 7 + w[6]);
      end = w[5];
      for (uint32_t k = 0; k < w[6]; k++)
        end += w[7 + k];
      NU__CHECK(end <= b->nbytes);
      NU__CHECK(w[6] >= 1 && w[6] % 2 == 1); /* the url, then name-value pairs */
      requests++;
      i += 7 + w[6];
      break;
    }
    case NU_EV_BODY:
      NU__CHECK(left >= 5 && (uint64_t)w[3] + w[4] <= b->nbytes);
      i += 5;
      break;
    case NU_EV_END:
    case NU_EV_CLOSE:
      NU__CHECK(left >= 3);
      i += 3;
      break;
    default:
      NU__CHECK(0);
    }
  }
  return requests;
}

/* Answers the oldest request still owed, as a response JS sent and the
 * ring thread wrote out. */
static void nu__fuzz_answer(struct nu_conn *c) {
  if (c->send_seq != c->next_seq)
    c->send_seq++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static llhttp_settings_t settings;
  static int settings_ready;
  struct nu_conn_table table;
  struct nu_batch *b = calloc(1, sizeof(*b));
  struct nu__fuzz_plan plan;
  struct nu_http_limits limits;
  struct nu_conn *c;
  size_t off = 2;

  if (size < 2 || b == NULL) {
    free(b);
    return 0;
  }
  if (!settings_ready) {
    nu_http_settings_init(&settings);
    settings_ready = 1;
  }
  plan.state = data[0];
  limits.max_header_size = data[1] & 1 ? 16384 : 64 + data[1];
  memset(&table, 0, sizeof(table));
  c = nu_conn_acquire(&table);
  NU__CHECK(c != NULL);
  c->fd = 3; /* not a real socket: nothing here does I/O */
  nu_http_conn_init(c, &settings);

  while (off < size && !(c->flags & NU_CONN_PARSE_DONE)) {
    size_t n = 1 + nu__fuzz_next(&plan) % 64;
    uint32_t from = b->nwords;
    int status;

    if (n > size - off)
      n = size - off;
    status = nu_http_parse(c, b, &limits, (const char *)data + off, n);
    off += n;
    for (uint32_t r = nu__fuzz_check(b, from); r > 0; r--)
      if (nu__fuzz_next(&plan) % 4)
        nu__fuzz_answer(c);
    /* Now and then JS catches up on everything, and the loop resumes a
     * parser that paused on a pipelining flood, as after a send. */
    if (nu__fuzz_next(&plan) % 8 == 0)
      while (c->send_seq != c->next_seq)
        nu__fuzz_answer(c);
    while (status == 0 && (c->flags & NU_CONN_PARSE_PAUSED) &&
           !nu_conn_owes_too_much(c)) {
      nu_http_resume(c);
      from = b->nwords;
      status = c->backlog_len ? nu_http_parse(c, b, &limits, c->backlog,
                                              c->backlog_len)
                              : 0;
      nu__fuzz_check(b, from);
    }
    if (status > 0) {
      /* As the loop does: a failed body is answered in its request's place. */
      uint32_t seq = nu_http_in_body(c) ? c->next_seq - 1 : c->next_seq++;
      struct nu_out *o = nu_http_error_response(c, status, seq);

      NU__CHECK(status == 400 || status == 413 || status == 431);
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
  nu_conn_release(&table, c);
  nu_conn_table_destroy(&table);
  nu_batch_free(b);
  return 0;
}
