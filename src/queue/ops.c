#include "ops.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static struct nu_op *nu__op_alloc(uint8_t opcode, uint32_t id,
                                  size_t data_len) {
  struct nu_op *op = calloc(1, sizeof(*op) + data_len);

  if (op == NULL)
    return NULL;
  op->opcode = opcode;
  op->id = id;
  op->fd = -1;
  op->data_len = (uint32_t)data_len;
  return op;
}

struct nu_op *nu_op_new(uint8_t opcode, uint32_t id) {
  return nu__op_alloc(opcode, id, 0);
}

struct nu_op *nu_op_new_path(uint8_t opcode, uint32_t id, const char *path,
                             size_t len) {
  /* calloc() leaves the NUL after the copy. */
  struct nu_op *op = nu__op_alloc(opcode, id, len + 1);

  if (op)
    memcpy(op->data, path, len);
  return op;
}

struct nu_op *nu_op_new_iov(uint8_t opcode, uint32_t id, uint32_t niov) {
  struct nu_op *op =
      nu__op_alloc(opcode, id, (size_t)niov * sizeof(struct iovec));

  if (op)
    op->len = niov;
  return op;
}

struct iovec *nu_op_iov(struct nu_op *op) {
  return (struct iovec *)(void *)op->data;
}

int nu_op_new_connect(uint32_t id, int fd, const char *address, int port,
                      struct nu_op **out) {
  struct sockaddr_in6 sin6;
  struct sockaddr_in sin;
  const void *sa;
  size_t len;

  *out = NULL;
  memset(&sin, 0, sizeof(sin));
  memset(&sin6, 0, sizeof(sin6));
  if (inet_pton(AF_INET, address, &sin.sin_addr) == 1) {
    sin.sin_family = AF_INET;
    sin.sin_port = htons((uint16_t)port);
    sa = &sin;
    len = sizeof(sin);
  } else if (inet_pton(AF_INET6, address, &sin6.sin6_addr) == 1) {
    sin6.sin6_family = AF_INET6;
    sin6.sin6_port = htons((uint16_t)port);
    sa = &sin6;
    len = sizeof(sin6);
  } else {
    return -EINVAL;
  }
  *out = nu__op_alloc(IORING_OP_CONNECT, id, len);
  if (*out == NULL)
    return -ENOMEM;
  (*out)->fd = fd;
  memcpy((*out)->data, sa, len);
  return 0;
}

void nu_op_free(struct nu_op *op) { free(op); }

void nu_op_list_free(struct nu_op *op) {
  while (op) {
    struct nu_op *next = op->next;

    nu_op_free(op);
    op = next;
  }
}

/* Every op's memory (path, iovecs, sockaddr, timespec) lives in the op
 * until its CQE: with SQPOLL the kernel reads the SQE, and what it points
 * to, whenever its thread gets to it. */
void nu_op_prep(struct io_uring_sqe *sqe, struct nu_op *op) {
  void *buf = (void *)(uintptr_t)op->addr;

  switch (op->opcode) {
  case IORING_OP_READ: /* fd, addr, len, off */
    io_uring_prep_read(sqe, op->fd, buf, op->len, op->off);
    break;
  case IORING_OP_WRITE:
    io_uring_prep_write(sqe, op->fd, buf, op->len, op->off);
    break;
  case IORING_OP_READV: /* fd, iovecs in data, len of them, off */
    io_uring_prep_readv(sqe, op->fd, nu_op_iov(op), op->len, op->off);
    break;
  case IORING_OP_WRITEV:
    io_uring_prep_writev(sqe, op->fd, nu_op_iov(op), op->len, op->off);
    break;
  case IORING_OP_RECV: /* fd, addr, len, flags */
    io_uring_prep_recv(sqe, op->fd, buf, op->len, (int)op->flags);
    break;
  case IORING_OP_SEND:
    io_uring_prep_send(sqe, op->fd, buf, op->len, (int)op->flags);
    break;
  case IORING_OP_OPENAT: /* path in data, flags, mode */
    io_uring_prep_openat(sqe, AT_FDCWD, op->data, (int)op->flags, op->mode);
    break;
  case IORING_OP_STATX: /* path in data, flags, mode (mask), addr (out) */
    io_uring_prep_statx(sqe, AT_FDCWD, op->data, (int)op->flags, op->mode, buf);
    break;
  case IORING_OP_CLOSE: /* fd */
    io_uring_prep_close(sqe, op->fd);
    break;
  case IORING_OP_FSYNC: /* fd, flags */
    io_uring_prep_fsync(sqe, op->fd, op->flags);
    break;
  case IORING_OP_ACCEPT: /* fd, flags */
    io_uring_prep_accept(sqe, op->fd, NULL, NULL, (int)op->flags);
    break;
  case IORING_OP_CONNECT: /* fd, sockaddr in data */
    io_uring_prep_connect(sqe, op->fd, (const struct sockaddr *)op->data,
                          op->data_len);
    break;
  case IORING_OP_SOCKET: /* fd (the domain), flags (the type), mode */
    io_uring_prep_socket(sqe, op->fd, (int)op->flags, (int)op->mode, 0);
    break;
  case IORING_OP_TIMEOUT: /* ts */
    io_uring_prep_timeout(sqe, &op->ts, 0, 0);
    break;
  case IORING_OP_ASYNC_CANCEL: /* addr: the op to cancel */
    io_uring_prep_cancel64(sqe, op->addr, 0);
    break;
  default: /* IORING_OP_NOP */
    io_uring_prep_nop(sqe);
    break;
  }
  sqe->flags |= op->sqe_flags;
  io_uring_sqe_set_data(sqe, op);
}
