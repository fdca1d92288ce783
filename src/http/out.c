/*
 * out: response chunks (struct nu_out, see nu.h), made on the JS thread by
 * nu_out_new() or, their body lent rather than copied, nu_out_lend_in(),
 * and framed by nu_out_seal(), or made on the ring thread for a static
 * file's splice; sent and freed by the ring thread. They cross
 * threads through core's outbox (handoff.h), which knows only their link.
 */
#include "nu.h"
#include "out_pool.h"
#include "pubsub.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

/* Chunked framing: "<hex size>\r\n" before the body, "\r\n" after it, and
 * "0\r\n\r\n" after the last one. */
static uint32_t nu__hex_len(uint32_t n) {
  uint32_t len = 1;

  while (n >>= 4)
    len++;
  return len;
}

/* The bytes of chunked framing before a body of body_len (its size line)
 * and after it ("\r\n", and "0\r\n\r\n" after the last one). */
static uint32_t nu__size_line_len(uint32_t flags, size_t body_len) {
  if (!(flags & NU_OUT_CHUNKED) || body_len == 0)
    return 0;
  return nu__hex_len((uint32_t)body_len) + 2;
}

static uint32_t nu__tail_len(uint32_t flags, size_t body_len) {
  if (!(flags & NU_OUT_CHUNKED))
    return 0;
  return (body_len > 0 ? 2 : 0) + ((flags & NU_OUT_END) ? 5 : 0);
}

/* A chunk with data_len bytes of data (the framing included), its fields
 * set for head_len and body_len; NULL when out of memory or past
 * NU_OUT_MAX, a bound that keeps every length, framing included, in 32
 * bits. The caller sets len. */
static struct nu_out *nu__out_alloc(struct nu_out_pool *pool, uint32_t slot,
                                    uint32_t gen, uint32_t seq, uint32_t flags,
                                    size_t head_len, size_t body_len,
                                    size_t data_len) {
  struct nu_out *o;

  if (head_len > NU_OUT_MAX || body_len > NU_OUT_MAX ||
      (uint64_t)head_len + body_len > NU_OUT_MAX)
    return NULL;
  /* One spare byte for the NUL that string copies write past their end. */
  if (pool != NULL) {
    o = nu_out_pool_take(pool, sizeof(*o) + data_len + 1);
  } else {
    o = malloc(sizeof(*o) + data_len + 1);
    if (o != NULL)
      o->pool = NULL;
  }
  if (o == NULL)
    return NULL;
  o->next = NULL;
  o->slot = slot;
  o->gen = gen;
  o->seq = seq;
  o->flags = flags;
  o->head_len = (uint32_t)head_len;
  o->body_len = (uint32_t)body_len;
  o->body_off = o->head_len + nu__size_line_len(flags, body_len);
  o->fd = -1;
  o->file_off = 0;
  return o;
}

struct nu_out *nu_out_new_in(struct nu_out_pool *pool, uint32_t slot,
                             uint32_t gen, uint32_t seq, uint32_t flags,
                             size_t head_len, size_t body_len) {
  uint64_t len = (uint64_t)head_len + body_len +
                 nu__size_line_len(flags, body_len) +
                 nu__tail_len(flags, body_len);
  struct nu_out *o =
      nu__out_alloc(pool, slot, gen, seq, flags, head_len, body_len, len);

  if (o != NULL)
    o->len = (uint32_t)len;
  return o;
}

struct nu_out *nu_out_lend_in(struct nu_out_pool *pool, uint32_t slot,
                              uint32_t gen, uint32_t seq, uint32_t flags,
                              size_t head_len, const void *bytes,
                              size_t body_len, uint32_t id) {
  uint64_t data_len = (uint64_t)head_len + nu__size_line_len(flags, body_len) +
                      nu__tail_len(flags, body_len);
  struct nu_out *o = nu__out_alloc(pool, slot, gen, seq, flags | NU_OUT_LENT,
                                   head_len, body_len, data_len);

  if (o == NULL)
    return NULL;
  o->len = (uint32_t)(data_len + body_len);
  o->lent.bytes = bytes;
  o->lent.id = id;
  return o;
}

struct nu_out *nu_out_new(uint32_t slot, uint32_t gen, uint32_t seq,
                          uint32_t flags, size_t head_len, size_t body_len) {
  return nu_out_new_in(NULL, slot, gen, seq, flags, head_len, body_len);
}

struct nu_out *nu_out_new_splice(uint32_t slot, uint32_t gen, uint32_t seq,
                                 uint32_t flags, int fd, uint64_t off,
                                 uint32_t len) {
  struct nu_out *o = nu_out_new(slot, gen, seq, flags & ~NU_OUT_CHUNKED, 0, 0);

  if (o == NULL) {
    close(fd);
    return NULL;
  }
  o->flags |= NU_OUT_SPLICE;
  o->len = len;
  o->body_len = len;
  o->fd = fd;
  o->file_off = off;
  return o;
}

void nu_out_seal(struct nu_out *o) {
  char *tail = o->data + o->body_off;

  if (!(o->flags & NU_OUT_CHUNKED))
    return;
  if (o->body_len > 0) {
    /* The size line fills exactly the gap nu_out_new() left between head
     * and body; it is formatted aside so that its NUL lands nowhere. */
    char line[16];
    int n = snprintf(line, sizeof(line), "%x\r\n", o->body_len);

    memcpy(o->data + o->head_len, line, (size_t)n);
    if (!(o->flags & NU_OUT_LENT))
      tail += o->body_len;
    memcpy(tail, "\r\n", 2);
    tail += 2;
  }
  if (o->flags & NU_OUT_END)
    memcpy(tail, "0\r\n\r\n", 5);
}

unsigned nu_out_iov(const struct nu_out *o, uint32_t off, struct iovec *iov,
                    unsigned max) {
  uint32_t tail = o->body_off + o->body_len;
  struct iovec seg[3];
  unsigned n = 0;

  if (!(o->flags & NU_OUT_LENT)) {
    /* One piece, even when empty: a send of it retires the chunk. */
    iov[0] = (struct iovec){nu_out_bytes((struct nu_out *)o) + off,
                            o->len - off};
    return 1;
  }
  seg[0] = (struct iovec){(char *)o->data, o->body_off};
  seg[1] = (struct iovec){(char *)o->lent.bytes, o->body_len};
  seg[2] = (struct iovec){(char *)o->data + o->body_off, o->len - tail};
  for (unsigned i = 0; i < 3 && n < max; i++) {
    if (off >= seg[i].iov_len) {
      off -= (uint32_t)seg[i].iov_len;
      continue;
    }
    iov[n].iov_base = (char *)seg[i].iov_base + off;
    iov[n++].iov_len = seg[i].iov_len - off;
    off = 0;
  }
  return n;
}

void nu_out_free(struct nu_out *o) {
  if (o->fd >= 0)
    close(o->fd);
  if (o->flags & NU_OUT_SHARED)
    nu_frame_unref(o->frame);
  if (o->pool != NULL)
    nu_out_pool_put(o->pool, o);
  else
    free(o);
}
