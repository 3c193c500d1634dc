#include "source/common/http/header_map.h"

#include <cstring>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
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
  HeaderMap::Field& field = headers.addField(7, 8);
  memcpy(const_cast<char*>(field.name.data()), "x-built", 7);
  memcpy(const_cast<char*>(field.value.data()), "in place", 8);
  EXPECT_EQ(headers.byteSize(), 2u);  // Not counted until finished.
  headers.finishLastField();
  EXPECT_EQ(headers.byteSize(), 17u);
  EXPECT_EQ(*headers.get("x-built"), "in place");

  // Grown piece by piece, as a codec does for a field cut by a read's end; other bytes stored
  // in between make the pieces move, not break.
  headers.addEmptyField();
  memcpy(headers.extendLastName(3), "x-p", 3);
  memcpy(headers.extendLastName(5), "ieces", 5);
  memcpy(headers.extendLastValue(2), "ab", 2);
  headers.finishLastField();
  headers.addEmptyField();
  memcpy(headers.extendLastName(7), "dropped", 7);
  headers.removeLastField();
  EXPECT_EQ(headers.size(), 3u);
  EXPECT_EQ(*headers.get("x-pieces"), "ab");
  EXPECT_FALSE(headers.has("dropped"));
}

TEST(HeaderMapTest, ViewsStayValidWhileTheMapGrows) {
  HeaderMap headers;
  headers.add("first", "value");
  const absl::string_view first = *headers.get("first");
  // Far more than the inline first chunk: several heap chunks, one field larger than a chunk.
  const std::string big(5000, 'v');
  for (int i = 0; i < 200; ++i) {
    headers.add(absl::StrCat("X-Field-", i), absl::StrCat("value-", i));
  }
  headers.add("big", big);
  headers.set("first", "changed");
  EXPECT_EQ(first, "value") << "old bytes stay until clear()";
  EXPECT_EQ(*headers.get("first"), "changed");
  EXPECT_EQ(*headers.get("x-field-199"), "value-199");
  EXPECT_EQ(*headers.get("big"), big);

  // A field grown in place across a chunk boundary keeps its earlier bytes.
  headers.addEmptyField();
  memcpy(headers.extendLastName(4), "grow", 4);
  for (int i = 0; i < 100; ++i) {
    memcpy(headers.extendLastValue(50), big.data(), 50);
  }
  headers.finishLastField();
  EXPECT_EQ(*headers.get("grow"), std::string(5000, 'v'));
}

TEST(HeaderMapTest, CopiesOwnTheirBytes) {
  auto original = std::make_unique<RequestHeaderMap>();
  original->setPath("/p");
  original->add("A", "1");
  original->add("b", std::string(2000, 'x'));
  RequestHeaderMap copy = *original;
  original.reset();
  EXPECT_EQ(copy.path(), "/p");
  EXPECT_EQ(*copy.get("a"), "1");
  EXPECT_EQ(copy.get("b")->size(), 2000u);
  EXPECT_EQ(copy.byteSize(), 1u + 1u + 1u + 2000u);

  RequestHeaderMap assigned;
  assigned.add("old", "gone");
  assigned = copy;
  copy.clear();
  EXPECT_FALSE(assigned.has("old"));
  EXPECT_EQ(*assigned.get("a"), "1");
}

TEST(HeaderMapTest, SetFirstLeavesLaterFields) {
  HeaderMap headers;
  headers.add("via", "1.0 a");
  headers.add("via", "1.0 b");
  EXPECT_TRUE(headers.setFirst("via", "1.0 a, 1.1 skiff"));
  EXPECT_EQ(headers.getJoined("via"), "1.0 a, 1.1 skiff, 1.0 b");
  EXPECT_FALSE(headers.setFirst("absent", "x"));
  EXPECT_FALSE(headers.has("absent"));
  EXPECT_EQ(headers.byteSize(), std::string("via1.0 a, 1.1 skiffvia1.0 b").size());
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
