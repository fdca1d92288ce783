/* Unit tests of src/http/out_pool.c, the pool of response chunks' memory:
 * reuse by size, the byte bound, sizes past the largest, and (this build
 * has AddressSanitizer) that a pooled chunk's bytes are poisoned. */
#include "out_pool.h"

#include <pthread.h>
#include <sanitizer/asan_interface.h>
#include <stdlib.h>

#include "nu_test.h"

static void test_reuse_by_size(struct nu_test *t) {
  struct nu_out_pool p;
  struct nu_out *a, *b, *c;

  nu_out_pool_init(&p, NU_OUT_POOL_MAX_BYTES);
  a = nu_out_pool_take(&p, 100);
  NU_EXPECT(a != NULL && a->pool == &p);
  NU_EXPECT_INT(a->size_index, 0); /* 512 bytes */
  b = nu_out_pool_take(&p, 70000);
  NU_EXPECT(b != NULL);
  NU_EXPECT_INT(b->size_index, 8); /* 128 KiB */
  nu_out_pool_put(&p, a);
  nu_out_pool_put(&p, b);
  NU_EXPECT_INT(atomic_load(&p.bytes), 512 + (128 << 10));
  /* The same memory again, each for a size it holds. */
  c = nu_out_pool_take(&p, 512);
  NU_EXPECT(c == a);
  c = nu_out_pool_take(&p, 65 << 10);
  NU_EXPECT(c == b);
  NU_EXPECT_INT(atomic_load(&p.bytes), 0);
  /* A size it does not hold gets new memory. */
  c = nu_out_pool_take(&p, 513);
  NU_EXPECT(c != a && c != b && c->size_index == 1);
  nu_out_pool_put(&p, a);
  nu_out_pool_put(&p, b);
  nu_out_pool_put(&p, c);
  nu_out_pool_destroy(&p);
  NU_EXPECT_INT(atomic_load(&p.bytes), 0);
}

static void test_bound(struct nu_test *t) {
  struct nu_out_pool p;
  struct nu_out *o[4];

  nu_out_pool_init(&p, 2048); /* room for four 512-byte chunks, no more */
  for (int i = 0; i < 4; i++)
    o[i] = nu_out_pool_take(&p, 200);
  struct nu_out *fifth = nu_out_pool_take(&p, 200);
  struct nu_out *big = nu_out_pool_take(&p, 3000);
  for (int i = 0; i < 4; i++)
    nu_out_pool_put(&p, o[i]);
  NU_EXPECT_INT(atomic_load(&p.bytes), 2048);
  nu_out_pool_put(&p, fifth); /* freed: the pool is full */
  nu_out_pool_put(&p, big);
  NU_EXPECT_INT(atomic_load(&p.bytes), 2048);
  nu_out_pool_destroy(&p);
}

static void test_past_the_largest(struct nu_test *t) {
  struct nu_out_pool p;
  struct nu_out *o;

  nu_out_pool_init(&p, NU_OUT_POOL_MAX_BYTES);
  o = nu_out_pool_take(&p, (2u << 20) + 1);
  NU_EXPECT(o != NULL && o->pool == &p); /* malloc'ed, */
  NU_EXPECT_INT(o->size_index, NU_OUT_POOL_SIZES);
  o->flags = 0;
  nu_out_pool_put(&p, o); /* and freed, not kept */
  NU_EXPECT_INT(atomic_load(&p.bytes), 0);
  nu_out_pool_destroy(&p);
}

/* A lent chunk waits on the lent list until it is reported, whatever its
 * size; then it is memory like any other. One left there is freed with
 * the pool (the leak check would say otherwise). */
static void test_lent(struct nu_test *t) {
  struct nu_out_pool p;
  struct nu_out *a, *b, *c, *d;

  nu_out_pool_init(&p, NU_OUT_POOL_MAX_BYTES);
  a = nu_out_pool_take(&p, 300);
  b = nu_out_pool_take(&p, (2u << 20) + 1);
  c = nu_out_pool_take(&p, 300);
  a->flags = b->flags = c->flags = NU_OUT_LENT;
  nu_out_pool_put(&p, a);
  nu_out_pool_put(&p, b);
  NU_EXPECT_INT(atomic_load(&p.bytes), 0);
  d = nu_out_pool_take(&p, 300);
  NU_EXPECT(d != a); /* not reused while lent */
  nu_out_pool_put(&p, d);
  NU_EXPECT(nu_out_pool_take_lent(&p) == b && b->next == a && a->next == NULL);
  NU_EXPECT(nu_out_pool_take_lent(&p) == NULL);
  a->flags = b->flags = 0;
  nu_out_pool_put(&p, a);
  nu_out_pool_put(&p, b); /* past the largest size: freed */
  NU_EXPECT_INT(atomic_load(&p.bytes), 1024);
  NU_EXPECT(nu_out_pool_take(&p, 300) == a);
  nu_out_pool_put(&p, a);
  nu_out_pool_put(&p, c); /* never reported */
  nu_out_pool_destroy(&p);
}

static void test_poisoned_while_pooled(struct nu_test *t) {
  struct nu_out_pool p;
  struct nu_out *o;

  nu_out_pool_init(&p, NU_OUT_POOL_MAX_BYTES);
  o = nu_out_pool_take(&p, 300);
  NU_EXPECT(!__asan_address_is_poisoned(o->data));
  nu_out_pool_put(&p, o);
  NU_EXPECT(__asan_address_is_poisoned(o->data));
  NU_EXPECT(!__asan_address_is_poisoned(&o->next)); /* the link is not */
  o = nu_out_pool_take(&p, 300);
  NU_EXPECT(!__asan_address_is_poisoned(o->data + 511 - sizeof(*o)));
  nu_out_pool_put(&p, o);
  nu_out_pool_destroy(&p);
}

/* Puts from another thread while this one takes, as the ring thread and
 * the JS thread do: every chunk comes back exactly once. */
#define ROUNDS 20000

struct relay {
  struct nu_out_pool *p;
  _Atomic(struct nu_out *) slot; /* one chunk handed to the putter */
  atomic_int done;
};

static void *putter(void *arg) {
  struct relay *r = arg;

  for (int n = 0; n < ROUNDS;) {
    struct nu_out *o = atomic_exchange(&r->slot, NULL);

    if (o != NULL) {
      nu_out_pool_put(r->p, o);
      n++;
    }
  }
  atomic_store(&r->done, 1);
  return NULL;
}

static void test_threads(struct nu_test *t) {
  struct nu_out_pool p;
  struct relay r = {&p, NULL, 0};
  pthread_t th;
  unsigned fresh = 0;
  struct nu_out *seen[8] = {0};

  nu_out_pool_init(&p, NU_OUT_POOL_MAX_BYTES);
  pthread_create(&th, NULL, putter, &r);
  for (int n = 0; n < ROUNDS; n++) {
    struct nu_out *o = nu_out_pool_take(&p, 1000);
    unsigned i = 0;

    while (i < fresh && seen[i] != o)
      i++;
    if (i == fresh && fresh < 8)
      seen[fresh++] = o;
    o->seq = (uint32_t)n;
    while (atomic_load(&r.slot) != NULL)
      ;
    atomic_store(&r.slot, o);
  }
  pthread_join(th, NULL);
  NU_EXPECT(atomic_load(&r.done));
  /* A handful of chunks served every round. */
  NU_EXPECT(fresh <= 3);
  NU_EXPECT_INT(atomic_load(&p.bytes), (uint64_t)fresh * 1024);
  nu_out_pool_destroy(&p);
}

int main(void) {
  struct nu_test t = {0};

  NU_RUN(&t, test_reuse_by_size);
  NU_RUN(&t, test_bound);
  NU_RUN(&t, test_past_the_largest);
  NU_RUN(&t, test_lent);
  NU_RUN(&t, test_poisoned_while_pooled);
  NU_RUN(&t, test_threads);
  return nu_test_end(&t, __FILE__);
}
