// The SQLite dialect of sql/db.h: transactions run on the store's write connection while its mutex
// is held, so they are serialized with every other write and work on ":memory:" databases. Errors
// are mapped by SqliteError (sql/sqlite_internal.h), the dialect's one mapping. No SQLite failure is
// of the retryable class: a busy database has already been waited for (busy_timeout) and is
// reported as kUnavailable.
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "sql/db.h"
#include "sql/sqlite_internal.h"

namespace minyi::sql {
namespace {

class SqliteTx final : public db::Tx {
 public:
  // `cache`: the write connection's statement cache (SqliteStore::Impl::db_statements, its mutex held);
  // null on a reader, whose statements are prepared for each run.
  explicit SqliteTx(sqlite3* db, std::map<std::string, Stmt, std::less<>>* cache = nullptr)
      : db_(db), cache_(cache) {}

  Result<std::vector<db::Row>> Query(std::string_view sql, const std::vector<db::Value>& params) override {
    std::vector<db::Row> rows;
    MINYI_RETURN_IF_ERROR(Run(sql, params, &rows));
    return rows;
  }
  Result<std::int64_t> Execute(std::string_view sql, const std::vector<db::Value>& params) override {
    MINYI_RETURN_IF_ERROR(Run(sql, params, nullptr));
    return static_cast<std::int64_t>(sqlite3_changes(db_));
  }
  Result<std::int64_t> LastInsertId() override {
    return static_cast<std::int64_t>(sqlite3_last_insert_rowid(db_));
  }
  Status ExecuteScript(std::string_view script) override { return Exec(db_, std::string(script).c_str()); }

 private:
  Status Run(std::string_view sql, const std::vector<db::Value>& params, std::vector<db::Row>* rows) {
    Stmt owned;
    Stmt* statement = nullptr;
    if (cache_ != nullptr) {
      auto it = cache_->find(sql);
      if (it == cache_->end()) {
        auto prepared = Stmt::Prepare(db_, sql, /*persistent=*/true);
        if (!prepared.ok()) return prepared.status();
        if (cache_->size() >= SqliteStore::Impl::kMaxDbStatements) cache_->clear();
        it = cache_->emplace(std::string(sql), std::move(prepared).value()).first;
      }
      statement = &it->second;
    } else {
      auto prepared = Stmt::Prepare(db_, sql);
      if (!prepared.ok()) return prepared.status();
      owned = std::move(prepared).value();
      statement = &owned;
    }
    Stmt& s = *statement;
    ResetOnExit reset(s);  // a kept statement holds no lock nor the caller's text after the run
    for (std::size_t i = 0; i < params.size(); ++i) {
      const int index = static_cast<int>(i + 1);
      const db::Value& v = params[i];
      if (const auto* n = v.int_value()) {
        s.Int(index, *n);
      } else if (const auto* d = v.double_value()) {
        s.Double(index, *d);  // NaN and infinities become NULL
      } else if (const auto* text = v.text_value()) {
        s.Text(index, *text);  // bound without copying: `params` outlives the statement's run
      }                        // NULL: a parameter left unbound is NULL
    }
    sqlite3_stmt* raw = s.raw();
    const int columns = sqlite3_column_count(raw);
    int rc;
    while ((rc = s.Step()) == SQLITE_ROW) {
      if (rows == nullptr) continue;
      std::vector<db::Value> row;
      row.reserve(static_cast<std::size_t>(columns));
      for (int c = 0; c < columns; ++c) {
        switch (sqlite3_column_type(raw, c)) {
          case SQLITE_NULL:
            row.emplace_back();
            break;
          case SQLITE_INTEGER:
            row.emplace_back(s.ColInt(c));
            break;
          case SQLITE_FLOAT:
            row.emplace_back(sqlite3_column_double(raw, c));
            break;
          default:
            row.emplace_back(s.ColText(c));
        }
      }
      rows->emplace_back(std::move(row));
    }
    if (rc != SQLITE_DONE) return SqliteError(db_, rc, sql.substr(0, 60));
    return Status::Ok();
  }

  sqlite3* db_;
  std::map<std::string, Stmt, std::less<>>* cache_;
};

class SqliteDb final : public db::Db {
 public:
  explicit SqliteDb(SqliteStore::Impl& impl) : impl_(impl) {}
  db::Dialect dialect() const override { return db::Dialect::kSqlite; }

 protected:
  Attempt RunOnce(std::string_view what, const std::function<Status(db::Tx&)>& fn) override {
    std::lock_guard<std::mutex> lock(impl_.write_mu);
    sqlite3* db = impl_.db.get();
    auto tx = Transaction::Begin(db);
    if (!tx.ok()) return {tx.status().WithContext(what), false};
    SqliteTx statements(db, &impl_.db_statements);
    Status s = fn(statements);
    if (s.ok()) s = tx.value()->Commit();
    return {s.ok() ? s : s.WithContext(what), false};
  }

  // A file database reads on a pooled read-only connection, each statement in autocommit (its own
  // snapshot), beside the writer; ":memory:" has only the write connection.
  Attempt RunReadOnce(std::string_view what, const std::function<Status(db::Tx&)>& fn) override {
    if (impl_.in_memory) return RunOnce(what, fn);
    auto reader = impl_.AcquireReader();
    if (!reader.ok()) return {reader.status().WithContext(what), false};
    DbPtr db = std::move(reader).value();
    SqliteTx statements(db.get());
    Status s = fn(statements);
    impl_.ReleaseReader(std::move(db));
    return {s.ok() ? s : s.WithContext(what), false};
  }

 private:
  SqliteStore::Impl& impl_;
};

}  // namespace

std::unique_ptr<db::Db> MakeSqliteDb(SqliteStore::Impl& impl) { return std::make_unique<SqliteDb>(impl); }

}  // namespace minyi::sql
