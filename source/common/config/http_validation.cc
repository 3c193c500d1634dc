#include "source/common/config/http_validation.h"

#include <algorithm>
#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "envoy/extensions/filters/http/router/v3/router.pb.h"
#include "envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.pb.h"
#include "envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.pb.h"
#include "source/common/config/utility.h"

namespace Skiff::Config {

using envoy::config::listener::v3::Listener;
using envoy::config::route::v3::Route;
using envoy::config::route::v3::RouteAction;
using envoy::config::route::v3::RouteConfiguration;
using envoy::config::route::v3::RouteMatch;
using envoy::config::route::v3::VirtualHost;
using envoy::extensions::filters::http::router::v3::Router;
using envoy::extensions::filters::network::http_connection_manager::v3::HttpConnectionManager;
using envoy::extensions::filters::network::tcp_proxy::v3::TcpProxy;

namespace {

constexpr absl::string_view kHcmFilterName = "envoy.filters.network.http_connection_manager";

// Field-path helpers, in the style of source/common/config/validation.cc.
std::string sub(absl::string_view path, absl::string_view field) {
  return path.empty() ? std::string(field) : absl::StrCat(path, ".", field);
}
std::string index(absl::string_view path, size_t i) { return absl::StrCat(path, "[", i, "]"); }

bool isTypeUrlOf(const google::protobuf::Any& any, const google::protobuf::Descriptor* descriptor) {
  return typeNameFromUrl(any.type_url()) == descriptor->full_name();
}

// ---- RouteConfiguration ------------------------------------------------------------------------

void checkClusterReference(const std::string& cluster, const SetNames& names,
                           const std::string& path, std::vector<std::string>& errors) {
  if (cluster.empty()) {
    errors.push_back(absl::StrCat(path, ": must not be empty"));
  } else if (!names.clusters.contains(cluster)) {
    errors.push_back(
        absl::StrFormat("%s: unknown cluster \"%s\" (not defined in this group)", path, cluster));
  }
}

void checkRouteAction(const RouteAction& action, const SetNames& names, const std::string& path,
                      std::vector<std::string>& errors) {
  switch (action.cluster_specifier_case()) {
    case RouteAction::kCluster:
      checkClusterReference(action.cluster(), names, sub(path, "cluster"), errors);
      break;
    case RouteAction::kClusterHeader:
      if (action.cluster_header().empty()) {
        errors.push_back(absl::StrCat(sub(path, "cluster_header"), ": must not be empty"));
      }
      break;
    case RouteAction::kWeightedClusters: {
      const auto& weighted = action.weighted_clusters();
      const std::string clusters_path = sub(sub(path, "weighted_clusters"), "clusters");
      if (weighted.clusters_size() == 0) {
        errors.push_back(absl::StrCat(clusters_path, ": at least one cluster is required"));
      }
      uint64_t total = 0;
      for (int i = 0; i < weighted.clusters_size(); ++i) {
        const auto& entry = weighted.clusters(i);
        checkClusterReference(entry.name(), names, sub(index(clusters_path, i), "name"), errors);
        total += entry.has_weight() ? entry.weight().value() : 0;
      }
      if (weighted.clusters_size() > 0 && total == 0) {
        errors.push_back(absl::StrCat(clusters_path, ": the weights add up to 0"));
      } else if (total > UINT32_MAX) {
        errors.push_back(absl::StrCat(clusters_path, ": the weights add up to more than 2^32-1"));
      }
      break;
    }
    case RouteAction::CLUSTER_SPECIFIER_NOT_SET:
      errors.push_back(
          absl::StrCat(path, ": one of cluster, cluster_header or weighted_clusters is required"));
      break;
  }
  for (const auto* field : {"timeout", "idle_timeout"}) {
    const auto* descriptor = RouteAction::descriptor()->FindFieldByName(field);
    if (action.GetReflection()->HasField(action, descriptor)) {
      const auto& duration = static_cast<const google::protobuf::Duration&>(
          action.GetReflection()->GetMessage(action, descriptor));
      if (!isValidNonNegativeDuration(duration)) {
        errors.push_back(absl::StrCat(sub(path, field), ": must be a valid duration >= 0"));
      }
    }
  }
}

void checkRouteMatch(const RouteMatch& match, const std::string& path,
                     std::vector<std::string>& errors) {
  switch (match.path_specifier_case()) {
    case RouteMatch::kPath:
      if (!absl::StartsWith(match.path(), "/")) {
        errors.push_back(
            absl::StrFormat("%s: \"%s\" must start with '/'", sub(path, "path"), match.path()));
      }
      break;
    case RouteMatch::kSafeRegex:
      if (match.safe_regex().regex().empty()) {
        errors.push_back(
            absl::StrCat(sub(sub(path, "safe_regex"), "regex"), ": must not be empty"));
      }
      break;
    case RouteMatch::kPrefix:
    case RouteMatch::kPathSeparatedPrefix:
      break;
    case RouteMatch::PATH_SPECIFIER_NOT_SET:
      errors.push_back(absl::StrCat(
          path, ": one of prefix, path, safe_regex or path_separated_prefix is required"));
      break;
  }
}

// A domain is "*", or has at most one '*' and only as its first or last character.
bool isValidDomain(absl::string_view domain) {
  if (domain.empty()) {
    return false;
  }
  const size_t stars = std::count(domain.begin(), domain.end(), '*');
  if (stars == 0 || domain == "*") {
    return true;
  }
  return stars == 1 && (domain.front() == '*' || domain.back() == '*');
}

void checkVirtualHost(const VirtualHost& vhost, const SetNames& names, const std::string& path,
                      std::vector<std::string>& errors) {
  if (vhost.domains_size() == 0) {
    errors.push_back(absl::StrCat(sub(path, "domains"), ": at least one domain is required"));
  }
  for (int i = 0; i < vhost.domains_size(); ++i) {
    if (!isValidDomain(vhost.domains(i))) {
      errors.push_back(absl::StrFormat(
          "%s: \"%s\" is not a valid domain (a name, \"*\", or one '*' at the start or end)",
          index(sub(path, "domains"), i), vhost.domains(i)));
    }
  }
  for (int i = 0; i < vhost.routes_size(); ++i) {
    const Route& route = vhost.routes(i);
    const std::string route_path = index(sub(path, "routes"), i);
    if (!route.has_match()) {
      errors.push_back(absl::StrCat(sub(route_path, "match"), ": required"));
    } else {
      checkRouteMatch(route.match(), sub(route_path, "match"), errors);
    }
    switch (route.action_case()) {
      case Route::kRoute:
        checkRouteAction(route.route(), names, sub(route_path, "route"), errors);
        break;
      case Route::kDirectResponse:
        if (route.direct_response().status() < 200 || route.direct_response().status() >= 600) {
          errors.push_back(absl::StrFormat("%s: %d is not a valid HTTP status (200-599)",
                                           sub(sub(route_path, "direct_response"), "status"),
                                           route.direct_response().status()));
        }
        break;
      case Route::kRedirect:
        break;
      case Route::ACTION_NOT_SET:
        errors.push_back(
            absl::StrCat(route_path, ": one of route, redirect or direct_response is required"));
        break;
    }
  }
}

// Checks a route configuration (an RDS resource, or inline in an HTTP connection manager).
void checkRouteConfiguration(const RouteConfiguration& config, const SetNames& names,
                             const std::string& path, std::vector<std::string>& errors) {
  std::map<std::string, int> vhost_names;
  std::map<std::string, int> domains;
  for (int i = 0; i < config.virtual_hosts_size(); ++i) {
    const VirtualHost& vhost = config.virtual_hosts(i);
    const std::string vhost_path = index(sub(path, "virtual_hosts"), i);
    if (vhost.name().empty()) {
      errors.push_back(absl::StrCat(sub(vhost_path, "name"), ": must not be empty"));
    } else if (auto [it, inserted] = vhost_names.emplace(vhost.name(), i); !inserted) {
      errors.push_back(
          absl::StrFormat("%s: duplicate virtual host name \"%s\" (also "
                          "virtual_hosts[%d])",
                          sub(vhost_path, "name"), vhost.name(), it->second));
    }
    for (int d = 0; d < vhost.domains_size(); ++d) {
      // Host matching ignores case, so "Example.com" and "example.com" are the same domain.
      if (auto [it, inserted] = domains.emplace(absl::AsciiStrToLower(vhost.domains(d)), i);
          !inserted) {
        errors.push_back(absl::StrFormat("%s: domain \"%s\" is also in virtual_hosts[%d]",
                                         index(sub(vhost_path, "domains"), d), vhost.domains(d),
                                         it->second));
      }
    }
    checkVirtualHost(vhost, names, vhost_path, errors);
  }
}

// ---- HttpConnectionManager ---------------------------------------------------------------------

// `api_listener`: the HCM of a gRPC client's API listener, where gRPC wants RDS over ADS and has
// no use for stat_prefix.
void checkHttpConnectionManager(const HttpConnectionManager& hcm, const SetNames& names,
                                bool api_listener, const std::string& path,
                                std::vector<std::string>& errors) {
  if (!api_listener && hcm.stat_prefix().empty()) {
    errors.push_back(absl::StrCat(sub(path, "stat_prefix"), ": must not be empty"));
  }
  if (!HttpConnectionManager::CodecType_IsValid(hcm.codec_type())) {
    errors.push_back(absl::StrFormat("%s: unknown value %d", sub(path, "codec_type"),
                                     static_cast<int>(hcm.codec_type())));
  }
  switch (hcm.route_specifier_case()) {
    case HttpConnectionManager::kRds: {
      const auto& rds = hcm.rds();
      const std::string rds_path = sub(path, "rds");
      if (rds.route_config_name().empty()) {
        errors.push_back(absl::StrCat(sub(rds_path, "route_config_name"), ": must not be empty"));
      } else if (!names.routes.contains(rds.route_config_name())) {
        errors.push_back(absl::StrFormat(
            "%s: unknown route configuration \"%s\" (no RouteConfiguration of that name in this "
            "group)",
            sub(rds_path, "route_config_name"), rds.route_config_name()));
      }
      if (!rds.has_config_source()) {
        errors.push_back(
            absl::StrCat(sub(rds_path, "config_source"),
                         ": required (usually `ads: {}`: routes come over the same ADS stream)"));
      } else if (api_listener && !rds.config_source().has_ads()) {
        errors.push_back(absl::StrCat(sub(rds_path, "config_source"),
                                      ": gRPC clients only accept `ads: {}` here"));
      }
      break;
    }
    case HttpConnectionManager::kRouteConfig:
      checkRouteConfiguration(hcm.route_config(), names, sub(path, "route_config"), errors);
      break;
    case HttpConnectionManager::ROUTE_SPECIFIER_NOT_SET:
      errors.push_back(absl::StrCat(path, ": one of rds or route_config is required"));
      break;
  }

  const std::string filters_path = sub(path, "http_filters");
  if (hcm.http_filters_size() == 0) {
    errors.push_back(absl::StrCat(filters_path,
                                  ": at least the router filter (envoy.filters.http.router, "
                                  "typed_config ",
                                  typeUrl<Router>(), ") is required, as the last filter"));
  }
  std::map<std::string, int> filter_names;
  for (int i = 0; i < hcm.http_filters_size(); ++i) {
    const auto& filter = hcm.http_filters(i);
    const std::string filter_path = index(filters_path, i);
    const bool last = i + 1 == hcm.http_filters_size();
    if (filter.name().empty()) {
      errors.push_back(absl::StrCat(sub(filter_path, "name"), ": must not be empty"));
    } else if (auto [it, inserted] = filter_names.emplace(filter.name(), i); !inserted) {
      errors.push_back(
          absl::StrFormat("%s: duplicate HTTP filter name \"%s\" (also "
                          "http_filters[%d])",
                          sub(filter_path, "name"), filter.name(), it->second));
    }
    if (!filter.has_typed_config()) {
      errors.push_back(
          absl::StrFormat("%s: required (filter \"%s\"); clients pick the filter by "
                          "its type",
                          sub(filter_path, "typed_config"), filter.name()));
      continue;
    }
    const bool is_router = isTypeUrlOf(filter.typed_config(), Router::descriptor());
    if (is_router && !last) {
      errors.push_back(
          absl::StrFormat("%s: the router filter (\"%s\") must be the last HTTP "
                          "filter",
                          filter_path, filter.name()));
    } else if (!is_router && last) {
      errors.push_back(
          absl::StrFormat("%s: the last HTTP filter must be the router (typed_config %s), not %s",
                          filter_path, typeUrl<Router>(), filter.typed_config().type_url()));
    } else if (!is_router) {
      errors.push_back(absl::StrFormat("%s: HTTP filter type %s is not supported (only the router)",
                                       sub(filter_path, "typed_config"),
                                       filter.typed_config().type_url()));
    }
  }
}

// ---- Listener ----------------------------------------------------------------------------------

// The cluster of the tcp_proxy placeholders that stand in for HTTP connection managers (and for
// the filter chain an API listener has not) when the shared listener validator runs. No real
// cluster name starts with \x01.
constexpr absl::string_view kPlaceholderCluster = "\x01placeholder";

KnownClusters withPlaceholder(const SetNames& names) {
  KnownClusters clusters = names.clusters;
  clusters.add(kPlaceholderCluster);
  return clusters;
}

void checkListener(const Listener& listener, const SetNames& names, const std::string& path,
                   std::vector<std::string>& errors) {
  if (listener.has_api_listener()) {
    const std::string api_path = sub(path, "api_listener.api_listener");
    if (listener.filter_chains_size() > 0) {
      errors.push_back(absl::StrCat(sub(path, "filter_chains"),
                                    ": not used with api_listener (its HTTP connection manager "
                                    "lives in api_listener.api_listener)"));
    }
    auto hcm =
        parseTypedConfig<HttpConnectionManager>(listener.api_listener().api_listener(), api_path);
    if (!hcm.ok()) {
      errors.emplace_back(hcm.status().message());
    } else {
      checkHttpConnectionManager(*hcm, names, /*api_listener=*/true, api_path, errors);
    }
    // The address of an API listener is optional (gRPC ignores it); if given it must be valid.
    // The shared validator checks it on a copy whose one filter chain is a valid placeholder.
    if (listener.has_address()) {
      Listener address_only;
      address_only.set_name(listener.name());
      *address_only.mutable_address() = listener.address();
      TcpProxy placeholder;
      placeholder.set_stat_prefix("api_listener");
      placeholder.set_cluster(std::string(kPlaceholderCluster));
      auto* filter = address_only.add_filter_chains()->add_filters();
      filter->set_name("api_listener");
      filter->mutable_typed_config()->PackFrom(placeholder);
      const auto status = validateListener(address_only, withPlaceholder(names), path);
      if (!status.ok()) {
        errors.emplace_back(status.message());
      }
    }
    return;
  }

  // Network listener. The shared validator knows tcp_proxy (and every listener-level rule); it
  // sees each http_connection_manager as a terminal tcp_proxy placeholder, and the HCM itself is
  // checked here.
  Listener for_shared = listener;
  for (int c = 0; c < listener.filter_chains_size(); ++c) {
    for (int f = 0; f < listener.filter_chains(c).filters_size(); ++f) {
      const auto& filter = listener.filter_chains(c).filters(f);
      if (!filter.has_typed_config() ||
          !isTypeUrlOf(filter.typed_config(), HttpConnectionManager::descriptor())) {
        continue;
      }
      const std::string config_path =
          sub(index(sub(index(sub(path, "filter_chains"), c), "filters"), f), "typed_config");
      auto hcm = parseTypedConfig<HttpConnectionManager>(filter.typed_config(), config_path);
      if (!hcm.ok()) {
        errors.emplace_back(hcm.status().message());
      } else {
        checkHttpConnectionManager(*hcm, names, /*api_listener=*/false, config_path, errors);
      }
      TcpProxy placeholder;
      placeholder.set_stat_prefix(std::string(kHcmFilterName));
      placeholder.set_cluster(std::string(kPlaceholderCluster));
      for_shared.mutable_filter_chains(c)->mutable_filters(f)->mutable_typed_config()->PackFrom(
          placeholder);
    }
  }
  const auto status = validateListener(for_shared, withPlaceholder(names), path);
  if (!status.ok()) {
    errors.emplace_back(status.message());
  }
}

}  // namespace

void validateRouteConfigurationInSet(const RouteConfiguration& config, const SetNames& names,
                                     const std::string& path, std::vector<std::string>& errors) {
  checkRouteConfiguration(config, names, path, errors);
}

void validateListenerInSet(const Listener& listener, const SetNames& names, const std::string& path,
                           std::vector<std::string>& errors) {
  checkListener(listener, names, path, errors);
}

}  // namespace Skiff::Config
