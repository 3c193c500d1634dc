#include "source/common/inject/manifest.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gtest/gtest.h"
#include "source/common/inject/yaml_writer.h"

namespace Skiff::Inject {
namespace {

constexpr char kPodSpec[] = R"(    spec:
      containers:
      - name: app
        image: app:1
)";

ManifestResult injected(const std::string& text, const Options& options = {}) {
  auto result = injectManifest(text, "test.yaml", options);
  EXPECT_TRUE(result.ok()) << result.status();
  return result.ok() ? *result : ManifestResult{};
}

std::vector<YAML::Node> documents(const std::string& text) { return YAML::LoadAll(text); }

bool hasSkiff(const YAML::Node& pod_spec) {
  for (const char* list : {"initContainers", "containers"}) {
    for (const YAML::Node& c : lookup(pod_spec, list)) {
      if (c["name"].Scalar() == "skiff") {
        return true;
      }
    }
  }
  return false;
}

TEST(ManifestTest, EveryWorkloadKind) {
  struct Case {
    std::string api_version;
    std::string kind;
    std::vector<std::string> path;  // to the pod template
  };
  const std::vector<Case> cases = {
      {"apps/v1", "Deployment", {"spec", "template"}},
      {"apps/v1", "StatefulSet", {"spec", "template"}},
      {"apps/v1", "DaemonSet", {"spec", "template"}},
      {"apps/v1", "ReplicaSet", {"spec", "template"}},
      {"batch/v1", "Job", {"spec", "template"}},
      {"batch/v1", "CronJob", {"spec", "jobTemplate", "spec", "template"}},
  };
  for (const Case& c : cases) {
    std::string text =
        absl::StrCat("apiVersion: ", c.api_version, "\nkind: ", c.kind, "\nmetadata: {name: w}\n");
    std::string indent;
    for (const std::string& key : c.path) {
      absl::StrAppend(&text, indent, key, ":\n");
      indent += "  ";
    }
    absl::StrAppend(&text, indent, "spec: {containers: [{name: app, image: app:1}]}\n");
    const ManifestResult result = injected(text);
    ASSERT_EQ(result.documents.size(), 1u) << c.kind;
    ASSERT_EQ(result.documents[0].pods.size(), 1u) << c.kind;
    EXPECT_TRUE(result.documents[0].changed);
    EXPECT_EQ(result.documents[0].pods[0].path, absl::StrJoin(c.path, "."));
    YAML::Node node = YAML::Load(result.text);
    for (const std::string& key : c.path) {
      node.reset(node[key]);
    }
    EXPECT_TRUE(hasSkiff(node["spec"])) << c.kind << "\n" << result.text;
    // The workload's name is the node cluster when no app label says otherwise.
    EXPECT_TRUE(absl::StrContains(result.text, "cluster: \"w\"")) << result.text;
  }

  const ManifestResult pod = injected(
      "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n"
      "spec: {containers: [{name: app}]}\n");
  ASSERT_EQ(pod.documents[0].pods.size(), 1u);
  EXPECT_EQ(pod.documents[0].pods[0].path, "");
  EXPECT_TRUE(hasSkiff(YAML::Load(pod.text)["spec"]));
}

TEST(ManifestTest, ListItems) {
  const ManifestResult result = injected(R"(apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Service
  metadata: {name: s}
- apiVersion: apps/v1
  kind: Deployment
  metadata: {name: d}
  spec:
    template:
      spec: {containers: [{name: app}]}
- apiVersion: v1
  kind: Pod
  metadata: {name: p}
  spec: {containers: [{name: app}]}
)");
  ASSERT_EQ(result.documents[0].pods.size(), 2u);
  EXPECT_EQ(result.documents[0].pods[0].path, "items[1].spec.template");
  EXPECT_EQ(result.documents[0].pods[1].path, "items[2]");
  const YAML::Node list = YAML::Load(result.text);
  EXPECT_TRUE(hasSkiff(list["items"][1]["spec"]["template"]["spec"]));
  EXPECT_TRUE(hasSkiff(list["items"][2]["spec"]));
}

TEST(ManifestTest, UntouchedDocumentsAreCopiedByteForByte) {
  const std::string service =
      "# The service, with comments and odd quoting\n"
      "apiVersion: v1\nkind: Service   # trailing comment\n"
      "metadata: {name: \"web\",   labels: {app: 'web'}}\n"
      "spec:\n    ports: [ {port: 80} ]\n";
  const std::string opted_out =
      "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: legacy}\nspec:\n  template:\n"
      "    metadata:\n      labels: {skiff.io/inject: \"false\"}\n" +
      std::string(kPodSpec);
  const std::string deployment =
      "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n"
      "spec:\n  template:\n" +
      std::string(kPodSpec);
  const std::string configmap =
      "kind: ConfigMap\napiVersion: v1\ndata:\n  a.yaml: |\n    ---\n"
      "    x: 1\n";
  const std::string text = service + "---\n" + opted_out + "--- # the app\n# more comment\n" +
                           deployment + "---\n" + configmap + "...\n";
  const ManifestResult result = injected(text);
  ASSERT_EQ(result.documents.size(), 4u);
  EXPECT_FALSE(result.documents[0].changed);
  EXPECT_FALSE(result.documents[1].changed);
  EXPECT_EQ(result.documents[1].pods[0].result.outcome, Outcome::Skipped);
  EXPECT_TRUE(result.documents[2].changed);
  EXPECT_FALSE(result.documents[3].changed);
  // Everything but the Deployment's body, unchanged; its separator line and comment kept.
  EXPECT_TRUE(absl::StartsWith(
      result.text,
      service + "---\n" + opted_out + "--- # the app\n# more comment\napiVersion: apps/v1\n"))
      << result.text;
  EXPECT_TRUE(absl::EndsWith(result.text, "---\n" + configmap + "...\n")) << result.text;
  EXPECT_TRUE(hasSkiff(documents(result.text)[2]["spec"]["template"]["spec"]));

  // Idempotent: the output comes back byte for byte.
  EXPECT_EQ(injected(result.text).text, result.text);
  // Nothing to inject at all: the input comes back as is.
  const std::string no_pods = service + "---\n" + configmap;
  EXPECT_EQ(injected(no_pods).text, no_pods);
  EXPECT_EQ(injected("").text, "");
  EXPECT_EQ(injected("# only a comment\n").text, "# only a comment\n");
}

TEST(ManifestTest, SeparatorWithContentIsRewritten) {
  const ManifestResult result = injected(
      "--- {apiVersion: v1, kind: Pod, metadata: {name: p}, spec: {containers: [{name: "
      "a}]}}\n---\nkind: Other\n");
  EXPECT_TRUE(absl::StartsWith(result.text, "---\napiVersion: v1\n")) << result.text;
  EXPECT_TRUE(absl::EndsWith(result.text, "\n---\nkind: Other\n")) << result.text;
  EXPECT_EQ(documents(result.text).size(), 2u);
}

TEST(ManifestTest, SplitDocuments) {
  const std::string text = "# header\n---\na: 1\n---   \n# c\n\nb: 2\n--- x\n---\n";
  const std::vector<DocumentSpan> spans = splitDocuments(text);
  ASSERT_EQ(spans.size(), 4u);
  EXPECT_EQ(text.substr(spans[0].begin, spans[0].end - spans[0].begin), "---\na: 1\n");
  EXPECT_EQ(spans[0].first_line, 1);
  EXPECT_TRUE(spans[0].plain_separator);
  EXPECT_EQ(text.substr(spans[1].body_begin, spans[1].end - spans[1].body_begin), "b: 2\n");
  EXPECT_FALSE(spans[2].plain_separator);
  EXPECT_EQ(spans[2].body_begin, spans[2].begin);
  EXPECT_EQ(spans[3].begin, text.size() - 4);
  // Text before a first "---" is a document when it has content; "----" is no separator.
  EXPECT_EQ(splitDocuments("a: 1\n---\nb: 2\n").size(), 2u);
  EXPECT_EQ(splitDocuments("a: |\n  ----\n").size(), 1u);
  EXPECT_EQ(splitDocuments("").size(), 0u);
}

TEST(ManifestTest, ErrorsNameTheDocumentAndLine) {
  auto result = injectManifest("kind: Service\n---\nkind: Pod\nspec: [1,\n", "app.yaml", Options{});
  ASSERT_FALSE(result.ok());
  EXPECT_TRUE(absl::StartsWith(result.status().message(), "document 2 (app.yaml:5:1: "))
      << result.status();

  result = injectManifest(
      "kind: Service\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\n"
      "spec: {template: {spec: {containers: {}}}}\n",
      "app.yaml", Options{});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().message(),
            "document 2 (Deployment web): spec.template.spec.containers: must be a sequence");

  result = injectManifest("apiVersion: apps/v1\nkind: Deployment\nspec: {}\n", "a", Options{});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().message(), "document 1 (Deployment ): spec.template: must be a map");

  Options bad;
  bad.control_plane = "nohostport";
  EXPECT_FALSE(injectManifest("", "a", bad).ok());
}

TEST(ManifestTest, OtherKindsAndGroupsAreLeftAlone) {
  const std::string text =
      "apiVersion: example.com/v1\nkind: Deployment\nspec: {template: {spec: {containers: "
      "[{name: a}]}}}\n---\n- 1\n- 2\n---\nplain scalar\n";
  const ManifestResult result = injected(text);
  EXPECT_EQ(result.text, text);
  EXPECT_EQ(result.documents.size(), 3u);
}

}  // namespace
}  // namespace Skiff::Inject
