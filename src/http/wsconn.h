/*
 * wsconn: a connection in WebSocket mode (NU_CONN_WS), on the ring thread.
 * After JS accepts an upgrade (NU_OUT_WS_OPEN, nu.h), what the connection
 * receives goes through ws/frame.h's parser: whole messages, pings, pongs
 * and the peer's close frame reach JS as WS records (batch.h). The ring
 * thread answers by itself what needs no JS: a pong for each ping, the
 * close frame that answers the peer's, and the close frame (1002, 1007,
 * 1009) that ends a connection whose input broke the protocol; once both
 * close frames are out (or ours, after an error), our FIN follows, and the
 * connection closes when the peer's comes (loop.c's raw-mode end).
 */
#ifndef NU_WSCONN_H
#define NU_WSCONN_H

#include <stdint.h>

#include "conn.h"
#include "frame.h"
#include "handoff.h"
#include "topics.h"

struct nu_wsconn {
  struct nu_ws_parser parser;
  /* The message being received when it spans frames or inputs. */
  uint8_t *msg;
  uint32_t msg_len, msg_cap;
  /* A message whose one frame came in one input is copied to the batch
   * at once: its offset there, until its record is written. */
  int64_t direct_off;
  /* What JS asked of the ring thread for it (NU_OUT_WS_OPEN). */
  struct nu_ws_options opt;
  struct nu_sub *subs; /* its topics (topics.h), left when it closes */
  uint64_t rx_ms;      /* when it last received a byte: idle since */
  int pinged;          /* an idle ping went since then */
};

/* The largest message a connection takes: a batch's bytes are counted in
 * 32 bits, with room left for the other records of the batch. */
#define NU_WSCONN_MESSAGE_MAX ((uint64_t)0xf0000000u)

/* Puts c in WebSocket mode, taking messages of up to max_message bytes
 * (0, or more than NU_WSCONN_MESSAGE_MAX: that). Returns 0 or -ENOMEM. */
int nu_wsconn_start(struct nu_conn *c, uint64_t max_message);

/* Frees c's WebSocket state, if any. */
void nu_wsconn_free(struct nu_conn *c);

/*
 * Parses len bytes c received, appending its WS records to b and queuing
 * on c (nu_conn_enqueue()) the frames the ring thread answers with; the
 * caller flushes c. Returns 0, or -ENOMEM (c must close).
 */
int nu_wsconn_input(struct nu_conn *c, struct nu_batch *b, const char *data,
                    uint32_t len);

/* Queues the ring thread's own ping (idle_s, struct nu_ws_options), with
 * no payload. Returns 0 or -ENOMEM. */
int nu_wsconn_ping(struct nu_conn *c);

/* Whether a frame JS sent (NU_OUT_WS) may go out on c: not once c's close
 * frame is queued. A close frame marks c's as queued. */
int nu_wsconn_admit(struct nu_conn *c, const struct nu_out *o);

#endif
