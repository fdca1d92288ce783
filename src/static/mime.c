#include "mime.h"

#include <string.h>
#include <strings.h>

static const struct {
  const char *ext;
  const char *type;
} nu__types[] = {
    {"html", "text/html; charset=utf-8"},
    {"htm", "text/html; charset=utf-8"},
    {"css", "text/css; charset=utf-8"},
    {"js", "text/javascript; charset=utf-8"},
    {"mjs", "text/javascript; charset=utf-8"},
    {"json", "application/json"},
    {"map", "application/json"},
    {"txt", "text/plain; charset=utf-8"},
    {"md", "text/markdown; charset=utf-8"},
    {"csv", "text/csv; charset=utf-8"},
    {"xml", "application/xml"},
    {"svg", "image/svg+xml"},
    {"png", "image/png"},
    {"jpg", "image/jpeg"},
    {"jpeg", "image/jpeg"},
    {"gif", "image/gif"},
    {"webp", "image/webp"},
    {"avif", "image/avif"},
    {"ico", "image/x-icon"},
    {"wasm", "application/wasm"},
    {"pdf", "application/pdf"},
    {"woff", "font/woff"},
    {"woff2", "font/woff2"},
    {"ttf", "font/ttf"},
    {"otf", "font/otf"},
    {"mp4", "video/mp4"},
    {"webm", "video/webm"},
    {"mp3", "audio/mpeg"},
    {"ogg", "audio/ogg"},
    {"wav", "audio/wav"},
    {"zip", "application/zip"},
    {"gz", "application/gzip"},
};

#define NU__NTYPES (sizeof(nu__types) / sizeof(nu__types[0]))

const char *nu_mime_type(const char *path, uint32_t len) {
  uint32_t dot = len;

  while (dot > 0 && path[dot - 1] != '.' && path[dot - 1] != '/')
    dot--;
  if (dot > 0 && path[dot - 1] == '.') {
    const char *ext = path + dot;
    size_t n = len - dot;

    for (size_t i = 0; i < NU__NTYPES; i++) {
      if (strlen(nu__types[i].ext) == n &&
          strncasecmp(ext, nu__types[i].ext, n) == 0)
        return nu__types[i].type;
    }
  }
  return "application/octet-stream";
}

int nu_mime_entry(uint32_t i, const char **ext, const char **type) {
  if (i >= NU__NTYPES)
    return -1;
  *ext = nu__types[i].ext;
  *type = nu__types[i].type;
  return 0;
}
