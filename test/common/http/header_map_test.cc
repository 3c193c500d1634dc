#include "source/common/http/header_map.h"

#include "gtest/gtest.h"

namespace Skiff::Http {
namespace {

TEST(HeaderMapTest, NamesAreLowerCasedAndOrderIsKept) {
  HeaderMap headers;
  headers.add("Content-Type", "text/plain");
  headers.add("X-A", "1");
  headers.add("x-a", "2");
  ASSERT_EQ(headers.size(), 3u);
  EXPECT_EQ(headers.fields()[0].name, "content-type");
  EXPECT_EQ(*headers.get("x-a"), "1");
  EXPECT_EQ(headers.getJoined("x-a"), "1, 2");
  EXPECT_EQ(headers.get("X-A"), nullptr) << "lookups take lower-case names";
  EXPECT_EQ(headers.byteSize(), std::string("content-typetext/plainx-a1x-a2").size());
}

TEST(HeaderMapTest, SetReplacesEveryValueAndRemoveKeepsSizeRight) {
  HeaderMap headers;
  headers.add("a", "1");
  headers.add("b", "2");
  headers.add("A", "3");
  headers.set("A", "9");
  ASSERT_EQ(headers.size(), 2u);
  EXPECT_EQ(headers.fields()[1].name, "a");
  EXPECT_EQ(headers.getJoined("a"), "9");
  EXPECT_EQ(headers.remove("B"), 1u);
  EXPECT_EQ(headers.remove("b"), 0u);
  EXPECT_EQ(headers.byteSize(), 2u);
  headers.clear();
  EXPECT_TRUE(headers.empty());
  EXPECT_EQ(headers.byteSize(), 0u);
}

TEST(HeaderMapTest, FieldsFilledInPlace) {
  HeaderMap headers;
  headers.add("A", "1");
  HeaderMap::Field& field = headers.addEmptyField();
  field.name = "x-built";
  headers.lastField().value = "in place";
  EXPECT_EQ(headers.byteSize(), 2u);  // Not counted until finished.
  headers.finishLastField();
  EXPECT_EQ(headers.byteSize(), 17u);
  EXPECT_EQ(*headers.get("x-built"), "in place");
  headers.addEmptyField().name = "dropped";
  headers.removeLastField();
  EXPECT_EQ(headers.size(), 2u);
  EXPECT_FALSE(headers.has("dropped"));
}

TEST(RequestHeaderMapTest, PathAndQuery) {
  RequestHeaderMap request;
  request.setPath("/a/b?x=1&y=2");
  EXPECT_EQ(request.pathWithoutQuery(), "/a/b");
  EXPECT_EQ(request.query(), "x=1&y=2");
  request.setPath("/plain");
  EXPECT_EQ(request.pathWithoutQuery(), "/plain");
  EXPECT_EQ(request.query(), "");
  EXPECT_EQ(request.scheme(), "http");
}

}  // namespace
}  // namespace Skiff::Http
