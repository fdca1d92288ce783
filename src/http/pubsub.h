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
  char data[];
};

static inline struct nu_frame *nu_frame_ref(struct nu_frame *f) {
  atomic_fetch_add_explicit(&f->refs, 1, memory_order_relaxed);
  return f;
}

/* Where chunk o's bytes are: its own, or its frame's. */
static inline char *nu_out_bytes(struct nu_out *o) {
  return (o->flags & NU_OUT_SHARED) ? o->frame->data : o->data;
}

#endif
