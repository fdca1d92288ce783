#include "batch.h"

#include "handoff.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

/* Room for a record of n words of the given kind, for slot and gen; NULL
 * when out of memory. The caller fills the rest. */
static uint32_t *nu__batch_record(struct nu_batch *b, uint32_t n,
                                  enum nu_event kind, uint32_t slot,
                                  uint32_t gen) {
  uint32_t *w = nu_batch_add_words(b, n);
  uint64_t key;

  if (w == NULL)
    return NULL;
  w[NU_REC_KIND] = kind;
  w[NU_REC_SLOT] = slot;
  w[NU_REC_GEN] = gen;
  key = (uint64_t)(slot + 1) << 32 | gen;
  if (b->nwords == n)
    b->conn = key; /* the first record */
  else if (b->conn != key)
    b->conn = 0;
  return w;
}

/* A record as nu__batch_record() makes it, after copying nbytes bytes to
 * the batch's bytes; their offset in *off. NULL when out of memory. */
static uint32_t *nu__batch_record_with(struct nu_batch *b, uint32_t n,
                                       enum nu_event kind, uint32_t slot,
                                       uint32_t gen, const void *bytes,
                                       uint32_t nbytes, uint32_t *off) {
  int64_t at = nu_batch_put_bytes(b, bytes, nbytes);

  if (at < 0)
    return NULL;
  *off = (uint32_t)at;
  return nu__batch_record(b, n, kind, slot, gen);
}

int nu_batch_put_open(struct nu_batch *b, uint32_t slot, uint32_t gen,
                      const struct sockaddr_storage *peer) {
  const struct sockaddr_in6 *v6 = (const void *)peer;
  const struct sockaddr_in *v4 = (const void *)peer;
  int six = peer->ss_family == AF_INET6;
  int ip = six || peer->ss_family == AF_INET; /* else a Unix socket's peer */
  uint32_t off;
  uint32_t *w = nu__batch_record_with(
      b, NU_OPEN_WORDS, NU_EV_OPEN, slot, gen,
      six ? (const void *)&v6->sin6_addr : (const void *)&v4->sin_addr,
      six ? 16 : ip ? 4 : 0, &off);

  if (w == NULL)
    return -ENOMEM;
  w[NU_OPEN_FAMILY] = six ? 6 : ip ? 4 : 0;
  w[NU_OPEN_PORT] = ip ? ntohs(six ? v6->sin6_port : v4->sin_port) : 0;
  w[NU_OPEN_ADDR_OFF] = off;
  return 0;
}

/* Where a record of strings laid back to back (REQUEST, TRAILERS) keeps
 * their offset, their count, and their lengths (its last, variable part). */
struct nu__fields_layout {
  enum nu_event kind;
  uint32_t off_at, nlens_at, lens_at;
};

/* Such a record, after copying the strings' len bytes: its lengths are
 * the nlens in lens. NULL when out of memory. The caller fills the rest. */
static uint32_t *nu__batch_record_fields(struct nu_batch *b,
                                         const struct nu__fields_layout *l,
                                         uint32_t slot, uint32_t gen,
                                         const char *bytes, uint32_t len,
                                         const uint32_t *lens, uint32_t nlens) {
  uint32_t off;
  uint32_t *w = nu__batch_record_with(b, l->lens_at + nlens, l->kind, slot, gen,
                                      bytes, len, &off);

  if (w == NULL)
    return NULL;
  w[l->off_at] = off;
  w[l->nlens_at] = nlens;
  memcpy(w + l->lens_at, lens, nlens * sizeof(*lens));
  return w;
}

int nu_batch_put_request(struct nu_batch *b, uint32_t slot, uint32_t gen,
                         uint32_t seq, uint32_t info, const char *head,
                         uint32_t head_len, const uint32_t *lens,
                         uint32_t nlens) {
  static const struct nu__fields_layout layout = {
      NU_EV_REQUEST, NU_REQUEST_HEAD_OFF, NU_REQUEST_NLENS, NU_REQUEST_LENS};
  uint32_t *w = nu__batch_record_fields(b, &layout, slot, gen, head, head_len,
                                        lens, nlens);

  if (w == NULL)
    return -ENOMEM;
  w[NU_REQUEST_SEQ] = seq;
  w[NU_REQUEST_INFO] = info;
  return 0;
}

int nu_batch_put_trailers(struct nu_batch *b, uint32_t slot, uint32_t gen,
                          const char *fields, uint32_t fields_len,
                          const uint32_t *lens, uint32_t nlens) {
  static const struct nu__fields_layout layout = {
      NU_EV_TRAILERS, NU_TRAILERS_HEAD_OFF, NU_TRAILERS_NLENS,
      NU_TRAILERS_LENS};

  return nu__batch_record_fields(b, &layout, slot, gen, fields, fields_len,
                                 lens, nlens)
             ? 0
             : -ENOMEM;
}

/* A BODY or a DATA record: len bytes copied from at, and where they lie
 * (both kinds lay out their offset and length alike, see batch.h). */
static int nu__batch_put_bytes(struct nu_batch *b, enum nu_event kind,
                               uint32_t slot, uint32_t gen, const char *at,
                               uint32_t len) {
  uint32_t off;
  uint32_t *w =
      nu__batch_record_with(b, NU_BODY_WORDS, kind, slot, gen, at, len, &off);

  if (w == NULL)
    return -ENOMEM;
  w[NU_BODY_OFF] = off;
  w[NU_BODY_LEN] = len;
  return 0;
}

int nu_batch_put_body(struct nu_batch *b, uint32_t slot, uint32_t gen,
                      const char *at, uint32_t len) {
  return nu__batch_put_bytes(b, NU_EV_BODY, slot, gen, at, len);
}

int nu_batch_put_end(struct nu_batch *b, uint32_t slot, uint32_t gen) {
  return nu__batch_record(b, NU_END_WORDS, NU_EV_END, slot, gen) ? 0 : -ENOMEM;
}

int nu_batch_put_close(struct nu_batch *b, uint32_t slot, uint32_t gen) {
  return nu__batch_record(b, NU_CLOSE_WORDS, NU_EV_CLOSE, slot, gen) ? 0
                                                                     : -ENOMEM;
}

int nu_batch_put_timeout(struct nu_batch *b, uint32_t slot, uint32_t gen) {
  return nu__batch_record(b, NU_TIMEOUT_WORDS, NU_EV_TIMEOUT, slot, gen)
             ? 0
             : -ENOMEM;
}

int nu_batch_put_hangup(struct nu_batch *b, uint32_t slot, uint32_t gen) {
  return nu__batch_record(b, NU_HANGUP_WORDS, NU_EV_HANGUP, slot, gen)
             ? 0
             : -ENOMEM;
}

int nu_batch_put_held_hangup(struct nu_batch *b, uint32_t slot, uint32_t gen) {
  return nu__batch_record(b, NU_HELD_HANGUP_WORDS, NU_EV_HELD_HANGUP, slot, gen)
             ? 0
             : -ENOMEM;
}

int nu_batch_put_data(struct nu_batch *b, uint32_t slot, uint32_t gen,
                      const char *at, uint32_t len) {
  return nu__batch_put_bytes(b, NU_EV_DATA, slot, gen, at, len);
}

int nu_batch_put_ws_at(struct nu_batch *b, uint32_t slot, uint32_t gen,
                       uint32_t op, uint32_t code, uint32_t off, uint32_t len) {
  uint32_t *w = nu__batch_record(b, NU_WS_WORDS, NU_EV_WS, slot, gen);

  if (w == NULL)
    return -ENOMEM;
  w[NU_WS_OP] = op;
  w[NU_WS_CODE] = code;
  w[NU_WS_OFF] = off;
  w[NU_WS_LEN] = len;
  return 0;
}

int nu_batch_put_ws(struct nu_batch *b, uint32_t slot, uint32_t gen,
                    uint32_t op, uint32_t code, const void *at, uint32_t len) {
  int64_t off = nu_batch_put_bytes(b, at, len);

  if (off < 0)
    return -ENOMEM;
  return nu_batch_put_ws_at(b, slot, gen, op, code, (uint32_t)off, len);
}

int nu_batch_put_drain(struct nu_batch *b, uint32_t slot, uint32_t gen,
                       uint64_t sent) {
  uint32_t *w = nu__batch_record(b, NU_DRAIN_WORDS, NU_EV_DRAIN, slot, gen);

  if (w == NULL)
    return -ENOMEM;
  w[NU_DRAIN_SENT_LO] = (uint32_t)sent;
  w[NU_DRAIN_SENT_HI] = (uint32_t)(sent >> 32);
  return 0;
}

int nu_batch_put_released(struct nu_batch *b, uint32_t slot, uint32_t gen,
                          uint32_t id) {
  uint32_t *w =
      nu__batch_record(b, NU_RELEASED_WORDS, NU_EV_RELEASED, slot, gen);

  if (w == NULL)
    return -ENOMEM;
  w[NU_RELEASED_ID] = id;
  return 0;
}

/* Copies n bytes to the batch's bytes: their offset, or -1 out of memory. */
static int64_t nu__batch_text(struct nu_batch *b, const char *at, uint32_t n) {
  return n == 0 ? 0 : nu_batch_put_bytes(b, at, n);
}

int nu_batch_put_client_error(struct nu_batch *b, uint32_t slot, uint32_t gen,
                              const struct nu_client_error *e) {
  uint32_t code_len = (uint32_t)strlen(e->code);
  uint32_t reason_len = (uint32_t)strlen(e->reason);
  int64_t code = nu__batch_text(b, e->code, code_len);
  int64_t reason = nu__batch_text(b, e->reason, reason_len);
  int64_t packet = nu__batch_text(b, e->packet, e->packet_len);
  uint32_t *w;

  if (code < 0 || reason < 0 || packet < 0)
    return -ENOMEM;
  w = nu__batch_record(b, NU_CLIENT_ERROR_WORDS, NU_EV_CLIENT_ERROR, slot, gen);
  if (w == NULL)
    return -ENOMEM;
  w[NU_CLIENT_ERROR_STATUS] = e->status;
  w[NU_CLIENT_ERROR_SEQ] = e->seq;
  w[NU_CLIENT_ERROR_CODE_OFF] = (uint32_t)code;
  w[NU_CLIENT_ERROR_CODE_LEN] = code_len;
  w[NU_CLIENT_ERROR_REASON_OFF] = (uint32_t)reason;
  w[NU_CLIENT_ERROR_REASON_LEN] = reason_len;
  w[NU_CLIENT_ERROR_PACKET_OFF] = (uint32_t)packet;
  w[NU_CLIENT_ERROR_PACKET_LEN] = e->packet_len;
  w[NU_CLIENT_ERROR_PARSED] = e->parsed;
  return 0;
}

int nu_batch_put_stopped(struct nu_batch *b) {
  uint32_t *w = nu_batch_add_words(b, NU_STOPPED_WORDS);

  if (w == NULL)
    return -ENOMEM;
  w[NU_REC_KIND] = NU_EV_STOPPED;
  b->conn = 0;
  return 0;
}
