// MySQL/MariaDB side of the aggregator's read path (core/analysis.h): the analysis_responses rows
// written with every append (migration 003), the period scan and the change queries.
#include <algorithm>
#include <string>
#include <vector>

#include "core/analysis.h"
#include "sql/mysql_internal.h"

namespace minyi::sql {

namespace {

constexpr std::size_t kAnalysisRowsPerInsert = 64;
// Rows per keyset page of a scan: large pages keep round trips few; the page is the only buffer.
constexpr int kScanPage = 50000;

struct PageRow {
  std::int64_t id;
  std::string town;
  double weight;
  std::string codes;
};

}  // namespace

Status AppendAnalysisRows(PooledConn& pc, const std::vector<Response>& batch,
                          const std::vector<AppendResult>& results) {
  std::vector<std::size_t> stored;
  for (std::size_t i = 0; i < batch.size(); ++i) {
    if (results[i].outcome == AppendOutcome::kStored) stored.push_back(i);
  }
  for (std::size_t start = 0; start < stored.size(); start += kAnalysisRowsPerInsert) {
    const std::size_t n = std::min(kAnalysisRowsPerInsert, stored.size() - start);
    // One statement per chunk size, kept on the connection: a statement closed inside the append's
    // transaction can lose a Galera abort, and the COMMIT after it would succeed without the responses
    // (PooledConn::statements).
    ::sql::PreparedStatement* ps = &pc.Prepared(
        pc.insert_analysis[n],
        "INSERT INTO analysis_responses (survey_id, period_year, period_quarter, town_code, response_id, weight,"
        " codes) VALUES " +
            Placeholders(n, "(?, ?, ?, ?, ?, ?, ?)"));
    std::uint32_t p = 1;
    for (std::size_t k = start; k < start + n; ++k) {
      const Response& r = batch[stored[k]];
      ps->setString(p++, r.survey_id);
      ps->setInt(p++, r.period.year);
      ps->setInt(p++, r.period.quarter);
      ps->setString(p++, r.town_code);
      ps->setInt64(p++, results[stored[k]].response_id);
      ps->setDouble(p++, r.weight);
      ps->setString(p++, AnalysisCodes(r.answers));
    }
    ps->executeUpdate();
  }
  return Status::Ok();
}

Status MysqlStore::ScanAnalysis(const AnalysisQuery& query, const std::function<bool(const AnalysisRow&)>& visit) {
  if (query.survey_id.empty()) return Status::InvalidInput("ScanAnalysis: survey_id is required");
  std::vector<PageRow> page;
  std::string after_town;
  std::int64_t after_id = query.town_code ? query.after_response_id : 0;
  for (;;) {
    // Keyset pages over the primary key; the connection goes back to the pool before visiting.
    MINYI_RETURN_IF_ERROR(impl_->Run("scan analysis rows", Work::kIdempotent, [&](PooledConn& pc) -> Status {
      page.clear();
      std::unique_ptr<::sql::PreparedStatement> ps(pc.conn->prepareStatement(
          query.town_code
              ? "SELECT response_id, town_code, weight, codes FROM analysis_responses"
                " WHERE survey_id = ? AND period_year = ? AND period_quarter = ? AND town_code = ? AND response_id > ?"
                " ORDER BY response_id LIMIT ?"
              : "SELECT response_id, town_code, weight, codes FROM analysis_responses"
                " WHERE survey_id = ? AND period_year = ? AND period_quarter = ?"
                " AND (town_code > ? OR (town_code = ? AND response_id > ?))"
                " ORDER BY town_code, response_id LIMIT ?"));
      std::uint32_t p = 1;
      ps->setString(p++, query.survey_id);
      ps->setInt(p++, query.period.year);
      ps->setInt(p++, query.period.quarter);
      if (query.town_code) {
        ps->setString(p++, *query.town_code);
      } else {
        ps->setString(p++, after_town);
        ps->setString(p++, after_town);
      }
      ps->setInt64(p++, after_id);
      ps->setInt(p++, kScanPage);
      std::unique_ptr<::sql::ResultSet> rs(ps->executeQuery());
      while (rs->next()) {
        page.push_back({rs->getInt64(1), Str(rs->getString(2)), static_cast<double>(rs->getDouble(3)),
                        Str(rs->getString(4))});
      }
      return Status::Ok();
    }));
    for (const PageRow& r : page) {
      if (!visit(AnalysisRow{r.id, r.town, r.weight, r.codes})) return Status::Ok();
    }
    if (page.size() < static_cast<std::size_t>(kScanPage)) return Status::Ok();
    after_town = page.back().town;
    after_id = page.back().id;
  }
}

Result<std::vector<SurveyPeriod>> MysqlStore::AnalysisPeriods() {
  std::vector<SurveyPeriod> out;
  Status s = impl_->Run("read analysis periods", Work::kIdempotent, [&](PooledConn& pc) -> Status {
    out.clear();
    // A skip scan over the primary key, one seek per step (each query a single-column range after
    // an equality prefix).
    std::unique_ptr<::sql::PreparedStatement> next_survey(pc.conn->prepareStatement(
        "SELECT survey_id FROM analysis_responses WHERE survey_id > ? ORDER BY survey_id LIMIT 1"));
    std::unique_ptr<::sql::PreparedStatement> same_year(pc.conn->prepareStatement(
        "SELECT period_quarter FROM analysis_responses WHERE survey_id = ? AND period_year = ? AND period_quarter > ?"
        " ORDER BY period_quarter LIMIT 1"));
    std::unique_ptr<::sql::PreparedStatement> next_year(pc.conn->prepareStatement(
        "SELECT period_year, period_quarter FROM analysis_responses WHERE survey_id = ? AND period_year > ?"
        " ORDER BY period_year, period_quarter LIMIT 1"));
    std::string survey;
    for (;;) {
      next_survey->setString(1, survey);
      std::unique_ptr<::sql::ResultSet> rs(next_survey->executeQuery());
      if (!rs->next()) break;
      survey = Str(rs->getString(1));
      Period p{-1, 0};
      for (;;) {
        same_year->setString(1, survey);
        same_year->setInt(2, p.year);
        same_year->setInt(3, p.quarter);
        std::unique_ptr<::sql::ResultSet> q(same_year->executeQuery());
        if (q->next()) {
          p.quarter = q->getInt(1);
        } else {
          next_year->setString(1, survey);
          next_year->setInt(2, p.year);
          std::unique_ptr<::sql::ResultSet> y(next_year->executeQuery());
          if (!y->next()) break;
          p = Period{y->getInt(1), y->getInt(2)};
        }
        out.push_back({survey, p});
      }
    }
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return out;
}

Result<std::vector<TownActivity>> MysqlStore::TownActivitySince(std::int64_t after_id) {
  if (after_id < 0) return Status::InvalidInput("TownActivitySince: after_id is negative");
  std::vector<TownActivity> out;
  Status s = impl_->Run("read town activity", Work::kIdempotent, [&](PooledConn& pc) -> Status {
    out.clear();
    std::unique_ptr<::sql::PreparedStatement> ps(pc.conn->prepareStatement(
        // FORCE INDEX (PRIMARY): a range of new ids, never a scan of the (survey, period, town) index for the
        // GROUP BY (sqlite_analysis.cc says why, issue 13).
        after_id > 0 ? "SELECT survey_id, period_year, period_quarter, town_code, COUNT(*), MAX(id), SUM(id)"
                       " FROM responses FORCE INDEX (PRIMARY) WHERE id > ? GROUP BY survey_id, period_year, "
                       "period_quarter, town_code"
                       " ORDER BY survey_id, period_year, period_quarter, town_code"
                     : "SELECT survey_id, period_year, period_quarter, town_code, COUNT(*), MAX(response_id),"
                       " SUM(response_id)"
                       " FROM analysis_responses WHERE response_id > ?"
                       " GROUP BY survey_id, period_year, period_quarter, town_code"
                       " ORDER BY survey_id, period_year, period_quarter, town_code"));
    ps->setInt64(1, after_id);
    std::unique_ptr<::sql::ResultSet> rs(ps->executeQuery());
    while (rs->next()) {
      out.push_back({Str(rs->getString(1)), Period{rs->getInt(2), rs->getInt(3)}, Str(rs->getString(4)),
                     rs->getInt64(5), rs->getInt64(6), rs->getInt64(7)});
    }
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return out;
}

}  // namespace minyi::sql
