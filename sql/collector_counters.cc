// CollectorCounters over the dialect interface (sql/db.h): '?' placeholders, the same SQL on
// SQLite and MySQL/MariaDB. Counts are added with UPDATE-then-INSERT in one transaction; two
// processes adding the same new key at once make one INSERT fail on the primary key, and that
// transaction is run again (it then finds the row).
#include "sql/collector_counters.h"

#include <algorithm>
#include <cstdlib>

#include "sql/area_scope.h"
#include "sql/db.h"

namespace minyi::sql {
namespace {

using db::Db;
using db::Row;
using db::Tx;
using db::Value;
using db::Work;

class SqlCollectorCounters final : public CollectorCounters {
 public:
  explicit SqlCollectorCounters(Db& db) : db_(db) {}

  Status RecordRejections(const std::vector<RejectionCount>& counts) override {
    for (const RejectionCount& c : counts) {
      if (c.channel.empty() || c.reason.empty() || c.count < 1) {
        return Status::InvalidInput("rejection: channel, reason and a count of at least 1 are required");
      }
    }
    if (counts.empty()) return Status::Ok();
    Status s;
    for (int attempt = 0; attempt < 3; ++attempt) {
      s = db_.InTransaction("record rejections", Work::kIdempotent, [&](Tx& tx) -> Status {
        for (const RejectionCount& c : counts) {
          const std::vector<Value> key = {c.channel, c.reason, c.survey_id, std::int64_t{c.period.year},
                                          std::int64_t{c.period.quarter}, c.town_code};
          std::vector<Value> update = {c.count, c.last_at_ms, c.last_at_ms};
          update.insert(update.end(), key.begin(), key.end());
          auto changed = tx.Execute(
              "UPDATE collector_rejections SET rejected_count = rejected_count + ?,"
              " last_at_ms = CASE WHEN last_at_ms < ? THEN ? ELSE last_at_ms END"
              " WHERE channel = ? AND reason = ? AND survey_id = ? AND period_year = ? AND period_quarter = ?"
              " AND town_code = ?",
              update);
          if (!changed.ok()) return changed.status();
          if (changed.value() > 0) continue;
          std::vector<Value> insert = key;
          insert.emplace_back(c.count);
          insert.emplace_back(c.last_at_ms);
          auto inserted = tx.Execute(
              "INSERT INTO collector_rejections (channel, reason, survey_id, period_year, period_quarter, town_code,"
              " rejected_count, last_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
              insert);
          if (!inserted.ok()) return inserted.status();
        }
        return Status::Ok();
      });
      if (s.code() != StatusCode::kConflict) break;
    }
    return s;
  }

  Result<std::int64_t> RecordImportRun(const ImportRun& run) override {
    if (run.command.empty()) return Status::InvalidInput("import run: command is required");
    if (run.rows_read < 0 || run.rows_stored < 0 || run.rows_duplicate < 0 || run.rows_rejected < 0) {
      return Status::InvalidInput("import run: row counts must not be negative");
    }
    if (!run.area_code.empty()) MINYI_RETURN_IF_ERROR(internal::CheckAreaScope(run.area_code));
    std::int64_t id = 0;
    Status s = db_.InTransaction("record import run", Work::kIdempotent, [&](Tx& tx) -> Status {
      auto inserted = tx.Execute(
          "INSERT INTO import_runs (command, actor, file_name, survey_id, area_code, started_at_ms, finished_at_ms,"
          " rows_read, rows_stored, rows_duplicate, rows_rejected) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
          {run.command, run.actor, run.file_name, run.survey_id, run.area_code, run.started_at_ms,
           run.finished_at_ms, run.rows_read, run.rows_stored, run.rows_duplicate, run.rows_rejected});
      if (!inserted.ok()) return inserted.status();
      auto last = tx.LastInsertId();
      if (!last.ok()) return last.status();
      id = last.value();
      return Status::Ok();
    });
    if (!s.ok()) return s;
    return id;
  }

  Result<std::vector<RejectionCount>> Rejections(const std::string& survey_id, const std::string& area_code,
                                                 std::optional<Period> period, bool include_unplaced) override {
    MINYI_RETURN_IF_ERROR(internal::CheckAreaScope(area_code));
    std::string sql =
        "SELECT channel, reason, survey_id, period_year, period_quarter, SUM(rejected_count), MAX(last_at_ms)"
        " FROM collector_rejections WHERE (survey_id = ? OR survey_id = '') AND " +
        internal::WithinAreaClause("town_code", include_unplaced);
    std::vector<Value> params = {survey_id, area_code, internal::AreaScopeEnd(area_code)};
    if (period) {
      sql += " AND ((period_year = ? AND period_quarter = ?) OR period_year = 0)";
      params.emplace_back(std::int64_t{period->year});
      params.emplace_back(std::int64_t{period->quarter});
    }
    sql += " GROUP BY channel, reason, survey_id, period_year, period_quarter"
           " ORDER BY SUM(rejected_count) DESC, channel, reason, survey_id, period_year, period_quarter";
    std::vector<RejectionCount> out;
    Status s = db_.InTransaction("read rejections", Work::kIdempotent, [&](Tx& tx) -> Status {
      out.clear();  // a retried attempt starts afresh
      auto rows = tx.Query(sql, params);
      if (!rows.ok()) return rows.status();
      for (const Row& r : rows.value()) {
        RejectionCount c;
        c.channel = r.Text(0);
        c.reason = r.Text(1);
        c.survey_id = r.Text(2);
        c.period = {static_cast<int>(r.Int(3)), static_cast<int>(r.Int(4))};
        c.count = r.Int(5);
        c.last_at_ms = r.Int(6);
        out.push_back(std::move(c));
      }
      return Status::Ok();
    });
    if (!s.ok()) return s;
    return out;
  }

  Result<std::vector<ImportRun>> ImportRuns(const std::string& area_code, bool include_unplaced, bool only_rejected,
                                            std::int64_t limit) override {
    MINYI_RETURN_IF_ERROR(internal::CheckAreaScope(area_code));
    if (limit < 1 || limit > 1000) return Status::InvalidInput("limit must be 1..1000");
    std::string sql =
        "SELECT id, command, actor, file_name, survey_id, area_code, started_at_ms, finished_at_ms, rows_read,"
        " rows_stored, rows_duplicate, rows_rejected FROM import_runs WHERE " +
        internal::WithinAreaClause("area_code", include_unplaced);
    if (only_rejected) sql += " AND rows_rejected > 0";
    sql += " ORDER BY id DESC LIMIT ?";
    std::vector<ImportRun> out;
    Status s = db_.InTransaction("read import runs", Work::kIdempotent, [&](Tx& tx) -> Status {
      out.clear();  // a retried attempt starts afresh
      auto rows = tx.Query(sql, {area_code, internal::AreaScopeEnd(area_code), limit});
      if (!rows.ok()) return rows.status();
      for (const Row& r : rows.value()) {
        ImportRun run;
        run.id = r.Int(0);
        run.command = r.Text(1);
        run.actor = r.Text(2);
        run.file_name = r.Text(3);
        run.survey_id = r.Text(4);
        run.area_code = r.Text(5);
        run.started_at_ms = r.Int(6);
        run.finished_at_ms = r.Int(7);
        run.rows_read = r.Int(8);
        run.rows_stored = r.Int(9);
        run.rows_duplicate = r.Int(10);
        run.rows_rejected = r.Int(11);
        out.push_back(std::move(run));
      }
      return Status::Ok();
    });
    if (!s.ok()) return s;
    return out;
  }

 private:
  Db& db_;
};

}  // namespace

Result<std::unique_ptr<CollectorCounters>> OpenCollectorCounters(Store& store) {
  return std::unique_ptr<CollectorCounters>(new SqlCollectorCounters(store.SqlDb()));
}

}  // namespace minyi::sql
