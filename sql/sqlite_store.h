// The SQLite backend of Store (the embedded default). Prefer OpenStore() from sql/store.h; this
// header is for code that needs the concrete type (benchmarks, tests of SQLite-only behaviour).
//
// One write connection, serialized by a mutex, carries every write and the short reads. In a file
// database (WAL mode) Scan runs on a separate read-only connection inside one read transaction, so it
// sees one snapshot and never blocks appends. In ":memory:" there is only one connection: Scan loads
// a page of rows under the mutex and visits them with the mutex released (rows appended during such
// a scan may or may not be visited).
#pragma once

#include <functional>
#include <memory>

#include "sql/sql_store.h"

namespace minyi::sql {

class SqliteStore final : public SqlStore {
 public:
  // Opens or creates the database (creating missing parent directories) and applies the
  // connection settings. Does not migrate. kInvalidInput for a bad option (empty path, unknown
  // synchronous mode); kUnavailable when the file cannot be opened.
  static Result<std::unique_ptr<SqliteStore>> Open(const SqliteOptions& options);
  ~SqliteStore() override;

  std::string Backend() const override { return "sqlite"; }
  Result<std::vector<MigrationInfo>> Migrate() override;
  Result<int> SchemaVersion() override;
  Result<std::vector<MigrationInfo>> Migrations() override;
  Result<std::string> GetMeta(const std::string& key) override;
  Status SetMeta(const std::string& key, const std::string& value) override;
  db::Db& SqlDb() override;

  Status Append(const std::vector<Response>& batch, std::vector<AppendResult>* results) override;
  Status AppendHashed(const std::vector<Response>& batch, const std::vector<std::string>& hashes,
                      std::vector<AppendResult>* results) override;
  Status Scan(const ResponseQuery& query, const std::function<bool(Response&)>& visit) override;
  Status ScanViews(const ResponseQuery& query,
                   const std::function<bool(const ResponseView&)>& visit) override;
  Result<std::vector<ResponseCount>> CountResponses() override;
  Result<std::vector<PopulationCell>> LoadPopulation(int year) override;
  Result<std::string> PopulationVersion(int year) override;
  Status UpsertPopulation(const std::vector<PopulationCell>& cells) override;
  Status WriteIndexRows(const std::vector<IndexRow>& rows) override;
  Result<std::vector<IndexRow>> ReadIndexRows(const IndexQuery& query) override;
  // AnalysisSource (core/analysis.h; defined in sql/sqlite_analysis.cc).
  Status ScanAnalysis(const AnalysisQuery& query,
                      const std::function<bool(const AnalysisRow&)>& visit) override;
  Result<std::vector<SurveyPeriod>> AnalysisPeriods() override;
  Result<std::vector<TownActivity>> TownActivitySince(std::int64_t after_id) override;
  struct Impl;

 private:
  explicit SqliteStore(std::unique_ptr<Impl> impl);
  // The paging under Scan and ScanViews (sqlite_store.cc).
  Status ScanPages(const ResponseQuery& query, const std::function<bool(const ResponseView&)>& visit);
  std::unique_ptr<Impl> impl_;
  std::unique_ptr<db::Db> db_;  // over impl_
};

}  // namespace minyi::sql
