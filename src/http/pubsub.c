#include "pubsub.h"

#include <stdlib.h>

struct nu_frame *nu_frame_new(size_t len) {
  struct nu_frame *f;

  /* One spare byte for the NUL that string copies write past their end. */
  if (len > NU_OUT_MAX || (f = malloc(sizeof(*f) + len + 1)) == NULL)
    return NULL;
  atomic_init(&f->refs, 1);
  f->len = (uint32_t)len;
  return f;
}

char *nu_frame_data(struct nu_frame *f) { return f->data; }

void nu_frame_unref(struct nu_frame *f) {
  /* Release, then acquire on the last: the frame's bytes, written by the
   * JS thread, are read by ring threads before they let go of it. */
  if (atomic_fetch_sub_explicit(&f->refs, 1, memory_order_release) == 1) {
    atomic_thread_fence(memory_order_acquire);
    free(f);
  }
}
