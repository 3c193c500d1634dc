#pragma once

// skiff-control's mutating admission webhook: the Kubernetes API server POSTs an AdmissionReview
// (v1, JSON) for every pod created in a namespace labelled skiff-injection=enabled, and the answer
// carries a JSON Patch that turns the pod into exactly what `skiffctl inject` makes of it (both
// use source/common/inject).
//
// Served over HTTPS (the API server accepts nothing else) with libevent's evhttp on
// bufferevent_openssl. The certificate and key come from files (a Secret's volume); they are
// re-read when either file changes, so a rotated Secret is picked up without a restart.

#include <event2/event.h>
#include <event2/http.h>
#include <openssl/ssl.h>
#include <sys/stat.h>

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "source/common/common/c_smart_ptr.h"
#include "source/common/inject/injector.h"
#include "source/common/stats/stats.h"

namespace Skiff::Control {

struct WebhookStats {
  explicit WebhookStats(Stats::Store& store);

  Stats::Counter& requests;  // every POST to /inject
  Stats::Counter& injected;  // answered with a patch
  Stats::Counter& allowed;   // answered without one (opted out, already injected, not a pod...)
  Stats::Counter& rejected;  // 4xx: not an AdmissionReview v1, wrong path/method/content type
  Stats::Counter& tls_reloads;
  Stats::Counter& tls_reload_errors;
};

struct WebhookReply {
  int code = 200;
  std::string content_type = "application/json";
  std::string body;
};

// Answers one AdmissionReview request body. 400 (text: the reason) when it is not an
// AdmissionReview v1 with request.uid and, for pod creations, request.object. Everything else is
// allowed: a pod creation that injectPod() injects gets `patchType: JSONPatch` and the base64
// patch; one it skips or cannot inject gets no patch (and, if injection failed, a warning the
// API server shows the user). Pure apart from the counters; any thread.
WebhookReply reviewAdmission(absl::string_view body, const Inject::Options& options,
                             WebhookStats& stats);

/**
 * The HTTPS server around reviewAdmission(): POST /inject (and /inject/) only.
 *
 * Thread: every method, and every request, runs on the thread that runs `base` (skiff-control:
 * main). Destroy on that thread, before `base`.
 */
class WebhookServer {
 public:
  WebhookServer(event_base& base, Inject::Options options, Stats::Store& stats);
  ~WebhookServer();

  WebhookServer(const WebhookServer&) = delete;
  WebhookServer& operator=(const WebhookServer&) = delete;

  // Loads the PEM certificate chain and private key; errors name the file and OpenSSL's reason.
  // With `client_ca_file`, every client must present a certificate signed by one of its CAs (the
  // handshake fails otherwise, before any request is read): the credentials the API server shows
  // when its AdmissionConfiguration gives this webhook a kubeconfig with a client certificate.
  // All three files are re-read when one of them changes.
  absl::Status loadCertificate(const std::string& cert_file, const std::string& key_file,
                               const std::string& client_ca_file = "");

  // Listens on a numeric address; port 0 picks one (port() reports it). After loadCertificate().
  absl::Status bind(const std::string& address, uint16_t port);
  uint16_t port() const { return port_; }

 private:
  struct FileVersion {
    ino_t inode = 0;
    off_t size = 0;
    timespec mtime{};
    bool operator==(const FileVersion& other) const;
  };

  static bufferevent* newConnection(event_base* base, void* self);
  static void onRequest(evhttp_request* request, void* self);
  void serve(evhttp_request* request);
  // Re-reads the certificate when a file changed since it was loaded; keeps the old one (and logs)
  // when the new files do not load.
  void reloadIfChanged();
  static absl::StatusOr<FileVersion> fileVersion(const std::string& path);

  const Inject::Options options_;
  WebhookStats stats_;
  CSmartPtr<evhttp, evhttp_free> http_;
  CSmartPtr<SSL_CTX, SSL_CTX_free> tls_;
  std::string cert_file_;
  std::string key_file_;
  std::string client_ca_file_;  // empty: no client certificate asked for
  FileVersion cert_version_;
  FileVersion key_version_;
  FileVersion client_ca_version_;
  uint16_t port_ = 0;
};

}  // namespace Skiff::Control
