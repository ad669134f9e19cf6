#include "core/http/telemetry.h"

#include <fcntl.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>

#include "core/http/free_space_sink.h"

namespace minyi::http {

HttpMetrics::HttpMetrics(metrics::Registry& registry)
    : requests_(registry.AddCounter("minyi_http_requests_total",
                                    "HTTP requests answered, by route pattern, method and status code.",
                                    {"route", "method", "status"})),
      durations_(registry.AddHistogram("minyi_http_request_duration_seconds",
                                       "Time from dispatch to the answer sent, by route pattern.", {"route"},
                                       metrics::LatencyBuckets())) {}

void HttpMetrics::Record(const RequestRecord& record) {
  const std::string route = RouteLabel(record.route);
  requests_.With({route, MethodLabel(record.request.getMethod()), std::to_string(record.status)}).Inc();
  durations_.With({route}).Observe(static_cast<double>(record.duration.count()) / 1e6);
}

std::string RouteLabel(std::string_view route) { return route.empty() ? "unmatched" : std::string(route); }

std::string MethodLabel(std::string_view method) {
  for (const char* known : {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"}) {
    if (method == known) return known;
  }
  return "OTHER";
}

std::string FormatAccessLine(const AccessLogEntry& entry, AccessLogFormat format) {
  const auto since_epoch = entry.time.time_since_epoch();
  const std::time_t seconds = std::chrono::duration_cast<std::chrono::seconds>(since_epoch).count();
  const long millis =
      static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(since_epoch).count() % 1000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char time_text[64];
  std::snprintf(time_text, sizeof time_text, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", utc.tm_year + 1900,
                utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, millis);
  char duration[32];
  std::snprintf(duration, sizeof duration, "%.6f", static_cast<double>(entry.duration.count()) / 1e6);
  const std::string bytes =
      entry.bytes < 0 ? (format == AccessLogFormat::kJson ? "null" : "-") : std::to_string(entry.bytes);
  if (format == AccessLogFormat::kJson) {
    return std::string("{\"time\":\"") + time_text + "\",\"client\":\"" + JsonEscape(entry.client) +
           "\",\"method\":\"" + JsonEscape(entry.method) + "\",\"route\":" +
           (entry.route.empty() ? std::string("null") : "\"" + JsonEscape(entry.route) + "\"") +
           ",\"status\":" + std::to_string(entry.status) + ",\"bytes\":" + bytes +
           ",\"duration_s\":" + duration + "}";
  }
  return std::string(time_text) + " " + LogSafe(entry.client) + " " + LogSafe(entry.method) + " " +
         (entry.route.empty() ? std::string("-") : LogSafe(entry.route)) + " " +
         std::to_string(entry.status) + " " + bytes + " " + duration;
}

Result<std::unique_ptr<AccessLog>> AccessLog::Open(const std::string& path, AccessLogFormat format,
                                                   bool trust_forwarded_for, std::uint64_t min_free_bytes) {
  std::shared_ptr<spdlog::logger> logger;
  try {
    if (path.empty()) {
      logger = std::make_shared<spdlog::logger>("access", std::make_shared<spdlog::sinks::stderr_sink_mt>());
    } else {
      // Created 0600 before spdlog opens it (spdlog's file sink would create it with the umask's mode):
      // the log names client addresses.
      const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
      if (fd < 0) return Status::Unavailable("log.access_file " + path + ": " + std::strerror(errno));
      ::close(fd);
      logger = std::make_shared<spdlog::logger>(
          "access",
          std::make_shared<FreeSpaceSink>(std::make_shared<spdlog::sinks::basic_file_sink_st>(path, false),
                                          LogDirectory(path), min_free_bytes));
    }
  } catch (const spdlog::spdlog_ex& e) {
    return Status::Unavailable("log.access_file " + path + ": " + e.what());
  }
  logger->set_pattern("%v");  // the line carries its own time
  logger->set_level(spdlog::level::info);
  logger->flush_on(spdlog::level::info);
  return std::unique_ptr<AccessLog>(new AccessLog(std::move(logger), format, trust_forwarded_for));
}

void AccessLog::Record(const RequestRecord& record) {
  AccessLogEntry entry;
  entry.time = std::chrono::system_clock::now();
  entry.client = ClientAddress(record.request, trust_forwarded_for_);
  entry.method = record.request.getMethod();
  entry.route = std::string(record.route);
  entry.status = record.status;
  entry.bytes = record.bytes;
  entry.duration = record.duration;
  logger_->info(FormatAccessLine(entry, format_));
}

void AccessLog::Flush() { logger_->flush(); }

}  // namespace minyi::http
