// The MySQL/MariaDB backend of Store (production), on MySQL Connector/C++ 1.1 (JDBC-style API).
// Prefer OpenStore() from sql/store.h; this header is for code that needs the concrete type.
//
// Connections come from a pool of at most MysqlOptions::pool_size, opened on demand; a pooled
// connection idle for a while is pinged before reuse and replaced when dead, and an operation whose
// connection broke before it committed anything is retried once on a fresh connection. Deadlocks
// and lock-wait timeouts roll the transaction back and retry it (a few times). Every
// sql::SQLException is converted to a Status here. The password is never logged or put into a
// message.
#pragma once

#include <functional>
#include <memory>
#include <string_view>

#include "sql/sql_store.h"

namespace minyi::sql {

class MysqlStore final : public SqlStore {
 public:
  // Connects once (creating the database first when options.create_database). Does not migrate.
  // kInvalidInput for bad options (database name not [A-Za-z0-9_]{1,64}, pool_size < 1);
  // kUnavailable when the server cannot be reached or refuses the login or database.
  static Result<std::unique_ptr<MysqlStore>> Open(const MysqlOptions& options);
  ~MysqlStore() override;

  std::string Backend() const override { return "mysql"; }
  db::Db& SqlDb() override;

  Status Append(const std::vector<Response>& batch, std::vector<AppendResult>* results) override;
  Status AppendHashed(const std::vector<Response>& batch, const std::vector<std::string>& hashes,
                      std::vector<AppendResult>* results) override;
  Status Scan(const ResponseQuery& query, const std::function<bool(Response&)>& visit) override;
  // AnalysisSource (core/analysis.h; defined in sql/mysql_analysis.cc).
  Status ScanAnalysis(const AnalysisQuery& query,
                      const std::function<bool(const AnalysisRow&)>& visit) override;
  Result<std::vector<SurveyPeriod>> AnalysisPeriods() override;
  Result<std::vector<TownActivity>> TownActivitySince(std::int64_t after_id) override;
  struct Impl;

 private:
  explicit MysqlStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  std::unique_ptr<db::Db> db_;  // over impl_
};

}  // namespace minyi::sql
