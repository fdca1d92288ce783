#include "topics.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* FNV-1a: short names, no adversary worth a keyed hash (a client names
 * the topics it subscribes to only through the app's JS). */
static uint32_t nu__topic_hash(const char *p, uint32_t len) {
  uint32_t h = 2166136261u;

  for (uint32_t i = 0; i < len; i++)
    h = (h ^ (uint8_t)p[i]) * 16777619u;
  return h;
}

static struct nu_topic *nu__topic_lookup(const struct nu_topics *t,
                                         const char *name, uint32_t len,
                                         uint32_t hash) {
  struct nu_topic *tp;

  if (t->buckets == NULL)
    return NULL;
  for (tp = t->buckets[hash & t->mask]; tp; tp = tp->chain)
    if (tp->hash == hash && tp->len == len && memcmp(tp->name, name, len) == 0)
      return tp;
  return NULL;
}

struct nu_topic *nu_topics_find(const struct nu_topics *t, const char *name,
                                uint32_t len) {
  return nu__topic_lookup(t, name, len, nu__topic_hash(name, len));
}

/* Doubles the buckets (from 64) once topics outnumber them. Out of
 * memory, the table stays as it is: only its chains grow. */
static void nu__topics_grow(struct nu_topics *t) {
  uint32_t n = t->buckets ? (t->mask + 1) * 2 : 64;
  struct nu_topic **b;

  if (t->buckets && t->count < t->mask + 1)
    return;
  if (n == 0 || (b = calloc(n, sizeof(*b))) == NULL)
    return;
  for (uint32_t i = 0; t->buckets && i <= t->mask; i++) {
    struct nu_topic *tp = t->buckets[i], *next;

    for (; tp; tp = next) {
      next = tp->chain;
      tp->chain = b[tp->hash & (n - 1)];
      b[tp->hash & (n - 1)] = tp;
    }
  }
  free(t->buckets);
  t->buckets = b;
  t->mask = n - 1;
}

static struct nu_topic *nu__topic_new(struct nu_topics *t, const char *name,
                                      uint32_t len, uint32_t hash) {
  struct nu_topic *tp;

  nu__topics_grow(t);
  if (t->buckets == NULL || (tp = malloc(sizeof(*tp) + len)) == NULL)
    return NULL;
  tp->subs = NULL;
  tp->nsubs = 0;
  tp->hash = hash;
  tp->len = len;
  memcpy(tp->name, name, len);
  tp->chain = t->buckets[hash & t->mask];
  t->buckets[hash & t->mask] = tp;
  t->count++;
  return tp;
}

static void nu__topic_free(struct nu_topics *t, struct nu_topic *tp) {
  struct nu_topic **pp = &t->buckets[tp->hash & t->mask];

  while (*pp != tp)
    pp = &(*pp)->chain;
  *pp = tp->chain;
  t->count--;
  free(tp);
}

/* The link on owner's list that points at its membership of tp, or the
 * list's end when it has none. */
static struct nu_sub **nu__owner_link(struct nu_sub **list,
                                      const struct nu_topic *tp) {
  while (*list && (*list)->topic != tp)
    list = &(*list)->owner_next;
  return list;
}

int nu_topics_subscribe(struct nu_topics *t, struct nu_sub **list, void *owner,
                        const char *name, uint32_t len) {
  uint32_t hash;
  struct nu_topic *tp;
  struct nu_sub *sub;

  if (len > NU_TOPIC_MAX)
    return -EINVAL;
  hash = nu__topic_hash(name, len);
  tp = nu__topic_lookup(t, name, len, hash);
  if (tp && *nu__owner_link(list, tp))
    return 0;
  if ((sub = malloc(sizeof(*sub))) == NULL)
    return -ENOMEM;
  if (tp == NULL && (tp = nu__topic_new(t, name, len, hash)) == NULL) {
    free(sub);
    return -ENOMEM;
  }
  sub->topic = tp;
  sub->owner = owner;
  sub->prev = NULL;
  sub->next = tp->subs;
  if (tp->subs)
    tp->subs->prev = sub;
  tp->subs = sub;
  tp->nsubs++;
  sub->owner_next = *list;
  *list = sub;
  return 1;
}

/* Takes sub off its topic's list, freeing the topic when it was the last;
 * the caller has taken it off its owner's. */
static void nu__sub_free(struct nu_topics *t, struct nu_sub *sub) {
  struct nu_topic *tp = sub->topic;

  if (sub->prev)
    sub->prev->next = sub->next;
  else
    tp->subs = sub->next;
  if (sub->next)
    sub->next->prev = sub->prev;
  free(sub);
  if (--tp->nsubs == 0)
    nu__topic_free(t, tp);
}

int nu_topics_unsubscribe(struct nu_topics *t, struct nu_sub **list,
                          const char *name, uint32_t len) {
  struct nu_topic *tp = nu_topics_find(t, name, len);
  struct nu_sub **link, *sub;

  if (tp == NULL || *(link = nu__owner_link(list, tp)) == NULL)
    return 0;
  sub = *link;
  *link = sub->owner_next;
  nu__sub_free(t, sub);
  return 1;
}

void nu_topics_leave_all(struct nu_topics *t, struct nu_sub **list) {
  struct nu_sub *sub = *list, *next;

  *list = NULL;
  for (; sub; sub = next) {
    next = sub->owner_next;
    nu__sub_free(t, sub);
  }
}

void nu_topics_destroy(struct nu_topics *t) {
  for (uint32_t i = 0; t->buckets && i <= t->mask; i++) {
    struct nu_topic *tp = t->buckets[i], *next;

    for (; tp; tp = next) {
      struct nu_sub *sub = tp->subs, *after;

      next = tp->chain;
      for (; sub; sub = after) {
        after = sub->next;
        free(sub);
      }
      free(tp);
    }
  }
  free(t->buckets);
  memset(t, 0, sizeof(*t));
}
