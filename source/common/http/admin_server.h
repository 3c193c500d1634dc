#pragma once

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "source/common/common/c_smart_ptr.h"

namespace Skiff::Http::Admin {

// Get handlers answer GET, HEAD and POST; Post handlers only POST; Delete handlers only DELETE.
enum class Method { Get, Post, Delete };

// Decoded query parameters ("?usedonly&filter=a%2Eb" -> {"usedonly": "", "filter": "a.b"}). A key
// given twice keeps its first value.
using QueryParams = std::map<std::string, std::string, std::less<>>;

struct Request {
  Method method = Method::Get;
  std::string path;  // decoded, without the query string
  QueryParams query;
  std::string body;
  // Request headers, names lower-cased ("authorization"). A header given twice keeps its first
  // value.
  std::map<std::string, std::string, std::less<>> headers;
};

struct Response {
  int code = 200;
  std::string content_type = "text/plain; charset=UTF-8";
  std::string body;
  // Extra headers ("Allow", "Location"); Content-Type comes from content_type.
  std::vector<std::pair<std::string, std::string>> headers;
};

// Runs on the thread of the event_base the AdminServer was given (skiff: main).
using Handler = std::function<Response(const Request&)>;

// Runs before routing, on the same thread as handlers. Returning a Response answers the request
// with it (no handler runs); nullopt lets the request through. Used for credentials.
using RequestFilter = std::function<std::optional<Response>(const Request&)>;

// Limits that keep a misbehaving client from holding memory or the connection. Admin requests are
// small: a path and a few query parameters.
struct AdminServerOptions {
  size_t max_headers_bytes = 8 * 1024;
  size_t max_body_bytes = 64 * 1024;  // skiff-control raises it for POST /apply
  int timeout_seconds = 30;
};

/**
 * The admin HTTP/1.1 server (Envoy's /stats, /ready, /quitquitquit, ...), built on libevent's
 * evhttp. It only registers events on a caller-owned event_base; the caller runs the loop.
 *
 * Thread: every method, and every handler, runs on the thread that runs `base` (or before that
 * loop starts). The AdminServer must be destroyed on that thread, and before `base` is freed.
 *
 * Routing is exact on the path. GET handlers also accept POST (as Envoy's do); POST and DELETE
 * handlers are for endpoints that change state and answer any other method with 405, so a crawler
 * or a stray curl can't trigger them. Unknown paths get 404 with the endpoint list; "/" and "/help"
 * list the endpoints. Requests evhttp cannot parse, or that exceed the size limits, get 400 / 413
 * from evhttp itself.
 *
 * Bind to loopback (the default): admin endpoints expose internal state and mutate the server.
 */
class AdminServer {
 public:
  explicit AdminServer(event_base& base, AdminServerOptions options = {});
  ~AdminServer();

  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  // Listens on address:port. Port 0 picks a free port; port() then reports it. Call once.
  absl::Status bind(absl::string_view address = "127.0.0.1", uint16_t port = 0);

  // The bound port, 0 before a successful bind().
  uint16_t port() const { return port_; }

  // Registers `handler` for the exact `path` ("/stats"). `help` is the one-line description shown
  // by /help and 404s. Aborts on a duplicate path or a path not starting with '/': both are
  // programming errors found at startup.
  void addHandler(absl::string_view path, absl::string_view help, Method method, Handler handler);

  // Installs `filter` in front of every endpoint, "/" and "/help" included (one filter; a second
  // call replaces it).
  void setRequestFilter(RequestFilter filter) { filter_ = std::move(filter); }

  // Routes a request as if it had arrived over HTTP (404/405 included). What the evhttp callback
  // calls; also handy in tests.
  Response handle(const Request& request) const;

  // Text list of endpoints, one "  /path: help" per line, sorted, POST ones marked.
  std::string helpText() const;

  // How many times accept() failed for lack of descriptors or memory (each one pauses accepting;
  // see onAcceptError).
  // Any thread.
  uint64_t acceptResourceFailures() const { return accept_failures_.load(); }

 private:
  struct Endpoint {
    std::string help;
    Method method;
    Handler handler;
  };

  static void onRequest(evhttp_request* request, void* self);
  // Each admin connection's bufferevent, made with BEV_OPT_CLOSE_ON_FREE so that the bufferevent
  // closes the socket itself, after deleting its events. evhttp's own default (libevent 2.1,
  // http.c) has no such option: evhttp_connection_free() then closes the socket right after
  // bufferevent_free(), and when that runs inside the bufferevent's write callback (a reply to
  // "Connection: close" or HTTP/1.0 finished writing), the bufferevent still holds a reference,
  // so its read event is deleted only when the callback returns: epoll_ctl(DEL) on a descriptor
  // already closed, whose number another thread (a worker's accept4) may already have reused
  // (a TSan report in the xDS integration test; EBADF/ENOENT otherwise, which libevent ignores).
  static bufferevent* newConnectionBufferEvent(event_base* base, void*);
  void serve(evhttp_request* request);
  // accept() failed. libevent's own handling logs and returns, and its level-triggered event
  // fires again at once: with descriptors exhausted that spins the main thread. Instead, stop
  // accepting and retry after a back-off (10 ms doubling to 1 s), as the proxy listeners do.
  static void onAcceptError(evconnlistener* listener, void* self);
  static void onRetryAccept(evutil_socket_t, short, void* self);

  static constexpr int kMinBackOffMs = 10;
  static constexpr int kMaxBackOffMs = 1000;

  event_base& base_;
  CSmartPtr<evhttp, evhttp_free> http_;
  evconnlistener* listener_ = nullptr;  // Owned by http_.
  CSmartPtr<event, event_free> retry_timer_;
  int back_off_ms_ = 0;
  std::atomic<uint64_t> accept_failures_{0};
  uint16_t port_ = 0;
  std::map<std::string, Endpoint, std::less<>> endpoints_;
  RequestFilter filter_;
};

// Parses a raw query string ("a=1&b&c=%2F") into decoded parameters; '+' decodes to a space.
QueryParams parseQueryString(absl::string_view query);

}  // namespace Skiff::Http::Admin
