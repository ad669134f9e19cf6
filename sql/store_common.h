// Internal to minyi::sql: what both store backends share — input validation (so both reject the
// same inputs, whatever their column types would do), NaN <-> NULL, the population fingerprint and
// the keyset paging used by Scan.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/ports.h"
#include "core/response.h"
#include "core/revisions.h"
#include "core/status.h"

namespace minyi::sql::internal {

// Column limits shared by both schemas (characters, as MySQL VARCHAR counts them).
inline constexpr std::size_t kMaxSurveyIdChars = 64;
inline constexpr std::size_t kMaxKeyChars = 191;  // source_ref, respondent_key, meta key
inline constexpr std::size_t kMaxQuestionCodeChars = 64;
inline constexpr std::size_t kMaxDemographicChars = 16;  // sex, age_band, level, area_code

// Number of Unicode code points in UTF-8 text (continuation bytes are not counted).
std::size_t Utf8Length(std::string_view s);

// kInvalidInput naming the batch position and the field when a response misses a required field
// or exceeds a column limit.
Status ValidateResponse(const Response& r, std::size_t position);
Status ValidateBatch(const std::vector<Response>& batch);
Status ValidatePopulation(const std::vector<PopulationCell>& cells);
Status ValidateIndexRows(const std::vector<IndexRow>& rows);
Status ValidateMetaKey(const std::string& key);

// True when a double is stored (finite); NaN and infinities are stored as NULL and read back as NaN.
bool StoredAsValue(double v);

// The fingerprint of a year's cells as returned by LoadPopulation (ordered): the first 16 hex
// digits of SHA-256 over a canonical text. "" when there are no cells.
std::string PopulationFingerprint(const std::vector<PopulationCell>& cells);

// The columns of index_results, in IndexRow order (both dialects bind and read them in this order).
inline constexpr const char* kIndexColumns =
    "survey_id, period_year, period_quarter, level, area_code, index_id, n, n_eff, sum_w, estimate, se,"
    " ci_low, ci_high, ci_method, score, score_se, score_ci_low, score_ci_high, deff, low_n, weighting,"
    " change_value, change_se, change_significant, definition_version, population_version, response_count,"
    " response_hash, code_version, computed_at_ms, model_estimate, model_se, model_ci_low, model_ci_high,"
    " model_method";

// How many columns kIndexColumns names (one more than its commas), so the INSERTs' placeholders follow it.
constexpr int CountColumns(const char* list) {
  int n = 1;
  for (const char* c = list; *c != '\0'; ++c) n += *c == ',' ? 1 : 0;
  return n;
}
inline constexpr int kIndexColumnCount = CountColumns(kIndexColumns);
static_assert(kIndexColumnCount == 35, "IndexRow's binds in both stores follow kIndexColumns");

// An API key's survey scope as stored: sorted, unique, comma-separated ids — and back.
std::string JoinSurveys(std::vector<std::string> surveys);
std::vector<std::string> SplitSurveys(const std::string& text);

// Revisable responses (core/revisions.h): what a slot holds when a new version arrives, and the
// decision both backends apply.
struct SlotState {
  bool has_current = false;
  std::int64_t current_id = 0;
  std::string current_hash;
  std::int64_t current_submitted_at_ms = 0;
  std::string current_town;
  bool hash_in_log = false;  // the incoming content hash is already in the slot's log
};
// The outcome (and refusal) for `incoming`, whose content hash is `incoming_hash`; response_id is the
// slot's current id.
ReviseResult DecideRevision(const SlotState& slot, const std::string& incoming_hash, const Response& incoming,
                            const RevisePolicy& policy);
// The slots of an answer (core/revisions.h IsSlotOfAnswer) are `answer_ref` and the refs between
// these bounds (inclusive, binary order) that IsSlotOfAnswer accepts: the store reads the range, an
// index range scan in both dialects, and filters.
std::pair<std::string, std::string> TownSlotRange(std::string_view answer_ref);
// Withdraw's outcome over an answer's slots, from each slot's outcome.
WithdrawOutcome CombineWithdrawals(const std::vector<WithdrawOutcome>& outcomes);

// The columns of a revision log row after its id, in RevisionRecord order.
inline constexpr const char* kRevisionColumns =
    "action, response_id, content_hash, survey_id, period_year, period_quarter, town_code, answers_json,"
    " submitted_at_ms, recorded_at_ms, reason, raw_payload";
inline constexpr const char* kInsertRevisionColumns =
    "channel, source_ref, action, response_id, content_hash, survey_id, period_year, period_quarter, "
    "town_code,"
    " respondent_key, weight, completion, answers_json, submitted_at_ms, received_at_ms, recorded_at_ms, "
    "reason,"
    " raw_payload";
inline constexpr std::size_t kMaxReasonChars = 255;
// kInvalidInput when a revision reason is longer than kMaxReasonChars.
Status ValidateRevisionReason(std::string_view reason);
// The common start of StoreRevisions: checks `results` (cleared), the batch and the reason, and
// returns the batch's content hashes.
Result<std::vector<std::string>> StartRevisions(const std::vector<Response>& batch, std::string_view reason,
                                                std::vector<ReviseResult>* results);

// Responses fetched per page by Scan. A page is loaded, then visited with no lock held, so memory
// is bounded by one page whatever the number of rows.
inline constexpr int kScanPageSize = 512;
// Responses per page of ResponseSource::MeasureScan's answers (sql/scan_measure.cc).
inline constexpr int kMeasurePageSize = 2048;

// The position of a response in Scan order (period, town, id).
struct ScanKey {
  int year = 0;
  int quarter = 0;
  std::string town_code;
  std::int64_t id = 0;
};

}  // namespace minyi::sql::internal
