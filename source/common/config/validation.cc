#include "source/common/config/validation.h"

#include <arpa/inet.h>

#include <chrono>
#include <string>
#include <tuple>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "envoy/extensions/filters/http/router/v3/router.pb.h"
#include "source/common/access_log/access_log_config.h"
#include "source/common/config/overload_validation.h"
#include "source/common/config/runtime.h"
#include "source/common/config/utility.h"
#include "source/common/router/config_impl.h"

namespace Skiff::Config {
namespace {

using envoy::config::bootstrap::v3::Bootstrap;
using envoy::config::cluster::v3::Cluster;
using envoy::config::core::v3::Address;
using envoy::config::core::v3::ApiConfigSource;
using envoy::config::core::v3::CidrRange;
using envoy::config::core::v3::ConfigSource;
using envoy::config::core::v3::SocketAddress;
using envoy::config::endpoint::v3::ClusterLoadAssignment;
using envoy::config::listener::v3::FilterChain;
using envoy::config::listener::v3::FilterChainMatch;
using envoy::config::listener::v3::Listener;
using envoy::extensions::filters::listener::original_dst::v3::OriginalDst;
using envoy::extensions::filters::network::tcp_proxy::v3::TcpProxy;
using HttpConnectionManager =
    envoy::extensions::filters::network::http_connection_manager::v3::HttpConnectionManager;

constexpr uint32_t kMaxPort = 65535;

// Collects "<path>: <reason>" lines.
class Errors {
 public:
  void add(absl::string_view path, absl::string_view why) {
    lines_.push_back(path.empty() ? std::string(why) : absl::StrCat(path, ": ", why));
  }
  void merge(const absl::Status& status) {
    if (!status.ok()) {
      lines_.push_back(std::string(status.message()));
    }
  }
  absl::Status status() const {
    if (lines_.empty()) {
      return absl::OkStatus();
    }
    return absl::InvalidArgumentError(absl::StrJoin(lines_, "\n"));
  }

 private:
  std::vector<std::string> lines_;
};

std::string sub(absl::string_view path, absl::string_view field) {
  return path.empty() ? std::string(field) : absl::StrCat(path, ".", field);
}

std::string index(absl::string_view path, size_t i) { return absl::StrCat(path, "[", i, "]"); }

// `path (name "x")`, the form used when a resource is referred to by position.
std::string named(absl::string_view path, absl::string_view name) {
  return absl::StrFormat("%s (name \"%s\")", path, name);
}

enum class IpFamily { None, V4, V6 };

IpFamily ipFamily(const std::string& address) {
  in_addr v4;
  in6_addr v6;
  if (inet_pton(AF_INET, address.c_str(), &v4) == 1) {
    return IpFamily::V4;
  }
  if (inet_pton(AF_INET6, address.c_str(), &v6) == 1) {
    return IpFamily::V6;
  }
  return IpFamily::None;
}

bool isValidHostname(absl::string_view host) {
  if (host.empty() || host.size() > 253) {
    return false;
  }
  for (const char c : host) {
    if (!(absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_')) {
      return false;
    }
  }
  return true;
}

void checkDuration(const google::protobuf::Duration& d, const std::string& path, bool positive,
                   Errors& errors) {
  if (!isValidNonNegativeDuration(d)) {
    errors.add(path, absl::StrFormat("invalid duration (seconds %d, nanos %d): must be >= 0",
                                     d.seconds(), d.nanos()));
  } else if (positive && d.seconds() == 0 && d.nanos() == 0) {
    errors.add(path, "must be greater than 0");
  }
}

enum class AddressUse {
  Bind,        // listener or admin: an IP literal, port 0-65535 (0 = pick one)
  UpstreamIp,  // STATIC/EDS endpoint: an IP literal, port 1-65535
  UpstreamDns  // STRICT_DNS/LOGICAL_DNS endpoint: IP or hostname, port 1-65535
};

void checkSocketAddress(const SocketAddress& sa, const std::string& path, AddressUse use,
                        Errors& errors) {
  if (sa.protocol() != SocketAddress::TCP) {
    errors.add(sub(path, "protocol"),
               absl::StrFormat("%s is not supported (only TCP)",
                               SocketAddress::Protocol_Name(sa.protocol()).empty()
                                   ? absl::StrCat(static_cast<int>(sa.protocol()))
                                   : SocketAddress::Protocol_Name(sa.protocol())));
  }
  const std::string address_path = sub(path, "address");
  if (sa.address().empty()) {
    errors.add(address_path, "must not be empty");
  } else if (use == AddressUse::UpstreamDns) {
    if (ipFamily(sa.address()) == IpFamily::None && !isValidHostname(sa.address())) {
      errors.add(address_path,
                 absl::StrFormat("\"%s\" is not a valid IP address or hostname", sa.address()));
    }
  } else if (ipFamily(sa.address()) == IpFamily::None) {
    errors.add(address_path,
               absl::StrFormat("\"%s\" is not a valid IPv4 or IPv6 address%s", sa.address(),
                               use == AddressUse::UpstreamIp
                                   ? " (use a STRICT_DNS or LOGICAL_DNS cluster for hostnames)"
                                   : ""));
  }
  switch (sa.port_specifier_case()) {
    case SocketAddress::kPortValue:
      if (sa.port_value() > kMaxPort) {
        errors.add(sub(path, "port_value"),
                   absl::StrFormat("%d is not a valid port (%s-65535)", sa.port_value(),
                                   use == AddressUse::Bind ? "0" : "1"));
      } else if (sa.port_value() == 0 && use != AddressUse::Bind) {
        errors.add(sub(path, "port_value"),
                   "0 is not a valid port for an upstream endpoint (1-65535)");
      }
      break;
    case SocketAddress::kNamedPort:
      errors.add(sub(path, "named_port"), "named ports are not supported; use port_value");
      break;
    case SocketAddress::PORT_SPECIFIER_NOT_SET:
      if (use != AddressUse::Bind) {
        errors.add(sub(path, "port_value"), "required");
      }
      break;
  }
  if (!sa.resolver_name().empty()) {
    errors.add(sub(path, "resolver_name"),
               absl::StrFormat("custom resolver \"%s\" is not supported", sa.resolver_name()));
  }
}

void checkAddress(const Address& address, const std::string& path, AddressUse use, Errors& errors) {
  switch (address.address_case()) {
    case Address::kSocketAddress:
      checkSocketAddress(address.socket_address(), sub(path, "socket_address"), use, errors);
      break;
    case Address::kPipe:
      errors.add(sub(path, "pipe"), "Unix domain socket (pipe) addresses are not supported");
      break;
    case Address::ADDRESS_NOT_SET:
      errors.add(path, "must set socket_address");
      break;
  }
}

void checkCidr(const CidrRange& range, const std::string& path, Errors& errors) {
  const IpFamily family = ipFamily(range.address_prefix());
  if (family == IpFamily::None) {
    errors.add(
        sub(path, "address_prefix"),
        absl::StrFormat("\"%s\" is not a valid IPv4 or IPv6 address", range.address_prefix()));
    return;
  }
  const uint32_t max_len = family == IpFamily::V4 ? 32 : 128;
  if (range.has_prefix_len() && range.prefix_len().value() > max_len) {
    errors.add(sub(path, "prefix_len"),
               absl::StrFormat("%d is too long for an %s prefix (0-%d)", range.prefix_len().value(),
                               family == IpFamily::V4 ? "IPv4" : "IPv6", max_len));
  }
}

void checkFilterChainMatch(const FilterChainMatch& match, const std::string& path, Errors& errors) {
  if (match.has_destination_port() &&
      (match.destination_port().value() == 0 || match.destination_port().value() > kMaxPort)) {
    errors.add(sub(path, "destination_port"), absl::StrFormat("%d is not a valid port (1-65535)",
                                                              match.destination_port().value()));
  }
  for (int i = 0; i < match.source_ports_size(); ++i) {
    const uint32_t port = match.source_ports(i);
    if (port == 0 || port > kMaxPort) {
      errors.add(index(sub(path, "source_ports"), i),
                 absl::StrFormat("%d is not a valid port (1-65535)", port));
    }
  }
  for (int i = 0; i < match.prefix_ranges_size(); ++i) {
    checkCidr(match.prefix_ranges(i), index(sub(path, "prefix_ranges"), i), errors);
  }
  for (int i = 0; i < match.source_prefix_ranges_size(); ++i) {
    checkCidr(match.source_prefix_ranges(i), index(sub(path, "source_prefix_ranges"), i), errors);
  }
  for (int i = 0; i < match.direct_source_prefix_ranges_size(); ++i) {
    checkCidr(match.direct_source_prefix_ranges(i),
              index(sub(path, "direct_source_prefix_ranges"), i), errors);
  }
  for (int i = 0; i < match.server_names_size(); ++i) {
    if (match.server_names(i).empty()) {
      errors.add(index(sub(path, "server_names"), i), "must not be empty");
    }
  }
  if (!FilterChainMatch::ConnectionSourceType_IsValid(match.source_type())) {
    errors.add(sub(path, "source_type"),
               absl::StrFormat("unknown value %d", static_cast<int>(match.source_type())));
  }
  // skiff picks a filter chain by destination_port only. A criterion it ignored would make the
  // chain match connections it was meant to exclude (a source_prefix_ranges allow-list, say), so
  // each one is an error. transport_protocol "raw_buffer" is what every connection has without a
  // TLS inspector (as in Envoy), so that one is exact.
  const bool other_source_type =
      match.source_type() != FilterChainMatch::ANY &&
      FilterChainMatch::ConnectionSourceType_IsValid(match.source_type());
  const std::pair<absl::string_view, bool> criteria[] = {
      {"prefix_ranges", match.prefix_ranges_size() > 0},
      {"source_prefix_ranges", match.source_prefix_ranges_size() > 0},
      {"direct_source_prefix_ranges", match.direct_source_prefix_ranges_size() > 0},
      {"source_ports", match.source_ports_size() > 0},
      {"server_names", match.server_names_size() > 0},
      {"application_protocols", match.application_protocols_size() > 0},
      {"source_type", other_source_type},
  };
  for (const auto& [field, set] : criteria) {
    if (set) {
      errors.add(sub(path, field),
                 "not supported by skiff (filter chains are matched on destination_port only)");
    }
  }
  if (!match.transport_protocol().empty() && match.transport_protocol() != "raw_buffer") {
    errors.add(sub(path, "transport_protocol"),
               absl::StrFormat("\"%s\" is not supported (skiff has no TLS inspector: every "
                               "connection is \"raw_buffer\")",
                               match.transport_protocol()));
  }
}

void checkFilterChain(const FilterChain& chain, const KnownClusters& clusters,
                      const std::string& path, Errors& errors) {
  if (chain.has_filter_chain_match()) {
    checkFilterChainMatch(chain.filter_chain_match(), sub(path, "filter_chain_match"), errors);
  }
  const std::string filters_path = sub(path, "filters");
  if (chain.filters_size() == 0) {
    errors.add(filters_path, "at least one network filter is required");
    return;
  }
  for (int i = 0; i < chain.filters_size(); ++i) {
    const auto& filter = chain.filters(i);
    const std::string filter_path = index(filters_path, i);
    if (filter.name().empty()) {
      errors.add(sub(filter_path, "name"), "must not be empty");
    }
    if (!filter.has_typed_config()) {
      errors.add(sub(filter_path, "typed_config"),
                 absl::StrFormat("required (filter \"%s\"); skiff picks the filter by its type",
                                 filter.name()));
      continue;
    }
    const std::string config_path = sub(filter_path, "typed_config");
    const absl::string_view type_name = typeNameFromUrl(filter.typed_config().type_url());
    if (type_name == TcpProxy::descriptor()->full_name()) {
      auto tcp_proxy = parseTypedConfig<TcpProxy>(filter.typed_config(), config_path);
      if (!tcp_proxy.ok()) {
        errors.merge(tcp_proxy.status());
      } else {
        errors.merge(validateTcpProxy(*tcp_proxy, clusters, config_path));
      }
      // tcp_proxy is terminal: nothing may come after it.
      if (i + 1 != chain.filters_size()) {
        errors.add(filter_path,
                   absl::StrFormat("terminal filter \"%s\" must be the last filter in the chain",
                                   filter.name()));
      }
    } else if (type_name == HttpConnectionManager::descriptor()->full_name()) {
      auto hcm = parseTypedConfig<HttpConnectionManager>(filter.typed_config(), config_path);
      if (!hcm.ok()) {
        errors.merge(hcm.status());
      } else {
        errors.merge(validateHttpConnectionManager(*hcm, config_path));
        // An inline route table is built here, as the listener will build it (regexes compile,
        // within RE2's program size limit): the xDS fuzzer found one that passed the checks
        // above and then failed to build.
        if (hcm->has_route_config()) {
          errors.merge(validateRouteConfiguration(hcm->route_config(), clusters,
                                                  /*validate_clusters_default=*/true,
                                                  sub(config_path, "route_config")));
        }
      }
      if (i + 1 != chain.filters_size()) {
        errors.add(filter_path,
                   absl::StrFormat("terminal filter \"%s\" must be the last filter in the chain",
                                   filter.name()));
      }
    } else {
      errors.add(config_path,
                 absl::StrFormat("unknown network filter type \"%s\" (filter \"%s\"); skiff "
                                 "supports %s (%s) and %s (%s)",
                                 filter.typed_config().type_url(), filter.name(),
                                 kTcpProxyFilterName, kTcpProxyTypeUrl,
                                 kHttpConnectionManagerFilterName, kHttpConnectionManagerTypeUrl));
    }
  }
}

void checkConfigSource(const ConfigSource& source, const KnownClusters& static_clusters,
                       bool have_ads, const std::string& path, Errors& errors);

void checkApiConfigSource(const ApiConfigSource& api, const KnownClusters& static_clusters,
                          const std::string& path, Errors& errors) {
  switch (api.api_type()) {
    case ApiConfigSource::GRPC:
    case ApiConfigSource::DELTA_GRPC:
    case ApiConfigSource::AGGREGATED_GRPC:
    case ApiConfigSource::AGGREGATED_DELTA_GRPC:
      break;
    default:
      errors.add(sub(path, "api_type"),
                 absl::StrFormat("%s is not supported (use GRPC, DELTA_GRPC, AGGREGATED_GRPC or "
                                 "AGGREGATED_DELTA_GRPC)",
                                 ApiConfigSource::ApiType_Name(api.api_type()).empty()
                                     ? absl::StrCat(static_cast<int>(api.api_type()))
                                     : ApiConfigSource::ApiType_Name(api.api_type())));
  }
  if (api.transport_api_version() == envoy::config::core::v3::V2) {
    errors.add(sub(path, "transport_api_version"), "V2 is not supported (use V3)");
  }
  if (api.grpc_services_size() == 0) {
    errors.add(sub(path, "grpc_services"), "at least one gRPC service is required");
  }
  if (api.cluster_names_size() > 0) {
    errors.add(sub(path, "cluster_names"), "only for REST config sources; use grpc_services");
  }
  if (api.has_refresh_delay()) {
    checkDuration(api.refresh_delay(), sub(path, "refresh_delay"), false, errors);
  }
  if (api.has_request_timeout()) {
    checkDuration(api.request_timeout(), sub(path, "request_timeout"), false, errors);
  }
  if (api.has_rate_limit_settings() && api.rate_limit_settings().has_fill_rate() &&
      !(api.rate_limit_settings().fill_rate().value() > 0)) {
    errors.add(sub(sub(path, "rate_limit_settings"), "fill_rate"),
               absl::StrFormat("%g must be greater than 0",
                               api.rate_limit_settings().fill_rate().value()));
  }
  for (int i = 0; i < api.grpc_services_size(); ++i) {
    const auto& service = api.grpc_services(i);
    const std::string service_path = index(sub(path, "grpc_services"), i);
    if (service.has_envoy_grpc()) {
      const std::string& cluster = service.envoy_grpc().cluster_name();
      if (cluster.empty()) {
        errors.add(sub(sub(service_path, "envoy_grpc"), "cluster_name"), "must not be empty");
      } else if (!static_clusters.contains(cluster)) {
        errors.add(sub(sub(service_path, "envoy_grpc"), "cluster_name"),
                   absl::StrFormat("unknown cluster \"%s\" (must be a static cluster)", cluster));
      }
    } else if (service.has_google_grpc()) {
      if (service.google_grpc().target_uri().empty()) {
        errors.add(sub(sub(service_path, "google_grpc"), "target_uri"), "must not be empty");
      }
    } else {
      errors.add(service_path, "must set envoy_grpc or google_grpc");
    }
    if (service.has_timeout()) {
      checkDuration(service.timeout(), sub(service_path, "timeout"), false, errors);
    }
    for (int j = 0; j < service.initial_metadata_size(); ++j) {
      if (service.initial_metadata(j).key().empty()) {
        errors.add(sub(index(sub(service_path, "initial_metadata"), j), "key"),
                   "must not be empty");
      }
    }
  }
}

void checkConfigSource(const ConfigSource& source, const KnownClusters& static_clusters,
                       bool have_ads, const std::string& path, Errors& errors) {
  switch (source.config_source_specifier_case()) {
    case ConfigSource::kAds:
      if (!have_ads) {
        errors.add(sub(path, "ads"), "requires dynamic_resources.ads_config in the bootstrap");
      }
      break;
    case ConfigSource::kApiConfigSource:
      checkApiConfigSource(source.api_config_source(), static_clusters,
                           sub(path, "api_config_source"), errors);
      break;
    case ConfigSource::CONFIG_SOURCE_SPECIFIER_NOT_SET:
      errors.add(path, "must set ads or api_config_source");
      break;
  }
  if (source.has_initial_fetch_timeout()) {
    checkDuration(source.initial_fetch_timeout(), sub(path, "initial_fetch_timeout"), false,
                  errors);
  }
  if (source.resource_api_version() == envoy::config::core::v3::V2) {
    errors.add(sub(path, "resource_api_version"), "V2 is not supported (use V3)");
  }
}

void checkLoadAssignment(const ClusterLoadAssignment& cla, const std::string& path, AddressUse use,
                         Errors& errors) {
  if (cla.cluster_name().empty()) {
    errors.add(sub(path, "cluster_name"), "must not be empty");
  }
  for (int i = 0; i < cla.endpoints_size(); ++i) {
    const auto& locality = cla.endpoints(i);
    const std::string locality_path = index(sub(path, "endpoints"), i);
    if (locality.has_load_balancing_weight() && locality.load_balancing_weight().value() == 0) {
      errors.add(sub(locality_path, "load_balancing_weight"), "must be >= 1");
    }
    if (locality.priority() > 128) {
      errors.add(sub(locality_path, "priority"),
                 absl::StrFormat("%d is too large (0-128)", locality.priority()));
    }
    for (int j = 0; j < locality.lb_endpoints_size(); ++j) {
      const auto& lb_endpoint = locality.lb_endpoints(j);
      const std::string lb_path = index(sub(locality_path, "lb_endpoints"), j);
      if (!lb_endpoint.has_endpoint()) {
        errors.add(sub(lb_path, "endpoint"), "required");
        continue;
      }
      if (lb_endpoint.endpoint().health_check_config().port_value() > kMaxPort) {
        errors.add(sub(sub(sub(lb_path, "endpoint"), "health_check_config"), "port_value"),
                   absl::StrFormat("%d is not a valid port (0-65535)",
                                   lb_endpoint.endpoint().health_check_config().port_value()));
      }
      if (!lb_endpoint.endpoint().has_address()) {
        errors.add(sub(sub(lb_path, "endpoint"), "address"), "required");
      } else {
        checkAddress(lb_endpoint.endpoint().address(), sub(sub(lb_path, "endpoint"), "address"),
                     use, errors);
      }
      if (lb_endpoint.has_load_balancing_weight() &&
          lb_endpoint.load_balancing_weight().value() == 0) {
        errors.add(sub(lb_path, "load_balancing_weight"), "must be >= 1");
      }
      if (!envoy::config::core::v3::HealthStatus_IsValid(lb_endpoint.health_status())) {
        errors.add(sub(lb_path, "health_status"),
                   absl::StrFormat("unknown value %d", lb_endpoint.health_status()));
      }
    }
  }
  if (cla.policy().has_overprovisioning_factor() &&
      cla.policy().overprovisioning_factor().value() == 0) {
    errors.add(sub(sub(path, "policy"), "overprovisioning_factor"), "must be greater than 0");
  }
  if (cla.has_policy() && cla.policy().has_endpoint_stale_after()) {
    checkDuration(cla.policy().endpoint_stale_after(),
                  sub(sub(path, "policy"), "endpoint_stale_after"), false, errors);
  }
}

int endpointCount(const ClusterLoadAssignment& cla) {
  int count = 0;
  for (const auto& locality : cla.endpoints()) {
    count += locality.lb_endpoints_size();
  }
  return count;
}

void checkPercent(bool has, uint32_t value, const std::string& path, Errors& errors) {
  if (has && value > 100) {
    errors.add(path, absl::StrFormat("%d is not a percentage (0-100)", value));
  }
}

void checkRanges(const google::protobuf::RepeatedPtrField<envoy::type::v3::Int64Range>& ranges,
                 const std::string& path, Errors& errors) {
  for (int i = 0; i < ranges.size(); ++i) {
    const auto& r = ranges[i];
    if (r.start() < 100 || r.end() > 600 || r.start() >= r.end()) {
      errors.add(index(path, i), absl::StrFormat("[%d, %d) is not a status range within [100, 600)",
                                                 r.start(), r.end()));
    }
  }
}

void checkPayload(const envoy::config::core::v3::HealthCheck::Payload& payload,
                  const std::string& path, Errors& errors) {
  using Payload = envoy::config::core::v3::HealthCheck::Payload;
  if (payload.payload_case() == Payload::kBinary) {
    if (payload.binary().empty()) {
      errors.add(sub(path, "binary"), "must not be empty");
    }
    return;
  }
  const std::string& text = payload.text();
  bool hex = !text.empty() && text.size() % 2 == 0;
  for (char c : text) {
    hex = hex && absl::ascii_isxdigit(static_cast<unsigned char>(c));
  }
  if (!hex) {
    errors.add(sub(path, "text"),
               absl::StrFormat("\"%s\" is not hex (an even number of hex digits)", text));
  }
}

// A request-line or field value: visible characters and spaces, no CR/LF.
bool isHeaderValue(absl::string_view value, bool allow_space) {
  for (char c : value) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f || (!allow_space && u == ' ')) {
      return false;
    }
  }
  return true;
}

void checkHealthCheck(const envoy::config::core::v3::HealthCheck& hc, const std::string& path,
                      Errors& errors) {
  using HealthCheck = envoy::config::core::v3::HealthCheck;
  for (const auto& [field, has, d] :
       {std::make_tuple("timeout", hc.has_timeout(), &hc.timeout()),
        std::make_tuple("interval", hc.has_interval(), &hc.interval())}) {
    if (!has) {
      errors.add(sub(path, field), "required");
    } else {
      checkDuration(*d, sub(path, field), true, errors);
    }
  }
  for (const auto& [field, has, d] :
       {std::make_tuple("no_traffic_interval", hc.has_no_traffic_interval(),
                        &hc.no_traffic_interval()),
        std::make_tuple("no_traffic_healthy_interval", hc.has_no_traffic_healthy_interval(),
                        &hc.no_traffic_healthy_interval()),
        std::make_tuple("unhealthy_interval", hc.has_unhealthy_interval(),
                        &hc.unhealthy_interval()),
        std::make_tuple("unhealthy_edge_interval", hc.has_unhealthy_edge_interval(),
                        &hc.unhealthy_edge_interval()),
        std::make_tuple("healthy_edge_interval", hc.has_healthy_edge_interval(),
                        &hc.healthy_edge_interval())}) {
    if (has) {
      checkDuration(*d, sub(path, field), true, errors);
    }
  }
  for (const auto& [field, has, d] :
       {std::make_tuple("initial_jitter", hc.has_initial_jitter(), &hc.initial_jitter()),
        std::make_tuple("interval_jitter", hc.has_interval_jitter(), &hc.interval_jitter())}) {
    if (has) {
      checkDuration(*d, sub(path, field), false, errors);
    }
  }
  if (!hc.has_unhealthy_threshold()) {
    errors.add(sub(path, "unhealthy_threshold"), "required");
  }
  if (!hc.has_healthy_threshold()) {
    errors.add(sub(path, "healthy_threshold"), "required");
  }
  switch (hc.health_checker_case()) {
    case HealthCheck::kHttpHealthCheck: {
      const auto& http = hc.http_health_check();
      const std::string http_path = sub(path, "http_health_check");
      if (http.path().empty() || http.path()[0] != '/' || !isHeaderValue(http.path(), false)) {
        errors.add(sub(http_path, "path"),
                   absl::StrFormat("\"%s\" is not an origin-form path (\"/...\", no spaces)",
                                   http.path()));
      }
      if (!isHeaderValue(http.host(), false)) {
        errors.add(sub(http_path, "host"), "must be a valid Host value");
      }
      for (int i = 0; i < http.request_headers_to_add_size(); ++i) {
        const auto& header = http.request_headers_to_add(i).header();
        if (header.key().empty() || !isHeaderValue(header.key(), false) ||
            !isHeaderValue(header.value(), true)) {
          errors.add(index(sub(http_path, "request_headers_to_add"), i),
                     "needs a header name and a value without control characters");
        }
      }
      checkRanges(http.expected_statuses(), sub(http_path, "expected_statuses"), errors);
      checkRanges(http.retriable_statuses(), sub(http_path, "retriable_statuses"), errors);
      break;
    }
    case HealthCheck::kTcpHealthCheck: {
      const auto& tcp = hc.tcp_health_check();
      const std::string tcp_path = sub(path, "tcp_health_check");
      if (tcp.has_send()) {
        checkPayload(tcp.send(), sub(tcp_path, "send"), errors);
      }
      for (int i = 0; i < tcp.receive_size(); ++i) {
        checkPayload(tcp.receive(i), index(sub(tcp_path, "receive"), i), errors);
      }
      break;
    }
    case HealthCheck::kGrpcHealthCheck:
      errors.add(sub(path, "grpc_health_check"),
                 "is not supported (use http_health_check or tcp_health_check)");
      break;
    case HealthCheck::kCustomHealthCheck:
      errors.add(sub(path, "custom_health_check"),
                 "is not supported (use http_health_check or tcp_health_check)");
      break;
    default:
      errors.add(path, "needs http_health_check or tcp_health_check");
  }
}

void checkOutlierDetection(const envoy::config::cluster::v3::OutlierDetection& od,
                           const std::string& path, Errors& errors) {
  for (const auto& [field, has, d] :
       {std::make_tuple("interval", od.has_interval(), &od.interval()),
        std::make_tuple("base_ejection_time", od.has_base_ejection_time(),
                        &od.base_ejection_time()),
        std::make_tuple("max_ejection_time", od.has_max_ejection_time(),
                        &od.max_ejection_time())}) {
    if (has) {
      checkDuration(*d, sub(path, field), true, errors);
    }
  }
  if (od.has_max_ejection_time_jitter()) {
    checkDuration(od.max_ejection_time_jitter(), sub(path, "max_ejection_time_jitter"), false,
                  errors);
  }
  if (od.has_max_ejection_time()) {
    const auto base = durationToMillisecondsOr(od.base_ejection_time(), std::chrono::seconds(30));
    const auto max = durationToMillisecondsOr(od.max_ejection_time(), base);
    if (max < (od.has_base_ejection_time() ? base : std::chrono::milliseconds(30000))) {
      errors.add(sub(path, "max_ejection_time"), "must not be smaller than base_ejection_time");
    }
  }
  checkPercent(od.has_max_ejection_percent(), od.max_ejection_percent().value(),
               sub(path, "max_ejection_percent"), errors);
  checkPercent(od.has_enforcing_consecutive_5xx(), od.enforcing_consecutive_5xx().value(),
               sub(path, "enforcing_consecutive_5xx"), errors);
  checkPercent(od.has_enforcing_consecutive_gateway_failure(),
               od.enforcing_consecutive_gateway_failure().value(),
               sub(path, "enforcing_consecutive_gateway_failure"), errors);
  checkPercent(od.has_enforcing_consecutive_local_origin_failure(),
               od.enforcing_consecutive_local_origin_failure().value(),
               sub(path, "enforcing_consecutive_local_origin_failure"), errors);
  checkPercent(od.has_enforcing_success_rate(), od.enforcing_success_rate().value(),
               sub(path, "enforcing_success_rate"), errors);
  checkPercent(od.has_enforcing_local_origin_success_rate(),
               od.enforcing_local_origin_success_rate().value(),
               sub(path, "enforcing_local_origin_success_rate"), errors);
  checkPercent(od.has_failure_percentage_threshold(), od.failure_percentage_threshold().value(),
               sub(path, "failure_percentage_threshold"), errors);
  checkPercent(od.has_enforcing_failure_percentage(), od.enforcing_failure_percentage().value(),
               sub(path, "enforcing_failure_percentage"), errors);
  checkPercent(od.has_enforcing_failure_percentage_local_origin(),
               od.enforcing_failure_percentage_local_origin().value(),
               sub(path, "enforcing_failure_percentage_local_origin"), errors);
}

void checkCluster(const Cluster& cluster, const std::string& path, Errors& errors) {
  if (cluster.name().empty()) {
    errors.add(sub(path, "name"), "must not be empty");
  }
  const Cluster::DiscoveryType type = cluster.type();  // STATIC when unset, as in Envoy.
  if (!Cluster::DiscoveryType_IsValid(type)) {
    errors.add(sub(path, "type"), absl::StrFormat("unknown value %d", static_cast<int>(type)));
    return;
  }
  const std::string& type_name = Cluster::DiscoveryType_Name(type);
  if (cluster.has_connect_timeout()) {
    checkDuration(cluster.connect_timeout(), sub(path, "connect_timeout"), true, errors);
  }
  if (cluster.has_cleanup_interval()) {
    // Envoy: gt 0. Used by ORIGINAL_DST clusters only; accepted (and ignored) on the others.
    checkDuration(cluster.cleanup_interval(), sub(path, "cleanup_interval"), true, errors);
  }
  if (cluster.has_dns_refresh_rate()) {
    checkDuration(cluster.dns_refresh_rate(), sub(path, "dns_refresh_rate"), true, errors);
  }
  if (!Cluster::DnsLookupFamily_IsValid(cluster.dns_lookup_family())) {
    errors.add(sub(path, "dns_lookup_family"),
               absl::StrFormat("unknown value %d", static_cast<int>(cluster.dns_lookup_family())));
  }

  const std::string lb_path = sub(path, "lb_policy");
  switch (cluster.lb_policy()) {
    case Cluster::ROUND_ROBIN:
    case Cluster::LEAST_REQUEST:
    case Cluster::RANDOM:
      if (type == Cluster::ORIGINAL_DST) {
        // Envoy's wording: the host comes from each connection, so no policy picks it.
        errors.add(lb_path,
                   absl::StrFormat("LB policy %s is not valid for Cluster type ORIGINAL_DST. Only "
                                   "'CLUSTER_PROVIDED' is allowed with cluster type "
                                   "'ORIGINAL_DST'",
                                   Cluster::LbPolicy_Name(cluster.lb_policy())));
      }
      break;
    case Cluster::CLUSTER_PROVIDED:
      if (type != Cluster::ORIGINAL_DST) {
        errors.add(lb_path, "CLUSTER_PROVIDED is only valid for ORIGINAL_DST clusters");
      }
      break;
    default: {
      const std::string& name = Cluster::LbPolicy_Name(cluster.lb_policy());
      errors.add(lb_path, absl::StrFormat("%s is not supported (use ROUND_ROBIN, LEAST_REQUEST or "
                                          "RANDOM)",
                                          name.empty() ? absl::StrCat(cluster.lb_policy()) : name));
    }
  }

  const std::string la_path = sub(path, "load_assignment");
  const int endpoints =
      cluster.has_load_assignment() ? endpointCount(cluster.load_assignment()) : 0;
  switch (type) {
    case Cluster::STATIC:
    case Cluster::STRICT_DNS:
      if (endpoints == 0) {
        errors.add(la_path,
                   absl::StrFormat("a %s cluster needs load_assignment with at least one endpoint",
                                   type_name));
      }
      break;
    case Cluster::LOGICAL_DNS:
      if (endpoints != 1) {
        errors.add(la_path,
                   absl::StrFormat("a LOGICAL_DNS cluster needs exactly one endpoint (has %d)",
                                   endpoints));
      }
      break;
    case Cluster::EDS:
      if (!cluster.has_eds_cluster_config() || !cluster.eds_cluster_config().has_eds_config()) {
        errors.add(sub(sub(path, "eds_cluster_config"), "eds_config"),
                   "required for an EDS cluster");
      }
      break;
    case Cluster::ORIGINAL_DST:
      // Envoy rejects any load_assignment, even an empty one.
      if (cluster.has_load_assignment()) {
        errors.add(la_path,
                   absl::StrFormat("ORIGINAL_DST clusters must have no load assignment configured "
                                   "(has %d endpoints); the upstream is each connection's "
                                   "original destination",
                                   endpoints));
      }
      if (cluster.has_eds_cluster_config()) {
        errors.add(sub(path, "eds_cluster_config"), "only valid for EDS clusters");
      }
      break;
    default:
      break;
  }
  if (cluster.has_load_assignment() && type != Cluster::EDS) {
    const AddressUse use = (type == Cluster::STRICT_DNS || type == Cluster::LOGICAL_DNS)
                               ? AddressUse::UpstreamDns
                               : AddressUse::UpstreamIp;
    checkLoadAssignment(cluster.load_assignment(), la_path, use, errors);
  }
  if (cluster.has_common_http_protocol_options()) {
    const auto& options = cluster.common_http_protocol_options();
    const std::string options_path = sub(path, "common_http_protocol_options");
    if (options.has_idle_timeout()) {
      checkDuration(options.idle_timeout(), sub(options_path, "idle_timeout"), false, errors);
    }
    if (options.has_max_headers_count() && options.max_headers_count().value() == 0) {
      errors.add(sub(options_path, "max_headers_count"), "must be at least 1");
    }
  }
  if (cluster.has_upstream_bind_config()) {
    const std::string bind_path = sub(path, "upstream_bind_config");
    const auto& bind = cluster.upstream_bind_config();
    if (!bind.has_source_address()) {
      errors.add(sub(bind_path, "source_address"), "required");
    } else {
      checkSocketAddress(bind.source_address(), sub(bind_path, "source_address"), AddressUse::Bind,
                         errors);
    }
  }
  if (cluster.health_checks_size() > 1) {
    errors.add(sub(path, "health_checks"), "at most one health check per cluster is supported");
  }
  for (int i = 0; i < cluster.health_checks_size(); ++i) {
    checkHealthCheck(cluster.health_checks(i), index(sub(path, "health_checks"), i), errors);
  }
  if (cluster.has_outlier_detection()) {
    checkOutlierDetection(cluster.outlier_detection(), sub(path, "outlier_detection"), errors);
  }
  if (cluster.has_common_lb_config() && cluster.common_lb_config().has_healthy_panic_threshold()) {
    const double percent = cluster.common_lb_config().healthy_panic_threshold().value();
    if (!(percent >= 0.0 && percent <= 100.0)) {
      errors.add(sub(sub(path, "common_lb_config"), "healthy_panic_threshold"),
                 absl::StrFormat("%g is not a percentage (0-100)", percent));
    }
  }
  if (cluster.has_circuit_breakers()) {
    const auto& cb = cluster.circuit_breakers();
    for (int i = 0; i < cb.thresholds_size(); ++i) {
      if (!envoy::config::core::v3::RoutingPriority_IsValid(cb.thresholds(i).priority())) {
        errors.add(sub(index(sub(sub(path, "circuit_breakers"), "thresholds"), i), "priority"),
                   absl::StrFormat("unknown value %d", cb.thresholds(i).priority()));
      }
    }
    for (int i = 0; i < cb.per_host_thresholds_size(); ++i) {
      if (!envoy::config::core::v3::RoutingPriority_IsValid(cb.per_host_thresholds(i).priority())) {
        errors.add(
            sub(index(sub(sub(path, "circuit_breakers"), "per_host_thresholds"), i), "priority"),
            absl::StrFormat("unknown value %d", cb.per_host_thresholds(i).priority()));
      }
    }
  }
}

// The sidecar does not resolve DNS yet: a STRICT_DNS or LOGICAL_DNS cluster works with IP
// endpoints only. (validateCluster allows hostnames: skiff-control serves such clusters to Envoy
// and gRPC clients, which resolve them.)
void checkNoHostnames(const Cluster& cluster, const std::string& path, Errors& errors) {
  if (cluster.type() != Cluster::STRICT_DNS && cluster.type() != Cluster::LOGICAL_DNS) {
    return;
  }
  const auto& endpoints = cluster.load_assignment().endpoints();
  for (int i = 0; i < endpoints.size(); ++i) {
    for (int j = 0; j < endpoints[i].lb_endpoints_size(); ++j) {
      const auto& sa = endpoints[i].lb_endpoints(j).endpoint().address().socket_address();
      if (!sa.address().empty() && ipFamily(sa.address()) == IpFamily::None) {
        errors.add(absl::StrFormat("%s.load_assignment.endpoints[%d].lb_endpoints[%d].endpoint."
                                   "address.socket_address.address",
                                   path, i, j),
                   absl::StrFormat("hostname \"%s\" needs DNS resolution, which the skiff "
                                   "sidecar does not do yet (use an IP address; for the "
                                   "management server, google_grpc.target_uri "
                                   "\"dns:///%s:%d\")",
                                   sa.address(), sa.address(), sa.port_value()));
      }
    }
  }
}

std::string addressKey(const Address& address) {
  if (!address.has_socket_address()) {
    return "";
  }
  const auto& sa = address.socket_address();
  if (sa.port_value() == 0) {
    return "";  // Port 0 picks a fresh port each time; never a conflict.
  }
  return ipFamily(sa.address()) == IpFamily::V6
             ? absl::StrCat("[", sa.address(), "]:", sa.port_value())
             : absl::StrCat(sa.address(), ":", sa.port_value());
}

}  // namespace

absl::Status validateTcpProxy(const TcpProxy& tcp_proxy, const KnownClusters& clusters,
                              absl::string_view path_view) {
  const std::string path(path_view);
  Errors errors;
  if (tcp_proxy.stat_prefix().empty()) {
    errors.add(sub(path, "stat_prefix"), "must not be empty");
  }
  switch (tcp_proxy.cluster_specifier_case()) {
    case TcpProxy::kCluster:
      if (tcp_proxy.cluster().empty()) {
        errors.add(sub(path, "cluster"), "must not be empty");
      } else if (!clusters.contains(tcp_proxy.cluster())) {
        errors.add(sub(path, "cluster"),
                   absl::StrFormat("unknown cluster \"%s\"", tcp_proxy.cluster()));
      }
      break;
    case TcpProxy::kWeightedClusters: {
      const std::string wc_path = sub(sub(path, "weighted_clusters"), "clusters");
      const auto& weighted = tcp_proxy.weighted_clusters();
      if (weighted.clusters_size() == 0) {
        errors.add(wc_path, "at least one cluster is required");
      }
      for (int i = 0; i < weighted.clusters_size(); ++i) {
        const auto& entry = weighted.clusters(i);
        const std::string entry_path = index(wc_path, i);
        if (entry.name().empty()) {
          errors.add(sub(entry_path, "name"), "must not be empty");
        } else if (!clusters.contains(entry.name())) {
          errors.add(sub(entry_path, "name"),
                     absl::StrFormat("unknown cluster \"%s\"", entry.name()));
        }
        if (entry.weight() == 0) {
          errors.add(sub(entry_path, "weight"), "must be >= 1");
        }
      }
      break;
    }
    case TcpProxy::CLUSTER_SPECIFIER_NOT_SET:
      errors.add(path, "must set cluster or weighted_clusters");
      break;
  }
  if (tcp_proxy.has_idle_timeout()) {
    checkDuration(tcp_proxy.idle_timeout(), sub(path, "idle_timeout"), false, errors);
  }
  if (tcp_proxy.has_max_downstream_connection_duration()) {
    checkDuration(tcp_proxy.max_downstream_connection_duration(),
                  sub(path, "max_downstream_connection_duration"), false, errors);
  }
  if (tcp_proxy.has_max_connect_attempts() && tcp_proxy.max_connect_attempts().value() == 0) {
    errors.add(sub(path, "max_connect_attempts"), "must be >= 1");
  }
  return errors.status();
}

absl::Status validateHttpConnectionManager(const HttpConnectionManager& hcm,
                                           absl::string_view path_view) {
  const std::string path(path_view);
  Errors errors;
  if (hcm.stat_prefix().empty()) {
    errors.add(sub(path, "stat_prefix"), "must not be empty");
  }
  if (hcm.codec_type() != HttpConnectionManager::AUTO &&
      hcm.codec_type() != HttpConnectionManager::HTTP1) {
    const std::string& name = HttpConnectionManager::CodecType_Name(hcm.codec_type());
    errors.add(sub(path, "codec_type"),
               absl::StrFormat("%s is not supported (skiff speaks HTTP/1.1 only; use AUTO or "
                               "HTTP1)",
                               name.empty() ? absl::StrCat(hcm.codec_type()) : name));
  }
  const std::string filters_path = sub(path, "http_filters");
  bool router_last = false;
  for (int i = 0; i < hcm.http_filters_size(); ++i) {
    const auto& filter = hcm.http_filters(i);
    const bool is_router = filter.name() == "envoy.filters.http.router" ||
                           typeNameFromUrl(filter.typed_config().type_url()) ==
                               "envoy.extensions.filters.http.router.v3.Router";
    if (is_router) {
      if (filter.has_typed_config()) {
        // The router by name with another message as its config does not build.
        errors.merge(parseTypedConfig<envoy::extensions::filters::http::router::v3::Router>(
                         filter.typed_config(), sub(index(filters_path, i), "typed_config"))
                         .status());
      }
      router_last = i + 1 == hcm.http_filters_size();
      if (!router_last) {
        errors.add(index(filters_path, i), "the router must be the last HTTP filter");
      }
    } else if (!filter.is_optional() && !filter.disabled()) {
      errors.add(index(filters_path, i),
                 absl::StrFormat("HTTP filter \"%s\" is not supported (skiff has only "
                                 "envoy.filters.http.router; mark the filter is_optional to skip "
                                 "it)",
                                 filter.name()));
    }
  }
  if (!router_last && hcm.http_filters_size() == 0) {
    errors.add(filters_path, "must end with envoy.filters.http.router");
  } else if (!router_last) {
    errors.add(filters_path, "must end with envoy.filters.http.router");
  }
  switch (hcm.route_specifier_case()) {
    case HttpConnectionManager::kRds:
      if (hcm.rds().route_config_name().empty()) {
        errors.add(sub(sub(path, "rds"), "route_config_name"), "must not be empty");
      }
      if (!hcm.rds().config_source().has_ads()) {
        errors.add(sub(sub(path, "rds"), "config_source"),
                   "only ads is supported (routes come over the ADS stream)");
      }
      break;
    case HttpConnectionManager::kRouteConfig:
      break;
    default:
      errors.add(path, "must set route_config or rds");
  }
  if (hcm.has_max_request_headers_kb() &&
      (hcm.max_request_headers_kb().value() < 1 || hcm.max_request_headers_kb().value() > 8192)) {
    errors.add(
        sub(path, "max_request_headers_kb"),
        absl::StrFormat("%d is out of range (1-8192)", hcm.max_request_headers_kb().value()));
  }
  for (const auto& [field, d] :
       {std::pair{"stream_idle_timeout", &hcm.stream_idle_timeout()},
        std::pair{"request_timeout", &hcm.request_timeout()},
        std::pair{"request_headers_timeout", &hcm.request_headers_timeout()},
        std::pair{"delayed_close_timeout", &hcm.delayed_close_timeout()},
        std::pair{"drain_timeout", &hcm.drain_timeout()},
        std::pair{"common_http_protocol_options.idle_timeout",
                  &hcm.common_http_protocol_options().idle_timeout()},
        std::pair{"common_http_protocol_options.max_connection_duration",
                  &hcm.common_http_protocol_options().max_connection_duration()}}) {
    checkDuration(*d, sub(path, field), false, errors);
  }
  return errors.status();
}

std::vector<std::string> rdsRouteNames(const Listener& listener) {
  std::vector<std::string> names;
  for (const auto& chain : listener.filter_chains()) {
    for (const auto& filter : chain.filters()) {
      if (typeNameFromUrl(filter.typed_config().type_url()) !=
          HttpConnectionManager::descriptor()->full_name()) {
        continue;
      }
      HttpConnectionManager hcm;
      if (filter.typed_config().UnpackTo(&hcm) && hcm.has_rds() &&
          !hcm.rds().route_config_name().empty()) {
        names.push_back(hcm.rds().route_config_name());
      }
    }
  }
  return names;
}

absl::Status validateListener(const Listener& listener, const KnownClusters& clusters,
                              absl::string_view path_view) {
  const std::string path(path_view);
  Errors errors;
  if (listener.name().empty()) {
    errors.add(sub(path, "name"), "must not be empty");
  }
  if (!listener.has_address()) {
    errors.add(sub(path, "address"), "required");
  } else {
    checkAddress(listener.address(), sub(path, "address"), AddressUse::Bind, errors);
  }
  if (listener.filter_chains_size() == 0) {
    errors.add(sub(path, "filter_chains"), "at least one filter chain is required");
  }
  if (listener.has_api_listener()) {
    errors.add(sub(path, "api_listener"),
               "not served by skiff (API listeners are for gRPC's own xDS clients; skiff-control "
               "serves them)");
  }
  absl::flat_hash_map<std::string, int> matches;
  absl::flat_hash_map<std::string, int> chain_names;
  for (int i = 0; i < listener.filter_chains_size(); ++i) {
    const FilterChain& chain = listener.filter_chains(i);
    const std::string chain_path = index(sub(path, "filter_chains"), i);
    checkFilterChain(chain, clusters, chain_path, errors);
    std::string key;
    chain.filter_chain_match().SerializeToString(&key);
    auto [it, inserted] = matches.emplace(key, i);
    if (!inserted) {
      errors.add(sub(chain_path, "filter_chain_match"),
                 absl::StrFormat("same match as filter_chains[%d]; every filter chain needs a "
                                 "distinct filter_chain_match",
                                 it->second));
    }
    if (!chain.name().empty()) {
      auto [name_it, name_inserted] = chain_names.emplace(chain.name(), i);
      if (!name_inserted) {
        errors.add(named(chain_path, chain.name()),
                   absl::StrFormat("duplicate filter chain name (also filter_chains[%d])",
                                   name_it->second));
      }
    }
  }
  for (int i = 0; i < listener.listener_filters_size(); ++i) {
    const auto& filter = listener.listener_filters(i);
    const std::string filter_path = named(index(sub(path, "listener_filters"), i), filter.name());
    if (filter.has_typed_config()) {
      const absl::string_view type_name = typeNameFromUrl(filter.typed_config().type_url());
      if (type_name == OriginalDst::descriptor()->full_name()) {
        auto original_dst =
            parseTypedConfig<OriginalDst>(filter.typed_config(), sub(filter_path, "typed_config"));
        errors.merge(original_dst.status());
        continue;
      }
      errors.add(sub(filter_path, "typed_config"),
                 absl::StrFormat("unknown listener filter type \"%s\"; skiff supports only %s "
                                 "(%s)",
                                 filter.typed_config().type_url(), kOriginalDstFilterName,
                                 kOriginalDstTypeUrl));
    } else if (filter.name() != kOriginalDstFilterName) {
      errors.add(filter_path, absl::StrFormat("listener filter not supported; skiff supports only "
                                              "%s (%s)",
                                              kOriginalDstFilterName, kOriginalDstTypeUrl));
    }
  }
  if (listener.has_bind_to_port() && !listener.bind_to_port().value() &&
      listener.address().socket_address().port_value() == 0) {
    errors.add(sub(path, "address.socket_address.port_value"),
               "required with bind_to_port: false (the listener only receives connections handed "
               "off for this address)");
  }
  if (listener.has_listener_filters_timeout()) {
    checkDuration(listener.listener_filters_timeout(), sub(path, "listener_filters_timeout"), false,
                  errors);
  }
  if (!Listener::DrainType_IsValid(listener.drain_type())) {
    errors.add(sub(path, "drain_type"),
               absl::StrFormat("unknown value %d", static_cast<int>(listener.drain_type())));
  }
  if (!envoy::config::core::v3::TrafficDirection_IsValid(listener.traffic_direction())) {
    errors.add(sub(path, "traffic_direction"),
               absl::StrFormat("unknown value %d", static_cast<int>(listener.traffic_direction())));
  }
  if (listener.has_connection_balance_config() &&
      !listener.connection_balance_config().has_exact_balance()) {
    errors.add(sub(path, "connection_balance_config"), "must set exact_balance");
  }
  return errors.status();
}

absl::Status validateCluster(const Cluster& cluster, absl::string_view path) {
  Errors errors;
  checkCluster(cluster, std::string(path), errors);
  return errors.status();
}

absl::Status validateClusterLoadAssignment(const ClusterLoadAssignment& assignment,
                                           absl::string_view path, bool require_ip) {
  Errors errors;
  checkLoadAssignment(assignment, std::string(path),
                      require_ip ? AddressUse::UpstreamIp : AddressUse::UpstreamDns, errors);
  return errors.status();
}

absl::Status validateRouteConfiguration(const envoy::config::route::v3::RouteConfiguration& config,
                                        const KnownClusters& clusters,
                                        bool validate_clusters_default, absl::string_view path) {
  Router::RouteTableOptions options;
  options.validate_clusters_default = validate_clusters_default;
  options.cluster_exists = [&clusters](absl::string_view name) { return clusters.contains(name); };
  options.error_context = std::string(path);
  return Router::RouteTable::create(config, options).status();
}

absl::Status validateAccessLog(const envoy::config::accesslog::v3::AccessLog& access_log,
                               absl::string_view path) {
  return AccessLog::validateAccessLog(access_log, path);
}

absl::Status validateBootstrap(const Bootstrap& bootstrap) {
  Errors errors;
  const auto& resources = bootstrap.static_resources();
  const bool have_ads = bootstrap.dynamic_resources().has_ads_config();

  // Clusters first: listeners and config sources refer to them.
  KnownClusters static_clusters;
  absl::flat_hash_map<std::string, int> cluster_index;
  for (int i = 0; i < resources.clusters_size(); ++i) {
    const Cluster& cluster = resources.clusters(i);
    const std::string path = index("static_resources.clusters", i);
    checkCluster(cluster, path, errors);
    checkNoHostnames(cluster, path, errors);
    if (cluster.name().empty()) {
      continue;
    }
    auto [it, inserted] = cluster_index.emplace(cluster.name(), i);
    if (!inserted) {
      errors.add(named(path, cluster.name()),
                 absl::StrFormat("duplicate cluster name (also static_resources.clusters[%d])",
                                 it->second));
    }
    static_clusters.add(cluster.name());
  }
  for (int i = 0; i < resources.clusters_size(); ++i) {
    const Cluster& cluster = resources.clusters(i);
    if (cluster.type() == Cluster::EDS && cluster.eds_cluster_config().has_eds_config()) {
      checkConfigSource(cluster.eds_cluster_config().eds_config(), static_clusters, have_ads,
                        index("static_resources.clusters", i) + ".eds_cluster_config.eds_config",
                        errors);
    }
  }

  const bool dynamic_clusters = bootstrap.dynamic_resources().has_cds_config();
  const KnownClusters listener_clusters = dynamic_clusters ? KnownClusters::any() : static_clusters;
  absl::flat_hash_map<std::string, int> listener_index;
  absl::flat_hash_map<std::string, int> listener_address;
  for (int i = 0; i < resources.listeners_size(); ++i) {
    const Listener& listener = resources.listeners(i);
    const std::string path = index("static_resources.listeners", i);
    errors.merge(validateListener(listener, listener_clusters, path));
    if (!listener.name().empty()) {
      auto [it, inserted] = listener_index.emplace(listener.name(), i);
      if (!inserted) {
        errors.add(named(path, listener.name()),
                   absl::StrFormat("duplicate listener name (also static_resources.listeners[%d])",
                                   it->second));
      }
    }
    const std::string key = addressKey(listener.address());
    if (!key.empty()) {
      auto [it, inserted] = listener_address.emplace(key, i);
      if (!inserted) {
        errors.add(sub(path, "address"),
                   absl::StrFormat("%s is already used by static_resources.listeners[%d]", key,
                                   it->second));
      }
    }
  }

  if (bootstrap.has_admin() && bootstrap.admin().has_address()) {
    checkAddress(bootstrap.admin().address(), "admin.address", AddressUse::Bind, errors);
    const std::string key = addressKey(bootstrap.admin().address());
    auto it = listener_address.find(key);
    if (!key.empty() && it != listener_address.end()) {
      errors.add("admin.address", absl::StrFormat("%s is already used by static_resources."
                                                  "listeners[%d]",
                                                  key, it->second));
    }
  }

  if (bootstrap.has_dynamic_resources()) {
    const auto& dynamic = bootstrap.dynamic_resources();
    if (dynamic.has_ads_config()) {
      checkApiConfigSource(dynamic.ads_config(), static_clusters, "dynamic_resources.ads_config",
                           errors);
    }
    if (dynamic.has_lds_config()) {
      checkConfigSource(dynamic.lds_config(), static_clusters, have_ads,
                        "dynamic_resources.lds_config", errors);
    }
    if (dynamic.has_cds_config()) {
      checkConfigSource(dynamic.cds_config(), static_clusters, have_ads,
                        "dynamic_resources.cds_config", errors);
    }
  }
  if (bootstrap.has_stats_flush_interval()) {
    checkDuration(bootstrap.stats_flush_interval(), "stats_flush_interval", true, errors);
  }
  if (bootstrap.has_overload_manager()) {
    errors.merge(validateOverloadManager(bootstrap.overload_manager()));
  }
  if (bootstrap.has_layered_runtime()) {
    errors.merge(RuntimeSnapshot::create(bootstrap.layered_runtime()).status());
  }
  return errors.status();
}

}  // namespace Skiff::Config
