// The admin server deletes a connection's events before it closes the connection's socket.
//
// A descriptor closed while an event on it is still registered gets an epoll_ctl() after the
// close: on a number that another thread may already have been handed by accept4() (a TSan
// report in the xDS integration test: main's admin connections, a worker's proxy connections).
// Whether another thread won that race is down to timing; the epoll_ctl() on a closed
// descriptor is not, and fails with EBADF when the number is still free. This binary wraps
// epoll_ctl() (its definition takes precedence over libc's, and over a sanitizer's interceptor,
// which it then calls) to count those calls. A binary of its own, so no other test runs with it.

#include <arpa/inet.h>
#include <dlfcn.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <memory>
#include <string>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "source/common/http/admin_server.h"

namespace {

std::atomic<int> g_epoll_ctl_calls{0};
std::atomic<int> g_epoll_ctl_on_closed_fd{0};

}  // namespace

extern "C" int epoll_ctl(int epfd, int op, int fd, struct epoll_event* event) {
  using EpollCtl = int (*)(int, int, int, struct epoll_event*);
  static const auto real = reinterpret_cast<EpollCtl>(dlsym(RTLD_NEXT, "epoll_ctl"));
  const int rc = real(epfd, op, fd, event);
  if (rc != 0 && errno == EBADF) {
    const int saved = errno;
    ++g_epoll_ctl_on_closed_fd;
    errno = saved;
  }
  ++g_epoll_ctl_calls;
  return rc;
}

namespace Skiff::Http::Admin {
namespace {

// Sends `raw` and reads until the server closes; returns what was read.
std::string exchange(uint16_t port, const std::string& raw, bool close_first = false) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  EXPECT_GE(fd, 0);
  timeval timeout{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string response;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ADD_FAILURE() << "connect failed";
    close(fd);
    return response;
  }
  EXPECT_EQ(send(fd, raw.data(), raw.size(), MSG_NOSIGNAL), static_cast<ssize_t>(raw.size()));
  char buffer[4096];
  while (true) {
    const ssize_t n = recv(fd, buffer, sizeof(buffer), 0);
    if (n <= 0) {
      break;
    }
    response.append(buffer, static_cast<size_t>(n));
    if (close_first && absl::StrContains(response, "LIVE\n")) {
      break;  // keep-alive: the client closes first
    }
  }
  close(fd);
  return response;
}

TEST(AdminServerFdOrderTest, ConnectionsAreClosedAfterTheirEventsAreDeleted) {
  static const int threads_ready = evthread_use_pthreads();
  ASSERT_EQ(threads_ready, 0);
  event_base* base = event_base_new();
  ASSERT_NE(base, nullptr);
  ASSERT_STREQ(event_base_get_method(base), "epoll");
  auto admin = std::make_unique<AdminServer>(*base);
  admin->addHandler("/ready", "readiness", Method::Get, [](const Request&) {
    return Response{200, "text/plain", "LIVE\n"};
  });
  ASSERT_TRUE(admin->bind().ok());
  std::thread loop([base] { event_base_loop(base, EVLOOP_NO_EXIT_ON_EMPTY); });

  const int calls_before = g_epoll_ctl_calls.load();
  // Each way an admin connection ends: the server closes after the reply (the client asked for
  // it, or spoke HTTP/1.0), the client closes a kept-alive connection, the server refuses the
  // request line.
  for (int i = 0; i < 5; ++i) {
    EXPECT_TRUE(absl::StrContains(
        exchange(admin->port(), "GET /ready HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
        "LIVE\n"));
    EXPECT_TRUE(
        absl::StrContains(exchange(admin->port(), "GET /ready HTTP/1.0\r\n\r\n"), "LIVE\n"));
    EXPECT_TRUE(absl::StrContains(
        exchange(admin->port(), "GET /ready HTTP/1.1\r\nHost: x\r\n\r\n", /*close_first=*/true),
        "LIVE\n"));
    EXPECT_TRUE(absl::StrContains(exchange(admin->port(), "GET /ready HTTP/1.9\r\nHost: x\r\n\r\n"),
                                  "505"));
    EXPECT_TRUE(absl::StrContains(exchange(admin->port(), "garbage\r\n\r\n"), "400"));
  }

  event_base_loopbreak(base);
  loop.join();
  admin.reset();
  event_base_free(base);
  // The wrapper did see the admin connections' registrations.
  EXPECT_GT(g_epoll_ctl_calls.load() - calls_before, 25);
  EXPECT_EQ(g_epoll_ctl_on_closed_fd.load(), 0);
}

}  // namespace
}  // namespace Skiff::Http::Admin
