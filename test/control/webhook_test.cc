#include "source/control/webhook.h"

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "source/common/inject/yaml_writer.h"
#include "source/common/stats/stats_impl.h"
#include "test/common/inject/json_patch_apply.h"

namespace Skiff::Control {
namespace {

using Inject::nodesEqual;
using Inject::toJson;

constexpr char kPod[] = R"(
apiVersion: v1
kind: Pod
metadata:
  generateName: web-7d9c6b-
  namespace: shop
  labels: {app: web, pod-template-hash: 7d9c6b}
  annotations: {team: a/b~c}
spec:
  containers:
  - name: app
    image: nginx:1.25
    ports: [{containerPort: 8080}]
)";

std::string review(const std::string& pod_yaml, const std::string& operation = "CREATE",
                   const std::string& resource = "pods") {
  return absl::StrCat(R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{)",
                      R"("uid":"705ab4f5-6393-11e8-b7cc-42010a800002",)",
                      R"("kind":{"group":"","version":"v1","kind":"Pod"},)",
                      R"("resource":{"group":"","version":"v1","resource":")", resource, R"("},)",
                      R"("namespace":"shop","operation":")", operation,
                      R"(","userInfo":{"username":"me"},)", R"("object":)",
                      toJson(YAML::Load(pod_yaml)), R"(,"oldObject":null,"dryRun":false}})");
}

class WebhookTest : public testing::Test {
 protected:
  // The reply's response object (after checking the envelope).
  YAML::Node respond(const std::string& body, int expected_code = 200) {
    last_ = reviewAdmission(body, options_, stats_);
    EXPECT_EQ(last_.code, expected_code) << last_.body;
    if (last_.code != 200) {
      return YAML::Node();
    }
    const YAML::Node reply = YAML::Load(last_.body);
    EXPECT_EQ(reply["apiVersion"].Scalar(), "admission.k8s.io/v1");
    EXPECT_EQ(reply["kind"].Scalar(), "AdmissionReview");
    EXPECT_EQ(reply["response"]["uid"].Scalar(), "705ab4f5-6393-11e8-b7cc-42010a800002");
    EXPECT_EQ(reply["response"]["allowed"].Scalar(), "true");
    return reply["response"];
  }

  Stats::StoreImpl store_;
  WebhookStats stats_{store_};
  Inject::Options options_;
  WebhookReply last_;
};

TEST_F(WebhookTest, PatchGivesTheInjectedPod) {
  for (const auto mode :
       {Inject::NativeSidecarMode::Enabled, Inject::NativeSidecarMode::Disabled}) {
    options_.native_sidecar = mode;
    const YAML::Node response = respond(review(kPod));
    ASSERT_EQ(response["patchType"].Scalar(), "JSONPatch");
    std::string patch;
    ASSERT_TRUE(absl::Base64Unescape(response["patch"].Scalar(), &patch));
    // The annotation key's "/" and "~" are escaped in the pointer.
    EXPECT_TRUE(absl::StrContains(patch, "/metadata/annotations/skiff.io~1status")) << patch;

    const YAML::Node pod = YAML::Load(toJson(YAML::Load(kPod)));
    const YAML::Node patched = Inject::applyJsonPatch(pod, patch);
    // What skiffctl inject makes of the same pod.
    YAML::Node expected = YAML::Clone(pod);
    auto result = Inject::injectPod(expected, Inject::workloadNameForPod(pod), options_);
    ASSERT_TRUE(result.ok());
    EXPECT_TRUE(nodesEqual(patched, expected)) << toJson(patched) << "\n" << toJson(expected);
    EXPECT_TRUE(absl::StrContains(toJson(patched), R"(cluster: \"web\")"));
  }
  EXPECT_EQ(stats_.injected.value(), 2);
}

TEST_F(WebhookTest, NoPatchWhenNotInjected) {
  const auto no_patch = [this](const std::string& body) {
    const YAML::Node response = respond(body);
    EXPECT_FALSE(response["patch"].IsDefined()) << body;
    EXPECT_FALSE(response["patchType"].IsDefined()) << body;
  };
  no_patch(review(std::string(kPod) + "\n  x: 1", "UPDATE"));
  no_patch(review("metadata: {name: s}", "CREATE", "services"));
  const std::string opted_out =
      absl::StrCat("metadata: {name: p, labels: {skiff.io/inject: 'false'}}\n",
                   "spec: {containers: [{name: a}]}");
  no_patch(review(opted_out));
  no_patch(review("metadata: {name: p, namespace: kube-system}\nspec: {containers: [{name: a}]}"));
  // Already injected (a re-invocation, or a pod from an injected manifest).
  YAML::Node injected = YAML::Load(kPod);
  ASSERT_TRUE(Inject::injectPod(injected, "web", options_).ok());
  no_patch(review(toJson(injected)));
  EXPECT_EQ(stats_.allowed.value(), 5);

  // A pod that cannot be injected is admitted as is, with a warning for the user.
  const YAML::Node response = respond(review("metadata: {name: p}\nspec: {containers: 3}"));
  EXPECT_FALSE(response["patch"].IsDefined());
  EXPECT_TRUE(absl::StrContains(response["warnings"][0].Scalar(), "spec.containers"));
}

TEST_F(WebhookTest, MalformedReviewsAre400WithAReason) {
  const auto reason = [this](const std::string& body) {
    respond(body, 400);
    return last_.body;
  };
  EXPECT_TRUE(absl::StartsWith(reason("{\"apiVersion\": "), "invalid JSON"));
  EXPECT_TRUE(absl::StartsWith(reason("[1]"), "not an AdmissionReview"));
  EXPECT_TRUE(absl::StrContains(
      reason(R"({"apiVersion":"admission.k8s.io/v1beta1","kind":"AdmissionReview"})"),
      "apiVersion admission.k8s.io/v1"));
  EXPECT_EQ(reason(R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"})"),
            "request: missing (or not an object)\n");
  EXPECT_EQ(reason(R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview",)"
                   R"("request":{"operation":"CREATE"}})"),
            "request.uid: missing\n");
  EXPECT_EQ(reason(R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview",)"
                   R"("request":{"uid":"u","operation":"CREATE","resource":{"group":"",)"
                   R"("resource":"pods"}}})"),
            "request.object: missing (or not an object)\n");
  EXPECT_EQ(stats_.rejected.value(), 6);
}

}  // namespace
}  // namespace Skiff::Control
