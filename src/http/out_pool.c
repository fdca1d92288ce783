#include "out_pool.h"

#include <stdlib.h>

#if defined(__SANITIZE_ADDRESS__)
#define NU_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define NU_ASAN 1
#endif
#endif
#ifdef NU_ASAN
#include <sanitizer/asan_interface.h>
#define NU_POISON(o, size)                                                     \
  ASAN_POISON_MEMORY_REGION((o)->data, (size) - sizeof(*(o)))
#define NU_UNPOISON(o, size)                                                   \
  ASAN_UNPOISON_MEMORY_REGION((o)->data, (size) - sizeof(*(o)))
#else
#define NU_POISON(o, size) ((void)0)
#define NU_UNPOISON(o, size) ((void)0)
#endif

static size_t nu__size_of(unsigned index) {
  return (size_t)1 << (index + NU_OUT_POOL_MIN_SHIFT);
}

/* The index of the smallest pooled size that holds size bytes, or
 * NU_OUT_POOL_SIZES when none does. */
static unsigned nu__index_for(size_t size) {
  unsigned i = 0;

  while (i < NU_OUT_POOL_SIZES && nu__size_of(i) < size)
    i++;
  return i;
}

void nu_out_pool_init(struct nu_out_pool *p, size_t max_bytes) {
  for (unsigned i = 0; i < NU_OUT_POOL_SIZES; i++) {
    atomic_init(&p->returned[i], NULL);
    p->ready[i] = NULL;
  }
  atomic_init(&p->lent, NULL);
  atomic_init(&p->bytes, 0);
  p->max_bytes = max_bytes;
}

struct nu_out *nu_out_pool_take(struct nu_out_pool *p, size_t size) {
  unsigned i = nu__index_for(size);
  struct nu_out *o;

  if (i == NU_OUT_POOL_SIZES) {
    o = malloc(size);
    if (o != NULL) {
      o->pool = p; /* a lent chunk's way back to JS is p's lent list */
      o->size_index = NU_OUT_POOL_SIZES;
      o->flags = 0;
    }
    return o;
  }
  o = p->ready[i];
  if (o == NULL)
    o = p->ready[i] = atomic_exchange(&p->returned[i], NULL);
  if (o != NULL) {
    p->ready[i] = o->next;
    /* The ring thread wrote the next one's link when it put it back, so
     * reading it misses; fetched now, the next take finds it. */
    if (o->next != NULL)
      __builtin_prefetch(o->next, 1);
    atomic_fetch_sub(&p->bytes, nu__size_of(i));
    NU_UNPOISON(o, nu__size_of(i));
  } else {
    o = malloc(nu__size_of(i));
    if (o == NULL)
      return NULL;
  }
  o->pool = p;
  o->size_index = i;
  o->flags = 0; /* not lent, until the taker says so */
  return o;
}

/* Pushes o on a lock-free stack of chunks. */
static void nu__push(_Atomic(struct nu_out *) *stack, struct nu_out *o) {
  struct nu_out *head = atomic_load(stack);

  do
    o->next = head;
  while (!atomic_compare_exchange_weak(stack, &head, o));
}

void nu_out_pool_put(struct nu_out_pool *p, struct nu_out *o) {
  size_t size;

  if (o->flags & NU_OUT_LENT) {
    nu__push(&p->lent, o);
    return;
  }
  if (o->size_index == NU_OUT_POOL_SIZES) {
    free(o);
    return;
  }
  size = nu__size_of(o->size_index);
  if (atomic_fetch_add(&p->bytes, size) + size > p->max_bytes) {
    atomic_fetch_sub(&p->bytes, size);
    free(o);
    return;
  }
  NU_POISON(o, size);
  nu__push(&p->returned[o->size_index], o);
}

struct nu_out *nu_out_pool_take_lent(struct nu_out_pool *p) {
  /* Called every turn of the ring thread: most find nothing, and a load
   * costs less than an exchange. */
  if (atomic_load_explicit(&p->lent, memory_order_relaxed) == NULL)
    return NULL;
  return atomic_exchange(&p->lent, NULL);
}

static void nu__free_list(struct nu_out *o, size_t size) {
  while (o != NULL) {
    struct nu_out *next = o->next;

    NU_UNPOISON(o, size);
    free(o);
    o = next;
  }
}

void nu_out_pool_destroy(struct nu_out_pool *p) {
  struct nu_out *o = atomic_exchange(&p->lent, NULL);

  /* Nobody reads a lent body any more: JS drops them all once the ring
   * thread is gone (lib/uring_backend.js). */
  while (o != NULL) {
    struct nu_out *next = o->next;

    o->flags &= ~NU_OUT_LENT;
    nu_out_pool_put(p, o);
    o = next;
  }
  for (unsigned i = 0; i < NU_OUT_POOL_SIZES; i++) {
    nu__free_list(p->ready[i], nu__size_of(i));
    nu__free_list(atomic_exchange(&p->returned[i], NULL), nu__size_of(i));
    p->ready[i] = NULL;
  }
  atomic_store(&p->bytes, 0);
}
