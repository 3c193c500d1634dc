// The HTTP client against a real loopback socket (a one-shot server thread that records the
// request and sends a canned response), plus URL and response parsing.

#include "source/skiffctl/http_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace Skiff::Ctl {
namespace {

using namespace std::chrono_literals;

TEST(HttpUrlTest, Parses) {
  auto url = parseHttpUrl("http://127.0.0.1:18001");
  ASSERT_TRUE(url.ok());
  EXPECT_EQ(url->host, "127.0.0.1");
  EXPECT_EQ(url->port, 18001);
  EXPECT_EQ(url->path_prefix, "");
  url = parseHttpUrl("http://[::1]:9/prefix/");
  ASSERT_TRUE(url.ok());
  EXPECT_EQ(url->host, "::1");
  EXPECT_EQ(url->port, 9);
  EXPECT_EQ(url->path_prefix, "/prefix");
  url = parseHttpUrl("localhost");
  ASSERT_TRUE(url.ok());
  EXPECT_EQ(url->port, 80);
  EXPECT_TRUE(absl::StrContains(parseHttpUrl("https://x").status().message(), "port-forward"));
  EXPECT_FALSE(parseHttpUrl("ftp://x").ok());
  EXPECT_FALSE(parseHttpUrl("http://x:0").ok());
  EXPECT_FALSE(parseHttpUrl("http://x:70000").ok());
  EXPECT_FALSE(parseHttpUrl("http://:80").ok());
  EXPECT_FALSE(parseHttpUrl("http://[::1").ok());
}

TEST(HttpUrlTest, Encodes) {
  EXPECT_EQ(urlEncode("a b/c~d_e.f-g&h=i"), "a%20b%2Fc~d_e.f-g%26h%3Di");
}

TEST(HttpResponseTest, ContentLengthChunkedAndUntilClose) {
  auto response = parseHttpResponse(
      "HTTP/1.1 201 Created\r\nContent-Length: 5\r\nX-Thing:  v \r\n\r\nhello+junk");
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status, 201);
  EXPECT_EQ(response->body, "hello");
  EXPECT_EQ(response->headers.at("x-thing"), "v");
  response = parseHttpResponse(
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n6\r\n "
      "world\r\n0\r\n\r\n");
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->body, "hello world");
  response = parseHttpResponse("HTTP/1.0 404 Not Found\r\n\r\nall of it");
  ASSERT_TRUE(response.ok());
  EXPECT_EQ(response->body, "all of it");
  EXPECT_FALSE(parseHttpResponse("HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nshort").ok());
  EXPECT_FALSE(parseHttpResponse("SSH-2.0-OpenSSH\r\n\r\n").ok());
  EXPECT_FALSE(parseHttpResponse("HTTP/1.1 200 OK\r\n").ok());
}

// Accepts one connection, reads the request until the body is complete, answers `reply`.
class OneShotServer {
 public:
  explicit OneShotServer(std::string reply) : reply_(std::move(reply)) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    EXPECT_EQ(listen(fd_, 1), 0);
    socklen_t length = sizeof(addr);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &length);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] {
      const int conn = accept(fd_, nullptr, nullptr);
      char buffer[4096];
      while (true) {
        const size_t end = request_.find("\r\n\r\n");
        if (end != std::string::npos) {
          const size_t at = request_.find("Content-Length: ");
          const size_t length = at == std::string::npos ? 0 : std::stoul(request_.substr(at + 16));
          if (request_.size() >= end + 4 + length) {
            break;
          }
        }
        const ssize_t n = recv(conn, buffer, sizeof(buffer), 0);
        if (n <= 0) {
          break;
        }
        request_.append(buffer, static_cast<size_t>(n));
      }
      send(conn, reply_.data(), reply_.size(), MSG_NOSIGNAL);
      close(conn);
    });
  }
  ~OneShotServer() {
    thread_.join();
    close(fd_);
  }
  uint16_t port() const { return port_; }
  // Valid after the client has its response.
  const std::string& request() const { return request_; }

 private:
  std::string reply_;
  int fd_;
  uint16_t port_ = 0;
  std::string request_;
  std::thread thread_;
};

TEST(HttpRequestTest, SendsRequestAndReadsResponse) {
  OneShotServer server("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
  HttpUrl url{"127.0.0.1", server.port(), "/base"};
  auto response =
      httpRequest(url, "POST", "/apply?group=g", "body!", {{"Authorization", "Bearer t"}}, 5000ms);
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, "ok");
  const std::string& request = server.request();
  EXPECT_TRUE(absl::StartsWith(request, "POST /base/apply?group=g HTTP/1.1\r\n")) << request;
  EXPECT_TRUE(absl::StrContains(request, "\r\nAuthorization: Bearer t\r\n")) << request;
  EXPECT_TRUE(absl::StrContains(request, "\r\nContent-Length: 5\r\n")) << request;
  EXPECT_TRUE(absl::EndsWith(request, "\r\n\r\nbody!")) << request;
}

TEST(HttpRequestTest, RefusedConnectionIsAnError) {
  // A port that was free a moment ago: bind, read the port, close.
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t length = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length);
  close(fd);
  auto response =
      httpRequest(HttpUrl{"127.0.0.1", ntohs(addr.sin_port), ""}, "GET", "/", "", {}, 2000ms);
  ASSERT_FALSE(response.ok());
  EXPECT_TRUE(absl::StrContains(response.status().message(), "cannot connect"))
      << response.status();
}

}  // namespace
}  // namespace Skiff::Ctl
