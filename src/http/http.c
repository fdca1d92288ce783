#include "http.h"

#include "file.h"
#include "grow.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* node:http's limit on the extension bytes of one chunk (413 past it). */
#define NU_HTTP_CHUNK_EXT_MAX (16 * 1024)

/* What llhttp's callbacks reach through parser.data during one parse. */
struct nu_http_parse_ctx {
  struct nu_conn *conn;
  struct nu_batch *batch;
  const struct nu_http_limits *lim;
  const char *end; /* end of the bytes being parsed */
  int status;      /* error status decided by a callback, 0 when none */
  int trailers;    /* paused at the last chunk, to check the trailer lines */
};

static struct nu_http_parse_ctx *nu__ctx(llhttp_t *p) { return p->data; }

/* Makes the parse fail with status (NU_HTTP_ABORT: close, no answer). */
static int nu__reject(struct nu_http_parse_ctx *ctx, int status) {
  ctx->status = status;
  return -1;
}

/* Bits of nu_head.scan. */
#define NU_SCAN_ON 1u         /* inside a head or a trailer section */
#define NU_SCAN_CR 2u         /* the last byte seen was a CR */
#define NU_SCAN_LINE_START 4u /* the line so far is empty, or a lone CR */

/*
 * llhttp 8.1 lets through line breaks that llhttp 9 (node:http) rejects: a
 * bare LF ending the request line, the head or the trailers, and obs-fold,
 * a field line continued on the next (RFC 9112 5.2 lets a server reject
 * it; node:http does). This checks the lines of a head or trailer section
 * in [p, end), carrying its state in h->scan from one buffer to the next:
 * every LF must follow a CR, and no line may start with a space or a tab.
 * It stops at the section's empty line. Returns 0, or -1 on a violation.
 * Bare CRs elsewhere llhttp rejects by itself.
 */
static int nu__scan_lines(struct nu_head *h, const char *p, const char *end) {
  uint32_t s = h->scan;
  const char *lf;

  while (p < end && (s & NU_SCAN_ON)) {
    if (s & NU_SCAN_LINE_START) {
      if (s & NU_SCAN_CR) {
        if (*p != '\n')
          return -1;
        s = 0; /* the empty line: the section is over */
        break;
      }
      if (*p == '\n' || *p == ' ' || *p == '\t')
        return -1;
      s = *p == '\r' ? s | NU_SCAN_CR : NU_SCAN_ON;
      p++;
      continue;
    }
    lf = memchr(p, '\n', (size_t)(end - p));
    if (lf == NULL) {
      s = end[-1] == '\r' ? NU_SCAN_ON | NU_SCAN_CR : NU_SCAN_ON;
      break;
    }
    if (lf > p ? lf[-1] != '\r' : !(s & NU_SCAN_CR))
      return -1;
    s = NU_SCAN_ON | NU_SCAN_LINE_START;
    p = lf + 1;
  }
  h->scan = s;
  return 0;
}

/* Appends a span of the url, a header name or a header value to the head. */
static int nu__head_append(llhttp_t *p, const char *at, size_t n) {
  struct nu_http_parse_ctx *ctx = nu__ctx(p);
  struct nu_head *h = &ctx->conn->head;

  if (n == 0)
    return 0; /* llhttp may report an empty span; bytes may still be NULL */
  /* node:http refuses a head that reaches the limit, not only one past
   * it; the url, names and values count, as there. */
  if ((uint64_t)h->len + n >= ctx->lim->max_header_size)
    return nu__reject(ctx, 431);
  if (h->len + n > h->cap &&
      nu_grow((void **)&h->bytes, &h->cap, h->len + (uint32_t)n, 1))
    return -1;
  memcpy(h->bytes + h->len, at, n);
  h->len += (uint32_t)n;
  h->field_len += (uint32_t)n;
  return 0;
}

/* Ends the url, a name or a value: records its length. */
static int nu__head_field_done(llhttp_t *p) {
  struct nu_head *h = &nu__ctx(p)->conn->head;

  if (h->nlens == h->cap_lens &&
      nu_grow((void **)&h->lens, &h->cap_lens, h->nlens + 1, sizeof(uint32_t)))
    return -1;
  h->lens[h->nlens++] = h->field_len;
  h->field_len = 0;
  return 0;
}

/* RFC 9110 tchar: what a header name may be made of. llhttp 8.1 lets a
 * space slip in ("Host : x"), a request smuggling vector, so names are
 * checked here again. */
static int nu__is_tchar(unsigned char ch) {
  return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
         (ch >= '0' && ch <= '9') || (ch != 0 && strchr("!#$%&'*+-.^_`|~", ch));
}

static int nu__on_header_field_complete(llhttp_t *p) {
  struct nu_http_parse_ctx *ctx = nu__ctx(p);
  struct nu_head *h = &ctx->conn->head;
  const unsigned char *name;

  /* Checked first: with nothing appended yet, bytes may still be NULL. */
  if (h->field_len == 0)
    return nu__reject(ctx, 400); /* ": value", which llhttp 8.1 takes */
  name = (const unsigned char *)h->bytes + h->len - h->field_len;
  for (uint32_t i = 0; i < h->field_len; i++) {
    if (!nu__is_tchar(name[i]))
      return nu__reject(ctx, 400);
  }
  return nu__head_field_done(p);
}

/* The url's bytes. Its first ones start the line check of the head, over
 * everything received so far; llhttp 9 refuses bytes past ASCII in a url,
 * which llhttp 8.1 takes. */
static int nu__on_url(llhttp_t *p, const char *at, size_t n) {
  struct nu_http_parse_ctx *ctx = nu__ctx(p);
  struct nu_head *h = &ctx->conn->head;

  if (h->len == 0) {
    h->scan = NU_SCAN_ON;
    if (nu__scan_lines(h, at, ctx->end) < 0)
      return nu__reject(ctx, 400);
  }
  for (size_t i = 0; i < n; i++) {
    if ((unsigned char)at[i] >= 0x80)
      return nu__reject(ctx, 400);
  }
  return nu__head_append(p, at, n);
}

/* RFC 9112 3.2: a request with more than one Host MUST get 400. node:http
 * takes it (it uses the first Host); refusing it leaves no room for a
 * proxy and this server to disagree on the host. The value itself is
 * taken as node:http takes it (any field value): what a host may be is
 * the application's to judge (Express reads `Host: http://example.com`
 * as example.com). Trailers do not count. Returns 0 or 400. */
static int nu__check_host(struct nu_conn *c, const char *name,
                          uint32_t name_len) {
  if (name_len != 4 || strncasecmp(name, "host", 4) != 0 ||
      (c->flags & NU_CONN_DISPATCHED))
    return 0;
  return ++c->head.hosts > 1 ? 400 : 0;
}

/* Whether a header name is one that frames a message. A trailer cannot
 * (RFC 9110 6.5.1): one named so is refused, as node:http refuses it,
 * lest something downstream merge it into the head. */
static int nu__is_framing(const char *name, uint32_t len) {
  return (len == 14 && strncasecmp(name, "content-length", len) == 0) ||
         (len == 17 && strncasecmp(name, "transfer-encoding", len) == 0);
}

/* Moves the buffers of head from into to, which holds none: what a
 * connection between messages gives back (and takes again at its next
 * message) through the spare in nu_http_limits. */
static void nu__head_move(struct nu_head *to, struct nu_head *from) {
  to->bytes = from->bytes;
  to->cap = from->cap;
  to->lens = from->lens;
  to->cap_lens = from->cap_lens;
  from->bytes = NULL;
  from->lens = NULL;
  from->cap = from->cap_lens = 0;
}

/* c's message is complete: its head buffers go to the spare, or back to
 * malloc when the spare is taken, so that an idle connection holds none. */
static void nu__head_park(struct nu_conn *c, struct nu_head *spare) {
  if (c->head.bytes == NULL && c->head.lens == NULL)
    return;
  if (spare->bytes == NULL && spare->lens == NULL && c->head.cap <= 4096) {
    nu__head_move(spare, &c->head);
    return;
  }
  free(c->head.bytes);
  free(c->head.lens);
  c->head.bytes = NULL;
  c->head.lens = NULL;
  c->head.cap = c->head.cap_lens = 0;
}

static int nu__on_message_begin(llhttp_t *p) {
  struct nu_conn *c = nu__ctx(p)->conn;
  struct nu_head *spare = nu__ctx(p)->lim->spare;

  if (c->head.bytes == NULL && c->head.lens == NULL && spare != NULL)
    nu__head_move(&c->head, spare);

  c->flags = (c->flags | NU_CONN_IN_MESSAGE) &
             ~(NU_CONN_DISPATCHED | NU_CONN_IN_TRAILERS);
  c->head.len = 0;
  c->head.nlens = 0;
  c->head.field_len = 0;
  c->head.info = 0;
  c->head.hosts = 0;
  c->chunk_ext_len = 0;
  c->body_len = 0;
  c->flags &= ~NU_CONN_ROUTED;
  return 0;
}

static int nu__is_word(char ch) {
  return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
         (ch >= '0' && ch <= '9') || ch == '_';
}

/* Whether an Expect value asks for 100-continue, as node:http reads it:
 * the token "100-continue", any case, between non-word characters
 * (/(?:^|\W)100-continue(?:\W|$)/i). */
static int nu__expects_continue(const char *value, uint32_t len) {
  static const char token[] = "100-continue";
  const uint32_t n = sizeof token - 1;

  for (uint32_t i = 0; i + n <= len; i++) {
    if (strncasecmp(value + i, token, n) != 0)
      continue;
    if ((i == 0 || !nu__is_word(value[i - 1])) &&
        (i + n == len || !nu__is_word(value[i + n])))
      return 1;
  }
  return 0;
}

/* Ends a header value, and notes an Expect header (100-continue, or any
 * other expectation, which gets 417 unless JS listens) so that JS need
 * not build the headers to find it. */
static int nu__on_header_value_complete(llhttp_t *p) {
  struct nu_http_parse_ctx *ctx = nu__ctx(p);
  struct nu_head *h = &ctx->conn->head;
  uint32_t name_len = h->lens[h->nlens - 1];
  uint32_t value_len;
  const char *value;

  /* Trailing whitespace is not part of a field value (RFC 9110 5.5);
   * llhttp already skipped the leading one. */
  while (h->field_len > 0 &&
         (h->bytes[h->len - 1] == ' ' || h->bytes[h->len - 1] == '\t')) {
    h->field_len--;
    h->len--;
  }
  value_len = h->field_len;
  value = h->bytes + h->len - value_len;
  if (nu__check_host(ctx->conn, value - name_len, name_len) ||
      ((p->flags & F_TRAILING) && nu__is_framing(value - name_len, name_len)))
    return nu__reject(ctx, 400);

  if (name_len == 6 && strncasecmp(value - name_len, "expect", 6) == 0)
    h->info |= nu__expects_continue(value, value_len) ? NU_REQ_EXPECT_CONTINUE
                                                      : NU_REQ_EXPECT_OTHER;
  return nu__head_field_done(p);
}

static uint32_t nu__request_info(const llhttp_t *p, uint32_t info) {
  info |= p->method & NU_REQ_METHOD_MASK;
  info |= (uint32_t)(p->http_major & 0xf) << NU_REQ_MAJOR_SHIFT;
  info |= (uint32_t)(p->http_minor & 0xf) << NU_REQ_MINOR_SHIFT;
  if (llhttp_should_keep_alive(p))
    info |= NU_REQ_KEEP_ALIVE;
  if ((p->flags & F_CHUNKED) || p->content_length > 0)
    info |= NU_REQ_HAS_BODY;
  return info;
}

/* A walk over the head's headers of one name. */
struct nu_header_iter {
  const struct nu_head *h;
  const char *name; /* lower case */
  uint32_t i;       /* index of the next name in h->lens */
  uint32_t off;     /* its offset in h->bytes */
};

/* A walk over the values of the headers named name (lower case). */
static struct nu_header_iter nu__headers(const struct nu_head *h,
                                         const char *name) {
  struct nu_header_iter it = {h, name, 1, h->lens[0]};

  return it;
}

/* The next value of the header, or a span with p NULL. */
static struct nu_span nu__header_next(struct nu_header_iter *it) {
  const struct nu_head *h = it->h;
  size_t name_len = strlen(it->name);
  struct nu_span v = {NULL, 0};

  while (it->i + 1 < h->nlens) {
    const char *field = h->bytes + it->off;
    uint32_t i = it->i;

    it->i += 2;
    it->off += h->lens[i] + h->lens[i + 1];
    if (h->lens[i] == name_len && strncasecmp(field, it->name, name_len) == 0) {
      v.p = field + name_len;
      v.len = h->lens[i + 1];
      break;
    }
  }
  return v;
}

/* The transfer codings a request's Transfer-Encoding lines name. */
struct nu_codings {
  uint32_t chunked; /* how many times chunked is named */
  uint32_t others;  /* how many other codings are named */
  int chunked_last; /* whether the last one named is chunked */
};

static int nu__is_ows(char ch) { return ch == ' ' || ch == '\t'; }

/* Adds the codings of one Transfer-Encoding line to *c: a list of tokens
 * (RFC 9112 6.1; empty elements are skipped, as RFC 9110 5.6.1 asks).
 * Parameters, quotes, spaces or control bytes inside a coding make the
 * framing ambiguous: returns -1 then, else 0. */
static int nu__codings_add(struct nu_codings *c, struct nu_span v) {
  const char *p = v.p, *end = v.p + v.len;

  while (p < end) {
    const char *tok, *tok_end;

    while (p < end && (nu__is_ows(*p) || *p == ','))
      p++;
    for (tok = p; p < end && *p != ','; p++)
      ;
    for (tok_end = p; tok_end > tok && nu__is_ows(tok_end[-1]); tok_end--)
      ;
    if (tok_end == tok)
      continue;
    for (const char *t = tok; t < tok_end; t++) {
      if (!nu__is_tchar((unsigned char)*t))
        return -1;
    }
    c->chunked_last = tok_end - tok == 7 && strncasecmp(tok, "chunked", 7) == 0;
    if (c->chunked_last)
      c->chunked++;
    else
      c->others++;
  }
  return 0;
}

/* Whether v is a Content-Length value: 1*DIGIT, nothing else. */
static int nu__is_length(struct nu_span v) {
  if (v.len == 0)
    return 0;
  for (uint32_t i = 0; i < v.len; i++) {
    if (v.p[i] < '0' || v.p[i] > '9')
      return 0;
  }
  return 1;
}

/*
 * RFC 9112 6: a request's body must have one framing that every reader
 * agrees on, or request smuggling hides in the difference. llhttp 8.1 and
 * node:http let some of these through (an empty Transfer-Encoding beside
 * a Content-Length, chunked on HTTP/1.0); this refuses, with 400:
 * - Transfer-Encoding and Content-Length together, whatever the values
 *   (6.1 lets a server reject them; a proxy that picks the other one is
 *   how smuggling works);
 * - Transfer-Encoding in an HTTP/1.0 request (6.1: its framing is faulty);
 * - a Transfer-Encoding that is not a list of codings ending in exactly
 *   one chunked (6.3), or an empty one;
 * - more than one Content-Length line or a list in one, even of equal
 *   values (RFC 9110 8.6 lets a recipient reject them; node:http does),
 *   and a value that is not all digits;
 * - a head on which llhttp's reading of the framing differs from this one.
 * A chunked body under another coding (gzip, chunked) gets 501: the
 * server does not implement it (6.1). llhttp's lenient flags stay off
 * (with them, 8.1 would take chunked beside a Content-Length, and a
 * Transfer-Encoding not ending in chunked). Returns 0, 400 or 501.
 */
static int nu__check_framing(const llhttp_t *p, const struct nu_head *h) {
  struct nu_header_iter it = nu__headers(h, "content-length");
  struct nu_codings te = {0, 0, 0};
  uint32_t lengths = 0, te_lines = 0;
  struct nu_span v;

  while ((v = nu__header_next(&it)).p != NULL) {
    if (++lengths > 1 || !nu__is_length(v))
      return 400;
  }
  it = nu__headers(h, "transfer-encoding");
  while ((v = nu__header_next(&it)).p != NULL) {
    te_lines++;
    if (nu__codings_add(&te, v))
      return 400;
  }
  if (!!(p->flags & F_CONTENT_LENGTH) != (lengths > 0) ||
      !!(p->flags & F_CHUNKED) != (te_lines > 0))
    return 400;
  if (te_lines == 0)
    return 0;
  if (lengths > 0 || p->http_major == 0 ||
      (p->http_major == 1 && p->http_minor == 0))
    return 400;
  if (!te.chunked_last || te.chunked != 1)
    return 400;
  return te.others ? 501 : 0;
}

/* What llhttp 8.1 lets through in a complete head and node:http refuses
 * before any handler sees the request, and the framing above. Returns 0,
 * an error status, or NU_HTTP_ABORT. */
static int nu__check_head(const llhttp_t *p, const struct nu_head *h,
                          const struct nu_http_limits *lim) {
  /* node:http's requireHostHeader, on by default; RFC 9112 3.2. */
  if (h->hosts == 0 && p->http_major == 1 && p->http_minor == 1 &&
      !lim->host_optional)
    return 400;
  return nu__check_framing(p, h);
}

/* Answers a GET or HEAD that route r matched, in its turn, without JS:
 * JS never sees this request, nor its body if it has one. Returns 0 or
 * -ENOMEM. */
static int nu__answer_route(struct nu_http_parse_ctx *ctx, llhttp_t *p,
                            const struct nu_route *r) {
  struct nu_conn *c = ctx->conn;
  struct nu_out *o =
      nu_route_response(ctx->lim->head_end, r, c->slot, c->gen, c->next_seq++,
                        llhttp_should_keep_alive(p), p->method == HTTP_HEAD);

  if (o == NULL)
    return -ENOMEM;
  nu_conn_enqueue(c, o);
  c->flags |= NU_CONN_ROUTED;
  return 0;
}

/* The value of the header named name, p NULL when the request has none.
 * Several lines of it are joined with ", ", as node:http joins them, in
 * *joined, which the caller frees. Returns 0 or -ENOMEM. */
static int nu__header(const struct nu_head *h, const char *name,
                      struct nu_span *v, char **joined) {
  struct nu_header_iter it = nu__headers(h, name);
  struct nu_span line;
  size_t len;
  char *w;

  *joined = NULL;
  *v = nu__header_next(&it);
  if (v->p == NULL || nu__header_next(&it).p == NULL)
    return 0;
  it = nu__headers(h, name);
  for (len = 0; (line = nu__header_next(&it)).p != NULL;)
    len += line.len + 2;
  w = *joined = malloc(len);
  if (w == NULL)
    return -ENOMEM;
  it = nu__headers(h, name);
  while ((line = nu__header_next(&it)).p != NULL) {
    if (w > *joined) {
      memcpy(w, ", ", 2);
      w += 2;
    }
    memcpy(w, line.p, line.len);
    w += line.len;
  }
  v->p = *joined;
  v->len = (uint32_t)(w - *joined);
  return 0;
}

/* Starts the response of a GET or HEAD that mount m matched: a file
 * response in the connection's FIFO, which the ring thread moves along
 * (see file.h). JS never sees this request either. Returns 0 or
 * -ENOMEM. */
static int nu__answer_file(struct nu_http_parse_ctx *ctx, llhttp_t *p,
                           const struct nu_mount *m, uint32_t path_len) {
  struct nu_conn *c = ctx->conn;
  const struct nu_head *h = &c->head;
  struct nu_file_request req = {
      .mount = m,
      .url = {h->bytes, h->lens[0]},
      .path_len = path_len,
      .slot = c->slot,
      .gen = c->gen,
      .seq = c->next_seq,
      .keep_alive = llhttp_should_keep_alive(p),
      .head_only = p->method == HTTP_HEAD,
  };
  char *joined[3] = {NULL, NULL, NULL};
  struct nu_file *f = NULL;
  struct nu_file **tail = &c->files;
  struct nu_header_iter ims = nu__headers(h, "if-modified-since");

  /* As node:http: list headers joined, If-Modified-Since the first. */
  req.if_modified_since = nu__header_next(&ims);
  if (nu__header(h, "if-none-match", &req.if_none_match, &joined[0]) == 0 &&
      nu__header(h, "range", &req.range, &joined[1]) == 0 &&
      nu__header(h, "if-range", &req.if_range, &joined[2]) == 0)
    f = nu_file_new(&req);
  for (int i = 0; i < 3; i++)
    free(joined[i]);
  if (f == NULL)
    return -ENOMEM;
  while (*tail)
    tail = &(*tail)->next;
  *tail = f;
  c->next_seq++;
  c->flags |= NU_CONN_ROUTED;
  return 0;
}

/* Answers a GET or HEAD with a route or a mount, if one matches. Returns
 * 1 when it did, 0 when JS should, -ENOMEM out of memory. */
static int nu__answer_without_js(struct nu_http_parse_ctx *ctx, llhttp_t *p) {
  const struct nu_http_limits *lim = ctx->lim;
  const struct nu_head *h = &ctx->conn->head;
  const struct nu_route *r;
  const struct nu_mount *m;
  uint32_t path_len;

  if ((p->method != HTTP_GET && p->method != HTTP_HEAD) || h->len == 0)
    return 0;
  if (lim->routes && lim->routes->n &&
      (r = nu_routes_match(lim->routes, h->bytes, h->lens[0])) != NULL)
    return nu__answer_route(ctx, p, r) ? -ENOMEM : 1;
  if (lim->mounts && lim->mounts->n &&
      (m = nu_mounts_match(lim->mounts, h->bytes, h->lens[0], &path_len)) !=
          NULL)
    return nu__answer_file(ctx, p, m, path_len) ? -ENOMEM : 1;
  return 0;
}

/* Hands the complete head to JS as a REQUEST event, unless a route or a
 * mount answers it. */

static int nu__on_headers_complete(llhttp_t *p) {
  struct nu_http_parse_ctx *ctx = nu__ctx(p);
  struct nu_conn *c = ctx->conn;
  struct nu_head *h = &c->head;
  int status = nu__check_head(p, h, ctx->lim);

  if (status)
    return nu__reject(ctx, status);
  /* A declared body over the cap is refused before JS sees the request;
   * a chunked one, when it gets there (nu__on_body). */
  if (ctx->lim->max_body_size && (p->flags & F_CONTENT_LENGTH) &&
      p->content_length > ctx->lim->max_body_size)
    return nu__reject(ctx, 413);
  h->scan = 0; /* an HTTP/0.9 request line ends its head at once */
  status = nu__answer_without_js(ctx, p);
  if (status)
    return status < 0 ? -1 : 0;
  h->info = nu__request_info(p, h->info);
  if (p->upgrade)
    h->info |= NU_REQ_UPGRADE; /* held at HPE_PAUSED_UPGRADE (nu__execute) */
  if (nu_batch_put_request(ctx->batch, c->slot, c->gen, c->next_seq, h->info,
                           h->bytes, h->len, h->lens, h->nlens))
    return -1;
  c->next_seq++;
  c->flags |= NU_CONN_DISPATCHED;
  return 0;
}

static int nu__on_body(llhttp_t *p, const char *at, size_t n) {
  struct nu_http_parse_ctx *ctx = nu__ctx(p);
  struct nu_conn *c = ctx->conn;

  if (c->flags & NU_CONN_ROUTED)
    return 0; /* the body of a routed GET: nobody reads it */
  c->body_len += n;
  if (ctx->lim->max_body_size && c->body_len > ctx->lim->max_body_size)
    return nu__reject(ctx, 413);
  return nu_batch_put_body(ctx->batch, c->slot, c->gen, at, (uint32_t)n) ? -1
                                                                         : 0;
}

/* A chunk's size line is in. The extension limit starts again, as does
 * the head's, for the trailers (JS has the head already). The last chunk
 * pauses the parse, for nu_http_parse() to check the trailer lines from
 * there. */
static int nu__on_chunk_header(llhttp_t *p) {
  struct nu_http_parse_ctx *ctx = nu__ctx(p);
  struct nu_conn *c = ctx->conn;

  c->chunk_ext_len = 0;
  c->head.len = 0;
  c->head.nlens = 0;
  c->head.field_len = 0;
  if (p->content_length > 0)
    return 0;
  ctx->trailers = 1;
  c->flags |= NU_CONN_IN_TRAILERS;
  return HPE_PAUSED;
}

/* Chunk extension names and values: node:http allows 16 KiB of them per
 * chunk, and answers 413 past that; llhttp 8.1 sets no limit at all. */
static int nu__on_chunk_extension(llhttp_t *p, const char *at, size_t n) {
  struct nu_http_parse_ctx *ctx = nu__ctx(p);

  if (n > NU_HTTP_CHUNK_EXT_MAX ||
      (ctx->conn->chunk_ext_len += (uint32_t)n) > NU_HTTP_CHUNK_EXT_MAX)
    return nu__reject(ctx, 413);
  return 0;
}

static int nu__on_message_complete(llhttp_t *p) {
  struct nu_http_parse_ctx *ctx = nu__ctx(p);
  struct nu_conn *c = ctx->conn;
  int routed = (c->flags & NU_CONN_ROUTED) != 0;
  int trailers = (c->flags & NU_CONN_IN_TRAILERS) != 0;

  c->flags &= ~(NU_CONN_IN_MESSAGE | NU_CONN_ROUTED | NU_CONN_IN_TRAILERS);
  /* A request without a body ended with its head: JS knows already; a
   * routed one JS never knew. The trailer fields of a chunked body are
   * in the head by now (nu__on_chunk_header() emptied it for them at the
   * last chunk; a CONNECT's body is never parsed). */
  if ((c->head.info & NU_REQ_HAS_BODY) && !routed &&
      ((trailers && c->head.nlens > 0 &&
        nu_batch_put_trailers(ctx->batch, c->slot, c->gen, c->head.bytes,
                              c->head.len, c->head.lens, c->head.nlens)) ||
       nu_batch_put_end(ctx->batch, c->slot, c->gen)))
    return -1;
  /* A client that pipelines faster than it is answered waits here: what
   * follows stays unparsed until the responses drain; so does every
   * client while the server is past its load bounds. */
  return nu_conn_owes_too_much(c) ||
                 (ctx->lim->load && nu_load_full(ctx->lim->load, c))
             ? HPE_PAUSED
             : 0;
}

void nu_http_settings_init(llhttp_settings_t *s) {
  llhttp_settings_init(s);
  s->on_message_begin = nu__on_message_begin;
  s->on_url = nu__on_url;
  s->on_url_complete = nu__head_field_done;
  s->on_header_field = nu__head_append;
  s->on_header_field_complete = nu__on_header_field_complete;
  s->on_header_value = nu__head_append;
  s->on_header_value_complete = nu__on_header_value_complete;
  s->on_headers_complete = nu__on_headers_complete;
  s->on_body = nu__on_body;
  s->on_chunk_header = nu__on_chunk_header;
  s->on_chunk_extension_name = nu__on_chunk_extension;
  s->on_chunk_extension_value = nu__on_chunk_extension;
  s->on_message_complete = nu__on_message_complete;
}

void nu_http_conn_init(struct nu_conn *c, const llhttp_settings_t *s) {
  llhttp_init(&c->parser, HTTP_REQUEST, s);
}

/* Keeps [pos, end) for later; data may be the backlog itself. */
static int nu__keep_unparsed(struct nu_conn *c, const char *data,
                             const char *pos, const char *end) {
  if (data == c->backlog) {
    memmove(c->backlog, pos, (size_t)(end - pos));
    c->backlog_len = (uint32_t)(end - pos);
    return 0;
  }
  return nu_conn_backlog_append(c, pos, (uint32_t)(end - pos));
}

/* Runs llhttp from pos to the end of the input, through the pauses that
 * are not for flow control: an upgrade nobody takes, and the last chunk,
 * after which the trailer lines get the same check as the head's. */
static llhttp_errno_t
nu__execute(struct nu_conn *c, struct nu_http_parse_ctx *ctx, const char *pos) {
  llhttp_errno_t err =
      llhttp_execute(&c->parser, pos, (size_t)(ctx->end - pos));

  for (;;) {
    if (err == HPE_PAUSED_UPGRADE && (c->head.info & NU_REQ_UPGRADE)) {
      return err; /* JS has the request: it decides what follows */
    } else if (err == HPE_PAUSED_UPGRADE) {
      /* A routed request (JS never sees it): what follows is parsed as
       * more HTTP, as node:http does without an 'upgrade' listener. */
      pos = llhttp_get_error_pos(&c->parser);
      llhttp_resume_after_upgrade(&c->parser);
    } else if (err == HPE_PAUSED && ctx->trailers) {
      pos = llhttp_get_error_pos(&c->parser);
      ctx->trailers = 0;
      c->head.scan = NU_SCAN_ON | NU_SCAN_LINE_START;
      if (nu__scan_lines(&c->head, pos, ctx->end) < 0) {
        ctx->status = 400;
        return HPE_USER;
      }
      llhttp_resume(&c->parser);
    } else {
      return err;
    }
    err = llhttp_execute(&c->parser, pos, (size_t)(ctx->end - pos));
  }
}

int nu_http_parse(struct nu_conn *c, struct nu_batch *b,
                  const struct nu_http_limits *lim, const char *data,
                  size_t len) {
  struct nu_http_parse_ctx ctx = {c, b, lim, data + len, 0, 0};
  llhttp_errno_t err;
  int status;

  if (c->flags & (NU_CONN_PARSE_PAUSED | NU_CONN_UPGRADE_HELD))
    return nu__keep_unparsed(c, data, data, ctx.end) ? NU_HTTP_ABORT : 0;
  if (data == c->backlog)
    c->backlog_len = 0; /* consumed below, or kept again on a pause */
  if ((c->head.scan & NU_SCAN_ON) && nu__scan_lines(&c->head, data, ctx.end)) {
    ctx.status = 400; /* the head or trailers go on from the last input */
    err = HPE_USER;
  } else {
    c->parser.data = &ctx;
    err = nu__execute(c, &ctx, data);
    c->parser.data = NULL;
  }
  if (err == HPE_OK) {
    if (!(c->flags & NU_CONN_IN_MESSAGE) && lim->spare != NULL)
      nu__head_park(c, lim->spare);
    return 0;
  }
  if (err == HPE_PAUSED_UPGRADE) {
    c->flags |= NU_CONN_UPGRADE_HELD;
    c->upgrade_seq = c->next_seq - 1;
    return nu__keep_unparsed(c, data, llhttp_get_error_pos(&c->parser), ctx.end)
               ? NU_HTTP_ABORT
               : 0;
  }
  if (err == HPE_PAUSED) {
    c->flags |= NU_CONN_PARSE_PAUSED;
    return nu__keep_unparsed(c, data, llhttp_get_error_pos(&c->parser), ctx.end)
               ? NU_HTTP_ABORT
               : 0;
  }
  c->flags |= NU_CONN_PARSE_DONE | NU_CONN_READ_DONE;
  if (err == HPE_CLOSED_CONNECTION)
    return 0; /* bytes after a request that asked to close: nobody will
                 answer them */
  if (err == HPE_USER && ctx.status == 0)
    return NU_HTTP_ABORT; /* a callback ran out of memory */
  status = ctx.status ? ctx.status : 400;
  /* An error inside a body whose head JS has answers that request in
   * place of its handler, as node:http does, unless its response has
   * begun: then it can only be cut short. */
  if (nu_http_in_body(c) && nu_conn_response_begun(c, c->next_seq - 1))
    return NU_HTTP_ABORT;
  return status;
}

/* Whether llhttp's own error (not a callback's, nor a pause) stopped p. */
static int nu__llhttp_failed(llhttp_errno_t err) {
  return err != HPE_OK && err != HPE_USER && err != HPE_CLOSED_CONNECTION &&
         err != HPE_PAUSED && err != HPE_PAUSED_UPGRADE &&
         err != HPE_PAUSED_H2_UPGRADE &&
         !(err >= HPE_CB_MESSAGE_BEGIN && err <= HPE_CB_CHUNK_COMPLETE) &&
         !(err >= HPE_CB_URL_COMPLETE && err <= HPE_CB_VERSION_COMPLETE);
}

int nu_http_client_error(const struct nu_conn *c,
                         const struct nu_http_limits *lim, int status,
                         const char *data, uint32_t len,
                         struct nu_client_error *e) {
  llhttp_errno_t err = llhttp_get_errno(&c->parser);
  const char *pos = llhttp_get_error_pos(&c->parser);
  uint64_t cap = lim->max_body_size;

  e->status = (uint32_t)status;
  e->packet = data;
  e->packet_len = len;
  e->parsed = len;
  if (status == 408) {
    e->code = "ERR_HTTP_REQUEST_TIMEOUT";
    e->reason = "Request timeout";
  } else if (status == 431) {
    e->code = "HPE_HEADER_OVERFLOW";
    e->reason = "Header overflow";
  } else if (status == 413) {
    if (cap && (c->body_len > cap || ((c->parser.flags & F_CONTENT_LENGTH) &&
                                      c->parser.content_length > cap)))
      return -1;
    e->code = "HPE_CHUNK_EXTENSIONS_OVERFLOW";
    e->reason = "Chunk extensions overflow";
  } else if (nu__llhttp_failed(err)) {
    e->code = llhttp_errno_name(err);
    e->reason = llhttp_get_error_reason(&c->parser);
    if (pos != NULL && pos >= data && pos <= data + len)
      e->parsed = (uint32_t)(pos - data);
  } else {
    e->code = "HPE_STRICT";
    e->reason = "Request rejected by node-uring's strict parsing";
  }
  if (e->reason == NULL)
    e->reason = "";
  return 0;
}

struct nu_out *nu_http_error_response(const struct nu_head_end *e,
                                      struct nu_conn *c, int status,
                                      uint32_t seq) {
  const unsigned end_flags = NU_HEAD_END_CLOSE | NU_HEAD_END_NO_DATE;
  char line[NU_HEAD_STATUS_LINE_MAX];
  uint32_t len = nu_head_status_line(line, status);
  struct nu_out *o = nu_out_new(c->slot, c->gen, seq, NU_OUT_END | NU_OUT_CLOSE,
                                (size_t)len + nu_head_end_len(e, end_flags), 0);

  if (o) {
    memcpy(o->data, line, len);
    nu_head_end_write(e, end_flags, o->data + len);
  }
  return o;
}

const char *nu_http_method_name(unsigned method) {
  switch (method) {
#define NU__METHOD(num, name, string)                                          \
  case num:                                                                    \
    return #string;
    HTTP_METHOD_MAP(NU__METHOD)
#undef NU__METHOD
  case NU_HTTP_QUERY:
    return "QUERY";
  }
  return NULL;
}
