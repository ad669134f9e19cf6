// The small interfaces through which components meet the store. Collectors write through
// ResponseSink; the aggregator reads through ResponseSource and PopulationSource and writes through
// IndexSink; dashboards and exports read through IndexSource. The SQL stores in sql/ implement all of
// them; executables wire a concrete store into a component.
//
// Thread safety: every implementation in this project is safe to call from several threads at once.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "core/response.h"
#include "core/status.h"

namespace minyi {

// ---------------------------------------------------------------------------------------------
// Responses in

enum class AppendOutcome {
  kStored,     // newly stored; response_id is the new id
  kDuplicate,  // (channel, source_ref) already stored with the same content hash; response_id is that row
  kConflict,   // (channel, source_ref) already stored with a different content hash; response_id is that row
};
std::string_view AppendOutcomeName(AppendOutcome outcome);  // "stored", "duplicate", "conflict"

struct AppendResult {
  AppendOutcome outcome = AppendOutcome::kStored;
  std::int64_t response_id = 0;
};

class ResponseSink {
 public:
  virtual ~ResponseSink() = default;

  // Appends a batch in one transaction. Idempotency is enforced by a unique key on
  // (channel, source_ref) in the database itself, not by check-then-insert.
  //
  // On OK, `results` holds one entry per input, in order, and every kStored row is durably
  // committed (fsync'ed per the backend's durability setting) before this returns. On a non-OK
  // status nothing of the batch is committed (kUnavailable: the database failed; kInvalidInput: a
  // response lacks a required field — callers validate against the survey definition first).
  // Duplicates and conflicts are outcomes, not errors: they never fail the batch.
  virtual Status Append(const std::vector<Response>& batch, std::vector<AppendResult>* results) = 0;

  // Append with the content hashes already computed by the caller: hashes[i] must equal
  // batch[i].ContentHash() (kInvalidInput when the sizes differ). Lets a caller hash on its own
  // threads, off a single writer's critical path (collector/group_commit.h). Same contract as
  // Append otherwise. The default ignores `hashes` and calls Append.
  virtual Status AppendHashed(const std::vector<Response>& batch, const std::vector<std::string>& hashes,
                              std::vector<AppendResult>* results) {
    if (hashes.size() != batch.size()) return Status::InvalidInput("AppendHashed: one hash per response expected");
    return Append(batch, results);
  }
};

// ---------------------------------------------------------------------------------------------
// Responses out

struct ResponseQuery {
  std::string survey_id;                // required
  std::optional<Period> period;         // all periods when empty
  std::optional<std::string> town_code; // all towns when empty
  bool include_raw_payload = false;     // raw payloads are large; skip them unless needed
  // false: submitted_at_ms, received_at_ms and source_ref are not read (0, 0 and ""), for a reader that
  // never prints them (the live microdata export). A content hash needs them.
  bool include_provenance = true;
};

// What ResponseSource::MeasureScan counts.
struct ScanMeasure {
  std::int64_t responses = 0;  // responses the query selects
  std::int64_t max_id = 0;     // the highest of their ids (0: none)
};

// One answer value as ResponseSource::MeasureScan lends it (views valid during the visit only).
struct ScanValue {
  std::int64_t response_id = 0;
  std::string_view town_code;
  std::string_view question;
  std::string_view value;
};

struct ResponseCount {
  std::string survey_id;
  Period period;
  Channel channel = Channel::kImport;
  std::int64_t count = 0;
};

class ResponseSource {
 public:
  virtual ~ResponseSource() = default;

  // Calls `visit` for every stored response matching `query`, ordered by (period, town, id),
  // streaming (constant memory). Stops early, returning OK, when `visit` returns false. The response
  // is the scan's own copy, discarded after the call: `visit` may move from it (an export keeping a
  // town's responses takes them without copying their answers).
  virtual Status Scan(const ResponseQuery& query, const std::function<bool(Response&)>& visit) = 0;

  // Scan's responses as views (core/response.h), valid during the call only: the same responses in the
  // same order, without materialising each one. This default goes through Scan; a store may read its
  // pages straight into reused buffers instead (the SQLite store does).
  virtual Status ScanViews(const ResponseQuery& query,
                           const std::function<bool(const ResponseView&)>& visit) {
    std::vector<AnswerView> answers;
    return Scan(query, [&](Response& r) { return visit(ViewOf(r, &answers)); });
  }

  // What a file that declares its size before its rows (.sav, .dta) must know before the one Scan that
  // writes them: the number of responses `query` selects and their highest id; then it visits every
  // value of `questions` of those responses up to that id, in Scan's order (each question's values in
  // their order). Stops visiting, returning OK, when `visit` returns false. This default reads one
  // ScanViews; the SQL stores count with an aggregate and read only those questions' answers.
  virtual Result<ScanMeasure> MeasureScan(const ResponseQuery& query, const std::vector<std::string>& questions,
                                          const std::function<bool(const ScanValue&)>& visit) {
    ScanMeasure out;
    bool visiting = true;
    MINYI_RETURN_IF_ERROR(ScanViews(query, [&](const ResponseView& r) {
      ++out.responses;
      out.max_id = std::max(out.max_id, r.id);
      for (std::size_t i = 0; visiting && i < r.answer_count; ++i) {
        const AnswerView& a = r.answers[i];
        if (std::find(questions.begin(), questions.end(), a.question) == questions.end()) continue;
        visiting = visit(ScanValue{r.id, r.town_code, a.question, a.value});
      }
      return true;
    }));
    return out;
  }

  // Stored responses per survey, period and channel, ordered by those keys.
  virtual Result<std::vector<ResponseCount>> CountResponses() = 0;
};

// ---------------------------------------------------------------------------------------------
// Population margins (census or registry figures supplied by the user; docs/methodology.md §3.1)

// One margin cell. sex and age_band empty: the town total. sex set, age_band empty: a town × sex
// cell. sex empty, age_band set: a town × age-band cell. Codes are the option codes of the reserved
// demographic questions `sex` and `age_band`.
struct PopulationCell {
  int year = 0;
  std::string town_code;
  std::string sex;
  std::string age_band;
  double population = 0;
};

class PopulationSource {
 public:
  virtual ~PopulationSource() = default;
  // All cells of a year, ordered by (town, sex, age_band).
  virtual Result<std::vector<PopulationCell>> LoadPopulation(int year) = 0;
  // A short fingerprint of the year's margins (hash of the cells), recorded with computed figures.
  virtual Result<std::string> PopulationVersion(int year) = 0;
};

class PopulationSink {
 public:
  virtual ~PopulationSink() = default;
  // Inserts or replaces the given cells (keyed by year, town, sex, age_band) in one transaction.
  virtual Status UpsertPopulation(const std::vector<PopulationCell>& cells) = 0;
};

// ---------------------------------------------------------------------------------------------
// Computed indices

// One computed figure: an index for one area and period (docs/methodology.md §4). Doubles that are not
// defined (an SE of an empty domain, a deff with N̂ < n) are NaN and stored as NULL.
struct IndexRow {
  std::string survey_id;
  Period period;
  std::string level;  // "town", "county", "city", "province"
  std::string area_code;
  std::string index_id;
  std::int64_t n = 0;
  double n_eff = 0;
  double sum_w = 0;
  double estimate = 0;
  double se = 0;
  double ci_low = 0;
  double ci_high = 0;
  std::string ci_method;  // "logit", "exact-neff", "none"
  double score = 0;
  double score_se = 0;
  double score_ci_low = 0;
  double score_ci_high = 0;
  double deff = 0;
  bool low_n = false;
  std::string weighting;  // "poststrat", "raking", "fallback", "mixed" (roll-ups)
  double change = 0;       // vs the previous period; NaN when there is none
  double change_se = 0;
  bool change_significant = false;
  std::string definition_version;
  std::string population_version;
  std::int64_t response_count = 0;
  std::string response_hash;
  std::string code_version;
  std::int64_t computed_at_ms = 0;
  // The model-based figure of a town row (issue 14: a Fay–Herriot EBLUP fitted per index and period over
  // the towns, docs/small_area.md; aggregator/town_model.h): the share, its MSE-based SE and 95% interval,
  // and the method ("eblup", "synthetic", "direct" — the model is not used for this index and period, the
  // direct share and SE are repeated, no interval — or "none"). Other levels, indices without a share and
  // rows computed before migration 012 have NaN and "".
  double model_estimate = std::numeric_limits<double>::quiet_NaN();
  double model_se = std::numeric_limits<double>::quiet_NaN();
  double model_ci_low = std::numeric_limits<double>::quiet_NaN();
  double model_ci_high = std::numeric_limits<double>::quiet_NaN();
  std::string model_method;
};

struct IndexQuery {
  std::string survey_id;                 // required
  std::optional<Period> period;
  std::optional<std::string> level;
  std::optional<std::string> area_code;
  std::optional<std::string> index_id;
};

class IndexSink {
 public:
  virtual ~IndexSink() = default;
  // Replaces every row of (survey, period, level, area, index) present in `rows`, in one transaction.
  virtual Status WriteIndexRows(const std::vector<IndexRow>& rows) = 0;
};

class IndexSource {
 public:
  virtual ~IndexSource() = default;
  // Rows matching the query, ordered by (period, level, area, index).
  virtual Result<std::vector<IndexRow>> ReadIndexRows(const IndexQuery& query) = 0;
};

}  // namespace minyi
