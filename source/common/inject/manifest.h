#pragma once

// Injection over Kubernetes manifests as users keep them: a multi-document YAML stream with any
// mix of kinds. Every pod template found is injected (injector.h); documents that do not change
// are copied through byte for byte (comments, quoting, key order and all), and only the changed
// ones are written anew (toYaml), keeping their separator line and leading comments.
//
// Thread: pure functions; any thread.

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "source/common/inject/injector.h"
#include "yaml-cpp/yaml.h"

namespace Skiff::Inject {

// One pod template found in a document.
struct PodReport {
  std::string path;  // "spec.template", "items[1].spec.jobTemplate.spec.template", "" for a Pod
  PodResult result;
};

struct DocumentReport {
  int number = 0;  // 1-based, as a YAML parser counts documents
  std::string kind;
  std::string name;
  bool changed = false;
  std::vector<PodReport> pods;
};

struct ManifestResult {
  std::string text;
  std::vector<DocumentReport> documents;
};

// Injects every pod template in `object` (Pod; Deployment, StatefulSet, DaemonSet, ReplicaSet of
// apps/*; Job, CronJob of batch/*; a List's items), in place. Other kinds are left alone (no
// reports). Errors name the template's path.
absl::StatusOr<std::vector<PodReport>> injectObject(YAML::Node object, const Options& options);

// Injects every document of `text`. `source` names the input in errors, which read
// "document 2 (app.yaml:14:3): <reason>" for YAML that does not parse and
// "document 2 (Deployment web): spec.template.spec: <reason>" for objects that cannot be injected.
absl::StatusOr<ManifestResult> injectManifest(absl::string_view text, absl::string_view source,
                                              const Options& options);

// Where each document of a stream starts and ends. Exposed for tests.
struct DocumentSpan {
  size_t begin = 0;              // byte offset of the document's first line (its "---" line if any)
  size_t end = 0;                // one past its last byte
  size_t body_begin = 0;         // past the "---" line and the comment/blank lines after it
  int first_line = 0;            // 0-based line number of `begin`
  bool has_separator = false;    // `begin` is a "---" line
  bool plain_separator = false;  // ... holding nothing else (so it can be kept as is)
};
// Splits on lines starting with "---" followed by a space, a tab or the line's end. Text before
// the first separator is a document only when it holds more than comments and blank lines.
std::vector<DocumentSpan> splitDocuments(absl::string_view text);

}  // namespace Skiff::Inject
