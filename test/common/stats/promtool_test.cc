// Feeds skiff's /stats/prometheus rendering to the real Prometheus parser and linter
// (`promtool check metrics`, Debian package "prometheus"). If promtool is missing the test fails:
// a silently skipped format check is how broken exposition output ships.

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "source/common/stats/stats_format.h"
#include "source/common/stats/stats_impl.h"

namespace Skiff::Stats {
namespace {

constexpr char kPromtool[] = "/usr/bin/promtool";

struct RunResult {
  int exit_code;
  std::string output;
};

RunResult checkMetrics(const std::string& metrics) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  const std::string dir = tmp != nullptr ? tmp : "/tmp";
  const std::string in_path = absl::StrCat(dir, "/metrics.txt");
  const std::string out_path = absl::StrCat(dir, "/promtool.out");
  std::ofstream(in_path) << metrics;
  const std::string command =
      absl::StrCat(kPromtool, " check metrics < ", in_path, " > ", out_path, " 2>&1");
  const int status = std::system(command.c_str());
  std::stringstream output;
  output << std::ifstream(out_path).rdbuf();
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output.str()};
}

// promtool exits 1 for a parse error and 3 for lint findings. These findings follow from the
// deliberate choice to render exactly Envoy's names (see stats_format.h) and are accepted; any
// other finding fails the test.
bool isAcceptedLint(absl::string_view line) {
  for (absl::string_view accepted : {
           "counter metrics should have \"_total\" suffix",
           "non-counter metrics should not have \"_total\" suffix",
           "no help text",
           "metric names should not contain abbreviated units",
       }) {
    if (line.find(accepted) != absl::string_view::npos) {
      return true;
    }
  }
  return false;
}

void expectValid(const std::string& metrics) {
  ASSERT_EQ(access(kPromtool, X_OK), 0)
      << kPromtool << " is missing: install the Debian package 'prometheus'";
  const RunResult result = checkMetrics(metrics);
  ASSERT_TRUE(result.exit_code == 0 || result.exit_code == 3)
      << "promtool exit " << result.exit_code << ":\n"
      << result.output << "\ninput:\n"
      << metrics;
  for (absl::string_view line : absl::StrSplit(result.output, '\n', absl::SkipEmpty())) {
    EXPECT_TRUE(isAcceptedLint(line)) << "unexpected promtool finding: " << line;
  }
}

TEST(PromtoolTest, RealisticStoreIsValidExposition) {
  StoreImpl store;
  for (const char* cluster : {"backend", "xds-grpc", "we\"ird\\name", "outbound|80||svc"}) {
    const std::string prefix = absl::StrCat("cluster.", cluster, ".");
    store.counter(prefix + "upstream_cx_total").add(12);
    store.counter(prefix + "upstream_cx_connect_fail").inc();
    store.counter(prefix + "upstream_rq_total");
    store.gauge(prefix + "upstream_cx_active").set(-3);
    store.gauge(prefix + "membership_healthy").set(2);
    Histogram& h =
        store.histogram(prefix + "upstream_cx_connect_ms", Histogram::Unit::Milliseconds);
    for (uint64_t v : {0, 1, 2, 5, 9, 600, 4000000}) {
      h.recordValue(v);
    }
    store.histogram(prefix + "upstream_cx_length_ms", Histogram::Unit::Milliseconds);
  }
  store.counter("listener.127.0.0.1_10000.downstream_cx_total").add(4);
  store.counter("listener.[::1]_10000.downstream_cx_total").add(5);
  store.gauge("listener.0.0.0.0_15001.downstream_cx_active").inc();
  store.counter("listener.admin.downstream_cx_total").inc();
  store.counter("tcp.ingress.downstream_cx_total").add(2);
  store.counter("listener_manager.listener_added").add(2);
  store.gauge("listener_manager.total_listeners_active").set(2);
  store.gauge("server.live").set(1);
  store.gauge("server.state");
  store.counter("cluster_manager.cds.update_success").inc();
  store.histogram("server.initialization_time_ms", Histogram::Unit::Milliseconds).recordValue(7);
  store.counter("a.b").inc();
  store.gauge("a_b").inc();  // renders to the same family as a.b: must not produce two TYPEs

  StatsFilter all;
  const std::string metrics = renderPrometheus(store, all);
  expectValid(metrics);
  absl::StatusOr<StatsFilter> used = StatsFilter::create(true, "");
  ASSERT_TRUE(used.ok());
  expectValid(renderPrometheus(store, *used));
}

TEST(PromtoolTest, EmptyStoreIsValid) {
  StoreImpl store;
  expectValid(renderPrometheus(store, StatsFilter()));
}

// Proves the harness can fail: a broken document is rejected.
TEST(PromtoolTest, BrokenInputIsRejected) {
  ASSERT_EQ(access(kPromtool, X_OK), 0);
  EXPECT_EQ(checkMetrics("# TYPE x counter\nx{a=\"1} 1\n").exit_code, 1);
}

}  // namespace
}  // namespace Skiff::Stats
