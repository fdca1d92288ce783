/*
 * stack: the lock-free queue shape of every JS -> ring channel here. Any
 * thread pushes elements (linked through their `next` member) onto an
 * atomic head, newest first; the ring thread takes them all at once and
 * reverses them into the order they were pushed.
 */
#ifndef NU_STACK_H
#define NU_STACK_H

#include <stdatomic.h>

/* Pushes the list first..last, already linked newest first, at once. */
#define NU_STACK_PUSH(headp, first, last)                                      \
  do {                                                                         \
    __typeof__(first) nu_head_ = atomic_load(headp);                           \
    do                                                                         \
      (last)->next = nu_head_;                                                 \
    while (!atomic_compare_exchange_weak(headp, &nu_head_, (first)));          \
  } while (0)

/* Takes every element and stores them in *fifo, oldest first. */
#define NU_STACK_TAKE_ALL(headp, fifo)                                         \
  do {                                                                         \
    __typeof__(*(fifo)) nu_e_ = atomic_exchange(headp, NULL);                  \
    *(fifo) = NULL;                                                            \
    while (nu_e_) {                                                            \
      __typeof__(nu_e_) nu_next_ = nu_e_->next;                                \
      nu_e_->next = *(fifo);                                                   \
      *(fifo) = nu_e_;                                                         \
      nu_e_ = nu_next_;                                                        \
    }                                                                          \
  } while (0)

#endif
