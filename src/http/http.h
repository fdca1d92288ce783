/*
 * http: turns the bytes a connection receives into batch events with llhttp
 * (compiled into the addon, see binding.gyp), and builds the responses the
 * ring thread sends by itself when a request cannot reach JS.
 */
#ifndef NU_HTTP_H
#define NU_HTTP_H

#include <stddef.h>

#include "batch.h"
#include "conn.h"
#include "handoff.h"
#include "head_end.h"
#include "mount.h"
#include "route.h"

/* nu_http_parse() outcome that asks to close without answering. */
#define NU_HTTP_ABORT (-1)

struct nu_http_limits {
  uint32_t max_header_size; /* url plus header names and values, in bytes */
  uint64_t max_body_size;   /* request body bytes before a 413; 0: no cap */
  int host_optional; /* an HTTP/1.1 request may come without Host (node:http's
                        requireHostHeader: false) */
  const struct nu_routes *routes;     /* answered without JS; may be empty */
  const struct nu_mounts *mounts;     /* static files; may be empty */
  const struct nu_head_end *head_end; /* what ends routed responses' heads */
  const struct nu_load *load; /* past its bounds, parsing pauses; NULL: none */
  struct nu_head *spare; /* head buffers between messages (conn.h) */
};

/* Fills the llhttp callbacks; s must outlive every parser using it. */
void nu_http_settings_init(llhttp_settings_t *s);

/* Readies c's parser for the first request. */
void nu_http_conn_init(struct nu_conn *c, const llhttp_settings_t *s);

/* Lets c's parser take input again after a pause. */
static inline void nu_http_resume(struct nu_conn *c) {
  c->flags &= ~NU_CONN_PARSE_PAUSED;
  llhttp_resume(&c->parser);
}

/* Lets c's parser go on as HTTP after the upgrade request it holds
 * (NU_CONN_UPGRADE_HELD): nobody took the upgrade. */
static inline void nu_http_continue(struct nu_conn *c) {
  c->flags &= ~NU_CONN_UPGRADE_HELD;
  llhttp_resume_after_upgrade(&c->parser);
}

/* Whether c is receiving the body of a request whose head JS has. */
static inline int nu_http_in_body(const struct nu_conn *c) {
  const uint32_t both = NU_CONN_IN_MESSAGE | NU_CONN_DISPATCHED;

  return (c->flags & both) == both;
}

/*
 * Parses len bytes that c received, appending REQUEST, BODY and END records
 * (batch.h) to b. When c owes too many responses (nu_conn_owes_too_much()),
 * or the server is past its load bounds (nu_load_full()),
 * parsing pauses after a complete request and the rest, and all input until
 * nu_http_resume(), waits in c's backlog; data may be that backlog. So
 * does all input after a request JS gets with NU_REQ_UPGRADE, which sets
 * NU_CONN_UPGRADE_HELD and c->upgrade_seq: c parses nothing more until
 * nu_http_continue().
 * Returns 0; or the HTTP status (400, 413, 431, 501) owed to a client whose
 * request could not be parsed, after which c must not parse again (when
 * nu_http_in_body(c), the status answers the request JS has, whose
 * response has not begun; else it takes the next number); or
 * NU_HTTP_ABORT when the connection must close at once (an error inside a
 * body whose response has begun, or out of memory).
 */
int nu_http_parse(struct nu_conn *c, struct nu_batch *b,
                  const struct nu_http_limits *lim, const char *data,
                  size_t len);

/*
 * Names the error behind status, which nu_http_parse() returned for c with
 * the len bytes at data as its input (or 408, a head that timed out, with
 * no input), as node:http's 'clientError' names it: fills e but its seq.
 * The strict checks llhttp 8.1 lacks (nu_http_parse()'s own 400s) are
 * HPE_STRICT. Returns 0, or -1 for an error node:http does not have (the
 * 413 of max_body_size), which the ring thread answers itself.
 */
int nu_http_client_error(const struct nu_conn *c,
                         const struct nu_http_limits *lim, int status,
                         const char *data, uint32_t len,
                         struct nu_client_error *e);

/* The response for an error status (400, 408, 413, 431, 501) as response
 * number seq: the status line and the lines h ends a closing head with,
 * without Date, byte for byte as node:http's prebuilt ones. Returns NULL
 * out of memory. */
struct nu_out *nu_http_error_response(const struct nu_head_end *e,
                                      struct nu_conn *c, int status,
                                      uint32_t seq);

#endif
