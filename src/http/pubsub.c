#include "pubsub.h"

#include <stdlib.h>
#include <string.h>

struct nu_frame *nu_frame_new(size_t len) {
  struct nu_frame *f;

  /* One spare byte for the NUL that string copies write past their end. */
  if (len > NU_OUT_MAX || (f = malloc(sizeof(*f) + len + 1)) == NULL)
    return NULL;
  atomic_init(&f->refs, 1);
  f->len = f->cap = (uint32_t)len;
  return f;
}

/* Room for at least need bytes, doubling: a run of small publishes grows
 * one frame in O(log n) reallocations. */
static size_t nu__frame_room(size_t cap, size_t need) {
  size_t twice = cap * 2;

  return twice > need && twice <= NU_OUT_MAX ? twice : need;
}

struct nu_frame *nu_frame_append(struct nu_frame *f, const char *bytes,
                                 size_t n) {
  size_t need = (size_t)f->len + n;
  struct nu_frame *g;

  if (need > NU_OUT_MAX)
    return NULL;
  /* Nobody else holds f. Acquire: a ring thread that held it read its
   * bytes before its release of the reference, and is done with them. */
  if (atomic_load_explicit(&f->refs, memory_order_acquire) == 1) {
    if (need > f->cap) {
      size_t cap = nu__frame_room(f->cap, need);

      if ((g = realloc(f, sizeof(*g) + cap + 1)) == NULL)
        return NULL;
      f = g;
      f->cap = (uint32_t)cap;
    }
    memcpy(f->data + f->len, bytes, n);
    f->len = (uint32_t)need;
    return f;
  }
  /* Shared (other rings hold it, maybe reading it already): a copy. */
  if ((g = nu_frame_new(nu__frame_room(f->len, need))) == NULL)
    return NULL;
  memcpy(g->data, f->data, f->len);
  memcpy(g->data + f->len, bytes, n);
  g->len = (uint32_t)need;
  nu_frame_unref(f);
  return g;
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
