// ResponseSource::MeasureScan, written once on the dialect interface (sql/db.h) for both stores: an
// aggregate for the count and the highest id, then only the asked questions' answers, a page of
// responses at a time. A .sav/.dta export measured its texts with a whole second Scan before
// (bench/RESULTS.md, issue 16): here SQLite reads the index and one answer seek per response, nothing
// of the responses' rows.
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "sql/db.h"
#include "sql/sql_store.h"
#include "sql/store_common.h"

namespace minyi::sql {
namespace {

using db::Row;
using db::Tx;
using db::Value;

// The filter of a scan (`r`: the responses table), its parameters appended to `params`.
std::string MeasureFilter(const ResponseQuery& q, std::int64_t max_id, std::vector<Value>* params) {
  std::string where = "r.survey_id = ? AND r.id <= ?";
  params->emplace_back(q.survey_id);
  params->emplace_back(max_id);
  if (q.period) {
    where += " AND r.period_year = ? AND r.period_quarter = ?";
    params->emplace_back(q.period->year);
    params->emplace_back(q.period->quarter);
  }
  if (q.town_code) {
    where += " AND r.town_code = ?";
    params->emplace_back(*q.town_code);
  }
  return where;
}

// " AND <scan-order key> <op> <k>" (op ">" or "<="), over the key's columns the filter leaves free.
// SQLite gets the row-value form, which its planner walks as an index range; MySQL the expanded form
// (the row-value form is not a range on every server version; sql/mysql_store.cc writes it the same way).
std::string KeyBound(db::Dialect dialect, const ResponseQuery& q, const char* op, const internal::ScanKey& k,
                     std::vector<Value>* params) {
  std::vector<std::pair<const char*, Value>> key;
  if (!q.period) {
    key.emplace_back("r.period_year", k.year);
    key.emplace_back("r.period_quarter", k.quarter);
  }
  if (!q.town_code) key.emplace_back("r.town_code", k.town_code);
  key.emplace_back("r.id", k.id);
  const std::string strict = op[0] == '>' ? ">" : "<";
  if (dialect == db::Dialect::kSqlite) {
    std::string columns, marks;
    for (const auto& [column, value] : key) {
      columns += (columns.empty() ? "" : ", ") + std::string(column);
      marks += marks.empty() ? "?" : ", ?";
      params->push_back(value);
    }
    return " AND (" + columns + ") " + op + " (" + marks + ")";
  }
  // c1 > ? OR (c1 = ? AND (c2 > ? OR (c2 = ? AND c3 <op> ?)))
  std::string text, close;
  for (std::size_t i = 0; i < key.size(); ++i) {
    const char* column = key[i].first;
    if (i + 1 == key.size()) {
      text += std::string(column) + " " + op + " ?";
      params->push_back(key[i].second);
      break;
    }
    text += "(" + std::string(column) + " " + strict + " ? OR (" + column + " = ? AND ";
    params->push_back(key[i].second);
    params->push_back(key[i].second);
    close += "))";
  }
  return " AND (" + text + close + ")";
}

constexpr const char* kOrder = " ORDER BY r.period_year, r.period_quarter, r.town_code, r.id";

}  // namespace

Result<ScanMeasure> SqlStore::MeasureScan(const ResponseQuery& query,
                                          const std::vector<std::string>& questions,
                                          const std::function<bool(const ScanValue&)>& visit) {
  if (query.survey_id.empty()) return Status::InvalidInput("MeasureScan: survey_id is required");
  db::Db& db = SqlDb();
  ScanMeasure out;
  MINYI_RETURN_IF_ERROR(db.Read("measure scan", [&](Tx& tx) -> Status {
    std::vector<Value> params;
    const std::string filter = MeasureFilter(query, std::numeric_limits<std::int64_t>::max(), &params);
    auto rows = tx.Query("SELECT COUNT(*), MAX(r.id) FROM responses r WHERE " + filter, params);
    if (!rows.ok()) return rows.status();
    out.responses = rows->empty() ? 0 : rows->front().Int(0);
    out.max_id = rows->empty() ? 0 : rows->front().Int(1);  // NULL (no rows) reads as 0
    return Status::Ok();
  }));
  if (questions.empty() || out.responses == 0) return out;

  std::string in;
  for (std::size_t i = 0; i < questions.size(); ++i) in += i == 0 ? "?" : ", ?";
  internal::ScanKey after;
  bool first = true;
  std::vector<Row> values;
  for (bool last_page = false; !last_page;) {
    // A page: the key of its last response (the kMeasurePageSize-th after `after`; none on the last page),
    // then the asked answers of the responses in (after, that key]. Each page is its own short read, so
    // `visit` runs outside any transaction; responses appended meanwhile lie above max_id.
    internal::ScanKey upto;
    MINYI_RETURN_IF_ERROR(db.Read("measure scan", [&](Tx& tx) -> Status {
      std::vector<Value> params;
      std::string sql = "SELECT r.period_year, r.period_quarter, r.town_code, r.id FROM responses r WHERE " +
                        MeasureFilter(query, out.max_id, &params);
      if (!first) sql += KeyBound(db.dialect(), query, ">", after, &params);
      sql += std::string(kOrder) + " LIMIT 1 OFFSET ?";
      params.emplace_back(internal::kMeasurePageSize - 1);
      auto end = tx.Query(sql, params);
      if (!end.ok()) return end.status();
      last_page = end->empty();
      if (!last_page) {
        const Row& k = end->front();
        upto = {static_cast<int>(k.Int(0)), static_cast<int>(k.Int(1)), k.Text(2), k.Int(3)};
      }
      params.clear();
      sql =
          "SELECT r.id, r.town_code, a.question_code, a.value FROM responses r JOIN response_answers a"
          " ON a.response_id = r.id WHERE " +
          MeasureFilter(query, out.max_id, &params) + " AND a.question_code IN (" + in + ")";
      for (const std::string& question : questions) params.emplace_back(question);
      if (!first) sql += KeyBound(db.dialect(), query, ">", after, &params);
      if (!last_page) sql += KeyBound(db.dialect(), query, "<=", upto, &params);
      sql += std::string(kOrder) + ", a.question_code, a.ordinal";
      auto rows = tx.Query(sql, params);
      if (!rows.ok()) return rows.status();
      values = std::move(rows).value();
      return Status::Ok();
    }));
    for (const Row& row : values) {
      const std::string town = row.Text(1), question = row.Text(2), value = row.Text(3);
      if (!visit(ScanValue{row.Int(0), town, question, value})) return out;
    }
    after = std::move(upto);
    first = false;
  }
  return out;
}

}  // namespace minyi::sql
