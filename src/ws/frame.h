/*
 * frame: WebSocket frames (RFC 6455, section 5), parsed and written.
 *
 * The parser is a server's: client frames must be masked, no extension is
 * negotiated (the RSV bits must be clear), and control frames may come
 * between the fragments of a message. It holds no message itself: the
 * payload bytes of data frames go to a sink, which keeps them where it
 * likes, and the parser unmasks them there and checks a text message's
 * UTF-8 as they pass. It reads input in pieces cut anywhere, allocates
 * nothing, and does no I/O: the ring thread feeds it what a connection
 * receives (http/wsconn.c), and the fuzz harness feeds it anything.
 */
#ifndef NU_FRAME_H
#define NU_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "utf8.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Opcodes. */
#define NU_WS_OP_CONT 0u
#define NU_WS_OP_TEXT 1u
#define NU_WS_OP_BINARY 2u
#define NU_WS_OP_CLOSE 8u
#define NU_WS_OP_PING 9u
#define NU_WS_OP_PONG 10u

/* Close codes (RFC 6455, 7.4.1) the server itself uses. */
#define NU_WS_CLOSE_NORMAL 1000u
#define NU_WS_CLOSE_PROTOCOL 1002u
#define NU_WS_CLOSE_NO_STATUS 1005u /* never sent: none was given */
#define NU_WS_CLOSE_ABNORMAL 1006u  /* never sent: no close frame came */
#define NU_WS_CLOSE_INVALID_DATA 1007u
#define NU_WS_CLOSE_TOO_BIG 1009u

/* The largest payload of a control frame, and of a frame header. */
#define NU_WS_CONTROL_MAX 125u
#define NU_WS_HEADER_MAX 14u

/* Why input was refused. Each has the close code that says so to the
 * peer, and the name and words of the error the ws package reports. */
enum nu_ws_error {
  NU_WS_ERR_NONE = 0,
  NU_WS_ERR_RSV1,
  NU_WS_ERR_RSV23,
  NU_WS_ERR_OPCODE,           /* unknown, or out of place (continuation) */
  NU_WS_ERR_FIN,              /* a fragmented control frame */
  NU_WS_ERR_CONTROL_LENGTH,   /* a control frame past 125 bytes; a close of 1 */
  NU_WS_ERR_MASK,             /* a client frame without a mask */
  NU_WS_ERR_FRAME_LENGTH,     /* a 64-bit length with its top bit set */
  NU_WS_ERR_TOO_BIG,          /* past max_payload */
  NU_WS_ERR_UTF8,             /* a text message or close reason */
  NU_WS_ERR_CLOSE_CODE,       /* a close code no endpoint may send */
  NU_WS_ERR_COUNT
};

/* 1002, 1007 or 1009: the close code of err. */
unsigned nu_ws_error_code(enum nu_ws_error err);
/* "WS_ERR_INVALID_OPCODE", ...: the ws package's code for err. */
const char *nu_ws_error_name(enum nu_ws_error err);
/* "invalid opcode", ...: what went wrong, in words. */
const char *nu_ws_error_message(enum nu_ws_error err);

/* Whether a peer may send close code code (1000-1003, 1007-1014 and
 * 3000-4999; RFC 6455, 7.4, and the IANA registry). */
int nu_ws_close_code_valid(unsigned code);

/* What the parser hands on. Each returns 0, or -ENOMEM to stop. */
struct nu_ws_sink {
  /* Keeps n bytes (masked) of the data message being received, after
   * those kept before for it, and returns where they are: the parser
   * unmasks them there. whole: they are the whole message (one frame,
   * all in this input). NULL when out of memory. */
  uint8_t *(*keep)(void *ctx, const uint8_t *p, size_t n, int whole);
  /* The message (TEXT or BINARY) is complete: the len bytes kept. */
  int (*message)(void *ctx, unsigned opcode, uint64_t len);
  /* A PING or a PONG, and its payload (unmasked; valid until return). */
  int (*control)(void *ctx, unsigned opcode, const uint8_t *p, size_t n);
  /* The peer's close frame: its code (NU_WS_CLOSE_NO_STATUS when it gave
   * none) and reason (checked UTF-8). Nothing is parsed after it. */
  int (*close)(void *ctx, unsigned code, const uint8_t *reason, size_t n);
};

/* A connection's parser. Zero it, set max_payload, and feed it. */
struct nu_ws_parser {
  uint64_t max_payload; /* the largest message; 0: no limit */
  uint64_t frame_len;   /* the payload length of the frame being received */
  uint64_t left;        /* of which still to come */
  uint64_t msg_len;     /* data bytes of the message so far */
  struct nu_utf8 utf8;  /* a text message's check, across its frames */
  uint8_t hdr[NU_WS_HEADER_MAX];
  uint8_t hdr_len;    /* header bytes gathered */
  uint8_t opcode;     /* of the frame being received */
  uint8_t fin;        /* its FIN bit */
  uint8_t msg_opcode; /* TEXT or BINARY from a message's first frame to its
                         last; 0 between messages */
  uint8_t in_payload; /* the header is in: payload bytes are due */
  uint8_t done;       /* a close frame or an error came: input is dropped */
  uint8_t mask[4];
  uint8_t ctl_len; /* control payload bytes gathered */
  uint8_t ctl[NU_WS_CONTROL_MAX];
};

/*
 * Parses len more bytes of a client's input, calling sink (with ctx) for
 * what they complete. Returns 0 when all were taken (or dropped, once
 * done); or an nu_ws_error, the parser done, when the input broke the
 * protocol: the connection must be closed with nu_ws_error_code(); or
 * -ENOMEM when a sink call failed.
 */
int nu_ws_parse(struct nu_ws_parser *p, const uint8_t *data, size_t len,
                const struct nu_ws_sink *sink, void *ctx);

/* XORs n bytes at buf with mask, starting off bytes into it. */
void nu_ws_unmask(uint8_t *buf, size_t n, const uint8_t mask[4], size_t off);

/* The header length of a server (unmasked) frame of len payload bytes. */
static inline size_t nu_ws_header_len(uint64_t len) {
  return len < 126 ? 2 : len <= 0xffff ? 4 : 10;
}

/* Writes the header of a server frame (nu_ws_header_len(len) bytes) to
 * out; returns its length. */
size_t nu_ws_frame_header(uint8_t *out, unsigned opcode, int fin,
                          uint64_t len);

/* Writes a close frame's payload, code then reason (n bytes), to out;
 * returns 2 + n. */
size_t nu_ws_close_payload(uint8_t *out, unsigned code, const void *reason,
                           size_t n);

#ifdef __cplusplus
}
#endif

#endif
