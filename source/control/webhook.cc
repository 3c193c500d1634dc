#include "source/control/webhook.h"

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/keyvalq_struct.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "source/common/common/assert.h"
#include "source/common/common/json.h"
#include "source/common/common/logger.h"
#include "source/common/inject/json_patch.h"
#include "source/common/inject/yaml_writer.h"

namespace Skiff::Control {
namespace {

using Inject::lookup;

constexpr absl::string_view kReviewVersion = "admission.k8s.io/v1";
// The API server caps a request at 3 MiB; a review carries the object twice at most.
constexpr size_t kMaxBodyBytes = 8 * 1024 * 1024;
// The API server gives up after the configuration's timeoutSeconds (at most 30).
constexpr int kRequestTimeoutSeconds = 30;

// Namespaces Kubernetes runs itself in: never injected, whatever the selectors say.
bool systemNamespace(absl::string_view ns) {
  return ns == "kube-system" || ns == "kube-public" || ns == "kube-node-lease";
}

WebhookReply badRequest(WebhookStats& stats, absl::string_view reason) {
  stats.rejected.inc();
  SKIFF_LOG(warn, "webhook: rejected review: %s", reason);
  return WebhookReply{400, "text/plain; charset=UTF-8", absl::StrCat(reason, "\n")};
}

std::string scalarOr(const YAML::Node& node, absl::string_view fallback = "") {
  return node.IsScalar() ? node.Scalar() : std::string(fallback);
}

// The AdmissionReview answer; `patch` empty for none, `warning` empty for none.
std::string reviewResponse(absl::string_view uid, const std::string& patch,
                           const std::string& warning) {
  std::string response = absl::StrCat("{\"uid\":", Json::quote(uid), ",\"allowed\":true");
  if (!patch.empty()) {
    absl::StrAppend(&response, ",\"patchType\":\"JSONPatch\",\"patch\":",
                    Json::quote(absl::Base64Escape(patch)));
  }
  if (!warning.empty()) {
    absl::StrAppend(&response, ",\"warnings\":[", Json::quote(warning), "]");
  }
  response += "}";
  return absl::StrCat("{\"apiVersion\":", Json::quote(kReviewVersion),
                      ",\"kind\":\"AdmissionReview\",\"response\":", response, "}\n");
}

std::string openSslError() {
  std::string out;
  while (const unsigned long code = ERR_get_error()) {
    char buffer[256];
    ERR_error_string_n(code, buffer, sizeof(buffer));
    absl::StrAppend(&out, out.empty() ? "" : "; ", buffer);
  }
  return out.empty() ? "unknown OpenSSL error" : out;
}

absl::StatusOr<CSmartPtr<SSL_CTX, SSL_CTX_free>> makeTlsContext(const std::string& cert_file,
                                                                const std::string& key_file,
                                                                const std::string& client_ca_file) {
  ERR_clear_error();
  CSmartPtr<SSL_CTX, SSL_CTX_free> context(SSL_CTX_new(TLS_server_method()));
  if (context == nullptr) {
    return absl::InternalError(absl::StrCat("webhook TLS: ", openSslError()));
  }
  // The API server speaks TLS 1.2 and 1.3; nothing older is worth accepting.
  SSL_CTX_set_min_proto_version(context.get(), TLS1_2_VERSION);
  if (SSL_CTX_use_certificate_chain_file(context.get(), cert_file.c_str()) != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("webhook certificate ", cert_file, ": ", openSslError()));
  }
  if (SSL_CTX_use_PrivateKey_file(context.get(), key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    return absl::InvalidArgumentError(absl::StrCat("webhook key ", key_file, ": ", openSslError()));
  }
  if (SSL_CTX_check_private_key(context.get()) != 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "webhook key ", key_file, " does not match certificate ", cert_file, ": ", openSslError()));
  }
  if (!client_ca_file.empty()) {
    // Mutual TLS: the handshake fails unless the client (the API server, through its
    // AdmissionConfiguration kubeconfig) presents a certificate this CA signed.
    if (SSL_CTX_load_verify_locations(context.get(), client_ca_file.c_str(), nullptr) != 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("webhook client CA ", client_ca_file, ": ", openSslError()));
    }
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(client_ca_file.c_str());
    if (names == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("webhook client CA ", client_ca_file, ": no certificate: ", openSslError()));
    }
    SSL_CTX_set_client_CA_list(context.get(), names);
    SSL_CTX_set_verify(context.get(), SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  }
  return context;
}

}  // namespace

WebhookStats::WebhookStats(Stats::Store& store)
    : requests(store.counter("control_plane.webhook.requests")),
      injected(store.counter("control_plane.webhook.injected")),
      allowed(store.counter("control_plane.webhook.allowed_without_patch")),
      rejected(store.counter("control_plane.webhook.rejected")),
      tls_reloads(store.counter("control_plane.webhook.tls_reloads")),
      tls_reload_errors(store.counter("control_plane.webhook.tls_reload_errors")) {}

WebhookReply reviewAdmission(absl::string_view body, const Inject::Options& options,
                             WebhookStats& stats) {
  // JSON is YAML, and the injector works on yaml-cpp trees: one parser for both entry points.
  auto parsed = Inject::parseYaml(body, "AdmissionReview");
  if (!parsed.ok()) {
    return badRequest(stats, absl::StrCat("invalid JSON: ", parsed.status().message()));
  }
  const YAML::Node review = *parsed;
  if (!review.IsMap()) {
    return badRequest(stats, "not an AdmissionReview: the body is not a JSON object");
  }
  const std::string api_version = scalarOr(lookup(review, "apiVersion"));
  const std::string kind = scalarOr(lookup(review, "kind"));
  if (kind != "AdmissionReview" || api_version != kReviewVersion) {
    return badRequest(stats,
                      absl::StrCat("expected kind AdmissionReview, apiVersion ", kReviewVersion,
                                   " (got kind \"", kind, "\", apiVersion \"", api_version, "\")"));
  }
  const YAML::Node request = lookup(review, "request");
  if (!request.IsMap()) {
    return badRequest(stats, "request: missing (or not an object)");
  }
  const std::string uid = scalarOr(lookup(request, "uid"));
  if (uid.empty()) {
    return badRequest(stats, "request.uid: missing");
  }
  const YAML::Node resource = lookup(request, "resource");
  const bool pod_create = scalarOr(lookup(resource, "group")).empty() &&
                          scalarOr(lookup(resource, "resource")) == "pods" &&
                          scalarOr(lookup(request, "subResource")).empty() &&
                          scalarOr(lookup(request, "operation")) == "CREATE";
  if (!pod_create) {
    // The configuration only sends pod creations; anything else passes untouched.
    stats.allowed.inc();
    return WebhookReply{200, "application/json", reviewResponse(uid, "", "")};
  }
  YAML::Node pod = lookup(request, "object");
  if (!pod.IsMap()) {
    return badRequest(stats, "request.object: missing (or not an object)");
  }

  std::string ns = scalarOr(lookup(lookup(pod, "metadata"), "namespace"));
  if (ns.empty()) {
    ns = scalarOr(lookup(request, "namespace"));
  }
  const std::string name = scalarOr(lookup(lookup(pod, "metadata"), "name"),
                                    scalarOr(lookup(lookup(pod, "metadata"), "generateName")));
  if (systemNamespace(ns)) {
    stats.allowed.inc();
    SKIFF_LOG(debug, "webhook: %s/%s: system namespace, not injected", ns, name);
    return WebhookReply{200, "application/json", reviewResponse(uid, "", "")};
  }

  const YAML::Node before = YAML::Clone(pod);
  auto result = Inject::injectPod(pod, Inject::workloadNameForPod(before), options);
  if (!result.ok()) {
    // The API server's own validation will reject a pod this broken; admitting it unchanged lets
    // the user see that error rather than ours.
    stats.allowed.inc();
    SKIFF_LOG(warn, "webhook: %s/%s: not injected: %s", ns, name, result.status().message());
    return WebhookReply{
        200, "application/json",
        reviewResponse(uid, "",
                       absl::StrCat("skiff sidecar not injected: ", result.status().message()))};
  }
  if (result->outcome != Inject::Outcome::Injected) {
    stats.allowed.inc();
    SKIFF_LOG(debug, "webhook: %s/%s: not injected: %s", ns, name, result->reason);
    return WebhookReply{200, "application/json", reviewResponse(uid, "", "")};
  }
  stats.injected.inc();
  SKIFF_LOG(info, "webhook: %s/%s: injected (%s)", ns, name,
            result->native_sidecar ? "native sidecar" : "first container");
  return WebhookReply{200, "application/json",
                      reviewResponse(uid, Inject::createJsonPatch(before, pod), "")};
}

bool WebhookServer::FileVersion::operator==(const FileVersion& other) const {
  return inode == other.inode && size == other.size && mtime.tv_sec == other.mtime.tv_sec &&
         mtime.tv_nsec == other.mtime.tv_nsec;
}

WebhookServer::WebhookServer(event_base& base, Inject::Options options, Stats::Store& stats)
    : options_(std::move(options)), stats_(stats), http_(evhttp_new(&base)) {
  RELEASE_ASSERT(http_ != nullptr, "evhttp_new failed");
  evhttp_set_max_body_size(http_.get(), kMaxBodyBytes);
  evhttp_set_max_headers_size(http_.get(), 64 * 1024);
  evhttp_set_timeout(http_.get(), kRequestTimeoutSeconds);
  // Let every method reach serve() so the answer is a 405 naming POST rather than evhttp's 501.
  evhttp_set_allowed_methods(http_.get(), EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
                                              EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
                                              EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH);
  evhttp_set_bevcb(http_.get(), &WebhookServer::newConnection, this);
  evhttp_set_gencb(http_.get(), &WebhookServer::onRequest, this);
}

// http_ goes first (members are destroyed in reverse order): it closes every connection, and with
// them their SSL objects, before the SSL_CTX they came from.
WebhookServer::~WebhookServer() { http_.reset(); }

absl::StatusOr<WebhookServer::FileVersion> WebhookServer::fileVersion(const std::string& path) {
  struct stat info;
  if (::stat(path.c_str(), &info) != 0) {
    return absl::NotFoundError(absl::StrCat(path, ": ", std::strerror(errno)));
  }
  return FileVersion{info.st_ino, info.st_size, info.st_mtim};
}

absl::Status WebhookServer::loadCertificate(const std::string& cert_file,
                                            const std::string& key_file,
                                            const std::string& client_ca_file) {
  auto cert_version = fileVersion(cert_file);
  auto key_version = fileVersion(key_file);
  if (!cert_version.ok() || !key_version.ok()) {
    return !cert_version.ok() ? cert_version.status() : key_version.status();
  }
  FileVersion ca_version;
  if (!client_ca_file.empty()) {
    auto version = fileVersion(client_ca_file);
    if (!version.ok()) {
      return version.status();
    }
    ca_version = *version;
  }
  auto context = makeTlsContext(cert_file, key_file, client_ca_file);
  if (!context.ok()) {
    return context.status();
  }
  tls_ = std::move(*context);
  cert_file_ = cert_file;
  key_file_ = key_file;
  client_ca_file_ = client_ca_file;
  cert_version_ = *cert_version;
  key_version_ = *key_version;
  client_ca_version_ = ca_version;
  return absl::OkStatus();
}

void WebhookServer::reloadIfChanged() {
  auto cert_version = fileVersion(cert_file_);
  auto key_version = fileVersion(key_file_);
  absl::StatusOr<FileVersion> ca_version = FileVersion{};
  if (!client_ca_file_.empty()) {
    ca_version = fileVersion(client_ca_file_);
  }
  if (cert_version.ok() && key_version.ok() && ca_version.ok() && *cert_version == cert_version_ &&
      *key_version == key_version_ && *ca_version == client_ca_version_) {
    return;
  }
  // A Secret update swaps both files at once (one symlink); a half-written pair fails the key
  // check and is retried on the next connection.
  if (auto status = loadCertificate(cert_file_, key_file_, client_ca_file_); !status.ok()) {
    stats_.tls_reload_errors.inc();
    SKIFF_LOG(warn, "webhook: keeping the previous certificate: %s", status.message());
    return;
  }
  stats_.tls_reloads.inc();
  SKIFF_LOG(info, "webhook: reloaded certificate %s", cert_file_);
}

absl::Status WebhookServer::bind(const std::string& address, uint16_t port) {
  if (tls_ == nullptr) {
    return absl::FailedPreconditionError("webhook: no certificate loaded");
  }
  in6_addr scratch;
  if (inet_pton(AF_INET, address.c_str(), &scratch) != 1 &&
      inet_pton(AF_INET6, address.c_str(), &scratch) != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("webhook: address '", address, "' is not a numeric IPv4 or IPv6 address"));
  }
  evhttp_bound_socket* bound = evhttp_bind_socket_with_handle(http_.get(), address.c_str(), port);
  if (bound == nullptr) {
    return absl::UnavailableError(
        absl::StrCat("webhook: cannot listen on ", address, ":", port, ": ",
                     evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR())));
  }
  sockaddr_storage storage{};
  socklen_t length = sizeof(storage);
  if (getsockname(evhttp_bound_socket_get_fd(bound), reinterpret_cast<sockaddr*>(&storage),
                  &length) != 0) {
    return absl::InternalError("webhook: getsockname failed");
  }
  port_ = ntohs(storage.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&storage)->sin6_port
                                              : reinterpret_cast<sockaddr_in*>(&storage)->sin_port);
  return absl::OkStatus();
}

bufferevent* WebhookServer::newConnection(event_base* base, void* self) {
  auto* server = static_cast<WebhookServer*>(self);
  server->reloadIfChanged();
  // evhttp sets the accepted socket on the bufferevent next, which starts the handshake. With
  // BEV_OPT_CLOSE_ON_FREE the bufferevent frees the SSL object and closes the socket.
  return bufferevent_openssl_socket_new(base, -1, SSL_new(server->tls_.get()),
                                        BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
}

void WebhookServer::onRequest(evhttp_request* request, void* self) {
  static_cast<WebhookServer*>(self)->serve(request);
}

void WebhookServer::serve(evhttp_request* request) {
  WebhookReply reply;
  const evhttp_uri* uri = evhttp_request_get_evhttp_uri(request);
  const char* raw_path = uri != nullptr ? evhttp_uri_get_path(uri) : nullptr;
  const std::string path = raw_path != nullptr ? raw_path : "";
  const char* content_type =
      evhttp_find_header(evhttp_request_get_input_headers(request), "Content-Type");
  evkeyvalq* headers = evhttp_request_get_output_headers(request);
  if (path != "/inject" && path != "/inject/") {
    stats_.rejected.inc();
    reply = WebhookReply{404, "text/plain; charset=UTF-8", "the webhook serves POST /inject\n"};
  } else if (evhttp_request_get_command(request) != EVHTTP_REQ_POST) {
    stats_.rejected.inc();
    reply = WebhookReply{405, "text/plain; charset=UTF-8", "POST an AdmissionReview\n"};
    evhttp_add_header(headers, "Allow", "POST");
  } else if (content_type == nullptr ||
             !absl::StartsWith(absl::AsciiStrToLower(content_type), "application/json")) {
    stats_.rejected.inc();
    reply =
        WebhookReply{415, "text/plain; charset=UTF-8", "Content-Type must be application/json\n"};
  } else {
    stats_.requests.inc();
    evbuffer* input = evhttp_request_get_input_buffer(request);
    std::string body(evbuffer_get_length(input), '\0');
    evbuffer_copyout(input, body.data(), body.size());
    reply = reviewAdmission(body, options_, stats_);
  }
  evhttp_add_header(headers, "Content-Type", reply.content_type.c_str());
  CSmartPtr<evbuffer, evbuffer_free> out(evbuffer_new());
  evbuffer_add(out.get(), reply.body.data(), reply.body.size());
  evhttp_send_reply(request, reply.code, nullptr, out.get());
}

}  // namespace Skiff::Control
