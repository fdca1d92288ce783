#include "handoff.h"

#include "grow.h"
#include "stack.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

uint32_t *nu_batch_add_words(struct nu_batch *b, uint32_t n) {
  uint64_t need = (uint64_t)b->nwords + n;
  uint32_t *w;

  if (need > b->cap_words &&
      nu_grow((void **)&b->words, &b->cap_words, need, sizeof(uint32_t)))
    return NULL;
  w = b->words + b->nwords;
  b->nwords += n;
  return w;
}

int64_t nu_batch_put_bytes(struct nu_batch *b, const void *p, uint32_t n) {
  uint64_t need = (uint64_t)b->nbytes + n;
  uint32_t off = b->nbytes;

  if (need > b->cap_bytes &&
      nu_grow((void **)&b->bytes, &b->cap_bytes, need, 1))
    return -ENOMEM;
  if (n)
    memcpy(b->bytes + off, p, n);
  b->nbytes += n;
  return off;
}

struct nu_batch *nu_batch_pool_get(struct nu_batch_pool *p) {
  struct nu_batch *b;

  if (p->ready == NULL)
    p->ready = atomic_exchange(&p->returned, NULL);
  b = p->ready;
  if (b) {
    p->ready = b->next;
    b->next = NULL;
    return b;
  }
  b = calloc(1, sizeof(*b));
  if (b)
    b->clear = p->clear;
  return b;
}

void nu_batch_pool_put(struct nu_batch_pool *p, struct nu_batch *b) {
  struct nu_batch *head = atomic_load(&p->returned);

  if (b->clear)
    b->clear(b);
  b->last = 0;
  b->conn = 0;
  b->joins = 0;
  b->nwords = 0;
  b->nbytes = 0;
  do
    b->next = head;
  while (!atomic_compare_exchange_weak(&p->returned, &head, b));
}

void nu_batch_free(struct nu_batch *b) {
  if (b->clear)
    b->clear(b);
  free(b->words);
  free(b->bytes);
  free(b);
}

static void nu__batch_list_free(struct nu_batch *b) {
  while (b) {
    struct nu_batch *next = b->next;

    nu_batch_free(b);
    b = next;
  }
}

void nu_batch_pool_destroy(struct nu_batch_pool *p) {
  nu__batch_list_free(p->ready);
  nu__batch_list_free(atomic_exchange(&p->returned, NULL));
  p->ready = NULL;
}

void nu_outbox_push_list(struct nu_outbox *q, struct nu_out *newest,
                         struct nu_out *oldest) {
  NU_STACK_PUSH(&q->head, newest, oldest);
}

struct nu_out *nu_outbox_take_all(struct nu_outbox *q) {
  struct nu_out *fifo;

  NU_STACK_TAKE_ALL(&q->head, &fifo);
  return fifo;
}

void nu_waker_signal(struct nu_waker *w) {
  uint64_t one = 1;

  while (write(w->efd, &one, sizeof(one)) < 0 && errno == EINTR)
    ;
}

void nu_waker_wake(struct nu_waker *w) {
  if (!atomic_load(&w->sleeping))
    return;
  if (atomic_exchange(&w->pending, 1))
    return;
  /* The eventfd counter cannot overflow with one write per wake-up. */
  nu_waker_signal(w);
}
