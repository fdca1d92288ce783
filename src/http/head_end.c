#include "head_end.h"

#include <stdio.h>
#include <string.h>

/* What a response after which the connection closes says. */
static const char nu__close_lines[] = "Connection: close\r\n";

void nu_head_end_init(struct nu_head_end *e, const struct nu_date *date,
                      uint32_t keep_alive_timeout_ms) {
  int n;

  e->date = date;
  /* As node:http: the timeout in whole seconds, rounded down, and no
   * Keep-Alive line without one. */
  if (keep_alive_timeout_ms > 0)
    n = snprintf(e->keep_alive, sizeof(e->keep_alive),
                 "Connection: keep-alive\r\nKeep-Alive: timeout=%u\r\n",
                 (unsigned)(keep_alive_timeout_ms / 1000));
  else
    n = snprintf(e->keep_alive, sizeof(e->keep_alive),
                 "Connection: keep-alive\r\n");
  e->keep_alive_len = (uint32_t)n;
}

const char *nu_head_reason(int status) {
  switch (status) {
  case 200:
    return "OK";
  case 206:
    return "Partial Content";
  case 301:
    return "Moved Permanently";
  case 304:
    return "Not Modified";
  case 400:
    return "Bad Request";
  case 403:
    return "Forbidden";
  case 404:
    return "Not Found";
  case 408:
    return "Request Timeout";
  case 413:
    return "Payload Too Large";
  case 416:
    return "Range Not Satisfiable";
  case 431:
    return "Request Header Fields Too Large";
  case 500:
    return "Internal Server Error";
  case 501:
    return "Not Implemented";
  default:
    return "unknown";
  }
}

uint32_t nu_head_status_line(char *out, int status) {
  return (uint32_t)snprintf(out, NU_HEAD_STATUS_LINE_MAX, "HTTP/1.1 %d %s\r\n",
                            status, nu_head_reason(status));
}

/* The connection's lines for flags, and their length in *len. */
static const char *nu__connection(const struct nu_head_end *e, unsigned flags,
                                  uint32_t *len) {
  if (flags & NU_HEAD_END_CLOSE) {
    *len = sizeof(nu__close_lines) - 1;
    return nu__close_lines;
  }
  *len = e->keep_alive_len;
  return e->keep_alive;
}

uint32_t nu_head_end_len(const struct nu_head_end *e, unsigned flags) {
  uint32_t len;

  nu__connection(e, flags, &len);
  if (!(flags & NU_HEAD_END_NO_DATE))
    len += e->date->line_len;
  return len + 2;
}

char *nu_head_end_write(const struct nu_head_end *e, unsigned flags, char *w) {
  uint32_t len;
  const char *lines = nu__connection(e, flags, &len);

  memcpy(w, lines, len);
  w += len;
  if (!(flags & NU_HEAD_END_NO_DATE)) {
    memcpy(w, e->date->line, e->date->line_len);
    w += e->date->line_len;
  }
  memcpy(w, "\r\n", 2);
  return w + 2;
}
