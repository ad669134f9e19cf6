// Internals of the SQLite store shared by its translation units (sqlite_store.cc and the feature
// files sqlite_<feature>.cc): the sqlite3 helpers and SqliteStore::Impl. Not part of the store's API;
// include it only from sql/sqlite_*.cc.
#pragma once

#include <sqlite3.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sql/db.h"
#include "sql/sqlite_store.h"
#include "sql/store_common.h"

namespace minyi::sql {

namespace sqlite_detail {

inline constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// The SQLite dialect's one error mapping (sql/db.h): maps a failed sqlite3 call to a Status.
// Busy/locked databases, I/O, full disks, unopenable or corrupt files and memory exhaustion are
// kUnavailable (retrying or fixing the environment may help); a unique or primary key violation is
// kConflict (the row exists); another constraint failure that validation did not catch is the
// caller's input; anything else is our bug.
inline Status SqliteError(sqlite3* db, int rc, std::string_view what) {
  const int extended = db != nullptr ? sqlite3_extended_errcode(db) : rc;
  std::string message = "sqlite: " + std::string(what) + ": " +
                        (db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc)) + " (code " +
                        std::to_string(extended) + ")";
  switch (rc & 0xFF) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_CANTOPEN:
    case SQLITE_NOMEM:
    case SQLITE_READONLY:
    case SQLITE_PROTOCOL:
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
    case SQLITE_PERM:
      return Status::Unavailable(std::move(message));
    case SQLITE_CONSTRAINT:
      if (extended == SQLITE_CONSTRAINT_UNIQUE || extended == SQLITE_CONSTRAINT_PRIMARYKEY) {
        return Status::Conflict(std::move(message));
      }
      return Status::InvalidInput(std::move(message));
    default:
      return Status::Internal(std::move(message));
  }
}

// A prepared statement, finalized on destruction.
class Stmt {
 public:
  Stmt() = default;
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  Stmt(Stmt&& other) noexcept : db_(other.db_), stmt_(std::exchange(other.stmt_, nullptr)) {}
  Stmt& operator=(Stmt&& other) noexcept {
    if (this != &other) {
      sqlite3_finalize(stmt_);
      db_ = other.db_;
      stmt_ = std::exchange(other.stmt_, nullptr);
    }
    return *this;
  }
  ~Stmt() { sqlite3_finalize(stmt_); }

  // `persistent`: a hot-path statement kept for the connection's lifetime.
  static Result<Stmt> Prepare(sqlite3* db, std::string_view sql, bool persistent = false) {
    Stmt s;
    s.db_ = db;
    const int rc = sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()),
                                      persistent ? SQLITE_PREPARE_PERSISTENT : 0U, &s.stmt_, nullptr);
    if (rc != SQLITE_OK) return SqliteError(db, rc, "prepare " + std::string(sql.substr(0, 60)));
    return s;
  }

  bool valid() const { return stmt_ != nullptr; }

  // Text is bound without copying: the caller keeps it alive until Reset().
  void Text(int i, std::string_view v) {
    sqlite3_bind_text64(stmt_, i, v.data() != nullptr ? v.data() : "", v.size(), SQLITE_STATIC, SQLITE_UTF8);
  }
  void Int(int i, std::int64_t v) { sqlite3_bind_int64(stmt_, i, v); }
  // NaN and infinities become NULL.
  void Double(int i, double v) {
    if (internal::StoredAsValue(v)) {
      sqlite3_bind_double(stmt_, i, v);
    } else {
      sqlite3_bind_null(stmt_, i);
    }
  }
  int Param(const char* name) const { return sqlite3_bind_parameter_index(stmt_, name); }

  // SQLITE_ROW, SQLITE_DONE or an error code.
  int Step() { return sqlite3_step(stmt_); }
  void Reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }

  std::int64_t ColInt(int i) const { return sqlite3_column_int64(stmt_, i); }
  int ColInt32(int i) const { return sqlite3_column_int(stmt_, i); }
  double ColDouble(int i) const {
    return sqlite3_column_type(stmt_, i) == SQLITE_NULL ? kNaN : sqlite3_column_double(stmt_, i);
  }
  std::string ColText(int i) const {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, i));
    if (p == nullptr) return std::string();
    return std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, i)));
  }
  sqlite3* db() const { return db_; }
  sqlite3_stmt* raw() const { return stmt_; }

 private:
  sqlite3* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
};

// Resets a statement when leaving a scope, so no statement stays active (holding a read lock or
// pointing at caller-owned text) after an early return.
class ResetOnExit {
 public:
  explicit ResetOnExit(Stmt& s) : s_(s) {}
  ResetOnExit(const ResetOnExit&) = delete;
  ResetOnExit& operator=(const ResetOnExit&) = delete;
  ~ResetOnExit() { s_.Reset(); }

 private:
  Stmt& s_;
};

inline Status Exec(sqlite3* db, const char* sql) {
  char* error = nullptr;
  const int rc = sqlite3_exec(db, sql, nullptr, nullptr, &error);
  sqlite3_free(error);
  if (rc != SQLITE_OK) return SqliteError(db, rc, sql);
  return Status::Ok();
}

// Runs a statement that returns no rows (or ignores them) and resets it.
inline Status Run(Stmt& s, std::string_view what) {
  ResetOnExit reset(s);
  int rc;
  while ((rc = s.Step()) == SQLITE_ROW) {
  }
  if (rc != SQLITE_DONE) return SqliteError(s.db(), rc, what);
  return Status::Ok();
}

// A transaction rolled back on destruction unless committed.
class Transaction {
 public:
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  static Result<std::unique_ptr<Transaction>> Begin(sqlite3* db, const char* begin = "BEGIN IMMEDIATE") {
    MINYI_RETURN_IF_ERROR(Exec(db, begin));
    return std::unique_ptr<Transaction>(new Transaction(db));
  }
  Status Commit() {
    Status s = Exec(db_, "COMMIT");
    if (s.ok()) open_ = false;
    return s;
  }
  ~Transaction() {
    if (open_ && sqlite3_get_autocommit(db_) == 0) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }

 private:
  explicit Transaction(sqlite3* db) : db_(db) {}
  sqlite3* db_;
  bool open_ = true;
};

struct DbCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
using DbPtr = std::unique_ptr<sqlite3, DbCloser>;

inline Result<DbPtr> OpenConnection(const std::string& path, bool read_only, int busy_timeout_ms) {
  sqlite3* raw = nullptr;
  const int flags = read_only ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  const int rc = sqlite3_open_v2(path.c_str(), &raw, flags | SQLITE_OPEN_FULLMUTEX, nullptr);
  DbPtr db(raw);
  if (rc != SQLITE_OK) {
    return Status::Unavailable("sqlite: cannot open " + path + ": " +
                               (raw != nullptr ? sqlite3_errmsg(raw) : sqlite3_errstr(rc)));
  }
  sqlite3_extended_result_codes(db.get(), 1);
  sqlite3_busy_timeout(db.get(), busy_timeout_ms);
  return db;
}


// Multi-row INSERTs: one statement per chunk of rows instead of one per row (each statement run has a
// fixed cost that dwarfs a small row's B-tree insert). Statements are cached by row count in `cache`.
inline constexpr std::size_t kRowsPerInsert = 64;

// Inserts `rows` rows through "<prefix> VALUES (?, ...), ..." with `columns` values per row;
// bind(stmt, first_parameter_index, row) binds one row's values. Text bound by `bind` must stay
// alive until this returns.
template <typename Bind>
Status InsertRows(sqlite3* db, std::map<std::size_t, Stmt>& cache, const char* prefix, int columns, std::size_t rows,
                  Bind&& bind, std::string_view what) {
  for (std::size_t start = 0; start < rows; start += kRowsPerInsert) {
    const std::size_t n = std::min(kRowsPerInsert, rows - start);
    auto it = cache.find(n);
    if (it == cache.end()) {
      std::string sql = std::string(prefix) + " VALUES ";
      std::string one = "(";
      for (int c = 0; c < columns; ++c) one += c == 0 ? "?" : ", ?";
      one += ")";
      for (std::size_t i = 0; i < n; ++i) sql += (i == 0 ? "" : ", ") + one;
      auto prepared = Stmt::Prepare(db, sql, true);
      if (!prepared.ok()) return prepared.status();
      it = cache.emplace(n, std::move(prepared).value()).first;
    }
    Stmt& s = it->second;
    ResetOnExit reset(s);
    for (std::size_t i = 0; i < n; ++i) bind(s, static_cast<int>(i) * columns + 1, start + i);
    const int rc = s.Step();
    if (rc != SQLITE_DONE) return SqliteError(db, rc, what);
  }
  return Status::Ok();
}

inline constexpr const char* kInsertResponseSql =
    "INSERT INTO responses (survey_id, period_year, period_quarter, town_code, channel, respondent_key,"
    " weight, completion, submitted_at_ms, received_at_ms, source_ref, content_hash, raw_payload)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"
    " ON CONFLICT (channel, source_ref) DO NOTHING";
inline constexpr const char* kInsertAnswersPrefix =
    "INSERT INTO response_answers (response_id, question_code, ordinal, value)";
inline constexpr const char* kSelectExistingSql =
    "SELECT id, content_hash FROM responses WHERE channel = ?1 AND source_ref = ?2";

// Writes the analysis_responses rows (core/analysis.h) of the responses of `batch` whose result is
// kStored, inside the caller's open transaction, through the statements in `cache`
// (sql/sqlite_analysis.cc).
Status AppendAnalysisRows(sqlite3* db, std::map<std::size_t, Stmt>& cache, const std::vector<Response>& batch,
                          const std::vector<AppendResult>& results);

}  // namespace sqlite_detail

// Internal header, included only by the SQLite store's own translation units.
using namespace sqlite_detail;  // NOLINT(google-build-using-namespace)

class WalCheckpointer;

struct SqliteStore::Impl {
  SqliteOptions options;
  bool in_memory = false;

  std::mutex write_mu;  // guards `db` use, the hot-path statements and pending_answers
  DbPtr db;
  // The WAL checkpoints of a file database, on a thread of their own instead of in the writer's commits
  // (WalCheckpointer, sqlite_store.cc); null for ":memory:". Stopped before `db` closes.
  std::unique_ptr<WalCheckpointer, void (*)(WalCheckpointer*)> checkpointer{nullptr, nullptr};
  Stmt insert_response, select_existing;
  std::map<std::size_t, Stmt> insert_answers;   // multi-row, by row count
  std::map<std::size_t, Stmt> insert_analysis;  // multi-row, by row count

  // Answer rows of responses inserted by AppendOne, written by FlushAnswers. The pointers refer to
  // the caller's responses, which outlive the flush.
  struct PendingAnswer {
    std::int64_t response_id;
    const std::string* question;
    std::int64_t ordinal;
    const std::string* value;
  };
  std::vector<PendingAnswer> pending_answers;

  // The statements of the db::Db transactions on the write connection (sql/sqlite_db.cc), prepared once
  // per SQL text and kept: preparing was a large part of a statement's cost (issue 16, the SMS
  // webhooks run about ten per message). Bounded: beyond kMaxDbStatements texts all are finalized and
  // the cache starts again. Guarded by write_mu.
  static constexpr std::size_t kMaxDbStatements = 256;
  std::map<std::string, Stmt, std::less<>> db_statements;

  // Finalizes every cached statement (before the connection closes, or when the schema changes).
  void FinalizeStatements() {
    insert_response = Stmt();
    select_existing = Stmt();
    insert_answers.clear();
    insert_analysis.clear();
    db_statements.clear();
  }

  std::mutex readers_mu;  // guards `readers` (idle read-only connections, file databases only)
  std::vector<DbPtr> readers;

  // Prepares the append statements on first use (the tables exist only after Migrate()).
  Status PrepareAppendStatements() {
    if (insert_response.valid()) return Status::Ok();
    auto a = Stmt::Prepare(db.get(), kInsertResponseSql, true);
    if (!a.ok()) return a.status();
    auto c = Stmt::Prepare(db.get(), kSelectExistingSql, true);
    if (!c.ok()) return c.status();
    insert_response = std::move(a).value();
    select_existing = std::move(c).value();
    return Status::Ok();
  }

  Result<DbPtr> AcquireReader() {
    {
      std::lock_guard<std::mutex> lock(readers_mu);
      if (!readers.empty()) {
        DbPtr db_reader = std::move(readers.back());
        readers.pop_back();
        return db_reader;
      }
    }
    return OpenConnection(options.path, true, options.busy_timeout_ms);
  }
  void ReleaseReader(DbPtr reader) {
    std::lock_guard<std::mutex> lock(readers_mu);
    if (readers.size() < 4) readers.push_back(std::move(reader));
  }

  // Inserts one response inside the open transaction; its answers are queued for FlushAnswers(),
  // which must run before the transaction commits.
  Status AppendOne(const Response& r, const std::string& hash, AppendResult* result) {
    {
      ResetOnExit reset(insert_response);
      Stmt& s = insert_response;
      s.Text(1, r.survey_id);
      s.Int(2, r.period.year);
      s.Int(3, r.period.quarter);
      s.Text(4, r.town_code);
      s.Text(5, ChannelName(r.channel));
      s.Text(6, r.respondent_key);
      s.Double(7, r.weight);
      s.Text(8, CompletionName(r.completion));
      s.Int(9, r.submitted_at_ms);
      s.Int(10, r.received_at_ms);
      s.Text(11, r.source_ref);
      s.Text(12, hash);
      s.Text(13, r.raw_payload);
      const int rc = s.Step();
      if (rc != SQLITE_DONE) return SqliteError(db.get(), rc, "insert response " + r.source_ref);
    }
    if (sqlite3_changes(db.get()) == 1) {
      const std::int64_t id = sqlite3_last_insert_rowid(db.get());
      for (const auto& [question, values] : r.answers) {
        std::int64_t ordinal = 0;
        for (const std::string& value : values) pending_answers.push_back({id, &question, ordinal++, &value});
      }
      *result = {AppendOutcome::kStored, id};
      return Status::Ok();
    }
    // The unique key (channel, source_ref) already holds a row: a replay or a conflict.
    ResetOnExit reset(select_existing);
    select_existing.Text(1, ChannelName(r.channel));
    select_existing.Text(2, r.source_ref);
    const int rc = select_existing.Step();
    if (rc != SQLITE_ROW) return SqliteError(db.get(), rc, "read existing response " + r.source_ref);
    const std::int64_t id = select_existing.ColInt(0);
    const bool same = select_existing.ColText(1) == hash;
    *result = {same ? AppendOutcome::kDuplicate : AppendOutcome::kConflict, id};
    return Status::Ok();
  }

  // Writes the queued answer rows (multi-row INSERTs) and clears the queue, also on failure.
  Status FlushAnswers() {
    const Status s = InsertRows(
        db.get(), insert_answers, kInsertAnswersPrefix, 4, pending_answers.size(),
        [&](Stmt& st, int p, std::size_t row) {
          const PendingAnswer& a = pending_answers[row];
          st.Int(p, a.response_id);
          st.Text(p + 1, *a.question);
          st.Int(p + 2, a.ordinal);
          st.Text(p + 3, *a.value);
        },
        "insert answers");
    pending_answers.clear();
    return s;
  }
};

// The store's sql/db.h dialect (sql/sqlite_db.cc).
std::unique_ptr<db::Db> MakeSqliteDb(SqliteStore::Impl& impl);

}  // namespace minyi::sql
