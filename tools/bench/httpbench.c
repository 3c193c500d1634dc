// httpbench: an HTTP/1.1 keep-alive load generator for tools/bench/http_proxy (loopback).
//
//   httpbench load PORT --conns C (--secs T | --requests N) [--rate R] [--warmup W]
//                 [--path P] [--cpu-pid PID] [--timeout S] [--raw FILE]
//       C keep-alive connections from one epoll thread, each with at most one request in
//       flight (no pipelining). Without --rate: closed loop, each connection sends its next
//       request when the previous response ended (saturation). With --rate R: open loop at R
//       requests/s in total; a request's latency counts from when it was *scheduled*, so a slow
//       response delays the requests queued behind it on that connection and they show it
//       (coordinated omission corrected, as wrk2 does). --requests N stops after N responses
//       (for instruction counts under callgrind). --warmup W runs W seconds unmeasured first.
//       --raw FILE writes one line per measured response, "<scheduled_ns> <latency_ns> <ok>"
//       (CLOCK_MONOTONIC; ok 0 for a non-2xx response), so a script can cut the run into windows
//       afterwards. SIGTERM or SIGINT ends the run early, with the summary and --raw written.
//   httpbench wait PORT SECONDS    exit 0 once PORT accepts a connection
//
// Prints one line of key=value pairs: rps, completed, errors, latency percentiles in
// microseconds (p50, p90, p99, p999, max), and with --cpu-pid the process's CPU seconds
// (utime+stime of all threads, from /proc/PID/stat) over the measured window and CPU per request.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS 1024
#define BUF 65536

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static void die(const char* what) {
  fprintf(stderr, "httpbench: %s: %s\n", what, strerror(errno));
  exit(2);
}

static double proc_cpu_s(int pid) {
  if (pid <= 0) return 0;
  char path[64], buf[4096];
  snprintf(path, sizeof(path), "/proc/%d/stat", pid);
  FILE* f = fopen(path, "r");
  if (!f) return 0;
  size_t n = fread(buf, 1, sizeof(buf) - 1, f);
  fclose(f);
  buf[n] = 0;
  char* p = strrchr(buf, ')');
  if (!p) return 0;
  // Fields after ")": state(3) ... utime(14) stime(15): skip 11 fields.
  unsigned long utime = 0, stime = 0;
  int field = 2;
  for (char* tok = strtok(p + 1, " "); tok; tok = strtok(NULL, " ")) {
    ++field;
    if (field == 14) utime = strtoul(tok, NULL, 10);
    if (field == 15) {
      stime = strtoul(tok, NULL, 10);
      break;
    }
  }
  return (double)(utime + stime) / sysconf(_SC_CLK_TCK);
}

struct conn {
  int fd;
  char in[BUF];
  size_t in_len;
  int busy;             // A request is in flight.
  uint64_t sent_at;     // When the in-flight request was scheduled (open loop) or sent.
  uint64_t queued;      // Open loop: requests scheduled for this connection not yet sent.
  uint64_t queue_head;  // Scheduled time of the oldest queued request.
  long body_left;       // -1: still reading the head.
  int failed;           // The response being read is not a 2xx.
};

static struct conn conns[MAX_CONNS];
static char request[512];
static size_t request_len;
static uint64_t* lat;  // Latencies in ns of measured responses.
static uint64_t* lat_at;  // With --raw: when each was scheduled.
static uint8_t* lat_ok;   // With --raw: 1 for a 2xx response.
static const char* raw_path;
static volatile sig_atomic_t stop_requested;

static void on_stop(int sig) {
  (void)sig;
  stop_requested = 1;
}
static size_t lat_n, lat_cap;
static int measuring;
static uint64_t completed, errors;
static uint64_t sched_interval_ns;  // Open loop: per connection.
static uint64_t* next_sched;        // Open loop: next scheduled time per connection.

static int connect_port(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  if (fd < 0) die("socket");
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  if (connect(fd, (struct sockaddr*)&a, sizeof(a)) < 0 && errno != EINPROGRESS) die("connect");
  return fd;
}

static void send_request(struct conn* c, uint64_t scheduled) {
  size_t off = 0;
  while (off < request_len) {
    ssize_t n = write(c->fd, request + off, request_len - off);
    if (n < 0) {
      if (errno == EAGAIN) continue;  // Tiny requests: the socket buffer is never full for long.
      die("write");
    }
    off += n;
  }
  c->busy = 1;
  c->sent_at = scheduled;
  c->body_left = -1;
}

static void record(uint64_t scheduled, uint64_t latency, int ok) {
  if (!measuring) return;
  if (lat_n == lat_cap) {
    lat_cap = lat_cap ? lat_cap * 2 : 1 << 20;
    lat = realloc(lat, lat_cap * sizeof(*lat));
    if (raw_path) {
      lat_at = realloc(lat_at, lat_cap * sizeof(*lat_at));
      lat_ok = realloc(lat_ok, lat_cap);
    }
  }
  if (raw_path) {
    lat_at[lat_n] = scheduled;
    lat_ok[lat_n] = (uint8_t)ok;
  }
  lat[lat_n++] = latency;
}

// Parses as many complete responses as `c->in` holds (at most one, since one is in flight).
// Returns 1 when a response completed.
static int parse(struct conn* c) {
  if (c->body_left < 0) {
    char* end = memmem(c->in, c->in_len, "\r\n\r\n", 4);
    if (!end) return 0;
    size_t head = end + 4 - c->in;
    c->failed = c->in_len < 12 || memcmp(c->in, "HTTP/1.", 7) != 0 || c->in[9] != '2';
    if (c->failed) ++errors;
    long length = 0;
    for (char* p = c->in; p < end; ++p) {
      if ((*p == 'c' || *p == 'C') && strncasecmp(p, "content-length:", 15) == 0) {
        length = strtol(p + 15, NULL, 10);
        break;
      }
    }
    memmove(c->in, c->in + head, c->in_len - head);
    c->in_len -= head;
    c->body_left = length;
  }
  if ((long)c->in_len < c->body_left) {
    c->body_left -= c->in_len;
    c->in_len = 0;
    return 0;
  }
  memmove(c->in, c->in + c->body_left, c->in_len - c->body_left);
  c->in_len -= c->body_left;
  c->body_left = -1;
  c->busy = 0;
  return 1;
}

static int cmp_u64(const void* a, const void* b) {
  uint64_t x = *(const uint64_t*)a, y = *(const uint64_t*)b;
  return x < y ? -1 : x > y;
}

static double pct(double p) {
  if (lat_n == 0) return 0;
  size_t i = (size_t)(p * (lat_n - 1));
  return lat[i] / 1000.0;
}

int main(int argc, char** argv) {
  if (argc >= 4 && strcmp(argv[1], "wait") == 0) {
    int port = atoi(argv[2]);
    uint64_t deadline = now_ns() + (uint64_t)(atof(argv[3]) * 1e9);
    do {
      int fd = socket(AF_INET, SOCK_STREAM, 0);
      struct sockaddr_in a = {0};
      a.sin_family = AF_INET;
      a.sin_port = htons(port);
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      int ok = connect(fd, (struct sockaddr*)&a, sizeof(a)) == 0;
      close(fd);
      if (ok) return 0;
      usleep(20000);
    } while (now_ns() < deadline);
    return 1;
  }
  if (argc < 3 || strcmp(argv[1], "load") != 0) {
    fprintf(stderr, "usage: httpbench load PORT --conns C (--secs T|--requests N) [--rate R] "
                    "[--warmup W] [--path P] [--cpu-pid PID] [--timeout S] [--raw FILE]\n"
                    "       httpbench wait PORT SECONDS\n");
    return 2;
  }
  int port = atoi(argv[2]);
  int nconns = 1, cpu_pid = 0;
  double secs = 0, warmup = 0, rate = 0, timeout = 120;
  uint64_t max_requests = 0;
  const char* path = "/";
  for (int i = 3; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--conns")) nconns = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--secs")) secs = atof(argv[i + 1]);
    else if (!strcmp(argv[i], "--requests")) max_requests = strtoull(argv[i + 1], NULL, 10);
    else if (!strcmp(argv[i], "--rate")) rate = atof(argv[i + 1]);
    else if (!strcmp(argv[i], "--warmup")) warmup = atof(argv[i + 1]);
    else if (!strcmp(argv[i], "--path")) path = argv[i + 1];
    else if (!strcmp(argv[i], "--cpu-pid")) cpu_pid = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--timeout")) timeout = atof(argv[i + 1]);
    else if (!strcmp(argv[i], "--raw")) raw_path = argv[i + 1];
    else {
      fprintf(stderr, "unknown option %s\n", argv[i]);
      return 2;
    }
  }
  if (nconns < 1 || nconns > MAX_CONNS) {
    fprintf(stderr, "--conns must be 1..%d\n", MAX_CONNS);
    return 2;
  }
  request_len = snprintf(request, sizeof(request),
                         "GET %s HTTP/1.1\r\nHost: bench\r\nUser-Agent: httpbench\r\n\r\n", path);
  signal(SIGTERM, on_stop);
  signal(SIGINT, on_stop);
  // Wake on the scheduled send time, not up to 50 us after it (the default timer slack), since
  // a late send counts as latency.
  prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
  int ep = epoll_create1(0);
  for (int i = 0; i < nconns; ++i) {
    conns[i].fd = connect_port(port);
    conns[i].body_left = -1;
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = i};
    epoll_ctl(ep, EPOLL_CTL_ADD, conns[i].fd, &ev);
  }
  // Let the connects finish.
  usleep(20000);

  const uint64_t start = now_ns();
  const uint64_t measure_start = start + (uint64_t)(warmup * 1e9);
  const uint64_t measure_end = secs > 0 ? measure_start + (uint64_t)(secs * 1e9) : UINT64_MAX;
  const uint64_t hard_end = start + (uint64_t)((warmup + (secs > 0 ? secs : timeout)) * 1e9);
  double cpu0 = 0;
  uint64_t measured_start_ns = 0;
  if (warmup <= 0) {
    measuring = 1;
    cpu0 = proc_cpu_s(cpu_pid);
    measured_start_ns = start;
  }
  if (rate > 0) {
    sched_interval_ns = (uint64_t)(1e9 * nconns / rate);
    next_sched = calloc(nconns, sizeof(uint64_t));
    for (int i = 0; i < nconns; ++i) {
      // Spread the connections' schedules evenly.
      next_sched[i] = start + sched_interval_ns * i / nconns;
    }
  } else {
    for (int i = 0; i < nconns; ++i) send_request(&conns[i], now_ns());
  }
  uint64_t measured_done = 0;
  struct epoll_event events[256];
  for (;;) {
    uint64_t t = now_ns();
    if (!measuring && t >= measure_start) {
      measuring = 1;
      cpu0 = proc_cpu_s(cpu_pid);
      measured_start_ns = t;
    }
    if (t >= measure_end || t >= hard_end || stop_requested) break;
    if (max_requests && measured_done >= max_requests) break;
    // How long epoll may sleep. Nanoseconds, not milliseconds: at 1,000 requests/s the next send
    // is always under 1 ms away, and a millisecond timeout rounded down to 0 made this loop spin
    // a whole CPU (on a 2-CPU machine, the one the backend or the proxy needed).
    uint64_t wait_ns = 50 * 1000000ull;
    if (rate > 0) {
      // Issue what is due; queue it when the connection is still busy.
      uint64_t earliest = UINT64_MAX;
      for (int i = 0; i < nconns; ++i) {
        while (next_sched[i] <= t) {
          if (conns[i].queued++ == 0) conns[i].queue_head = next_sched[i];
          next_sched[i] += sched_interval_ns;
        }
        if (!conns[i].busy && conns[i].queued > 0) {
          uint64_t scheduled = conns[i].queue_head;
          if (--conns[i].queued > 0) conns[i].queue_head += sched_interval_ns;
          send_request(&conns[i], scheduled);
        }
        if (next_sched[i] < earliest) earliest = next_sched[i];
      }
      t = now_ns();
      wait_ns = earliest > t ? earliest - t : 0;
    }
    const struct timespec wait = {.tv_sec = (time_t)(wait_ns / 1000000000ull),
                                  .tv_nsec = (long)(wait_ns % 1000000000ull)};
    int n = epoll_pwait2(ep, events, 256, &wait, NULL);
    if (n < 0 && errno != EINTR) die("epoll_wait");
    for (int k = 0; k < n; ++k) {
      struct conn* c = &conns[events[k].data.u32];
      for (;;) {
        ssize_t r = read(c->fd, c->in + c->in_len, BUF - c->in_len);
        if (r < 0) {
          if (errno == EAGAIN) break;
          die("read");
        }
        if (r == 0) {
          fprintf(stderr, "httpbench: connection closed by the server\n");
          exit(3);
        }
        c->in_len += r;
        while (c->busy && parse(c)) {
          uint64_t done = now_ns();
          ++completed;
          if (measuring) {
            record(c->sent_at, done - c->sent_at, !c->failed);
            ++measured_done;
          }
          if (rate <= 0) {
            send_request(c, now_ns());
          } else if (c->queued > 0) {
            uint64_t scheduled = c->queue_head;
            if (--c->queued > 0) c->queue_head += sched_interval_ns;
            send_request(c, scheduled);
          }
        }
        if (c->in_len == BUF) {
          fprintf(stderr, "httpbench: response head too large\n");
          exit(3);
        }
      }
    }
  }
  uint64_t end = now_ns();
  double cpu1 = proc_cpu_s(cpu_pid);
  double window = (end - measured_start_ns) / 1e9;
  if (raw_path) {
    FILE* f = fopen(raw_path, "w");
    if (!f) die("--raw");
    for (size_t i = 0; i < lat_n; ++i) {
      fprintf(f, "%llu %llu %d\n", (unsigned long long)lat_at[i], (unsigned long long)lat[i],
              lat_ok[i]);
    }
    fclose(f);
  }
  qsort(lat, lat_n, sizeof(*lat), cmp_u64);
  printf("rps=%.0f completed=%llu errors=%llu secs=%.2f p50_us=%.1f p90_us=%.1f p99_us=%.1f "
         "p999_us=%.1f max_us=%.1f",
         measured_done / window, (unsigned long long)measured_done, (unsigned long long)errors,
         window, pct(0.50), pct(0.90), pct(0.99), pct(0.999), lat_n ? lat[lat_n - 1] / 1000.0 : 0);
  if (cpu_pid > 0) {
    double cpu = cpu1 - cpu0;
    printf(" proxy_cpu_s=%.3f cpu_us_per_req=%.2f", cpu,
           measured_done ? cpu * 1e6 / measured_done : 0);
  }
  printf("\n");
  return errors ? 1 : 0;
}
