// relay: the smallest possible user-space hop, as a latency floor for tools/bench/http_proxy.
//
//   relay LISTEN_PORT BACKEND_PORT [--spin]
//
// Each accepted connection on 127.0.0.1:LISTEN_PORT gets its own connection to
// 127.0.0.1:BACKEND_PORT, and bytes are copied both ways as they arrive (one epoll thread,
// level-triggered, no parsing, no buffering beyond one read). Whatever latency it adds over a
// direct connection is what any proxy in that position pays for the extra process hop on this
// machine: two more wake-ups per exchange and four more socket calls. No real proxy can add less.
//
// --spin polls with a zero timeout instead of sleeping in epoll_wait (the idea behind HAProxy's
// `busy-polling`): it shows how much of the floor is the cost of waking an idle CPU.
//
// Not a proxy: a short write blocks the whole relay until the peer drains (fine for the
// benchmark's small requests and responses, wrong for anything else).
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_FD 65536
#define BUF 65536

static int peer_of[MAX_FD];

static void die(const char* what) {
  perror(what);
  exit(1);
}

static struct sockaddr_in loopback(int port) {
  struct sockaddr_in a;
  memset(&a, 0, sizeof(a));
  a.sin_family = AF_INET;
  a.sin_port = htons((uint16_t)port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

static void set_nodelay(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

// Writes all of buf, waiting for room when the socket is full.
static int write_all(int fd, const char* buf, ssize_t len) {
  while (len > 0) {
    ssize_t n = send(fd, buf, (size_t)len, MSG_NOSIGNAL);
    if (n > 0) {
      buf += n;
      len -= n;
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      struct pollfd p = {fd, POLLOUT, 0};
      poll(&p, 1, 1000);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    return -1;
  }
  return 0;
}

static void close_pair(int ep, int fd) {
  int peer = peer_of[fd];
  epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
  close(fd);
  if (peer > 0) {
    epoll_ctl(ep, EPOLL_CTL_DEL, peer, NULL);
    close(peer);
    peer_of[peer] = 0;
  }
  peer_of[fd] = 0;
}

int main(int argc, char** argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: relay LISTEN_PORT BACKEND_PORT [--spin]\n");
    return 2;
  }
  const int listen_port = atoi(argv[1]);
  const int backend_port = atoi(argv[2]);
  const int spin = argc > 3 && strcmp(argv[3], "--spin") == 0;
  signal(SIGPIPE, SIG_IGN);

  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  if (lfd < 0) die("socket");
  int one = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  struct sockaddr_in la = loopback(listen_port);
  if (bind(lfd, (struct sockaddr*)&la, sizeof(la)) < 0) die("bind");
  if (listen(lfd, 1024) < 0) die("listen");

  int ep = epoll_create1(0);
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = lfd};
  epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);

  static char buf[BUF];
  struct epoll_event events[256];
  for (;;) {
    int n = epoll_wait(ep, events, 256, spin ? 0 : -1);
    if (n < 0 && errno != EINTR) die("epoll_wait");
    for (int i = 0; i < n; ++i) {
      int fd = events[i].data.fd;
      if (fd == lfd) {
        int c;
        while ((c = accept4(lfd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
          int b = socket(AF_INET, SOCK_STREAM, 0);
          struct sockaddr_in ba = loopback(backend_port);
          if (b < 0 || b >= MAX_FD || c >= MAX_FD ||
              connect(b, (struct sockaddr*)&ba, sizeof(ba)) < 0) {
            if (b >= 0) close(b);
            close(c);
            continue;
          }
          // Blocking connect done (loopback); the relay itself runs non-blocking.
          if (fcntl(b, F_SETFL, O_NONBLOCK) < 0) die("fcntl");
          set_nodelay(c);
          set_nodelay(b);
          peer_of[c] = b;
          peer_of[b] = c;
          struct epoll_event ce = {.events = EPOLLIN, .data.fd = c};
          struct epoll_event be = {.events = EPOLLIN, .data.fd = b};
          epoll_ctl(ep, EPOLL_CTL_ADD, c, &ce);
          epoll_ctl(ep, EPOLL_CTL_ADD, b, &be);
        }
        continue;
      }
      if (peer_of[fd] == 0) continue;  // Closed earlier in this batch.
      ssize_t r = recv(fd, buf, sizeof(buf), 0);
      if (r > 0) {
        if (write_all(peer_of[fd], buf, r) < 0) close_pair(ep, fd);
      } else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
        close_pair(ep, fd);
      }
    }
  }
}
