// The SQLite adapter under AccessStore (sql/access_db.h): statements run on the store's write
// connection while its mutex is held, so they are serialized with every other write and work on
// ":memory:" databases.
#include "sql/access_db.h"
#include "sql/sqlite_internal.h"

namespace minyi::sql {
namespace access_detail {
namespace {

Status Failure(sqlite3* db, int rc, std::string_view what) {
  const int extended = sqlite3_extended_errcode(db);
  if (extended == SQLITE_CONSTRAINT_UNIQUE || extended == SQLITE_CONSTRAINT_PRIMARYKEY) {
    return Status::Conflict("sqlite: " + std::string(what) + ": " + sqlite3_errmsg(db));
  }
  return SqliteError(db, rc, what);
}

class SqliteTx final : public Tx {
 public:
  explicit SqliteTx(sqlite3* db) : db_(db) {}

  Result<std::vector<Row>> Query(const std::string& sql, const std::vector<Value>& params) override {
    std::vector<Row> rows;
    MINYI_RETURN_IF_ERROR(Run(sql, params, &rows));
    return rows;
  }
  Result<std::int64_t> Execute(const std::string& sql, const std::vector<Value>& params) override {
    MINYI_RETURN_IF_ERROR(Run(sql, params, nullptr));
    return static_cast<std::int64_t>(sqlite3_changes(db_));
  }
  Result<std::int64_t> LastInsertId() override { return static_cast<std::int64_t>(sqlite3_last_insert_rowid(db_)); }

 private:
  Status Run(const std::string& sql, const std::vector<Value>& params, std::vector<Row>* rows) {
    sqlite3_stmt* raw = nullptr;
    int rc = sqlite3_prepare_v2(db_, sql.c_str(), static_cast<int>(sql.size()), &raw, nullptr);
    std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)> stmt(raw, sqlite3_finalize);
    if (rc != SQLITE_OK) return SqliteError(db_, rc, "prepare " + sql.substr(0, 60));
    for (std::size_t i = 0; i < params.size(); ++i) {
      const int index = static_cast<int>(i + 1);
      if (const auto* n = std::get_if<std::int64_t>(&params[i])) {
        sqlite3_bind_int64(raw, index, *n);
      } else {
        const std::string& text = std::get<std::string>(params[i]);
        sqlite3_bind_text64(raw, index, text.data(), text.size(), SQLITE_STATIC, SQLITE_UTF8);
      }
    }
    const int columns = sqlite3_column_count(raw);
    while ((rc = sqlite3_step(raw)) == SQLITE_ROW) {
      if (rows == nullptr) continue;
      Row row;
      row.reserve(static_cast<std::size_t>(columns));
      for (int c = 0; c < columns; ++c) {
        if (sqlite3_column_type(raw, c) == SQLITE_NULL) {
          row.emplace_back(std::nullopt);
        } else {
          const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(raw, c));
          row.emplace_back(std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(raw, c))));
        }
      }
      rows->push_back(std::move(row));
    }
    if (rc != SQLITE_DONE) return Failure(db_, rc, sql.substr(0, 60));
    return Status::Ok();
  }

  sqlite3* db_;
};

class SqliteAccessDb final : public Db {
 public:
  explicit SqliteAccessDb(SqliteStore& store) : store_(store) {}
  Status InTransaction(std::string_view what, const std::function<Status(Tx&)>& fn) override {
    return store_.WithWriteConnection([&](sqlite3* db) -> Status {
      auto tx = Transaction::Begin(db);
      if (!tx.ok()) return tx.status().WithContext(what);
      SqliteTx access(db);
      Status s = fn(access);
      if (s.ok()) s = tx.value()->Commit();
      return s.ok() ? s : s.WithContext(what);
    });
  }

 private:
  SqliteStore& store_;
};

}  // namespace

std::unique_ptr<Db> MakeSqliteDb(SqliteStore& store) { return std::make_unique<SqliteAccessDb>(store); }

}  // namespace access_detail
}  // namespace minyi::sql
