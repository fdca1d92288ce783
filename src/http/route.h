/*
 * route: fixed responses the ring thread sends by itself, without JS
 * (server.route()): health checks, robots.txt, server_listen()'s page.
 */
#ifndef NU_ROUTE_H
#define NU_ROUTE_H

#include "head_end.h"
#include "nu.h"
#include <stddef.h>
#include <stdint.h>

/* One route, copied from its nu_route_spec. */
struct nu_route {
  char *path; /* "*" matches every path */
  uint32_t path_len;
  char *head; /* status line and headers, without those head.h ends it with */
  uint32_t head_len;
  char *body;
  uint32_t body_len;
};

struct nu_routes {
  struct nu_route *v;
  uint32_t n;
};

/* Copies specs. Returns 0 or -ENOMEM (rt left empty). */
int nu_routes_init(struct nu_routes *rt, const struct nu_route_spec *specs,
                   uint32_t n);
void nu_routes_free(struct nu_routes *rt);

/* The route for a GET or HEAD of url (its query ignored), or NULL. */
const struct nu_route *nu_routes_match(const struct nu_routes *rt,
                                       const char *url, uint32_t url_len);

/* The response of route r as chunk seq of (slot, gen): its head, ended
 * for a connection kept alive or closed after it (head_end.h), and its body
 * unless head_only. NULL when out of memory. */
struct nu_out *nu_route_response(const struct nu_head_end *e,
                                 const struct nu_route *r, uint32_t slot,
                                 uint32_t gen, uint32_t seq, int keep_alive,
                                 int head_only);

#endif
