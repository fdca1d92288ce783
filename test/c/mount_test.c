/* Unit tests of src/static/mount.c: which mount a URL falls under, and
 * the file beneath it that the rest of the path names. */
#include "mount.h"

#include "nu_test.h"

static void test_mount_file_path(struct nu_test *t) {
  static const struct {
    const char *rest;
    int status;
    const char *path; /* when status is 0 */
    int index;
  } cases[] = {
      {"", 0, "index.html", 1},
      {"/", 0, "index.html", 1},
      {"//", 0, "index.html", 1},
      {"/notes.txt", 0, "notes.txt", 0},
      {"/sub/", 0, "sub/index.html", 1},
      {"/sub//deeper///leaf.txt", 0, "sub/deeper/leaf.txt", 0},
      {"/caf%C3%A9.txt", 0, "caf\xc3\xa9.txt", 0},
      {"/caf%c3%a9.txt", 0, "caf\xc3\xa9.txt", 0},
      {"/with%20space.txt", 0, "with space.txt", 0},
      {"/sub%2Fpage.html", 0, "sub/page.html", 0},
      {"/sub%2f", 0, "sub/index.html", 1},
      {"/%73ub", 0, "sub", 0},
      {"/%252e%252e/x", 0, "%2e%2e/x", 0}, /* decoded once */
      {"/a..b", 0, "a..b", 0},
      {"/..\\x", 404, NULL, 0}, /* one name, a dotfile */
      {"/..", 403, NULL, 0},
      {"/../", 403, NULL, 0},
      {"/a/../b", 403, NULL, 0},
      {"/%2e%2e/secret", 403, NULL, 0},
      {"/.%2e/secret", 403, NULL, 0},
      {"/sub%2f..%2fsecret", 403, NULL, 0},
      {"/.git/config", 404, NULL, 0},
      {"/%2egit", 404, NULL, 0},
      {"/.", 404, NULL, 0},
      {"/./notes.txt", 404, NULL, 0},
      {"/...", 404, NULL, 0},
      {"/.git/../x", 404, NULL, 0}, /* the first refused segment decides */
      {"/sub/../.hidden", 403, NULL, 0},
      {"/%00", 400, NULL, 0},
      {"/a%00.html", 400, NULL, 0},
      {"/%zz", 400, NULL, 0},
      {"/%", 400, NULL, 0},
      {"/%2", 400, NULL, 0},
      {"/%2g", 400, NULL, 0},
      {"/../%zz", 400, NULL, 0}, /* decoding comes first */
  };

  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    uint32_t len = (uint32_t)strlen(cases[i].rest);
    char out[NU_MOUNT_PATH_ROOM(64)];
    uint32_t out_len = 12345;
    int index = -1;
    int status = nu_mount_file_path(cases[i].rest, len, out, &out_len, &index);

    t->name = cases[i].rest;
    NU_EXPECT_INT(status, cases[i].status);
    if (cases[i].status == 0) {
      NU_EXPECT_BYTES(out, out_len, cases[i].path);
      NU_EXPECT_INT(out[out_len], '\0');
      NU_EXPECT_INT(index, cases[i].index);
    }
  }
}

/* The longest path: every byte kept and index.html added, in the room the
 * header promises (ASan checks the bound). */
static void test_mount_file_path_room(struct nu_test *t) {
  static const char rest[] = "/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/";
  char out[NU_MOUNT_PATH_ROOM(sizeof(rest) - 1)];
  uint32_t out_len;
  int index;

  NU_EXPECT_INT(
      nu_mount_file_path(rest, sizeof(rest) - 1, out, &out_len, &index), 0);
  NU_EXPECT_INT(out_len, sizeof(rest) - 2 + sizeof("index.html") - 1);
}

static void test_mounts_match(struct nu_test *t) {
  struct nu_mount v[] = {
      {(char *)"/static", 7, -1},
      {(char *)"/static/sub", 11, -1}, /* behind /static: never first */
      {(char *)"", 0, -1},             /* "/" */
  };
  struct nu_mounts mounts = {v, 3};
  static const struct {
    const char *url;
    int mount; /* index in v, -1 for none */
    uint32_t path_len;
  } cases[] = {
      {"/static", 0, 7},
      {"/static/", 0, 8},
      {"/static/sub/x", 0, 13},
      {"/static?q=1", 0, 7},
      {"/static/a#frag", 0, 9},
      {"/staticfoo", 2, 10},
      {"/stati", 2, 6},
      {"/", 2, 1},
      {"/?x", 2, 1},
      {"*", -1, 0},
      {"http://host/static", -1, 0},
      {"", -1, 0},
      {"?/static", -1, 0},
  };

  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    uint32_t path_len = 0;
    const struct nu_mount *m = nu_mounts_match(
        &mounts, cases[i].url, (uint32_t)strlen(cases[i].url), &path_len);

    t->name = cases[i].url;
    NU_EXPECT_INT(m ? m - v : -1, cases[i].mount);
    if (m)
      NU_EXPECT_UINT(path_len, cases[i].path_len);
  }
  mounts.n = 1;
  t->name = "without the mount of /";
  {
    uint32_t path_len = 0;

    NU_EXPECT_INT(nu_mounts_match(&mounts, "/staticfoo", 10, &path_len) == NULL,
                  1);
  }
}

int main(void) {
  struct nu_test t = {0};

  NU_RUN(&t, test_mount_file_path);
  NU_RUN(&t, test_mount_file_path_room);
  NU_RUN(&t, test_mounts_match);
  return nu_test_end(&t, __FILE__);
}
