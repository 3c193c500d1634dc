#pragma once

// Blocking peers for the server tests, on real sockets: a backend that names itself and echoes,
// and a client with a receive timeout. IPv4 or IPv6 literals (loopback in practice).

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "source/common/common/thread.h"

namespace Skiff::Server {

// `ip`:`port` as a sockaddr; false if `ip` is not a literal.
inline bool toSockaddr(const std::string& ip, uint16_t port, sockaddr_storage& out,
                       socklen_t& len) {
  out = {};
  auto* v4 = reinterpret_cast<sockaddr_in*>(&out);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&out);
  if (inet_pton(AF_INET, ip.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    len = sizeof(sockaddr_in);
    return true;
  }
  if (inet_pton(AF_INET6, ip.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    len = sizeof(sockaddr_in6);
    return true;
  }
  return false;
}

inline uint16_t portOf(const sockaddr_storage& addr) {
  return ntohs(addr.ss_family == AF_INET ? reinterpret_cast<const sockaddr_in&>(addr).sin_port
                                         : reinterpret_cast<const sockaddr_in6&>(addr).sin6_port);
}

// A blocking backend that answers every connection with its name, then echoes. Records the
// address each connection came from (the last one in lastPeer()).
class NamedBackend {
 public:
  explicit NamedBackend(std::string name, const std::string& ip = "127.0.0.1")
      : name_(std::move(name)) {
    sockaddr_storage addr;
    socklen_t len;
    EXPECT_TRUE(toSockaddr(ip, 0, addr, len)) << ip;
    fd_ = ::socket(addr.ss_family, SOCK_STREAM, 0);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), len), 0) << strerror(errno);
    EXPECT_EQ(::listen(fd_, 64), 0);
    len = sizeof(addr);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = portOf(addr);
    thread_ = std::thread([this] { serve(); });
  }
  ~NamedBackend() {
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
    for (auto& t : connections_) {
      t.join();
    }
  }
  uint16_t port() const { return port_; }
  // The peer IP of the connection accepted last ("" before the first). Read after the client has
  // seen the greeting, which is sent after this is recorded.
  std::string lastPeer() {
    Thread::LockGuard lock(mutex_);
    return last_peer_;
  }

 private:
  void serve() {
    while (true) {
      sockaddr_storage peer{};
      socklen_t len = sizeof(peer);
      int c = ::accept(fd_, reinterpret_cast<sockaddr*>(&peer), &len);
      if (c < 0) {
        return;
      }
      char buf[INET6_ADDRSTRLEN] = {};
      if (peer.ss_family == AF_INET) {
        inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in&>(peer).sin_addr, buf, sizeof(buf));
      } else {
        inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6&>(peer).sin6_addr, buf, sizeof(buf));
      }
      {
        Thread::LockGuard lock(mutex_);
        last_peer_ = buf;
      }
      connections_.emplace_back([this, c] {
        std::string hello = name_ + "\n";
        ::send(c, hello.data(), hello.size(), MSG_NOSIGNAL);
        char data[4096];
        ssize_t n;
        while ((n = ::recv(c, data, sizeof(data), 0)) > 0) {
          ::send(c, data, n, MSG_NOSIGNAL);
        }
        ::close(c);
      });
    }
  }

  std::string name_;
  int fd_;
  uint16_t port_;
  Thread::MutexBasicLockable mutex_;
  std::string last_peer_ ABSL_GUARDED_BY(mutex_);
  std::thread thread_;
  std::vector<std::thread> connections_;
};

// A blocking client connection with a receive timeout. `before_connect` gets the client's own
// port once it is bound, before it connects (to tell a fake which connection is which).
class Client {
 public:
  explicit Client(uint16_t port, const std::string& ip = "127.0.0.1",
                  const std::function<void(uint16_t)>& before_connect = nullptr) {
    sockaddr_storage addr;
    socklen_t len;
    EXPECT_TRUE(toSockaddr(ip, port, addr, len)) << ip;
    fd_ = ::socket(addr.ss_family, SOCK_STREAM, 0);
    timeval tv{5, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    if (before_connect) {
      sockaddr_storage local;
      socklen_t local_len;
      toSockaddr(ip, 0, local, local_len);
      ::bind(fd_, reinterpret_cast<sockaddr*>(&local), local_len);
      local_len = sizeof(local);
      getsockname(fd_, reinterpret_cast<sockaddr*>(&local), &local_len);
      before_connect(portOf(local));
    }
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), len) == 0;
  }
  ~Client() { ::close(fd_); }
  bool connected() const { return connected_; }
  // Reads one line (without the newline); empty on EOF, reset or timeout.
  std::string readLine() {
    std::string line;
    char c;
    while (::recv(fd_, &c, 1, 0) == 1) {
      if (c == '\n') {
        return line;
      }
      line.push_back(c);
    }
    return line;
  }
  void send(const std::string& data) { ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL); }
  // True if the peer closed (EOF or reset) within the receive timeout.
  bool closedByPeer() {
    char c;
    return ::recv(fd_, &c, 1, 0) <= 0;
  }

 private:
  int fd_;
  bool connected_{false};
};

}  // namespace Skiff::Server
