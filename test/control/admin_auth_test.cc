// Admin credentials: the bearer token from --admin-token-file, checked on every admin request but
// /ready and /stats*; mutating calls refused when no token is configured.

#include "source/control/admin_auth.h"

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "source/common/stats/stats_impl.h"

namespace Skiff::Control {
namespace {

namespace fs = std::filesystem;
using Http::Admin::Method;
using Http::Admin::Request;

Request request(const std::string& path, const std::string& authorization = "",
                Method method = Method::Get) {
  Request r;
  r.method = method;
  r.path = path;
  if (!authorization.empty()) {
    r.headers.emplace("authorization", authorization);
  }
  return r;
}

std::string header(const Http::Admin::Response& response, const std::string& name) {
  for (const auto& [key, value] : response.headers) {
    if (key == name) {
      return value;
    }
  }
  return "";
}

class AdminAuthTest : public testing::Test {
 protected:
  void SetUp() override {
    const char* tmp = std::getenv("TEST_TMPDIR");
    dir_ =
        fs::path(tmp != nullptr ? tmp : "/tmp") /
        absl::StrCat("admin_auth_", testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    token_file_ = (dir_ / "token").string();
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Written to a new file renamed over the old one, as a Secret update does: a new inode.
  void writeToken(const std::string& content) {
    const std::string tmp = token_file_ + ".tmp";
    std::ofstream(tmp) << content;
    fs::rename(tmp, token_file_);
  }

  fs::path dir_;
  std::string token_file_;
  Stats::StoreImpl store_;
};

TEST(ConstantTimeEqualsTest, ComparesWholeStrings) {
  EXPECT_TRUE(constantTimeEquals("secret-token", "secret-token"));
  EXPECT_FALSE(constantTimeEquals("secret-token", "secret-tokeN"));
  EXPECT_FALSE(constantTimeEquals("secret-token", "secret-token-and-more"));
  EXPECT_FALSE(constantTimeEquals("secret-token", "secret"));
  EXPECT_FALSE(constantTimeEquals("secret-token", ""));
  EXPECT_FALSE(constantTimeEquals("abc", std::string("abc\0", 4)));
}

TEST_F(AdminAuthTest, NoTokenReadsAreOpenAndChangesForbidden) {
  auto credentials = AdminCredentials::create("", store_);
  ASSERT_TRUE(credentials.ok());
  EXPECT_FALSE((*credentials)->configured());
  EXPECT_FALSE((*credentials)->check(request("/nodes")).has_value());
  auto refused = (*credentials)->checkMutationsEnabled();
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(refused->code, 403);
  EXPECT_TRUE(absl::StrContains(refused->body, "--admin-token-file")) << refused->body;
  EXPECT_EQ(store_.counter("control_plane.admin.forbidden").value(), 1);
}

TEST_F(AdminAuthTest, TokenRequiredEverywhereButReadyAndStats) {
  writeToken("0123456789abcdef-token\n");
  auto created = AdminCredentials::create(token_file_, store_);
  ASSERT_TRUE(created.ok()) << created.status();
  AdminCredentials& credentials = **created;
  EXPECT_TRUE(credentials.configured());
  EXPECT_FALSE(credentials.checkMutationsEnabled().has_value());

  for (const char* open : {"/ready", "/stats", "/stats/prometheus"}) {
    EXPECT_FALSE(credentials.check(request(open)).has_value()) << open;
  }
  for (const char* closed : {"/nodes", "/listeners", "/", "/help", "/apply", "/nope"}) {
    auto refused = credentials.check(request(closed));
    ASSERT_TRUE(refused.has_value()) << closed;
    EXPECT_EQ(refused->code, 401);
    EXPECT_EQ(header(*refused, "WWW-Authenticate"), "Bearer realm=\"skiff-control\"");
  }
  auto wrong = credentials.check(request("/nodes", "Bearer 0123456789abcdef-tokeX"));
  ASSERT_TRUE(wrong.has_value());
  EXPECT_EQ(wrong->code, 401);
  EXPECT_TRUE(absl::StrContains(header(*wrong, "WWW-Authenticate"), "invalid_token"));
  for (const char* bad : {"Basic 0123456789abcdef-token", "0123456789abcdef-token", "Bearer ",
                          "Bearer 0123456789abcdef-token extra"}) {
    EXPECT_TRUE(credentials.check(request("/nodes", bad)).has_value()) << bad;
  }
  for (const char* good : {"Bearer 0123456789abcdef-token", "bearer 0123456789abcdef-token",
                           "  Bearer   0123456789abcdef-token  "}) {
    EXPECT_FALSE(credentials.check(request("/nodes", good)).has_value()) << good;
  }
  EXPECT_EQ(store_.counter("control_plane.admin.unauthorized").value(), 11);
}

TEST_F(AdminAuthTest, RotatedTokenIsPickedUpAndABrokenFileKeepsTheLastOne) {
  writeToken("first-token-0123456789");
  auto created = AdminCredentials::create(token_file_, store_);
  ASSERT_TRUE(created.ok());
  AdminCredentials& credentials = **created;
  EXPECT_FALSE(credentials.check(request("/nodes", "Bearer first-token-0123456789")).has_value());

  writeToken("second-token-0123456789\n");
  EXPECT_TRUE(credentials.check(request("/nodes", "Bearer first-token-0123456789")).has_value());
  EXPECT_FALSE(credentials.check(request("/nodes", "Bearer second-token-0123456789")).has_value());

  writeToken("   \n");
  EXPECT_FALSE(credentials.check(request("/nodes", "Bearer second-token-0123456789")).has_value());
  fs::remove(token_file_);
  EXPECT_FALSE(credentials.check(request("/nodes", "Bearer second-token-0123456789")).has_value());
}

TEST_F(AdminAuthTest, UnusableTokenFilesFailAtStartup) {
  auto missing = AdminCredentials::create((dir_ / "missing").string(), store_);
  ASSERT_FALSE(missing.ok());
  EXPECT_TRUE(absl::StrContains(missing.status().message(), "missing")) << missing.status();
  writeToken("\n");
  EXPECT_FALSE(AdminCredentials::create(token_file_, store_).ok());
  writeToken("two words\n");
  auto spaced = AdminCredentials::create(token_file_, store_);
  ASSERT_FALSE(spaced.ok());
  EXPECT_TRUE(absl::StrContains(spaced.status().message(), "without spaces")) << spaced.status();
}

}  // namespace
}  // namespace Skiff::Control
