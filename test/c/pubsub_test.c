/* Unit tests of src/http/pubsub.c: the frames publishes share, and the
 * growth that merges a burst of publishes into one. */
#include "pubsub.h"

#include <stdlib.h>
#include <string.h>

#include "nu_test.h"

/* A frame of the string's bytes, one reference. */
static struct nu_frame *frame_of(const char *s) {
  struct nu_frame *f = nu_frame_new(strlen(s));

  if (f != NULL)
    memcpy(f->data, s, strlen(s));
  return f;
}

static int holds(const struct nu_frame *f, const char *s) {
  return f->len == strlen(s) && f->len <= f->cap &&
         memcmp(f->data, s, f->len) == 0;
}

static void test_append_grows_a_frame_held_once(struct nu_test *t) {
  struct nu_frame *f = frame_of("ab");
  char many[200];

  f = nu_frame_append(f, "cde", 3);
  NU_EXPECT(f != NULL && holds(f, "abcde"));
  /* Many small appends: every byte in order, the room doubling. */
  memset(many, 'x', sizeof(many));
  for (size_t i = 0; f != NULL && i < sizeof(many); i++)
    f = nu_frame_append(f, many + i, 1);
  NU_EXPECT(f != NULL && f->len == 5 + sizeof(many));
  NU_EXPECT(f != NULL && memcmp(f->data + 5, many, sizeof(many)) == 0);
  NU_EXPECT(f != NULL && f->cap < 2 * f->len);
  NU_EXPECT_UINT(atomic_load(&f->refs), 1);
  nu_frame_unref(f);
}

static void test_append_copies_a_shared_frame(struct nu_test *t) {
  struct nu_frame *f = frame_of("one");
  struct nu_frame *other = nu_frame_ref(f); /* another ring's chunk */
  struct nu_frame *g = nu_frame_append(f, "two", 3);

  NU_EXPECT(g != NULL && g != other);
  NU_EXPECT(g != NULL && holds(g, "onetwo"));
  /* The other holder's bytes are as they were, its reference alone. */
  NU_EXPECT(holds(other, "one"));
  NU_EXPECT_UINT(atomic_load(&other->refs), 1);
  NU_EXPECT_UINT(atomic_load(&g->refs), 1);
  nu_frame_unref(other);
  nu_frame_unref(g);
}

static void test_append_past_the_limit_leaves_the_frame(struct nu_test *t) {
  struct nu_frame *f = frame_of("kept");

  NU_EXPECT(nu_frame_append(f, "x", (size_t)NU_OUT_MAX) == NULL);
  NU_EXPECT(holds(f, "kept"));
  NU_EXPECT(nu_frame_append(f, "", 0) == f); /* nothing to add */
  NU_EXPECT(holds(f, "kept"));
  nu_frame_unref(f);
}

int main(void) {
  struct nu_test t = {0};

  NU_RUN(&t, test_append_grows_a_frame_held_once);
  NU_RUN(&t, test_append_copies_a_shared_frame);
  NU_RUN(&t, test_append_past_the_limit_leaves_the_frame);
  return nu_test_end(&t, __FILE__);
}
