// The aggregator's compact read path (AnalysisSource): per survey and period, only what the
// estimation needs of each response — its id, town, base weight and the option codes it gave —
// streamed in (town, id) order without building Response objects, plus cheap change detection for
// incremental recomputation.
//
// Why a port of its own: ResponseSource::Scan materialises every response with its maps and strings,
// which is right for exports and audits but an order of magnitude too slow for aggregating millions
// of responses. The SQL stores back this port with a derived table (one row per response, written in
// the same transaction as the response; migration 003); the long-and-narrow `responses` /
// `response_answers` tables stay the source of truth.
//
// The "codes" text of a response (AnalysisCodes): for every answered question, in question-code
// order, the token "<question>=<first value>" (the value at ordinal 0), tokens separated by one
// space. A first value that is not of option-code form ([A-Za-z0-9_+-]{1,32}, conf/README.md) —
// free text, an over-long value — is written as "?", which is not an option code of any question, so
// the aggregator treats it as an unknown code (out of the index's domain, counted in a warning).
//
// Thread safety: implementations are safe to call from several threads at once.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/response.h"
#include "core/status.h"

namespace minyi {

inline constexpr std::size_t kMaxOptionCodeLength = 32;

// True when `value` could be an option code: 1..32 characters of A-Z a-z 0-9 _ + -.
bool IsOptionCodeForm(std::string_view value);

// The codes text of `answers` (see above). Empty when nothing is answered.
std::string AnalysisCodes(const Answers& answers);
// The same text for flattened answers (ResponseView's order), appended to `out` (which may hold other
// text before it: an export keeps a town's codes in one buffer).
void AppendAnalysisCodes(const AnswerView* answers, std::size_t count, std::string* out);

// Calls visit(question, value) for each token of a codes text, in order. Malformed tokens (no '=')
// are skipped.
template <typename Visit>
void ForEachAnalysisCode(std::string_view codes, Visit&& visit) {
  std::size_t pos = 0;
  while (pos < codes.size()) {
    std::size_t end = codes.find(' ', pos);
    if (end == std::string_view::npos) end = codes.size();
    const std::string_view token = codes.substr(pos, end - pos);
    const std::size_t eq = token.find('=');
    if (eq != std::string_view::npos) visit(token.substr(0, eq), token.substr(eq + 1));
    pos = end + 1;
  }
}

// One response as the aggregator sees it. The views are valid only during the visit.
struct AnalysisRow {
  std::int64_t response_id = 0;
  std::string_view town_code;
  double weight = 1;
  std::string_view codes;
};

struct AnalysisQuery {
  std::string survey_id;                 // required
  Period period;                         // required
  std::optional<std::string> town_code;  // one town; every town when empty
  std::int64_t after_response_id = 0;  // with town_code: only responses with a greater id (incremental reads)
};

struct SurveyPeriod {
  std::string survey_id;
  Period period;
  friend bool operator==(const SurveyPeriod& a, const SurveyPeriod& b) {
    return a.survey_id == b.survey_id && a.period == b.period;
  }
};

// Responses of one (survey, period, town): how many, the highest response id among them, and the sum
// of their ids. Count and sum together change with every response added or removed, and with a
// revision that replaces a response inside the town (the replacement has a new id) even when the
// count stays: the live aggregator's reconciliation fingerprint (aggregator/live.h).
struct TownActivity {
  std::string survey_id;
  Period period;
  std::string town_code;
  std::int64_t responses = 0;
  std::int64_t max_response_id = 0;
  std::int64_t response_id_sum = 0;
};

class AnalysisSource {
 public:
  virtual ~AnalysisSource() = default;

  // Calls `visit` for every stored response of the query's survey and period (and town), ordered by
  // (town, response id), streaming: memory does not grow with the period. Stops early, returning OK,
  // when `visit` returns false. One consistent snapshot per call where the backend offers one.
  virtual Status ScanAnalysis(const AnalysisQuery& query,
                              const std::function<bool(const AnalysisRow&)>& visit) = 0;

  // Every (survey, period) that has stored responses, ordered by (survey, period). Cheap: a few
  // index seeks per pair, not a scan.
  virtual Result<std::vector<SurveyPeriod>> AnalysisPeriods() = 0;

  // For every (survey, period, town) with responses whose id is greater than `after_id`: the number
  // of such responses, their highest id and the sum of their ids, ordered by (survey, period, town).
  // after_id = 0 gives the complete per-town counts (a reconciliation; reads one row per response, so
  // it is the costly form; the sum comes from the same index). A small after_id window is cheap (the
  // id is the primary key). A town's ids must sum below 2^63 (SQLite refuses the sum otherwise).
  virtual Result<std::vector<TownActivity>> TownActivitySince(std::int64_t after_id) = 0;
};

}  // namespace minyi
