// SQLite side of the aggregator's read path (core/analysis.h): the analysis_responses rows written
// with every append (migration 003), the period scan and the change queries.
#include <sqlite3.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/analysis.h"
#include "sql/sqlite_internal.h"

namespace minyi::sql {

using namespace sqlite_detail;  // NOLINT(google-build-using-namespace): the shared SQLite helpers

namespace {

constexpr const char* kInsertAnalysisPrefix =
    "INSERT INTO analysis_responses (survey_id, period_year, period_quarter, town_code, response_id, weight, codes)";

// A period's rows after (?5 town, ?6 id) in primary-key order, every town or one (?4); the paged
// form (?7 rows) serves the in-memory database, -1 is no limit. Row values keep the bound a range
// of the primary key.
constexpr const char* kScanAnalysisSql =
    "SELECT response_id, town_code, weight, codes FROM analysis_responses"
    " WHERE survey_id = ?1 AND period_year = ?2 AND period_quarter = ?3"
    " AND (town_code, response_id) > (?5, ?6)"
    " ORDER BY town_code, response_id LIMIT ?7";
constexpr const char* kScanTownAnalysisSql =
    "SELECT response_id, town_code, weight, codes FROM analysis_responses"
    " WHERE survey_id = ?1 AND period_year = ?2 AND period_quarter = ?3 AND town_code = ?4 AND response_id > ?6"
    " ORDER BY response_id LIMIT ?7";

constexpr std::int64_t kMemoryPage = 20000;
constexpr std::int64_t kNoLimit = -1;

struct PageRow {
  std::int64_t id;
  std::string town;
  double weight;
  std::string codes;
};

struct StmtFinalizer {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using RawStmt = std::unique_ptr<sqlite3_stmt, StmtFinalizer>;

// The scan statement with the query bound. Raw sqlite3 calls: the file path reads columns as views
// straight from SQLite's buffers (no copy per row).
Result<RawStmt> PrepareScan(sqlite3* db, const AnalysisQuery& q, const std::string& after_town,
                            std::int64_t after_id, std::int64_t limit) {
  sqlite3_stmt* raw = nullptr;
  const int rc = sqlite3_prepare_v2(db, q.town_code ? kScanTownAnalysisSql : kScanAnalysisSql, -1, &raw, nullptr);
  RawStmt s(raw);
  if (rc != SQLITE_OK) return SqliteError(db, rc, "prepare analysis scan");
  sqlite3_bind_text(raw, 1, q.survey_id.c_str(), static_cast<int>(q.survey_id.size()), SQLITE_TRANSIENT);
  sqlite3_bind_int64(raw, 2, q.period.year);
  sqlite3_bind_int64(raw, 3, q.period.quarter);
  if (q.town_code) {
    sqlite3_bind_text(raw, 4, q.town_code->c_str(), static_cast<int>(q.town_code->size()), SQLITE_TRANSIENT);
  }
  sqlite3_bind_text(raw, 5, after_town.c_str(), static_cast<int>(after_town.size()), SQLITE_TRANSIENT);
  sqlite3_bind_int64(raw, 6, after_id);
  sqlite3_bind_int64(raw, 7, limit);
  return s;
}

std::string_view ColView(sqlite3_stmt* s, int i) {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s, i));
  if (p == nullptr) return {};
  return std::string_view(p, static_cast<std::size_t>(sqlite3_column_bytes(s, i)));
}

}  // namespace

namespace sqlite_detail {

Status AppendAnalysisRows(sqlite3* db, std::map<std::size_t, Stmt>& cache, const std::vector<Response>& batch,
                          const std::vector<AppendResult>& results) {
  std::vector<std::size_t> stored;
  std::vector<std::string> codes;  // alive until the rows are written
  for (std::size_t i = 0; i < batch.size(); ++i) {
    if (results[i].outcome != AppendOutcome::kStored) continue;
    stored.push_back(i);
    codes.push_back(AnalysisCodes(batch[i].answers));
  }
  return InsertRows(
      db, cache, kInsertAnalysisPrefix, 7, stored.size(),
      [&](Stmt& s, int p, std::size_t row) {
        const std::size_t i = stored[row];
        const Response& r = batch[i];
        s.Text(p, r.survey_id);
        s.Int(p + 1, r.period.year);
        s.Int(p + 2, r.period.quarter);
        s.Text(p + 3, r.town_code);
        s.Int(p + 4, results[i].response_id);
        s.Double(p + 5, r.weight);
        s.Text(p + 6, codes[row]);
      },
      "insert analysis rows");
}

}  // namespace sqlite_detail

Status SqliteStore::ScanAnalysis(const AnalysisQuery& query, const std::function<bool(const AnalysisRow&)>& visit) {
  if (query.survey_id.empty()) return Status::InvalidInput("ScanAnalysis: survey_id is required");
  std::string after_town;
  std::int64_t after_id = query.town_code ? query.after_response_id : 0;

  if (impl_->in_memory) {
    // One connection: load each page under the write mutex, visit with it released.
    std::vector<PageRow> page;
    for (;;) {
      page.clear();
      {
        std::lock_guard<std::mutex> lock(impl_->write_mu);
        auto s = PrepareScan(impl_->db.get(), query, after_town, after_id, kMemoryPage);
        if (!s.ok()) return s.status();
        sqlite3_stmt* raw = s->get();
        int rc;
        while ((rc = sqlite3_step(raw)) == SQLITE_ROW) {
          page.push_back({sqlite3_column_int64(raw, 0), std::string(ColView(raw, 1)), sqlite3_column_double(raw, 2),
                          std::string(ColView(raw, 3))});
        }
        if (rc != SQLITE_DONE) return SqliteError(impl_->db.get(), rc, "scan analysis rows");
      }
      for (const PageRow& p : page) {
        if (!visit(AnalysisRow{p.id, p.town, p.weight, p.codes})) return Status::Ok();
      }
      if (static_cast<std::int64_t>(page.size()) < kMemoryPage) return Status::Ok();
      after_town = page.back().town;
      after_id = page.back().id;
    }
  }

  // File database: one statement on a read-only connection of its own is one WAL snapshot; rows are
  // visited straight from SQLite's buffers. The connection is used by this thread alone, so it is
  // opened without SQLite's per-call mutex, and memory-mapped reads spare a copy per page.
  sqlite3* raw_db = nullptr;
  const int open_rc = sqlite3_open_v2(impl_->options.path.c_str(), &raw_db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX,
                                      nullptr);
  DbPtr db(raw_db);
  if (open_rc != SQLITE_OK) return SqliteError(raw_db, open_rc, "open " + impl_->options.path);
  sqlite3_busy_timeout(raw_db, impl_->options.busy_timeout_ms);
  MINYI_RETURN_IF_ERROR(Exec(raw_db, "PRAGMA mmap_size = 1073741824"));
  MINYI_RETURN_IF_ERROR(Exec(raw_db, "PRAGMA cache_size = -16384"));
  Status status;
  {
    auto s = PrepareScan(db.get(), query, after_town, after_id, kNoLimit);
    if (!s.ok()) return s.status();
    sqlite3_stmt* raw = s->get();
    int rc;
    while ((rc = sqlite3_step(raw)) == SQLITE_ROW) {
      AnalysisRow row;
      row.response_id = sqlite3_column_int64(raw, 0);
      row.town_code = ColView(raw, 1);
      row.weight = sqlite3_column_double(raw, 2);
      row.codes = ColView(raw, 3);
      if (!visit(row)) break;
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) status = SqliteError(db.get(), rc, "scan analysis rows");
  }
  return status;
}

Result<std::vector<SurveyPeriod>> SqliteStore::AnalysisPeriods() {
  // A skip scan over the primary key, one seek per step; each query bounds a single column after an
  // equality prefix, which SQLite always turns into a range of the key (an OR, or a row value over
  // several columns, can make it walk the rows in between).
  std::lock_guard<std::mutex> lock(impl_->write_mu);
  sqlite3* db = impl_->db.get();
  auto next_survey = Stmt::Prepare(db, "SELECT survey_id FROM analysis_responses WHERE survey_id > ?1"
                                       " ORDER BY survey_id LIMIT 1");
  auto same_year = Stmt::Prepare(db, "SELECT period_quarter FROM analysis_responses WHERE survey_id = ?1"
                                     " AND period_year = ?2 AND period_quarter > ?3 ORDER BY period_quarter LIMIT 1");
  auto next_year = Stmt::Prepare(db, "SELECT period_year, period_quarter FROM analysis_responses WHERE survey_id = ?1"
                                     " AND period_year > ?2 ORDER BY period_year, period_quarter LIMIT 1");
  if (!next_survey.ok()) return next_survey.status();
  if (!same_year.ok()) return same_year.status();
  if (!next_year.ok()) return next_year.status();
  std::vector<SurveyPeriod> out;
  std::string survey;
  for (;;) {
    {
      ResetOnExit reset(*next_survey);
      next_survey->Text(1, survey);
      const int rc = next_survey->Step();
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) return SqliteError(db, rc, "read analysis surveys");
      survey = next_survey->ColText(0);
    }
    Period p{-1, 0};
    for (;;) {
      bool found = false;
      {
        ResetOnExit reset(*same_year);
        same_year->Text(1, survey);
        same_year->Int(2, p.year);
        same_year->Int(3, p.quarter);
        const int rc = same_year->Step();
        if (rc == SQLITE_ROW) {
          p.quarter = same_year->ColInt32(0);
          found = true;
        } else if (rc != SQLITE_DONE) {
          return SqliteError(db, rc, "read analysis periods");
        }
      }
      if (!found) {
        ResetOnExit reset(*next_year);
        next_year->Text(1, survey);
        next_year->Int(2, p.year);
        const int rc = next_year->Step();
        if (rc == SQLITE_DONE) break;
        if (rc != SQLITE_ROW) return SqliteError(db, rc, "read analysis periods");
        p = Period{next_year->ColInt32(0), next_year->ColInt32(1)};
      }
      out.push_back({survey, p});
    }
  }
  return out;
}

Result<std::vector<TownActivity>> SqliteStore::TownActivitySince(std::int64_t after_id) {
  if (after_id < 0) return Status::InvalidInput("TownActivitySince: after_id is negative");
  // A window of new ids is a range of the responses rowid; the full count walks the analysis
  // table's primary key (already in group order, narrow rows). NOT INDEXED: otherwise SQLite answers
  // the GROUP BY by scanning the whole (survey, period, town) index and filtering on id — every poll
  // of the live aggregator then read every response (issue 13; EXPLAIN QUERY PLAN: "SCAN responses
  // USING COVERING INDEX"); the rowid range stays usable ("SEARCH responses USING INTEGER PRIMARY KEY").
  const char* sql =
      after_id > 0 ? "SELECT survey_id, period_year, period_quarter, town_code, COUNT(*), MAX(id), SUM(id)"
                     " FROM responses NOT INDEXED WHERE id > ?1 GROUP BY survey_id, period_year, "
                     "period_quarter, town_code"
                     " ORDER BY survey_id, period_year, period_quarter, town_code"
                   : "SELECT survey_id, period_year, period_quarter, town_code, COUNT(*), MAX(response_id),"
                     " SUM(response_id)"
                     " FROM analysis_responses WHERE response_id > ?1"
                     " GROUP BY survey_id, period_year, period_quarter, town_code"
                     " ORDER BY survey_id, period_year, period_quarter, town_code";
  std::vector<TownActivity> out;
  auto query = [&](sqlite3* db) -> Status {
    auto s = Stmt::Prepare(db, sql);
    if (!s.ok()) return s.status();
    ResetOnExit reset(*s);
    s->Int(1, after_id);
    int rc;
    while ((rc = s->Step()) == SQLITE_ROW) {
      out.push_back({s->ColText(0), Period{s->ColInt32(1), s->ColInt32(2)}, s->ColText(3), s->ColInt(4),
                     s->ColInt(5), s->ColInt(6)});
    }
    if (rc != SQLITE_DONE) return SqliteError(db, rc, "read town activity");
    return Status::Ok();
  };
  if (impl_->in_memory) {
    std::lock_guard<std::mutex> lock(impl_->write_mu);
    MINYI_RETURN_IF_ERROR(query(impl_->db.get()));
    return out;
  }
  auto reader = impl_->AcquireReader();
  if (!reader.ok()) return reader.status();
  DbPtr db = std::move(reader).value();
  const Status status = query(db.get());
  impl_->ReleaseReader(std::move(db));
  if (!status.ok()) return status;
  return out;
}

}  // namespace minyi::sql
