// What the aggregator reads and writes beside the responses, written once on sql/db.h for both
// dialects: population cells (LoadPopulation, PopulationVersion, UpsertPopulation), index rows
// (WriteIndexRows, ReadIndexRows; every IndexRow field, undefined doubles as NULL, and the model
// columns of migration 012 NULL for a town that was not modelled) and the response counts. One
// spelling differs: the population upsert (db::Db::OnConflictUpdate). Index rows are written with
// REPLACE, which both dialects accept (SQLite reads it as INSERT OR REPLACE).
#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "sql/db.h"
#include "sql/sql_store.h"
#include "sql/store_common.h"

namespace minyi::sql {

namespace {

// Index rows per multi-row REPLACE, largest first (35 parameters a row, far below both dialects'
// limits): a whole `minyi aggregate` writes tens of thousands of rows, 64 a statement, and the rest
// 8 and then 1 at a time, so that three statement texts serve every batch size (each dialect keeps
// its statements prepared by text).
constexpr std::size_t kIndexRowsPerStatement[] = {64, 8, 1};

// The parameters of one index row, in kIndexColumns order.
void AddIndexRow(const IndexRow& r, std::vector<db::Value>& params) {
  params.insert(params.end(),
                {r.survey_id, r.period.year, r.period.quarter, r.level, r.area_code, r.index_id, r.n, r.n_eff,
                 r.sum_w, r.estimate, r.se, r.ci_low, r.ci_high, r.ci_method, r.score, r.score_se,
                 r.score_ci_low, r.score_ci_high, r.deff, r.low_n ? 1 : 0, r.weighting, r.change, r.change_se,
                 r.change_significant ? 1 : 0, r.definition_version, r.population_version, r.response_count,
                 r.response_hash, r.code_version, r.computed_at_ms, r.model_estimate, r.model_se,
                 r.model_ci_low, r.model_ci_high,
                 // Not modelled: NULL, as in rows written before migration 012.
                 r.model_method.empty() ? db::Value() : db::Value(r.model_method)});
}

IndexRow IndexRowOf(const db::Row& c) {
  IndexRow r;
  r.survey_id = c.Text(0);
  r.period = {static_cast<int>(c.Int(1)), static_cast<int>(c.Int(2))};
  r.level = c.Text(3);
  r.area_code = c.Text(4);
  r.index_id = c.Text(5);
  r.n = c.Int(6);
  r.n_eff = c.Double(7);
  r.sum_w = c.Double(8);
  r.estimate = c.Double(9);
  r.se = c.Double(10);
  r.ci_low = c.Double(11);
  r.ci_high = c.Double(12);
  r.ci_method = c.Text(13);
  r.score = c.Double(14);
  r.score_se = c.Double(15);
  r.score_ci_low = c.Double(16);
  r.score_ci_high = c.Double(17);
  r.deff = c.Double(18);
  r.low_n = c.Int(19) != 0;
  r.weighting = c.Text(20);
  r.change = c.Double(21);
  r.change_se = c.Double(22);
  r.change_significant = c.Int(23) != 0;
  r.definition_version = c.Text(24);
  r.population_version = c.Text(25);
  r.response_count = c.Int(26);
  r.response_hash = c.Text(27);
  r.code_version = c.Text(28);
  r.computed_at_ms = c.Int(29);
  r.model_estimate = c.Double(30);
  r.model_se = c.Double(31);
  r.model_ci_low = c.Double(32);
  r.model_ci_high = c.Double(33);
  r.model_method = c.Text(34);
  return r;
}

// "REPLACE INTO index_results (...) VALUES (?, ...), ..." for `n` rows.
std::string ReplaceIndexRows(std::size_t n) {
  std::string row = "(?";
  for (int i = 1; i < internal::kIndexColumnCount; ++i) row += ", ?";
  row += ")";
  std::string sql = std::string("REPLACE INTO index_results (") + internal::kIndexColumns + ") VALUES ";
  for (std::size_t i = 0; i < n; ++i) sql += (i > 0 ? ", " : "") + row;
  return sql;
}

// The rows of one query, read as db::Db::Read (on a SQLite file, a read-only connection beside the writer).
Result<std::vector<db::Row>> ReadRows(db::Db& db, std::string_view what, std::string_view sql,
                                      const std::vector<db::Value>& params) {
  std::vector<db::Row> rows;
  Status s = db.Read(what, [&](db::Tx& tx) -> Status {
    auto read = tx.Query(sql, params);
    if (!read.ok()) return read.status();
    rows = std::move(read).value();
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return rows;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Population

Status SqlStore::UpsertPopulation(const std::vector<PopulationCell>& cells) {
  MINYI_RETURN_IF_ERROR(internal::ValidatePopulation(cells));
  if (cells.empty()) return Status::Ok();
  db::Db& db = SqlDb();
  const std::string sql =
      "INSERT INTO population_cells (period_year, town_code, sex, age_band, population)"
      " VALUES (?, ?, ?, ?, ?)" +
      db.OnConflictUpdate("period_year, town_code, sex, age_band", {"population"});
  return db.InTransaction("upsert population", db::Work::kIdempotent, [&](db::Tx& tx) -> Status {
    for (const PopulationCell& c : cells) {
      auto done = tx.Execute(sql, {c.year, c.town_code, c.sex, c.age_band, c.population});
      if (!done.ok()) return done.status();
    }
    return Status::Ok();
  });
}

Result<std::vector<PopulationCell>> SqlStore::LoadPopulation(int year) {
  auto rows = ReadRows(SqlDb(), "load population",
                       "SELECT period_year, town_code, sex, age_band, population FROM population_cells"
                       " WHERE period_year = ? ORDER BY town_code, sex, age_band",
                       {year});
  if (!rows.ok()) return rows.status();
  std::vector<PopulationCell> out;
  out.reserve(rows->size());
  for (const db::Row& r : *rows)
    out.push_back({static_cast<int>(r.Int(0)), r.Text(1), r.Text(2), r.Text(3), r.Double(4)});
  return out;
}

Result<std::string> SqlStore::PopulationVersion(int year) {
  auto cells = LoadPopulation(year);
  if (!cells.ok()) return cells.status();
  return internal::PopulationFingerprint(*cells);
}

// ---------------------------------------------------------------------------------------------
// Index rows

Status SqlStore::WriteIndexRows(const std::vector<IndexRow>& rows) {
  MINYI_RETURN_IF_ERROR(internal::ValidateIndexRows(rows));
  if (rows.empty()) return Status::Ok();
  std::vector<db::Value> params;
  return SqlDb().InTransaction("write index rows", db::Work::kIdempotent, [&](db::Tx& tx) -> Status {
    std::size_t start = 0;
    for (const std::size_t n : kIndexRowsPerStatement) {
      if (rows.size() - start < n) continue;
      const std::string sql = ReplaceIndexRows(n);
      for (; rows.size() - start >= n; start += n) {
        params.clear();
        for (std::size_t i = start; i < start + n; ++i) AddIndexRow(rows[i], params);
        // Rows are replaced in order, so a key repeated in `rows` keeps its last row, as row by row.
        auto done = tx.Execute(sql, params);
        if (!done.ok()) return done.status();
      }
    }
    return Status::Ok();
  });
}

Result<std::vector<IndexRow>> SqlStore::ReadIndexRows(const IndexQuery& query) {
  if (query.survey_id.empty()) return Status::InvalidInput("ReadIndexRows: survey_id is required");
  std::string sql =
      std::string("SELECT ") + internal::kIndexColumns + " FROM index_results WHERE survey_id = ?";
  std::vector<db::Value> params{query.survey_id};
  if (query.period) {
    sql += " AND period_year = ? AND period_quarter = ?";
    params.insert(params.end(), {query.period->year, query.period->quarter});
  }
  const auto filter = [&](const std::optional<std::string>& value, const char* condition) {
    if (!value) return;
    sql += condition;
    params.emplace_back(*value);
  };
  filter(query.level, " AND level = ?");
  filter(query.area_code, " AND area_code = ?");
  filter(query.index_id, " AND index_id = ?");
  sql += " ORDER BY period_year, period_quarter, level, area_code, index_id";
  auto rows = ReadRows(SqlDb(), "read index rows", sql, params);
  if (!rows.ok()) return rows.status();
  std::vector<IndexRow> out;
  out.reserve(rows->size());
  for (const db::Row& r : *rows) out.push_back(IndexRowOf(r));
  return out;
}

// ---------------------------------------------------------------------------------------------
// Response counts

Result<std::vector<ResponseCount>> SqlStore::CountResponses() {
  auto rows = ReadRows(SqlDb(), "count responses",
                       "SELECT survey_id, period_year, period_quarter, channel, COUNT(*) FROM responses"
                       " GROUP BY survey_id, period_year, period_quarter, channel",
                       {});
  if (!rows.ok()) return rows.status();
  std::vector<ResponseCount> out;
  for (const db::Row& r : *rows) {
    const std::string name = r.Text(3);
    const auto channel = ParseChannel(name);
    if (!channel) return Status::Internal("unknown channel '" + name + "' in responses");
    out.push_back({r.Text(0), {static_cast<int>(r.Int(1)), static_cast<int>(r.Int(2))}, *channel, r.Int(4)});
  }
  std::sort(out.begin(), out.end(), [](const ResponseCount& a, const ResponseCount& b) {
    return std::tie(a.survey_id, a.period, a.channel) < std::tie(b.survey_id, b.period, b.channel);
  });
  return out;
}

}  // namespace minyi::sql
