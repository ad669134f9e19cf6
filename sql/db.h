// Internal to sql/: the one dialect interface every port written once stands on. Not part of the
// store's API (executables and components see only the ports).
//
// - Statements use '?' placeholders (valid in SQLite and MySQL alike) and typed values: NULL,
//   integers, doubles (NaN and infinities travel as NULL, as everywhere in the store) and text.
// - Results come back as rows of typed values read through Row::Int / Double / Text / IsNull.
// - Each dialect maps its errors to a Status in ONE place (SQLite: SqliteError in
//   sql/sqlite_internal.h; MySQL: FromException in sql/mysql_internal.h): a unique or primary key
//   violation is kConflict; a busy/locked database, a lost connection, a deadlock (1213, also how
//   Galera reports a certification failure), a lock-wait timeout (1205) and a Galera node not ready
//   (1047) are kUnavailable.
// - Transactions and their retry policy live here, once (Db::InTransaction): a failure of the
//   retryable class (deadlock, lock wait, Galera certification or not-ready, a connection lost
//   before COMMIT was sent) rolls the attempt back and, only when the caller declared the work
//   Work::kIdempotent, runs it again with a bounded back-off; otherwise, or when the attempts are
//   used up, it comes back as kUnavailable, which the HTTP layer answers 503 with Retry-After.
//   A deadlock answered to COMMIT itself is of the retryable class too: it is how Galera reports a
//   certification failure, and the transaction was not committed (sql/mysql_internal.h, Commit).
//   Never retried: a connection lost after COMMIT was sent (the outcome is unknown: on one MariaDB
//   server the commit may have happened), and every other error.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "core/status.h"

namespace minyi::sql::db {

// SQL NULL, as a bound value.
struct Null {};

// One bound parameter or one column value.
class Value {
 public:
  Value() = default;  // NULL
  Value(Null) {}      // NOLINT(google-explicit-constructor): values are written inline in lists
  template <typename T, std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool>, int> = 0>
  Value(T v) : v_(static_cast<std::int64_t>(v)) {}   // NOLINT(google-explicit-constructor)
  Value(double v) : v_(v) {}                         // NOLINT(google-explicit-constructor)
  Value(std::string v) : v_(std::move(v)) {}         // NOLINT(google-explicit-constructor)
  Value(std::string_view v) : v_(std::string(v)) {}  // NOLINT(google-explicit-constructor)
  Value(const char* v) : v_(std::string(v)) {}       // NOLINT(google-explicit-constructor)

  bool is_null() const { return std::holds_alternative<std::monostate>(v_); }
  const std::int64_t* int_value() const { return std::get_if<std::int64_t>(&v_); }
  const double* double_value() const { return std::get_if<double>(&v_); }
  const std::string* text_value() const { return std::get_if<std::string>(&v_); }

  // Conversions for reading a column whatever type the dialect returned it as: NULL reads as 0,
  // NaN or ""; text holding a number reads as that number (0 when it holds none).
  std::int64_t AsInt() const;
  double AsDouble() const;
  std::string AsText() const;

 private:
  std::variant<std::monostate, std::int64_t, double, std::string> v_;
};

// One result row.
class Row {
 public:
  explicit Row(std::vector<Value> values) : values_(std::move(values)) {}
  std::size_t size() const { return values_.size(); }
  bool IsNull(std::size_t i) const { return values_.at(i).is_null(); }
  std::int64_t Int(std::size_t i) const { return values_.at(i).AsInt(); }
  double Double(std::size_t i) const { return values_.at(i).AsDouble(); }  // NaN for NULL
  std::string Text(std::size_t i) const { return values_.at(i).AsText(); }
  // nullopt for NULL.
  std::optional<std::string> OptionalText(std::size_t i) const {
    if (IsNull(i)) return std::nullopt;
    return Text(i);
  }

 private:
  std::vector<Value> values_;
};

// The statements of one open transaction. After a failure of the retryable class every further
// call fails the same way without touching the database (the server already rolled back).
class Tx {
 public:
  virtual ~Tx() = default;
  virtual Result<std::vector<Row>> Query(std::string_view sql, const std::vector<Value>& params) = 0;
  // Rows changed (MySQL: "affected", so an ON DUPLICATE KEY no-op counts 0).
  virtual Result<std::int64_t> Execute(std::string_view sql, const std::vector<Value>& params) = 0;
  // The auto-increment id of this transaction's last INSERT.
  virtual Result<std::int64_t> LastInsertId() = 0;
  // Runs a script of statements without parameters (a migration file), unprepared: SQLite runs it
  // whole (sqlite3_exec), MySQL statement by statement (internal::SplitSqlStatements) on the text
  // protocol, where every DDL statement is accepted.
  virtual Status ExecuteScript(std::string_view script) = 0;
};

// Whether a transaction's work may run again after a retryable failure rolled it back. Idempotent
// work has no effect outside the transaction and sets its outputs afresh on every run (a result
// assigned, a vector cleared first).
enum class Work { kOnce, kIdempotent };

// The few SQL spellings that differ by dialect.
enum class Dialect { kSqlite, kMysql };

class Db {
 public:
  virtual ~Db() = default;

  virtual Dialect dialect() const = 0;

  // Runs `fn` in one transaction: committed when it returns OK, rolled back otherwise. Errors get
  // `what` as context. Retryable failures are retried as the header comment says; `fn` must then
  // be safe to run more than once, which `work` declares.
  Status InTransaction(std::string_view what, Work work, const std::function<Status(Tx&)>& fn);

  // Runs `fn`, which only reads, as idempotent work (retried like InTransaction). A dialect may run
  // it on a read-only connection: SQLite in a file uses a WAL reader, so a short read (a token or an
  // API key looked up per request) never waits behind the group-commit writer's fsync.
  Status Read(std::string_view what, const std::function<Status(Tx&)>& fn);

  // Runs one schema change `fn` (a migration) as idempotent work, so that of two processes changing
  // one database at once only one applies it (`fn` re-checks inside). The one dialect difference of
  // the migration runner: SQLite runs it in one IMMEDIATE transaction (its DDL is transactional);
  // MySQL commits DDL implicitly, so `fn` is not atomic there, and a named lock (GET_LOCK, waited for
  // 60 s, released on every path) keeps other processes out while it runs. On Galera, which does not
  // replicate GET_LOCK, the CLI migrates only while holding the `migrate` lease (README "Cluster").
  Status SchemaChange(std::string_view what, const std::function<Status(Tx&)>& fn);

  // SQL text for the dialect: `a || b` (SQLite) or CONCAT(a, b) (MySQL).
  std::string Concat(std::string_view a, std::string_view b) const;
  // SQL text ending an INSERT into a table whose key is `key_columns` (comma-separated) so that a row
  // whose key exists takes `columns` from the new row instead: SQLite `ON CONFLICT (keys) DO UPDATE
  // SET c = excluded.c, ...`; MySQL `ON DUPLICATE KEY UPDATE c = VALUES(c), ...`.
  std::string OnConflictUpdate(std::string_view key_columns,
                               std::initializer_list<std::string_view> columns) const;
  // SQL text for the database's clock, UTC ms since the epoch, fixed for the statement (SQLite:
  // julianday('now'); MySQL: UTC_TIMESTAMP(6), which no session time zone shifts). The leases compare
  // times on it, never on a server's clock (core/lease_ports.h).
  std::string NowMillis() const;

  // The retry policy (also used by the MySQL store's own fast paths): attempts and back-off.
  static constexpr int kMaxAttempts = 5;
  static std::chrono::milliseconds Backoff(int attempt);  // before attempt `attempt + 1`

 protected:
  // The outcome of one attempt: its status and whether the failure belongs to the retryable class
  // (the transaction was rolled back, or never reached COMMIT, and may be run again).
  struct Attempt {
    Status status;
    bool retryable = false;
  };
  // Runs `fn` once in a transaction on a connection of the dialect; the dialect maps its errors.
  virtual Attempt RunOnce(std::string_view what, const std::function<Status(Tx&)>& fn) = 0;
  // Runs the read `fn` once; by default as a transaction (RunOnce).
  virtual Attempt RunReadOnce(std::string_view what, const std::function<Status(Tx&)>& fn) {
    return RunOnce(what, fn);
  }
  // Runs the schema change `fn` once (SchemaChange); by default as a transaction (RunOnce).
  virtual Attempt RunSchemaChangeOnce(std::string_view what, const std::function<Status(Tx&)>& fn) {
    return RunOnce(what, fn);
  }

 private:
  template <typename RunFn>
  Status Retrying(Work work, RunFn&& run_once);
};

}  // namespace minyi::sql::db
