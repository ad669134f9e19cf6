// The SMS conversation engine: one conversation per phone number per survey and period,
// invitation → question 1 → reply → question 2 → … → thanks, with expiry, one polite re-ask for an
// unparseable reply, opt-out (suppression list) and the town from the roster or from a town-name
// question. Completed conversations are stored as complete responses, expired ones with at least
// one answer as partial responses (through ResponseSink::Append). Outgoing texts go to the outbox;
// collector/sms/sender.h delivers them.
//
// Only the choice questions of a survey are asked over SMS (free text is left to the web form), but a
// message that arrives within SmsServiceOptions::comment_window_ms after the last answer of a
// completed conversation, before another conversation starts for that phone, is attached to the
// stored response as the survey's first free-text question (its comment): a revision of that
// response (ResponseReviser), phone numbers masked. The thanks message says so.
// Numbers in the messages are option positions (1 = first option), as the reply parser reads them.
//
// Group commit (StartGroupCommit, as `minyi serve` runs it): HandleInboundAll queues the messages of
// all webhook requests to one writer thread (collector/group_commit.h, the web ingest's machinery),
// which handles a batch of them in ONE transaction (SmsStore::InTransaction: one commit, one fsync for
// the ledger rows, conversation steps and outbox replies of all) and fulfils every message's outcome
// only after that commit. What needs no conversation state (the phone's key, the masked ledger text, the
// reply's NFKC folding, the opt-out test) is done on the request threads (Prepare); the writer reads the
// conversation, parses, and writes each message's ledger row once, with its final status, beside the
// conversation's step (SmsStore::RecordInbound). A message that fails gets its own error, the others are
// kept: one that fails before writing leaves nothing to undo (SmsTransaction::Unguarded, no savepoint);
// one that fails after it (rare: a conflict with another server) makes the batch run again with a
// savepoint per message (Isolated), which undoes it alone. A message that must write outside the SMS
// tables (the last answer stores the response, a remark revises it) is left out of the batch before it
// writes and handled on its own right after the commit, with every later message of the same phone in
// that batch, in order. A gateway retry of a message id is recognised within a batch and across batches (the
// ledger).
//
// Thread safety: all methods may be called from several threads; inbound handling, invitations and
// expiry are serialized by one mutex (a conversation is read, advanced and written as one step).
#pragma once

#include <cstdint>
#include <functional>
#include <istream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "collector/common/crypto.h"
#include "collector/common/reply_parser.h"
#include "collector/group_commit.h"
#include "collector/sms/phone_privacy.h"
#include "collector/sms/webhook.h"
#include "core/areas.h"
#include "core/ports.h"
#include "core/progress.h"
#include "core/revisions.h"
#include "core/sms_ports.h"
#include "core/survey.h"

namespace minyi::collector::sms {

struct SmsServiceOptions {
  std::int64_t conversation_ttl_ms = 48LL * 3600 * 1000;  // since the last message; then closed as partial
  int max_reasks = 1;                                     // polite re-asks per question
  // A remark within this time after the last answer becomes the response's comment; 0: never.
  std::int64_t comment_window_ms = 24LL * 3600 * 1000;
};

// Splits a text into SMS segments: one segment when it fits 70 UCS-2 units, else parts of at most
// 67 units, cut after a space or punctuation where possible.
std::vector<std::string> SplitSegments(const std::string& text);

// The texts the engine sends (exposed for tests and documentation).
std::string InvitationText(const SurveyDefinition& survey, std::size_t questions);
std::string QuestionText(const Question& q, std::size_t number, std::size_t total);
std::string ReaskText(const Question& q);
std::string TownQuestionText();
std::string ThanksText();
// The thanks when a remark may follow (within `window_hours`, see comment_window_ms).
std::string ThanksInvitingCommentText(std::int64_t window_hours);

class SmsService {
 public:
  struct Deps {
    SmsStore* sms = nullptr;
    ResponseSink* responses = nullptr;
    const SurveyCatalog* surveys = nullptr;
    const AreaRegistry* areas = nullptr;
    const RespondentKeyer* keyer = nullptr;
    const PhoneCipher* cipher = nullptr;
    ResponseReviser* revisions = nullptr;  // for remarks after the last answer; null: not attached
  };
  SmsService(Deps deps, SmsServiceOptions options, std::function<std::int64_t()> clock = NowMillis);
  ~SmsService();  // stops the group commit (everything queued is handled first)

  struct InboundResult {
    bool duplicate = false;  // already handled (a gateway retry): acknowledge, change nothing
    std::string status;  // the ledger status: answered, unparsed, reasked, optout, no_conversation, closed,
                         // comment (a remark attached to a completed conversation's response)
    std::string detail;
  };
  // Handles one message: normalize the phone, record it once (dedupe), then opt-out or advance the
  // sender's open conversation. kInvalidInput when the phone number is not valid (nothing stored);
  // kUnavailable when the store fails (the gateway should retry).
  Result<InboundResult> HandleInbound(const InboundSms& message);

  // Handles the messages through the group commit when it runs (StartGroupCommit), else one by one with
  // HandleInbound: one result per message, in order, each as HandleInbound's. Waits at most the group
  // commit's commit_timeout (then kUnavailable: the outcome is unknown, the gateway retries); a full
  // queue is kResourceExhausted.
  std::vector<Result<InboundResult>> HandleInboundAll(const std::vector<InboundSms>& messages);
  // Starts the group commit of HandleInboundAll (once; before the first call). `options.max_batch`
  // messages per transaction at most.
  void StartGroupCommit(GroupCommitOptions options);
  // Stats of the group commit (zeros when it does not run).
  GroupCommitStats group_commit_stats() const;

  struct InviteReport {
    int queued = 0;       // conversations started
    int suppressed = 0;   // opted out earlier
    int existing = 0;     // already invited for this survey and period
  };
  // Starts a conversation for every roster entry of the survey inside `area_prefix` (a town, county
  // or city code; empty = all) and queues the invitation and first question.
  Result<InviteReport> Invite(const std::string& survey_id, const Period& period, const std::string& area_prefix);

  // Closes conversations idle past the expiry: partial responses for those with a town and at least
  // one answer. Returns the number closed.
  Result<int> ExpireDue();

  struct RosterReport {
    int stored = 0;
    std::vector<std::string> rejected;  // "line 7: ..." (phones masked)
  };
  // Reads a roster CSV (header "phone,town"; town: a 9-digit town code, or a 6-digit county code when
  // the town is to be asked) and stores it encrypted. kInvalidInput when the header is wrong. A number
  // given again later in the file is rejected (the first line is kept).
  Result<RosterReport> ImportRoster(std::istream& csv, const std::string& survey_id);

  struct CsvImportReport {
    int stored = 0;
    int duplicates = 0;
    std::vector<std::string> rejected;  // "line 7: ..."
  };
  // Reads a gateway's CSV export of replies (columns by header: phone/phone_number/mobile/from/手机号码,
  // text/content/body/短信内容, time/send_time/createTime/接收时间, optional
  // id/sequence_id/smsMsgId/MessageSid) and handles every row like a webhook message of `provider`, oldest
  // first. Rows without an id are deduped by a hash of (phone, time, text), like Tencent's webhook.
  // `progress` (may be empty) gets (messages handled, messages in the file) before each message and at the
  // end.
  Result<CsvImportReport> ImportRepliesCsv(std::istream& csv, const std::string& provider,
                                           const ProgressCallback& progress = {});

 private:
  struct Step {
    bool town = false;
    const Question* question = nullptr;
  };
  std::vector<Step> StepsFor(const SurveyDefinition& survey, const SmsConversation& c) const;
  // Queue a text or the conversation's current question: into `into` when given (the caller writes
  // them with the conversation, SmsStore::RecordInbound), else straight to the outbox.
  Status QueueText(const SmsConversation& c, const std::string& text, std::vector<SmsOutboxMessage>* into = nullptr);
  Status QueueStep(const SmsConversation& c, const SurveyDefinition& survey,
                   std::vector<SmsOutboxMessage>* into = nullptr);
  Status StoreResponse(const SmsConversation& c, const SurveyDefinition& survey, Completion completion,
                       std::int64_t submitted_at_ms);
  // Takes `reply` as the reply to conversation `c`'s current step: changes `c` and puts the messages to
  // send into `queue`; the caller records both (RecordInbound).
  Result<InboundResult> Advance(SmsConversation& c, const PreparedReply& reply, std::int64_t sent_at_ms,
                                std::vector<SmsOutboxMessage>* queue, bool* own_transaction);
  // A message of a valid phone with what needs no conversation state, worked out on the caller's thread
  // (Prepare), so that the one writer (mu_, the group commit's thread) only reads, decides and writes.
  struct Pending {
    InboundSms message;
    std::string e164;
    std::string phone_key;
    std::string masked_text;  // the text with phone numbers masked (the ledger's, a remark's)
    PreparedReply reply;      // the text folded for the reply parser
    bool opt_out = false;     // IsOptOut(reply)
  };
  // kInvalidInput (naming the message) when the phone number is not valid.
  Result<Pending> Prepare(const InboundSms& message) const;
  // One attempt at handling a not yet handled inbound message (HandleLocked repeats it when another
  // server changed the conversation or handled the message meanwhile: kConflict). `row`: the ledger row
  // to record with its outcome (id 0: not stored yet, inserted with its final status).
  // `store`: deps_.sms or the open transaction of a batch. `own_transaction` is null on its own; in a
  // batch, set to true (with an error returned) when the message must write outside the SMS tables.
  Result<InboundResult> HandleOnce(SmsStore& store, const Pending& p, SmsInbound row, bool* own_transaction);
  // One message, with mu_ held: looks it up in the ledger (dedupe), then handles it and records it with
  // its outcome. In a batch (`own_transaction` set) a conflict is not retried here: the message is handled
  // on its own after the batch (*own_transaction = true).
  Result<InboundResult> HandleLocked(SmsStore& store, const Pending& p, bool* own_transaction);
  // The group commit's work: one batch in one transaction (see the header comment).
  std::vector<Result<InboundResult>> HandleBatch(std::vector<Pending>& batch);
  const Question* CommentQuestion(const SurveyDefinition& survey) const;
  std::string Thanks(const SurveyDefinition& survey) const;
  Response ResponseOf(const SmsConversation& c, Completion completion, std::int64_t submitted_at_ms) const;
  // A message without an open conversation: attached as the comment of the phone's latest conversation
  // when that one is complete and its last answer is recent (see comment_window_ms); else nullopt.
  // Returns the conversation with the comment in its answers (the caller records it) and sets
  // `*before` to the conversation as read.
  // `masked_text`: the message with phone numbers masked.
  Result<std::optional<SmsConversation>> AttachComment(SmsStore& store, const std::string& phone_key,
                                                       const std::string& masked_text,
                                                       std::int64_t sent_at_ms, InboundResult* result,
                                                       SmsConversation* before, bool* own_transaction);

  Deps deps_;
  SmsServiceOptions options_;
  std::function<std::int64_t()> clock_;
  // The option words of every survey of deps_.surveys, folded once at construction (the catalog does not
  // change once loaded), by survey id; the definition is held so that the words never outlive it.
  struct SurveyReplyWords {
    std::shared_ptr<const SurveyDefinition> survey;
    PreparedSurvey words;
  };
  std::map<std::string, SurveyReplyWords, std::less<>> reply_words_;
  std::mutex mu_;
  std::unique_ptr<GroupCommitQueue<Pending, InboundResult>> group_commit_;  // last: its thread uses the rest
};

// Answers as stored in SmsConversation::answers_json (written with AnswersToJson, core/response.h);
// an unreadable value is logged and read as no answers.
Answers AnswersFromJson(const std::string& json);

}  // namespace minyi::collector::sms
