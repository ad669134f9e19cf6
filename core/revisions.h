// Revisable responses: channels where one respondent has one current answer that a later answer
// replaces (a WeChat group member answering again, a 腾讯问卷 answer.update / answer.delete, a 问卷星
// answer re-submitted). The current version lives in the ordinary response tables, so every reader
// (aggregator, exports, dashboards) sees exactly one response per slot; each replaced, superseded or
// withdrawn version is kept in a revision log for audit, never lost.
//
// A slot is (channel, source_ref): the importer chooses a source_ref that names the respondent and
// the survey period (for example "wechat:<survey>:<period>:<respondent key>"), so one slot holds at
// most one current response. Chat and questionnaire answers name their town too (TownSlot): where an
// answer was stored is part of its identity, so an import into one town never meets another town's
// slot, and a revision never moves a response between towns (kRefused, below).
//
// Thread safety: implementations are safe to call from several threads at once.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/response.h"
#include "core/status.h"

namespace minyi {

enum class ReviseOutcome {
  kStored,     // the slot had no current response: stored as a new response
  kDuplicate,  // this exact content (content hash) is already the slot's current version or in its log
  kRevised,    // the incoming version is newer: it is now current; the old version moved to the log
  kStale,      // the current version is newer: the incoming one is kept in the log only
  kRefused,    // nothing changed, nothing logged: see Refusal
};
// "stored", "duplicate", "revised", "stale", "refused"
std::string_view ReviseOutcomeName(ReviseOutcome outcome);

// Why a version was refused.
enum class Refusal {
  kNone,
  kOtherTown,           // the slot's current version is in another town than the incoming one
  kRevisionNotAllowed,  // the version differs from the slot's current one and the policy forbids revisions
};

struct ReviseResult {
  ReviseOutcome outcome = ReviseOutcome::kStored;
  std::int64_t response_id = 0;      // the slot's current response id after the call (0 when withdrawn)
  Refusal refusal = Refusal::kNone;  // set when outcome is kRefused
};

// What a caller lets StoreRevisions do besides storing new slots and recognising duplicates.
struct RevisePolicy {
  // false: a version that would revise the slot or be logged as stale is kRefused
  // (kRevisionNotAllowed) instead, e.g. an unauthenticated replay of a 问卷星 push.
  bool allow_revisions = true;
};

// The slot of an answer stored for a town: "<answer_ref>@<town_code>". The chat and questionnaire
// importers and the questionnaire endpoints name their slots so (README "WeChat group exports").
std::string TownSlot(std::string_view answer_ref, std::string_view town_code);
// The answer a slot names: `slot` without its "@<9-digit town>" suffix (the slot itself without one).
std::string_view AnswerRefOf(std::string_view slot);
// True when `slot` is `answer_ref` itself or TownSlot(answer_ref, <a 9-digit code>).
inline bool IsSlotOfAnswer(std::string_view slot, std::string_view answer_ref) {
  return AnswerRefOf(slot) == answer_ref;
}

enum class WithdrawOutcome {
  kWithdrawn,    // the current version moved to the log; the slot has no current response
  kNotFound,     // the slot never had a response
  kAlreadyGone,  // the slot's response was withdrawn before
};
std::string_view WithdrawOutcomeName(WithdrawOutcome outcome);  // "withdrawn", "not_found", "already_gone"

// One entry of a slot's revision log, oldest first.
struct RevisionRecord {
  std::int64_t id = 0;           // log id, increasing
  std::string action;            // "revised" (replaced by a newer version), "stale" (arrived after a
                                 // newer one), "withdrawn"
  std::int64_t response_id = 0;  // the response id the version had while current (0 for "stale")
  std::string content_hash;
  std::string survey_id;
  Period period;
  std::string town_code;
  std::string answers_json;  // the version's answers ({"q":["v",...]})
  std::int64_t submitted_at_ms = 0;
  std::int64_t recorded_at_ms = 0;  // when the log entry was written
  std::string reason;               // free text from the caller: "later answer in chat", "answer.update"
  std::string raw_payload;
};

// The survey, period and town of a log entry that changed what counts (a "revised" or "withdrawn"
// version: the response left that town), for incremental aggregation. The version that replaced a
// revised one is an ordinary new response id, seen by AnalysisSource::TownActivitySince.
struct RevisionActivity {
  std::int64_t revision_id = 0;  // the log id
  std::string survey_id;
  Period period;
  std::string town_code;
};

class ResponseReviser {
 public:
  virtual ~ResponseReviser() = default;

  // Stores each response as its slot's version, in one transaction, deciding by content hash and
  // then by submitted time (ties: the incoming version wins, since it arrived later):
  //   no current version and hash never seen in the slot → kStored;
  //   hash equal to the current version or to any logged version → kDuplicate (re-imports add nothing);
  //   submitted_at_ms ≥ the current version's → kRevised: the current version is logged as "revised"
  //     with `reason` and the incoming one becomes current under a NEW response id (so readers that
  //     follow ids learn of it);
  //   otherwise → kStale: logged as "stale", the current version is unchanged.
  // Except that a version whose town differs from the slot's current version's town is kRefused
  // (kOtherTown) whatever its time: a revision never moves a response to another town, so nobody
  // can take over (or learn the answers of) a response outside the towns they may import into. And
  // with policy.allow_revisions false, what would be kRevised or kStale is kRefused
  // (kRevisionNotAllowed). A refused version changes nothing and is not logged.
  // A batch may hold several versions of one slot; they are applied in order.
  // On OK `results` holds one entry per input, durably committed. On error nothing is committed
  // (kUnavailable: database; kInvalidInput: a response lacks a required field).
  virtual Status StoreRevisions(const std::vector<Response>& batch, std::string_view reason,
                                const RevisePolicy& policy, std::vector<ReviseResult>* results) = 0;
  // The same with the default policy (revisions allowed).
  Status StoreRevisions(const std::vector<Response>& batch, std::string_view reason,
                        std::vector<ReviseResult>* results) {
    return StoreRevisions(batch, reason, RevisePolicy{}, results);
  }

  // Withdraws the answer's current responses (a deleted questionnaire answer): the slot
  // `source_ref` and every town slot of it (IsSlotOfAnswer), whose current versions move to the log
  // as "withdrawn" with `reason` and no longer count anywhere. kWithdrawn when any was withdrawn,
  // else kAlreadyGone when one was withdrawn before, else kNotFound. kUnavailable on database failure.
  virtual Result<WithdrawOutcome> Withdraw(Channel channel, std::string_view source_ref,
                                           std::string_view reason) = 0;

  // The slot's log, oldest first (the current version is not in it; read it with ResponseSource).
  virtual Result<std::vector<RevisionRecord>> RevisionLog(Channel channel, std::string_view source_ref) = 0;

  // "revised" and "withdrawn" log entries with id > after_id, ordered by id (cheap: the id is the
  // key); "stale" entries changed nothing that counts and are left out. after_id = 0: all.
  virtual Result<std::vector<RevisionActivity>> RevisionActivitySince(std::int64_t after_id) = 0;
};

}  // namespace minyi
