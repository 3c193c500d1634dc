#include "source/common/router/config_impl.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "source/common/config/datasource.h"
#include "source/common/config/utility.h"
#include "source/common/router/config_errors.h"

// Envoy's deprecated fields (exact_match, append, total_weight, format, ...) are still part of the
// API skiff accepts; reading them is intended.
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

namespace Skiff::Router {
namespace {

using envoy::config::route::v3::DirectResponseAction;
using envoy::config::route::v3::RedirectAction;
using envoy::config::route::v3::Route;
using envoy::config::route::v3::RouteAction;
using envoy::config::route::v3::RouteConfiguration;
using envoy::config::route::v3::RouteMatch;

// Hosts longer than this are lower-cased into a heap string instead of the stack.
constexpr size_t kHostBufferSize = 256;

const RetryPolicy& noRetryPolicy() {
  static const auto* policy = [] {
    auto* p = new RetryPolicy();
    p->num_retries = 0;
    return p;
  }();
  return *policy;
}

// The path without query string and fragment.
absl::string_view pathOnly(absl::string_view path) {
  const size_t end = path.find_first_of("?#");
  return end == absl::string_view::npos ? path : path.substr(0, end);
}

// Where the port starts in a Host value ("host:port", "[v6]:port"), or npos.
size_t portStart(absl::string_view host) {
  const size_t colon = host.rfind(':');
  if (colon == absl::string_view::npos) {
    return colon;
  }
  const size_t bracket = host.rfind(']');
  if (bracket != absl::string_view::npos && bracket > colon) {
    return absl::string_view::npos;  // a colon inside an IPv6 literal
  }
  return colon;
}

bool isGrpcRequest(const Http::RequestHeaderMap& headers) {
  const absl::string_view* content_type = headers.get("content-type");
  if (content_type == nullptr) {
    return false;
  }
  constexpr absl::string_view kGrpc = "application/grpc";
  return absl::StartsWith(*content_type, kGrpc) &&
         (content_type->size() == kGrpc.size() || (*content_type)[kGrpc.size()] == '+' ||
          (*content_type)[kGrpc.size()] == ';');
}

void checkDuration(const google::protobuf::Duration& duration, const std::string& path,
                   ConfigErrors& errors) {
  if (!Config::isValidNonNegativeDuration(duration)) {
    errors.add(path, absl::StrFormat("invalid duration (seconds %d, nanos %d): must be >= 0",
                                     duration.seconds(), duration.nanos()));
  }
}

bool isValidHost(absl::string_view host) {
  return !host.empty() && isValidHeaderValue(host) &&
         host.find_first_of(" /?#@") == absl::string_view::npos;
}

}  // namespace

// Builds a RouteTable from its proto, collecting every error.
class RouteTableBuilder {
 public:
  RouteTableBuilder(const RouteConfiguration& config, const RouteTableOptions& options)
      : config_(config), options_(options) {
    validate_clusters_ = config.has_validate_clusters() ? config.validate_clusters().value()
                                                        : options.validate_clusters_default;
    max_body_size_ = config.has_max_direct_response_body_size_bytes()
                         ? config.max_direct_response_body_size_bytes().value()
                         : kDefaultMaxDirectResponseBodySizeBytes;
    root_ = options.error_context.empty() ? absl::StrFormat("route_config \"%s\"", config.name())
                                          : options.error_context;
  }

  absl::StatusOr<RouteTableConstSharedPtr> build() {
    auto table = std::shared_ptr<RouteTable>(new RouteTable());
    table->name_ = config_.name();
    table->ignore_port_in_host_matching_ = config_.ignore_port_in_host_matching();
    table->most_specific_header_mutations_wins_ = config_.most_specific_header_mutations_wins();
    for (int i = 0; i < config_.internal_only_headers_size(); ++i) {
      const std::string name = absl::AsciiStrToLower(config_.internal_only_headers(i));
      if (!isValidHeaderName(name)) {
        errors_.add(
            absl::StrCat(fieldPath(root_, "internal_only_headers"), "[", i, "]"),
            absl::StrFormat("\"%s\" is not a valid header name", config_.internal_only_headers(i)));
      }
      table->internal_only_headers_.push_back(name);
    }
    table->request_headers_ = mutations(config_.request_headers_to_add(),
                                        config_.request_headers_to_remove(), root_, "request");
    table->response_headers_ = mutations(config_.response_headers_to_add(),
                                         config_.response_headers_to_remove(), root_, "response");

    // Which virtual host claimed each domain, for duplicate errors.
    absl::flat_hash_map<std::string, std::string> domain_owner;
    for (int i = 0; i < config_.virtual_hosts_size(); ++i) {
      const auto& vhost_config = config_.virtual_hosts(i);
      const std::string vhost_path = elementPath(root_, "virtual_hosts", i, vhost_config.name());
      auto vhost = buildVirtualHost(vhost_config, *table, vhost_path);
      for (int d = 0; d < vhost_config.domains_size(); ++d) {
        addDomain(vhost_config.domains(d), vhost.get(), *table, domain_owner,
                  absl::StrCat(fieldPath(vhost_path, "domains"), "[", d, "]"), vhost_path);
      }
      table->virtual_hosts_.push_back(std::move(vhost));
    }
    auto longest_first = [](const auto& a, const auto& b) { return a.first > b.first; };
    std::sort(table->suffixes_.begin(), table->suffixes_.end(), longest_first);
    std::sort(table->prefixes_.begin(), table->prefixes_.end(), longest_first);
    if (!errors_.empty()) {
      return errors_.status();
    }
    return RouteTableConstSharedPtr(std::move(table));
  }

 private:
  HeaderMutationsConstPtr mutations(
      const google::protobuf::RepeatedPtrField<envoy::config::core::v3::HeaderValueOption>& add,
      const google::protobuf::RepeatedPtrField<std::string>& remove, const std::string& path,
      absl::string_view direction) {
    auto result = HeaderMutations::create(
        add, remove, fieldPath(path, absl::StrCat(direction, "_headers_to_add")),
        fieldPath(path, absl::StrCat(direction, "_headers_to_remove")));
    if (!result.ok()) {
      errors_.merge(result.status());
      return nullptr;
    }
    return std::move(*result);
  }

  static void addToWildcards(RouteTable::WildcardMaps& maps, std::string key,
                             const VirtualHost* vhost) {
    for (auto& [length, map] : maps) {
      if (length == key.size()) {
        map.emplace(std::move(key), vhost);
        return;
      }
    }
    maps.emplace_back(key.size(), RouteTable::DomainMap{});
    maps.back().second.emplace(std::move(key), vhost);
  }

  void addDomain(const std::string& domain_config, const VirtualHost* vhost, RouteTable& table,
                 absl::flat_hash_map<std::string, std::string>& owner, const std::string& path,
                 const std::string& vhost_path) {
    const std::string domain = absl::AsciiStrToLower(domain_config);
    if (domain.empty()) {
      errors_.add(path, "must not be empty");
      return;
    }
    if (!isValidHeaderValue(domain) || domain.find_first_of(" /") != std::string::npos) {
      errors_.add(path, absl::StrFormat("\"%s\" is not a valid domain", domain_config));
      return;
    }
    auto [it, inserted] = owner.emplace(domain, vhost_path);
    if (!inserted) {
      errors_.add(path, absl::StrFormat("domain \"%s\" is already used by %s; every domain may "
                                        "appear only once in a route configuration",
                                        domain_config, it->second));
      return;
    }
    if (domain == "*") {
      table.default_ = vhost;
    } else if (domain.front() == '*') {
      addToWildcards(table.suffixes_, domain.substr(1), vhost);
    } else if (domain.back() == '*') {
      addToWildcards(table.prefixes_, domain.substr(0, domain.size() - 1), vhost);
    } else {
      table.exact_.emplace(domain, vhost);
    }
  }

  std::unique_ptr<VirtualHost> buildVirtualHost(const envoy::config::route::v3::VirtualHost& config,
                                                const RouteTable& table, const std::string& path) {
    auto vhost = std::make_unique<VirtualHost>();
    vhost->name_ = config.name();
    vhost->route_table_ = &table;
    if (config.name().empty()) {
      errors_.add(fieldPath(path, "name"), "must not be empty");
    }
    if (config.domains_size() == 0) {
      errors_.add(fieldPath(path, "domains"), "at least one domain is required");
    }
    if (config.has_retry_policy()) {
      auto policy = parseRetryPolicy(config.retry_policy(), fieldPath(path, "retry_policy"));
      if (policy.ok()) {
        vhost->retry_policy_ = std::make_shared<const RetryPolicy>(std::move(*policy));
      } else {
        errors_.merge(policy.status());
      }
    }
    vhost->request_headers_ = mutations(config.request_headers_to_add(),
                                        config.request_headers_to_remove(), path, "request");
    vhost->response_headers_ = mutations(config.response_headers_to_add(),
                                         config.response_headers_to_remove(), path, "response");
    for (int i = 0; i < config.routes_size(); ++i) {
      const Route& route = config.routes(i);
      vhost->routes_.push_back(
          buildRoute(route, *vhost, elementPath(path, "routes", i, route.name())));
    }
    return vhost;
  }

  std::unique_ptr<RouteEntry> buildRoute(const Route& config, const VirtualHost& vhost,
                                         const std::string& path) {
    auto route = std::make_unique<RouteEntry>();
    route->name_ = config.name();
    route->virtual_host_ = &vhost;
    buildMatch(config.match(), *route, fieldPath(path, "match"));
    switch (config.action_case()) {
      case Route::kRoute:
        route->action_ = RouteEntry::Action::Route;
        buildRouteAction(config.route(), *route, fieldPath(path, "route"));
        break;
      case Route::kRedirect:
        route->action_ = RouteEntry::Action::Redirect;
        buildRedirect(config.redirect(), *route, fieldPath(path, "redirect"));
        break;
      case Route::kDirectResponse:
        route->action_ = RouteEntry::Action::DirectResponse;
        buildDirectResponse(config.direct_response(), *route, fieldPath(path, "direct_response"));
        break;
      case Route::ACTION_NOT_SET:
        errors_.add(path, "must set one of route, redirect or direct_response");
        break;
    }
    route->request_headers_ = mutations(config.request_headers_to_add(),
                                        config.request_headers_to_remove(), path, "request");
    route->response_headers_ = mutations(config.response_headers_to_add(),
                                         config.response_headers_to_remove(), path, "response");
    if (route->retry_policy_ == nullptr) {
      route->retry_policy_ = vhost.retry_policy_ != nullptr
                                 ? vhost.retry_policy_
                                 : std::shared_ptr<const RetryPolicy>(
                                       std::shared_ptr<const RetryPolicy>(), &noRetryPolicy());
    }
    return route;
  }

  void buildMatch(const RouteMatch& config, RouteEntry& route, const std::string& path) {
    route.case_sensitive_ = !config.has_case_sensitive() || config.case_sensitive().value();
    switch (config.path_specifier_case()) {
      case RouteMatch::kPrefix:
        route.path_match_ = RouteEntry::PathMatch::Prefix;
        route.path_value_ = config.prefix();
        checkPathValue(config.prefix(), fieldPath(path, "prefix"));
        break;
      case RouteMatch::kPath:
        route.path_match_ = RouteEntry::PathMatch::Path;
        route.path_value_ = config.path();
        checkPathValue(config.path(), fieldPath(path, "path"));
        break;
      case RouteMatch::kSafeRegex: {
        route.path_match_ = RouteEntry::PathMatch::Regex;
        auto regex = compileRegex(config.safe_regex(), fieldPath(path, "safe_regex"));
        if (regex.ok()) {
          route.path_regex_ = std::move(*regex);
        } else {
          errors_.merge(regex.status());
        }
        break;
      }
      case RouteMatch::kPathSeparatedPrefix: {
        route.path_match_ = RouteEntry::PathMatch::PathSeparatedPrefix;
        const std::string& prefix = config.path_separated_prefix();
        route.path_value_ = prefix;
        if (prefix.size() < 2 || prefix.front() != '/' || prefix.back() == '/' ||
            prefix.find_first_of("?#") != std::string::npos) {
          errors_.add(fieldPath(path, "path_separated_prefix"),
                      absl::StrFormat("\"%s\" must start with '/', not end with '/', and contain "
                                      "no '?' or '#'",
                                      prefix));
        }
        break;
      }
      case RouteMatch::PATH_SPECIFIER_NOT_SET:
        errors_.add(path, "must set prefix, path, safe_regex or path_separated_prefix");
        break;
    }
    for (int i = 0; i < config.headers_size(); ++i) {
      auto matcher = HeaderMatcher::create(config.headers(i),
                                           absl::StrCat(fieldPath(path, "headers"), "[", i, "]"));
      if (matcher.ok()) {
        route.header_matchers_.push_back(std::move(*matcher));
      } else {
        errors_.merge(matcher.status());
      }
    }
    for (int i = 0; i < config.query_parameters_size(); ++i) {
      auto matcher = QueryParameterMatcher::create(
          config.query_parameters(i),
          absl::StrCat(fieldPath(path, "query_parameters"), "[", i, "]"));
      if (matcher.ok()) {
        route.query_matchers_.push_back(std::move(*matcher));
      } else {
        errors_.merge(matcher.status());
      }
    }
    route.grpc_only_ = config.has_grpc();
  }

  void checkPathValue(const std::string& value, const std::string& path) {
    if (!isValidHeaderValue(value)) {
      errors_.add(path, "must not contain CR, LF or NUL");
    }
  }

  void checkCluster(const std::string& name, const std::string& path) {
    if (name.empty()) {
      errors_.add(path, "must not be empty");
    } else if (validate_clusters_ && options_.cluster_exists != nullptr &&
               !options_.cluster_exists(name)) {
      errors_.add(path, absl::StrFormat("unknown cluster \"%s\" (validate_clusters is on; turn it "
                                        "off to answer requests for it with "
                                        "cluster_not_found_response_code instead)",
                                        name));
    }
  }

  void buildRouteAction(const RouteAction& config, RouteEntry& route, const std::string& path) {
    switch (config.cluster_specifier_case()) {
      case RouteAction::kCluster:
        route.cluster_name_ = config.cluster();
        checkCluster(config.cluster(), fieldPath(path, "cluster"));
        break;
      case RouteAction::kClusterHeader:
        route.cluster_header_ = absl::AsciiStrToLower(config.cluster_header());
        if (!isValidHeaderName(route.cluster_header_)) {
          errors_.add(
              fieldPath(path, "cluster_header"),
              absl::StrFormat("\"%s\" is not a valid header name", config.cluster_header()));
        }
        break;
      case RouteAction::kWeightedClusters:
        buildWeightedClusters(config.weighted_clusters(), route,
                              fieldPath(path, "weighted_clusters"));
        break;
      case RouteAction::CLUSTER_SPECIFIER_NOT_SET:
        errors_.add(path, "must set cluster, cluster_header or weighted_clusters");
        break;
    }
    switch (config.cluster_not_found_response_code()) {
      case RouteAction::SERVICE_UNAVAILABLE:
        route.cluster_not_found_response_code_ = 503;
        break;
      case RouteAction::NOT_FOUND:
        route.cluster_not_found_response_code_ = 404;
        break;
      case RouteAction::INTERNAL_SERVER_ERROR:
        route.cluster_not_found_response_code_ = 500;
        break;
      default:
        errors_.add(fieldPath(path, "cluster_not_found_response_code"),
                    absl::StrFormat("unknown value %d",
                                    static_cast<int>(config.cluster_not_found_response_code())));
    }
    if (!config.prefix_rewrite().empty() && config.has_regex_rewrite()) {
      errors_.add(path, "prefix_rewrite and regex_rewrite are mutually exclusive");
    }
    route.prefix_rewrite_ = config.prefix_rewrite();
    checkPathValue(config.prefix_rewrite(), fieldPath(path, "prefix_rewrite"));
    if (config.has_regex_rewrite()) {
      buildRegexRewrite(config.regex_rewrite(), route, fieldPath(path, "regex_rewrite"));
    }
    switch (config.host_rewrite_specifier_case()) {
      case RouteAction::kHostRewriteLiteral:
        route.host_rewrite_literal_ = config.host_rewrite_literal();
        if (!isValidHost(config.host_rewrite_literal())) {
          errors_.add(fieldPath(path, "host_rewrite_literal"),
                      absl::StrFormat("\"%s\" is not a valid host", config.host_rewrite_literal()));
        }
        break;
      case RouteAction::kAutoHostRewrite:
        route.auto_host_rewrite_ = config.auto_host_rewrite().value();
        break;
      case RouteAction::HOST_REWRITE_SPECIFIER_NOT_SET:
        break;
    }
    if (config.has_timeout()) {
      checkDuration(config.timeout(), fieldPath(path, "timeout"), errors_);
      route.timeout_ = Config::durationToMillisecondsOr(config.timeout(), kDefaultRouteTimeout);
    }
    if (config.has_idle_timeout()) {
      checkDuration(config.idle_timeout(), fieldPath(path, "idle_timeout"), errors_);
      route.idle_timeout_ =
          Config::durationToMillisecondsOr(config.idle_timeout(), std::chrono::milliseconds(0));
    }
    if (config.has_retry_policy()) {
      auto policy = parseRetryPolicy(config.retry_policy(), fieldPath(path, "retry_policy"));
      if (policy.ok()) {
        route.retry_policy_ = std::make_shared<const RetryPolicy>(std::move(*policy));
      } else {
        errors_.merge(policy.status());
      }
    }
    for (int i = 0; i < config.upgrade_configs_size(); ++i) {
      const auto& upgrade = config.upgrade_configs(i);
      const std::string upgrade_path =
          absl::StrCat(fieldPath(path, "upgrade_configs"), "[", i, "]");
      std::string type = absl::AsciiStrToLower(upgrade.upgrade_type());
      if (type.empty()) {
        errors_.add(fieldPath(upgrade_path, "upgrade_type"), "must not be empty");
        continue;
      }
      bool duplicate = false;
      for (const auto& [existing, enabled] : route.upgrades_) {
        duplicate |= existing == type;
      }
      if (duplicate) {
        errors_.add(fieldPath(upgrade_path, "upgrade_type"),
                    absl::StrFormat("duplicate upgrade \"%s\"", upgrade.upgrade_type()));
        continue;
      }
      route.upgrades_.emplace_back(std::move(type),
                                   !upgrade.has_enabled() || upgrade.enabled().value());
    }
  }

  void buildRegexRewrite(const envoy::type::matcher::v3::RegexMatchAndSubstitute& config,
                         RouteEntry& route, const std::string& path) {
    auto regex = compileRegex(config.pattern(), fieldPath(path, "pattern"));
    if (!regex.ok()) {
      errors_.merge(regex.status());
      return;
    }
    std::string why;
    if (!(*regex)->CheckRewriteString(config.substitution(), &why)) {
      errors_.add(fieldPath(path, "substitution"),
                  absl::StrFormat("\"%s\": %s", config.substitution(), why));
      return;
    }
    route.regex_rewrite_ = std::move(*regex);
    route.regex_rewrite_substitution_ = config.substitution();
  }

  void buildWeightedClusters(const envoy::config::route::v3::WeightedCluster& config,
                             RouteEntry& route, const std::string& path) {
    const std::string clusters_path = fieldPath(path, "clusters");
    if (config.clusters_size() == 0) {
      errors_.add(clusters_path, "at least one cluster is required");
      return;
    }
    uint64_t total = 0;
    for (int i = 0; i < config.clusters_size(); ++i) {
      const auto& cluster = config.clusters(i);
      const std::string cluster_path = absl::StrCat(clusters_path, "[", i, "]");
      WeightedClusterEntry entry;
      entry.name_ = cluster.name();
      checkCluster(cluster.name(), fieldPath(cluster_path, "name"));
      entry.weight_ = cluster.has_weight() ? cluster.weight().value() : 0;
      total += entry.weight_;
      if (cluster.has_host_rewrite_literal()) {
        entry.host_rewrite_literal_ = cluster.host_rewrite_literal();
        if (!isValidHost(cluster.host_rewrite_literal())) {
          errors_.add(
              fieldPath(cluster_path, "host_rewrite_literal"),
              absl::StrFormat("\"%s\" is not a valid host", cluster.host_rewrite_literal()));
        }
      }
      entry.request_headers_ =
          mutations(cluster.request_headers_to_add(), cluster.request_headers_to_remove(),
                    cluster_path, "request");
      entry.response_headers_ =
          mutations(cluster.response_headers_to_add(), cluster.response_headers_to_remove(),
                    cluster_path, "response");
      route.weighted_clusters_.push_back(std::move(entry));
    }
    if (total == 0) {
      errors_.add(clusters_path, "the sum of the weights must be greater than 0");
    } else if (total > UINT32_MAX) {
      errors_.add(clusters_path,
                  absl::StrFormat("the sum of the weights (%d) must fit in 32 bits", total));
    }
    if (config.has_total_weight() && config.total_weight().value() != total) {
      errors_.add(fieldPath(path, "total_weight"),
                  absl::StrFormat("%d is not the sum of the weights (%d)",
                                  config.total_weight().value(), total));
    }
    route.total_cluster_weight_ = static_cast<uint32_t>(std::min<uint64_t>(total, UINT32_MAX));
  }

  void buildRedirect(const RedirectAction& config, RouteEntry& route, const std::string& path) {
    switch (config.scheme_rewrite_specifier_case()) {
      case RedirectAction::kHttpsRedirect:
        if (config.https_redirect()) {
          route.scheme_redirect_ = "https";
        }
        break;
      case RedirectAction::kSchemeRedirect: {
        route.scheme_redirect_ = absl::AsciiStrToLower(config.scheme_redirect());
        const bool valid =
            !route.scheme_redirect_.empty() &&
            absl::ascii_isalpha(static_cast<unsigned char>(route.scheme_redirect_[0])) &&
            std::all_of(route.scheme_redirect_.begin(), route.scheme_redirect_.end(), [](char c) {
              return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '-' ||
                     c == '.';
            });
        if (!valid) {
          errors_.add(
              fieldPath(path, "scheme_redirect"),
              absl::StrFormat("\"%s\" is not a valid URI scheme", config.scheme_redirect()));
        }
        break;
      }
      case RedirectAction::SCHEME_REWRITE_SPECIFIER_NOT_SET:
        break;
    }
    route.host_redirect_ = config.host_redirect();
    if (!config.host_redirect().empty() && !isValidHost(config.host_redirect())) {
      errors_.add(fieldPath(path, "host_redirect"),
                  absl::StrFormat("\"%s\" is not a valid host", config.host_redirect()));
    }
    if (config.port_redirect() > 65535) {
      errors_.add(fieldPath(path, "port_redirect"),
                  absl::StrFormat("%d is not a valid port (1-65535)", config.port_redirect()));
    } else if (config.port_redirect() != 0) {
      route.port_redirect_ = absl::StrCat(":", config.port_redirect());
    }
    switch (config.path_rewrite_specifier_case()) {
      case RedirectAction::kPathRedirect:
        route.path_redirect_ = config.path_redirect();
        route.path_redirect_has_query_ = config.path_redirect().find('?') != std::string::npos;
        checkPathValue(config.path_redirect(), fieldPath(path, "path_redirect"));
        break;
      case RedirectAction::kPrefixRewrite:
        route.redirect_prefix_rewrite_ = config.prefix_rewrite();
        checkPathValue(config.prefix_rewrite(), fieldPath(path, "prefix_rewrite"));
        break;
      case RedirectAction::PATH_REWRITE_SPECIFIER_NOT_SET:
        break;
    }
    switch (config.response_code()) {
      case RedirectAction::MOVED_PERMANENTLY:
        route.redirect_response_code_ = 301;
        break;
      case RedirectAction::FOUND:
        route.redirect_response_code_ = 302;
        break;
      case RedirectAction::SEE_OTHER:
        route.redirect_response_code_ = 303;
        break;
      case RedirectAction::TEMPORARY_REDIRECT:
        route.redirect_response_code_ = 307;
        break;
      case RedirectAction::PERMANENT_REDIRECT:
        route.redirect_response_code_ = 308;
        break;
      default:
        errors_.add(fieldPath(path, "response_code"),
                    absl::StrFormat("unknown value %d", static_cast<int>(config.response_code())));
    }
    route.strip_query_ = config.strip_query();
  }

  void buildDirectResponse(const DirectResponseAction& config, RouteEntry& route,
                           const std::string& path) {
    if (config.status() < 200 || config.status() > 599) {
      errors_.add(fieldPath(path, "status"),
                  absl::StrFormat("%d is not a valid status (200-599)", config.status()));
    }
    route.direct_response_code_ = config.status();
    if (config.has_body()) {
      auto body = Config::readDataSource(config.body(), max_body_size_, fieldPath(path, "body"));
      if (!body.ok()) {
        errors_.merge(body.status());
      } else {
        route.direct_response_body_ = std::move(*body);
      }
    }
  }

  const RouteConfiguration& config_;
  const RouteTableOptions& options_;
  bool validate_clusters_ = true;
  size_t max_body_size_ = kDefaultMaxDirectResponseBodySizeBytes;
  std::string root_;
  ConfigErrors errors_;
};

absl::StatusOr<RouteTableConstSharedPtr> RouteTable::create(const RouteConfiguration& config,
                                                            const RouteTableOptions& options) {
  return RouteTableBuilder(config, options).build();
}

const VirtualHost* RouteTable::findVirtualHost(absl::string_view host) const {
  if (exact_.empty() && suffixes_.empty() && prefixes_.empty()) {
    return default_;
  }
  if (ignore_port_in_host_matching_) {
    const size_t port = portStart(host);
    if (port != absl::string_view::npos) {
      host = host.substr(0, port);
    }
  }
  // Lower-case into a stack buffer: the maps hold lower-case domains.
  char buffer[kHostBufferSize];
  std::string heap;
  char* lower = buffer;
  if (host.size() > kHostBufferSize) {
    heap.resize(host.size());
    lower = heap.data();
  }
  for (size_t i = 0; i < host.size(); ++i) {
    lower[i] = absl::ascii_tolower(static_cast<unsigned char>(host[i]));
  }
  const absl::string_view key(lower, host.size());

  if (auto it = exact_.find(key); it != exact_.end()) {
    return it->second;
  }
  // A wildcard must leave at least one character for its '*' ("*.foo.com" does not match
  // ".foo.com"), hence length < key.size().
  for (const auto& [length, map] : suffixes_) {
    if (length < key.size()) {
      if (auto it = map.find(key.substr(key.size() - length)); it != map.end()) {
        return it->second;
      }
    }
  }
  for (const auto& [length, map] : prefixes_) {
    if (length < key.size()) {
      if (auto it = map.find(key.substr(0, length)); it != map.end()) {
        return it->second;
      }
    }
  }
  return default_;
}

RouteResult RouteTable::route(const Http::RequestHeaderMap& headers, uint64_t random) const {
  RouteResult result;
  result.virtual_host = findVirtualHost(headers.host());
  if (result.virtual_host == nullptr) {
    return result;
  }
  const absl::string_view path = headers.path();
  const absl::string_view path_only = pathOnly(path);
  absl::optional<QueryParams> query;
  for (const auto& route : result.virtual_host->routes()) {
    if (!route->matches(headers, path, path_only, query)) {
      continue;
    }
    result.route = route.get();
    if (route->action() == RouteEntry::Action::Route) {
      if (!route->weightedClusters().empty()) {
        result.weighted_cluster = &route->pickWeightedCluster(random);
        result.cluster_name = result.weighted_cluster->name();
      } else if (!route->clusterHeader().empty()) {
        const absl::string_view* value = headers.get(route->clusterHeader());
        if (value != nullptr) {
          result.cluster_name = *value;
        }
      } else {
        result.cluster_name = route->clusterName();
      }
    }
    return result;
  }
  return result;
}

bool RouteEntry::matches(const Http::RequestHeaderMap& headers, absl::string_view path,
                         absl::string_view path_only, absl::optional<QueryParams>& query) const {
  switch (path_match_) {
    case PathMatch::Prefix:
      if (!(case_sensitive_ ? absl::StartsWith(path, path_value_)
                            : absl::StartsWithIgnoreCase(path, path_value_))) {
        return false;
      }
      break;
    case PathMatch::Path:
      if (!(case_sensitive_ ? path_only == path_value_
                            : absl::EqualsIgnoreCase(path_only, path_value_))) {
        return false;
      }
      break;
    case PathMatch::Regex:
      if (!regexFullMatch(*path_regex_, path_only)) {
        return false;
      }
      break;
    case PathMatch::PathSeparatedPrefix:
      if (!(case_sensitive_ ? absl::StartsWith(path_only, path_value_)
                            : absl::StartsWithIgnoreCase(path_only, path_value_)) ||
          (path_only.size() > path_value_.size() && path_only[path_value_.size()] != '/')) {
        return false;
      }
      break;
  }
  for (const HeaderMatcher& matcher : header_matchers_) {
    if (!matcher.matches(headers)) {
      return false;
    }
  }
  if (!query_matchers_.empty()) {
    if (!query.has_value()) {
      const size_t question = path.find('?');
      query.emplace(question == absl::string_view::npos ? absl::string_view()
                                                        : path.substr(question + 1));
    }
    for (const QueryParameterMatcher& matcher : query_matchers_) {
      if (!matcher.matches(*query)) {
        return false;
      }
    }
  }
  return !grpc_only_ || isGrpcRequest(headers);
}

const WeightedClusterEntry& RouteEntry::pickWeightedCluster(uint64_t random) const {
  const uint64_t selected = random % total_cluster_weight_;
  uint64_t end = 0;
  for (const WeightedClusterEntry& entry : weighted_clusters_) {
    end += entry.weight();
    if (selected < end) {
      return entry;
    }
  }
  return weighted_clusters_.back();
}

absl::optional<bool> RouteEntry::upgradeEnabled(absl::string_view upgrade_type) const {
  for (const auto& [type, enabled] : upgrades_) {
    if (absl::EqualsIgnoreCase(type, upgrade_type)) {
      return enabled;
    }
  }
  return absl::nullopt;
}

std::string RouteEntry::rewritePath(absl::string_view path, absl::string_view path_only,
                                    const std::string& prefix_rewrite, const re2::RE2* regex,
                                    const std::string& substitution) const {
  const absl::string_view rest = path.substr(path_only.size());  // query and fragment
  if (regex != nullptr) {
    std::string rewritten(path_only);
    re2::RE2::GlobalReplace(&rewritten, *regex,
                            re2::StringPiece(substitution.data(), substitution.size()));
    return absl::StrCat(rewritten, rest);
  }
  // Prefix-style routes replace what they matched; a regex route matched the whole path.
  size_t matched = path_only.size();
  if (path_match_ == PathMatch::Prefix || path_match_ == PathMatch::PathSeparatedPrefix) {
    matched = std::min(path_value_.size(), path.size());
  }
  return absl::StrCat(prefix_rewrite, path.substr(matched));
}

absl::optional<std::string> RouteEntry::rewrittenPath(const Http::RequestHeaderMap& headers) const {
  if (prefix_rewrite_.empty() && regex_rewrite_ == nullptr) {
    return absl::nullopt;
  }
  const absl::string_view path = headers.path();
  return rewritePath(path, pathOnly(path), prefix_rewrite_, regex_rewrite_.get(),
                     regex_rewrite_substitution_);
}

std::string RouteEntry::redirectLocation(const Http::RequestHeaderMap& headers) const {
  // Scheme: configured, else the request's.
  const absl::string_view scheme =
      !scheme_redirect_.empty() ? absl::string_view(scheme_redirect_) : headers.scheme();

  // Host: configured, else the request's, without its port when a port is configured or when
  // the scheme changes away from the one the port is the default of (as judged by
  // x-forwarded-proto, else the request's scheme).
  absl::string_view host = host_redirect_;
  if (host.empty()) {
    host = headers.host();
    const size_t port = portStart(host);
    if (port != absl::string_view::npos) {
      const absl::string_view request_port = host.substr(port);
      const absl::string_view* forwarded_proto = headers.get("x-forwarded-proto");
      const absl::string_view request_scheme =
          forwarded_proto != nullptr ? absl::string_view(*forwarded_proto) : headers.scheme();
      bool strip = !port_redirect_.empty();
      if (!absl::EqualsIgnoreCase(scheme, request_scheme)) {
        strip |= absl::EqualsIgnoreCase(request_scheme, "https") && request_port == ":443";
        strip |= absl::EqualsIgnoreCase(request_scheme, "http") && request_port == ":80";
      }
      if (strip) {
        host = host.substr(0, port);
      }
    }
  }

  // Path: path_redirect (its own query wins; otherwise the request's query is kept), a prefix
  // rewrite of the request's path, or the request's path.
  const absl::string_view request_path = headers.path();
  const absl::string_view request_path_only = pathOnly(request_path);
  std::string path;
  if (!path_redirect_.empty()) {
    path = path_redirect_;
    if (!path_redirect_has_query_) {
      const size_t query = request_path.find('?');
      if (query != absl::string_view::npos) {
        absl::StrAppend(&path, request_path.substr(query));
      }
    }
  } else if (!redirect_prefix_rewrite_.empty()) {
    path = rewritePath(request_path, request_path_only, redirect_prefix_rewrite_, nullptr, "");
  } else {
    path = std::string(request_path);
  }
  if (path.empty() || path.front() != '/') {
    path.insert(0, "/");
  }
  if (strip_query_ && !path_redirect_has_query_) {
    const size_t query = path.find('?');
    if (query != std::string::npos) {
      path.resize(query);
    }
  }
  return absl::StrCat(scheme, "://", host, port_redirect_, path);
}

void RouteResult::finalizeRequestHeaders(Http::RequestHeaderMap& request_headers,
                                         const StreamInfo::StreamInfo& stream_info,
                                         bool insert_envoy_original_path) const {
  if (route == nullptr) {
    return;
  }
  const Formatter::Context context{&request_headers, nullptr, &stream_info};
  const VirtualHost& vhost = route->virtualHost();
  const RouteTable& table = vhost.routeTable();
  if (weighted_cluster != nullptr) {
    applyAll({weighted_cluster->request_headers_.get()}, request_headers, context);
  }
  if (table.mostSpecificHeaderMutationsWins()) {
    applyAll(
        {table.request_headers_.get(), vhost.request_headers_.get(), route->request_headers_.get()},
        request_headers, context);
  } else {
    applyAll(
        {route->request_headers_.get(), vhost.request_headers_.get(), table.request_headers_.get()},
        request_headers, context);
  }
  if (weighted_cluster != nullptr && !weighted_cluster->hostRewriteLiteral().empty()) {
    request_headers.setHost(weighted_cluster->hostRewriteLiteral());
  } else if (!route->hostRewriteLiteral().empty()) {
    request_headers.setHost(route->hostRewriteLiteral());
  }
  if (auto path = route->rewrittenPath(request_headers); path.has_value()) {
    if (insert_envoy_original_path) {
      request_headers.remove("x-envoy-original-path");
      request_headers.addLowerCase("x-envoy-original-path", request_headers.path());
    }
    request_headers.setPath(*path);
  }
}

void RouteResult::finalizeResponseHeaders(Http::ResponseHeaderMap& response_headers,
                                          const Http::RequestHeaderMap* request_headers,
                                          const StreamInfo::StreamInfo& stream_info) const {
  if (route == nullptr) {
    return;
  }
  const Formatter::Context context{request_headers, &response_headers, &stream_info};
  const VirtualHost& vhost = route->virtualHost();
  const RouteTable& table = vhost.routeTable();
  if (weighted_cluster != nullptr) {
    applyAll({weighted_cluster->response_headers_.get()}, response_headers, context);
  }
  if (table.mostSpecificHeaderMutationsWins()) {
    applyAll({table.response_headers_.get(), vhost.response_headers_.get(),
              route->response_headers_.get()},
             response_headers, context);
  } else {
    applyAll({route->response_headers_.get(), vhost.response_headers_.get(),
              table.response_headers_.get()},
             response_headers, context);
  }
}

}  // namespace Skiff::Router
