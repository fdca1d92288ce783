#include "ops.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* An op with data_len bytes of data, or NULL when out of memory. */
static struct nu_op *nu__op_alloc(uint8_t opcode, uint32_t id,
                                  size_t data_len) {
  struct nu_op *op = calloc(1, sizeof(*op) + data_len);

  if (op == NULL)
    return NULL;
  op->opcode = opcode;
  op->id = id;
  op->data_len = (uint32_t)data_len;
  return op;
}

/* The end of every constructor: op (or NULL) in *out, and 0, -ENOMEM when
 * op is NULL, or -EINVAL (op freed) when its opcode is not one the
 * constructor makes. */
static int nu__op_made(struct nu_op *op, int known, struct nu_op **out) {
  *out = NULL;
  if (op == NULL)
    return -ENOMEM;
  if (!known) {
    nu_op_free(op);
    return -EINVAL;
  }
  *out = op;
  return 0;
}

int nu_op_new_rw(uint8_t opcode, uint32_t id, int fd, void *buf, uint32_t len,
                 uint64_t off, uint32_t flags, struct nu_op **out) {
  struct nu_op *op = nu__op_alloc(opcode, id, 0);
  int known = 1;

  if (op == NULL)
    return nu__op_made(op, known, out);
  if (opcode == IORING_OP_READ)
    io_uring_prep_read(&op->sqe, fd, buf, len, off);
  else if (opcode == IORING_OP_WRITE)
    io_uring_prep_write(&op->sqe, fd, buf, len, off);
  else if (opcode == IORING_OP_RECV)
    io_uring_prep_recv(&op->sqe, fd, buf, len, (int)flags);
  else if (opcode == IORING_OP_SEND)
    io_uring_prep_send(&op->sqe, fd, buf, len, (int)flags);
  else
    known = 0;
  return nu__op_made(op, known, out);
}

int nu_op_new_rwv(uint8_t opcode, uint32_t id, int fd, uint32_t niov,
                  uint64_t off, struct nu_op **out) {
  struct nu_op *op =
      nu__op_alloc(opcode, id, (size_t)niov * sizeof(struct iovec));
  int known = 1;

  if (op == NULL)
    return nu__op_made(op, known, out);
  if (opcode == IORING_OP_READV)
    io_uring_prep_readv(&op->sqe, fd, nu_op_iov(op), niov, off);
  else if (opcode == IORING_OP_WRITEV)
    io_uring_prep_writev(&op->sqe, fd, nu_op_iov(op), niov, off);
  else
    known = 0;
  return nu__op_made(op, known, out);
}

struct iovec *nu_op_iov(struct nu_op *op) {
  return (struct iovec *)(void *)op->data;
}

int nu_op_new_path(uint8_t opcode, uint32_t id, const char *path, size_t len,
                   uint32_t flags, uint32_t mode, void *statx_buf,
                   struct nu_op **out) {
  /* calloc() leaves the NUL after the copy. */
  struct nu_op *op = nu__op_alloc(opcode, id, len + 1);
  int known = 1;

  if (op == NULL)
    return nu__op_made(op, known, out);
  memcpy(op->data, path, len);
  if (opcode == IORING_OP_OPENAT)
    io_uring_prep_openat(&op->sqe, AT_FDCWD, op->data, (int)flags, mode);
  else if (opcode == IORING_OP_STATX)
    io_uring_prep_statx(&op->sqe, AT_FDCWD, op->data, (int)flags, mode,
                        statx_buf);
  else
    known = 0;
  return nu__op_made(op, known, out);
}

int nu_op_new_fd(uint8_t opcode, uint32_t id, int fd, uint32_t flags,
                 struct nu_op **out) {
  struct nu_op *op = nu__op_alloc(opcode, id, 0);
  int known = 1;

  if (op == NULL)
    return nu__op_made(op, known, out);
  if (opcode == IORING_OP_NOP)
    io_uring_prep_nop(&op->sqe);
  else if (opcode == IORING_OP_CLOSE)
    io_uring_prep_close(&op->sqe, fd);
  else if (opcode == IORING_OP_FSYNC)
    io_uring_prep_fsync(&op->sqe, fd, flags);
  else if (opcode == IORING_OP_ACCEPT)
    io_uring_prep_accept(&op->sqe, fd, NULL, NULL, (int)flags);
  else
    known = 0;
  return nu__op_made(op, known, out);
}

int nu_op_new_socket(uint32_t id, int domain, uint32_t type, uint32_t protocol,
                     struct nu_op **out) {
  struct nu_op *op = nu__op_alloc(IORING_OP_SOCKET, id, 0);

  if (op)
    io_uring_prep_socket(&op->sqe, domain, (int)type, (int)protocol, 0);
  return nu__op_made(op, 1, out);
}

/* A sockaddr for a numeric IPv4 or IPv6 address in *ss; its length, or 0
 * when address is neither. */
static size_t nu__sockaddr(const char *address, int port,
                           struct sockaddr_storage *ss) {
  struct sockaddr_in *sin = (struct sockaddr_in *)ss;
  struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

  memset(ss, 0, sizeof(*ss));
  if (inet_pton(AF_INET, address, &sin->sin_addr) == 1) {
    sin->sin_family = AF_INET;
    sin->sin_port = htons((uint16_t)port);
    return sizeof(*sin);
  }
  if (inet_pton(AF_INET6, address, &sin6->sin6_addr) == 1) {
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons((uint16_t)port);
    return sizeof(*sin6);
  }
  return 0;
}

int nu_op_new_connect(uint32_t id, int fd, const char *address, int port,
                      struct nu_op **out) {
  struct sockaddr_storage ss;
  size_t len = nu__sockaddr(address, port, &ss);
  struct nu_op *op;

  *out = NULL;
  if (len == 0)
    return -EINVAL;
  op = nu__op_alloc(IORING_OP_CONNECT, id, len);
  if (op) {
    memcpy(op->data, &ss, len);
    io_uring_prep_connect(&op->sqe, fd, (const struct sockaddr *)op->data,
                          (socklen_t)len);
  }
  return nu__op_made(op, 1, out);
}

int nu_op_new_timeout(uint32_t id, double ms, struct nu_op **out) {
  struct nu_op *op;

  *out = NULL;
  if (!(ms >= 0 && ms < 1e18))
    return -EINVAL; /* negative, NaN, or past what a timespec holds */
  op = nu__op_alloc(IORING_OP_TIMEOUT, id, 0);
  if (op) {
    op->ts.tv_sec = (int64_t)(ms / 1000);
    op->ts.tv_nsec = (long long)((ms - (double)op->ts.tv_sec * 1000) * 1e6);
    io_uring_prep_timeout(&op->sqe, &op->ts, 0, 0);
  }
  return nu__op_made(op, 1, out);
}

int nu_op_new_cancel(uint32_t id, uint64_t target, struct nu_op **out) {
  struct nu_op *op = nu__op_alloc(IORING_OP_ASYNC_CANCEL, id, 0);

  if (op) {
    op->target = target;
    io_uring_prep_cancel64(&op->sqe, target, 0);
  }
  return nu__op_made(op, 1, out);
}

void nu_op_free(struct nu_op *op) { free(op); }

void nu_op_list_free(struct nu_op *op) {
  while (op) {
    struct nu_op *next = op->next;

    nu_op_free(op);
    op = next;
  }
}

/* What the SQE points to (a path, iovecs, a sockaddr, a timespec) lives in
 * the op until its CQE: with SQPOLL the kernel reads the SQE, and what it
 * points to, whenever its thread gets to it. */
void nu_op_prep(struct io_uring_sqe *sqe, struct nu_op *op) {
  *sqe = op->sqe;
  sqe->flags |= op->sqe_flags;
  io_uring_sqe_set_data(sqe, op);
}
