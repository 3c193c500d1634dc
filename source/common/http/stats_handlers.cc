#include "source/common/http/stats_handlers.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "source/common/stats/stats_format.h"

namespace Skiff::Http::Admin {

namespace {

Response badRequest(std::string message) {
  return Response{400, "text/plain; charset=UTF-8", absl::StrCat(message, "\n")};
}

// "?usedonly" (any value, like Envoy) and "?filter=<regex>".
absl::StatusOr<Stats::StatsFilter> filterFrom(const Request& request) {
  auto filter = request.query.find("filter");
  return Stats::StatsFilter::create(request.query.contains("usedonly"),
                                    filter == request.query.end() ? "" : filter->second);
}

Response render(const Request& request, const Stats::Store& store, absl::string_view format) {
  absl::StatusOr<Stats::StatsFilter> filter = filterFrom(request);
  if (!filter.ok()) {
    return badRequest(std::string(filter.status().message()));
  }
  if (format == "prometheus") {
    return Response{200, std::string(Stats::kPrometheusContentType),
                    Stats::renderPrometheus(store, *filter)};
  }
  if (format == "json") {
    return Response{200, std::string(Stats::kJsonContentType), Stats::renderJson(store, *filter)};
  }
  if (format == "text") {
    return Response{200, std::string(Stats::kTextContentType), Stats::renderText(store, *filter)};
  }
  return badRequest(
      absl::StrCat("unknown stats format '", format, "'; use text, json or prometheus"));
}

}  // namespace

void registerStatsHandlers(AdminServer& admin, const Stats::Store& store) {
  admin.addHandler(
      "/stats", "print server stats; ?format=json|prometheus, ?filter=<regex>, ?usedonly",
      Method::Get, [&store](const Request& request) {
        auto format = request.query.find("format");
        return render(request, store, format == request.query.end() ? "text" : format->second);
      });
  admin.addHandler(
      "/stats/prometheus",
      "print server stats in Prometheus text format; ?filter=<regex>, ?usedonly", Method::Get,
      [&store](const Request& request) { return render(request, store, "prometheus"); });
}

}  // namespace Skiff::Http::Admin
