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

/* Whether c waits, between two requests, for its next one, with a
 * keepAliveTimeout to wait for: a response went, nothing is owed, no
 * message is arriving. */
static int nu__keep_alive_idle(const struct nu_timeouts *t,
                               const struct nu_conn *c) {
  return t->keep_alive_ms != 0 && c->next_seq != 0 &&
         c->send_seq == c->next_seq && c->sendq.head == NULL &&
         !(c->flags & (NU_CONN_SENDING | NU_CONN_IN_MESSAGE));
}

enum nu_expiry nu_timeout_check(const struct nu_timeouts *t,
                                const struct nu_conn *c, uint64_t now_ms) {
  const uint32_t receiving_body = NU_CONN_IN_MESSAGE | NU_CONN_DISPATCHED;

  if (c->flags & (NU_CONN_CLOSING | NU_CONN_PARSE_DONE))
    return NU_EXPIRY_NONE;
  /* node:http's socket timeout: whatever is owed, once per quiet spell;
   * but between requests of a kept-alive connection, where node:http
   * puts keepAliveTimeout in its place. */
  if (!(c->flags & NU_CONN_TIMED_OUT) && !nu__keep_alive_idle(t, c) &&
      nu__expired(t->socket_ms, c->io_ms, now_ms))
    return NU_EXPIRY_SOCKET;
  if ((c->flags & receiving_body) == receiving_body)
    return nu__expired(t->request_ms, c->since_ms, now_ms) ? NU_EXPIRY_REQUEST
                                                           : NU_EXPIRY_NONE;
  /* The handler or the send owes the client: no limit, as in node:http. */
  if (c->send_seq != c->next_seq || c->sendq.head ||
      (c->flags & NU_CONN_SENDING))
    return NU_EXPIRY_NONE;
  /* A head arriving, or a new connection that has sent nothing yet: the
   * request's time runs too, and a requestTimeout shorter than the
   * headersTimeout cuts the head first (a 408, as node:http's). */
  if ((c->flags & NU_CONN_IN_MESSAGE) || c->next_seq == 0)
    return nu__expired(t->headers_ms, c->since_ms, now_ms) ||
                   nu__expired(t->request_ms, c->since_ms, now_ms)
               ? NU_EXPIRY_HEADERS
               : NU_EXPIRY_NONE;
  return nu__expired(t->keep_alive_ms, c->since_ms, now_ms)
             ? NU_EXPIRY_KEEP_ALIVE
             : NU_EXPIRY_NONE;
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
