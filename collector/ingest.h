// The web ingest service: turns submissions (partner JSON, resident page forms) into normalized
// responses and stores them through the group-commit writer.
//
// For every submission it checks, reporting field-level reasons: the survey exists and the
// submitter may use it (API keys are scoped), the period is open (collector.open_periods), the town
// is a known town code (an invitation token may fix it), the token exists and is for this survey,
// and the answers fit the survey definition (SurveyDefinition::ValidateAnswers). It then builds the
// Response (channel web) with its identity:
//   invitation token   source_ref "token:<sha256(token)>"  — one response per token (unique key)
//   partner API        source_ref "api:<key id>:<idempotency_key>" (random when no key is given)
//   public page        source_ref "device:<mac(device, survey, period)>" — one per device and period
// and a respondent key that is a keyed hash (HMAC-SHA256 with the server secret) of the token, the
// partner's respondent id, or the device. Phone numbers are masked in text answers and the raw
// payload before anything is stored.
//
// Repeated page submissions: a page submission is one per device cookie, so a resident who clears
// cookies (or a script that never keeps them) can answer again; only the page rate limit and the two
// optional bounds below stop it (README "Web collector"):
//   invitation-only surveys (IngestOptions::invitation_only): page submissions need a valid token
//     (kInvitationRequired, 403, otherwise); partner API keys are not affected;
//   a per-town cap (IngestOptions::max_web_per_town, with set_town_counts): at most that many web
//     responses per (survey, period, town); a further submission without an invitation token is
//     refused (kTownCapReached, 429) unless its identity is already stored (then it is the duplicate or
//     conflict it is). Invited respondents are never capped: each token admits one response anyway.
// Refusals are counted in the rejection tally ("invitation_required", "town_cap").
//
// Thread-safe: one service is shared by all request threads.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "collector/common/crypto.h"
#include "collector/group_commit.h"
#include "collector/rejection_tally.h"
#include "core/areas.h"
#include "core/dashboard_ports.h"
#include "core/response.h"
#include "core/survey.h"
#include "core/web_ports.h"

namespace minyi::collector {

struct IngestOptions {
  // Periods that accept responses. Empty: the current calendar year in local time (UTC+8).
  std::vector<Period> open_periods;
  int utc_offset_minutes = 480;
  // Survey ids whose resident pages admit invited respondents only (web.invitation_only).
  std::set<std::string> invitation_only;
  // Web responses accepted per (survey, period, town) without an invitation token; 0: no cap
  // (web.max_responses_per_town). Needs set_town_counts.
  std::int64_t max_web_per_town = 0;
};

// Parses "2025, 2025Q2" into periods (kInvalidInput naming the bad item).
Result<std::vector<Period>> ParsePeriodList(std::string_view text);

// Parses "a, b" into survey ids, each one of `surveys` (kInvalidInput naming an unknown one).
Result<std::set<std::string>> ParseSurveyList(std::string_view text, const SurveyCatalog& surveys);

// One submission as received, before validation.
struct Submission {
  std::string survey_id;
  std::optional<Period> period;
  std::string town_code;  // may be empty when an invitation token fixes the town
  Answers answers;
  Completion completion = Completion::kComplete;
  std::string idempotency_key;  // API: the partner's id for this submission
  std::string token;            // invitation token text
  std::string respondent;       // API: the partner's respondent id (e.g. a caller's number); hashed
  std::int64_t submitted_at_ms = 0;  // when the respondent answered; 0 = unknown
  std::string raw_payload;           // the request body (or batch item) as received
};

// Who submits.
struct Submitter {
  enum class Kind { kApiKey, kPage };
  Kind kind = Kind::kPage;
  const ApiKey* api_key = nullptr;  // kApiKey: the authenticated key (scope)
  std::string device_id;            // kPage: the browser's device cookie
};

enum class IngestCode {
  kStored,              // 201
  kDuplicate,           // 200: the same content under the same identity was stored before
  kConflict,            // 409: the identity is taken with different content
  kInvalid,             // 422: field-level reasons in `errors`
  kForbidden,           // 403: the API key is not scoped to the survey
  kInvitationRequired,  // 403: an invitation-only survey, submitted from the page without a token
  kTownCapReached,      // 429: the town's web responses for the period reached the cap
  kBusy,                // 503 + Retry-After: the write queue is full
  kUnavailable,         // 503: the store failed or the server is stopping
};

struct IngestResult {
  IngestCode code = IngestCode::kInvalid;
  std::int64_t response_id = 0;
  std::string source_ref;
  std::vector<FieldError> errors;
  std::string message;

  // 201 stored, 200 duplicate; a refusal answers its Status code's HTTP status as the ingest API reads it
  // (core/http/error_reply.h, ErrorKind::kUnprocessable: an invalid submission is 422).
  int HttpStatus() const;
  // Seconds for Retry-After: busy and unavailable results may be retried (error_reply.h); else 0.
  int RetryAfterSeconds() const;
  std::string_view CodeName() const;  // "stored", "duplicate", "conflict", "invalid", ...
};

class IngestService {
 public:
  // Every reference must outlive the service.
  IngestService(const SurveyCatalog& surveys, const AreaRegistry& areas, WebAccessStore& access,
                GroupCommitWriter& writer, const KeyedHasher& hasher, IngestOptions options);

  const SurveyCatalog& surveys() const { return surveys_; }
  const AreaRegistry& areas() const { return areas_; }
  const KeyedHasher& hasher() const { return hasher_; }

  std::vector<Period> OpenPeriods() const;
  // The period resident pages collect for: the latest open period.
  Period PagePeriod() const;

  // Validates every submission, stores the valid ones together (one group-commit submission) and
  // waits until they are committed. One result per submission, in order.
  std::vector<IngestResult> Submit(const std::vector<Submission>& submissions, const Submitter& who);
  IngestResult SubmitOne(const Submission& submission, const Submitter& who);

  // The invitation for a token text; nullopt when unknown. kUnavailable when the store fails.
  Result<std::optional<InvitationToken>> FindToken(std::string_view token);
  // Whether a response was stored for the invitation.
  Result<bool> TokenUsed(const InvitationToken& invitation);

  // Whether a web response with this source reference is stored.
  Result<bool> AlreadyAnswered(const std::string& source_ref);

  // The identity a page submission would have (so a page can tell "already answered" up front).
  std::string DeviceSourceRef(const std::string& device_id, const std::string& survey_id, const Period& period) const;

  // Rejected submissions (422/403 from Submit, and what CountMalformed reports) are counted into
  // `tally` (channel "api" for API keys, "web" for pages) when set; nullptr turns counting off.
  // Set before serving; the tally must outlive the service.
  void set_rejection_tally(RejectionTally* tally) { tally_ = tally; }
  // A request refused before validation (400: "invalid_json", "malformed").
  void CountMalformed(const Submitter& who, const std::string& reason);
  // A refusal with what is known of it (survey, period, town: kept only when valid), e.g. a page post
  // without the device cookie ("no_device_cookie").
  void CountRefused(const Submitter& who, const std::string& reason, const std::string& survey_id,
                    const Period& period, const std::string& town_code);

  // Whether the survey's pages admit invited respondents only.
  bool InvitationOnly(const std::string& survey_id) const {
    return options_.invitation_only.count(survey_id) > 0;
  }
  // Where the per-town cap reads the web responses already stored (CountByChannel, once per survey,
  // period and town; later ones are counted here). nullptr (the default) turns the cap off. Set
  // before serving; must outlive the service.
  void set_town_counts(DashboardQueries* counts) { town_counts_ = counts; }

 private:
  // Validates and builds; on failure fills `result` and returns nullopt.
  std::optional<Response> Build(const Submission& s, const Submitter& who, std::int64_t now_ms,
                                IngestResult& result);

  const SurveyCatalog& surveys_;
  const AreaRegistry& areas_;
  WebAccessStore& access_;
  GroupCommitWriter& writer_;
  const KeyedHasher& hasher_;
  IngestOptions options_;
  RejectionTally* tally_ = nullptr;

  // Per-town cap: web responses stored or in flight, per (survey, period, town). Bounded by surveys ×
  // open periods × towns: keys are made only for valid submissions.
  using TownKey = std::tuple<std::string, int, int, std::string>;
  // kOk with true: a slot is held (release it unless the response was stored); false: the cap is
  // reached. Store failures are returned.
  Result<bool> ReserveTownSlot(const TownKey& key);
  void ReleaseTownSlot(const TownKey& key);
  DashboardQueries* town_counts_ = nullptr;
  std::mutex town_mu_;
  std::map<TownKey, std::int64_t> town_web_;
};

}  // namespace minyi::collector
