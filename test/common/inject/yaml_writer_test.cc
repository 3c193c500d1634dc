#include "source/common/inject/yaml_writer.h"

#include "gtest/gtest.h"

namespace Skiff::Inject {
namespace {

YAML::Node load(const std::string& text) {
  auto node = parseYaml(text, "test");
  EXPECT_TRUE(node.ok()) << node.status();
  return node.ok() ? *node : YAML::Node();
}

ScalarType typeOf(const std::string& yaml_value) {
  return scalarType(load("v: " + yaml_value)["v"]);
}

TEST(YamlWriterTest, PlainScalarsResolveLikeYaml) {
  EXPECT_EQ(typeOf("~"), ScalarType::Null);
  EXPECT_EQ(typeOf("null"), ScalarType::Null);
  EXPECT_EQ(typeOf(""), ScalarType::Null);
  EXPECT_EQ(typeOf("true"), ScalarType::Bool);
  EXPECT_EQ(typeOf("off"), ScalarType::Bool);  // YAML 1.1, as Kubernetes reads it
  EXPECT_EQ(typeOf("42"), ScalarType::Int);
  EXPECT_EQ(typeOf("-7"), ScalarType::Int);
  EXPECT_EQ(typeOf("0x1F"), ScalarType::Int);
  EXPECT_EQ(typeOf("0.25"), ScalarType::Float);
  EXPECT_EQ(typeOf("1e3"), ScalarType::Float);
  EXPECT_EQ(typeOf(".inf"), ScalarType::Float);
  EXPECT_EQ(typeOf("64Mi"), ScalarType::String);
  EXPECT_EQ(typeOf("nginx:1.25"), ScalarType::String);
  // Quoting or an explicit tag makes a string.
  EXPECT_EQ(typeOf("'42'"), ScalarType::String);
  EXPECT_EQ(typeOf("\"true\""), ScalarType::String);
  EXPECT_EQ(typeOf("!!str 42"), ScalarType::String);
  EXPECT_EQ(typeOf("!!int 42"), ScalarType::Int);
  EXPECT_EQ(scalarType(stringNode("15001")), ScalarType::String);
  EXPECT_EQ(scalarType(intNode(15001)), ScalarType::Int);
  EXPECT_EQ(scalarType(boolNode(false)), ScalarType::Bool);
}

TEST(YamlWriterTest, LookupNeverThrows) {
  const YAML::Node doc = load("a: {b: 1}\nc: [1]\nd: x");
  EXPECT_EQ(lookup(doc, "a")["b"].Scalar(), "1");
  EXPECT_TRUE(lookup(doc, "missing").IsNull());
  EXPECT_TRUE(lookup(lookup(doc, "missing"), "deeper").IsNull());
  EXPECT_TRUE(lookup(doc["c"], "x").IsNull());
  EXPECT_TRUE(lookup(doc["d"], "x").IsNull());
}

TEST(YamlWriterTest, EqualityIsByMeaning) {
  EXPECT_TRUE(nodesEqual(load("{a: 1, b: [x, 'y']}"), load("{\"b\": [\"x\", \"y\"], \"a\": 1}")));
  EXPECT_TRUE(nodesEqual(load("v: 0x10")["v"], load("v: 16")["v"]));
  EXPECT_TRUE(nodesEqual(load("v: yes")["v"], load("v: true")["v"]));
  EXPECT_FALSE(nodesEqual(load("v: 8080")["v"], load("v: '8080'")["v"]));
  EXPECT_FALSE(nodesEqual(load("{a: 1}"), load("{a: 1, b: 2}")));
  EXPECT_FALSE(nodesEqual(load("[1, 2]"), load("[2, 1]")));
  EXPECT_FALSE(nodesEqual(load("a: {}"), load("a: []")));
}

// Every string must come back as the same string, whatever it looks like.
TEST(YamlWriterTest, StringsRoundTrip) {
  const std::vector<std::string> strings = {"plain",
                                            "true",
                                            "no",
                                            "Y",
                                            "~",
                                            "null",
                                            "",
                                            " lead",
                                            "trail ",
                                            "42",
                                            "0755",
                                            "1_000",
                                            "0b101",
                                            "1:30",
                                            "2001-12-14",
                                            "1e3",
                                            ".inf",
                                            "-",
                                            "--port",
                                            "- x",
                                            "---",
                                            "a: b",
                                            "a #b",
                                            "end:",
                                            "#x",
                                            "&a",
                                            "*a",
                                            "!x",
                                            "|x",
                                            ">x",
                                            "%x",
                                            "@x",
                                            "`x",
                                            "'q'",
                                            "\"d\"",
                                            "[x]",
                                            "{x}",
                                            "=",
                                            "<<",
                                            "tab\there",
                                            "64Mi",
                                            "10m",
                                            "it's",
                                            "line1\nline2",
                                            "ends\n",
                                            "two\n\n",
                                            "\nlead newline",
                                            "  indented\nsecond",
                                            "cr\r\n",
                                            "bell\x07",
                                            "ünïcödé",
                                            "x,y",
                                            "a: \"b\""};
  YAML::Node doc(YAML::NodeType::Map);
  YAML::Node list(YAML::NodeType::Sequence);
  for (size_t i = 0; i < strings.size(); ++i) {
    doc[stringNode(strings[i])] = stringNode(strings[i]);
    list.push_back(stringNode(strings[i]));
  }
  doc[stringNode("list")] = list;
  const std::string yaml = toYaml(doc);
  const YAML::Node back = load(yaml);
  ASSERT_TRUE(back.IsMap()) << yaml;
  for (const std::string& s : strings) {
    const YAML::Node value = lookup(back, s);
    ASSERT_TRUE(value.IsScalar()) << "key " << s << " in\n" << yaml;
    EXPECT_EQ(value.Scalar(), s) << yaml;
    EXPECT_EQ(scalarType(value), ScalarType::String) << s << " in\n" << yaml;
  }
  EXPECT_TRUE(nodesEqual(back["list"], list)) << yaml;
}

TEST(YamlWriterTest, KubectlLayout) {
  const YAML::Node doc = load(R"(
metadata: {name: web, labels: {app: web}}
spec:
  containers:
  - name: app
    args: ["--port", "8080"]
    ports: [{containerPort: 8080}]
    env: []
    resources: {}
    command: ~
  script: "#!/bin/sh\necho hi\n"
)");
  EXPECT_EQ(toYaml(doc), R"(metadata:
  name: web
  labels:
    app: web
spec:
  containers:
  - name: app
    args:
    - --port
    - '8080'
    ports:
    - containerPort: 8080
    env: []
    resources: {}
    command: null
  script: |
    #!/bin/sh
    echo hi
)");
  EXPECT_EQ(toYaml(load("[[1, 2], {}]")), "-\n  - 1\n  - 2\n- {}\n");
  EXPECT_EQ(toYaml(load("42")), "42\n");
}

TEST(YamlWriterTest, Json) {
  EXPECT_EQ(toJson(load("{a: 1, b: [x, '2', 0x10, 1.50, true, ~], c: {}, d: [], "
                        "e: \"q\\\"\\n\"}")),
            R"({"a":1,"b":["x","2",16,1.5,true,null],"c":{},"d":[],"e":"q\"\n"})");
  EXPECT_EQ(toJson(load("v: 99999999999999999999")), R"({"v":99999999999999999999})");
  // A JSON document reads back as the same JSON.
  const std::string json = R"({"k":"v/~","n":-3,"f":0.5,"b":false,"z":null,"l":[{"x":"1"}]})";
  EXPECT_EQ(toJson(load(json)), json);
}

TEST(YamlWriterTest, ParseErrorsNameTheLine) {
  auto node = parseYaml("a: 1\nb: [1,\nc: 2\n", "app.yaml", 10);
  ASSERT_FALSE(node.ok());
  EXPECT_EQ(node.status().message().find("app.yaml:"), 0) << node.status();
  EXPECT_NE(node.status().message().find(":14:"), std::string::npos) << node.status();
}

}  // namespace
}  // namespace Skiff::Inject
