#include "source/common/stats/stats_format.h"

#include "gtest/gtest.h"
#include "source/common/stats/stats_impl.h"
#include "source/common/stats/tag_extractor.h"

namespace Skiff::Stats {
namespace {

TEST(TagExtractorTest, Cluster) {
  TaggedName t = extractTags("cluster.foo.upstream_cx_active");
  EXPECT_EQ(t.name, "cluster.upstream_cx_active");
  ASSERT_EQ(t.tags.size(), 1);
  EXPECT_EQ(t.tags[0].name, "envoy.cluster_name");
  EXPECT_EQ(t.tags[0].value, "foo");

  t = extractTags("cluster.foo.circuit_breakers.default.cx_open");
  EXPECT_EQ(t.name, "cluster.circuit_breakers.default.cx_open");
  EXPECT_EQ(t.tags[0].value, "foo");
}

TEST(TagExtractorTest, Listener) {
  TaggedName t = extractTags("listener.127.0.0.1_10000.downstream_cx_total");
  EXPECT_EQ(t.name, "listener.downstream_cx_total");
  ASSERT_EQ(t.tags.size(), 1);
  EXPECT_EQ(t.tags[0].name, "envoy.listener_address");
  EXPECT_EQ(t.tags[0].value, "127.0.0.1_10000");

  t = extractTags("listener.[::1]_10000.downstream_cx_active");
  EXPECT_EQ(t.name, "listener.downstream_cx_active");
  ASSERT_EQ(t.tags.size(), 1);
  EXPECT_EQ(t.tags[0].value, "[::1]_10000");

  t = extractTags("listener.[__1]_10000.downstream_cx_active");
  ASSERT_EQ(t.tags.size(), 1);
  EXPECT_EQ(t.tags[0].value, "[__1]_10000");

  t = extractTags("listener.0.0.0.0_80.ssl.handshake");
  EXPECT_EQ(t.name, "listener.ssl.handshake");
  EXPECT_EQ(t.tags[0].value, "0.0.0.0_80");
}

TEST(TagExtractorTest, TcpAndUntouched) {
  TaggedName t = extractTags("tcp.ingress_tcp.downstream_cx_total");
  EXPECT_EQ(t.name, "tcp.downstream_cx_total");
  ASSERT_EQ(t.tags.size(), 1);
  EXPECT_EQ(t.tags[0].name, "envoy.tcp_prefix");
  EXPECT_EQ(t.tags[0].value, "ingress_tcp");

  for (const char* name :
       {"listener.admin.downstream_cx_total", "listener_manager.lds.update_success",
        "cluster_manager.cds.version", "cluster.foo", "cluster.foo.", "cluster..x", "server.live",
        "tcp.x", "listener.", "listener.1"}) {
    t = extractTags(name);
    EXPECT_EQ(t.name, name);
    EXPECT_TRUE(t.tags.empty()) << name;
  }
}

TEST(PrometheusNamesTest, SanitizeAndEscape) {
  EXPECT_EQ(sanitizePrometheusName("vulture.eats-liver"), "vulture_eats_liver");
  EXPECT_EQ(escapePrometheusLabelValue("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
}

TEST(FormatDoubleTest, Shortest) {
  EXPECT_EQ(formatDouble(1), "1");
  EXPECT_EQ(formatDouble(0.5), "0.5");
  EXPECT_EQ(formatDouble(3600000), "3600000");
  EXPECT_EQ(formatDouble(1.05), "1.05");
  EXPECT_EQ(formatDouble(std::nan("")), "nan");
}

class StatsFormatTest : public testing::Test {
 protected:
  StatsFormatTest() {
    store_.counter("cluster.backend.upstream_cx_total").add(3);
    store_.counter("cluster.backend.upstream_cx_connect_fail");  // never touched: unused
    store_.gauge("cluster.backend.upstream_cx_active").set(2);
    store_.counter("listener.127.0.0.1_10000.downstream_cx_total").add(7);
    store_.gauge("server.live").set(1);
    Histogram& h =
        store_.histogram("cluster.backend.upstream_cx_connect_ms", Histogram::Unit::Milliseconds);
    h.recordValue(1);
    h.recordValue(3);
    h.recordValue(7);
    h.recordValue(20);
    store_.histogram("cluster.backend.upstream_cx_length_ms", Histogram::Unit::Milliseconds);
  }

  StatsFilter filter(bool used_only = false, absl::string_view regex = "") {
    absl::StatusOr<StatsFilter> f = StatsFilter::create(used_only, regex);
    EXPECT_TRUE(f.ok()) << f.status();
    return *f;
  }

  StoreImpl store_;
};

TEST_F(StatsFormatTest, Text) {
  EXPECT_EQ(renderText(store_, filter()),
            "cluster.backend.upstream_cx_active: 2\n"
            "cluster.backend.upstream_cx_connect_fail: 0\n"
            "cluster.backend.upstream_cx_total: 3\n"
            "listener.127.0.0.1_10000.downstream_cx_total: 7\n"
            "server.live: 1\n"
            "cluster.backend.upstream_cx_connect_ms: P0(nan,1) P25(nan,1) P50(nan,3) P75(nan,7) "
            "P90(nan,20) P95(nan,20) P99(nan,20) P99.5(nan,20) P99.9(nan,20) P100(nan,20)\n"
            "cluster.backend.upstream_cx_length_ms: No recorded values\n");
}

TEST_F(StatsFormatTest, TextUsedOnlyAndFilter) {
  EXPECT_EQ(renderText(store_, filter(true, "")),
            "cluster.backend.upstream_cx_active: 2\n"
            "cluster.backend.upstream_cx_total: 3\n"
            "listener.127.0.0.1_10000.downstream_cx_total: 7\n"
            "server.live: 1\n"
            "cluster.backend.upstream_cx_connect_ms: P0(nan,1) P25(nan,1) P50(nan,3) P75(nan,7) "
            "P90(nan,20) P95(nan,20) P99(nan,20) P99.5(nan,20) P99.9(nan,20) P100(nan,20)\n");
  // Unanchored: matches anywhere, like Envoy.
  EXPECT_EQ(renderText(store_, filter(false, "cx_(total|active)")),
            "cluster.backend.upstream_cx_active: 2\n"
            "cluster.backend.upstream_cx_total: 3\n"
            "listener.127.0.0.1_10000.downstream_cx_total: 7\n");
  EXPECT_EQ(renderText(store_, filter(false, "^server\\.")), "server.live: 1\n");
  EXPECT_EQ(renderText(store_, filter(false, "nothing-matches")), "");
}

TEST_F(StatsFormatTest, BadRegexIsInvalidArgument) {
  absl::StatusOr<StatsFilter> f = StatsFilter::create(false, "([unclosed");
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(f.status().message().find("([unclosed"), absl::string_view::npos);
}

// Patterns from the admin port are hostile. Found by the admin fuzzer: std::regex hit undefined
// behaviour on a huge back-reference number and compiles by recursion (deep nesting exhausts the
// stack). RE2 rejects or handles both within its bounds.
TEST_F(StatsFormatTest, HostilePatternsAreRejectedOrBounded) {
  EXPECT_FALSE(StatsFilter::create(false, "(a\\5555555555555555555").ok());
  // 100,000 nested groups: RE2 parses without recursion (std::regex overflowed the stack).
  auto nested = StatsFilter::create(false, std::string(100000, '(') + std::string(100000, ')'));
  if (nested.ok()) {
    EXPECT_FALSE(renderText(store_, *nested).empty());
  }
  // Exponential for a backtracking engine, linear for RE2.
  auto slow = StatsFilter::create(false, "(a|aa)*(x)*(a*)*$cx");
  ASSERT_TRUE(slow.ok()) << slow.status();
  EXPECT_EQ(renderText(store_, *slow), "");
  EXPECT_EQ(renderText(store_, filter(false, "(?i)SERVER\\.live")), "server.live: 1\n");
}

TEST_F(StatsFormatTest, Json) {
  EXPECT_EQ(
      renderJson(store_, filter(false, "upstream_cx_(total|connect_ms|length_ms)")),
      "{\"stats\":[{\"name\":\"cluster.backend.upstream_cx_total\",\"value\":3},"
      "{\"histograms\":{\"supported_quantiles\":[0,25,50,75,90,95,99,99.5,99.9,100],"
      "\"computed_quantiles\":[{\"name\":\"cluster.backend.upstream_cx_connect_ms\","
      "\"values\":[{\"interval\":null,\"cumulative\":1},{\"interval\":null,\"cumulative\":1},"
      "{\"interval\":null,\"cumulative\":3},{\"interval\":null,\"cumulative\":7},"
      "{\"interval\":null,\"cumulative\":20},{\"interval\":null,\"cumulative\":20},"
      "{\"interval\":null,\"cumulative\":20},{\"interval\":null,\"cumulative\":20},"
      "{\"interval\":null,\"cumulative\":20},{\"interval\":null,\"cumulative\":20}]},"
      "{\"name\":\"cluster.backend.upstream_cx_length_ms\",\"values\":["
      "{\"interval\":null,\"cumulative\":null},{\"interval\":null,\"cumulative\":null},"
      "{\"interval\":null,\"cumulative\":null},{\"interval\":null,\"cumulative\":null},"
      "{\"interval\":null,\"cumulative\":null},{\"interval\":null,\"cumulative\":null},"
      "{\"interval\":null,\"cumulative\":null},{\"interval\":null,\"cumulative\":null},"
      "{\"interval\":null,\"cumulative\":null},{\"interval\":null,\"cumulative\":null}]}]}}]}");
  EXPECT_EQ(renderJson(store_, filter(false, "^server")),
            "{\"stats\":[{\"name\":\"server.live\",\"value\":1}]}");
  EXPECT_EQ(renderJson(store_, filter(false, "nothing")), "{\"stats\":[]}");
}

TEST_F(StatsFormatTest, JsonEscapesNames) {
  StoreImpl store;
  store.counter("weird\"name\\\n").inc();
  EXPECT_EQ(renderJson(store, filter()),
            "{\"stats\":[{\"name\":\"weird\\\"name\\\\\\n\",\"value\":1}]}");
}

TEST_F(StatsFormatTest, Prometheus) {
  store_.counter("cluster.other.upstream_cx_total").inc();
  EXPECT_EQ(
      renderPrometheus(store_, filter()),
      "# TYPE envoy_cluster_upstream_cx_active gauge\n"
      "envoy_cluster_upstream_cx_active{envoy_cluster_name=\"backend\"} 2\n"
      "# TYPE envoy_cluster_upstream_cx_connect_fail counter\n"
      "envoy_cluster_upstream_cx_connect_fail{envoy_cluster_name=\"backend\"} 0\n"
      "# TYPE envoy_cluster_upstream_cx_connect_ms histogram\n"
      "envoy_cluster_upstream_cx_connect_ms_bucket{envoy_cluster_name=\"backend\",le=\"0.5\"} 0\n"
      "envoy_cluster_upstream_cx_connect_ms_bucket{envoy_cluster_name=\"backend\",le=\"1\"} 1\n"
      "envoy_cluster_upstream_cx_connect_ms_bucket{envoy_cluster_name=\"backend\",le=\"5\"} 2\n"
      "envoy_cluster_upstream_cx_connect_ms_bucket{envoy_cluster_name=\"backend\",le=\"10\"} 3\n"
      "envoy_cluster_upstream_cx_connect_ms_bucket{envoy_cluster_name=\"backend\",le=\"25\"} 4\n"
      "envoy_cluster_upstream_cx_connect_ms_bucket{envoy_cluster_name=\"backend\",le=\"50\"} 4\n"
      "envoy_cluster_upstream_cx_connect_ms_bucket{envoy_cluster_name=\"backend\",le=\"100\"} 4\n"
      "envoy_cluster_upstream_cx_connect_ms_bucket{envoy_cluster_name=\"backend\",le=\"250\"} 4\n"
      "envoy_cluster_upstream_cx_connect_ms_bucket{envoy_cluster_name=\"backend\",le=\"500\"} 4\n"
      "envoy_cluster_upstream_cx_connect_ms_bucket{envoy_cluster_name=\"backend\",le=\"1000\"} 4\n"
      "envoy_cluster_upstream_cx_connect_ms_bucket{envoy_cluster_name=\"backend\",le=\"2500\"} 4\n"
      "envoy_cluster_upstream_cx_connect_ms_bucket{envoy_cluster_name=\"backend\",le=\"5000\"} 4\n"
      "envoy_cluster_upstream_cx_connect_ms_bucket{envoy_cluster_name=\"backend\",le=\"10000\"} 4\n"
      "envoy_cluster_upstream_cx_connect_ms_bucket{envoy_cluster_name=\"backend\",le=\"30000\"} 4\n"
      "envoy_cluster_upstream_cx_connect_ms_bucket{envoy_cluster_name=\"backend\",le=\"60000\"} 4\n"
      "envoy_cluster_upstream_cx_connect_ms_bucket{envoy_cluster_name=\"backend\",le=\"300000\"} "
      "4\n"
      "envoy_cluster_upstream_cx_connect_ms_bucket{envoy_cluster_name=\"backend\",le=\"600000\"} "
      "4\n"
      "envoy_cluster_upstream_cx_connect_ms_bucket{envoy_cluster_name=\"backend\",le=\"1800000\"} "
      "4\n"
      "envoy_cluster_upstream_cx_connect_ms_bucket{envoy_cluster_name=\"backend\",le=\"3600000\"} "
      "4\n"
      "envoy_cluster_upstream_cx_connect_ms_bucket{envoy_cluster_name=\"backend\",le=\"+Inf\"} 4\n"
      "envoy_cluster_upstream_cx_connect_ms_sum{envoy_cluster_name=\"backend\"} 31\n"
      "envoy_cluster_upstream_cx_connect_ms_count{envoy_cluster_name=\"backend\"} 4\n"
      "# TYPE envoy_cluster_upstream_cx_length_ms histogram\n"
      "envoy_cluster_upstream_cx_length_ms_bucket{envoy_cluster_name=\"backend\",le=\"0.5\"} 0\n"
      "envoy_cluster_upstream_cx_length_ms_bucket{envoy_cluster_name=\"backend\",le=\"1\"} 0\n"
      "envoy_cluster_upstream_cx_length_ms_bucket{envoy_cluster_name=\"backend\",le=\"5\"} 0\n"
      "envoy_cluster_upstream_cx_length_ms_bucket{envoy_cluster_name=\"backend\",le=\"10\"} 0\n"
      "envoy_cluster_upstream_cx_length_ms_bucket{envoy_cluster_name=\"backend\",le=\"25\"} 0\n"
      "envoy_cluster_upstream_cx_length_ms_bucket{envoy_cluster_name=\"backend\",le=\"50\"} 0\n"
      "envoy_cluster_upstream_cx_length_ms_bucket{envoy_cluster_name=\"backend\",le=\"100\"} 0\n"
      "envoy_cluster_upstream_cx_length_ms_bucket{envoy_cluster_name=\"backend\",le=\"250\"} 0\n"
      "envoy_cluster_upstream_cx_length_ms_bucket{envoy_cluster_name=\"backend\",le=\"500\"} 0\n"
      "envoy_cluster_upstream_cx_length_ms_bucket{envoy_cluster_name=\"backend\",le=\"1000\"} 0\n"
      "envoy_cluster_upstream_cx_length_ms_bucket{envoy_cluster_name=\"backend\",le=\"2500\"} 0\n"
      "envoy_cluster_upstream_cx_length_ms_bucket{envoy_cluster_name=\"backend\",le=\"5000\"} 0\n"
      "envoy_cluster_upstream_cx_length_ms_bucket{envoy_cluster_name=\"backend\",le=\"10000\"} 0\n"
      "envoy_cluster_upstream_cx_length_ms_bucket{envoy_cluster_name=\"backend\",le=\"30000\"} 0\n"
      "envoy_cluster_upstream_cx_length_ms_bucket{envoy_cluster_name=\"backend\",le=\"60000\"} 0\n"
      "envoy_cluster_upstream_cx_length_ms_bucket{envoy_cluster_name=\"backend\",le=\"300000\"} 0\n"
      "envoy_cluster_upstream_cx_length_ms_bucket{envoy_cluster_name=\"backend\",le=\"600000\"} 0\n"
      "envoy_cluster_upstream_cx_length_ms_bucket{envoy_cluster_name=\"backend\",le=\"1800000\"} "
      "0\n"
      "envoy_cluster_upstream_cx_length_ms_bucket{envoy_cluster_name=\"backend\",le=\"3600000\"} "
      "0\n"
      "envoy_cluster_upstream_cx_length_ms_bucket{envoy_cluster_name=\"backend\",le=\"+Inf\"} 0\n"
      "envoy_cluster_upstream_cx_length_ms_sum{envoy_cluster_name=\"backend\"} 0\n"
      "envoy_cluster_upstream_cx_length_ms_count{envoy_cluster_name=\"backend\"} 0\n"
      "# TYPE envoy_cluster_upstream_cx_total counter\n"
      "envoy_cluster_upstream_cx_total{envoy_cluster_name=\"backend\"} 3\n"
      "envoy_cluster_upstream_cx_total{envoy_cluster_name=\"other\"} 1\n"
      "# TYPE envoy_listener_downstream_cx_total counter\n"
      "envoy_listener_downstream_cx_total{envoy_listener_address=\"127.0.0.1_10000\"} 7\n"
      "# TYPE envoy_server_live gauge\n"
      "envoy_server_live 1\n");
}

TEST_F(StatsFormatTest, PrometheusUsedOnlyEscapingAndConflicts) {
  StoreImpl store;
  store.counter("cluster.we\"ird\\.rq_total").inc();
  store.counter("a.b").add(1);
  store.gauge("a_b").set(2);    // same rendered name, different type: first family wins
  store.counter("a-b").add(3);  // same family and labels: first series wins
  store.counter("never");
  EXPECT_EQ(renderPrometheus(store, filter(true, "")),
            "# TYPE envoy_a_b counter\n"
            "envoy_a_b 3\n"
            "# TYPE envoy_cluster_rq_total counter\n"
            "envoy_cluster_rq_total{envoy_cluster_name=\"we\\\"ird\\\\\"} 1\n");
}

}  // namespace
}  // namespace Skiff::Stats
