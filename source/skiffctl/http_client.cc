#include "source/skiffctl/http_client.h"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace Skiff::Ctl {

namespace {

using Clock = std::chrono::steady_clock;

int remainingMs(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return left.count() < 0 ? 0 : static_cast<int>(left.count());
}

// Closes the descriptor when it goes out of scope.
class Socket {
 public:
  explicit Socket(int fd) : fd_(fd) {}
  ~Socket() {
    if (fd_ >= 0) {
      ::close(fd_);
    }
  }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  int fd() const { return fd_; }

 private:
  int fd_;
};

absl::Status waitFor(int fd, short events, Clock::time_point deadline, absl::string_view what) {
  while (true) {
    pollfd p{fd, events, 0};
    const int n = ::poll(&p, 1, remainingMs(deadline));
    if (n > 0) {
      return absl::OkStatus();
    }
    if (n == 0) {
      return absl::DeadlineExceededError(absl::StrCat("timed out ", what));
    }
    if (errno != EINTR) {
      return absl::UnavailableError(absl::StrCat(what, ": ", std::strerror(errno)));
    }
  }
}

// Connects to the first address of host:port that accepts within the deadline.
absl::StatusOr<int> connectTo(const HttpUrl& url, Clock::time_point deadline) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* addresses = nullptr;
  const std::string port = std::to_string(url.port);
  if (const int rc = ::getaddrinfo(url.host.c_str(), port.c_str(), &hints, &addresses); rc != 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot resolve ", url.host, ": ", ::gai_strerror(rc)));
  }
  std::string last_error = "no address";
  int connected = -1;
  for (addrinfo* a = addresses; a != nullptr && connected < 0; a = a->ai_next) {
    const int fd =
        ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) {
      last_error = std::strerror(errno);
      continue;
    }
    if (::connect(fd, a->ai_addr, a->ai_addrlen) != 0 && errno != EINPROGRESS) {
      last_error = std::strerror(errno);
      ::close(fd);
      continue;
    }
    if (auto status = waitFor(fd, POLLOUT, deadline, "connecting"); !status.ok()) {
      last_error = std::string(status.message());
      ::close(fd);
      continue;
    }
    int error = 0;
    socklen_t length = sizeof(error);
    ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length);
    if (error != 0) {
      last_error = std::strerror(error);
      ::close(fd);
      continue;
    }
    connected = fd;
  }
  ::freeaddrinfo(addresses);
  if (connected < 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot connect to ", url.host, ":", url.port, ": ", last_error));
  }
  return connected;
}

absl::StatusOr<std::string> dechunk(absl::string_view body) {
  std::string out;
  while (true) {
    const size_t line_end = body.find("\r\n");
    if (line_end == absl::string_view::npos) {
      return absl::DataLossError("truncated chunked body");
    }
    absl::string_view size_text = body.substr(0, line_end);
    size_text = size_text.substr(0, size_text.find(';'));  // chunk extensions
    uint64_t size = 0;
    if (!absl::SimpleHexAtoi(absl::StripAsciiWhitespace(size_text), &size)) {
      return absl::DataLossError("bad chunk size");
    }
    body.remove_prefix(line_end + 2);
    if (size == 0) {
      return out;
    }
    if (body.size() < size + 2) {
      return absl::DataLossError("truncated chunk");
    }
    out.append(body.data(), size);
    body.remove_prefix(size + 2);
  }
}

}  // namespace

absl::StatusOr<HttpUrl> parseHttpUrl(absl::string_view url) {
  HttpUrl out;
  absl::string_view rest = url;
  if (absl::ConsumePrefix(&rest, "https://")) {
    return absl::InvalidArgumentError(absl::StrCat(
        url,
        ": https is not supported; skiff-control's admin API is plain HTTP on loopback "
        "(reach a remote one with kubectl port-forward)"));
  }
  if (!absl::ConsumePrefix(&rest, "http://")) {
    if (absl::StrContains(rest, "://")) {
      return absl::InvalidArgumentError(absl::StrCat(url, ": only http:// URLs are supported"));
    }
  }
  const size_t slash = rest.find('/');
  absl::string_view authority = rest.substr(0, slash);
  if (slash != absl::string_view::npos) {
    out.path_prefix = std::string(absl::StripSuffix(rest.substr(slash), "/"));
  }
  absl::string_view port_text;
  if (absl::StartsWith(authority, "[")) {
    const size_t close = authority.find(']');
    if (close == absl::string_view::npos) {
      return absl::InvalidArgumentError(absl::StrCat(url, ": unclosed '[' in the host"));
    }
    out.host = std::string(authority.substr(1, close - 1));
    absl::string_view after = authority.substr(close + 1);
    if (absl::ConsumePrefix(&after, ":")) {
      port_text = after;
    } else if (!after.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(url, ": bad host"));
    }
  } else {
    const size_t colon = authority.rfind(':');
    out.host = std::string(authority.substr(0, colon));
    if (colon != absl::string_view::npos) {
      port_text = authority.substr(colon + 1);
    }
  }
  if (out.host.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(url, ": no host"));
  }
  if (!port_text.empty()) {
    uint32_t port = 0;
    if (!absl::SimpleAtoi(port_text, &port) || port == 0 || port > 65535) {
      return absl::InvalidArgumentError(absl::StrCat(url, ": bad port"));
    }
    out.port = static_cast<uint16_t>(port);
  }
  return out;
}

std::string urlEncode(absl::string_view value) {
  std::string out;
  for (const char c : value) {
    if (absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_' ||
        c == '~') {
      out += c;
    } else {
      absl::StrAppendFormat(&out, "%%%02X", static_cast<unsigned char>(c));
    }
  }
  return out;
}

absl::StatusOr<HttpResponse> parseHttpResponse(absl::string_view raw) {
  const size_t header_end = raw.find("\r\n\r\n");
  if (header_end == absl::string_view::npos) {
    return absl::DataLossError("the response ended before its headers did");
  }
  std::vector<absl::string_view> lines = absl::StrSplit(raw.substr(0, header_end), "\r\n");
  HttpResponse response;
  // "HTTP/1.1 200 OK"
  std::vector<absl::string_view> status_line = absl::StrSplit(lines[0], absl::MaxSplits(' ', 2));
  if (status_line.size() < 2 || !absl::StartsWith(status_line[0], "HTTP/1.") ||
      !absl::SimpleAtoi(status_line[1], &response.status)) {
    return absl::DataLossError(
        absl::StrCat("not an HTTP response: \"", lines[0].substr(0, 80), "\""));
  }
  for (size_t i = 1; i < lines.size(); ++i) {
    const size_t colon = lines[i].find(':');
    if (colon == absl::string_view::npos) {
      continue;
    }
    response.headers.emplace(absl::AsciiStrToLower(lines[i].substr(0, colon)),
                             std::string(absl::StripAsciiWhitespace(lines[i].substr(colon + 1))));
  }
  absl::string_view body = raw.substr(header_end + 4);
  const auto encoding = response.headers.find("transfer-encoding");
  const auto length = response.headers.find("content-length");
  if (encoding != response.headers.end() &&
      absl::StrContains(absl::AsciiStrToLower(encoding->second), "chunked")) {
    auto decoded = dechunk(body);
    if (!decoded.ok()) {
      return decoded.status();
    }
    response.body = std::move(*decoded);
  } else if (length != response.headers.end()) {
    size_t size = 0;
    if (!absl::SimpleAtoi(length->second, &size) || body.size() < size) {
      return absl::DataLossError("the response body is shorter than its Content-Length");
    }
    response.body = std::string(body.substr(0, size));
  } else {
    response.body = std::string(body);
  }
  return response;
}

absl::StatusOr<HttpResponse> httpRequest(const HttpUrl& url, absl::string_view method,
                                         absl::string_view target, absl::string_view body,
                                         const std::map<std::string, std::string>& headers,
                                         std::chrono::milliseconds timeout) {
  const Clock::time_point deadline = Clock::now() + timeout;
  auto fd = connectTo(url, deadline);
  if (!fd.ok()) {
    return fd.status();
  }
  Socket socket(*fd);
  const bool v6 = url.host.find(':') != std::string::npos;
  std::string request =
      absl::StrCat(method, " ", url.path_prefix, target,
                   " HTTP/1.1\r\nHost: ", v6 ? absl::StrCat("[", url.host, "]") : url.host, ":",
                   url.port, "\r\nConnection: close\r\nContent-Length: ", body.size(), "\r\n");
  for (const auto& [name, value] : headers) {
    absl::StrAppend(&request, name, ": ", value, "\r\n");
  }
  absl::StrAppend(&request, "\r\n", body);

  size_t sent = 0;
  while (sent < request.size()) {
    const ssize_t n =
        ::send(socket.fd(), request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (auto status = waitFor(socket.fd(), POLLOUT, deadline, "sending the request");
          !status.ok()) {
        return status;
      }
      continue;
    }
    // The server may answer (e.g. 413) and close before reading everything: read what it said.
    break;
  }

  std::string raw;
  char buffer[16384];
  while (true) {
    const ssize_t n = ::recv(socket.fd(), buffer, sizeof(buffer), 0);
    if (n > 0) {
      raw.append(buffer, static_cast<size_t>(n));
      continue;
    }
    if (n == 0) {
      break;
    }
    if (errno == EINTR) {
      continue;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      if (auto status = waitFor(socket.fd(), POLLIN, deadline, "waiting for the response");
          !status.ok()) {
        return status;
      }
      continue;
    }
    if (errno == ECONNRESET && !raw.empty()) {
      break;
    }
    return absl::UnavailableError(absl::StrCat("reading the response: ", std::strerror(errno)));
  }
  if (raw.empty()) {
    return absl::UnavailableError("the server closed the connection without answering");
  }
  return parseHttpResponse(raw);
}

}  // namespace Skiff::Ctl
