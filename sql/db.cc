// The dialect-independent half of sql/db.h: value conversions and the transaction retry policy.
#include "sql/db.h"

#include <cstdio>
#include <cstdlib>
#include <limits>
#include <thread>

namespace minyi::sql::db {

std::int64_t Value::AsInt() const {
  if (const auto* n = int_value()) return *n;
  if (const auto* d = double_value()) return static_cast<std::int64_t>(*d);
  if (const auto* s = text_value()) return std::strtoll(s->c_str(), nullptr, 10);
  return 0;
}

double Value::AsDouble() const {
  if (const auto* d = double_value()) return *d;
  if (const auto* n = int_value()) return static_cast<double>(*n);
  if (const auto* s = text_value()) return std::strtod(s->c_str(), nullptr);
  return std::numeric_limits<double>::quiet_NaN();
}

std::string Value::AsText() const {
  if (const auto* s = text_value()) return *s;
  if (const auto* n = int_value()) return std::to_string(*n);
  if (const auto* d = double_value()) {
    // The shortest form that reads back as the same double (what SQLite's text conversion aims at).
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%.17g", *d);
    return buffer;
  }
  return std::string();
}

std::chrono::milliseconds Db::Backoff(int attempt) { return std::chrono::milliseconds(5 * attempt); }

std::string Db::Concat(std::string_view a, std::string_view b) const {
  if (dialect() == Dialect::kMysql) return "CONCAT(" + std::string(a) + ", " + std::string(b) + ")";
  return "(" + std::string(a) + " || " + std::string(b) + ")";
}

std::string Db::OnConflictUpdate(std::string_view key_columns,
                                 std::initializer_list<std::string_view> columns) const {
  const bool mysql = dialect() == Dialect::kMysql;
  std::string out =
      mysql ? " ON DUPLICATE KEY UPDATE " : " ON CONFLICT (" + std::string(key_columns) + ") DO UPDATE SET ";
  bool first = true;
  for (std::string_view c : columns) {
    out += first ? "" : ", ";
    first = false;
    out += std::string(c) + (mysql ? " = VALUES(" + std::string(c) + ")" : " = excluded." + std::string(c));
  }
  return out;
}

std::string Db::NowMillis() const {
  if (dialect() == Dialect::kMysql) {
    return "(TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', UTC_TIMESTAMP(6)) DIV 1000)";
  }
  return "CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER)";
}

template <typename RunFn>
Status Db::Retrying(Work work, RunFn&& run_once) {
  for (int attempt = 1;; ++attempt) {
    Attempt a = run_once();
    if (a.status.ok() || !a.retryable) return a.status;
    // Retryable: the transaction was rolled back. Its class is kUnavailable whatever a caller made
    // of the failed statement's status, so a non-idempotent caller answers 503, never 500 or 4xx.
    if (work != Work::kIdempotent || attempt >= kMaxAttempts) {
      if (a.status.code() == StatusCode::kUnavailable) return a.status;
      return Status::Unavailable(a.status.message());
    }
    std::this_thread::sleep_for(Backoff(attempt));
  }
}

Status Db::InTransaction(std::string_view what, Work work, const std::function<Status(Tx&)>& fn) {
  return Retrying(work, [&] { return RunOnce(what, fn); });
}

Status Db::SchemaChange(std::string_view what, const std::function<Status(Tx&)>& fn) {
  return Retrying(Work::kIdempotent, [&] { return RunSchemaChangeOnce(what, fn); });
}

Status Db::Read(std::string_view what, const std::function<Status(Tx&)>& fn) {
  return Retrying(Work::kIdempotent, [&] { return RunReadOnce(what, fn); });
}

}  // namespace minyi::sql::db
