#include "wsconn.h"

#include "batch.h"
#include "grow.h"
#include "nu.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* A message buffer grown past this is given back once its message is out:
 * one large message must not pin its memory for the connection's life. */
#define NU__MSG_KEEP (64u * 1024)

/* What the parser's sink calls work on. */
struct nu__ws_ctx {
  struct nu_conn *c;
  struct nu_batch *b;
};

int nu_wsconn_start(struct nu_conn *c, uint64_t max_message) {
  struct nu_wsconn *ws = calloc(1, sizeof(*ws));

  if (ws == NULL)
    return -ENOMEM;
  if (max_message == 0 || max_message > NU_WSCONN_MESSAGE_MAX)
    max_message = NU_WSCONN_MESSAGE_MAX;
  ws->parser.max_payload = max_message;
  ws->direct_off = -1;
  c->ws = ws;
  c->flags |= NU_CONN_WS;
  return 0;
}

void nu_wsconn_free(struct nu_conn *c) {
  if (c->ws == NULL)
    return;
  free(c->ws->msg);
  free(c->ws);
  c->ws = NULL;
}

/* Queues a frame of the ring thread's own on c: opcode and payload; with
 * shut, our FIN follows it. Returns 0 or -ENOMEM. */
static int nu__ws_queue(struct nu_conn *c, unsigned opcode, const void *p,
                        size_t n, int shut) {
  size_t hlen = nu_ws_header_len(n);
  uint32_t flags = NU_OUT_RAW | NU_OUT_WS | (shut ? NU_OUT_SHUTDOWN : 0);
  struct nu_out *o = nu_out_new(c->slot, c->gen, c->upgrade_seq, flags, hlen, n);

  if (o == NULL)
    return -ENOMEM;
  nu_ws_frame_header((uint8_t *)o->data, opcode, 1, n);
  if (n)
    memcpy(o->data + o->body_off, p, n);
  /* Only JS's frames count in what DRAIN reports sent. */
  o->head_len = o->body_len = 0;
  nu_conn_enqueue(c, o);
  return 0;
}

int nu_wsconn_ping(struct nu_conn *c) {
  if (c->flags & NU_CONN_WS_CLOSE_SENT)
    return 0;
  return nu__ws_queue(c, NU_WS_OP_PING, NULL, 0, 0);
}

/* Our FIN, after everything queued: once both close frames are out. */
static int nu__ws_shut(struct nu_conn *c) {
  struct nu_out *o = nu_out_new(c->slot, c->gen, c->upgrade_seq,
                                NU_OUT_RAW | NU_OUT_SHUTDOWN, 0, 0);

  if (o == NULL)
    return -ENOMEM;
  nu_conn_enqueue(c, o);
  return 0;
}

/* Ends c's side of the closing handshake: our close frame with code and
 * reason (none for NO_STATUS), then our FIN; or only the FIN when our
 * close frame went before. */
static int nu__ws_close(struct nu_conn *c, unsigned code, const void *reason,
                        size_t n) {
  uint8_t payload[NU_WS_CONTROL_MAX];
  size_t len = 0;

  if (c->flags & NU_CONN_WS_CLOSE_SENT)
    return nu__ws_shut(c);
  c->flags |= NU_CONN_WS_CLOSE_SENT;
  if (code != NU_WS_CLOSE_NO_STATUS)
    len = nu_ws_close_payload(payload, code, reason, n);
  return nu__ws_queue(c, NU_WS_OP_CLOSE, payload, len, 1);
}

static uint8_t *nu__ws_keep(void *arg, const uint8_t *p, size_t n, int whole) {
  struct nu__ws_ctx *x = arg;
  struct nu_wsconn *ws = x->c->ws;

  if (whole) {
    int64_t off = nu_batch_put_bytes(x->b, p, (uint32_t)n);

    if (off < 0)
      return NULL;
    ws->direct_off = off;
    return (uint8_t *)x->b->bytes + off;
  }
  /* The parser's max_payload keeps the sum within 32 bits. */
  if (ws->msg_len + n > ws->msg_cap &&
      nu_grow((void **)&ws->msg, &ws->msg_cap, (uint64_t)ws->msg_len + n, 1))
    return NULL;
  memcpy(ws->msg + ws->msg_len, p, n);
  ws->msg_len += (uint32_t)n;
  return ws->msg + ws->msg_len - n;
}

static int nu__ws_message(void *arg, unsigned opcode, uint64_t len) {
  struct nu__ws_ctx *x = arg;
  struct nu_wsconn *ws = x->c->ws;
  int ret;

  if (ws->direct_off >= 0) {
    ret = nu_batch_put_ws_at(x->b, x->c->slot, x->c->gen, opcode, 0,
                             (uint32_t)ws->direct_off, (uint32_t)len);
    ws->direct_off = -1;
    return ret;
  }
  ret = nu_batch_put_ws(x->b, x->c->slot, x->c->gen, opcode, 0, ws->msg,
                        ws->msg_len);
  ws->msg_len = 0;
  if (ws->msg_cap > NU__MSG_KEEP) {
    free(ws->msg);
    ws->msg = NULL;
    ws->msg_cap = 0;
  }
  return ret;
}

/* A ping is answered at once, with its payload, unless we are closing. */
static int nu__ws_control(void *arg, unsigned opcode, const uint8_t *p,
                          size_t n) {
  struct nu__ws_ctx *x = arg;

  if (opcode == NU_WS_OP_PING && !(x->c->flags & NU_CONN_WS_CLOSE_SENT) &&
      nu__ws_queue(x->c, NU_WS_OP_PONG, p, n, 0) < 0)
    return -ENOMEM;
  return nu_batch_put_ws(x->b, x->c->slot, x->c->gen, opcode, 0, p,
                         (uint32_t)n);
}

/* The peer's close frame: echoed with its code, as the ws package does. */
static int nu__ws_peer_close(void *arg, unsigned code, const uint8_t *reason,
                             size_t n) {
  struct nu__ws_ctx *x = arg;

  if (nu_batch_put_ws(x->b, x->c->slot, x->c->gen, NU_WS_OP_CLOSE, code,
                      reason, (uint32_t)n) < 0)
    return -ENOMEM;
  return nu__ws_close(x->c, code, reason, n);
}

static const struct nu_ws_sink nu__ws_sink = {
    nu__ws_keep, nu__ws_message, nu__ws_control, nu__ws_peer_close};

/* The input broke the protocol: JS hears why, the peer gets the code. */
static int nu__ws_fail(struct nu_conn *c, struct nu_batch *b,
                       enum nu_ws_error err) {
  const char *name = nu_ws_error_name(err), *msg = nu_ws_error_message(err);
  size_t name_len = strlen(name), msg_len = strlen(msg);
  char text[128];

  memcpy(text, name, name_len);
  text[name_len] = ' ';
  memcpy(text + name_len + 1, msg, msg_len);
  if (nu_batch_put_ws(b, c->slot, c->gen, NU_WS_REC_ERROR,
                      nu_ws_error_code(err), text,
                      (uint32_t)(name_len + 1 + msg_len)) < 0)
    return -ENOMEM;
  return nu__ws_close(c, nu_ws_error_code(err), NULL, 0);
}

int nu_wsconn_input(struct nu_conn *c, struct nu_batch *b, const char *data,
                    uint32_t len) {
  struct nu__ws_ctx x = {c, b};
  int ret = nu_ws_parse(&c->ws->parser, (const uint8_t *)data, len,
                        &nu__ws_sink, &x);

  if (ret > 0)
    return nu__ws_fail(c, b, (enum nu_ws_error)ret);
  return ret;
}

int nu_wsconn_admit(struct nu_conn *c, const struct nu_out *o) {
  if (c->flags & NU_CONN_WS_CLOSE_SENT)
    return 0;
  if (o->flags & NU_OUT_WS_CLOSE)
    c->flags |= NU_CONN_WS_CLOSE_SENT;
  return 1;
}
