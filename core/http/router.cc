#include "core/http/router.h"

#include <Poco/Exception.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/IPAddress.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/String.h>
#include <Poco/URI.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <exception>
#include <istream>
#include <set>
#include <sstream>

#include "core/json_text.h"
#include "core/terminal_text.h"

namespace minyi::http {
namespace {

std::vector<std::string_view> SplitPath(std::string_view path) {
  std::vector<std::string_view> out;
  std::size_t pos = 0;
  while (pos < path.size()) {
    if (path[pos] == '/') {
      ++pos;
      continue;
    }
    std::size_t end = path.find('/', pos);
    if (end == std::string_view::npos) end = path.size();
    out.push_back(path.substr(pos, end - pos));
    pos = end;
  }
  return out;
}

void SetSecurityHeaders(Response& response) {
  response.set("X-Content-Type-Options", "nosniff");
  response.set("X-Frame-Options", "DENY");
  response.set("Referrer-Policy", "no-referrer");
  response.set("Content-Security-Policy",
               "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
               "frame-ancestors 'none'; form-action 'self'");
  response.set("Cache-Control", "no-store");
}

std::atomic<std::uint64_t> g_request_counter{0};

thread_local ScopedDirectSend::State* t_direct = nullptr;

ScopedDirectSend::State* DirectFor(const Response& response) {
  return t_direct != nullptr && t_direct->response == &response ? t_direct : nullptr;
}

class RouterRequestHandler : public Poco::Net::HTTPRequestHandler {
 public:
  explicit RouterRequestHandler(const Router& router) : router_(router) {}
  // (Poco's TCPServer sets TCP_NODELAY on every accepted socket: a response of more than one write
  // is not held back by Nagle behind a delayed ACK.)
  void handleRequest(Request& request, Response& response) override { router_.Dispatch(request, response); }

 private:
  const Router& router_;
};

class RouterFactory : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  explicit RouterFactory(const Router& router) : router_(router) {}
  Poco::Net::HTTPRequestHandler* createRequestHandler(const Request&) override {
    return new RouterRequestHandler(router_);
  }

 private:
  const Router& router_;
};

}  // namespace

void Router::Add(std::string method, std::string pattern, Handler handler) {
  Route route;
  route.method = std::move(method);
  route.pattern = pattern;
  for (auto seg : SplitPath(pattern)) route.segments.emplace_back(seg);
  if (!route.segments.empty() && route.segments.back() == "*") {
    route.wildcard = true;
    route.segments.pop_back();
  }
  route.handler = std::move(handler);
  routes_.push_back(std::move(route));
}

std::vector<Router::RouteInfo> Router::Routes() const {
  std::vector<RouteInfo> out;
  out.reserve(routes_.size());
  for (const Route& route : routes_) out.push_back({route.method, route.pattern});
  return out;
}

bool Router::Match(const Route& route, const std::vector<std::string_view>& path, PathParams& params) {
  if (route.wildcard ? path.size() < route.segments.size() : path.size() != route.segments.size()) return false;
  params.clear();
  for (std::size_t i = 0; i < route.segments.size(); ++i) {
    const std::string& seg = route.segments[i];
    if (seg.size() > 2 && seg.front() == '{' && seg.back() == '}') {
      std::string decoded;
      Poco::URI::decode(std::string(path[i]), decoded);
      params[seg.substr(1, seg.size() - 2)] = decoded;
    } else if (seg != path[i]) {
      return false;
    }
  }
  if (route.wildcard) {
    std::string rest;
    for (std::size_t i = route.segments.size(); i < path.size(); ++i) {
      if (!rest.empty()) rest += '/';
      rest += path[i];
    }
    params["*"] = rest;
  }
  return true;
}

std::string Router::LoggedPath(const Route* route, const std::vector<std::string_view>& path) {
  std::string out;
  for (std::size_t i = 0; i < path.size(); ++i) {
    out += '/';
    bool secret = false;
    if (route != nullptr && i < route->segments.size()) {
      const std::string& seg = route->segments[i];
      secret = seg.size() > 2 && seg.front() == '{' &&
               (seg.find("token") != std::string::npos || seg.find("secret") != std::string::npos);
    }
    out += secret ? std::string("***") : LogSafe(path[i]);
  }
  return out.empty() ? "/" : out;
}

void Router::Dispatch(Request& request, Response& response) const {
  const std::uint64_t request_id = ++g_request_counter;
  const auto started = std::chrono::steady_clock::now();
  std::string path;
  std::vector<std::string_view> segments;
  const Route* found = nullptr;
  bool path_ok = true;
  // Built only when a line is written (errors, debug): most requests log nothing.
  auto logged_path = [&]() { return path_ok ? LoggedPath(found, segments) : std::string("(malformed path)"); };
  try {
    SetSecurityHeaders(response);
    try {
      path = Poco::URI(request.getURI()).getPath();
      // Match decodes a captured segment once more: it must decode too.
      for (auto segment : SplitPath(path)) {
        std::string ignored;
        Poco::URI::decode(std::string(segment), ignored);
      }
    } catch (const Poco::SyntaxException&) {
      SendError(response, Status::InvalidInput("malformed request path"));
      path_ok = false;
    }
    segments = SplitPath(path);
    // Exact literal routes first, then patterns, in registration order.
    PathParams params;
    std::set<std::string> allowed;
    for (int pass = 0; path_ok && pass < 2 && found == nullptr; ++pass) {
      for (const Route& route : routes_) {
        bool literal = !route.wildcard;
        for (const auto& seg : route.segments) literal = literal && !(seg.size() > 2 && seg.front() == '{');
        if ((pass == 0) != literal) continue;
        PathParams p;
        if (!Match(route, segments, p)) continue;
        if (route.method == request.getMethod() ||
            (route.method == "GET" && request.getMethod() == "HEAD")) {
          found = &route;
          params = std::move(p);
          break;
        }
        allowed.insert(route.method);
      }
    }
    if (found != nullptr) {
      found->handler(request, response, params);
    } else if (!path_ok) {
      // Answered above.
    } else if (!allowed.empty()) {
      std::string allow;
      for (const auto& m : allowed) allow += (allow.empty() ? "" : ", ") + m;
      response.set("Allow", allow);
      SendJson(response, 405, ErrorJson("method_not_allowed", "allowed: " + allow));
    } else {
      SendError(response, Status::NotFound("no such page: " + path));
    }
  } catch (const std::exception& e) {
    spdlog::error("request {} {} {} failed: {}", request_id, LogSafe(request.getMethod()), logged_path(),
                  LogSafe(e.what()));
    if (!Sent(response)) {
      SendText(response, 500, "application/json",
               ErrorJson("internal", "internal error, request " + std::to_string(request_id)));
    }
  } catch (...) {
    spdlog::error("request {} {} {} failed with an unknown exception", request_id,
                  LogSafe(request.getMethod()), logged_path());
    if (!Sent(response)) SendText(response, 500, "application/json", ErrorJson("internal", "internal error"));
  }
  const auto micros =
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started).count();
  if (spdlog::should_log(spdlog::level::debug)) {
    spdlog::debug("{} {} {} -> {} ({} us)", request_id, LogSafe(request.getMethod()), logged_path(),
                  static_cast<int>(response.getStatus()), micros);
  }
  if (observer_) {
    const Poco::Int64 length = response.getContentLength64();
    const RequestRecord record{request,
                               found != nullptr ? std::string_view(found->pattern) : std::string_view(),
                               static_cast<int>(response.getStatus()),
                               length == Poco::Net::HTTPMessage::UNKNOWN_CONTENT_LENGTH ? -1 : length,
                               std::chrono::microseconds(micros)};
    try {
      observer_(record);
    } catch (const std::exception& e) {
      spdlog::error("request {}: recording it failed: {}", request_id, LogSafe(e.what()));
    }
  }
}

Poco::Net::HTTPRequestHandlerFactory::Ptr Router::MakeFactory() { return new RouterFactory(*this); }

void SendText(Response& response, int status, std::string_view content_type, std::string_view body) {
  // setStatusAndReason: setStatus alone leaves the reason phrase "OK" ("HTTP/1.1 409 OK").
  response.setStatusAndReason(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(status));
  response.setContentType(std::string(content_type));
  ScopedDirectSend::State* direct = DirectFor(response);
  if (direct == nullptr || direct->sent) {
    // Under Poco's own server: one call, though Poco writes the body through its 4 KB session buffer.
    response.sendBuffer(body.data(), body.size());
    return;
  }
  // Under http::Server: status line, headers and body in one buffer and (usually) one send.
  if (direct->closing != nullptr && direct->closing->load()) response.setKeepAlive(false);
  response.setChunkedTransferEncoding(false);
  response.setContentLength64(static_cast<Poco::Int64>(body.size()));
  std::ostringstream head;
  response.write(head);
  std::string out = std::move(head).str();
  if (!direct->head_request) out.append(body.data(), body.size());
  direct->sent = true;  // even if the send fails: never a second response on this connection
  std::size_t done = 0;
  while (done < out.size()) {
    const int n = direct->socket->sendBytes(out.data() + done, static_cast<int>(out.size() - done));
    if (n <= 0) throw Poco::Net::NetException("connection closed while sending the response");
    done += static_cast<std::size_t>(n);
  }
}

std::string QueryParam(const Request& request, std::string_view name) {
  try {
    for (const auto& [key, value] : Poco::URI(request.getURI()).getQueryParameters()) {
      if (key == name) return value;
    }
  } catch (const Poco::Exception&) {
    // A malformed query is treated as absent; the handler reports the missing parameter.
  }
  return std::string();
}

std::string ClientAddress(const Request& request, bool trust_forwarded_for) {
  if (trust_forwarded_for) {
    const std::string* last = nullptr;  // a second header line is a list continued (RFC 9110 §5.3)
    for (const auto& [name, value] : request) {
      if (Poco::icompare(name, "X-Forwarded-For") == 0) last = &value;
    }
    if (last != nullptr) {
      const std::size_t comma = last->rfind(',');
      const std::string entry = Poco::trim(comma == std::string::npos ? *last : last->substr(comma + 1));
      Poco::Net::IPAddress address;
      if (Poco::Net::IPAddress::tryParse(entry, address)) return address.toString();
    }
  }
  return request.clientAddress().host().toString();
}

bool Sent(const Response& response) {
  const ScopedDirectSend::State* direct = DirectFor(response);
  return response.sent() || (direct != nullptr && direct->sent);
}

ScopedDirectSend::ScopedDirectSend(Response& response, Poco::Net::StreamSocket& socket, bool head_request,
                                   const std::atomic<bool>* closing)
    : state_{&response, &socket, head_request, false, closing}, previous_(t_direct) {
  t_direct = &state_;
}

ScopedDirectSend::~ScopedDirectSend() { t_direct = previous_; }

void SendJson(Response& response, int status, std::string_view json_body) {
  SendText(response, status, "application/json; charset=utf-8", json_body);
}

std::string HtmlEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

bool ReadBody(Request& request, Response& response, std::size_t limit, std::string& body) {
  // Beyond this much, an over-long body is not worth reading just to answer politely.
  constexpr Poco::Int64 kDrainBytes = 16 << 20;
  body.clear();
  std::istream& in = request.stream();
  char buffer[8192];
  const bool declared_too_large =
      request.hasContentLength() && request.getContentLength64() > static_cast<Poco::Int64>(limit);
  if (!declared_too_large) {
    for (;;) {
      in.read(buffer, sizeof buffer);
      const auto got = static_cast<std::size_t>(in.gcount());
      if (body.size() + got > limit) break;
      body.append(buffer, got);
      if (!in || got == 0) return true;
    }
  }
  body.clear();
  response.setKeepAlive(false);
  if (!request.hasContentLength() || request.getContentLength64() <= static_cast<Poco::Int64>(limit) + kDrainBytes) {
    Poco::Int64 drained = 0;
    while (in && drained <= kDrainBytes) {
      in.read(buffer, sizeof buffer);
      drained += in.gcount();
    }
  }
  return false;
}

std::string JsonEscape(std::string_view text) { return minyi::JsonEscape(text, JsonEscaping::kHtmlSafe); }

std::string LogSafe(std::string_view text) {
  // The terminal escaper (core/terminal_text.h) with backslash escaped first, so that every "\x" in a
  // log line is one of ours and a client cannot write a look-alike escape.
  std::string out;
  out.reserve(text.size());
  for (char ch : text) {
    if (ch == '\\') {
      out += "\\x5c";
    } else {
      out += ch;
    }
  }
  return TerminalSafe(out, LineBreaks::kEscape);
}

}  // namespace minyi::http
