// The MySQL dialect of sql/db.h: a transaction runs on a pooled connection (autocommit off), every
// Connector/C++ exception is caught at the statement that threw it and mapped by FromException
// (sql/mysql_internal.h), the dialect's one mapping. The retryable class is a deadlock or Galera
// certification failure (1213), a lock-wait timeout (1205), a Galera node not ready (1047) and a
// connection lost before COMMIT was sent; a connection lost after COMMIT was sent leaves the outcome
// unknown and is never retried.
#include <cppconn/resultset_metadata.h>

#include <memory>

#include "sql/db.h"
#include "sql/migrations.h"
#include "sql/mysql_internal.h"

namespace minyi::sql {
namespace {

class MysqlTx final : public db::Tx {
 public:
  explicit MysqlTx(PooledConn& pc) : pc_(pc) {}

  Result<std::vector<db::Row>> Query(std::string_view sql, const std::vector<db::Value>& params) override {
    if (poisoned_) return failure_;
    try {
      ::sql::PreparedStatement* ps = Prepare(sql, params);
      std::unique_ptr<::sql::ResultSet> rs(ps->executeQuery());
      ::sql::ResultSetMetaData* meta = rs->getMetaData();
      const unsigned columns = meta->getColumnCount();
      std::vector<int> types(columns + 1);
      for (unsigned c = 1; c <= columns; ++c) types[c] = meta->getColumnType(c);
      std::vector<db::Row> rows;
      while (rs->next()) {
        std::vector<db::Value> row;
        row.reserve(columns);
        for (unsigned c = 1; c <= columns; ++c) row.push_back(Read(*rs, c, types[c]));
        rows.emplace_back(std::move(row));
      }
      return rows;
    } catch (const ::sql::SQLException& e) {
      return Fail(e, sql);
    }
  }

  Result<std::int64_t> Execute(std::string_view sql, const std::vector<db::Value>& params) override {
    if (poisoned_) return failure_;
    try {
      return static_cast<std::int64_t>(Prepare(sql, params)->executeUpdate());
    } catch (const ::sql::SQLException& e) {
      return Fail(e, sql);
    }
  }

  Result<std::int64_t> LastInsertId() override {
    auto rows = Query("SELECT LAST_INSERT_ID()", {});
    if (!rows.ok()) return rows.status();
    if (rows->empty()) return Status::Internal("mysql: LAST_INSERT_ID() returned no row");
    return rows->front().Int(0);
  }

  Status ExecuteScript(std::string_view script) override {
    if (poisoned_) return failure_;
    for (const std::string& statement : internal::SplitSqlStatements(script)) {
      try {
        pc_.Execute(statement);
      } catch (const ::sql::SQLException& e) {
        return Fail(e, statement);
      }
    }
    return Status::Ok();
  }

  // The error code of the failure that ended the transaction (0: none).
  int error_code() const { return error_code_; }

 private:
  static db::Value Read(::sql::ResultSet& rs, unsigned c, int type) {
    if (rs.isNull(c)) return db::Value();
    switch (type) {
      case ::sql::DataType::BIT:
      case ::sql::DataType::TINYINT:
      case ::sql::DataType::SMALLINT:
      case ::sql::DataType::MEDIUMINT:
      case ::sql::DataType::INTEGER:
      case ::sql::DataType::BIGINT:
        return db::Value(static_cast<std::int64_t>(rs.getInt64(c)));
      case ::sql::DataType::REAL:
      case ::sql::DataType::DOUBLE:
        return db::Value(static_cast<double>(rs.getDouble(c)));
      default:  // text, and DECIMAL (SUM of integers) kept exact as text
        return db::Value(rs.getString(c).asStdString());
    }
  }

  // The connection's cached statement with `params` bound. Never a statement prepared and closed
  // here: closing one inside the transaction can lose a Galera abort (PooledConn::statements), and a
  // first prepare is checked (PooledConn::PrepareInTransaction).
  ::sql::PreparedStatement* Prepare(std::string_view sql, const std::vector<db::Value>& params) {
    ::sql::PreparedStatement* ps = &pc_.Statement(sql);
    ps->clearParameters();
    for (std::size_t i = 0; i < params.size(); ++i) {
      const auto index = static_cast<unsigned>(i + 1);
      const db::Value& v = params[i];
      if (const auto* n = v.int_value()) {
        ps->setInt64(index, *n);
      } else if (const auto* d = v.double_value()) {
        SetDouble(*ps, index, *d);  // NaN and infinities become NULL
      } else if (const auto* text = v.text_value()) {
        ps->setString(index, *text);
      } else {
        ps->setNull(index, ::sql::DataType::VARCHAR);
      }
    }
    return ps;
  }

  Status Fail(const ::sql::SQLException& e, std::string_view sql) {
    Status s = FromException(e, sql.substr(0, 60));
    const int code = e.getErrorCode();
    // After a rollback by the server or a lost session nothing more may run in this transaction.
    if (RetryableTransaction(code) || ConnectionBroken(code)) {
      poisoned_ = true;
      failure_ = s;
      error_code_ = code;
    } else if (error_code_ == 0) {
      error_code_ = code;
    }
    return s;
  }

  PooledConn& pc_;
  bool poisoned_ = false;
  Status failure_;
  int error_code_ = 0;
};

class MysqlDb final : public db::Db {
 public:
  explicit MysqlDb(MysqlStore::Impl& impl) : impl_(impl) {}
  db::Dialect dialect() const override { return db::Dialect::kMysql; }

 protected:
  Attempt RunOnce(std::string_view what, const std::function<Status(db::Tx&)>& fn) override {
    return Run(what, fn, /*migration_lock=*/false);
  }
  Attempt RunSchemaChangeOnce(std::string_view what, const std::function<Status(db::Tx&)>& fn) override {
    return Run(what, fn, /*migration_lock=*/true);
  }

 private:
  // One attempt of `fn` on a pooled connection; with `migration_lock`, holding the database's named
  // migration lock from before the transaction until after it ended (a session lock: RELEASE_LOCK runs
  // after the rollback too, and a lost connection takes the lock with it).
  Attempt Run(std::string_view what, const std::function<Status(db::Tx&)>& fn, bool migration_lock) {
    auto acquired = impl_.Acquire();
    if (!acquired.ok()) return {acquired.status().WithContext(what), false};
    std::unique_ptr<PooledConn> pc = std::move(acquired).value();
    MysqlTx tx(*pc);
    Status s;
    int code = 0;
    bool commit_sent = false;
    bool locked = false;
    try {
      if (migration_lock) {
        std::unique_ptr<::sql::ResultSet> lock(
            pc->stmt->executeQuery("SELECT GET_LOCK(CONCAT('minyi_migrate_', DATABASE()), 60)"));
        locked = lock->next() && lock->getInt(1) == 1;
        if (!locked) s = Status::Unavailable("mysql: another process holds the migration lock");
      }
      if (s.ok()) pc->conn->setAutoCommit(false);
      if (s.ok()) s = fn(tx);
      code = tx.error_code();
      if (s.ok()) {
        commit_sent = true;
        Commit(*pc);
      }
    } catch (const ::sql::SQLException& e) {
      code = e.getErrorCode();
      s = FromException(e, commit_sent ? "commit" : "begin");
    }
    if (ConnectionBroken(code)) {
      pc.reset();
      impl_.Release(nullptr);
      impl_.DropIdle();
      return {s.WithContext(what), !commit_sent};
    }
    try {
      if (!pc->conn->getAutoCommit()) {
        pc->Rollback();
        pc->conn->setAutoCommit(true);
      }
      if (locked) {
        std::unique_ptr<::sql::ResultSet> r(
            pc->stmt->executeQuery("SELECT RELEASE_LOCK(CONCAT('minyi_migrate_', DATABASE()))"));
      }
      impl_.Release(std::move(pc));
    } catch (const ::sql::SQLException&) {
      pc.reset();
      impl_.Release(nullptr);
    }
    // A deadlock answered to COMMIT (how Galera reports a certification failure) is a rollback too.
    return {s.ok() ? s : s.WithContext(what), !s.ok() && RetryableTransaction(code)};
  }

  MysqlStore::Impl& impl_;
};

}  // namespace

std::unique_ptr<db::Db> MakeMysqlDb(MysqlStore::Impl& impl) { return std::make_unique<MysqlDb>(impl); }

}  // namespace minyi::sql
