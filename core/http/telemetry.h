// What `minyi serve` records about each request (Router::set_observer): the HTTP metrics of GET /metrics
// (core/metrics.h) and the access log.
//
// Neither ever records a query string or a raw path: the route is the registered pattern (so a token in
// a webhook path or a query never reaches a label or a log line, and the label set stays bounded), the
// method one of a fixed list ("OTHER" for the rest).
//
// Thread safety: Record may be called from every worker thread at once.
#pragma once

#include <spdlog/logger.h>

#include <chrono>
#include <memory>
#include <string>

#include "core/http/router.h"
#include "core/metrics.h"
#include "core/status.h"

namespace minyi::http {

// minyi_http_requests_total{route,method,status} and minyi_http_request_duration_seconds{route}.
class HttpMetrics {
 public:
  explicit HttpMetrics(metrics::Registry& registry);
  void Record(const RequestRecord& record);

 private:
  metrics::CounterFamily& requests_;
  metrics::HistogramFamily& durations_;
};

// The route label: the pattern, or "unmatched" (404 of an unknown path, a malformed path).
std::string RouteLabel(std::string_view route);
// The method label: GET, HEAD, POST, PUT, DELETE, PATCH or OPTIONS as sent, else "OTHER".
std::string MethodLabel(std::string_view method);

enum class AccessLogFormat { kText, kJson };

struct AccessLogEntry {
  std::chrono::system_clock::time_point time;
  std::string client;  // http::ClientAddress
  std::string method;
  std::string route;  // the pattern; "" when none matched
  int status = 0;
  std::int64_t bytes = -1;
  std::chrono::microseconds duration{0};
};

// One line, no newline. Text: `2026-12-05T18:00:00.123Z 127.0.0.1 GET /s/{survey} 200 1234 0.002345`
// (bytes "-" when unknown, route "-" when none matched); JSON: {"time":...,"client":...,"method":...,
// "route":...,"status":...,"bytes":...,"duration_s":...}. Client and method go through LogSafe (text) or
// JsonEscape (JSON).
std::string FormatAccessLine(const AccessLogEntry& entry, AccessLogFormat format);

class AccessLog {
 public:
  // Lines go to `path` (created with mode 0600 when missing, appended to otherwise), or to stderr when
  // `path` is empty. kUnavailable when the file cannot be opened.
  // A file stops writing below `min_free_bytes` free on its file system (FreeSpaceSink).
  static Result<std::unique_ptr<AccessLog>> Open(const std::string& path, AccessLogFormat format,
                                                 bool trust_forwarded_for, std::uint64_t min_free_bytes = 0);
  // Writes the request's line at info level.
  void Record(const RequestRecord& record);
  void Flush();

 private:
  AccessLog(std::shared_ptr<spdlog::logger> logger, AccessLogFormat format, bool trust_forwarded_for)
      : logger_(std::move(logger)), format_(format), trust_forwarded_for_(trust_forwarded_for) {}
  std::shared_ptr<spdlog::logger> logger_;
  AccessLogFormat format_;
  bool trust_forwarded_for_;
};

}  // namespace minyi::http
