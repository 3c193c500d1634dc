#include "source/extensions/filters/network/http_connection_manager/config.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "envoy/extensions/filters/http/router/v3/router.pb.h"
#include "source/common/access_log/access_log_config.h"
#include "source/common/config/utility.h"
#include "source/extensions/filters/network/http_connection_manager/connection_manager.h"

namespace Skiff::Extensions::NetworkFilters::HttpConnectionManager {
namespace {

using ProtoHcm =
    envoy::extensions::filters::network::http_connection_manager::v3::HttpConnectionManager;
using ProtoRouter = envoy::extensions::filters::http::router::v3::Router;

constexpr absl::string_view kRouterName = "envoy.filters.http.router";

std::shared_ptr<ConnectionManagerStats> makeStats(Stats::Store& s, const std::string& prefix) {
  const std::string p = absl::StrCat("http.", prefix, ".");
  auto c = [&](absl::string_view name) -> Stats::Counter& {
    return s.counter(p + std::string(name));
  };
  auto g = [&](absl::string_view name) -> Stats::Gauge& { return s.gauge(p + std::string(name)); };
  auto stats = std::shared_ptr<ConnectionManagerStats>(new ConnectionManagerStats{
      c("downstream_cx_total"),
      g("downstream_cx_active"),
      c("downstream_cx_destroy"),
      c("downstream_cx_destroy_remote"),
      c("downstream_cx_destroy_local"),
      c("downstream_cx_destroy_active_rq"),
      c("downstream_cx_http1_total"),
      g("downstream_cx_http1_active"),
      c("downstream_cx_upgrades_total"),
      g("downstream_cx_upgrades_active"),
      c("downstream_cx_protocol_error"),
      c("downstream_cx_idle_timeout"),
      c("downstream_cx_max_duration_reached"),
      c("downstream_cx_max_requests_reached"),
      c("downstream_cx_drain_close"),
      c("downstream_cx_overload_disable_keepalive"),
      c("downstream_cx_delayed_close_timeout"),
      c("downstream_cx_rx_bytes_total"),
      c("downstream_cx_tx_bytes_total"),
      s.histogram(p + "downstream_cx_length_ms", Stats::Histogram::Unit::Milliseconds),
      c("downstream_rq_total"),
      c("downstream_rq_http1_total"),
      g("downstream_rq_active"),
      c("downstream_rq_completed"),
      c("downstream_rq_timeout"),
      c("downstream_rq_idle_timeout"),
      c("downstream_rq_header_timeout"),
      c("downstream_rq_rx_reset"),
      c("downstream_rq_tx_reset"),
      c("downstream_rq_ws_on_non_ws_route"),
      c("downstream_rq_too_large"),
      c("downstream_rq_overload_close"),
      {},
      s.histogram(p + "downstream_rq_time", Stats::Histogram::Unit::Milliseconds),
      c("no_route"),
      c("rq_redirect"),
      c("rq_direct_response"),
      HttpFilters::RouterFilter::RouterStats{
          c("rq_total"), c("rq_reset_after_downstream_response_started"), c("no_cluster")},
  });
  for (int i = 0; i < 5; ++i) {
    stats->downstream_rq_class[i] = &c(absl::StrCat("downstream_rq_", i + 1, "xx"));
  }
  return stats;
}

}  // namespace

absl::StatusOr<ConnectionManagerConfigConstSharedPtr> buildConnectionManagerConfig(
    const ProtoHcm& proto, FactoryContext& context) {
  auto config = std::make_shared<ConnectionManagerConfig>();
  if (proto.stat_prefix().empty()) {
    return absl::InvalidArgumentError("stat_prefix: must not be empty");
  }
  config->stat_prefix = proto.stat_prefix();
  switch (proto.codec_type()) {
    case ProtoHcm::AUTO:
    case ProtoHcm::HTTP1:
      break;
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("codec_type: ", ProtoHcm::CodecType_Name(proto.codec_type()),
                       " is not supported (skiff speaks HTTP/1.1 only; use AUTO or HTTP1)"));
  }

  // HTTP filters: only the router, last. Others are refused unless marked optional.
  bool have_router = false;
  for (int i = 0; i < proto.http_filters_size(); ++i) {
    const auto& filter = proto.http_filters(i);
    const std::string path = absl::StrCat("http_filters[", i, "]");
    const bool is_router =
        filter.name() == kRouterName ||
        (filter.has_typed_config() && Config::typeNameFromUrl(filter.typed_config().type_url()) ==
                                          ProtoRouter::descriptor()->full_name());
    if (!is_router) {
      if (filter.is_optional() || filter.disabled()) {
        continue;  // Envoy lets a proxy without the filter skip an optional one.
      }
      return absl::InvalidArgumentError(absl::StrCat(
          path, ": HTTP filter \"", filter.name(),
          "\" is not supported (skiff has only envoy.filters.http.router; mark the filter "
          "is_optional to skip it)"));
    }
    if (i + 1 != proto.http_filters_size()) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": the router must be the last HTTP filter"));
    }
    if (filter.has_typed_config()) {
      auto router = Config::parseTypedConfig<ProtoRouter>(filter.typed_config(),
                                                          absl::StrCat(path, ".typed_config"));
      if (!router.ok()) {
        return router.status();
      }
      config->router.suppress_envoy_headers = router->suppress_envoy_headers();
    }
    have_router = true;
  }
  if (!have_router) {
    return absl::InvalidArgumentError(
        "http_filters: must end with envoy.filters.http.router (type "
        "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router)");
  }
  config->router.cluster_manager = &context.cluster_manager;

  // Limits and timeouts.
  if (proto.has_max_request_headers_kb()) {
    const uint32_t kb = proto.max_request_headers_kb().value();
    if (kb < 1 || kb > 8192) {
      return absl::InvalidArgumentError(
          absl::StrCat("max_request_headers_kb: ", kb, " is out of range (1-8192)"));
    }
    config->http1_settings.max_headers_kb = kb;
  }
  const auto& common = proto.common_http_protocol_options();
  if (common.has_max_headers_count()) {
    if (common.max_headers_count().value() < 1) {
      return absl::InvalidArgumentError(
          "common_http_protocol_options.max_headers_count: must be >= 1");
    }
    config->http1_settings.max_headers_count = common.max_headers_count().value();
  }
  if (common.has_max_requests_per_connection()) {
    config->max_requests_per_connection = common.max_requests_per_connection().value();
  }
  if (common.headers_with_underscores_action() !=
      envoy::config::core::v3::HttpProtocolOptions::ALLOW) {
    return absl::InvalidArgumentError(
        "common_http_protocol_options.headers_with_underscores_action: only ALLOW is supported");
  }
  if (common.has_max_stream_duration()) {
    return absl::InvalidArgumentError(
        "common_http_protocol_options.max_stream_duration: not supported");
  }
  config->idle_timeout =
      SKIFF_PROTOBUF_GET_MS_OR_DEFAULT(common, idle_timeout, config->idle_timeout);
  config->max_connection_duration = SKIFF_PROTOBUF_GET_MS_OR_DEFAULT(
      common, max_connection_duration, config->max_connection_duration);
  config->stream_idle_timeout =
      SKIFF_PROTOBUF_GET_MS_OR_DEFAULT(proto, stream_idle_timeout, config->stream_idle_timeout);
  config->request_timeout =
      SKIFF_PROTOBUF_GET_MS_OR_DEFAULT(proto, request_timeout, config->request_timeout);
  config->request_headers_timeout = SKIFF_PROTOBUF_GET_MS_OR_DEFAULT(
      proto, request_headers_timeout, config->request_headers_timeout);
  config->delayed_close_timeout =
      SKIFF_PROTOBUF_GET_MS_OR_DEFAULT(proto, delayed_close_timeout, config->delayed_close_timeout);
  config->drain_timeout =
      SKIFF_PROTOBUF_GET_MS_OR_DEFAULT(proto, drain_timeout, config->drain_timeout);
  const auto& http1 = proto.http_protocol_options();
  if (http1.has_allow_absolute_url() && !http1.allow_absolute_url().value()) {
    return absl::InvalidArgumentError(
        "http_protocol_options.allow_absolute_url: false is not supported");
  }
  if (http1.enable_trailers() || http1.allow_chunked_length()) {
    return absl::InvalidArgumentError(
        "http_protocol_options: enable_trailers and allow_chunked_length are not supported");
  }
  if (proto.normalize_path().value() || proto.merge_slashes()) {
    return absl::InvalidArgumentError("normalize_path / merge_slashes: not supported");
  }

  // Headers.
  HeaderRules& rules = config->header_rules;
  rules.use_remote_address = proto.use_remote_address().value();
  rules.xff_num_trusted_hops = proto.xff_num_trusted_hops();
  rules.skip_xff_append = proto.skip_xff_append();
  rules.generate_request_id =
      proto.has_generate_request_id() ? proto.generate_request_id().value() : true;
  rules.always_set_request_id_in_response = proto.always_set_request_id_in_response();
  rules.via = proto.via();
  if (!proto.server_name().empty()) {
    rules.server_name = proto.server_name();
  }
  switch (proto.server_header_transformation()) {
    case ProtoHcm::OVERWRITE:
      rules.server_header_transformation = ServerHeaderTransformation::Overwrite;
      break;
    case ProtoHcm::APPEND_IF_ABSENT:
      rules.server_header_transformation = ServerHeaderTransformation::AppendIfAbsent;
      break;
    case ProtoHcm::PASS_THROUGH:
      rules.server_header_transformation = ServerHeaderTransformation::PassThrough;
      break;
    default:
      return absl::InvalidArgumentError("server_header_transformation: unknown value");
  }

  for (int i = 0; i < proto.upgrade_configs_size(); ++i) {
    const auto& upgrade = proto.upgrade_configs(i);
    if (upgrade.upgrade_type().empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("upgrade_configs[", i, "].upgrade_type: must not be empty"));
    }
    if (upgrade.filters_size() > 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "upgrade_configs[", i, "].filters: per-upgrade filter chains are not supported"));
    }
    if (upgrade.has_enabled() && !upgrade.enabled().value()) {
      continue;
    }
    config->upgrade_types.push_back(absl::AsciiStrToLower(upgrade.upgrade_type()));
  }

  // Routes.
  if (context.routes == nullptr) {
    return absl::InternalError("no route config provider manager");
  }
  switch (proto.route_specifier_case()) {
    case ProtoHcm::kRouteConfig: {
      auto provider = context.routes->createStatic(proto.route_config(), "route_config");
      if (!provider.ok()) {
        return provider.status();
      }
      config->routes = std::move(*provider);
      break;
    }
    case ProtoHcm::kRds: {
      if (!proto.rds().config_source().has_ads()) {
        return absl::InvalidArgumentError(
            "rds.config_source: only ads is supported (the routes come over the ADS stream)");
      }
      if (proto.rds().route_config_name().empty()) {
        return absl::InvalidArgumentError("rds.route_config_name: must not be empty");
      }
      config->routes = context.routes->getOrCreateRds(proto.rds().route_config_name());
      break;
    }
    default:
      return absl::InvalidArgumentError("must set route_config or rds");
  }

  for (int i = 0; i < proto.access_log_size(); ++i) {
    if (context.access_logs == nullptr) {
      return absl::InternalError("access_log: no access log manager");
    }
    auto log = AccessLog::createAccessLog(proto.access_log(i), *context.access_logs,
                                          absl::StrCat("access_log[", i, "]"));
    if (!log.ok()) {
      return log.status();
    }
    config->access_logs.push_back(std::move(*log));
  }

  config->stats = makeStats(context.stats, config->stat_prefix);
  return ConnectionManagerConfigConstSharedPtr(std::move(config));
}

std::string HttpConnectionManagerConfigFactory::typeUrl() const {
  return absl::StrCat("type.googleapis.com/", ProtoHcm::descriptor()->full_name());
}

absl::StatusOr<Network::NetworkFilterFactoryCb>
HttpConnectionManagerConfigFactory::createFilterFactory(const google::protobuf::Any& typed_config,
                                                        FactoryContext& context) const {
  auto proto = Config::parseTypedConfig<ProtoHcm>(typed_config, "typed_config");
  if (!proto.ok()) {
    return proto.status();
  }
  auto config = buildConnectionManagerConfig(*proto, context);
  if (!config.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("typed_config.", config.status().message()));
  }
  ConnectionManagerConfigConstSharedPtr shared = std::move(*config);
  return Network::NetworkFilterFactoryCb([shared](Network::Connection& connection) {
    connection.addReadFilter(std::make_shared<ConnectionManagerImpl>(shared));
  });
}

}  // namespace Skiff::Extensions::NetworkFilters::HttpConnectionManager
