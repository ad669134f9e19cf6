// The SMS channel's persistent state (collector/sms): inbound messages (the dedupe ledger), one
// conversation per phone number per survey and period, the outbox, the suppression (opt-out) list
// and invitation rosters. Implemented over the SQL stores by sql/sms_store.h (migration 004).
//
// Phone numbers never appear in plaintext here: `phone_key` is the keyed hash (HMAC-SHA256 of the
// E.164 number, the respondent key) and `phone_enc` the number encrypted by the collector
// (libsodium secretbox); the store only keeps and returns the ciphertext.
//
// Thread safety: implementations are safe to call from several threads at once.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/lease_ports.h"
#include "core/response.h"
#include "core/status.h"

namespace minyi {

// One inbound SMS (a reply), as received from a gateway.
struct SmsInbound {
  std::int64_t id = 0;            // assigned by the store
  std::string provider;           // "aliyun", "tencent", "twilio", "huawei", "generic", "import"
  std::string message_ref;        // the gateway's id, or a hash of (phone, time, text); unique per provider
  std::string phone_key;          // keyed hash of the sender's E.164 number
  std::string text;               // the reply text (phone numbers inside it masked)
  std::int64_t sent_at_ms = 0;    // the gateway's timestamp (UTC ms), 0 when unknown
  std::int64_t received_at_ms = 0;
  // "received" (stored, not yet processed), "answered", "unparsed", "reasked", "optout",
  // "no_conversation", "closed" (arrived after the conversation ended), "comment" (attached to the
  // response of a completed conversation as its comment).
  std::string status = "received";
  std::string detail;             // the parse result or the reason
  std::string survey_id;          // the conversation's survey, empty when none
  Period period;                  // the conversation's period (year 0 when none)
  std::int64_t conversation_id = 0;
};

enum class SmsConversationState { kOpen, kComplete, kExpired, kOptedOut, kClosed };

// "open", "complete", "expired", "optout", "closed".
inline std::string_view SmsConversationStateName(SmsConversationState s) {
  switch (s) {
    case SmsConversationState::kOpen: return "open";
    case SmsConversationState::kComplete: return "complete";
    case SmsConversationState::kExpired: return "expired";
    case SmsConversationState::kOptedOut: return "optout";
    case SmsConversationState::kClosed: return "closed";
  }
  return "open";
}

inline std::optional<SmsConversationState> ParseSmsConversationState(std::string_view name) {
  for (auto s : {SmsConversationState::kOpen, SmsConversationState::kComplete, SmsConversationState::kExpired,
                 SmsConversationState::kOptedOut, SmsConversationState::kClosed}) {
    if (SmsConversationStateName(s) == name) return s;
  }
  return std::nullopt;
}

struct SmsConversation {
  std::int64_t id = 0;
  std::string survey_id;
  Period period;
  std::string phone_key;
  std::string phone_enc;          // ciphertext; empty once purged
  std::string town_code;          // 9 digits once known; empty while the town question is pending
  std::string county_code;        // from the roster, for the town question (may be empty)
  SmsConversationState state = SmsConversationState::kOpen;
  int step = 0;                   // index into the conversation's question sequence
  int reasks = 0;                 // re-asks sent for the current step
  int unparsed = 0;               // replies kept as unparsed in this conversation
  std::string answers_json;       // Answers so far, as a JSON object {"q": ["v", ...]}
  std::int64_t started_at_ms = 0;
  std::int64_t updated_at_ms = 0;
  std::int64_t expires_at_ms = 0;
};

enum class SmsOutboxStatus { kPending, kSent, kFailed };

// "pending", "sent", "failed".
inline std::string_view SmsOutboxStatusName(SmsOutboxStatus s) {
  switch (s) {
    case SmsOutboxStatus::kPending: return "pending";
    case SmsOutboxStatus::kSent: return "sent";
    case SmsOutboxStatus::kFailed: return "failed";
  }
  return "pending";
}

inline std::optional<SmsOutboxStatus> ParseSmsOutboxStatus(std::string_view name) {
  for (auto s : {SmsOutboxStatus::kPending, SmsOutboxStatus::kSent, SmsOutboxStatus::kFailed}) {
    if (SmsOutboxStatusName(s) == name) return s;
  }
  return std::nullopt;
}

struct SmsOutboxMessage {
  std::int64_t id = 0;
  std::int64_t conversation_id = 0;  // 0 when not part of a conversation
  std::string survey_id;             // for purging; may be empty
  std::string phone_key;
  std::string phone_enc;             // ciphertext
  std::string body;                  // one segment (<= 70 UCS-2 code units)
  SmsOutboxStatus status = SmsOutboxStatus::kPending;
  int attempts = 0;
  std::int64_t created_at_ms = 0;
  std::int64_t next_attempt_at_ms = 0;
  std::int64_t sent_at_ms = 0;
  std::string gateway_ref;
  std::string last_error;
};

struct SmsRosterEntry {
  std::string survey_id;
  std::string phone_key;
  std::string phone_enc;
  std::string area_code;  // a 9-digit town, or a 6-digit county (the town is then asked)
  std::int64_t imported_at_ms = 0;
};

// Inbound messages per survey, period and status (for the officials' counts of unparsed replies).
struct SmsInboundCount {
  std::string survey_id;
  Period period;
  std::string status;
  std::int64_t count = 0;
};

struct SmsPurgeCounts {
  std::int64_t roster_rows = 0;
  std::int64_t outbox_rows = 0;
  std::int64_t conversations = 0;  // conversations whose phone ciphertext was erased
};

class SmsTransaction;

class SmsStore {
 public:
  virtual ~SmsStore() = default;

  // Runs `fn` in one transaction, committed (one fsync) when it returns OK and rolled back otherwise:
  // every call on the SmsTransaction it is given joins that transaction, so many messages' work can
  // share one commit (collector/sms/sms_service.h). `fn` may run more than once (a retryable failure,
  // e.g. a Galera certification conflict, rolled the attempt back): it sets its outputs afresh each time.
  // On an SmsTransaction itself, `fn` joins the open transaction.
  virtual Status InTransaction(const std::string& what, const std::function<Status(SmsTransaction&)>& fn) = 0;

  // Records an inbound message unless (provider, message_ref) is already stored (a UNIQUE key in the
  // database). Returns the stored row: the new one (*inserted = true) or the existing one.
  virtual Result<SmsInbound> InsertInbound(const SmsInbound& message, bool* inserted) = 0;
  // The stored inbound message (provider, message_ref), if any.
  virtual Result<std::optional<SmsInbound>> FindInbound(const std::string& provider,
                                                        const std::string& message_ref) = 0;
  // Sets status, detail, survey, period and conversation of a stored inbound message.
  virtual Status UpdateInbound(const SmsInbound& message) = 0;
  virtual Result<std::vector<SmsInboundCount>> CountInbound() = 0;

  // The most recently updated open conversation of a phone, if any.
  virtual Result<std::optional<SmsConversation>> FindOpenConversation(const std::string& phone_key) = 0;
  // The conversation of a phone that started last, whatever its state, if any.
  virtual Result<std::optional<SmsConversation>> FindLatestConversation(const std::string& phone_key) = 0;
  virtual Result<std::optional<SmsConversation>> FindConversation(const std::string& survey_id, const Period& period,
                                                                  const std::string& phone_key) = 0;
  // Creates a conversation; kConflict when (survey, period, phone_key) already has one. Returns its id.
  virtual Result<std::int64_t> CreateConversation(const SmsConversation& conversation) = 0;
  virtual Status UpdateConversation(const SmsConversation& conversation) = 0;
  // Records what handling one inbound message did, in one transaction, so that two servers handling
  // the same message or two messages of one phone at once never both take effect (issue 15):
  //  - `after` (when given) replaces the conversation, but only while the stored one is still
  //    `before` (the same state, step, re-asks, unparsed count, answers and update time);
  //  - `queue` is appended to the outbox;
  //  - `outcome` with id 0 is inserted with its final status (one write, not an insert and an update),
  //    but only while (provider, message_ref) is not stored yet; with an id (a row stored "received" by
  //    InsertInbound) its status, detail, survey, period and conversation are set, but only while that row
  //    is still "received" (not yet handled).
  // kConflict, with nothing written, when a condition fails: read again and handle again.
  // `after` must differ from `before` (MySQL counts only changed rows).
  virtual Status RecordInbound(const SmsInbound& outcome, const SmsConversation* before, const SmsConversation* after,
                               const std::vector<SmsOutboxMessage>& queue) = 0;
  // Open conversations whose expiry is at or before now_ms, at most `limit`, sorted by expiry (not
  // necessarily the oldest of all when more are due: close them and call again until none is left).
  virtual Result<std::vector<SmsConversation>> ExpiredConversations(std::int64_t now_ms, int limit) = 0;

  // Appends messages to the outbox (status pending) in one transaction.
  virtual Status EnqueueOutbox(const std::vector<SmsOutboxMessage>& messages) = 0;
  // Pending messages due at now_ms, in id order, at most `limit`.
  virtual Result<std::vector<SmsOutboxMessage>> DueOutbox(std::int64_t now_ms, int limit) = 0;
  // Claims a due message for one delivery attempt, so that it is sent by one sender only: moves its
  // next attempt to claim_until_ms (after which an unfinished claim, e.g. of a sender that died, may be
  // claimed again), only when it is still pending with the attempts and next attempt it was read with
  // (no other sender claimed it since) and — with a fence — only while that lease is held with that
  // fencing token, checked by the same statement. True when claimed: the caller sends it, then records
  // the attempt with UpdateOutbox.
  virtual Result<bool> ClaimOutbox(const SmsOutboxMessage& message, std::int64_t claim_until_ms,
                                   const LeaseFence* fence) = 0;
  // Records a delivery attempt: status, attempts, next_attempt_at_ms, sent_at_ms, gateway_ref, last_error.
  virtual Status UpdateOutbox(const SmsOutboxMessage& message) = 0;
  // Counts of outbox rows by status name.
  virtual Result<std::vector<std::pair<std::string, std::int64_t>>> CountOutbox() = 0;

  // The suppression list: numbers that opted out are never messaged again.
  virtual Status AddSuppression(const std::string& phone_key, std::int64_t at_ms, const std::string& reason) = 0;
  virtual Result<bool> IsSuppressed(const std::string& phone_key) = 0;

  // Inserts or replaces roster entries (keyed by survey and phone_key) in one transaction.
  virtual Status UpsertRoster(const std::vector<SmsRosterEntry>& entries) = 0;
  virtual Result<std::optional<SmsRosterEntry>> FindRosterEntry(const std::string& survey_id,
                                                                const std::string& phone_key) = 0;
  // Entries of a survey whose area code starts with `area_prefix` (all when empty), by phone_key.
  virtual Result<std::vector<SmsRosterEntry>> RosterEntries(const std::string& survey_id,
                                                            const std::string& area_prefix) = 0;

  // Deletes the survey's roster and outbox rows and erases the phone ciphertext of its conversations
  // (retention: the survey has closed). Keyed hashes, answers and counts stay.
  virtual Result<SmsPurgeCounts> PurgeSurvey(const std::string& survey_id) = 0;
  // Deletes sent or failed outbox rows created before `before_ms` and erases the phone ciphertext of
  // conversations that ended (not open) before it.
  virtual Result<SmsPurgeCounts> PurgeBefore(std::int64_t before_ms) = 0;
};

// The SmsStore of one open transaction (SmsStore::InTransaction): its calls run in that transaction.
class SmsTransaction : public SmsStore {
 public:
  // Runs `step` in the transaction so that, when it returns an error, its writes are undone (a
  // savepoint) and the transaction's other work is kept. Returns the step's status.
  virtual Status Isolated(const std::function<Status()>& step) = 0;
  // Runs `step` in the transaction without a savepoint, which Isolated costs (two statements, and a copy
  // of every page the step changes, spilled to a temporary file past 64 KiB). Returns the step's status
  // and sets `*wrote` to whether the step began to write: a failed step that did cannot be undone alone
  // (the caller rolls the whole transaction back); one that did not left nothing to undo.
  virtual Status Unguarded(const std::function<Status()>& step, bool* wrote) = 0;
};

}  // namespace minyi
