// tcpbench: small, fast TCP load tools for tools/bench/tcp_proxy (loopback benchmarks).
//
//   tcpbench serve [--sink PORT] [--echo PORT] [--gen PORT]
//       sink: read and discard until EOF, then send back the byte count (8 bytes, little endian)
//             and close. One thread per connection, 1 MiB reads.
//       echo: write back whatever arrives. One epoll thread for all connections.
//       gen:  read an 8-byte little-endian count N, write N bytes, close. One thread per connection.
//   tcpbench upload   PORT BYTES [--cpu-pid PID] [--timeout S]   client -> sink
//   tcpbench download PORT BYTES [--cpu-pid PID] [--timeout S]   gen -> client
//   tcpbench rr PORT --conns C --size S --secs T [--warmup W] [--cpu-pid PID] [--timeout S]
//       C connections, each a closed loop: send S bytes, wait for S bytes back, repeat.
//   tcpbench wait PORT SECONDS      exit 0 once PORT accepts a connection
//
// Everything is 127.0.0.1. Clients print one line of key=value pairs. With --cpu-pid the client
// samples /proc/PID/stat (utime+stime, all threads) and /proc/stat (per-CPU busy time) at the
// start and end of the measured window, so CPU is attributed to exactly that window.
//
// rr latencies are closed-loop: a connection never has more than one request in flight, so they
// show the latency at whatever rate the system settled at, not at a fixed offered load (no
// coordinated-omission correction). Read them as "round-trip time at saturation".
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#define BULK_BUF (1 << 20)
#define MAX_CONNS 4096

static void die(const char* what) {
  fprintf(stderr, "tcpbench: %s: %s\n", what, strerror(errno));
  exit(2);
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static struct sockaddr_in loopback(int port) {
  struct sockaddr_in a;
  memset(&a, 0, sizeof(a));
  a.sin_family = AF_INET;
  a.sin_port = htons((uint16_t)port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

static int listen_on(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) die("socket");
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  struct sockaddr_in a = loopback(port);
  if (bind(fd, (struct sockaddr*)&a, sizeof(a)) != 0) die("bind");
  if (listen(fd, 1024) != 0) die("listen");
  return fd;
}

static int connect_to(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) die("socket");
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  struct sockaddr_in a = loopback(port);
  if (connect(fd, (struct sockaddr*)&a, sizeof(a)) != 0) die("connect");
  return fd;
}

static int write_all(int fd, const char* p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

static int read_all(int fd, char* p, size_t n) {
  while (n > 0) {
    ssize_t r = read(fd, p, n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return -1;
    p += r;
    n -= (size_t)r;
  }
  return 0;
}

// ---------------------------------------------------------------- CPU sampling

typedef struct {
  double proc_cpu_s;    // utime+stime of --cpu-pid, seconds (-1 if none)
  unsigned long minflt; // minor page faults of --cpu-pid
  uint64_t busy[2];     // per-CPU busy jiffies for cpu0, cpu1
  uint64_t total[2];    // per-CPU total jiffies
  uint64_t steal;       // all CPUs
  uint64_t all_total;
} cpu_sample;

static int g_cpu_pid = 0;

static double proc_cpu(int pid, unsigned long* minflt) {
  *minflt = 0;
  if (pid <= 0) return -1;
  char path[64], buf[2048];
  snprintf(path, sizeof(path), "/proc/%d/stat", pid);
  FILE* f = fopen(path, "r");
  if (!f) return -1;
  size_t n = fread(buf, 1, sizeof(buf) - 1, f);
  fclose(f);
  buf[n] = 0;
  char* p = strrchr(buf, ')');  // comm may contain spaces
  if (!p) return -1;
  p += 2;  // now at field 3 (state)
  unsigned long ut = 0, st = 0;
  // fields 3..15: state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime
  if (sscanf(p, "%*c %*d %*d %*d %*d %*d %*u %lu %*u %*u %*u %lu %lu", minflt, &ut, &st) != 3)
    return -1;
  return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static void sample_cpu(cpu_sample* s) {
  memset(s, 0, sizeof(*s));
  s->proc_cpu_s = proc_cpu(g_cpu_pid, &s->minflt);
  FILE* f = fopen("/proc/stat", "r");
  if (!f) return;
  char line[512];
  while (fgets(line, sizeof(line), f)) {
    unsigned long long v[10] = {0};
    int cpu = -1;
    if (strncmp(line, "cpu ", 4) == 0) {
      sscanf(line + 4, "%llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
             &v[4], &v[5], &v[6], &v[7]);
      s->steal = v[7];
      for (int i = 0; i < 8; i++) s->all_total += v[i];
      continue;
    }
    if (sscanf(line, "cpu%d %llu %llu %llu %llu %llu %llu %llu %llu", &cpu, &v[0], &v[1], &v[2],
               &v[3], &v[4], &v[5], &v[6], &v[7]) >= 5 &&
        cpu >= 0 && cpu < 2) {
      uint64_t total = 0;
      for (int i = 0; i < 8; i++) total += v[i];
      s->total[cpu] = total;
      s->busy[cpu] = total - v[3] - v[4];  // minus idle and iowait
    }
  }
  fclose(f);
}

static void print_cpu(const cpu_sample* a, const cpu_sample* b) {
  if (a->proc_cpu_s >= 0 && b->proc_cpu_s >= 0)
    printf(" proxy_cpu_s=%.3f proxy_minflt=%lu", b->proc_cpu_s - a->proc_cpu_s,
           b->minflt - a->minflt);
  for (int c = 0; c < 2; c++) {
    uint64_t t = b->total[c] - a->total[c];
    printf(" cpu%d_util=%.2f", c, t ? (double)(b->busy[c] - a->busy[c]) / t : 0.0);
  }
  uint64_t t = b->all_total - a->all_total;
  printf(" steal=%.3f", t ? (double)(b->steal - a->steal) / t : 0.0);
}

// ---------------------------------------------------------------- servers

static void* sink_conn(void* arg) {
  int fd = (int)(intptr_t)arg;
  char* buf = malloc(BULK_BUF);
  uint64_t total = 0;
  for (;;) {
    ssize_t r = read(fd, buf, BULK_BUF);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    total += (uint64_t)r;
  }
  write_all(fd, (const char*)&total, sizeof(total));
  close(fd);
  free(buf);
  return NULL;
}

static void* gen_conn(void* arg) {
  int fd = (int)(intptr_t)arg;
  uint64_t want = 0;
  if (read_all(fd, (char*)&want, sizeof(want)) == 0) {
    char* buf = malloc(BULK_BUF);
    memset(buf, 'g', BULK_BUF);
    while (want > 0) {
      size_t n = want < BULK_BUF ? (size_t)want : BULK_BUF;
      if (write_all(fd, buf, n) != 0) break;
      want -= n;
    }
    free(buf);
    shutdown(fd, SHUT_WR);
    // Wait for the client's FIN so our close never resets unread data.
    char tmp[256];
    while (read(fd, tmp, sizeof(tmp)) > 0) {
    }
  }
  close(fd);
  return NULL;
}

typedef struct {
  int lfd;
  void* (*fn)(void*);
} acceptor_arg;

static void* acceptor(void* arg) {
  acceptor_arg* a = arg;
  for (;;) {
    int fd = accept4(a->lfd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED || errno == EMFILE) continue;
      die("accept");
    }
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 256 * 1024);
    if (pthread_create(&t, &attr, a->fn, (void*)(intptr_t)fd) != 0) close(fd);
    pthread_attr_destroy(&attr);
  }
  return NULL;
}

// Echo: level-triggered epoll, blocking sockets (epoll says readable, so read() will not block;
// replies are small next to the socket buffer, so write() will not block in practice).
static void* echo_loop(void* arg) {
  int lfd = (int)(intptr_t)arg;
  int ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) die("epoll_create1");
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = lfd};
  epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
  static char buf[65536];
  struct epoll_event evs[256];
  for (;;) {
    int n = epoll_wait(ep, evs, 256, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      die("epoll_wait");
    }
    for (int i = 0; i < n; i++) {
      int fd = evs[i].data.fd;
      if (fd == lfd) {
        int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        if (c < 0) continue;
        int one = 1;
        setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        struct epoll_event cev = {.events = EPOLLIN, .data.fd = c};
        epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev);
        continue;
      }
      ssize_t r = read(fd, buf, sizeof(buf));
      if (r <= 0) {
        if (r < 0 && errno == EINTR) continue;
        epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
        close(fd);
        continue;
      }
      if (write_all(fd, buf, (size_t)r) != 0) {
        epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
        close(fd);
      }
    }
  }
  return NULL;
}

static int cmd_serve(int argc, char** argv) {
  pthread_t t[3];
  int nt = 0;
  static acceptor_arg sink_arg, gen_arg;
  for (int i = 2; i + 1 < argc; i += 2) {
    int port = atoi(argv[i + 1]);
    if (strcmp(argv[i], "--sink") == 0) {
      sink_arg.lfd = listen_on(port);
      sink_arg.fn = sink_conn;
      pthread_create(&t[nt++], NULL, acceptor, &sink_arg);
    } else if (strcmp(argv[i], "--gen") == 0) {
      gen_arg.lfd = listen_on(port);
      gen_arg.fn = gen_conn;
      pthread_create(&t[nt++], NULL, acceptor, &gen_arg);
    } else if (strcmp(argv[i], "--echo") == 0) {
      int lfd = listen_on(port);
      pthread_create(&t[nt++], NULL, echo_loop, (void*)(intptr_t)lfd);
    } else {
      fprintf(stderr, "serve: unknown option %s\n", argv[i]);
      return 2;
    }
  }
  if (nt == 0) {
    fprintf(stderr, "serve: nothing to serve\n");
    return 2;
  }
  for (int i = 0; i < nt; i++) pthread_join(t[i], NULL);
  return 0;
}

// ---------------------------------------------------------------- bulk clients

static int cmd_upload(int port, uint64_t bytes) {
  char* buf = malloc(BULK_BUF);
  memset(buf, 'u', BULK_BUF);
  cpu_sample c0, c1;
  sample_cpu(&c0);
  double t0 = now_s();
  int fd = connect_to(port);
  uint64_t left = bytes;
  while (left > 0) {
    size_t n = left < BULK_BUF ? (size_t)left : BULK_BUF;
    if (write_all(fd, buf, n) != 0) die("upload write");
    left -= n;
  }
  shutdown(fd, SHUT_WR);
  uint64_t got = 0;
  if (read_all(fd, (char*)&got, sizeof(got)) != 0) die("upload: no byte count from sink");
  double t1 = now_s();
  sample_cpu(&c1);
  close(fd);
  if (got != bytes) {
    fprintf(stderr, "upload: sink got %llu of %llu bytes\n", (unsigned long long)got,
            (unsigned long long)bytes);
    return 1;
  }
  printf("test=upload bytes=%llu secs=%.4f gbps=%.4f", (unsigned long long)bytes, t1 - t0,
         bytes / (t1 - t0) / 1e9);
  print_cpu(&c0, &c1);
  printf("\n");
  free(buf);
  return 0;
}

static int cmd_download(int port, uint64_t bytes) {
  char* buf = malloc(BULK_BUF);
  cpu_sample c0, c1;
  sample_cpu(&c0);
  double t0 = now_s();
  int fd = connect_to(port);
  if (write_all(fd, (const char*)&bytes, sizeof(bytes)) != 0) die("download request");
  uint64_t got = 0;
  for (;;) {
    ssize_t r = read(fd, buf, BULK_BUF);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) die("download read");
    if (r == 0) break;
    got += (uint64_t)r;
  }
  double t1 = now_s();
  sample_cpu(&c1);
  close(fd);
  if (got != bytes) {
    fprintf(stderr, "download: got %llu of %llu bytes\n", (unsigned long long)got,
            (unsigned long long)bytes);
    return 1;
  }
  printf("test=download bytes=%llu secs=%.4f gbps=%.4f", (unsigned long long)bytes, t1 - t0,
         bytes / (t1 - t0) / 1e9);
  print_cpu(&c0, &c1);
  printf("\n");
  free(buf);
  return 0;
}

// ---------------------------------------------------------------- rr client

// Log-linear latency histogram (ns): exact below 256 ns, then 128 sub-buckets per power of two
// (<0.8% relative error).
#define HIST_SUB 128
#define HIST_BUCKETS (256 + 48 * HIST_SUB)
static uint64_t g_hist[HIST_BUCKETS];

static int hist_index(uint64_t v) {
  if (v < 256) return (int)v;
  int msb = 63 - __builtin_clzll(v);  // >= 8
  int shift = msb - 7;                // v >> shift in [128, 256)
  int idx = 256 + (shift - 1) * HIST_SUB + (int)((v >> shift) - 128);
  return idx < HIST_BUCKETS ? idx : HIST_BUCKETS - 1;
}

static double hist_value(int idx) {
  if (idx < 256) return idx;
  int shift = (idx - 256) / HIST_SUB + 1;
  uint64_t sub = (uint64_t)((idx - 256) % HIST_SUB) + 128;
  return (double)(sub << shift) + (double)(1ull << shift) / 2;
}

static double hist_pct(uint64_t count, double p) {
  uint64_t target = (uint64_t)(p * (double)count);
  if (target >= count) target = count - 1;
  uint64_t seen = 0;
  for (int i = 0; i < HIST_BUCKETS; i++) {
    seen += g_hist[i];
    if (seen > target) return hist_value(i);
  }
  return 0;
}

typedef struct {
  int fd;
  size_t got;     // bytes of the current reply received
  uint64_t sent;  // send time of the current request (ns)
} rr_conn;

static int cmd_rr(int port, int conns, int size, double secs, double warmup) {
  if (conns < 1 || conns > MAX_CONNS || size < 1 || size > 65536) {
    fprintf(stderr, "rr: bad --conns/--size\n");
    return 2;
  }
  char* req = malloc((size_t)size);
  memset(req, 'r', (size_t)size);
  char* rbuf = malloc(65536);
  rr_conn* cs = calloc((size_t)conns, sizeof(rr_conn));
  int ep = epoll_create1(EPOLL_CLOEXEC);
  for (int i = 0; i < conns; i++) {
    cs[i].fd = connect_to(port);
    fcntl(cs[i].fd, F_SETFL, O_NONBLOCK);
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
    epoll_ctl(ep, EPOLL_CTL_ADD, cs[i].fd, &ev);
  }
  uint64_t start = now_ns();
  uint64_t measure_from = start + (uint64_t)(warmup * 1e9);
  uint64_t end = measure_from + (uint64_t)(secs * 1e9);
  int measuring = warmup <= 0;
  cpu_sample c0, c1;
  if (measuring) sample_cpu(&c0);
  uint64_t count = 0, errors = 0;
  for (int i = 0; i < conns; i++) {
    cs[i].sent = now_ns();
    if (write(cs[i].fd, req, (size_t)size) != size) die("rr first write");
  }
  struct epoll_event evs[256];
  uint64_t t = start;
  while (t < end) {
    int timeout_ms = (int)((end - t) / 1000000) + 1;
    int n = epoll_wait(ep, evs, 256, timeout_ms);
    if (n < 0) {
      if (errno == EINTR) continue;
      die("epoll_wait");
    }
    t = now_ns();
    if (!measuring && t >= measure_from) {
      measuring = 1;
      sample_cpu(&c0);
      measure_from = t;
    }
    for (int k = 0; k < n; k++) {
      rr_conn* c = &cs[evs[k].data.u32];
      ssize_t r = read(c->fd, rbuf, 65536);
      if (r <= 0) {
        if (r < 0 && (errno == EAGAIN || errno == EINTR)) continue;
        errors++;
        epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
        continue;
      }
      c->got += (size_t)r;
      if (c->got < (size_t)size) continue;
      if (c->got > (size_t)size) {
        fprintf(stderr, "rr: got more than one reply\n");
        return 1;
      }
      if (measuring) {
        g_hist[hist_index(t - c->sent)]++;
        count++;
      }
      c->got = 0;
      c->sent = t;
      ssize_t w = write(c->fd, req, (size_t)size);
      if (w != size) {
        errors++;
        epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
      }
    }
  }
  uint64_t stop = now_ns();
  sample_cpu(&c1);
  double measured = (double)(stop - measure_from) / 1e9;
  printf("test=rr conns=%d size=%d secs=%.3f rts=%llu rps=%.1f p50_us=%.2f p90_us=%.2f "
         "p99_us=%.2f p999_us=%.2f errors=%llu",
         conns, size, measured, (unsigned long long)count, count / measured,
         count ? hist_pct(count, 0.50) / 1e3 : 0, count ? hist_pct(count, 0.90) / 1e3 : 0,
         count ? hist_pct(count, 0.99) / 1e3 : 0, count ? hist_pct(count, 0.999) / 1e3 : 0,
         (unsigned long long)errors);
  print_cpu(&c0, &c1);
  printf("\n");
  for (int i = 0; i < conns; i++) close(cs[i].fd);
  return errors ? 1 : 0;
}

static int cmd_wait(int port, double secs) {
  double deadline = now_s() + secs;
  struct sockaddr_in a = loopback(port);
  while (now_s() < deadline) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (connect(fd, (struct sockaddr*)&a, sizeof(a)) == 0) {
      close(fd);
      return 0;
    }
    close(fd);
    usleep(20000);
  }
  fprintf(stderr, "wait: port %d not accepting after %.0fs\n", port, secs);
  return 1;
}

static void usage(void) {
  fprintf(stderr,
          "usage: tcpbench serve [--sink P] [--echo P] [--gen P]\n"
          "       tcpbench upload|download PORT BYTES [--cpu-pid PID] [--timeout S]\n"
          "       tcpbench rr PORT --conns C --size S --secs T [--warmup W] [--cpu-pid PID] "
          "[--timeout S]\n"
          "       tcpbench wait PORT SECONDS\n");
  exit(2);
}

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc < 2) usage();
  const char* cmd = argv[1];
  if (strcmp(cmd, "serve") == 0) return cmd_serve(argc, argv);
  if (argc < 3) usage();
  int port = atoi(argv[2]);
  if (strcmp(cmd, "wait") == 0) return cmd_wait(port, argc > 3 ? atof(argv[3]) : 10);
  int conns = 1, size = 64;
  double secs = 5, warmup = 0, timeout = 120;
  uint64_t bytes = 0;
  int i = 3;
  if (strcmp(cmd, "upload") == 0 || strcmp(cmd, "download") == 0) {
    if (argc < 4) usage();
    bytes = strtoull(argv[3], NULL, 10);
    i = 4;
  }
  for (; i + 1 < argc; i += 2) {
    if (strcmp(argv[i], "--cpu-pid") == 0) g_cpu_pid = atoi(argv[i + 1]);
    else if (strcmp(argv[i], "--timeout") == 0) timeout = atof(argv[i + 1]);
    else if (strcmp(argv[i], "--conns") == 0) conns = atoi(argv[i + 1]);
    else if (strcmp(argv[i], "--size") == 0) size = atoi(argv[i + 1]);
    else if (strcmp(argv[i], "--secs") == 0) secs = atof(argv[i + 1]);
    else if (strcmp(argv[i], "--warmup") == 0) warmup = atof(argv[i + 1]);
    else usage();
  }
  // Hard bound on every client: SIGALRM's default action ends the process.
  alarm((unsigned)(timeout + 0.999));
  if (strcmp(cmd, "upload") == 0) return cmd_upload(port, bytes);
  if (strcmp(cmd, "download") == 0) return cmd_download(port, bytes);
  if (strcmp(cmd, "rr") == 0) return cmd_rr(port, conns, size, secs, warmup);
  usage();
  return 2;
}
