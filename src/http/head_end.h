/*
 * head_end: the lines the ring thread ends every response head it builds
 * with (routes, static files, its error responses): the connection's
 * lines, the Date line, the blank line; and the status line it starts
 * those of static files and errors with. lib/head.js builds the same
 * lines for the heads JS builds; test/head.test.js holds the two to the
 * same bytes. A header every response should carry is added here (and
 * there).
 */
#ifndef NU_HEAD_END_H
#define NU_HEAD_END_H

#include <stdint.h>

#include "date.h"

/* Flags of nu_head_end_write(). */
#define NU_HEAD_END_CLOSE 1u   /* the connection closes after the response */
#define NU_HEAD_END_NO_DATE 2u /* no Date line: node:http's prebuilt errors */

/* The server's, set up by nu_head_end_init() and read-only afterwards;
 * date is the server's too, formatted each second by the ring thread. */
struct nu_head_end {
  const struct nu_date *date;
  char keep_alive[80]; /* Connection: keep-alive, and a Keep-Alive line */
  uint32_t keep_alive_len;
};

/* Sets e up for a server whose idle connections close after
 * keep_alive_timeout_ms (0: never), with the Date line of date. */
void nu_head_end_init(struct nu_head_end *e, const struct nu_date *date,
                      uint32_t keep_alive_timeout_ms);

/* Room for a status line nu_head_status_line() writes, and its NUL. */
#define NU_HEAD_STATUS_LINE_MAX 64

/* The reason phrase of status, as node:http's STATUS_CODES has it, for
 * the statuses the ring thread answers with; "unknown" for another, as
 * lib/response.js writes it. */
const char *nu_head_reason(int status);

/* Writes "HTTP/1.1 <status> <reason>\r\n" and a NUL to
 * out[NU_HEAD_STATUS_LINE_MAX], status being 100 to 999. Returns its
 * length. */
uint32_t nu_head_status_line(char *out, int status);

/* The number of bytes nu_head_end_write() writes with flags. */
uint32_t nu_head_end_len(const struct nu_head_end *e, unsigned flags);

/* Writes at w the lines that end a head, by flags (NU_HEAD_END_*): the
 * connection's, the Date line, the blank line. Returns w past them. */
char *nu_head_end_write(const struct nu_head_end *e, unsigned flags, char *w);

#endif
