// The MySQL adapter under AccessStore (sql/access_db.h): statements run on a pooled connection with
// the pool's retry rules; a duplicate key (error 1062) is reported as kConflict, every other
// SQLException is converted by MysqlStore::WithConnection.
#include "sql/access_db.h"
#include "sql/mysql_internal.h"

namespace minyi::sql {
namespace access_detail {
namespace {

constexpr int kDuplicateKey = 1062;

class MysqlTx final : public Tx {
 public:
  explicit MysqlTx(::sql::Connection& conn) : conn_(conn) {}

  Result<std::vector<Row>> Query(const std::string& sql, const std::vector<Value>& params) override {
    std::unique_ptr<::sql::PreparedStatement> ps = Prepare(sql, params);
    std::unique_ptr<::sql::ResultSet> rs(ps->executeQuery());
    const unsigned columns = rs->getMetaData()->getColumnCount();
    std::vector<Row> rows;
    while (rs->next()) {
      Row row;
      row.reserve(columns);
      for (unsigned c = 1; c <= columns; ++c) {
        if (rs->isNull(c)) {
          row.emplace_back(std::nullopt);
        } else {
          row.emplace_back(rs->getString(c).asStdString());
        }
      }
      rows.push_back(std::move(row));
    }
    return rows;
  }
  Result<std::int64_t> Execute(const std::string& sql, const std::vector<Value>& params) override {
    std::unique_ptr<::sql::PreparedStatement> ps = Prepare(sql, params);
    try {
      return static_cast<std::int64_t>(ps->executeUpdate());
    } catch (const ::sql::SQLException& e) {
      if (e.getErrorCode() == kDuplicateKey) return Status::Conflict("mysql: " + std::string(e.what()));
      throw;
    }
  }
  Result<std::int64_t> LastInsertId() override {
    std::unique_ptr<::sql::Statement> st(conn_.createStatement());
    std::unique_ptr<::sql::ResultSet> rs(st->executeQuery("SELECT LAST_INSERT_ID()"));
    if (!rs->next()) return Status::Internal("mysql: LAST_INSERT_ID() returned no row");
    return static_cast<std::int64_t>(rs->getInt64(1));
  }

 private:
  std::unique_ptr<::sql::PreparedStatement> Prepare(const std::string& sql, const std::vector<Value>& params) {
    std::unique_ptr<::sql::PreparedStatement> ps(conn_.prepareStatement(sql));
    for (std::size_t i = 0; i < params.size(); ++i) {
      const auto index = static_cast<unsigned>(i + 1);
      if (const auto* n = std::get_if<std::int64_t>(&params[i])) {
        ps->setInt64(index, *n);
      } else {
        ps->setString(index, std::get<std::string>(params[i]));
      }
    }
    return ps;
  }

  ::sql::Connection& conn_;
};

class MysqlAccessDb final : public Db {
 public:
  explicit MysqlAccessDb(MysqlStore& store) : store_(store) {}
  bool mysql() const override { return true; }
  Status InTransaction(std::string_view what, const std::function<Status(Tx&)>& fn) override {
    return store_.WithConnection(what, [&](::sql::Connection& conn) -> Status {
      conn.setAutoCommit(false);
      MysqlTx tx(conn);
      Status s = fn(tx);
      if (s.ok()) {
        conn.commit();
        conn.setAutoCommit(true);
        return s;
      }
      // WithConnection sees autocommit off and rolls back.
      return s.WithContext(what);
    });
  }

 private:
  MysqlStore& store_;
};

}  // namespace

std::unique_ptr<Db> MakeMysqlDb(MysqlStore& store) { return std::make_unique<MysqlAccessDb>(store); }

}  // namespace access_detail
}  // namespace minyi::sql
