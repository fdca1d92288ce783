/*
 * batch: the format of a server's batch, ring thread -> JS, in one place.
 *
 * A batch (struct nu_batch, nu.h) is 32-bit words and the bytes they point
 * into. The words are records, one after another; a record's first word
 * is its kind (enum nu_event), and every record but STOPPED has the
 * connection's slot and generation next. Byte offsets count from the start
 * of the batch's bytes. The enums below give each kind's word count and
 * where each field sits; the writers below are the only code that lays a
 * record out, and the addon exports every constant to JS (constants.REC_*,
 * OPEN_*, REQUEST_*, ...), whose reader uses them instead of numbers.
 * Includable from C++ (the addon), so plain declarations only.
 */
#ifndef NU_BATCH_H
#define NU_BATCH_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#define NU_BATCH_ASSERT(e) static_assert(e, #e)
#else
#define NU_BATCH_ASSERT(e) _Static_assert(e, #e)
#endif

struct nu_batch;
struct sockaddr_storage;

/* The kind of a record, its first word. */
enum nu_event {
  NU_EV_OPEN = 1, /* a connection was accepted */
  NU_EV_REQUEST,  /* a request's head */
  NU_EV_BODY,     /* a piece of its body */
  NU_EV_END,      /* the request is complete (only for one with a body) */
  NU_EV_CLOSE,    /* the connection is gone */
  NU_EV_STOPPED,  /* the ring thread is about to exit */
  NU_EV_TIMEOUT,  /* no traffic for socket_timeout_ms */
  NU_EV_DRAIN,    /* everything queued on the connection is sent */
  NU_EV_HANGUP,   /* the peer sent its FIN; the connection is still open */
  NU_EV_DATA,     /* bytes received on a connection in raw mode */
  NU_EV_WS,       /* a WebSocket message, control frame or error */
  NU_EV_CLIENT_ERROR, /* a request could not be parsed; JS answers it */
  NU_EV_TRAILERS,     /* the trailer fields of a chunked request body */
  NU_EV_RELEASED,     /* the ring thread is done with a lent body */
  NU_EV_HELD_HANGUP,  /* the peer sent its FIN right after an upgrade
                         request JS has yet to take or leave */
};

/* What every record starts with. */
enum { NU_REC_KIND = 0, NU_REC_SLOT, NU_REC_GEN, NU_REC_WORDS };

/* OPEN: family (4 or 6; 0 for a Unix socket's peer, which has no address),
 * the peer's port, and its address's offset in the bytes (4 bytes for
 * IPv4, 16 for IPv6, none for 0). */
enum {
  NU_OPEN_FAMILY = NU_REC_WORDS,
  NU_OPEN_PORT,
  NU_OPEN_ADDR_OFF,
  NU_OPEN_WORDS
};

/* REQUEST: the response number it gets (seq), the NU_REQ_* info bits, the
 * head's offset in the bytes, and nlens lengths from REQUEST_LENS on: the
 * url's, then each header name's and value's, which lie one after another
 * in the bytes from head_off. The record is REQUEST_WORDS + nlens words. */
enum {
  NU_REQUEST_SEQ = NU_REC_WORDS,
  NU_REQUEST_INFO,
  NU_REQUEST_HEAD_OFF,
  NU_REQUEST_NLENS,
  NU_REQUEST_LENS,
  NU_REQUEST_WORDS = NU_REQUEST_LENS /* the fixed part */
};

/* TRAILERS, just before the END of a chunked body that had trailer
 * fields: nlens lengths from TRAILERS_LENS on, each name's and value's,
 * which lie one after another in the bytes from head_off. The record is
 * TRAILERS_WORDS + nlens words. */
enum {
  NU_TRAILERS_HEAD_OFF = NU_REC_WORDS,
  NU_TRAILERS_NLENS,
  NU_TRAILERS_LENS,
  NU_TRAILERS_WORDS = NU_TRAILERS_LENS /* the fixed part */
};

/* BODY: len bytes of the request body at off in the bytes. */
enum { NU_BODY_OFF = NU_REC_WORDS, NU_BODY_LEN, NU_BODY_WORDS };

/* DATA: len bytes received at off in the bytes, on a connection that JS
 * switched to raw mode (NU_OUT_RAW, nu.h): after an upgrade, every byte
 * the connection receives comes as DATA, the bytes already received after
 * the upgrade request's head first. */
enum { NU_DATA_OFF = NU_REC_WORDS, NU_DATA_LEN, NU_DATA_WORDS };

/* WS: on a connection in WebSocket mode (NU_OUT_WS_OPEN, nu.h), what the
 * ring thread's frame parser (ws/frame.h) made of its input. op is the
 * opcode: TEXT or BINARY, a whole message; PING or PONG, with its payload
 * (the ring thread answered the ping already); CLOSE, the peer's close
 * frame, code its code (1005 for none) and the bytes its reason (the ring
 * thread answered it, or it answered ours); or WS_REC_ERROR, the input
 * broke the protocol: code is the close code the ring thread sent, the
 * bytes the ws package's error code, a space and the message. len bytes
 * at off. */
#define NU_WS_REC_ERROR 16u
enum {
  NU_WS_OP = NU_REC_WORDS,
  NU_WS_CODE,
  NU_WS_OFF,
  NU_WS_LEN,
  NU_WS_WORDS
};

/* CLIENT_ERROR, only while JS asked for them (nu_server_set_client_errors(),
 * nu.h): a request could not be parsed, or its head timed out. The
 * connection reads and parses nothing more; it stays open, sending what
 * it owes, until JS closes it (NU_OUT_ABORT) or answers on it: its raw
 * chunks (NU_OUT_RAW) go out as response number seq, and one with
 * NU_OUT_SHUTDOWN closes the connection once sent. status is what the
 * ring thread would have answered (400, 408, 413, 431); code and reason
 * (code_len and reason_len bytes at their offsets) name the error as
 * node:http does (HPE_INVALID_METHOD, ...; ERR_HTTP_REQUEST_TIMEOUT);
 * packet_len bytes at packet_off are the input being parsed (none for a
 * timeout), of which the first parsed were parsed before the error. */
enum {
  NU_CLIENT_ERROR_STATUS = NU_REC_WORDS,
  NU_CLIENT_ERROR_SEQ,
  NU_CLIENT_ERROR_CODE_OFF,
  NU_CLIENT_ERROR_CODE_LEN,
  NU_CLIENT_ERROR_REASON_OFF,
  NU_CLIENT_ERROR_REASON_LEN,
  NU_CLIENT_ERROR_PACKET_OFF,
  NU_CLIENT_ERROR_PACKET_LEN,
  NU_CLIENT_ERROR_PARSED,
  NU_CLIENT_ERROR_WORDS
};

/* END, CLOSE, TIMEOUT, HANGUP and HELD_HANGUP: slot and gen only. STOPPED:
 * the kind only. */
enum {
  NU_END_WORDS = NU_REC_WORDS,
  NU_CLOSE_WORDS = NU_REC_WORDS,
  NU_TIMEOUT_WORDS = NU_REC_WORDS,
  NU_HANGUP_WORDS = NU_REC_WORDS,
  NU_HELD_HANGUP_WORDS = NU_REC_WORDS,
  NU_STOPPED_WORDS = NU_REC_SLOT
};

/* DRAIN: the head and body bytes of every chunk sent since the connection
 * opened (in WebSocket mode, of the frames JS sent: not the 101, nor the
 * ring thread's own pongs and close frames), a 64-bit count in two words,
 * low word first. */
enum { NU_DRAIN_SENT_LO = NU_REC_WORDS, NU_DRAIN_SENT_HI, NU_DRAIN_WORDS };

/* RELEASED: the ring thread is done with the body of a chunk of the
 * connection's (NU_OUT_LENT, nu.h), sent or dropped: JS may let id's bytes
 * go. Each lent body comes back once, whether or not its connection is
 * still open, and before the ring thread's STOPPED. */
enum { NU_RELEASED_ID = NU_REC_WORDS, NU_RELEASED_WORDS };

/* Each kind's fields follow the common ones, and its count ends after its
 * last field; the JS reader relies on nothing else. */
NU_BATCH_ASSERT(NU_REC_KIND == 0 && NU_REC_SLOT == 1 && NU_REC_GEN == 2);
NU_BATCH_ASSERT(NU_OPEN_WORDS == NU_OPEN_ADDR_OFF + 1);
NU_BATCH_ASSERT(NU_REQUEST_WORDS == NU_REQUEST_NLENS + 1);
NU_BATCH_ASSERT(NU_BODY_WORDS == NU_BODY_LEN + 1);
NU_BATCH_ASSERT(NU_DRAIN_WORDS == NU_DRAIN_SENT_HI + 1);
NU_BATCH_ASSERT(NU_DATA_WORDS == NU_DATA_LEN + 1);
/* batch.c writes BODY and DATA with one writer. */
NU_BATCH_ASSERT((int)NU_DATA_OFF == (int)NU_BODY_OFF &&
                (int)NU_DATA_LEN == (int)NU_BODY_LEN);
NU_BATCH_ASSERT((int)NU_DATA_WORDS == (int)NU_BODY_WORDS);
NU_BATCH_ASSERT(NU_STOPPED_WORDS == NU_REC_KIND + 1);
NU_BATCH_ASSERT(NU_WS_WORDS == NU_WS_LEN + 1);
NU_BATCH_ASSERT(NU_WS_REC_ERROR > 15); /* no opcode */
NU_BATCH_ASSERT(NU_CLIENT_ERROR_WORDS == NU_CLIENT_ERROR_PARSED + 1);
NU_BATCH_ASSERT(NU_TRAILERS_WORDS == NU_TRAILERS_NLENS + 1);
NU_BATCH_ASSERT(NU_RELEASED_WORDS == NU_RELEASED_ID + 1);

/* Bits of a REQUEST's info word. */
#define NU_REQ_METHOD_MASK 0xffu /* llhttp_method_t */
#define NU_REQ_MAJOR_SHIFT 8     /* 4 bits of HTTP major version */
#define NU_REQ_MINOR_SHIFT 12    /* 4 bits of HTTP minor version */
#define NU_REQ_KEEP_ALIVE (1u << 16)
#define NU_REQ_HAS_BODY (1u << 17)
#define NU_REQ_EXPECT_CONTINUE (1u << 18)
/* An Expect header other than 100-continue: 417 unless JS listens. */
#define NU_REQ_EXPECT_OTHER (1u << 19)
/* llhttp saw an upgrade (Upgrade with Connection: upgrade) or a CONNECT:
 * the ring thread parses nothing more of the connection, and holds what
 * it receives, until JS sends NU_OUT_RAW (it takes the connection) or
 * NU_OUT_PARSE (an ordinary request after all). nu.h. */
#define NU_REQ_UPGRADE (1u << 20)

/* Every constant above, without its NU_ prefix: what the addon exports to
 * JS under these names. A new kind, field or bit goes here too. */
#define NU_BATCH_CONSTANTS(X)                                                  \
  X(EV_OPEN)                                                                   \
  X(EV_REQUEST)                                                                \
  X(EV_BODY)                                                                   \
  X(EV_END)                                                                    \
  X(EV_CLOSE)                                                                  \
  X(EV_STOPPED)                                                                \
  X(EV_TIMEOUT)                                                                \
  X(EV_DRAIN)                                                                  \
  X(EV_HANGUP)                                                                 \
  X(EV_DATA)                                                                   \
  X(EV_WS)                                                                     \
  X(EV_CLIENT_ERROR)                                                           \
  X(EV_TRAILERS)                                                               \
  X(EV_RELEASED)                                                               \
  X(EV_HELD_HANGUP)                                                            \
  X(REC_KIND)                                                                  \
  X(REC_SLOT)                                                                  \
  X(REC_GEN)                                                                   \
  X(OPEN_FAMILY)                                                               \
  X(OPEN_PORT)                                                                 \
  X(OPEN_ADDR_OFF)                                                             \
  X(OPEN_WORDS)                                                                \
  X(REQUEST_SEQ)                                                               \
  X(REQUEST_INFO)                                                              \
  X(REQUEST_HEAD_OFF)                                                          \
  X(REQUEST_NLENS)                                                             \
  X(REQUEST_LENS)                                                              \
  X(REQUEST_WORDS)                                                             \
  X(TRAILERS_HEAD_OFF)                                                         \
  X(TRAILERS_NLENS)                                                            \
  X(TRAILERS_LENS)                                                             \
  X(TRAILERS_WORDS)                                                            \
  X(BODY_OFF)                                                                  \
  X(BODY_LEN)                                                                  \
  X(BODY_WORDS)                                                                \
  X(END_WORDS)                                                                 \
  X(CLOSE_WORDS)                                                               \
  X(TIMEOUT_WORDS)                                                             \
  X(HANGUP_WORDS)                                                              \
  X(HELD_HANGUP_WORDS)                                                         \
  X(DATA_OFF)                                                                  \
  X(DATA_LEN)                                                                  \
  X(DATA_WORDS)                                                                \
  X(WS_OP)                                                                     \
  X(WS_CODE)                                                                   \
  X(WS_OFF)                                                                    \
  X(WS_LEN)                                                                    \
  X(WS_WORDS)                                                                  \
  X(WS_REC_ERROR)                                                              \
  X(STOPPED_WORDS)                                                             \
  X(DRAIN_SENT_LO)                                                             \
  X(DRAIN_SENT_HI)                                                             \
  X(DRAIN_WORDS)                                                               \
  X(RELEASED_ID)                                                               \
  X(RELEASED_WORDS)                                                            \
  X(CLIENT_ERROR_STATUS)                                                       \
  X(CLIENT_ERROR_SEQ)                                                          \
  X(CLIENT_ERROR_CODE_OFF)                                                     \
  X(CLIENT_ERROR_CODE_LEN)                                                     \
  X(CLIENT_ERROR_REASON_OFF)                                                   \
  X(CLIENT_ERROR_REASON_LEN)                                                   \
  X(CLIENT_ERROR_PACKET_OFF)                                                   \
  X(CLIENT_ERROR_PACKET_LEN)                                                   \
  X(CLIENT_ERROR_PARSED)                                                       \
  X(CLIENT_ERROR_WORDS)                                                        \
  X(REQ_METHOD_MASK)                                                           \
  X(REQ_MAJOR_SHIFT)                                                           \
  X(REQ_MINOR_SHIFT)                                                           \
  X(REQ_KEEP_ALIVE)                                                            \
  X(REQ_HAS_BODY)                                                              \
  X(REQ_EXPECT_CONTINUE)                                                       \
  X(REQ_EXPECT_OTHER)                                                          \
  X(REQ_UPGRADE)

/*
 * The writers, one per kind: each appends one whole record (and the bytes
 * it points to) to b, on the ring thread. Each returns 0 or -ENOMEM; out
 * of memory, no part of the record is in the words (bytes copied for it
 * may stay, unreferenced).
 */
int nu_batch_put_open(struct nu_batch *b, uint32_t slot, uint32_t gen,
                      const struct sockaddr_storage *peer);
/* head: head_len bytes, the url and the header names and values that the
 * nlens lengths in lens cut it into. */
int nu_batch_put_request(struct nu_batch *b, uint32_t slot, uint32_t gen,
                         uint32_t seq, uint32_t info, const char *head,
                         uint32_t head_len, const uint32_t *lens,
                         uint32_t nlens);
/* fields: fields_len bytes, the trailer names and values that the nlens
 * lengths in lens cut it into. */
int nu_batch_put_trailers(struct nu_batch *b, uint32_t slot, uint32_t gen,
                          const char *fields, uint32_t fields_len,
                          const uint32_t *lens, uint32_t nlens);
int nu_batch_put_body(struct nu_batch *b, uint32_t slot, uint32_t gen,
                      const char *at, uint32_t len);
int nu_batch_put_end(struct nu_batch *b, uint32_t slot, uint32_t gen);
int nu_batch_put_close(struct nu_batch *b, uint32_t slot, uint32_t gen);
int nu_batch_put_timeout(struct nu_batch *b, uint32_t slot, uint32_t gen);
int nu_batch_put_hangup(struct nu_batch *b, uint32_t slot, uint32_t gen);
int nu_batch_put_held_hangup(struct nu_batch *b, uint32_t slot, uint32_t gen);
int nu_batch_put_data(struct nu_batch *b, uint32_t slot, uint32_t gen,
                      const char *at, uint32_t len);
/* WS of len bytes at at, copied. */
int nu_batch_put_ws(struct nu_batch *b, uint32_t slot, uint32_t gen,
                    uint32_t op, uint32_t code, const void *at, uint32_t len);
/* WS of len bytes already in b's bytes, at off. */
int nu_batch_put_ws_at(struct nu_batch *b, uint32_t slot, uint32_t gen,
                       uint32_t op, uint32_t code, uint32_t off, uint32_t len);
int nu_batch_put_drain(struct nu_batch *b, uint32_t slot, uint32_t gen,
                       uint64_t sent);
int nu_batch_put_released(struct nu_batch *b, uint32_t slot, uint32_t gen,
                          uint32_t id);
/* What a CLIENT_ERROR record carries: code and reason are NUL-terminated;
 * packet may be NULL when packet_len is 0. */
struct nu_client_error {
  uint32_t status, seq;
  const char *code, *reason;
  const char *packet;
  uint32_t packet_len, parsed;
};
int nu_batch_put_client_error(struct nu_batch *b, uint32_t slot, uint32_t gen,
                              const struct nu_client_error *e);
int nu_batch_put_stopped(struct nu_batch *b);

#undef NU_BATCH_ASSERT

#ifdef __cplusplus
}
#endif

#endif
