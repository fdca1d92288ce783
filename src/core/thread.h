/*
 * thread: starting a ring thread and learning whether its setup worked.
 *
 * A ring must be set up by the thread that submits to it (SINGLE_ISSUER),
 * yet the JS caller wants setup errors synchronously. The starter waits on
 * a semaphore until the new thread reports its setup's result.
 */
#ifndef NU_THREAD_H
#define NU_THREAD_H

#include <pthread.h>
#include <semaphore.h>

struct nu_thread {
  pthread_t id;
  sem_t started;
  int start_error;      /* -errno of setup, read after `started` */
  const char *start_op; /* what failed */
  int joined;
};

/*
 * Runs main(arg) on a new thread named name and waits until it calls
 * nu_thread_started(). Returns 0, or the -errno it reported (the thread is
 * joined then) with *op naming what failed.
 */
int nu_thread_start(struct nu_thread *t, const char *name,
                    void *(*main)(void *), void *arg, const char **op);

/* The new thread: reports its setup's result; on error it must exit. */
void nu_thread_started(struct nu_thread *t, int error, const char *op);

/* Waits for the thread to exit. Idempotent. */
void nu_thread_join(struct nu_thread *t);

#endif
