/*
 * mount: server.static()'s directories, and which file beneath one a
 * request's URL names. The ring thread opens that file relative to the
 * mount's directory with RESOLVE_BENEATH (see file.c), so the kernel, not
 * this parsing, is what keeps a request inside the directory; the rules
 * here refuse the obvious attempts early and keep dotfiles private.
 */
#ifndef NU_MOUNT_H
#define NU_MOUNT_H

#include <stdint.h>

#include "nu.h"

struct nu_mount {
  char *prefix; /* "" for "/", else "/dir" without a trailing slash */
  uint32_t prefix_len;
  int root_fd; /* the directory, O_PATH */
};

struct nu_mounts {
  struct nu_mount *v;
  uint32_t n;
};

/* Copies specs and opens their directories. Returns 0, or -errno with *op
 * naming the call that failed (m left empty). */
int nu_mounts_init(struct nu_mounts *m, const struct nu_mount_spec *specs,
                   uint32_t n, const char **op);
void nu_mounts_free(struct nu_mounts *m);

/* The first mount whose prefix url's path falls under, or NULL. *path_len
 * is then the length of the path: url up to a '?' or '#'. */
const struct nu_mount *nu_mounts_match(const struct nu_mounts *m,
                                       const char *url, uint32_t url_len,
                                       uint32_t *path_len);

/* Room nu_mount_file_path() needs for a rest of len bytes. */
#define NU_MOUNT_PATH_ROOM(len) ((len) + sizeof("/index.html"))

/*
 * Decodes rest, the path after a mount's prefix ("" or "/..."), to the
 * file's path relative to the mount's directory: percent-decoded, empty
 * segments dropped, "index.html" appended to a directory path. Writes it
 * and a NUL to out (NU_MOUNT_PATH_ROOM(len) bytes). Returns 0, its length
 * in *out_len and in *index whether "index.html" was appended, or the status
 * that answers the request: 400 for a bad escape or a NUL, 403 for a ".."
 * segment, 404 for any other segment starting with a dot.
 */
int nu_mount_file_path(const char *rest, uint32_t len, char *out,
                       uint32_t *out_len, int *index);

#endif
