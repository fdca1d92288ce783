/*
 * fifo: the singly linked FIFO every ring-thread list here is (a
 * connection's response chunks, a queue's waiting and completed ops): a
 * head and a tail pointer, the nodes linked through their `next` member.
 * Macros, since the node types differ; one thread only.
 */
#ifndef NU_FIFO_H
#define NU_FIFO_H

/* Appends node at the tail. */
#define NU_FIFO_APPEND(head, tail, node)                                       \
  do {                                                                         \
    (node)->next = NULL;                                                       \
    if (tail)                                                                  \
      (tail)->next = (node);                                                   \
    else                                                                       \
      (head) = (node);                                                         \
    (tail) = (node);                                                           \
  } while (0)

/* Unlinks the head into *out, NULL when the FIFO is empty. */
#define NU_FIFO_POP(head, tail, out)                                           \
  do {                                                                         \
    *(out) = (head);                                                           \
    if (*(out)) {                                                              \
      (head) = (*(out))->next;                                                 \
      if ((head) == NULL)                                                      \
        (tail) = NULL;                                                         \
      (*(out))->next = NULL;                                                   \
    }                                                                          \
  } while (0)

#endif
