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

  if (w == NULL)
    return NULL;
  w[NU_REC_KIND] = kind;
  w[NU_REC_SLOT] = slot;
  w[NU_REC_GEN] = gen;
  return w;
}

int nu_batch_put_open(struct nu_batch *b, uint32_t slot, uint32_t gen,
                      const struct sockaddr_storage *peer) {
  const struct sockaddr_in6 *v6 = (const void *)peer;
  const struct sockaddr_in *v4 = (const void *)peer;
  int six = peer->ss_family == AF_INET6;
  int64_t off = six ? nu_batch_put_bytes(b, &v6->sin6_addr, 16)
                    : nu_batch_put_bytes(b, &v4->sin_addr, 4);
  uint32_t *w;

  if (off < 0)
    return -ENOMEM;
  w = nu__batch_record(b, NU_OPEN_WORDS, NU_EV_OPEN, slot, gen);
  if (w == NULL)
    return -ENOMEM;
  w[NU_OPEN_FAMILY] = six ? 6 : 4;
  w[NU_OPEN_PORT] = ntohs(six ? v6->sin6_port : v4->sin_port);
  w[NU_OPEN_ADDR_OFF] = (uint32_t)off;
  return 0;
}

int nu_batch_put_request(struct nu_batch *b, uint32_t slot, uint32_t gen,
                         uint32_t seq, uint32_t info, const char *head,
                         uint32_t head_len, const uint32_t *lens,
                         uint32_t nlens) {
  int64_t off = nu_batch_put_bytes(b, head, head_len);
  uint32_t *w;

  if (off < 0)
    return -ENOMEM;
  w = nu__batch_record(b, NU_REQUEST_WORDS + nlens, NU_EV_REQUEST, slot, gen);
  if (w == NULL)
    return -ENOMEM;
  w[NU_REQUEST_SEQ] = seq;
  w[NU_REQUEST_INFO] = info;
  w[NU_REQUEST_HEAD_OFF] = (uint32_t)off;
  w[NU_REQUEST_NLENS] = nlens;
  memcpy(w + NU_REQUEST_LENS, lens, nlens * sizeof(*lens));
  return 0;
}

int nu_batch_put_body(struct nu_batch *b, uint32_t slot, uint32_t gen,
                      const char *at, uint32_t len) {
  int64_t off = nu_batch_put_bytes(b, at, len);
  uint32_t *w;

  if (off < 0)
    return -ENOMEM;
  w = nu__batch_record(b, NU_BODY_WORDS, NU_EV_BODY, slot, gen);
  if (w == NULL)
    return -ENOMEM;
  w[NU_BODY_OFF] = (uint32_t)off;
  w[NU_BODY_LEN] = len;
  return 0;
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

int nu_batch_put_drain(struct nu_batch *b, uint32_t slot, uint32_t gen,
                       uint64_t sent) {
  uint32_t *w = nu__batch_record(b, NU_DRAIN_WORDS, NU_EV_DRAIN, slot, gen);

  if (w == NULL)
    return -ENOMEM;
  w[NU_DRAIN_SENT_LO] = (uint32_t)sent;
  w[NU_DRAIN_SENT_HI] = (uint32_t)(sent >> 32);
  return 0;
}

int nu_batch_put_stopped(struct nu_batch *b) {
  uint32_t *w = nu_batch_add_words(b, NU_STOPPED_WORDS);

  if (w == NULL)
    return -ENOMEM;
  w[NU_REC_KIND] = NU_EV_STOPPED;
  return 0;
}
