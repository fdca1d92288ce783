/*
 * out: response chunks (struct nu_out, see nu.h), made on the JS thread by
 * nu_out_new() and framed by nu_out_seal(), or made on the ring thread for
 * a static file's splice; sent and freed by the ring thread. They cross
 * threads through core's outbox (handoff.h), which knows only their link.
 */
#include "nu.h"
#include "out_pool.h"
#include "pubsub.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Chunked framing: "<hex size>\r\n" before the body, "\r\n" after it, and
 * "0\r\n\r\n" after the last one. */
static uint32_t nu__hex_len(uint32_t n) {
  uint32_t len = 1;

  while (n >>= 4)
    len++;
  return len;
}

struct nu_out *nu_out_new_in(struct nu_out_pool *pool, uint32_t slot,
                             uint32_t gen, uint32_t seq, uint32_t flags,
                             size_t head_len, size_t body_len) {
  int framed = (flags & NU_OUT_CHUNKED) && body_len > 0;
  int last = (flags & NU_OUT_CHUNKED) && (flags & NU_OUT_END);
  uint64_t len = (uint64_t)head_len + body_len;
  struct nu_out *o;

  /* The bound keeps every length below, framing included, in 32 bits. */
  if (head_len > NU_OUT_MAX || body_len > NU_OUT_MAX || len > NU_OUT_MAX)
    return NULL;
  if (framed)
    len += nu__hex_len((uint32_t)body_len) + 4;
  if (last)
    len += 5;
  /* One spare byte for the NUL that string copies write past their end. */
  if (pool != NULL) {
    o = nu_out_pool_take(pool, sizeof(*o) + len + 1);
  } else {
    o = malloc(sizeof(*o) + len + 1);
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
  o->len = (uint32_t)len;
  o->head_len = (uint32_t)head_len;
  o->body_len = (uint32_t)body_len;
  o->body_off = o->head_len + (framed ? nu__hex_len(o->body_len) + 2 : 0);
  o->fd = -1;
  o->file_off = 0;
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
  char *tail = o->data + o->body_off + o->body_len;

  if (!(o->flags & NU_OUT_CHUNKED))
    return;
  if (o->body_len > 0) {
    /* The size line fills exactly the gap nu_out_new() left between head
     * and body; it is formatted aside so that its NUL lands nowhere. */
    char line[16];
    int n = snprintf(line, sizeof(line), "%x\r\n", o->body_len);

    memcpy(o->data + o->head_len, line, (size_t)n);
    memcpy(tail, "\r\n", 2);
    tail += 2;
  }
  if (o->flags & NU_OUT_END)
    memcpy(tail, "0\r\n\r\n", 5);
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
