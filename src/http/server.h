/*
 * http/: the HTTP server (nu_server_* in nu.h): its ring thread's loop
 * (loop.c), connections (conn.c), the llhttp glue and the responses the
 * ring thread builds itself (http.c), response chunks (out.c), the batch
 * format JS reads (batch.h), timeouts, routes and dates. It stands on
 * core/ and drives static/ (file.h); it sees nothing of the queue.
 *
 * server: the per-instance state behind struct nu_server, shared by
 * server.c (lifecycle, JS-thread side) and loop.c (the ring thread).
 */
#ifndef NU_SERVER_H
#define NU_SERVER_H

#include <stdatomic.h>

#include "conn.h"
#include "date.h"
#include "handoff.h"
#include "head_end.h"
#include "http.h"
#include "mount.h"
#include "nu.h"
#include "out_pool.h"
#include "route.h"
#include "timeout.h"
#include "topics.h"
#include "worker.h"

struct nu_server {
  /* Written by nu_server_start(), read-only afterwards. */
  struct nu_server_config cfg;
  struct nu_http_limits limits;
  struct nu_routes routes;
  struct nu_mounts mounts;
  struct nu_worker w; /* the ring thread, its ring, waker and batches */

  /* The sending thread's only (JS's): chunks sent since its last flush,
   * newest first, pushed onto the outbox at once by nu_server_flush(). */
  struct nu_out *staged_newest, *staged_oldest;

  /* Shared between threads. */
  struct nu_outbox outbox;     /* JS -> ring response chunks */
  struct nu_out_pool out_pool; /* their memory, back from the ring thread */
  atomic_int stop;             /* 0, or an enum nu_stop */
  atomic_uint close_all;       /* bumped by nu_server_close_connections() */
  atomic_uint close_idle; /* bumped by nu_server_close_idle_connections() */
  /* The connection its last call spared, slot << 32 | gen, or UINT64_MAX. */
  _Atomic uint64_t close_idle_spared;
  atomic_uint live_conns; /* open connection structs, for JS to read */
  /* Bytes of the batches handed to JS and not yet given back. Signed: JS
   * may give a batch back before the ring thread counts it in. */
  atomic_llong js_bytes;
  atomic_int load_waiting; /* held for bytes: a batch given back wakes it */
  /* struct nu_load's counts, published each turn for nu_server_stats(). */
  atomic_uint pub_owed, pub_held, pub_state;
  atomic_ullong pub_unsent;
  atomic_int client_errors;            /* nu_server_set_client_errors() */
  struct nu_timeouts_box timeouts_box; /* nu_server_set_timeouts() */

  /* Ring thread only. */
  struct nu_timeouts timeouts; /* the config's, then as JS sets them */
  struct nu_head_end head_end; /* what ends the heads the ring thread builds */
  struct nu_conn_table conns;
  struct nu_date date; /* for routes and mounts, if there are any */
  llhttp_settings_t settings;
  /* Connections with chunks to flush, in the order they got them, so that
   * the sends of one flush go out in the order JS wrote them. */
  struct nu_conn *dirty, *dirty_tail;
  /* The memory of the chunks this thread makes for each subscriber of a
   * publish: taken and put back here, it never reaches malloc (14% of the
   * thread's time in a broadcast to 1,000). */
  struct nu_out_pool ring_pool;
  struct nu_load load;
  struct nu_topics topics; /* its WebSockets' subscriptions (topics.h) */
  int ws_tick;             /* the tick runs for WebSocket idle timeouts only */
  struct nu_conn *held_head, *held_tail; /* NU_CONN_LOAD_HELD, oldest first */
  uint32_t nheld;
  int accept_held;          /* accepting stopped for load */
  int stop_seen;            /* the stop level already acted upon */
  unsigned close_all_seen;  /* the close_all count already acted upon */
  unsigned close_idle_seen; /* and the close_idle count */
  int accept_armed;         /* a multishot accept is posted */
  int accept_retry;         /* a timeout before re-arming accept is set */
  struct __kernel_timespec accept_backoff;
  struct __kernel_timespec tick; /* the timeout check's period */
  int expiring;                  /* a tick's pass is under way */
  uint32_t expire_at;            /* the slot it goes on from */
  uint64_t now_ms;               /* nu_now_ms() at the turn's start */
  /* The recv buffers go back to the system after a tick without input
   * (nu_ring_bufs_release()): input came since the last tick; a release
   * is due after the drain; they are released and nothing came since. */
  int recv_since_tick, bufs_release_due, bufs_released;
  int in_turn;  /* inline mode: a turn runs, JS's calls come from inside */
  int finished; /* the ring is gone (nu__loop_finish()) */
#ifdef NU_TEST_HOOKS
  int test_no_splice; /* NU_TEST_NO_SPLICE was set at start (loop.c) */
#endif
};

/* The ring thread's parts (see nu_worker_start()): its setup, and the
 * rest of its life. s is a struct nu_server. */
int nu__loop_setup(void *s, const char **op);
void nu__loop_run(void *s);

/* Inline mode (nu_worker_start_inline()), on the JS thread: a turn, when
 * the eventfd is readable; and a submit of what JS queued outside one. */
void nu__loop_turn(struct nu_server *s);
void nu__loop_submit(struct nu_server *s);

#endif
