/* Unit tests of src/static/mime.c: the Content-Type by extension. */
#include "mime.h"

#include "nu_test.h"

static void test_mime_type(struct nu_test *t) {
  static const struct {
    const char *path;
    const char *type;
  } cases[] = {
      {"index.html", "text/html; charset=utf-8"},
      {"INDEX.HTML", "text/html; charset=utf-8"},
      {"page.HtM", "text/html; charset=utf-8"},
      {"sub/app.js", "text/javascript; charset=utf-8"},
      {"app.js.map", "application/json"},
      {"arch.tar.gz", "application/gzip"},
      {"f.woff2", "font/woff2"},
      {"f.woff", "font/woff"},
      {"photo.jpeg", "image/jpeg"},
      {"noext", "application/octet-stream"},
      {"trailingdot.", "application/octet-stream"},
      {"dir.d/file", "application/octet-stream"}, /* a dot, not the file's */
      {"weird.xyz", "application/octet-stream"},
      {"x.htmlx", "application/octet-stream"},
      {"x.htm", "text/html; charset=utf-8"},
      {"x.h", "application/octet-stream"},
      {"x.constructor", "application/octet-stream"},
      {"", "application/octet-stream"},
      {".", "application/octet-stream"},
  };

  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    t->name = cases[i].path;
    NU_EXPECT_STR(nu_mime_type(cases[i].path, (uint32_t)strlen(cases[i].path)),
                  cases[i].type);
  }
  t->name = "a length shorter than the string";
  NU_EXPECT_STR(nu_mime_type("a.jsonx", 6), "application/json");
  NU_EXPECT_STR(nu_mime_type("a.js", 3), "application/octet-stream");
}

/* The exported table: what lib/static.js must equal (test/mime.test.js),
 * each entry found by its own extension. */
static void test_mime_entry(struct nu_test *t) {
  const char *ext, *type;
  uint32_t n = 0;

  while (nu_mime_entry(n, &ext, &type) == 0) {
    char path[32];
    int len = snprintf(path, sizeof(path), "f.%s", ext);

    t->name = ext;
    NU_EXPECT_STR(nu_mime_type(path, (uint32_t)len), type);
    n++;
  }
  t->name = "the table";
  NU_EXPECT_INT(n >= 30, 1);
  NU_EXPECT_INT(nu_mime_entry(n + 1, &ext, &type), -1);
  NU_EXPECT_INT(nu_mime_entry(UINT32_MAX, &ext, &type), -1);
}

int main(void) {
  struct nu_test t = {0};

  NU_RUN(&t, test_mime_type);
  NU_RUN(&t, test_mime_entry);
  return nu_test_end(&t, __FILE__);
}
