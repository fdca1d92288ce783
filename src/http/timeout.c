#include "timeout.h"

#include <time.h>

uint64_t nu_now_ms(void) {
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int nu__expired(uint32_t limit_ms, uint64_t since_ms, uint64_t now_ms) {
  return limit_ms != 0 && now_ms - since_ms >= limit_ms;
}

/* What a connection waits for, which says which of its limits runs. */
enum nu__wait {
  NU__WAIT_BODY, /* a request's body, the handler having its head */
  NU__WAIT_OWED, /* the handler or the send, which owe the client */
  NU__WAIT_HEAD, /* a head arriving, or a new connection's first byte */
  NU__WAIT_NEXT  /* the next request of a kept-alive connection */
};

static enum nu__wait nu__waiting_for(const struct nu_conn *c) {
  const uint32_t receiving_body = NU_CONN_IN_MESSAGE | NU_CONN_DISPATCHED;

  if ((c->flags & receiving_body) == receiving_body)
    return NU__WAIT_BODY;
  if (c->send_seq != c->next_seq || c->sendq.head ||
      (c->flags & NU_CONN_SENDING))
    return NU__WAIT_OWED;
  if ((c->flags & NU_CONN_IN_MESSAGE) || c->next_seq == 0)
    return NU__WAIT_HEAD;
  return NU__WAIT_NEXT;
}

enum nu_expiry nu_timeout_check(const struct nu_timeouts *t,
                                const struct nu_conn *c, uint64_t now_ms) {
  enum nu__wait wait;

  if (c->flags & (NU_CONN_CLOSING | NU_CONN_PARSE_DONE))
    return NU_EXPIRY_NONE;
  wait = nu__waiting_for(c);
  /* node:http's socket timeout: whatever is owed, once per quiet spell;
   * but between requests of a kept-alive connection, where node:http
   * puts keepAliveTimeout in its place. */
  if (!(c->flags & NU_CONN_TIMED_OUT) &&
      !(wait == NU__WAIT_NEXT && t->keep_alive_ms != 0) &&
      nu__expired(t->socket_ms, c->io_ms, now_ms))
    return NU_EXPIRY_SOCKET;
  switch (wait) {
  case NU__WAIT_BODY:
    return nu__expired(t->request_ms, c->since_ms, now_ms) ? NU_EXPIRY_REQUEST
                                                           : NU_EXPIRY_NONE;
  case NU__WAIT_OWED:
    return NU_EXPIRY_NONE; /* no limit, as in node:http */
  case NU__WAIT_HEAD:
    /* The request's time runs too, and a requestTimeout shorter than the
     * headersTimeout cuts the head first (a 408, as node:http's). */
    return nu__expired(t->headers_ms, c->since_ms, now_ms) ||
                   nu__expired(t->request_ms, c->since_ms, now_ms)
               ? NU_EXPIRY_HEADERS
               : NU_EXPIRY_NONE;
  case NU__WAIT_NEXT:
    break;
  }
  return nu__expired(t->keep_alive_ms, c->since_ms, now_ms)
             ? NU_EXPIRY_KEEP_ALIVE
             : NU_EXPIRY_NONE;
}

void nu_timeouts_post(struct nu_timeouts_box *box,
                      const struct nu_timeouts *t) {
  atomic_store_explicit(&box->headers_ms, t->headers_ms, memory_order_relaxed);
  atomic_store_explicit(&box->request_ms, t->request_ms, memory_order_relaxed);
  atomic_store_explicit(&box->keep_alive_ms, t->keep_alive_ms,
                        memory_order_relaxed);
  atomic_store_explicit(&box->socket_ms, t->socket_ms, memory_order_relaxed);
  atomic_store_explicit(&box->posted, 1, memory_order_release);
}

int nu_timeouts_take(struct nu_timeouts_box *box, struct nu_timeouts *t) {
  /* Every turn asks: a plain load first, the exchange only for a post. */
  if (!atomic_load_explicit(&box->posted, memory_order_relaxed) ||
      !atomic_exchange_explicit(&box->posted, 0, memory_order_acquire))
    return 0;
  t->headers_ms = atomic_load_explicit(&box->headers_ms, memory_order_relaxed);
  t->request_ms = atomic_load_explicit(&box->request_ms, memory_order_relaxed);
  t->keep_alive_ms =
      atomic_load_explicit(&box->keep_alive_ms, memory_order_relaxed);
  t->socket_ms = atomic_load_explicit(&box->socket_ms, memory_order_relaxed);
  return 1;
}

static uint32_t nu__min_set(uint32_t a, uint32_t b) {
  if (a == 0)
    return b;
  return b == 0 || a < b ? a : b;
}

uint32_t nu_timeout_tick_ms(const struct nu_timeouts *t) {
  uint32_t shortest = nu__min_set(nu__min_set(t->headers_ms, t->request_ms),
                                  nu__min_set(t->keep_alive_ms, t->socket_ms));
  uint32_t tick = shortest / 4;

  if (shortest == 0)
    return 0;
  return tick < 100 ? 100 : tick > 1000 ? 1000 : tick;
}
