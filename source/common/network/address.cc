#include "source/common/network/address.h"

#include <arpa/inet.h>

#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace Skiff::Network::Address {

absl::StatusOr<InstanceConstSharedPtr> Instance::parse(absl::string_view ip, uint32_t port) {
  if (port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat(port, " is not a valid port (0-65535)"));
  }
  if (ip.size() >= 2 && ip.front() == '[' && ip.back() == ']') {
    ip = ip.substr(1, ip.size() - 2);
  }
  std::string text(ip);
  sockaddr_storage storage{};
  auto* v4 = reinterpret_cast<sockaddr_in*>(&storage);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&storage);
  if (inet_pton(AF_INET, text.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
  } else if (inet_pton(AF_INET6, text.c_str(), &v6->sin6_addr) == 1) {
    storage = {};
    inet_pton(AF_INET6, text.c_str(), &v6->sin6_addr);
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("'", ip, "' is not an IPv4 or IPv6 address literal"));
  }
  return InstanceConstSharedPtr(new Instance(storage));
}

absl::StatusOr<InstanceConstSharedPtr> Instance::parseWithPort(absl::string_view text) {
  size_t colon = text.rfind(':');
  if (colon == absl::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrCat("'", text, "' has no ':port'"));
  }
  absl::string_view host = text.substr(0, colon);
  if (host.find(':') != absl::string_view::npos && host.front() != '[') {
    return absl::InvalidArgumentError(
        absl::StrCat("'", text, "': an IPv6 address with a port is written [addr]:port"));
  }
  uint32_t port;
  if (!absl::SimpleAtoi(text.substr(colon + 1), &port)) {
    return absl::InvalidArgumentError(absl::StrCat("'", text, "' has an invalid port"));
  }
  return parse(host, port);
}

InstanceConstSharedPtr Instance::fromSockaddr(const sockaddr_storage& addr) {
  return InstanceConstSharedPtr(new Instance(addr));
}

Instance::Instance(const sockaddr_storage& addr) : storage_(addr) {
  char buf[INET6_ADDRSTRLEN];
  if (addr.ss_family == AF_INET) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(&addr);
    version_ = IpVersion::v4;
    port_ = ntohs(v4->sin_port);
    inet_ntop(AF_INET, &v4->sin_addr, buf, sizeof(buf));
    ip_ = buf;
    as_string_ = absl::StrCat(ip_, ":", port_);
  } else {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(&addr);
    version_ = IpVersion::v6;
    port_ = ntohs(v6->sin6_port);
    inet_ntop(AF_INET6, &v6->sin6_addr, buf, sizeof(buf));
    ip_ = buf;
    as_string_ = absl::StrCat("[", ip_, "]:", port_);
  }
}

std::string Instance::statName() const {
  return version_ == IpVersion::v4 ? absl::StrCat(ip_, "_", port_)
                                   : absl::StrCat("[", ip_, "]_", port_);
}

bool Instance::isAnyAddress() const { return ip_ == "0.0.0.0" || ip_ == "::"; }

socklen_t Instance::sockAddrLen() const {
  return version_ == IpVersion::v4 ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
}

InstanceConstSharedPtr Instance::withPort(uint16_t port) const {
  sockaddr_storage copy = storage_;
  if (version_ == IpVersion::v4) {
    reinterpret_cast<sockaddr_in*>(&copy)->sin_port = htons(port);
  } else {
    reinterpret_cast<sockaddr_in6*>(&copy)->sin6_port = htons(port);
  }
  return InstanceConstSharedPtr(new Instance(copy));
}

}  // namespace Skiff::Network::Address
