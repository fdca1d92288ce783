#include "file.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "head_end.h"
#include "mime.h"

/* The values of nu_file.state. */
enum {
  NU_FILE_NEW,       /* nothing posted yet */
  NU_FILE_OPENING,   /* openat2 posted */
  NU_FILE_OPENED,    /* fd set */
  NU_FILE_STATING,   /* statx posted */
  NU_FILE_STATED,    /* stx set */
  NU_FILE_BODY,      /* head and body in one chunk, the body being read */
  NU_FILE_SPLICE,    /* head queued, body to queue as splice chunks */
  NU_FILE_READING,   /* read posted */
  NU_FILE_TRUNCATED, /* the file ended before its size said */
  NU_FILE_DONE,
};

/* The head of a response is built in a buffer this large, or in one from
 * malloc when a Location is longer. */
#define NU_FILE_HEAD_MAX 1024

static void nu__copy_span(struct nu_file *f, uint32_t *w, struct nu_span s,
                          uint32_t *off, uint32_t *len) {
  *off = *w;
  *len = s.len;
  if (s.len)
    memcpy(f->bytes + *w, s.p, s.len);
  f->bytes[*w + s.len] = '\0';
  *w += s.len + 1;
}

struct nu_file *nu_file_new(const struct nu_file_request *req) {
  const struct nu_mount *m = req->mount;
  uint32_t rest_len = req->path_len - m->prefix_len;
  size_t room = NU_MOUNT_PATH_ROOM(rest_len) + req->url.len + 1 +
                req->if_none_match.len + req->if_modified_since.len +
                req->range.len + req->if_range.len + 4;
  struct nu_file *f = calloc(1, sizeof(*f) + room);
  uint32_t w;

  if (f == NULL)
    return NULL;
  f->mount = m;
  f->slot = req->slot;
  f->gen = req->gen;
  f->seq = req->seq;
  f->keep_alive = req->keep_alive != 0;
  f->head_only = req->head_only != 0;
  f->fd = -1;
  f->has_inm = req->if_none_match.p != NULL;
  f->has_if_range = req->if_range.p != NULL;
  if (rest_len == 0 && m->prefix_len > 0) {
    f->status = 301; /* "/static" is "/static/": relative links need it */
  } else {
    int index = 0;

    f->status = nu_mount_file_path(req->url.p + m->prefix_len, rest_len,
                                   f->bytes, &f->path_len, &index);
    f->index = index != 0;
  }
  if (f->status)
    f->bytes[0] = '\0'; /* no path, and f->path_len stays 0 */
  w = f->path_len + 1;
  f->url_path_len = req->path_len;
  nu__copy_span(f, &w, req->url, &f->url_off, &f->url_len);
  nu__copy_span(f, &w, req->if_none_match, &f->inm_off, &f->inm_len);
  nu__copy_span(f, &w, req->if_modified_since, &f->ims_off, &f->ims_len);
  nu__copy_span(f, &w, req->range, &f->range_off, &f->range_len);
  nu__copy_span(f, &w, req->if_range, &f->if_range_off, &f->if_range_len);
  return f;
}

void nu_file_free(struct nu_file *f) {
  if (f->fd >= 0)
    close(f->fd);
  if (f->out)
    nu_out_free(f->out);
  free(f);
}

static const char *nu__url(const struct nu_file *f) {
  return f->bytes + f->url_off;
}

/* ---- deciding the status ---- */

/* The HTTP status that answers a failed open, err being its -errno. */
static int nu__errno_status(int err) {
  switch (err) {
  case -ENOENT:
  case -ENOTDIR:
  case -ELOOP:
  case -EXDEV: /* the path leads out of the mount's directory */
  case -ENAMETOOLONG:
  case -ENXIO:  /* a socket */
  case -ENODEV: /* a device without a driver */
    return 404;
  case -EACCES:
  case -EPERM:
    return 403;
  default:
    return 500;
  }
}

/* Decides the response to a file that is open and stat'ed: sets status,
 * and the body range for 200 and 206. */
static void nu__decide(struct nu_file *f) {
  uint64_t size = f->stx.stx_size;
  uint64_t first = 0, last = 0;

  if (S_ISDIR(f->stx.stx_mode)) {
    /* An index.html that is a directory has no page to give: a redirect
     * would only add one more slash, forever. */
    f->status = f->index ? 404 : 301;
    return;
  }
  if (!S_ISREG(f->stx.stx_mode)) {
    f->status = 404;
    return;
  }
  /* Opened O_NONBLOCK, so that a FIFO could not block the open; a read of
   * a regular file should wait for the disk instead. */
  if (fcntl(f->fd, F_SETFL, 0) < 0) {
    f->status = 500;
    return;
  }
  nu_validators_init(&f->val, size, f->stx.stx_mtime.tv_sec,
                     f->stx.stx_mtime.tv_nsec);
  if (nu_validators_not_modified(
          &f->val, f->has_inm ? f->bytes + f->inm_off : NULL, f->inm_len,
          f->ims_len ? f->bytes + f->ims_off : NULL, f->ims_len)) {
    f->status = 304;
    return;
  }
  f->status = 200;
  f->off = 0;
  f->end = size;
  if (f->range_len && !f->head_only &&
      nu_validators_if_range(
          &f->val, f->has_if_range ? f->bytes + f->if_range_off : NULL,
          f->if_range_len)) {
    int status = nu_range_parse(f->bytes + f->range_off, f->range_len, size,
                                &first, &last);

    if (status == 416) {
      f->status = 416;
    } else if (status == 206) {
      f->status = 206;
      f->off = first;
      f->end = last + 1;
    }
  }
}

/* ---- building the response ---- */

/* The chunk of a response with status and the header lines given (each
 * ending in CRLF), the lines that end every head (head_end.h), and room for
 * body_len body bytes. NULL when out of memory. */
static struct nu_out *nu__head_chunk(const struct nu_file *f,
                                     const struct nu_file_env *env,
                                     const char *lines, uint32_t lines_len,
                                     uint32_t body_len) {
  char status_line[NU_HEAD_STATUS_LINE_MAX];
  uint32_t status_len = nu_head_status_line(status_line, f->status);
  unsigned end_flags = f->keep_alive ? 0 : NU_HEAD_END_CLOSE;
  size_t head_len = (size_t)status_len + lines_len +
                    nu_head_end_len(env->head_end, end_flags);
  struct nu_out *o = nu_out_new(f->slot, f->gen, f->seq, 0, head_len, body_len);
  char *w;

  if (o == NULL)
    return NULL;
  w = o->data;
  memcpy(w, status_line, status_len);
  w += status_len;
  memcpy(w, lines, lines_len);
  nu_head_end_write(env->head_end, end_flags, w + lines_len);
  return o;
}

/* Marks o the last chunk of f's response. */
static void nu__last_chunk(const struct nu_file *f, struct nu_out *o) {
  o->flags |= NU_OUT_END | (f->keep_alive ? 0 : NU_OUT_CLOSE);
}

/* Writes the ETag and Last-Modified lines (none for an mtime no date can
 * say) to buf. Returns their length. */
static int nu__validators(const struct nu_file *f, char *buf, size_t room) {
  if (f->val.last_modified[0] == '\0')
    return snprintf(buf, room, "ETag: %s\r\n", f->val.etag);
  return snprintf(buf, room, "ETag: %s\r\nLast-Modified: %s\r\n", f->val.etag,
                  f->val.last_modified);
}

/* The whole response for a status without a file body: 301, 304, 416 and
 * the errors. Their body is the reason phrase (none for 304 and HEAD). */
static struct nu_out *nu__status_response(const struct nu_file *f,
                                          const struct nu_file_env *env) {
  const char *reason = nu_head_reason(f->status);
  uint32_t body_len = f->status == 304 ? 0 : (uint32_t)strlen(reason);
  size_t room = NU_FILE_HEAD_MAX + (f->status == 301 ? f->url_len : 0);
  char stack[NU_FILE_HEAD_MAX];
  char *lines = room > sizeof(stack) ? malloc(room) : stack;
  const char *url = nu__url(f);
  struct nu_out *o = NULL;
  int n;

  if (lines == NULL)
    return NULL;
  if (f->status == 304) {
    n = nu__validators(f, lines, room);
  } else {
    n = snprintf(lines, room,
                 "Content-Type: text/plain; charset=utf-8\r\n"
                 "Content-Length: %" PRIu32 "\r\n",
                 body_len);
    if (f->status == 416)
      n += snprintf(lines + n, room - (size_t)n,
                    "Content-Range: bytes */%" PRIu64 "\r\n",
                    (uint64_t)f->stx.stx_size);
    if (f->status == 301) {
      /* The target as sent, a slash after its path; its leading slashes
       * made one, or "//host/" would send the client to another host. */
      uint32_t skip = 0;

      while (skip + 1 < f->url_path_len && url[skip + 1] == '/')
        skip++;
      n += snprintf(lines + n, room - (size_t)n, "Location: %.*s/%s\r\n",
                    (int)(f->url_path_len - skip), url + skip,
                    url + f->url_path_len);
    }
  }
  if (f->head_only)
    body_len = 0;
  o = nu__head_chunk(f, env, lines, (uint32_t)n, body_len);
  if (o) {
    memcpy(o->data + o->body_off, reason, body_len);
    nu__last_chunk(f, o);
  }
  if (lines != stack)
    free(lines);
  return o;
}

/* The head of a 200 or 206, with room for body_len body bytes: the whole
 * body when it is read, none when it is spliced or for HEAD. */
static struct nu_out *nu__file_head(const struct nu_file *f,
                                    const struct nu_file_env *env,
                                    uint32_t body_len) {
  char lines[NU_FILE_HEAD_MAX];
  int n = snprintf(lines, sizeof(lines),
                   "Content-Type: %s\r\nContent-Length: %" PRIu64 "\r\n",
                   nu_mime_type(f->bytes, f->path_len), f->end - f->off);

  if (f->status == 206)
    n +=
        snprintf(lines + n, sizeof(lines) - (size_t)n,
                 "Content-Range: bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64 "\r\n",
                 f->off, f->end - 1, (uint64_t)f->stx.stx_size);
  n += nu__validators(f, lines + n, sizeof(lines) - (size_t)n);
  n += snprintf(lines + n, sizeof(lines) - (size_t)n,
                "Accept-Ranges: bytes\r\n");
  return nu__head_chunk(f, env, lines, (uint32_t)n, body_len);
}

/* Hands over the response read whole: its head and body in one chunk. */
static enum nu_file_step nu__send_read(struct nu_file *f, struct nu_out **out) {
  *out = f->out;
  f->out = NULL;
  nu__last_chunk(f, *out);
  f->state = NU_FILE_DONE;
  return NU_FILE_STEP_SEND;
}

/* Hands over the next splice chunk of the body: the last one takes the
 * file, the others a duplicate of it. */
static enum nu_file_step nu__send_splice(struct nu_file *f,
                                         struct nu_out **out) {
  uint64_t left = f->end - f->off;
  uint32_t len =
      left > NU_FILE_SPLICE_MAX ? NU_FILE_SPLICE_MAX : (uint32_t)left;
  int fd = len == left ? f->fd : fcntl(f->fd, F_DUPFD_CLOEXEC, 0);

  if (fd < 0)
    return NU_FILE_STEP_NOMEM;
  *out = nu_out_new_splice(f->slot, f->gen, f->seq, 0, fd, f->off, len);
  if (len == left)
    f->fd = -1; /* the chunk has it, or closed it */
  if (*out == NULL)
    return NU_FILE_STEP_NOMEM;
  f->off += len;
  if (f->off == f->end) {
    nu__last_chunk(f, *out);
    f->state = NU_FILE_DONE;
  }
  return NU_FILE_STEP_SEND;
}

enum nu_file_step nu_file_step(struct nu_file *f, const struct nu_file_env *env,
                               struct nu_out **out) {
  *out = NULL;
  switch (f->state) {
  case NU_FILE_NEW:
    if (f->status)
      break; /* answered below */
    /* Its turn, and the responses before it nearly sent. */
    if (f->seq != env->send_seq || env->ahead_bytes >= NU_FILE_AHEAD_MAX)
      return NU_FILE_STEP_WAIT;
    f->state = NU_FILE_OPENING;
    return NU_FILE_STEP_OP;
  case NU_FILE_OPENED:
    f->state = NU_FILE_STATING;
    return NU_FILE_STEP_OP;
  case NU_FILE_STATED:
    nu__decide(f);
    if (f->status != 200 && f->status != 206)
      break;
    if (f->head_only) {
      *out = nu__file_head(f, env, 0); /* its Content-Length is GET's */
      if (*out == NULL)
        return NU_FILE_STEP_NOMEM;
      nu__last_chunk(f, *out);
      f->state = NU_FILE_DONE;
      return NU_FILE_STEP_SEND;
    }
    if (f->end - f->off > NU_FILE_SPLICE_MIN) {
      *out = nu__file_head(f, env, 0);
      f->state = NU_FILE_SPLICE;
      return *out ? NU_FILE_STEP_SEND : NU_FILE_STEP_NOMEM;
    }
    /* At most NU_FILE_SPLICE_MIN: read, and sent with its head. */
    f->out = nu__file_head(f, env, (uint32_t)(f->end - f->off));
    if (f->out == NULL)
      return NU_FILE_STEP_NOMEM;
    if (f->out->body_len == 0)
      return nu__send_read(f, out);
    f->state = NU_FILE_READING;
    return NU_FILE_STEP_OP;
  case NU_FILE_SPLICE:
    if (env->ahead_bytes >= NU_FILE_AHEAD_MAX)
      return NU_FILE_STEP_WAIT; /* the chunk before is still going out */
    return nu__send_splice(f, out);
  case NU_FILE_BODY:
    if (f->filled == f->out->body_len)
      return nu__send_read(f, out);
    f->state = NU_FILE_READING; /* a short read: the rest */
    return NU_FILE_STEP_OP;
  case NU_FILE_TRUNCATED:
    /* Its Content-Length can no longer hold: what was read goes out,
     * then the connection closes, which tells the client. */
    f->out->len = f->out->body_off + f->filled;
    f->out->body_len = f->filled;
    *out = f->out;
    f->out = NULL;
    (*out)->flags |= NU_OUT_END | NU_OUT_CLOSE;
    f->state = NU_FILE_DONE;
    return NU_FILE_STEP_SEND;
  case NU_FILE_DONE:
    return NU_FILE_STEP_DONE;
  default:
    return NU_FILE_STEP_WAIT; /* an operation is in flight */
  }
  *out = nu__status_response(f, env);
  f->state = NU_FILE_DONE;
  return *out ? NU_FILE_STEP_SEND : NU_FILE_STEP_NOMEM;
}

void nu_file_prep(struct nu_file *f, struct io_uring_sqe *sqe) {
  switch (f->state) {
  case NU_FILE_OPENING:
    memset(&f->how, 0, sizeof(f->how));
    f->how.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
    f->how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
    io_uring_prep_openat2(sqe, f->mount->root_fd, f->bytes, &f->how);
    break;
  case NU_FILE_STATING:
    io_uring_prep_statx(sqe, f->fd, "", AT_EMPTY_PATH,
                        STATX_TYPE | STATX_SIZE | STATX_MTIME, &f->stx);
    break;
  case NU_FILE_READING:
    io_uring_prep_read(sqe, f->fd, f->out->data + f->out->body_off + f->filled,
                       f->out->body_len - f->filled, f->off);
    break;
  }
}

void nu_file_complete(struct nu_file *f, int res) {
  switch (f->state) {
  case NU_FILE_OPENING:
    if (res < 0) {
      f->status = nu__errno_status(res);
      f->state = NU_FILE_NEW;
    } else {
      f->fd = res;
      f->state = NU_FILE_OPENED;
    }
    break;
  case NU_FILE_STATING:
    if (res < 0) {
      f->status = 500;
      f->state = NU_FILE_NEW;
    } else {
      f->state = NU_FILE_STATED;
    }
    break;
  case NU_FILE_READING:
    if (res <= 0) {
      f->state = NU_FILE_TRUNCATED;
    } else {
      f->filled += (uint32_t)res;
      f->off += (uint32_t)res;
      f->state = NU_FILE_BODY;
    }
    break;
  }
}
