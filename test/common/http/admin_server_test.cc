#include "source/common/http/admin_server.h"

#include <arpa/inet.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "source/common/http/stats_handlers.h"
#include "source/common/stats/stats_impl.h"

namespace Skiff::Http::Admin {
namespace {

struct HttpReply {
  int code = 0;
  std::string headers;  // raw header block, lower-cased
  std::string body;
};

// A blocking HTTP client: sends `raw` as-is, reads until the server closes, parses the status.
HttpReply rawRequest(uint16_t port, const std::string& raw) {
  HttpReply reply;
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  EXPECT_GE(fd, 0);
  timeval timeout{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ADD_FAILURE() << "connect failed";
    close(fd);
    return reply;
  }
  size_t sent = 0;
  while (sent < raw.size()) {
    const ssize_t n = send(fd, raw.data() + sent, raw.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) {
      break;  // the server may reject and close before reading everything
    }
    sent += static_cast<size_t>(n);
  }
  std::string response;
  char buffer[4096];
  while (true) {
    const ssize_t n = recv(fd, buffer, sizeof(buffer), 0);
    if (n <= 0) {
      break;
    }
    response.append(buffer, static_cast<size_t>(n));
  }
  close(fd);
  // "HTTP/1.1 200 OK\r\n...\r\n\r\nbody"
  const size_t header_end = response.find("\r\n\r\n");
  if (response.size() < 12 || header_end == std::string::npos ||
      !absl::SimpleAtoi(response.substr(9, 3), &reply.code)) {
    ADD_FAILURE() << "unparseable response: " << response;
    return reply;
  }
  reply.headers = absl::AsciiStrToLower(response.substr(0, header_end));
  reply.body = response.substr(header_end + 4);
  return reply;
}

HttpReply get(uint16_t port, const std::string& target) {
  return rawRequest(
      port, absl::StrCat("GET ", target, " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
}

HttpReply post(uint16_t port, const std::string& target, const std::string& body = "") {
  return rawRequest(port, absl::StrCat("POST ", target,
                                       " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                                       "Content-Length: ",
                                       body.size(), "\r\n\r\n", body));
}

// Runs a libevent loop on its own thread, as skiff's main dispatcher does, with an AdminServer
// bound to an ephemeral loopback port. Handlers are registered before the loop starts.
class AdminServerTest : public testing::Test {
 protected:
  AdminServerTest() {
    static const int threads_ready = evthread_use_pthreads();
    EXPECT_EQ(threads_ready, 0);
    base_ = event_base_new();
    admin_ = std::make_unique<AdminServer>(
        *base_, AdminServerOptions{.max_headers_bytes = 4096, .max_body_bytes = 1024});
  }

  ~AdminServerTest() override {
    if (loop_.joinable()) {
      event_base_loopbreak(base_);
      loop_.join();
    }
    admin_.reset();
    event_base_free(base_);
  }

  void start() {
    ASSERT_TRUE(admin_->bind().ok());
    ASSERT_NE(admin_->port(), 0);
    loop_ = std::thread([this] { event_base_loop(base_, EVLOOP_NO_EXIT_ON_EMPTY); });
  }

  event_base* base_;
  std::unique_ptr<AdminServer> admin_;
  std::thread loop_;
};

TEST_F(AdminServerTest, HelpListsEndpoints) {
  admin_->addHandler("/quitquitquit", "exit the server", Method::Post, [](const Request&) {
    return Response{200, "text/plain", "OK\n"};
  });
  start();
  for (const char* path : {"/", "/help"}) {
    HttpReply reply = get(admin_->port(), path);
    EXPECT_EQ(reply.code, 200);
    EXPECT_EQ(reply.body,
              "admin commands are:\n"
              "  /: this list of admin endpoints\n"
              "  /help: this list of admin endpoints\n"
              "  /quitquitquit (POST): exit the server\n");
    EXPECT_TRUE(absl::StrContains(reply.headers, "content-type: text/plain; charset=utf-8"));
    EXPECT_TRUE(absl::StrContains(reply.headers, "cache-control: no-cache"));
  }
}

TEST_F(AdminServerTest, UnknownPathIs404WithEndpointList) {
  start();
  HttpReply reply = get(admin_->port(), "/nope?x=1");
  EXPECT_EQ(reply.code, 404);
  EXPECT_TRUE(absl::StartsWith(reply.body, "unknown admin endpoint: /nope\nadmin commands are:\n"))
      << reply.body;
  EXPECT_TRUE(absl::StrContains(reply.body, "  /help: "));
}

TEST_F(AdminServerTest, PostHandlerRejectsGet) {
  int calls = 0;
  admin_->addHandler("/quitquitquit", "exit the server", Method::Post, [&calls](const Request& r) {
    ++calls;
    return Response{200, "text/plain", absl::StrCat("bye ", r.body, "\n")};
  });
  start();
  HttpReply reply = get(admin_->port(), "/quitquitquit");
  EXPECT_EQ(reply.code, 405);
  EXPECT_EQ(reply.body,
            "/quitquitquit changes server state and requires POST (method not allowed)\n");
  EXPECT_TRUE(absl::StrContains(reply.headers, "allow: post"));
  EXPECT_EQ(calls, 0);

  reply = post(admin_->port(), "/quitquitquit", "now");
  EXPECT_EQ(reply.code, 200);
  EXPECT_EQ(reply.body, "bye now\n");
  EXPECT_EQ(calls, 1);
}

TEST_F(AdminServerTest, GetHandlerAcceptsPostAndOtherMethodsAre405) {
  admin_->addHandler("/ready", "readiness", Method::Get, [](const Request&) {
    return Response{200, "text/plain", "LIVE\n"};
  });
  start();
  EXPECT_EQ(post(admin_->port(), "/ready").code, 200);
  HttpReply reply = rawRequest(admin_->port(),
                               "PUT /ready HTTP/1.1\r\nHost: x\r\n"
                               "Connection: close\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(reply.code, 405);
  EXPECT_TRUE(absl::StrContains(reply.headers, "allow: get, post"));
}

TEST_F(AdminServerTest, DeleteHandlerAcceptsOnlyDelete) {
  std::string seen;
  admin_->addHandler("/resources", "remove things", Method::Delete, [&seen](const Request& r) {
    seen = r.body;
    return Response{200, "text/plain", "removed\n"};
  });
  admin_->addHandler("/ready", "readiness", Method::Get, [](const Request&) {
    return Response{200, "text/plain", "LIVE\n"};
  });
  start();
  for (const char* method : {"GET", "POST"}) {
    HttpReply reply =
        rawRequest(admin_->port(), absl::StrCat(method,
                                                " /resources HTTP/1.1\r\nHost: x\r\n"
                                                "Connection: close\r\nContent-Length: 0\r\n\r\n"));
    EXPECT_EQ(reply.code, 405) << method;
    EXPECT_TRUE(absl::StrContains(reply.headers, "allow: delete")) << reply.headers;
    EXPECT_EQ(reply.body,
              "/resources changes server state and requires DELETE (method not "
              "allowed)\n");
  }
  HttpReply reply = rawRequest(admin_->port(),
                               "DELETE /resources?x=1 HTTP/1.1\r\nHost: x\r\n"
                               "Connection: close\r\nContent-Length: 4\r\n\r\nbody");
  EXPECT_EQ(reply.code, 200);
  EXPECT_EQ(seen, "body");
  // A read-only endpoint does not take DELETE.
  reply =
      rawRequest(admin_->port(), "DELETE /ready HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(reply.code, 405);
  EXPECT_EQ(get(admin_->port(), "/help").body,
            "admin commands are:\n"
            "  /: this list of admin endpoints\n"
            "  /help: this list of admin endpoints\n"
            "  /ready: readiness\n"
            "  /resources (DELETE): remove things\n");
}

TEST_F(AdminServerTest, RequestFilterSeesHeadersAndCanAnswer) {
  admin_->addHandler("/secret", "secret", Method::Get, [](const Request&) {
    return Response{200, "text/plain", "the secret\n"};
  });
  std::string last_authorization;
  admin_->setRequestFilter([&](const Request& r) -> std::optional<Response> {
    auto it = r.headers.find("authorization");
    last_authorization = it == r.headers.end() ? "" : it->second;
    if (last_authorization != "Bearer ok") {
      return Response{401, "text/plain", "no\n"};
    }
    return std::nullopt;
  });
  start();
  HttpReply reply = get(admin_->port(), "/secret");
  EXPECT_EQ(reply.code, 401);
  EXPECT_EQ(reply.body, "no\n");
  // Unknown paths and the endpoint list are behind the filter too.
  EXPECT_EQ(get(admin_->port(), "/nope").code, 401);
  EXPECT_EQ(get(admin_->port(), "/help").code, 401);
  reply = rawRequest(admin_->port(),
                     "GET /secret HTTP/1.1\r\nHost: x\r\nAUTHORIZATION: Bearer ok\r\n"
                     "Connection: close\r\n\r\n");
  EXPECT_EQ(reply.code, 200);
  EXPECT_EQ(reply.body, "the secret\n");
  EXPECT_EQ(last_authorization, "Bearer ok");
}

TEST_F(AdminServerTest, QueryAndPathAreDecoded) {
  admin_->addHandler("/echo one", "echo", Method::Get, [](const Request& r) {
    std::string body = r.path + "\n";
    for (const auto& [key, value] : r.query) {
      absl::StrAppend(&body, key, "=", value, "\n");
    }
    return Response{201, "text/x-echo", body};
  });
  start();
  HttpReply reply = get(admin_->port(), "/echo%20one?filter=%5Ecluster%5C.&usedonly&a=b+c&a=dup");
  EXPECT_EQ(reply.code, 201);
  EXPECT_TRUE(absl::StrContains(reply.headers, "content-type: text/x-echo"));
  EXPECT_EQ(reply.body, "/echo one\na=b c\nfilter=^cluster\\.\nusedonly=\n");
}

// Out of descriptors, accept() fails while a connection waits. libevent's own handling would log
// and retry at once, forever (a busy main thread); the server pauses with a back-off instead and
// serves the waiting connection once descriptors are free again.
TEST_F(AdminServerTest, AcceptOutOfDescriptorsBacksOffAndRecovers) {
  admin_->addHandler("/ready", "readiness", Method::Get, [](const Request&) {
    return Response{200, "text/plain", "LIVE\n"};
  });
  start();
  rlimit saved;
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &saved), 0);
  // Room for what is open now plus a few; then fill all of it but the client's socket.
  const int highest = dup(0);
  ASSERT_GE(highest, 0);
  close(highest);
  rlimit low = saved;
  low.rlim_cur = highest + 8;
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &low), 0);
  const int client = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(client, 0);
  std::vector<int> filler;
  for (int fd; (fd = dup(0)) >= 0;) {
    filler.push_back(fd);
  }
  ASSERT_EQ(errno, EMFILE);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(admin_->port());
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(connect(client, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  const std::string request = "GET /ready HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  ASSERT_EQ(send(client, request.data(), request.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(request.size()));
  for (int i = 0; i < 500 && admin_->acceptResourceFailures() == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_GT(admin_->acceptResourceFailures(), 0u);
  // A second of shortage costs a handful of retries (10 ms doubling), not a spin.
  std::this_thread::sleep_for(std::chrono::seconds(1));
  EXPECT_LT(admin_->acceptResourceFailures(), 20u);

  for (int fd : filler) {
    close(fd);
  }
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &saved), 0);
  timeval timeout{5, 0};
  setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  std::string response;
  char buffer[1024];
  for (ssize_t n; (n = recv(client, buffer, sizeof(buffer), 0)) > 0;) {
    response.append(buffer, static_cast<size_t>(n));
  }
  close(client);
  EXPECT_TRUE(absl::StartsWith(response, "HTTP/1.1 200")) << response;
  EXPECT_TRUE(absl::EndsWith(response, "LIVE\n")) << response;
}

// evhttp used to answer in whatever version the client named ("HTTP/0.1 200 OK", "HTTP/1.9 200
// OK"); found by the admin fuzzer. Only 1.0 and 1.1 are served.
TEST_F(AdminServerTest, OtherHttpVersionsAre505InAnHttp11StatusLine) {
  admin_->addHandler("/ready", "readiness", Method::Get, [](const Request&) {
    return Response{200, "text/plain", "LIVE\n"};
  });
  start();
  for (const char* version : {"HTTP/0.1", "HTTP/1.9", "HTTP/3.0"}) {
    SCOPED_TRACE(version);
    std::string raw = absl::StrCat("GET /ready ", version, "\r\nHost: x\r\n\r\n");
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(admin_->port());
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    timeval timeout{5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    send(fd, raw.data(), raw.size(), MSG_NOSIGNAL);
    std::string response;
    char buffer[1024];
    for (ssize_t n; (n = recv(fd, buffer, sizeof(buffer), 0)) > 0;) {
      response.append(buffer, static_cast<size_t>(n));
    }
    close(fd);
    // Rejected outright (400) or answered 505, but never in the client's version.
    EXPECT_TRUE(absl::StartsWith(response, "HTTP/1.1 505") ||
                absl::StartsWith(response, "HTTP/1.1 400"))
        << response;
  }
  EXPECT_EQ(get(admin_->port(), "/ready").code, 200);
  EXPECT_EQ(rawRequest(admin_->port(), "GET /ready HTTP/1.0\r\n\r\n").code, 200);
}

TEST_F(AdminServerTest, GarbageIs400) {
  start();
  EXPECT_EQ(rawRequest(admin_->port(), "GARBAGE\r\n\r\n").code, 400);
  EXPECT_EQ(rawRequest(admin_->port(), "GET / HTTP/9.9\r\n\r\n").code, 400);
  EXPECT_EQ(rawRequest(admin_->port(), "GET / NOTHTTP\r\n\r\n").code, 400);
  // The server is still fine afterwards.
  EXPECT_EQ(get(admin_->port(), "/help").code, 200);
}

TEST_F(AdminServerTest, OversizedRequestsAreRejected) {
  start();
  HttpReply reply =
      rawRequest(admin_->port(),
                 absl::StrCat("GET /help HTTP/1.1\r\nHost: x\r\nX-Big: ", std::string(8000, 'a'),
                              "\r\nConnection: close\r\n\r\n"));
  EXPECT_TRUE(reply.code == 400 || reply.code == 413) << reply.code;
  reply = post(admin_->port(), "/help", std::string(4000, 'b'));
  EXPECT_EQ(reply.code, 413);
  EXPECT_EQ(get(admin_->port(), "/help").code, 200);
}

// No loop thread here: both servers are used only from this thread, as the contract requires.
TEST_F(AdminServerTest, BindErrors) {
  ASSERT_TRUE(admin_->bind().ok());
  EXPECT_EQ(admin_->bind().code(), absl::StatusCode::kFailedPrecondition);
  AdminServer other(*base_);
  absl::Status status = other.bind("127.0.0.1", admin_->port());
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
  EXPECT_TRUE(absl::StrContains(status.message(), "in use")) << status;
  AdminServer bad(*base_);
  status = bad.bind("not-an-address!", 0);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(status.message(), "not-an-address!")) << status;
  AdminServer v6(*base_);
  status = v6.bind("::1", 0);
  // IPv6 may be disabled in a container; when it works, the port is reported.
  if (status.ok()) {
    EXPECT_NE(v6.port(), 0);
  } else {
    EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
  }
}

TEST_F(AdminServerTest, StatsEndpoints) {
  Stats::StoreImpl store;
  store.counter("cluster.backend.upstream_cx_total").add(3);
  store.counter("cluster.backend.upstream_rq_total");
  store.gauge("server.live").set(1);
  registerStatsHandlers(*admin_, store);
  start();
  const uint16_t port = admin_->port();

  HttpReply reply = get(port, "/stats");
  EXPECT_EQ(reply.code, 200);
  EXPECT_EQ(reply.body,
            "cluster.backend.upstream_cx_total: 3\n"
            "cluster.backend.upstream_rq_total: 0\n"
            "server.live: 1\n");

  reply = get(port, "/stats?usedonly&filter=cluster");
  EXPECT_EQ(reply.body, "cluster.backend.upstream_cx_total: 3\n");

  reply = get(port, "/stats?format=json&filter=%5Eserver");
  EXPECT_EQ(reply.code, 200);
  EXPECT_TRUE(absl::StrContains(reply.headers, "content-type: application/json"));
  EXPECT_EQ(reply.body, "{\"stats\":[{\"name\":\"server.live\",\"value\":1}]}");

  const std::string prometheus =
      "# TYPE envoy_cluster_upstream_cx_total counter\n"
      "envoy_cluster_upstream_cx_total{envoy_cluster_name=\"backend\"} 3\n"
      "# TYPE envoy_server_live gauge\n"
      "envoy_server_live 1\n";
  for (const char* target : {"/stats/prometheus?usedonly", "/stats?format=prometheus&usedonly"}) {
    reply = get(port, target);
    EXPECT_EQ(reply.code, 200);
    EXPECT_TRUE(absl::StrContains(reply.headers, "content-type: text/plain; version=0.0.4"));
    EXPECT_EQ(reply.body, prometheus);
  }

  reply = get(port, "/stats?filter=(");
  EXPECT_EQ(reply.code, 400);
  EXPECT_TRUE(absl::StartsWith(reply.body, "invalid filter regex '('")) << reply.body;
  reply = get(port, "/stats?format=xml");
  EXPECT_EQ(reply.code, 400);
  EXPECT_EQ(reply.body, "unknown stats format 'xml'; use text, json or prometheus\n");
}

TEST(AdminRoutingTest, HandleWithoutSockets) {
  event_base* base = event_base_new();
  {
    AdminServer admin(*base);
    admin.addHandler("/x", "x", Method::Post, [](const Request&) { return Response{}; });
    EXPECT_EQ(admin.handle(Request{Method::Get, "/x", {}, ""}).code, 405);
    EXPECT_EQ(admin.handle(Request{Method::Post, "/x", {}, ""}).code, 200);
    EXPECT_EQ(admin.handle(Request{Method::Get, "/y", {}, ""}).code, 404);
  }
  event_base_free(base);
}

TEST(AdminRoutingTest, ParseQueryString) {
  QueryParams params = parseQueryString("a=1&b&&c=%2F+x&a=2&=skipped&d=x=y");
  EXPECT_EQ(params, (QueryParams{{"a", "1"}, {"b", ""}, {"c", "/ x"}, {"d", "x=y"}}));
  EXPECT_TRUE(parseQueryString("").empty());
}

}  // namespace
}  // namespace Skiff::Http::Admin
