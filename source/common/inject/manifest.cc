#include "source/common/inject/manifest.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "source/common/inject/yaml_writer.h"

namespace Skiff::Inject {
namespace {

struct Line {
  size_t begin;
  size_t end;              // past the '\n' (or the text's end)
  absl::string_view text;  // without the line break
};

std::vector<Line> lines(absl::string_view text) {
  std::vector<Line> out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t newline = text.find('\n', pos);
    const size_t end = newline == absl::string_view::npos ? text.size() : newline + 1;
    absl::string_view content =
        text.substr(pos, (newline == absl::string_view::npos ? end : newline) - pos);
    if (absl::EndsWith(content, "\r")) {
      content.remove_suffix(1);
    }
    out.push_back(Line{pos, end, content});
    pos = end;
  }
  return out;
}

bool isSeparator(absl::string_view line) {
  return absl::StartsWith(line, "---") && (line.size() == 3 || line[3] == ' ' || line[3] == '\t');
}

// Blank, or a comment: nothing a parser would see.
bool isTrivia(absl::string_view line) {
  const absl::string_view stripped = absl::StripLeadingAsciiWhitespace(line);
  return stripped.empty() || stripped[0] == '#';
}

std::string scalarOr(const YAML::Node& node, absl::string_view fallback) {
  return node.IsScalar() ? node.Scalar() : std::string(fallback);
}

// "apps/v1" -> "apps"; "v1" -> "" (the core group).
std::string apiGroup(const YAML::Node& object) {
  const std::string api_version = scalarOr(lookup(object, "apiVersion"), "");
  const size_t slash = api_version.find('/');
  return slash == std::string::npos ? "" : api_version.substr(0, slash);
}

absl::Status prefixed(const absl::Status& status, absl::string_view path) {
  if (path.empty()) {
    return status;
  }
  return absl::Status(status.code(), absl::StrCat(path, ".", status.message()));
}

// The pod template under `path` ("spec", "template"...), as a map.
absl::StatusOr<YAML::Node> templateAt(YAML::Node object, std::initializer_list<const char*> path) {
  YAML::Node node = object;
  std::string where;
  for (const char* key : path) {
    where = where.empty() ? key : absl::StrCat(where, ".", key);
    const YAML::Node& const_node = node;
    if (!const_node.IsMap() || !lookup(const_node, key).IsMap()) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": must be a map"));
    }
    YAML::Node child = node[key];
    node.reset(child);
  }
  return node;
}

absl::Status injectInto(YAML::Node object, const Options& options, const std::string& prefix,
                        std::vector<PodReport>& reports) {
  const YAML::Node& const_object = object;
  const std::string kind = scalarOr(lookup(object, "kind"), "");
  const std::string group = apiGroup(const_object);
  const std::string name = scalarOr(lookup(lookup(object, "metadata"), "name"), "");
  const auto inject = [&](YAML::Node pod, absl::string_view path,
                          absl::string_view workload) -> absl::Status {
    const std::string full_path =
        path.empty() ? std::string(absl::StripSuffix(prefix, ".")) : absl::StrCat(prefix, path);
    auto result = injectPod(pod, workload, options);
    if (!result.ok()) {
      return prefixed(result.status(), full_path);
    }
    reports.push_back(PodReport{full_path, *result});
    return absl::OkStatus();
  };
  const auto inject_template = [&](std::initializer_list<const char*> path) -> absl::Status {
    auto pod = templateAt(object, path);
    if (!pod.ok()) {
      return prefixed(pod.status(), absl::StripSuffix(prefix, "."));
    }
    std::string dotted;
    for (const char* key : path) {
      dotted = dotted.empty() ? key : absl::StrCat(dotted, ".", key);
    }
    return inject(*pod, dotted, name);
  };

  if (group.empty() && kind == "Pod") {
    return inject(object, "", workloadNameForPod(const_object));
  }
  if (group == "apps" && (kind == "Deployment" || kind == "StatefulSet" || kind == "DaemonSet" ||
                          kind == "ReplicaSet")) {
    return inject_template({"spec", "template"});
  }
  if (group == "batch" && kind == "Job") {
    return inject_template({"spec", "template"});
  }
  if (group == "batch" && kind == "CronJob") {
    return inject_template({"spec", "jobTemplate", "spec", "template"});
  }
  if (absl::EndsWith(kind, "List") && lookup(object, "items").IsSequence()) {
    YAML::Node items = object["items"];
    for (size_t i = 0; i < items.size(); ++i) {
      YAML::Node item = items[i];
      if (!item.IsMap()) {
        continue;
      }
      if (auto status = injectInto(item, options, absl::StrCat(prefix, "items[", i, "]."), reports);
          !status.ok()) {
        return status;
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace

std::vector<DocumentSpan> splitDocuments(absl::string_view text) {
  const std::vector<Line> all = lines(text);
  std::vector<size_t> separators;
  for (size_t i = 0; i < all.size(); ++i) {
    if (isSeparator(all[i].text)) {
      separators.push_back(i);
    }
  }
  std::vector<DocumentSpan> spans;
  // Lines [first, last) as one document; `has_separator` when `first` is its "---" line.
  const auto add = [&](size_t first, size_t last, bool has_separator) {
    DocumentSpan span;
    span.begin = first < all.size() ? all[first].begin : text.size();
    span.end = last < all.size() ? all[last].begin : text.size();
    span.first_line = static_cast<int>(first);
    span.has_separator = has_separator;
    size_t body = first;
    if (has_separator) {
      span.plain_separator = isTrivia(all[first].text.substr(3));
      body = span.plain_separator ? first + 1 : first;
    }
    if (!has_separator || span.plain_separator) {
      while (body < last && isTrivia(all[body].text)) {
        ++body;
      }
    }
    span.body_begin = body < all.size() ? all[body].begin : text.size();
    if (!has_separator && body >= last) {
      return;  // only comments and blank lines before the first "---" (or in the whole stream)
    }
    spans.push_back(span);
  };
  add(0, separators.empty() ? all.size() : separators[0], false);
  for (size_t k = 0; k < separators.size(); ++k) {
    add(separators[k], k + 1 < separators.size() ? separators[k + 1] : all.size(), true);
  }
  return spans;
}

absl::StatusOr<std::vector<PodReport>> injectObject(YAML::Node object, const Options& options) {
  std::vector<PodReport> reports;
  try {
    if (auto status = injectInto(object, options, "", reports); !status.ok()) {
      return status;
    }
  } catch (const YAML::Exception& e) {
    // Accessors throw on shapes the checks above did not foresee; the object may be half-changed
    // and must be dropped by the caller.
    return absl::InvalidArgumentError(absl::StrCat("unexpected structure: ", e.msg));
  }
  return reports;
}

absl::StatusOr<ManifestResult> injectManifest(absl::string_view text, absl::string_view source,
                                              const Options& options) {
  if (auto status = validateOptions(options); !status.ok()) {
    return status;
  }
  ManifestResult result;
  size_t copied = 0;
  int number = 0;
  for (const DocumentSpan& span : splitDocuments(text)) {
    ++number;
    DocumentReport report;
    report.number = number;
    auto parsed =
        parseYaml(text.substr(span.begin, span.end - span.begin), source, span.first_line);
    if (!parsed.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("document ", number, " (", parsed.status().message(), ")"));
    }
    YAML::Node object = *parsed;
    if (object.IsMap()) {
      report.kind = scalarOr(lookup(object, "kind"), "");
      report.name = scalarOr(lookup(lookup(object, "metadata"), "name"), "");
      auto pods = injectObject(object, options);
      if (!pods.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat("document ", number, " (", report.kind.empty() ? "?" : report.kind, " ",
                         report.name, "): ", pods.status().message()));
      }
      report.pods = std::move(*pods);
      for (const PodReport& pod : report.pods) {
        report.changed = report.changed || pod.result.outcome == Outcome::Injected;
      }
    }
    if (report.changed) {
      // A "---" line that holds part of the document ("--- {kind: Pod}") is rewritten with it.
      const bool rewrite_separator = span.has_separator && !span.plain_separator;
      const size_t replace_from = rewrite_separator ? span.begin : span.body_begin;
      absl::StrAppend(&result.text, text.substr(copied, replace_from - copied));
      if (rewrite_separator) {
        result.text += "---\n";
      }
      result.text += toYaml(object);
      copied = span.end;
    }
    result.documents.push_back(std::move(report));
  }
  absl::StrAppend(&result.text, text.substr(copied));
  return result;
}

}  // namespace Skiff::Inject
