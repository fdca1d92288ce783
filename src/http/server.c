#include "server.h"

#include "pubsub.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void nu__free_chunks(struct nu_out *o) {
  while (o) {
    struct nu_out *next = o->next;

    nu_out_free(o);
    o = next;
  }
}

static void nu__server_free(struct nu_server *s) {
  nu__free_chunks(nu_outbox_take_all(&s->outbox));
  nu__free_chunks(s->staged_newest);
  nu_out_pool_destroy(&s->out_pool);
  nu_out_pool_destroy(&s->ring_pool);
  nu_worker_destroy(&s->w);
  nu_routes_free(&s->routes);
  nu_mounts_free(&s->mounts);
  free(s);
}

int nu_server_start(const struct nu_server_config *cfg, struct nu_server **out,
                    const char **op) {
  struct nu_server *s = calloc(1, sizeof(*s));
  int ret;

  if (s == NULL) {
    *op = "malloc";
    return -ENOMEM;
  }
  s->cfg = *cfg;
  nu_out_pool_init(&s->out_pool, NU_OUT_POOL_MAX_BYTES);
  nu_out_pool_init(&s->ring_pool, NU_RING_POOL_MAX_BYTES);
  /* First, so that every failure below finds the eventfd open or -1. */
  ret = nu_worker_init(&s->w, cfg->deliver, cfg->exited, cfg->ctx, op);
  if (ret < 0) {
    nu__server_free(s);
    return ret;
  }
  s->limits.max_header_size = cfg->max_header_size;
  s->limits.max_body_size = cfg->max_body_size;
  s->limits.host_optional = cfg->host_optional;
  s->limits.routes = &s->routes;
  s->timeouts.headers_ms = cfg->headers_timeout_ms;
  s->timeouts.request_ms = cfg->request_timeout_ms;
  s->timeouts.keep_alive_ms = cfg->keep_alive_timeout_ms;
  s->timeouts.socket_ms = cfg->socket_timeout_ms;
  s->limits.mounts = &s->mounts;
  s->limits.load = &s->load;
  s->limits.spare = &s->conns.spare_head;
  s->load.max_requests = cfg->max_queued_requests;
  s->load.max_bytes = cfg->max_queued_bytes;
  s->load.max_held = cfg->max_held_connections;
  nu_head_end_init(&s->head_end, &s->date, cfg->keep_alive_timeout_ms);
  s->limits.head_end = &s->head_end;
  if (nu_routes_init(&s->routes, cfg->routes, cfg->nroutes) < 0) {
    *op = "malloc";
    nu__server_free(s);
    return -ENOMEM;
  }
  ret = nu_mounts_init(&s->mounts, cfg->mounts, cfg->nmounts, op);
  if (ret < 0) {
    nu__server_free(s);
    return ret;
  }
  ret = cfg->inline_mode
            ? nu_worker_start_inline(&s->w, nu__loop_setup, s, op)
            : nu_worker_start(&s->w, "nu-ring", nu__loop_setup, nu__loop_run,
                              s, op);
  if (ret < 0) {
    nu__server_free(s);
    return ret;
  }
  *out = s;
  return 0;
}

struct nu_out *nu_server_out_new(struct nu_server *s, uint32_t slot,
                                 uint32_t gen, uint32_t seq, uint32_t flags,
                                 size_t head_len, size_t body_len) {
  return nu_out_new_in(&s->out_pool, slot, gen, seq, flags, head_len, body_len);
}

struct nu_out *nu_server_topic_new(struct nu_server *s, uint32_t slot,
                                   uint32_t gen,
                                   enum nu_ws_topic_action action,
                                   const char *topic, size_t len,
                                   struct nu_frame *frame) {
  uint32_t flags = NU_OUT_WS_TOPIC | (frame ? NU_OUT_SHARED : 0);
  struct nu_out *o = nu_server_out_new(s, slot, gen, action, flags, len, 0);

  if (o == NULL)
    return NULL;
  memcpy(o->data, topic, len);
  if (frame)
    o->frame = nu_frame_ref(frame);
  return o;
}

struct nu_out *nu_server_out_lend(struct nu_server *s, uint32_t slot,
                                  uint32_t gen, uint32_t seq, uint32_t flags,
                                  size_t head_len, const void *bytes,
                                  size_t body_len, uint32_t id) {
  return nu_out_lend_in(&s->out_pool, slot, gen, seq, flags, head_len, bytes,
                        body_len, id);
}

/* Staged rather than pushed: one compare-and-swap per flush instead of
 * one per chunk on the outbox's head, a cache line the ring thread's
 * takes keep pulling away (5% of the JS thread's time when echoing
 * bodies). The ring thread sees nothing before the flush's wake anyway. */
void nu_server_send(struct nu_server *s, struct nu_out *o) {
  o->next = s->staged_newest;
  s->staged_newest = o;
  if (s->staged_oldest == NULL)
    s->staged_oldest = o;
}

/* Whether o is a staged publish to the topic's len bytes, skipping
 * (slot, gen), with room for n more bytes. */
static int nu__publish_takes(const struct nu_out *o, uint32_t slot,
                             uint32_t gen, const char *topic, size_t len,
                             size_t n) {
  return o != NULL && o->seq == NU_WS_PUBLISH &&
         (o->flags & (NU_OUT_WS_TOPIC | NU_OUT_SHARED)) ==
             (NU_OUT_WS_TOPIC | NU_OUT_SHARED) &&
         o->slot == slot && o->gen == gen && o->head_len == len &&
         memcmp(o->data, topic, len) == 0 &&
         o->frame->len + n <= NU_PUBLISH_MERGE_MAX;
}

/* Merging is what makes a burst of small publishes cheap on the ring
 * thread: one chunk per subscriber for the burst, not per message, and
 * one contiguous send. Only the newest staged chunk takes more: nothing
 * queued between two publishes changes places with them. */
int nu_server_publish(struct nu_server *s, uint32_t slot, uint32_t gen,
                      const char *topic, size_t len, struct nu_frame *frame) {
  struct nu_out *o = s->staged_newest;
  struct nu_frame *merged;

  if (nu__publish_takes(o, slot, gen, topic, len, frame->len) &&
      (merged = nu_frame_append(o->frame, frame->data, frame->len)) != NULL) {
    o->frame = merged;
    return 0;
  }
  o = nu_server_topic_new(s, slot, gen, NU_WS_PUBLISH, topic, len, frame);
  if (o == NULL)
    return -ENOMEM;
  nu_server_send(s, o);
  return 0;
}

/* The ring's thread is told JS queued something: woken, or, inline, the
 * queued work is submitted now, unless a turn is running (JS is called from
 * it, and it takes the work in once JS returns) or the ring is gone. */
static void nu__server_kick(struct nu_server *s) {
  if (!s->w.inline_mode)
    nu_waker_wake(&s->w.waker);
  else if (!s->in_turn && !s->finished)
    nu__loop_submit(s);
}

/* Hands the ring thread the chunks staged so far. */
static void nu__server_push_staged(struct nu_server *s) {
  if (s->staged_newest != NULL) {
    nu_outbox_push_list(&s->outbox, s->staged_newest, s->staged_oldest);
    s->staged_newest = s->staged_oldest = NULL;
  }
}

void nu_server_flush(struct nu_server *s) {
  nu__server_push_staged(s);
  nu__server_kick(s);
}

int nu_server_fd(const struct nu_server *s) { return nu_worker_fd(&s->w); }

void nu_server_turn(struct nu_server *s) { nu__loop_turn(s); }

void nu_server_stop(struct nu_server *s, enum nu_stop how) {
  int level = (int)how;
  int cur = atomic_load(&s->stop);

  while (cur < level && !atomic_compare_exchange_weak(&s->stop, &cur, level))
    ;
  nu__server_kick(s);
}

void nu_server_close_connections(struct nu_server *s) {
  atomic_fetch_add(&s->close_all, 1);
  nu__server_kick(s);
}

void nu_server_close_idle_connections(struct nu_server *s, int spare,
                                      uint32_t slot, uint32_t gen) {
  /* Both ahead of the request, which the ring thread reads them after:
   * the responses ended before it count as ended. */
  nu__server_push_staged(s);
  atomic_store_explicit(&s->close_idle_spared,
                        spare ? (uint64_t)slot << 32 | gen : UINT64_MAX,
                        memory_order_relaxed);
  atomic_fetch_add(&s->close_idle, 1);
  nu__server_kick(s);
}

void nu_server_set_client_errors(struct nu_server *s, int to_js) {
  atomic_store_explicit(&s->client_errors, to_js != 0, memory_order_relaxed);
}

void nu_server_set_timeouts(struct nu_server *s, uint32_t headers_ms,
                            uint32_t request_ms, uint32_t keep_alive_ms,
                            uint32_t socket_ms) {
  const struct nu_timeouts t = {headers_ms, request_ms, keep_alive_ms,
                                socket_ms};

  nu_timeouts_post(&s->timeouts_box, &t);
  nu__server_kick(s);
}

/* Inline, a server not finished yet is being torn down with its env: its
 * loop runs here to the end, blocking, as a ring thread's would (JS is not
 * called any more, see src/addon/context.h). */
void nu_server_join(struct nu_server *s) {
  if (s->w.inline_mode && !s->finished && !s->in_turn)
    nu__loop_run(s);
  nu_worker_join(&s->w);
}

void nu_server_batch_done(struct nu_server *s, struct nu_batch *b) {
  atomic_fetch_sub(&s->js_bytes, (long long)nu_batch_size(b));
  nu_batch_pool_put(&s->w.pool, b);
  if (atomic_load_explicit(&s->load_waiting, memory_order_relaxed))
    nu__server_kick(s);
}

void nu_server_destroy(struct nu_server *s) { nu__server_free(s); }

unsigned nu_server_live_connections(struct nu_server *s) {
  return atomic_load_explicit(&s->live_conns, memory_order_relaxed);
}

void nu_server_stats(struct nu_server *s, struct nu_server_stats *st) {
  long long bytes = atomic_load_explicit(&s->js_bytes, memory_order_relaxed);
  unsigned state = atomic_load_explicit(&s->pub_state, memory_order_relaxed);

  st->connections = nu_server_live_connections(s);
  st->requests_queued =
      atomic_load_explicit(&s->pub_owed, memory_order_relaxed);
  st->bytes_queued = bytes > 0 ? (uint64_t)bytes : 0;
  st->bytes_unsent = atomic_load_explicit(&s->pub_unsent, memory_order_relaxed);
  st->connections_held =
      atomic_load_explicit(&s->pub_held, memory_order_relaxed);
  st->overloaded = (state & 1) != 0;
  st->accepting = (state & 2) == 0;
}

unsigned nu_server_setup_flags(const struct nu_server *s) {
  return s->w.ring.setup_flags;
}

const char *nu_llhttp_version(void) {
#define NU__STR2(x) #x
#define NU__STR(x) NU__STR2(x)
  return NU__STR(LLHTTP_VERSION_MAJOR) "." NU__STR(
      LLHTTP_VERSION_MINOR) "." NU__STR(LLHTTP_VERSION_PATCH);
}
