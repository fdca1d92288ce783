/*
 * topics: a ring's pub/sub table (ws.subscribe(), wss.publish()). A
 * topic is a byte string naming the connections subscribed to it; each
 * membership (struct nu_sub) sits on two lists at once: its topic's, which
 * a publish walks, and its owner's (a connection's), which its close
 * walks to leave every topic at once. Topics are found by a hash of their
 * name; one is made by its first subscriber and freed with its last, so
 * the table holds only what live connections subscribed to.
 *
 * Ring thread only: each ring has its own table, for the connections it
 * owns; a publish reaches the others through their own tables.
 */
#ifndef NU_TOPICS_H
#define NU_TOPICS_H

#include <stdint.h>

/* The longest topic name, in bytes (lib/websocket.js refuses longer). */
#define NU_TOPIC_MAX 1024u

struct nu_topic;

/* One owner's membership of one topic. Allocated and freed by the table. */
struct nu_sub {
  struct nu_topic *topic;
  void *owner;                /* what nu_topics_subscribe() was given */
  struct nu_sub *prev, *next; /* on the topic's list */
  struct nu_sub *owner_next;  /* on the owner's list */
};

struct nu_topic {
  struct nu_topic *chain; /* the next topic in its hash bucket */
  struct nu_sub *subs;    /* its subscribers, newest first */
  uint32_t nsubs;
  uint32_t hash;
  uint32_t len;
  char name[];
};

struct nu_topics {
  struct nu_topic **buckets; /* a power of two of them, or NULL */
  uint32_t mask;             /* buckets - 1 */
  uint32_t count;            /* topics in the table */
};

/* Subscribes owner, whose memberships are listed from *list, to the topic
 * name (len bytes, at most NU_TOPIC_MAX). Returns 1 when it is new, 0
 * when owner was subscribed already, -EINVAL for a name too long, or
 * -ENOMEM. The cost is the hash, plus a walk of owner's own list. */
int nu_topics_subscribe(struct nu_topics *t, struct nu_sub **list, void *owner,
                        const char *name, uint32_t len);

/* Unsubscribes the owner of *list from the topic name. Returns 1 when it
 * was subscribed, else 0. */
int nu_topics_unsubscribe(struct nu_topics *t, struct nu_sub **list,
                          const char *name, uint32_t len);

/* Unsubscribes the owner of *list from every topic; *list is NULL after. */
void nu_topics_leave_all(struct nu_topics *t, struct nu_sub **list);

/* The topic name, or NULL when nobody is subscribed to it. */
struct nu_topic *nu_topics_find(const struct nu_topics *t, const char *name,
                                uint32_t len);

/* Frees every topic and membership. The owners' lists dangle after it:
 * for a ring thread's exit, when the owners go too. */
void nu_topics_destroy(struct nu_topics *t);

#endif
