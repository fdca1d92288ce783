/* fuzz.h: what the harnesses share: the check that stops the fuzzer, and
 * the send that retires a connection's queued chunks. */
#ifndef NU_FUZZ_H
#define NU_FUZZ_H

#include "conn.h"
#include "nu.h"

#define NU__CHECK(cond)                                                        \
  do {                                                                         \
    if (!(cond))                                                               \
      __builtin_trap();                                                        \
  } while (0)

/* The next chunk of c's sendq, taken off as the ring thread does once it
 * is sent; the caller frees it. NULL when sendq is empty. */
static inline struct nu_out *nu__fuzz_sent(struct nu_conn *c) {
  struct nu_out *o = nu_outq_pop(&c->sendq);

  if (o != NULL) {
    NU__CHECK(c->queued_bytes >= o->len);
    c->queued_bytes -= o->len;
  }
  return o;
}

#endif
