/*
 * probe: which io_uring operations this kernel supports, for every opcode
 * the liburing compiled in knows.
 */
#include "nu.h"

#include <errno.h>
#include <liburing.h>

/* Indexed by IORING_OP_*, in liburing 2.3's order. */
static const char *const nu__op_names[] = {
    "NOP",
    "READV",
    "WRITEV",
    "FSYNC",
    "READ_FIXED",
    "WRITE_FIXED",
    "POLL_ADD",
    "POLL_REMOVE",
    "SYNC_FILE_RANGE",
    "SENDMSG",
    "RECVMSG",
    "TIMEOUT",
    "TIMEOUT_REMOVE",
    "ACCEPT",
    "ASYNC_CANCEL",
    "LINK_TIMEOUT",
    "CONNECT",
    "FALLOCATE",
    "OPENAT",
    "CLOSE",
    "FILES_UPDATE",
    "STATX",
    "READ",
    "WRITE",
    "FADVISE",
    "MADVISE",
    "SEND",
    "RECV",
    "OPENAT2",
    "EPOLL_CTL",
    "SPLICE",
    "PROVIDE_BUFFERS",
    "REMOVE_BUFFERS",
    "TEE",
    "SHUTDOWN",
    "RENAMEAT",
    "UNLINKAT",
    "MKDIRAT",
    "SYMLINKAT",
    "LINKAT",
    "MSG_RING",
    "FSETXATTR",
    "SETXATTR",
    "FGETXATTR",
    "GETXATTR",
    "SOCKET",
    "URING_CMD",
    "SEND_ZC",
    "SENDMSG_ZC",
};

_Static_assert(sizeof(nu__op_names) / sizeof(nu__op_names[0]) == IORING_OP_LAST,
               "one name for each IORING_OP_ liburing knows");

unsigned nu_probe_op_count(void) { return IORING_OP_LAST; }

const char *nu_probe_op_name(unsigned op) {
  return op < IORING_OP_LAST ? nu__op_names[op] : NULL;
}

int nu_probe(unsigned char *supported, unsigned count) {
  struct io_uring_probe *p;
  struct io_uring ring;
  int ret = io_uring_queue_init(2, &ring, 0);

  if (ret < 0)
    return ret; /* -EPERM, -ENOSYS: the caller says why */
  p = io_uring_get_probe_ring(&ring);
  io_uring_queue_exit(&ring);
  if (p == NULL)
    return -ENOMEM;
  for (unsigned op = 0; op < count; op++)
    supported[op] = op < IORING_OP_LAST && io_uring_opcode_supported(p, op);
  io_uring_free_probe(p);
  return 0;
}
