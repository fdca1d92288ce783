/* Unit tests of src/http/topics.c: a ring's pub/sub table. */
#include "topics.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "nu_test.h"

/* A subscriber, as a connection is to the table: an owner and its list. */
struct owner {
  struct nu_sub *list;
};

static int sub(struct nu_topics *t, struct owner *o, const char *name) {
  return nu_topics_subscribe(t, &o->list, o, name, (uint32_t)strlen(name));
}

static int unsub(struct nu_topics *t, struct owner *o, const char *name) {
  return nu_topics_unsubscribe(t, &o->list, name, (uint32_t)strlen(name));
}

/* How many subscribers a topic has, found by walking its list; 0 when it
 * is not in the table. Checks each one's owner is among owners. */
static uint32_t count(struct nu_topics *t, const char *name) {
  struct nu_topic *tp = nu_topics_find(t, name, (uint32_t)strlen(name));
  uint32_t n = 0;

  if (tp == NULL)
    return 0;
  for (struct nu_sub *s = tp->subs; s; s = s->next) {
    if (s->next && s->next->prev != s)
      return 0xffffffff; /* a broken back link */
    n++;
  }
  return n == tp->nsubs ? n : 0xfffffffe;
}

static void test_subscribe_once(struct nu_test *t) {
  struct nu_topics tab = {0};
  struct owner a = {0}, b = {0};

  NU_EXPECT_INT(sub(&tab, &a, "news"), 1);
  NU_EXPECT_INT(sub(&tab, &a, "news"), 0); /* already */
  NU_EXPECT_INT(sub(&tab, &b, "news"), 1);
  NU_EXPECT_UINT(count(&tab, "news"), 2);
  NU_EXPECT_UINT(tab.count, 1);
  NU_EXPECT(nu_topics_find(&tab, "new", 3) == NULL);
  NU_EXPECT(nu_topics_find(&tab, "newsx", 5) == NULL);
  /* The empty topic is a topic like any other. */
  NU_EXPECT_INT(sub(&tab, &a, ""), 1);
  NU_EXPECT_UINT(count(&tab, ""), 1);
  nu_topics_destroy(&tab);
}

static void test_unsubscribe_frees_topic(struct nu_test *t) {
  struct nu_topics tab = {0};
  struct owner a = {0}, b = {0};

  sub(&tab, &a, "x");
  sub(&tab, &b, "x");
  NU_EXPECT_INT(unsub(&tab, &a, "x"), 1);
  NU_EXPECT_INT(unsub(&tab, &a, "x"), 0); /* not any more */
  NU_EXPECT_INT(unsub(&tab, &a, "y"), 0); /* never */
  NU_EXPECT_UINT(count(&tab, "x"), 1);
  NU_EXPECT(a.list == NULL);
  NU_EXPECT_INT(unsub(&tab, &b, "x"), 1);
  NU_EXPECT(nu_topics_find(&tab, "x", 1) == NULL); /* gone with its last */
  NU_EXPECT_UINT(tab.count, 0);
  nu_topics_destroy(&tab);
}

/* A connection that closes leaves every topic; the others keep theirs. */
static void test_leave_all(struct nu_test *t) {
  struct nu_topics tab = {0};
  struct owner a = {0}, b = {0};
  char name[16];

  for (int i = 0; i < 10; i++) {
    snprintf(name, sizeof(name), "t%d", i);
    sub(&tab, &a, name);
    if (i % 2)
      sub(&tab, &b, name);
  }
  NU_EXPECT_UINT(tab.count, 10);
  nu_topics_leave_all(&tab, &a.list);
  NU_EXPECT(a.list == NULL);
  NU_EXPECT_UINT(tab.count, 5);
  NU_EXPECT_UINT(count(&tab, "t1"), 1);
  NU_EXPECT_UINT(count(&tab, "t2"), 0);
  NU_EXPECT(nu_topics_find(&tab, "t1", 2)->subs->owner == &b);
  /* A new owner in a's place gets none of a's topics. */
  NU_EXPECT_INT(sub(&tab, &a, "t2"), 1);
  NU_EXPECT_UINT(count(&tab, "t2"), 1);
  nu_topics_leave_all(&tab, &a.list);
  nu_topics_leave_all(&tab, &b.list);
  NU_EXPECT_UINT(tab.count, 0);
  nu_topics_destroy(&tab);
}

/* Many topics: the buckets grow, and every topic is still found. */
static void test_growth(struct nu_test *t) {
  struct nu_topics tab = {0};
  struct owner *o = calloc(2000, sizeof(*o));
  char name[32];
  uint32_t found = 0;

  for (int i = 0; i < 2000; i++) {
    snprintf(name, sizeof(name), "room/%d", i);
    sub(&tab, &o[i], name);
    sub(&tab, &o[(i + 1) % 2000], name);
  }
  NU_EXPECT_UINT(tab.count, 2000);
  NU_EXPECT(tab.mask + 1 >= 2000);
  for (int i = 0; i < 2000; i++) {
    snprintf(name, sizeof(name), "room/%d", i);
    found += count(&tab, name) == 2;
  }
  NU_EXPECT_UINT(found, 2000);
  for (int i = 0; i < 2000; i += 2)
    nu_topics_leave_all(&tab, &o[i].list);
  /* Each topic had owners i and i + 1: one of them stays. */
  NU_EXPECT_UINT(tab.count, 2000);
  snprintf(name, sizeof(name), "room/%d", 7);
  NU_EXPECT_UINT(count(&tab, name), 1);
  nu_topics_destroy(&tab); /* frees what the odd owners hold */
  free(o);
}

static void test_limits(struct nu_test *t) {
  struct nu_topics tab = {0};
  struct owner a = {0};
  char *name = malloc(NU_TOPIC_MAX + 1);

  memset(name, 'a', NU_TOPIC_MAX + 1);
  NU_EXPECT_INT(nu_topics_subscribe(&tab, &a.list, &a, name, NU_TOPIC_MAX + 1),
                -EINVAL);
  NU_EXPECT_UINT(tab.count, 0);
  NU_EXPECT_INT(nu_topics_subscribe(&tab, &a.list, &a, name, NU_TOPIC_MAX), 1);
  /* Names are bytes, NULs included. */
  NU_EXPECT_INT(nu_topics_subscribe(&tab, &a.list, &a, "a\0b", 3), 1);
  NU_EXPECT_INT(nu_topics_subscribe(&tab, &a.list, &a, "a\0c", 3), 1);
  NU_EXPECT_UINT(tab.count, 3);
  nu_topics_destroy(&tab);
  free(name);
}

int main(void) {
  struct nu_test t = {0};

  NU_RUN(&t, test_subscribe_once);
  NU_RUN(&t, test_unsubscribe_frees_topic);
  NU_RUN(&t, test_leave_all);
  NU_RUN(&t, test_growth);
  NU_RUN(&t, test_limits);
  return nu_test_end(&t, __FILE__);
}
