#include "source/common/http/admin_server.h"

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/http_struct.h>
#include <event2/keyvalq_struct.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "source/common/common/assert.h"
#include "source/common/common/logger.h"
#include "source/common/common/thread.h"

namespace Skiff::Http::Admin {

namespace {

// Percent-decodes with libevent's decoder (which allocates with malloc).
std::string uriDecode(absl::string_view encoded, bool plus_is_space) {
  const std::string input(encoded);
  size_t size = 0;
  char* decoded = evhttp_uridecode(input.c_str(), plus_is_space ? 1 : 0, &size);
  if (decoded == nullptr) {
    return input;
  }
  std::string out(decoded, size);
  free(decoded);
  return out;
}

absl::string_view methodName(Method method) {
  switch (method) {
    case Method::Get:
      return "GET";
    case Method::Post:
      return "POST";
    case Method::Delete:
      return "DELETE";
  }
  return "?";
}

// libevent calls a listener's error callback with the argument of its accept callback, which
// evhttp owns (the evhttp*), so the error callback finds its AdminServer here. Touched only at
// bind, destruction and on accept errors.
Thread::MutexBasicLockable& listenersLock() {
  static auto* lock = new Thread::MutexBasicLockable();
  return *lock;
}
std::map<evconnlistener*, AdminServer*>& listeners() {
  static auto* map = new std::map<evconnlistener*, AdminServer*>();
  return *map;
}

}  // namespace

QueryParams parseQueryString(absl::string_view query) {
  QueryParams params;
  for (absl::string_view part : absl::StrSplit(query, '&', absl::SkipEmpty())) {
    std::pair<absl::string_view, absl::string_view> kv =
        absl::StrSplit(part, absl::MaxSplits('=', 1));
    std::string key = uriDecode(kv.first, true);
    if (!key.empty()) {
      params.emplace(std::move(key), uriDecode(kv.second, true));
    }
  }
  return params;
}

AdminServer::AdminServer(event_base& base, AdminServerOptions options)
    : base_(base), http_(evhttp_new(&base)) {
  RELEASE_ASSERT(http_ != nullptr, "evhttp_new failed");
  evhttp_set_max_headers_size(http_.get(), static_cast<ev_ssize_t>(options.max_headers_bytes));
  evhttp_set_max_body_size(http_.get(), static_cast<ev_ssize_t>(options.max_body_bytes));
  evhttp_set_timeout(http_.get(), options.timeout_seconds);
  // Let every method evhttp knows reach serve() so it gets a 405 with an Allow header (and the
  // version check) instead of evhttp's 501. Method names evhttp does not know, malformed request
  // lines and oversized requests are still answered by evhttp itself (501, 400, 413), in the
  // version the client named: libevent 2.1 has no hook for those replies.
  evhttp_set_allowed_methods(http_.get(), EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
                                              EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
                                              EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE |
                                              EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
  evhttp_set_gencb(http_.get(), &AdminServer::onRequest, this);
  evhttp_set_bevcb(http_.get(), &AdminServer::newConnectionBufferEvent, nullptr);

  auto help = [this](const Request&) {
    return Response{200, "text/plain; charset=UTF-8", helpText()};
  };
  addHandler("/", "this list of admin endpoints", Method::Get, help);
  addHandler("/help", "this list of admin endpoints", Method::Get, help);
}

// http_ is freed here, which closes the listening socket and any open admin connections.
AdminServer::~AdminServer() {
  if (listener_ != nullptr) {
    Thread::LockGuard lock(listenersLock());
    listeners().erase(listener_);
  }
}

absl::Status AdminServer::bind(absl::string_view address, uint16_t port) {
  if (port_ != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("admin server already bound to port ", port_));
  }
  const std::string address_string(address);
  // Numeric only: a name would need a resolver at startup and could resolve to a public address.
  in6_addr scratch;
  if (inet_pton(AF_INET, address_string.c_str(), &scratch) != 1 &&
      inet_pton(AF_INET6, address_string.c_str(), &scratch) != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("admin: address '", address, "' is not a numeric IPv4 or IPv6 address"));
  }
  EVUTIL_SET_SOCKET_ERROR(0);
  evhttp_bound_socket* bound =
      evhttp_bind_socket_with_handle(http_.get(), address_string.c_str(), port);
  if (bound == nullptr) {
    const int error = EVUTIL_SOCKET_ERROR();
    return absl::UnavailableError(absl::StrCat("admin: cannot listen on ", address, ":", port, ": ",
                                               evutil_socket_error_to_string(error)));
  }
  listener_ = evhttp_bound_socket_get_listener(bound);
  {
    Thread::LockGuard lock(listenersLock());
    listeners()[listener_] = this;
  }
  evconnlistener_set_error_cb(listener_, &AdminServer::onAcceptError);
  retry_timer_.reset(evtimer_new(&base_, &AdminServer::onRetryAccept, this));
  RELEASE_ASSERT(retry_timer_ != nullptr, "evtimer_new failed");
  sockaddr_storage storage{};
  socklen_t length = sizeof(storage);
  if (getsockname(evhttp_bound_socket_get_fd(bound), reinterpret_cast<sockaddr*>(&storage),
                  &length) != 0) {
    return absl::InternalError(absl::StrCat("admin: getsockname failed: ",
                                            evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR())));
  }
  if (storage.ss_family == AF_INET6) {
    port_ = ntohs(reinterpret_cast<sockaddr_in6*>(&storage)->sin6_port);
  } else {
    port_ = ntohs(reinterpret_cast<sockaddr_in*>(&storage)->sin_port);
  }
  SKIFF_LOG(info, "admin listening on %s:%d",
            storage.ss_family == AF_INET6 ? absl::StrCat("[", address, "]") : address_string,
            port_);
  return absl::OkStatus();
}

void AdminServer::addHandler(absl::string_view path, absl::string_view help, Method method,
                             Handler handler) {
  RELEASE_ASSERT(!path.empty() && path[0] == '/', "admin paths start with '/'");
  const bool inserted =
      endpoints_
          .try_emplace(std::string(path), Endpoint{std::string(help), method, std::move(handler)})
          .second;
  RELEASE_ASSERT(inserted, "admin path registered twice");
}

std::string AdminServer::helpText() const {
  std::string out = "admin commands are:\n";
  for (const auto& [path, endpoint] : endpoints_) {
    absl::StrAppend(
        &out, "  ", path,
        endpoint.method == Method::Get ? "" : absl::StrCat(" (", methodName(endpoint.method), ")"),
        ": ", endpoint.help, "\n");
  }
  return out;
}

Response AdminServer::handle(const Request& request) const {
  if (filter_) {
    if (std::optional<Response> answer = filter_(request); answer.has_value()) {
      return *std::move(answer);
    }
  }
  auto it = endpoints_.find(request.path);
  if (it == endpoints_.end()) {
    return Response{404, "text/plain; charset=UTF-8",
                    absl::StrCat("unknown admin endpoint: ", request.path, "\n", helpText())};
  }
  const Endpoint& endpoint = it->second;
  if (endpoint.method != Method::Get && request.method != endpoint.method) {
    const std::string allowed(methodName(endpoint.method));
    Response response{405, "text/plain; charset=UTF-8",
                      absl::StrCat(request.path, " changes server state and requires ", allowed,
                                   " (method not allowed)\n")};
    response.headers.emplace_back("Allow", allowed);
    return response;
  }
  if (endpoint.method == Method::Get && request.method == Method::Delete) {
    Response response{405, "text/plain; charset=UTF-8",
                      absl::StrCat(request.path, " is read-only (method not allowed)\n")};
    response.headers.emplace_back("Allow", "GET, POST");
    return response;
  }
  return endpoint.handler(request);
}

void AdminServer::onAcceptError(evconnlistener* listener, void*) {
  const int error = EVUTIL_SOCKET_ERROR();
  AdminServer* self;
  {
    Thread::LockGuard lock(listenersLock());
    auto it = listeners().find(listener);
    if (it == listeners().end()) {
      return;
    }
    self = it->second;
  }
  if (error != EMFILE && error != ENFILE && error != ENOBUFS && error != ENOMEM) {
    // A connection that went away before it was accepted, say: nothing to wait for.
    SKIFF_LOG(debug, "admin: accept() failed: %s", evutil_socket_error_to_string(error));
    return;
  }
  ++self->accept_failures_;
  self->back_off_ms_ =
      self->back_off_ms_ == 0 ? kMinBackOffMs : std::min(self->back_off_ms_ * 2, kMaxBackOffMs);
  if (self->back_off_ms_ == kMinBackOffMs) {
    SKIFF_LOG(warn,
              "admin: accept() failed: %s; pausing accepts (retrying with back-off up to 1 s)",
              evutil_socket_error_to_string(error));
  }
  evconnlistener_disable(listener);
  const timeval delay{self->back_off_ms_ / 1000, (self->back_off_ms_ % 1000) * 1000};
  evtimer_add(self->retry_timer_.get(), &delay);
}

void AdminServer::onRetryAccept(evutil_socket_t, short, void* arg) {
  auto* self = static_cast<AdminServer*>(arg);
  // The back-off grows until an accept goes through: a request served resets it (serve()).
  evconnlistener_enable(self->listener_);
}

bufferevent* AdminServer::newConnectionBufferEvent(event_base* base, void*) {
  // The descriptor is set by evhttp once the bufferevent exists (-1 until then).
  return bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
}

void AdminServer::onRequest(evhttp_request* request, void* self) {
  static_cast<AdminServer*>(self)->serve(request);
}

void AdminServer::serve(evhttp_request* request) {
  back_off_ms_ = 0;
  Response response;
  const evhttp_cmd_type command = evhttp_request_get_command(request);
  const evhttp_uri* uri = evhttp_request_get_evhttp_uri(request);
  // evhttp accepts any "HTTP/x.y" and answers with the client's version ("HTTP/0.1 200 OK",
  // "HTTP/1.9 200 OK": found by the admin fuzzer). Only 1.0 and 1.1 are served; anything else
  // gets 505 in an HTTP/1.1 status line, and the connection closes.
  const bool supported_version =
      request->major == 1 && (request->minor == 0 || request->minor == 1);
  if (!supported_version) {
    request->major = 1;
    request->minor = 1;
    response = Response{505, "text/plain; charset=UTF-8",
                        "admin endpoints speak HTTP/1.0 and HTTP/1.1 only\n"};
    response.headers.emplace_back("Connection", "close");
  } else if (command != EVHTTP_REQ_GET && command != EVHTTP_REQ_HEAD &&
             command != EVHTTP_REQ_POST && command != EVHTTP_REQ_DELETE) {
    response = Response{405, "text/plain; charset=UTF-8",
                        "admin endpoints accept only GET, POST and DELETE (method not allowed)\n"};
    response.headers.emplace_back("Allow", "GET, POST, DELETE");
  } else if (uri == nullptr || evhttp_uri_get_path(uri) == nullptr) {
    response = Response{400, "text/plain; charset=UTF-8", "bad request URI\n"};
  } else {
    Request parsed;
    parsed.method = command == EVHTTP_REQ_POST     ? Method::Post
                    : command == EVHTTP_REQ_DELETE ? Method::Delete
                                                   : Method::Get;
    parsed.path = uriDecode(evhttp_uri_get_path(uri), false);
    if (const char* query = evhttp_uri_get_query(uri); query != nullptr) {
      parsed.query = parseQueryString(query);
    }
    const evkeyvalq* in_headers = evhttp_request_get_input_headers(request);
    for (const evkeyval* header = in_headers->tqh_first; header != nullptr;
         header = header->next.tqe_next) {
      parsed.headers.emplace(absl::AsciiStrToLower(header->key), header->value);
    }
    evbuffer* input = evhttp_request_get_input_buffer(request);
    if (const size_t length = evbuffer_get_length(input); length > 0) {
      parsed.body.resize(length);
      evbuffer_copyout(input, parsed.body.data(), length);
    }
    response = handle(parsed);
    SKIFF_LOG(debug, "admin %s %s -> %d", methodName(parsed.method), parsed.path, response.code);
  }

  evkeyvalq* headers = evhttp_request_get_output_headers(request);
  evhttp_add_header(headers, "Content-Type", response.content_type.c_str());
  // Admin output is live state: never cache it, and never let a browser sniff it into HTML.
  evhttp_add_header(headers, "Cache-Control", "no-cache, max-age=0");
  evhttp_add_header(headers, "X-Content-Type-Options", "nosniff");
  for (const auto& [name, value] : response.headers) {
    evhttp_add_header(headers, name.c_str(), value.c_str());
  }
  CSmartPtr<evbuffer, evbuffer_free> body(evbuffer_new());
  evbuffer_add(body.get(), response.body.data(), response.body.size());
  // A null reason makes evhttp use the standard phrase for the code.
  evhttp_send_reply(request, response.code, nullptr, body.get());
}

}  // namespace Skiff::Http::Admin
