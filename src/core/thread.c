#include "thread.h"

#include <errno.h>
#include <string.h>

int nu_thread_start(struct nu_thread *t, const char *name,
                    void *(*main)(void *), void *arg, const char **op) {
  int ret;

  memset(t, 0, sizeof(*t));
  sem_init(&t->started, 0, 0);
  ret = pthread_create(&t->id, NULL, main, arg);
  if (ret) {
    sem_destroy(&t->started);
    *op = "pthread_create";
    return -ret;
  }
  pthread_setname_np(t->id, name);
  while (sem_wait(&t->started) < 0 && errno == EINTR)
    ;
  if (t->start_error) {
    *op = t->start_op;
    nu_thread_join(t);
    return t->start_error;
  }
  return 0;
}

void nu_thread_started(struct nu_thread *t, int error, const char *op) {
  t->start_error = error;
  t->start_op = op;
  sem_post(&t->started);
}

void nu_thread_join(struct nu_thread *t) {
  if (t->joined)
    return;
  pthread_join(t->id, NULL);
  /* Destroyed only now: sem_post() may still touch it after the wait. */
  sem_destroy(&t->started);
  t->joined = 1;
}
