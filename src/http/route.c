#include "route.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static char *nu__copy(const char *p, size_t n) {
  char *c = malloc(n ? n : 1);

  if (c && n)
    memcpy(c, p, n);
  return c;
}

int nu_routes_init(struct nu_routes *rt, const struct nu_route_spec *specs,
                   uint32_t n) {
  memset(rt, 0, sizeof(*rt));
  if (n == 0)
    return 0;
  rt->v = calloc(n, sizeof(*rt->v));
  if (rt->v == NULL)
    return -ENOMEM;
  rt->n = n;
  for (uint32_t i = 0; i < n; i++) {
    struct nu_route *r = &rt->v[i];
    const struct nu_route_spec *s = &specs[i];

    r->path = nu__copy(s->path, s->path_len);
    r->head = nu__copy(s->head, s->head_len);
    r->body = nu__copy(s->body, s->body_len);
    r->path_len = (uint32_t)s->path_len;
    r->head_len = (uint32_t)s->head_len;
    r->body_len = (uint32_t)s->body_len;
    if (!r->path || !r->head || !r->body) {
      nu_routes_free(rt);
      return -ENOMEM;
    }
  }
  return 0;
}

void nu_routes_free(struct nu_routes *rt) {
  for (uint32_t i = 0; i < rt->n; i++) {
    free(rt->v[i].path);
    free(rt->v[i].head);
    free(rt->v[i].body);
  }
  free(rt->v);
  memset(rt, 0, sizeof(*rt));
}

const struct nu_route *nu_routes_match(const struct nu_routes *rt,
                                       const char *url, uint32_t url_len) {
  const char *query = memchr(url, '?', url_len);
  uint32_t len = query ? (uint32_t)(query - url) : url_len;

  for (uint32_t i = 0; i < rt->n; i++) {
    const struct nu_route *r = &rt->v[i];

    if ((r->path_len == 1 && r->path[0] == '*') ||
        (r->path_len == len && memcmp(r->path, url, len) == 0))
      return r;
  }
  return NULL;
}

struct nu_out *nu_route_response(const struct nu_head_end *e,
                                 const struct nu_route *r, uint32_t slot,
                                 uint32_t gen, uint32_t seq, int keep_alive,
                                 int head_only) {
  unsigned end_flags = keep_alive ? 0 : NU_HEAD_END_CLOSE;
  uint32_t body_len = head_only ? 0 : r->body_len;
  uint32_t flags = NU_OUT_END | (keep_alive ? 0 : NU_OUT_CLOSE);
  struct nu_out *o =
      nu_out_new(slot, gen, seq, flags,
                 (size_t)r->head_len + nu_head_end_len(e, end_flags), body_len);

  if (o == NULL)
    return NULL;
  memcpy(o->data, r->head, r->head_len);
  nu_head_end_write(e, end_flags, o->data + r->head_len);
  if (body_len)
    memcpy(o->data + o->body_off, r->body, body_len);
  return o;
}
