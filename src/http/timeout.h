/*
 * timeout: when an idle or slow connection has waited too long. The ring
 * thread checks every connection on a periodic tick instead of keeping a
 * timer per connection: a tick is one timeout SQE, whatever the number of
 * connections.
 */
#ifndef NU_TIMEOUT_H
#define NU_TIMEOUT_H

#include <stdatomic.h>
#include <stdint.h>

#include "conn.h"

/* Milliseconds; 0 disables. Node's names and meanings. */
struct nu_timeouts {
  uint32_t headers_ms;    /* from a request's first byte to its last header */
  uint32_t request_ms;    /* from a request's first byte to its last byte */
  uint32_t keep_alive_ms; /* idle between a response and the next request */
  uint32_t socket_ms;     /* no byte received or sent (server.timeout) */
};

/* Timeouts set from another thread while the ring thread runs: posted
 * there, taken by the ring thread at its next turn. A take that races a
 * post may read some values of each, and then takes again at the next
 * turn, as the post flags it after its values. */
struct nu_timeouts_box {
  atomic_uint headers_ms, request_ms, keep_alive_ms, socket_ms;
  atomic_int posted;
};

enum nu_expiry {
  NU_EXPIRY_NONE,
  NU_EXPIRY_HEADERS,    /* answer 408 and close */
  NU_EXPIRY_REQUEST,    /* the handler has the request: close */
  NU_EXPIRY_KEEP_ALIVE, /* nothing owed: close quietly */
  NU_EXPIRY_SOCKET,     /* no traffic: tell JS, which decides */
};

/* A monotonic clock in milliseconds. */
uint64_t nu_now_ms(void);

/* What c has overstayed at now_ms, judged from c->since_ms. */
enum nu_expiry nu_timeout_check(const struct nu_timeouts *t,
                                const struct nu_conn *c, uint64_t now_ms);

/* Posts t for the next take, replacing what a take has not had yet. */
void nu_timeouts_post(struct nu_timeouts_box *box, const struct nu_timeouts *t);

/* Into t the timeouts posted since the last take: returns 1, or 0 (t
 * untouched) when none were. */
int nu_timeouts_take(struct nu_timeouts_box *box, struct nu_timeouts *t);

/* How often to check: a quarter of the shortest timeout, within
 * [100 ms, 1 s]. 0 when every timeout is disabled. */
uint32_t nu_timeout_tick_ms(const struct nu_timeouts *t);

#endif
