/*
 * pubsub: what a publish shares across rings and subscribers. The JS
 * thread frames a message once (struct nu_frame) and hands each ring one
 * NU_OUT_WS_TOPIC chunk holding a reference to it; each ring thread finds
 * the topic's subscribers in its own table (topics.h) and queues for each
 * a NU_OUT_SHARED chunk holding another. The last chunk freed, on
 * whichever thread, frees the frame.
 */
#ifndef NU_PUBSUB_H
#define NU_PUBSUB_H

#include <stdatomic.h>
#include <stdint.h>

#include "nu.h"

struct nu_frame {
  atomic_uint refs;
  uint32_t len;
  uint32_t cap; /* bytes data has room for, less the spare NUL */
  char data[];
};

static inline struct nu_frame *nu_frame_ref(struct nu_frame *f) {
  atomic_fetch_add_explicit(&f->refs, 1, memory_order_relaxed);
  return f;
}

/* A frame of f's bytes followed by n more: f itself, grown, when nobody
 * else holds it; else a copy, and the caller's reference to f is dropped.
 * NULL, f untouched, when out of memory or past NU_OUT_MAX. */
struct nu_frame *nu_frame_append(struct nu_frame *f, const char *bytes,
                                 size_t n);

/* Where chunk o's bytes are: its own, or its frame's. */
static inline char *nu_out_bytes(struct nu_out *o) {
  return (o->flags & NU_OUT_SHARED) ? o->frame->data : o->data;
}

#endif
