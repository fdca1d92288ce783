#include "handoff.h"

#include "grow.h"
#include "ops.h"
#include "stack.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

int nu_batch_put_words(struct nu_batch *b, const uint32_t *w, uint32_t n) {
  uint64_t need = (uint64_t)b->nwords + n;

  if (need > b->cap_words &&
      nu_grow((void **)&b->words, &b->cap_words, need, sizeof(uint32_t)))
    return -ENOMEM;
  memcpy(b->words + b->nwords, w, n * sizeof(uint32_t));
  b->nwords += n;
  return 0;
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
  return calloc(1, sizeof(*b));
}

void nu_batch_pool_put(struct nu_batch_pool *p, struct nu_batch *b) {
  struct nu_batch *head = atomic_load(&p->returned);

  nu_op_list_free(b->ops);
  b->ops = b->ops_last = NULL;
  b->last = 0;
  b->nwords = 0;
  b->nbytes = 0;
  do
    b->next = head;
  while (!atomic_compare_exchange_weak(&p->returned, &head, b));
}

void nu_batch_free(struct nu_batch *b) {
  nu_op_list_free(b->ops);
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

/* Chunked framing: "<hex size>\r\n" before the body, "\r\n" after it, and
 * "0\r\n\r\n" after the last one. */
static uint32_t nu__hex_len(uint32_t n) {
  uint32_t len = 1;

  while (n >>= 4)
    len++;
  return len;
}

struct nu_out *nu_out_new(uint32_t slot, uint32_t gen, uint32_t seq,
                          uint32_t flags, size_t head_len, size_t body_len) {
  int framed = (flags & NU_OUT_CHUNKED) && body_len > 0;
  int last = (flags & NU_OUT_CHUNKED) && (flags & NU_OUT_END);
  uint64_t len = (uint64_t)head_len + body_len;
  struct nu_out *o;

  /* The bound keeps every length below, framing included, in 32 bits. */
  if (head_len > NU_OUT_MAX || body_len > NU_OUT_MAX || len > NU_OUT_MAX)
    return NULL;
  if (framed)
    len += nu__hex_len((uint32_t)body_len) + 4;
  if (last)
    len += 5;
  /* One spare byte for the NUL that string copies write past their end. */
  o = malloc(sizeof(*o) + len + 1);
  if (o == NULL)
    return NULL;
  o->next = NULL;
  o->slot = slot;
  o->gen = gen;
  o->seq = seq;
  o->flags = flags;
  o->len = (uint32_t)len;
  o->head_len = (uint32_t)head_len;
  o->body_len = (uint32_t)body_len;
  o->body_off = o->head_len + (framed ? nu__hex_len(o->body_len) + 2 : 0);
  o->fd = -1;
  o->file_off = 0;
  return o;
}

struct nu_out *nu_out_new_splice(uint32_t slot, uint32_t gen, uint32_t seq,
                                 uint32_t flags, int fd, uint64_t off,
                                 uint32_t len) {
  struct nu_out *o = nu_out_new(slot, gen, seq, flags & ~NU_OUT_CHUNKED, 0, 0);

  if (o == NULL) {
    close(fd);
    return NULL;
  }
  o->flags |= NU_OUT_SPLICE;
  o->len = len;
  o->body_len = len;
  o->fd = fd;
  o->file_off = off;
  return o;
}

void nu_out_seal(struct nu_out *o) {
  char *tail = o->data + o->body_off + o->body_len;

  if (!(o->flags & NU_OUT_CHUNKED))
    return;
  if (o->body_len > 0) {
    /* The size line fills exactly the gap nu_out_new() left between head
     * and body; it is formatted aside so that its NUL lands nowhere. */
    char line[16];
    int n = snprintf(line, sizeof(line), "%x\r\n", o->body_len);

    memcpy(o->data + o->head_len, line, (size_t)n);
    memcpy(tail, "\r\n", 2);
    tail += 2;
  }
  if (o->flags & NU_OUT_END)
    memcpy(tail, "0\r\n\r\n", 5);
}

void nu_out_free(struct nu_out *o) {
  if (o->fd >= 0)
    close(o->fd);
  free(o);
}

void nu_outbox_push(struct nu_outbox *q, struct nu_out *o) {
  NU_STACK_PUSH(&q->head, o, o);
}

struct nu_out *nu_outbox_take_all(struct nu_outbox *q) {
  struct nu_out *fifo;

  NU_STACK_TAKE_ALL(&q->head, &fifo);
  return fifo;
}

void nu_waker_wake(struct nu_waker *w) {
  uint64_t one = 1;

  if (!atomic_load(&w->sleeping))
    return;
  if (atomic_exchange(&w->pending, 1))
    return;
  /* The eventfd counter cannot overflow with one write per wake-up. */
  while (write(w->efd, &one, sizeof(one)) < 0 && errno == EINTR)
    ;
}
