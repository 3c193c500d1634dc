#include "source/extensions/filters/network/http_connection_manager/conn_manager_utility.h"

#include <set>

#include "gtest/gtest.h"

namespace Skiff::Extensions::NetworkFilters::HttpConnectionManager {
namespace {

uint64_t counterRandom(void* state) {
  uint64_t& s = *static_cast<uint64_t*>(state);
  s = s * 6364136223846793005ULL + 1442695040888963407ULL;
  return s;
}

Network::Address::InstanceConstSharedPtr addr(const char* ip) {
  return *Network::Address::Instance::parse(ip, 1234);
}

TEST(HopByHopTest, RemovesStandardAndConnectionNamedFields) {
  Http::RequestHeaderMap h;
  h.add("Connection", "keep-alive, X-Secret, Upgrade");
  h.add("Keep-Alive", "timeout=5");
  h.add("Proxy-Connection", "keep-alive");
  h.add("TE", "trailers");
  h.add("X-Secret", "1");
  h.add("Upgrade", "websocket");
  h.add("Accept", "*/*");
  removeHopByHopHeaders(h, /*keep_upgrade=*/false);
  EXPECT_EQ(h.size(), 1u);
  EXPECT_TRUE(h.has("accept"));
}

TEST(HopByHopTest, KeepsAnAllowedUpgradeAndNeverLetsConnectionStripHost) {
  Http::RequestHeaderMap h;
  h.add("Connection", "Upgrade, host, x-request-id");
  h.add("Upgrade", "websocket");
  h.add("x-request-id", "abc");
  removeHopByHopHeaders(h, /*keep_upgrade=*/true);
  EXPECT_EQ(*h.get("upgrade"), "websocket");
  EXPECT_EQ(*h.get("connection"), "upgrade");
  EXPECT_EQ(*h.get("x-request-id"), "abc");
}

TEST(UpgradeTest, Detection) {
  Http::RequestHeaderMap h;
  h.add("Upgrade", "WebSocket");
  std::string type;
  EXPECT_FALSE(isUpgradeRequest(h, &type));  // No connection: upgrade.
  h.add("Connection", "keep-alive, Upgrade");
  EXPECT_TRUE(isUpgradeRequest(h, &type));
  EXPECT_EQ(type, "websocket");
}

TEST(XffTest, UseRemoteAddressAppendsThePeerAndOverwritesProto) {
  HeaderRules rules;
  rules.use_remote_address = true;
  Http::RequestHeaderMap h;
  h.add("x-forwarded-for", "1.2.3.4");
  h.add("x-forwarded-proto", "https");  // From an untrusted hop: overwritten.
  uint64_t seed = 1;
  auto result = mutateRequestHeaders(h, *addr("10.0.0.9"), rules, counterRandom, &seed);
  EXPECT_EQ(*h.get("x-forwarded-for"), "1.2.3.4,10.0.0.9");
  EXPECT_EQ(*h.get("x-forwarded-proto"), "http");
  EXPECT_EQ(result.downstream_address, "10.0.0.9");
  EXPECT_TRUE(result.internal);
}

TEST(XffTest, TrustedHopsPickTheClientFromTheRight) {
  HeaderRules rules;
  rules.use_remote_address = true;
  rules.xff_num_trusted_hops = 1;
  Http::RequestHeaderMap h;
  h.add("x-forwarded-for", "198.51.100.7, 10.1.1.1");
  h.add("x-forwarded-proto", "https");  // From a trusted hop: kept.
  uint64_t seed = 1;
  auto result = mutateRequestHeaders(h, *addr("10.0.0.9"), rules, counterRandom, &seed);
  EXPECT_EQ(result.downstream_address, "10.1.1.1");
  EXPECT_EQ(*h.get("x-forwarded-proto"), "https");
  EXPECT_EQ(*h.get("x-forwarded-for"), "198.51.100.7, 10.1.1.1,10.0.0.9");
}

TEST(XffTest, WithoutRemoteAddressTheLastEntryIsTheClientAndNothingIsAppended) {
  HeaderRules rules;
  Http::RequestHeaderMap h;
  h.add("x-forwarded-for", "203.0.113.5");
  uint64_t seed = 1;
  auto result = mutateRequestHeaders(h, *addr("127.0.0.1"), rules, counterRandom, &seed);
  EXPECT_EQ(*h.get("x-forwarded-for"), "203.0.113.5");
  EXPECT_EQ(result.downstream_address, "203.0.113.5");
  EXPECT_FALSE(result.internal);
  EXPECT_EQ(*h.get("x-forwarded-proto"), "http");

  HeaderRules skip;
  skip.use_remote_address = true;
  skip.skip_xff_append = true;
  Http::RequestHeaderMap h2;
  mutateRequestHeaders(h2, *addr("127.0.0.1"), skip, counterRandom, &seed);
  EXPECT_FALSE(h2.has("x-forwarded-for"));
}

TEST(RequestIdTest, GeneratedWhenMissingKeptFromInternalReplacedFromExternalEdge) {
  HeaderRules rules;
  uint64_t seed = 42;
  std::set<std::string> ids;
  for (int i = 0; i < 100; ++i) {
    Http::RequestHeaderMap h;
    mutateRequestHeaders(h, *addr("127.0.0.1"), rules, counterRandom, &seed);
    const absl::string_view* id = h.get("x-request-id");
    ASSERT_NE(id, nullptr);
    ASSERT_EQ(id->size(), 36u);
    EXPECT_EQ((*id)[14], '4');  // Version 4.
    EXPECT_TRUE((*id)[19] == '8' || (*id)[19] == '9' || (*id)[19] == 'a' || (*id)[19] == 'b');
    EXPECT_EQ((*id)[8], '-');
    ids.emplace(*id);
  }
  EXPECT_EQ(ids.size(), 100u);

  Http::RequestHeaderMap keep;
  keep.add("x-request-id", "mine");
  mutateRequestHeaders(keep, *addr("127.0.0.1"), rules, counterRandom, &seed);
  EXPECT_EQ(*keep.get("x-request-id"), "mine");

  HeaderRules edge;
  edge.use_remote_address = true;
  Http::RequestHeaderMap ext;
  ext.add("x-request-id", "spoofed");
  mutateRequestHeaders(ext, *addr("203.0.113.9"), edge, counterRandom, &seed);
  EXPECT_NE(*ext.get("x-request-id"), "spoofed");

  HeaderRules off;
  off.generate_request_id = false;
  Http::RequestHeaderMap none;
  mutateRequestHeaders(none, *addr("127.0.0.1"), off, counterRandom, &seed);
  EXPECT_FALSE(none.has("x-request-id"));
}

TEST(ResponseHeadersTest, ServerTransformationsViaAndRequestId) {
  HeaderRules rules;
  rules.server_name = "skiff";
  rules.via = "1.1 skiff";
  rules.always_set_request_id_in_response = true;
  absl::string_view id = "abc";
  Http::ResponseHeaderMap r;
  r.add("server", "backend");
  mutateResponseHeaders(r, rules, &id);
  EXPECT_EQ(*r.get("server"), "skiff");
  EXPECT_EQ(*r.get("via"), "1.1 skiff");
  EXPECT_EQ(*r.get("x-request-id"), "abc");

  rules.server_header_transformation = ServerHeaderTransformation::AppendIfAbsent;
  Http::ResponseHeaderMap keep;
  keep.add("server", "backend");
  mutateResponseHeaders(keep, rules, nullptr);
  EXPECT_EQ(*keep.get("server"), "backend");
  Http::ResponseHeaderMap absent;
  mutateResponseHeaders(absent, rules, nullptr);
  EXPECT_EQ(*absent.get("server"), "skiff");

  rules.server_header_transformation = ServerHeaderTransformation::PassThrough;
  Http::ResponseHeaderMap pass;
  mutateResponseHeaders(pass, rules, nullptr);
  EXPECT_FALSE(pass.has("server"));
}

TEST(InternalAddressTest, Ranges) {
  EXPECT_TRUE(isInternalAddress("127.0.0.1"));
  EXPECT_TRUE(isInternalAddress("10.255.0.1"));
  EXPECT_TRUE(isInternalAddress("172.16.0.1"));
  EXPECT_TRUE(isInternalAddress("172.31.255.255"));
  EXPECT_FALSE(isInternalAddress("172.32.0.1"));
  EXPECT_TRUE(isInternalAddress("192.168.1.1"));
  EXPECT_FALSE(isInternalAddress("8.8.8.8"));
  EXPECT_TRUE(isInternalAddress("::1"));
  EXPECT_TRUE(isInternalAddress("fd00::1"));
  EXPECT_FALSE(isInternalAddress("2001:db8::1"));
  EXPECT_FALSE(isInternalAddress("not an ip"));
}

}  // namespace
}  // namespace Skiff::Extensions::NetworkFilters::HttpConnectionManager
