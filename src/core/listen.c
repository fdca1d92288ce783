/* listen: the listening socket, opened on the JS thread so that bind and
 * listen errors reach the caller synchronously. */
#include "nu.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* Fills *ss from a numeric address; NULL is IPv6 any. Returns the family or
 * -EINVAL. */
static int nu__parse_addr(const char *host, int port,
                          struct sockaddr_storage *ss, socklen_t *len) {
  struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
  struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

  memset(ss, 0, sizeof(*ss));
  if (host && inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
    in4->sin_family = AF_INET;
    in4->sin_port = htons((uint16_t)port);
    *len = sizeof(*in4);
    return AF_INET;
  }
  if (host && inet_pton(AF_INET6, host, &in6->sin6_addr) != 1)
    return -EINVAL;
  in6->sin6_family = AF_INET6; /* NULL leaves in6addr_any */
  in6->sin6_port = htons((uint16_t)port);
  *len = sizeof(*in6);
  return AF_INET6;
}

/* The port fd is bound to, or -errno. */
static int nu__bound_port(int fd) {
  struct sockaddr_storage ss;
  socklen_t len = sizeof(ss);

  if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
    return -errno;
  if (ss.ss_family == AF_INET6)
    return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
  return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

static int nu__listen_on(int family, const struct sockaddr_storage *ss,
                         socklen_t len, int any, int backlog, int reuse_port,
                         int *out_fd, const char **op) {
  int one = 1, zero = 0, ret;
  int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);

  if (fd < 0) {
    *op = "socket";
    return -errno;
  }
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (reuse_port)
    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
  if (family == AF_INET6 && any) /* "::" serves IPv4 too, as in Node */
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
  if (bind(fd, (const struct sockaddr *)ss, len) < 0) {
    *op = "bind";
  } else if (listen(fd, backlog) < 0) {
    *op = "listen";
  } else {
    *out_fd = fd;
    return 0;
  }
  ret = -errno;
  close(fd);
  return ret;
}

int nu_listen(const char *host, int port, int backlog, int reuse_port, int *fd,
              int *bound_port, const char **op) {
  struct sockaddr_storage ss;
  socklen_t len;
  int family = nu__parse_addr(host, port, &ss, &len);
  int ret;

  if (family < 0) {
    *op = "getaddrinfo";
    return family;
  }
  ret = nu__listen_on(family, &ss, len, host == NULL, backlog, reuse_port, fd,
                      op);
  if (ret == -EAFNOSUPPORT && host == NULL) {
    /* No IPv6 on this machine: every IPv4 address instead. */
    struct sockaddr_in *in4 = (struct sockaddr_in *)&ss;

    memset(&ss, 0, sizeof(ss));
    in4->sin_family = AF_INET;
    in4->sin_port = htons((uint16_t)port);
    ret = nu__listen_on(AF_INET, &ss, sizeof(*in4), 1, backlog, reuse_port, fd,
                        op);
  }
  if (ret < 0)
    return ret;
  ret = nu__bound_port(*fd);
  if (ret < 0) {
    close(*fd);
    *fd = -1;
    *op = "getsockname";
    return ret;
  }
  *bound_port = ret;
  return 0;
}

int nu_listen_unix(const char *path, int backlog, int *fd, const char **op) {
  struct sockaddr_un un;
  size_t n = strlen(path);
  int ret;

  if (n == 0 || n >= sizeof(un.sun_path)) {
    *op = "bind";
    return n == 0 ? -EINVAL : -ENAMETOOLONG;
  }
  memset(&un, 0, sizeof(un));
  un.sun_family = AF_UNIX;
  memcpy(un.sun_path, path, n);
  *fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (*fd < 0) {
    *op = "socket";
    return -errno;
  }
  if (bind(*fd, (const struct sockaddr *)&un, sizeof(un)) < 0) {
    *op = "bind";
  } else if (listen(*fd, backlog) < 0) {
    *op = "listen";
  } else {
    return 0;
  }
  ret = -errno;
  close(*fd);
  *fd = -1;
  return ret;
}
