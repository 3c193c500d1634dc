#include "source/common/network/io_handle.h"

#include <fcntl.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace Skiff::Network {
namespace {

// From <linux/netfilter_ipv4.h> and <linux/netfilter_ipv6/ip6_tables.h>, which do not mix well
// with the libc headers; both are 80.
constexpr int kSoOriginalDst = 80;
constexpr int kIp6tSoOriginalDst = 80;

}  // namespace

IoHandle::~IoHandle() { close(); }

void IoHandle::close() {
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

absl::StatusOr<IoHandlePtr> createListenSocket(const Address::Instance& address, bool reuse_port,
                                               int backlog) {
  int fd = ::socket(address.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return absl::InternalError(absl::StrCat("socket(): ", strerror(errno)));
  }
  auto handle = std::make_unique<IoHandle>(fd);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (reuse_port && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0) {
    return absl::InternalError(absl::StrCat("SO_REUSEPORT: ", strerror(errno)));
  }
  if (address.version() == Address::IpVersion::v6) {
    // "::" listens on IPv6 only, as Envoy does unless ipv4_compat is set.
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
  }
  if (::bind(fd, address.sockAddr(), address.sockAddrLen()) != 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot bind ", address.asString(), ": ", strerror(errno)));
  }
  if (::listen(fd, backlog) != 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", address.asString(), ": ", strerror(errno)));
  }
  return handle;
}

absl::StatusOr<IoHandlePtr> createClientSocket(const Address::Instance& address) {
  int fd = ::socket(address.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return absl::ResourceExhaustedError(absl::StrCat("socket(): ", strerror(errno)));
  }
  return std::make_unique<IoHandle>(fd);
}

Address::InstanceConstSharedPtr localAddress(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) {
    return nullptr;
  }
  return Address::Instance::fromSockaddr(ss);
}

Address::InstanceConstSharedPtr peerAddress(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) {
    return nullptr;
  }
  return Address::Instance::fromSockaddr(ss);
}

Address::InstanceConstSharedPtr originalDestination(int fd) {
  sockaddr_storage local{};
  socklen_t len = sizeof(local);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len) != 0) {
    return nullptr;
  }
  sockaddr_storage original{};
  len = sizeof(original);
  int rc;
  if (local.ss_family == AF_INET) {
    rc = getsockopt(fd, SOL_IP, kSoOriginalDst, &original, &len);
  } else if (local.ss_family == AF_INET6) {
    rc = getsockopt(fd, SOL_IPV6, kIp6tSoOriginalDst, &original, &len);
  } else {
    return nullptr;
  }
  if (rc != 0 || (original.ss_family != AF_INET && original.ss_family != AF_INET6)) {
    return nullptr;
  }
  return Address::Instance::fromSockaddr(original);
}

}  // namespace Skiff::Network
