/*
 * nu_test.h: the C unit tests' harness, no framework. A test is a
 * function taking struct nu_test *t; main() runs each with NU_RUN() and
 * returns nu_test_end(). A failed check prints its file:line, what it
 * checked and the values seen, and the run goes on; the program exits 1
 * if any check failed. The NU_EXPECT_* macros expect t in scope.
 */
#ifndef NU_TEST_H
#define NU_TEST_H

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* A run's counts, on main()'s stack. */
struct nu_test {
  const char *name; /* the test running */
  unsigned checks, failures, tests;
};

/* Writes n bytes at p to stderr escaped as in a C string literal, between
 * quotes if quote. */
static inline void nu_test_print_bytes(const char *p, size_t n, int quote) {
  if (quote)
    fputc('"', stderr);
  for (size_t i = 0; i < n; i++) {
    unsigned char ch = (unsigned char)p[i];

    if (ch == '\r')
      fputs("\\r", stderr);
    else if (ch == '\n')
      fputs("\\n", stderr);
    else if (ch == '\t')
      fputs("\\t", stderr);
    else if (ch == '"' || ch == '\\')
      fprintf(stderr, "\\%c", ch);
    else if (ch < 0x20 || ch >= 0x7f)
      fprintf(stderr, "\\x%02x", ch);
    else
      fputc(ch, stderr);
  }
  if (quote)
    fputc('"', stderr);
}

/* Counts a check; returns 1 when it holds, else reports it and 0. */
static inline int nu_test_check(struct nu_test *t, int ok, const char *file,
                                int line, const char *what) {
  t->checks++;
  if (ok)
    return 1;
  t->failures++;
  fprintf(stderr, "%s:%d: in ", file, line);
  nu_test_print_bytes(t->name, strlen(t->name), 0);
  fprintf(stderr, ": %s\n", what);
  return 0;
}

/* Reports two byte strings that differ. */
static inline void nu_test_print_diff(const char *got, size_t got_len,
                                      const char *want) {
  fputs("    got  ", stderr);
  nu_test_print_bytes(got, got_len, 1);
  fputs("\n    want ", stderr);
  nu_test_print_bytes(want, strlen(want), 1);
  fputc('\n', stderr);
}

/* got == want as numbers of type, printed with the format fmt. */
#define NU__EXPECT_NUMBER(type, fmt, got, want)                                \
  do {                                                                         \
    type got_ = (type)(got), want_ = (type)(want);                             \
    if (!nu_test_check(t, got_ == want_, __FILE__, __LINE__,                   \
                       #got " == " #want))                                     \
      fprintf(stderr, "    got %" fmt ", want %" fmt "\n", got_, want_);       \
  } while (0)

/* A condition that must hold. */
#define NU_EXPECT(cond)                                                        \
  ((void)nu_test_check(t, (cond) != 0, __FILE__, __LINE__, #cond))

/* Integers, compared as signed 64-bit values. */
#define NU_EXPECT_INT(got, want) NU__EXPECT_NUMBER(int64_t, PRId64, got, want)

/* Unsigned 64-bit integers. */
#define NU_EXPECT_UINT(got, want) NU__EXPECT_NUMBER(uint64_t, PRIu64, got, want)

/* n bytes at got against the string want (its length must be n too). */
#define NU_EXPECT_BYTES(got, n, want)                                          \
  do {                                                                         \
    const char *got_ = (const char *)(got);                                    \
    size_t n_ = (size_t)(n);                                                   \
    const char *want_ = (want);                                                \
    if (!nu_test_check(t, n_ == strlen(want_) && memcmp(got_, want_, n_) == 0, \
                       __FILE__, __LINE__, #got " is " #want))                 \
      nu_test_print_diff(got_, n_, want_);                                     \
  } while (0)

/* NUL-terminated strings. */
#define NU_EXPECT_STR(got, want)                                               \
  do {                                                                         \
    const char *gs_ = (got);                                                   \
    NU_EXPECT_BYTES(gs_, strlen(gs_), want);                                   \
  } while (0)

/* Runs test fn, named by its identifier. */
#define NU_RUN(t, fn)                                                          \
  do {                                                                         \
    (t)->name = #fn;                                                           \
    (t)->tests++;                                                              \
    fn(t);                                                                     \
  } while (0)

/* Prints the counts. Returns main()'s exit status. */
static inline int nu_test_end(const struct nu_test *t, const char *file) {
  printf("%s: %u tests, %u checks, %u failed\n", file, t->tests, t->checks,
         t->failures);
  return t->failures ? 1 : 0;
}

#endif
