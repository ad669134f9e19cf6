// ResponseRateQueries over the dialect interface (sql/db.h): web invitation tokens (migration
// 002) joined with the responses stored under them, and SMS conversations (migration 004) with their
// outbox messages and replies (indexed by conversation in migration 008).
#include <algorithm>
#include <cstdlib>
#include <map>

#include "sql/area_scope.h"
#include "sql/collector_counters.h"
#include "sql/db.h"

namespace minyi::sql {
namespace {

using db::Db;
using db::Row;
using db::Tx;
using db::Work;

// Days since 1970-01-01 of a proleptic Gregorian date.
std::int64_t DaysFromCivil(std::int64_t y, int m, int d) {
  y -= m <= 2 ? 1 : 0;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const std::int64_t yoe = y - era * 400;
  const std::int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const std::int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

// [first, end) of a period in UTC ms, periods being calendar years/quarters in UTC+8.
void PeriodRangeMs(const Period& p, std::int64_t* first, std::int64_t* end) {
  constexpr std::int64_t kDay = 86400000;
  constexpr std::int64_t kOffset = 8 * 3600000;
  const int first_month = p.quarter == 0 ? 1 : 3 * (p.quarter - 1) + 1;
  *first = DaysFromCivil(p.year, first_month, 1) * kDay - kOffset;
  if (p.quarter == 0 || p.quarter == 4) {
    *end = DaysFromCivil(p.year + 1, 1, 1) * kDay - kOffset;
  } else {
    *end = DaysFromCivil(p.year, first_month + 3, 1) * kDay - kOffset;
  }
}

class SqlResponseRates final : public ResponseRateQueries {
 public:
  explicit SqlResponseRates(Db& db) : db_(db) {}

  Result<std::vector<InvitationCounts>> CountInvitations(const std::string& survey_id, const std::string& area_code,
                                                         const Period& period, bool include_unplaced) override {
    if (survey_id.empty()) return Status::InvalidInput("survey is required");
    MINYI_RETURN_IF_ERROR(internal::CheckAreaScope(area_code));
    std::int64_t first = 0, end = 0;
    PeriodRangeMs(period, &first, &end);
    const std::int64_t year = period.year;
    const std::int64_t quarter = period.quarter;
    const std::string token_ref = db_.Concat("'token:'", "t.token_hash");
    std::map<std::string, InvitationCounts> by_code;
    auto row_for = [&](const std::string& code) -> InvitationCounts& {
      InvitationCounts& c = by_code[code];
      c.area_code = code;
      return c;
    };
    Status s = db_.InTransaction("count invitations", Work::kIdempotent, [&](Tx& tx) -> Status {
      by_code.clear();  // a retried attempt starts afresh
      auto web = tx.Query(
          "SELECT t.town_code, COUNT(*), COUNT(r.id) FROM invitation_tokens t"
          " LEFT JOIN responses r ON r.channel = 'web' AND r.source_ref = " + token_ref +
          " WHERE t.survey_id = ? AND t.created_at_ms >= ? AND t.created_at_ms < ?"
          " GROUP BY t.town_code",
          {survey_id, first, end});
      if (!web.ok()) return web.status();
      for (const Row& r : web.value()) {
        const std::string code = r.Text(0);
        if (!internal::WithinArea(code, area_code, include_unplaced)) continue;
        InvitationCounts& c = row_for(code);
        c.web_issued += r.Int(1);
        c.web_used += r.Int(2);
      }
      // One row per kind of conversation: where (town, else roster county), state, whether it has
      // answers, and what its outbox and replies show.
      auto sms = tx.Query(
          "SELECT area, state, answered, sent, failed, replied, COUNT(*) FROM ("
          " SELECT CASE WHEN c.town_code <> '' THEN c.town_code ELSE c.county_code END AS area, c.state AS state,"
          "  CASE WHEN c.answers_json <> '{}' THEN 1 ELSE 0 END AS answered,"
          "  CASE WHEN EXISTS (SELECT 1 FROM sms_outbox o WHERE o.conversation_id = c.id AND o.status = 'sent')"
          "   THEN 1 ELSE 0 END AS sent,"
          "  CASE WHEN EXISTS (SELECT 1 FROM sms_outbox o WHERE o.conversation_id = c.id AND o.status = 'failed')"
          "   THEN 1 ELSE 0 END AS failed,"
          "  CASE WHEN EXISTS (SELECT 1 FROM sms_inbound i WHERE i.conversation_id = c.id) THEN 1 ELSE 0 END"
          "   AS replied"
          " FROM sms_conversations c WHERE c.survey_id = ? AND c.period_year = ? AND c.period_quarter = ?"
          ") kinds GROUP BY area, state, answered, sent, failed, replied",
          {survey_id, year, quarter});
      if (!sms.ok()) return sms.status();
      for (const Row& r : sms.value()) {
        const std::string code = r.Text(0);
        if (!internal::WithinArea(code, area_code, include_unplaced)) continue;
        const std::string state = r.Text(1);
        const bool has_answers = r.Int(2) != 0;
        const bool sent = r.Int(3) != 0;
        const bool failed = r.Int(4) != 0;
        const bool replied = r.Int(5) != 0;
        const std::int64_t n = r.Int(6);
        InvitationCounts& c = row_for(code);
        c.sms_invited += n;
        if (sent || replied) {
          c.sms_sent += n;
        } else if (failed) {
          c.sms_failed += n;
        }
        if (replied) c.sms_delivered += n;
        if (state == "complete") c.sms_answered += n;
        if (state == "expired" && has_answers) c.sms_partial += n;
        if (state == "optout") c.sms_opted_out += n;
        if (state == "open") c.sms_open += n;
      }
      auto unparsed = tx.Query(
          "SELECT CASE WHEN c.id IS NULL THEN '' WHEN c.town_code <> '' THEN c.town_code ELSE c.county_code END,"
          " COUNT(*) FROM sms_inbound i LEFT JOIN sms_conversations c ON c.id = i.conversation_id"
          " WHERE i.status = 'unparsed' AND i.survey_id = ? AND i.period_year = ? AND i.period_quarter = ?"
          " GROUP BY CASE WHEN c.id IS NULL THEN '' WHEN c.town_code <> '' THEN c.town_code ELSE c.county_code END",
          {survey_id, year, quarter});
      if (!unparsed.ok()) return unparsed.status();
      for (const Row& r : unparsed.value()) {
        const std::string code = r.Text(0);
        if (!internal::WithinArea(code, area_code, include_unplaced)) continue;
        row_for(code).sms_unparsed += r.Int(1);
      }
      return Status::Ok();
    });
    if (!s.ok()) return s;
    std::vector<InvitationCounts> out;
    out.reserve(by_code.size());
    for (auto& [code, counts] : by_code) out.push_back(std::move(counts));
    return out;
  }

 private:
  Db& db_;
};

}  // namespace

Result<std::unique_ptr<ResponseRateQueries>> OpenResponseRates(Store& store) {
  return std::unique_ptr<ResponseRateQueries>(new SqlResponseRates(store.SqlDb()));
}

}  // namespace minyi::sql
