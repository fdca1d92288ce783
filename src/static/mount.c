#include "mount.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int nu_mounts_init(struct nu_mounts *m, const struct nu_mount_spec *specs,
                   uint32_t n, const char **op) {
  memset(m, 0, sizeof(*m));
  if (n == 0)
    return 0;
  m->v = calloc(n, sizeof(*m->v));
  if (m->v == NULL) {
    *op = "malloc";
    return -ENOMEM;
  }
  for (uint32_t i = 0; i < n; i++)
    m->v[i].root_fd = -1;
  m->n = n;
  for (uint32_t i = 0; i < n; i++) {
    struct nu_mount *mt = &m->v[i];
    size_t len = specs[i].prefix_len;
    int err;

    if (len == 1 && specs[i].prefix[0] == '/')
      len = 0;
    mt->prefix = malloc(len + 1);
    if (mt->prefix == NULL) {
      *op = "malloc";
      nu_mounts_free(m);
      return -ENOMEM;
    }
    memcpy(mt->prefix, specs[i].prefix, len);
    mt->prefix[len] = '\0';
    mt->prefix_len = (uint32_t)len;
    mt->root_fd = open(specs[i].root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (mt->root_fd < 0) {
      err = -errno;
      *op = "open";
      nu_mounts_free(m);
      return err;
    }
  }
  return 0;
}

void nu_mounts_free(struct nu_mounts *m) {
  for (uint32_t i = 0; i < m->n; i++) {
    free(m->v[i].prefix);
    if (m->v[i].root_fd >= 0)
      close(m->v[i].root_fd);
  }
  free(m->v);
  memset(m, 0, sizeof(*m));
}

const struct nu_mount *nu_mounts_match(const struct nu_mounts *m,
                                       const char *url, uint32_t url_len,
                                       uint32_t *path_len) {
  uint32_t len = 0;

  while (len < url_len && url[len] != '?' && url[len] != '#')
    len++;
  if (len == 0 || url[0] != '/')
    return NULL; /* "*", or an absolute-form target */
  for (uint32_t i = 0; i < m->n; i++) {
    const struct nu_mount *mt = &m->v[i];

    if (len >= mt->prefix_len && memcmp(url, mt->prefix, mt->prefix_len) == 0 &&
        (len == mt->prefix_len || url[mt->prefix_len] == '/')) {
      *path_len = len;
      return mt;
    }
  }
  return NULL;
}

static int nu__hex(char ch) {
  if (ch >= '0' && ch <= '9')
    return ch - '0';
  if (ch >= 'a' && ch <= 'f')
    return ch - 'a' + 10;
  if (ch >= 'A' && ch <= 'F')
    return ch - 'A' + 10;
  return -1;
}

/* Percent-decodes rest into out. Returns its length, or -400: the HTTP
 * status, negated, that a bad escape or a NUL gets. */
static int64_t nu__decode(const char *rest, uint32_t len, char *out) {
  uint32_t n = 0;

  for (uint32_t i = 0; i < len; i++) {
    char ch = rest[i];

    if (ch == '%') {
      int hi = i + 2 < len ? nu__hex(rest[i + 1]) : -1;
      int lo = hi >= 0 ? nu__hex(rest[i + 2]) : -1;

      if (lo < 0)
        return -400;
      ch = (char)(hi << 4 | lo);
      i += 2;
    }
    if (ch == '\0')
      return -400;
    out[n++] = ch;
  }
  return n;
}

int nu_mount_file_path(const char *rest, uint32_t len, char *out,
                       uint32_t *out_len, int *index) {
  int64_t n = nu__decode(rest, len, out);
  uint32_t w = 0; /* out is rewritten in place, segment by segment */
  uint32_t i = 0;
  int dir;

  if (n < 0)
    return (int)-n;
  dir = n == 0 || out[n - 1] == '/';
  while (i < n) {
    uint32_t start = i, seg;

    while (i < n && out[i] != '/')
      i++;
    seg = i - start;
    if (seg == 2 && out[start] == '.' && out[start + 1] == '.')
      return 403;
    if (seg > 0 && out[start] == '.')
      return 404;
    if (seg > 0) {
      if (w > 0)
        out[w++] = '/';
      memmove(out + w, out + start, seg);
      w += seg;
    }
    i++; /* the slash */
  }
  if (dir) {
    if (w > 0)
      out[w++] = '/';
    memcpy(out + w, "index.html", sizeof("index.html") - 1);
    w += sizeof("index.html") - 1;
  }
  out[w] = '\0';
  *out_len = w;
  *index = dir;
  return 0;
}
