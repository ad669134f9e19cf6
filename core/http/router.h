// The HTTP edge shared by every component that serves pages or JSON (Poco::Net).
//
// A Router maps (method, path) to handler functions. The factory it produces never returns nullptr
// (Poco would answer 501): unknown paths get a real 404, a known path with another method gets 405
// with an Allow header; a path that is not valid percent-encoding gets 400. Every handler runs inside one
// try/catch boundary (see Poco's HTTPServerConnection: an exception that is not a Poco::Exception would leave
// the client with no response at all): an escaped exception is logged with a request id and answered with a
// plain 500 that never echoes the exception text. Security headers are set on every response.
//
// Thread safety: routes are added before the server starts; afterwards the router is read-only and
// shared by the server's worker threads.
#pragma once

#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/StreamSocket.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/http/error_reply.h"  // SendError, for every route
#include "core/status.h"

namespace minyi::http {

using Request = Poco::Net::HTTPServerRequest;
using Response = Poco::Net::HTTPServerResponse;

// One request as the router answered it, for metrics and the access log (core/http/telemetry.h).
struct RequestRecord {
  const Request& request;
  std::string_view route;  // the pattern of the matched route as given to Add; "" when none matched
  int status = 0;
  std::int64_t bytes = -1;  // body bytes (Content-Length of the answer); -1 when unknown (streamed)
  std::chrono::microseconds duration{0};
};
using RequestObserver = std::function<void(const RequestRecord&)>;

// Path parameters captured by a pattern such as "/s/{survey}".
using PathParams = std::map<std::string, std::string>;
using Handler = std::function<void(Request&, Response&, const PathParams&)>;

class Router {
 public:
  // `pattern` is an absolute path whose segments are literals or "{name}" (one segment). A pattern
  // ending in "/*" matches any suffix (captured as "*"). Exact literal matches win over patterns.
  void Add(std::string method, std::string pattern, Handler handler);

  // A factory for Poco's HTTPServer. The router must outlive the server.
  Poco::Net::HTTPRequestHandlerFactory::Ptr MakeFactory();

  // Called once per dispatched request, after its answer was sent (also for 404, 405 and 500), on the
  // worker thread. Set before the server starts; it must not throw (an exception is logged and dropped).
  void set_observer(RequestObserver observer) { observer_ = std::move(observer); }

  // Dispatches one request (used by the factory's handler; exposed for tests).
  void Dispatch(Request& request, Response& response) const;

  // Every registered route as (method, pattern as given to Add), in registration order: what
  // `minyi serve --routes-file` writes for the access-matrix test (tests/integration/access_matrix_test.cc).
  struct RouteInfo {
    std::string method;
    std::string pattern;
  };
  std::vector<RouteInfo> Routes() const;

 private:
  struct Route {
    std::string method;
    std::string pattern;
    std::vector<std::string> segments;
    bool wildcard = false;
    Handler handler;
  };
  static bool Match(const Route& route, const std::vector<std::string_view>& path, PathParams& params);
  // The path for the log: escaped (LogSafe), and a segment captured by a parameter whose name holds
  // "token" or "secret" (webhook credentials in the path) replaced by "***".
  static std::string LoggedPath(const Route* route, const std::vector<std::string_view>& path);

  std::vector<Route> routes_;
  RequestObserver observer_;
};

// Response helpers. All set Content-Length and send the body.
void SendText(Response& response, int status, std::string_view content_type, std::string_view body);
void SendJson(Response& response, int status, std::string_view json_body);
// Errors (SendError, the one Status → HTTP mapping and JSON error shape): core/http/error_reply.h.

// Reads the request body into `body`, at most `limit` bytes. False when the declared or actual body is
// longer: the caller answers 413. The rest of an over-long body is read and discarded (up to a bound) and
// the connection is marked to close, so the client sees the 413 instead of a connection reset.
bool ReadBody(Request& request, Response& response, std::size_t limit, std::string& body);

// The client's address for rate limits: the TCP peer, or with `trust_forwarded_for` (serve behind a
// proxy that appends the peer it saw) the right-most X-Forwarded-For entry, the one that proxy
// appended; entries to its left are the client's own claims and anyone can rotate them. The peer when
// the header is missing or its last entry is not an IP address.
std::string ClientAddress(const Request& request, bool trust_forwarded_for);

// Query parameter `name` of the request (decoded), empty when absent or when the query is malformed (the
// handler then reports the missing parameter).
std::string QueryParam(const Request& request, std::string_view name);

// Whether the response has been sent (by Poco or by the one-write path of SendText under Server).
bool Sent(const Response& response);

// Used by http::Server's connection loop (core/http/server.cc): while one is in scope on a thread,
// SendText on `response` writes status line, headers and body with one send on `socket` instead of
// Poco's buffered session stream.
class ScopedDirectSend {
 public:
  // While `*closing` is true (the server is stopping), the response says Connection: close.
  ScopedDirectSend(Response& response, Poco::Net::StreamSocket& socket, bool head_request,
                   const std::atomic<bool>* closing = nullptr);
  ~ScopedDirectSend();
  ScopedDirectSend(const ScopedDirectSend&) = delete;
  ScopedDirectSend& operator=(const ScopedDirectSend&) = delete;

  struct State {
    Response* response;
    Poco::Net::StreamSocket* socket;
    bool head_request;
    bool sent;
    const std::atomic<bool>* closing;
  };

 private:
  State state_;
  State* previous_;
};

// Escapes text for HTML element content and attribute values (& < > " ').
std::string HtmlEscape(std::string_view text);
// Escapes a string for inclusion inside a JSON string literal (without the quotes), HTML-safe (< > & too):
// core/json_text.h's JsonEscape with JsonEscaping::kHtmlSafe.
std::string JsonEscape(std::string_view text);
// Text from a request (path, method, header) made safe for one log line: TerminalSafe (control
// characters: CR and LF forge log lines; C1, bidi controls, invalid UTF-8) with backslash as \x5c.
std::string LogSafe(std::string_view text);

}  // namespace minyi::http
