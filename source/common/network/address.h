#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace Skiff::Network::Address {

enum class IpVersion { v4, v6 };

/**
 * An immutable IPv4 or IPv6 socket address. Shared freely between threads (const after
 * construction), so configs hold InstanceConstSharedPtr.
 */
class Instance {
 public:
  // Parses a literal IP (no DNS): "127.0.0.1", "::1", "[::1]" with a separate port.
  static absl::StatusOr<std::shared_ptr<const Instance>> parse(absl::string_view ip, uint32_t port);
  // Parses "127.0.0.1:80" or "[::1]:80".
  static absl::StatusOr<std::shared_ptr<const Instance>> parseWithPort(absl::string_view text);
  // The address a socket is bound or connected to (getsockname/getpeername results).
  static std::shared_ptr<const Instance> fromSockaddr(const sockaddr_storage& addr);

  IpVersion version() const { return version_; }
  uint16_t port() const { return port_; }
  // "127.0.0.1" or "::1" (no brackets).
  const std::string& ip() const { return ip_; }
  // "127.0.0.1:80" or "[::1]:80".
  const std::string& asString() const { return as_string_; }
  // Envoy's stat-name form: "127.0.0.1_80", "[::1]_80".
  std::string statName() const;
  bool isAnyAddress() const;

  const sockaddr* sockAddr() const { return reinterpret_cast<const sockaddr*>(&storage_); }
  socklen_t sockAddrLen() const;
  int family() const { return version_ == IpVersion::v4 ? AF_INET : AF_INET6; }

  // The same IP with a different port; used when port 0 was bound and the kernel picked one.
  std::shared_ptr<const Instance> withPort(uint16_t port) const;

  bool operator==(const Instance& other) const { return as_string_ == other.as_string_; }

 private:
  explicit Instance(const sockaddr_storage& addr);

  sockaddr_storage storage_{};
  IpVersion version_;
  uint16_t port_;
  std::string ip_;
  std::string as_string_;
};

using InstanceConstSharedPtr = std::shared_ptr<const Instance>;

}  // namespace Skiff::Network::Address
