// libFuzzer target: the admin server's request handling, end to end. The input's bytes go over a
// real loopback TCP connection into a real skiff server (Server::InstanceImpl, initialized from a
// bootstrap with a listener, clusters and an overload manager, its main loop driven here), so
// they pass through evhttp's parsing and routing into skiff's own handlers (/stats in every
// format and filter, /config_dump, /listeners, /clusters, /server_info, /ready, /logging,
// /quitquitquit, 404s and 405s).
//
// Besides "no crash, no leak, no sanitizer report", it checks:
//   - every connection ends: answered and closed once the client half-closes, never left hanging;
//   - whatever comes back is an HTTP/1.0 or HTTP/1.1 response (see below for evhttp's own);
//   - state changes only through POST: an input without a POST request line leaves the log level
//     as it was.

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/strings/match.h"
#include "source/common/common/logger.h"
#include "source/common/config/bootstrap.h"
#include "source/server/server.h"

namespace Skiff {
namespace {

constexpr char kBootstrap[] = R"(
node: {id: fuzz.default, cluster: fuzz, metadata: {team: "a\"b"}}
admin: {address: {socket_address: {address: 127.0.0.1, port_value: 0}}}
overload_manager:
  refresh_interval: 3600s
  resource_monitors:
  - name: envoy.resource_monitors.fixed_heap
    typed_config:
      "@type": type.googleapis.com/envoy.extensions.resource_monitors.fixed_heap.v3.FixedHeapConfig
      max_heap_size_bytes: 1073741824
  actions:
  - name: envoy.overload_actions.stop_accepting_requests
    triggers: [{name: envoy.resource_monitors.fixed_heap, threshold: {value: 0.99}}]
layered_runtime:
  layers: [{name: static, static_layer: {envoy.resource_limits.listener.ingress.connection_limit: 5}}]
static_resources:
  listeners:
  - name: ingress
    address: {socket_address: {address: 127.0.0.1, port_value: 0}}
    filter_chains:
    - filters:
      - name: envoy.filters.network.tcp_proxy
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy
          stat_prefix: ingress
          weighted_clusters: {clusters: [{name: backend, weight: 1}, {name: "odd \"name\"", weight: 2}]}
  clusters:
  - name: backend
    connect_timeout: 1s
    load_assignment:
      cluster_name: backend
      endpoints: [{lb_endpoints: [{endpoint: {address: {socket_address: {address: 127.0.0.1, port_value: 1}}}}]}]
  - name: "odd \"name\""
    lb_policy: RANDOM
    load_assignment:
      cluster_name: "odd \"name\""
      endpoints: [{lb_endpoints: [{endpoint: {address: {socket_address: {address: "::1", port_value: 2}}}, load_balancing_weight: 7}]}]
)";

[[noreturn]] void fail(const char* what) {
  fprintf(stderr, "admin_fuzz: %s\n", what);
  abort();
}

Server::InstanceImpl& server() {
  static Server::InstanceImpl* instance = [] {
    Logger::setLevel(Logger::Level::off);
    auto bootstrap = Config::loadBootstrapFromString(kBootstrap);
    if (!bootstrap.ok()) {
      fprintf(stderr, "%s\n", std::string(bootstrap.status().message()).c_str());
      fail("bad built-in bootstrap");
    }
    Server::Options options;
    options.concurrency = 1;
    options.log_level = Logger::Level::off;
    options.argv = {"skiff", "--fuzz"};
    // Never destroyed: the fuzzer runs until the process exits.
    auto* created = new Server::InstanceImpl(options, *bootstrap);
    if (!created->initialize().ok() || created->adminForTest() == nullptr) {
      fail("server did not initialize");
    }
    return created;
  }();
  return *instance;
}

int connectToAdmin(uint16_t port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    fail("socket() failed");
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  // Loopback: the kernel completes the handshake in connect() (the listen queue takes it).
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    fail("connect() to the admin port failed");
  }
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  return fd;
}

}  // namespace
}  // namespace Skiff

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace Skiff;
  Server::InstanceImpl& instance = server();
  Event::DispatcherImpl& dispatcher = instance.dispatcherForTest();
  const std::string input(reinterpret_cast<const char*>(data), size);
  const Logger::Level level_before = Logger::level();

  const int fd = connectToAdmin(instance.adminForTest()->port());
  size_t sent = 0;
  bool write_closed = false;
  std::string response;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (true) {
    if (sent < input.size()) {
      const ssize_t n = send(fd, input.data() + sent, input.size() - sent, MSG_NOSIGNAL);
      if (n > 0) {
        sent += static_cast<size_t>(n);
      } else if (n < 0 && errno != EAGAIN) {
        sent = input.size();  // The server closed on us (a 400 before the rest): fine.
      }
    }
    if (sent == input.size() && !write_closed) {
      shutdown(fd, SHUT_WR);
      write_closed = true;
    }
    dispatcher.run(Event::Dispatcher::RunType::NonBlock);
    char buffer[16384];
    const ssize_t n = recv(fd, buffer, sizeof(buffer), 0);
    if (n > 0) {
      response.append(buffer, static_cast<size_t>(n));
      continue;
    }
    if (n == 0 || (n < 0 && errno != EAGAIN)) {
      break;  // Closed (FIN or reset).
    }
    if (std::chrono::steady_clock::now() > deadline) {
      fail("the admin connection was neither answered nor closed within 5 s of the half-close");
    }
  }
  close(fd);

  // "HTTP/1.1 200 ...". A request skiff's handlers saw is answered as 1.0 or 1.1; evhttp's own
  // replies to requests it refuses before that (400 malformed, 413 too large, 501 unknown method)
  // repeat the client's version: libevent 2.1 has no hook for them.
  if (!response.empty()) {
    const bool http1 =
        absl::StartsWith(response, "HTTP/1.1 ") || absl::StartsWith(response, "HTTP/1.0 ");
    const size_t space = response.find(' ');
    const std::string code = space == std::string::npos ? "" : response.substr(space + 1, 3);
    if (!absl::StartsWith(response, "HTTP/") ||
        (!http1 && code != "400" && code != "413" && code != "501")) {
      fail("the answer is not an HTTP/1.0 or HTTP/1.1 response");
    }
  }
  if (Logger::level() != level_before) {
    if (!absl::StrContains(input, "POST")) {
      fail("the log level changed without a POST");
    }
    Logger::setLevel(level_before);
  }
  return 0;
}
