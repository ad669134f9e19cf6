#include "collector/sms/sms_service.h"

#include <Poco/Exception.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <set>
#include <sstream>

#include "collector/response_import.h"
#include "collector/common/reply_parser.h"
#include "core/csv.h"
#include "core/privacy.h"
#include "core/text/unicode_text.h"

namespace minyi::collector::sms {

using text::NfkcFold;
using text::ToUtf32;
using text::ToUtf8;
using text::Utf16Length;
namespace {

constexpr std::size_t kSegment = 70;
constexpr std::size_t kPart = 67;

std::string Trimmed(std::string s) {
  const auto first = s.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return std::string();
  const auto last = s.find_last_not_of(" \t\r\n");
  return s.substr(first, last - first + 1);
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  return s;
}

std::string OptionList(const Question& q) {
  std::string out;
  for (std::size_t i = 0; i < q.options.size(); ++i) {
    if (i > 0) out += ' ';
    out += std::to_string(i + 1) + q.options[i].label;
  }
  return out;
}

std::string CountyOf(const std::string& area) { return area.size() >= 6 ? area.substr(0, 6) : area; }

// In a batch, a message that must write outside the SMS tables (the response store shares the SQLite
// writer, which the batch's transaction holds): undone there and handled on its own after the commit.
Status OnItsOwn(bool* own_transaction) {
  *own_transaction = true;
  return Status::Conflict("handled on its own after the batch");
}

}  // namespace

std::vector<std::string> SplitSegments(const std::string& text) {
  if (Utf16Length(text) <= kSegment) return {text};
  const std::u32string s = ToUtf32(text);
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (start < s.size()) {
    std::size_t units = 0;
    std::size_t end = start;
    std::size_t last_break = 0;  // cut position after a space or punctuation, 0 = none
    while (end < s.size()) {
      const std::size_t w = s[end] >= 0x10000 ? 2 : 1;
      if (units + w > kPart) break;
      units += w;
      const char32_t c = s[end];
      ++end;
      if (c == U' ' || c == U'，' || c == U'。' || c == U'？' || c == U'：' || c == U'！' || c == U',') last_break = end;
    }
    if (end < s.size() && last_break > start + kPart / 2) end = last_break;
    std::string part = Trimmed(ToUtf8(s.substr(start, end - start)));
    if (!part.empty()) parts.push_back(std::move(part));
    start = end;
  }
  return parts;
}

std::string InvitationText(const SurveyDefinition& survey, std::size_t questions) {
  return "【" + survey.title + "】您好！诚邀您参加本次调查，共" + std::to_string(questions) +
         "题，回复选项数字即可，短信免费。回复TD退订。";
}

std::string QuestionText(const Question& q, std::size_t number, std::size_t total) {
  return std::to_string(number) + "/" + std::to_string(total) + " " + q.text + "请回复：" + OptionList(q);
}

std::string ReaskText(const Question& q) {
  return "抱歉，没能看懂您的回复。请回复数字1-" + std::to_string(q.options.size()) + "：" + OptionList(q);
}

std::string TownQuestionText() { return "请回复您所在的乡镇（街道）名称，例如：长西街道。"; }

std::string ThanksText() { return "感谢您的参与！祝您生活愉快。"; }

std::string ThanksInvitingCommentText(std::int64_t window_hours) {
  return "感谢您的参与！如有意见建议，" + std::to_string(window_hours) + "小时内直接回复本短信即可。";
}

Answers AnswersFromJson(const std::string& json) {
  auto answers = ParseAnswersJson(json);
  if (!answers.ok()) {
    spdlog::warn("sms: unreadable stored answers: {}", answers.status().message());
    return {};
  }
  return std::move(answers).value();
}

SmsService::SmsService(Deps deps, SmsServiceOptions options, std::function<std::int64_t()> clock)
    : deps_(deps), options_(options), clock_(std::move(clock)) {
  if (deps_.surveys == nullptr) return;
  for (const auto& survey : deps_.surveys->All()) {
    reply_words_.emplace(survey->id, SurveyReplyWords{survey, PreparedSurvey(*survey)});
  }
}

SmsService::~SmsService() {
  if (group_commit_) group_commit_->Stop();
}

void SmsService::StartGroupCommit(GroupCommitOptions options) {
  if (group_commit_) return;
  group_commit_ = std::make_unique<GroupCommitQueue<Pending, InboundResult>>(
      [this](std::vector<Pending>& batch) { return HandleBatch(batch); }, options);
}

GroupCommitStats SmsService::group_commit_stats() const {
  return group_commit_ ? group_commit_->stats() : GroupCommitStats{};
}

std::vector<Result<SmsService::InboundResult>> SmsService::HandleInboundAll(
    const std::vector<InboundSms>& messages) {
  std::vector<Result<InboundResult>> out;
  out.reserve(messages.size());
  if (!group_commit_) {
    for (const InboundSms& m : messages) out.push_back(HandleInbound(m));
    return out;
  }
  // Phones are checked and keyed, texts masked on the request's thread; only valid messages are queued.
  std::vector<Pending> pending;
  std::vector<std::size_t> slot;  // the index in `out` of each pending message
  for (const InboundSms& m : messages) {
    auto prepared = Prepare(m);
    if (!prepared.ok()) {
      out.push_back(prepared.status());
      continue;
    }
    slot.push_back(out.size());
    out.push_back(Status::Internal("not handled"));
    pending.push_back(std::move(prepared).value());
  }
  if (pending.empty()) return out;
  auto futures = group_commit_->Submit(std::move(pending));
  if (!futures.ok()) {
    for (std::size_t i : slot) out[i] = futures.status();
    return out;
  }
  std::vector<Result<InboundResult>> handled = group_commit_->AwaitAll(*futures);
  for (std::size_t i = 0; i < slot.size(); ++i) out[slot[i]] = std::move(handled[i]);
  return out;
}

std::vector<Result<SmsService::InboundResult>> SmsService::HandleBatch(std::vector<Pending>& batch) {
  std::lock_guard<std::mutex> lock(mu_);
  const std::size_t n = batch.size();
  std::vector<Result<InboundResult>> out;
  std::vector<bool> own;  // handled on its own after the commit
  // First without a savepoint per message (Unguarded: a savepoint costs two statements and a copy of every
  // page the message changes). A message that fails after it began to write (another server changed its
  // conversation meanwhile, a store error) cannot be undone alone: the batch is rolled back and run again
  // with a savepoint per message (Isolated), so that only its own writes are undone.
  bool guarded = false;
  bool rerun = false;
  Status committed;
  do {
    committed = deps_.sms->InTransaction("handle sms batch", [&](SmsTransaction& tx) -> Status {
      rerun = false;
      out.assign(n, Status::Internal("not handled"));  // afresh: a retried attempt starts over
      own.assign(n, false);
      std::set<std::string> own_phones;  // a phone's later messages follow its message handled on its own
      for (std::size_t i = 0; i < n; ++i) {
        const Pending& p = batch[i];
        if (own_phones.count(p.phone_key) > 0) {
          own[i] = true;
          continue;
        }
        bool on_its_own = false;
        bool wrote = false;
        Result<InboundResult> result = Status::Internal("not handled");
        const auto handle = [&]() -> Status {
          result = HandleLocked(tx, p, &on_its_own);
          return result.status();
        };
        const Status step = guarded ? tx.Isolated(handle) : tx.Unguarded(handle, &wrote);
        if (step.ok()) {
          out[i] = std::move(result);
        } else if (wrote && step.code() != StatusCode::kUnavailable) {
          rerun = true;  // its writes cannot be undone alone
          return Status::Conflict("sms batch: a message failed after writing; run again with savepoints");
        } else if (on_its_own) {
          own[i] = true;
          own_phones.insert(p.phone_key);
        } else if (result.ok() || result.status().code() == StatusCode::kUnavailable) {
          return step;  // the savepoint itself or the database failed: the whole batch fails (503, retried)
        } else {
          out[i] = step;  // this message's own error; the others are kept
        }
      }
      return Status::Ok();
    });
    guarded = true;
  } while (rerun);
  for (std::size_t i = 0; i < n; ++i) {
    if (own[i]) {
      out[i] = HandleLocked(*deps_.sms, batch[i], nullptr);
    } else if (!committed.ok()) {
      out[i] = committed;
    }
  }
  return out;
}

std::vector<SmsService::Step> SmsService::StepsFor(const SurveyDefinition& survey, const SmsConversation& c) const {
  std::vector<Step> steps;
  // The town question comes first when the roster gave only a county (county_code is set only
  // then); it stays in the sequence after it is answered so step numbers do not shift.
  if (!c.county_code.empty()) steps.push_back({true, nullptr});
  for (const Question& q : survey.questions) {
    if (q.type != QuestionType::kText) steps.push_back({false, &q});
  }
  return steps;
}

Status SmsService::QueueText(const SmsConversation& c, const std::string& text,
                             std::vector<SmsOutboxMessage>* into) {
  std::vector<SmsOutboxMessage> messages;
  const std::int64_t now = clock_();
  for (const std::string& part : SplitSegments(text)) {
    SmsOutboxMessage m;
    m.conversation_id = c.id;
    m.survey_id = c.survey_id;
    m.phone_key = c.phone_key;
    m.phone_enc = c.phone_enc;
    m.body = part;
    m.created_at_ms = now;
    m.next_attempt_at_ms = now;
    messages.push_back(std::move(m));
  }
  if (into == nullptr) return deps_.sms->EnqueueOutbox(messages);
  into->insert(into->end(), messages.begin(), messages.end());
  return Status::Ok();
}

Status SmsService::QueueStep(const SmsConversation& c, const SurveyDefinition& survey,
                             std::vector<SmsOutboxMessage>* into) {
  const std::vector<Step> steps = StepsFor(survey, c);
  if (c.step < 0 || static_cast<std::size_t>(c.step) >= steps.size()) return QueueText(c, ThanksText(), into);
  const Step& step = steps[static_cast<std::size_t>(c.step)];
  if (step.town) return QueueText(c, TownQuestionText(), into);
  std::size_t number = 0;
  std::size_t total = 0;
  for (std::size_t i = 0; i < steps.size(); ++i) {
    if (steps[i].town) continue;
    ++total;
    if (i <= static_cast<std::size_t>(c.step)) ++number;
  }
  return QueueText(c, QuestionText(*step.question, number, total), into);
}

const Question* SmsService::CommentQuestion(const SurveyDefinition& survey) const {
  if (deps_.revisions == nullptr || options_.comment_window_ms <= 0) return nullptr;
  for (const Question& q : survey.questions) {
    if (q.type == QuestionType::kText) return &q;
  }
  return nullptr;
}

std::string SmsService::Thanks(const SurveyDefinition& survey) const {
  if (CommentQuestion(survey) == nullptr) return ThanksText();
  return ThanksInvitingCommentText(std::max<std::int64_t>(1, options_.comment_window_ms / (3600LL * 1000)));
}

Response SmsService::ResponseOf(const SmsConversation& c, Completion completion,
                                std::int64_t submitted_at_ms) const {
  Response r;
  r.survey_id = c.survey_id;
  r.period = c.period;
  r.town_code = c.town_code;
  r.channel = Channel::kSms;
  r.respondent_key = c.phone_key;
  r.answers = AnswersFromJson(c.answers_json);
  r.completion = completion;
  r.submitted_at_ms = submitted_at_ms;
  r.received_at_ms = clock_();
  r.source_ref = "sms:" + c.survey_id + ":" + c.period.ToString() + ":" + c.phone_key;
  r.raw_payload = "{\"conversation\":" + std::to_string(c.id) + ",\"answers\":" + AnswersToJson(r.answers) + "}";
  return r;
}

Status SmsService::StoreResponse(const SmsConversation& c, const SurveyDefinition& survey,
                                 Completion completion, std::int64_t submitted_at_ms) {
  const Response r = ResponseOf(c, completion, submitted_at_ms);
  const std::vector<FieldError> errors = survey.ValidateAnswers(r.answers, completion);
  if (!errors.empty()) {
    return Status::InvalidInput("conversation " + std::to_string(c.id) + ": " + errors.front().field + ": " +
                                errors.front().reason);
  }
  std::vector<AppendResult> results;
  MINYI_RETURN_IF_ERROR(deps_.responses->Append({r}, &results));
  if (!results.empty() && results.front().outcome == AppendOutcome::kConflict) {
    spdlog::warn("sms: conversation {} conflicts with stored response {}", c.id, results.front().response_id);
  }
  return Status::Ok();
}

Result<SmsService::Pending> SmsService::Prepare(const InboundSms& message) const {
  auto e164 = NormalizePhone(message.from);
  if (!e164.ok()) return e164.status().WithContext("message " + message.provider + ":" + message.message_ref);
  Pending p{message,
            std::move(e164).value(),
            std::string(),
            MaskPhoneNumbers(message.text),
            PrepareReply(message.text),
            false};
  p.phone_key = deps_.keyer->KeyFor(p.e164);
  p.opt_out = IsOptOut(p.reply);
  return p;
}

Result<SmsService::InboundResult> SmsService::HandleInbound(const InboundSms& message) {
  auto prepared = Prepare(message);
  if (!prepared.ok()) return prepared.status();
  std::lock_guard<std::mutex> lock(mu_);
  return HandleLocked(*deps_.sms, *prepared, nullptr);
}

Result<SmsService::InboundResult> SmsService::HandleLocked(SmsStore& store, const Pending& p,
                                                           bool* own_transaction) {
  const InboundSms& message = p.message;
  SmsInbound ledger;
  ledger.provider = message.provider;
  ledger.message_ref = message.message_ref;
  ledger.phone_key = p.phone_key;
  ledger.text = p.masked_text;
  ledger.sent_at_ms = message.sent_at_ms;
  ledger.received_at_ms = clock_();
  // Two servers may handle the same message (a gateway retrying elsewhere) or two messages of one
  // phone at the same moment: RecordInbound writes an outcome only over the state it was computed from
  // (and the ledger row only when no other outcome was recorded), and a conflict is handled again from
  // what the other server wrote. A few rounds settle any real contention (one phone's messages); more
  // means something else is wrong.
  constexpr int kAttempts = 8;
  for (int attempt = 1;; ++attempt) {
    auto stored = store.FindInbound(message.provider, message.message_ref);
    if (!stored.ok()) return stored.status();
    // Handled already (here or on another server): acknowledged again, nothing changes. A row still
    // "received" was stored but not handled (a failure in between, or another server right now).
    if (stored->has_value() && (*stored)->status != "received") {
      return InboundResult{true, (*stored)->status, (*stored)->detail};
    }
    auto handled = HandleOnce(store, p, stored->has_value() ? **stored : ledger, own_transaction);
    if (handled.ok() || handled.status().code() != StatusCode::kConflict || attempt == kAttempts) {
      if (!handled.ok() && own_transaction == nullptr && !stored->has_value()) {
        // Not handled (nothing of it was written): the message itself is kept, "received", as when it was
        // stored before handling; a retry handles it again.
        bool inserted = false;
        if (auto kept = store.InsertInbound(ledger, &inserted); !kept.ok()) {
          spdlog::warn("sms: {} not kept: {}", message.provider + ":" + message.message_ref,
                       kept.status().ToString());
        }
      }
      return handled;
    }
    // In a batch, the message is handled again on its own after the commit, from what was written.
    if (own_transaction != nullptr) return OnItsOwn(own_transaction);
    spdlog::debug("sms: {} handled again: {}", message.provider + ":" + message.message_ref,
                  handled.status().message());
  }
}

Result<SmsService::InboundResult> SmsService::HandleOnce(SmsStore& store, const Pending& p, SmsInbound row,
                                                         bool* own_transaction) {
  const InboundSms& message = p.message;
  const std::string& phone_key = p.phone_key;
  const std::int64_t now = clock_();
  InboundResult result;
  std::optional<SmsConversation> before, after;
  std::vector<SmsOutboxMessage> queue;
  auto open = store.FindOpenConversation(phone_key);
  if (!open.ok()) return open.status();
  if (p.opt_out) {
    MINYI_RETURN_IF_ERROR(store.AddSuppression(phone_key, now, "reply"));
    result.status = "optout";
    if (open->has_value()) {
      before = **open;
      after = **open;
      after->state = SmsConversationState::kOptedOut;
      after->updated_at_ms = now;
    }
    spdlog::info("sms: {} opted out", MaskPhone(p.e164));
  } else if (!open->has_value()) {
    SmsConversation read;
    auto attached =
        AttachComment(store, phone_key, p.masked_text, message.sent_at_ms != 0 ? message.sent_at_ms : now,
                      &result, &read, own_transaction);
    if (!attached.ok()) return attached.status();
    if (attached->has_value()) {
      // The same remark again leaves the answers as they were: nothing to write to the conversation.
      if ((*attached)->answers_json != read.answers_json) {
        before = read;
        after = **attached;
      }
      row.conversation_id = (*attached)->id;
      row.survey_id = (*attached)->survey_id;
      row.period = (*attached)->period;
    } else {
      result.status = "no_conversation";
    }
  } else {
    before = **open;
    after = **open;
    auto advanced =
        Advance(*after, p.reply, message.sent_at_ms != 0 ? message.sent_at_ms : now, &queue, own_transaction);
    if (!advanced.ok()) return advanced.status();
    result = *advanced;
    row.conversation_id = after->id;
    row.survey_id = after->survey_id;
    row.period = after->period;
  }
  // RecordInbound needs a change it can see (MySQL counts changed rows only): a second message in
  // the same millisecond that changes nothing else still moves the update time.
  if (after.has_value() && after->updated_at_ms <= before->updated_at_ms &&
      after->answers_json == before->answers_json) {
    after->updated_at_ms = before->updated_at_ms + 1;
  }
  row.status = result.status;
  row.detail = result.detail;
  MINYI_RETURN_IF_ERROR(
      store.RecordInbound(row, before ? &*before : nullptr, after ? &*after : nullptr, queue));
  return result;
}

Result<SmsService::InboundResult> SmsService::Advance(SmsConversation& c, const PreparedReply& reply,
                                                      std::int64_t sent_at_ms,
                                                      std::vector<SmsOutboxMessage>* queue,
                                                      bool* own_transaction) {
  const std::int64_t now = clock_();
  auto survey = deps_.surveys->Find(c.survey_id);
  if (survey == nullptr) return Status::NotFound("survey '" + c.survey_id + "' of an SMS conversation is not loaded");
  const std::vector<Step> steps = StepsFor(*survey, c);
  InboundResult result;
  c.updated_at_ms = now;
  c.expires_at_ms = now + options_.conversation_ttl_ms;
  if (c.step < 0 || static_cast<std::size_t>(c.step) >= steps.size()) {
    result.status = "closed";
    return result;
  }
  const Step& step = steps[static_cast<std::size_t>(c.step)];
  bool understood = false;
  std::string reask;
  if (step.town) {
    // The town question: a town name within the roster's county (with or without 镇/街道/乡).
    const std::string name = Trimmed(NfkcFold(reply.text));
    std::vector<const Area*> found;
    for (const std::string& candidate : {name, name + "街道", name + "镇", name + "乡"}) {
      if (candidate.empty()) continue;
      found = deps_.areas->FindTownsByName(candidate, c.county_code);
      if (!found.empty()) break;
    }
    if (found.size() == 1) {
      c.town_code = found.front()->code;
      understood = true;
      result.detail = "town=" + c.town_code;
    } else {
      result.detail = found.empty() ? "no town of that name in county " + c.county_code : "town name is ambiguous";
      reask = "抱歉，没有找到这个乡镇（街道）。" + TownQuestionText();
    }
    if (understood) ++c.step;
  } else {
    std::vector<const Question*> pending;
    for (std::size_t i = static_cast<std::size_t>(c.step); i < steps.size(); ++i) {
      if (steps[i].town) break;
      pending.push_back(steps[i].question);
    }
    // The words prepared at construction; a survey the catalog gained since (not expected) on the spot.
    auto words = reply_words_.find(c.survey_id);
    const ParsedReply parsed = words != reply_words_.end() && words->second.survey == survey
                                   ? words->second.words.Parse(reply, pending)
                                   : PreparedSurvey(*survey).Parse(reply, pending);
    if (parsed.kind == ReplyKind::kAnswers) {
      Answers answers = AnswersFromJson(c.answers_json);
      for (const auto& [q, values] : parsed.answers) answers[q] = values;
      c.answers_json = AnswersToJson(answers);
      c.step += static_cast<int>(parsed.answered);
      understood = true;
      result.detail = parsed.Describe();
    } else {
      result.detail = parsed.reason;
      reask = ReaskText(*step.question);
    }
  }
  if (understood) {
    c.reasks = 0;
    result.status = "answered";
    if (static_cast<std::size_t>(c.step) >= steps.size()) {
      if (own_transaction != nullptr) return OnItsOwn(own_transaction);
      MINYI_RETURN_IF_ERROR(StoreResponse(c, *survey, Completion::kComplete, sent_at_ms));
      c.state = SmsConversationState::kComplete;
      MINYI_RETURN_IF_ERROR(QueueText(c, Thanks(*survey), queue));
    } else {
      MINYI_RETURN_IF_ERROR(QueueStep(c, *survey, queue));
    }
  } else if (c.reasks < options_.max_reasks) {
    ++c.reasks;
    ++c.unparsed;
    result.status = "reasked";
    MINYI_RETURN_IF_ERROR(QueueText(c, reask, queue));
  } else {
    ++c.unparsed;
    result.status = "unparsed";  // kept and counted; never guessed, no further re-ask
  }
  return result;
}

Result<std::optional<SmsConversation>> SmsService::AttachComment(
    SmsStore& store, const std::string& phone_key, const std::string& masked_text, std::int64_t sent_at_ms,
    InboundResult* result, SmsConversation* before, bool* own_transaction) {
  auto latest = store.FindLatestConversation(phone_key);
  if (!latest.ok()) return latest.status();
  if (!latest->has_value() || (*latest)->state != SmsConversationState::kComplete ||
      clock_() - (*latest)->updated_at_ms > options_.comment_window_ms) {
    return std::optional<SmsConversation>();
  }
  SmsConversation c = **latest;
  *before = c;
  auto survey = deps_.surveys->Find(c.survey_id);
  const Question* comment = survey != nullptr ? CommentQuestion(*survey) : nullptr;
  std::string remark = masked_text;
  std::replace_if(
      remark.begin(), remark.end(), [](char ch) { return ch == '\n' || ch == '\r' || ch == '\t'; }, ' ');
  remark = Trimmed(std::move(remark));  // line breaks would make the text answer invalid
  if (comment == nullptr || remark.empty()) return std::optional<SmsConversation>();
  // A second remark is added to the first; the whole is cut at the survey's text limit. The same remark
  // again (sent twice, or handled again after a store failure between the two writes below) adds nothing.
  Answers answers = AnswersFromJson(c.answers_json);
  std::vector<std::string>& values = answers[comment->code];
  const std::string previous = values.empty() ? std::string() : values.front();
  const std::string tail = "；" + remark;
  const bool repeated =
      previous == remark || (previous.size() > tail.size() &&
                             previous.compare(previous.size() - tail.size(), tail.size(), tail) == 0);
  std::u32string joined = ToUtf32(previous.empty() ? remark : repeated ? previous : previous + tail);
  if (joined.size() > kMaxTextLength) joined.resize(kMaxTextLength);
  values = {ToUtf8(joined)};
  c.answers_json = AnswersToJson(answers);
  // Submitted no earlier than the last answer, so the stored response is revised, never stale.
  const Response r = ResponseOf(c, Completion::kComplete, std::max(sent_at_ms, c.updated_at_ms));
  if (const std::vector<FieldError> errors = survey->ValidateAnswers(r.answers, Completion::kComplete);
      !errors.empty()) {
    result->detail = errors.front().field + ": " + errors.front().reason;
    return std::optional<SmsConversation>();
  }
  if (own_transaction != nullptr) return OnItsOwn(own_transaction);
  std::vector<ReviseResult> revised;
  MINYI_RETURN_IF_ERROR(deps_.revisions->StoreRevisions({r}, "sms remark after the last answer", &revised));
  if (revised.empty() || revised.front().outcome == ReviseOutcome::kStale ||
      revised.front().outcome == ReviseOutcome::kRefused) {
    result->detail =
        "the remark was not attached: " +
        std::string(ReviseOutcomeName(revised.empty() ? ReviseOutcome::kRefused : revised.front().outcome));
    return std::optional<SmsConversation>();
  }
  // The conversation keeps its time: the window runs from the last answer, not from the last remark.
  result->status = "comment";
  result->detail = comment->code + " (" + std::to_string(joined.size()) + " characters)";
  return std::optional<SmsConversation>(std::move(c));
}

Result<SmsService::InviteReport> SmsService::Invite(const std::string& survey_id, const Period& period,
                                                    const std::string& area_prefix) {
  auto survey = deps_.surveys->Find(survey_id);
  if (survey == nullptr) return Status::NotFound("unknown survey '" + survey_id + "'");
  if (!area_prefix.empty() && deps_.areas->Find(area_prefix) == nullptr) {
    return Status::InvalidInput("unknown area code '" + area_prefix + "'");
  }
  auto roster = deps_.sms->RosterEntries(survey_id, area_prefix);
  if (!roster.ok()) return roster.status();
  std::lock_guard<std::mutex> lock(mu_);
  InviteReport report;
  for (const SmsRosterEntry& e : *roster) {
    auto suppressed = deps_.sms->IsSuppressed(e.phone_key);
    if (!suppressed.ok()) return suppressed.status();
    if (*suppressed) {
      ++report.suppressed;
      continue;
    }
    const std::int64_t now = clock_();
    SmsConversation c;
    c.survey_id = survey_id;
    c.period = period;
    c.phone_key = e.phone_key;
    c.phone_enc = e.phone_enc;
    if (e.area_code.size() == 9) {
      c.town_code = e.area_code;
    } else {
      c.county_code = CountyOf(e.area_code);
    }
    c.answers_json = "{}";
    c.started_at_ms = now;
    c.updated_at_ms = now;
    c.expires_at_ms = now + options_.conversation_ttl_ms;
    auto id = deps_.sms->CreateConversation(c);
    if (!id.ok()) {
      if (id.status().code() == StatusCode::kConflict) {
        ++report.existing;
        continue;
      }
      return id.status();
    }
    c.id = *id;
    std::size_t questions = 0;
    for (const Step& s : StepsFor(*survey, c)) questions += s.town ? 0 : 1;
    MINYI_RETURN_IF_ERROR(QueueText(c, InvitationText(*survey, questions)));
    MINYI_RETURN_IF_ERROR(QueueStep(c, *survey));
    ++report.queued;
  }
  return report;
}

Result<int> SmsService::ExpireDue() {
  std::lock_guard<std::mutex> lock(mu_);
  int closed = 0;
  for (;;) {
    auto due = deps_.sms->ExpiredConversations(clock_(), 100);
    if (!due.ok()) return due.status();
    if (due->empty()) break;
    for (SmsConversation& c : *due) {
      auto survey = deps_.surveys->Find(c.survey_id);
      const Answers answers = AnswersFromJson(c.answers_json);
      if (survey != nullptr && c.town_code.size() == 9 && !answers.empty()) {
        Status stored = StoreResponse(c, *survey, Completion::kPartial, c.updated_at_ms);
        if (!stored.ok()) {
          if (stored.code() == StatusCode::kUnavailable) return stored;
          spdlog::warn("sms: expired conversation {} not stored: {}", c.id, stored.ToString());
        }
      }
      c.state = SmsConversationState::kExpired;
      MINYI_RETURN_IF_ERROR(deps_.sms->UpdateConversation(c));
      ++closed;
    }
  }
  return closed;
}

Result<SmsService::RosterReport> SmsService::ImportRoster(std::istream& csv, const std::string& survey_id) {
  if (deps_.surveys->Find(survey_id) == nullptr) return Status::NotFound("unknown survey '" + survey_id + "'");
  CsvReader reader(csv);
  std::vector<std::string> fields;
  Status error;
  if (!reader.Next(fields, &error) || !error.ok()) return Status::InvalidInput("roster: missing header line");
  int phone_col = -1;
  int town_col = -1;
  for (std::size_t i = 0; i < fields.size(); ++i) {
    const std::string name = Lower(Trimmed(fields[i]));
    if (name == "phone" || name == "手机号码" || name == "手机号") phone_col = static_cast<int>(i);
    if (name == "town" || name == "area" || name == "乡镇" || name == "乡镇代码") town_col = static_cast<int>(i);
  }
  if (phone_col < 0 || town_col < 0) return Status::InvalidInput("roster: header must name columns phone and town");
  RosterReport report;
  std::vector<SmsRosterEntry> batch;
  std::map<std::string, std::size_t> first_line;  // phone key → line of its first entry in this file
  const std::int64_t now = clock_();
  while (reader.Next(fields, &error)) {
    const std::string where = "line " + std::to_string(reader.line()) + ": ";
    if (!error.ok()) {
      report.rejected.push_back(MaskPhoneNumbers(error.message()));
      continue;
    }
    if (fields.empty() || (fields.size() == 1 && Trimmed(fields[0]).empty())) continue;
    if (static_cast<int>(fields.size()) <= std::max(phone_col, town_col)) {
      report.rejected.push_back(where + "too few fields");
      continue;
    }
    auto e164 = NormalizePhone(Trimmed(fields[static_cast<std::size_t>(phone_col)]));
    if (!e164.ok()) {
      report.rejected.push_back(where + e164.status().message());
      continue;
    }
    const std::string area = Trimmed(fields[static_cast<std::size_t>(town_col)]);
    const Area* a = deps_.areas->Find(area);
    if (a == nullptr || (a->level != AreaLevel::kTown && a->level != AreaLevel::kCounty)) {
      report.rejected.push_back(where + "town '" + area + "' is not a known town (9 digits) or county (6 digits) code");
      continue;
    }
    // The same number twice in one file: the later line would silently move the person to its town
    // (the store upserts by number), so it is reported and the first line kept.
    std::string key = deps_.keyer->KeyFor(*e164);
    if (const auto [first, added] = first_line.emplace(key, reader.line()); !added) {
      report.rejected.push_back(where + "the phone number is already on line " +
                                std::to_string(first->second));
      continue;
    }
    batch.push_back({survey_id, std::move(key), deps_.cipher->Encrypt(*e164), area, now});
    if (batch.size() >= 500) {
      MINYI_RETURN_IF_ERROR(deps_.sms->UpsertRoster(batch));
      report.stored += static_cast<int>(batch.size());
      batch.clear();
    }
  }
  MINYI_RETURN_IF_ERROR(deps_.sms->UpsertRoster(batch));
  report.stored += static_cast<int>(batch.size());
  return report;
}

Result<SmsService::CsvImportReport> SmsService::ImportRepliesCsv(std::istream& csv,
                                                                 const std::string& provider,
                                                                 const ProgressCallback& progress) {
  CsvReader reader(csv);
  std::vector<std::string> fields;
  Status error;
  if (!reader.Next(fields, &error) || !error.ok()) return Status::InvalidInput("replies: missing header line");
  int phone_col = -1, text_col = -1, time_col = -1, id_col = -1;
  for (std::size_t i = 0; i < fields.size(); ++i) {
    const std::string n = Lower(Trimmed(fields[i]));
    const int col = static_cast<int>(i);
    if (n == "phone" || n == "phone_number" || n == "mobile" || n == "from" || n == "手机号码" || n == "号码") phone_col = col;
    if (n == "text" || n == "content" || n == "body" || n == "短信内容" || n == "回复内容" || n == "内容") text_col = col;
    if (n == "time" || n == "send_time" || n == "createtime" || n == "接收时间" || n == "回复时间") time_col = col;
    if (n == "id" || n == "sequence_id" || n == "smsmsgid" || n == "messagesid" || n == "消息id") id_col = col;
  }
  if (phone_col < 0 || text_col < 0 || time_col < 0) {
    return Status::InvalidInput("replies: header must name a phone, a text and a time column");
  }
  struct Row {
    InboundSms message;
    std::size_t line;
  };
  std::vector<Row> rows;
  CsvImportReport report;
  while (reader.Next(fields, &error)) {
    const std::string where = "line " + std::to_string(reader.line()) + ": ";
    if (!error.ok()) {
      report.rejected.push_back(MaskPhoneNumbers(error.message()));
      continue;
    }
    if (fields.empty() || (fields.size() == 1 && Trimmed(fields[0]).empty())) continue;
    const std::size_t need = static_cast<std::size_t>(std::max({phone_col, text_col, time_col, id_col}));
    if (fields.size() <= need) {
      report.rejected.push_back(where + "too few fields");
      continue;
    }
    InboundSms m;
    m.provider = provider;
    m.from = Trimmed(fields[static_cast<std::size_t>(phone_col)]);
    m.text = fields[static_cast<std::size_t>(text_col)];
    const std::string time = Trimmed(fields[static_cast<std::size_t>(time_col)]);
    auto t = ParseTimestamp(time);
    if (!t.ok()) {
      report.rejected.push_back(where + "time '" + time + "' is not a time");
      continue;
    }
    m.sent_at_ms = *t;
    m.message_ref = id_col >= 0 ? Trimmed(fields[static_cast<std::size_t>(id_col)]) : std::string();
    if (m.message_ref.empty()) {
      auto e164 = NormalizePhone(m.from);
      m.message_ref = HashMessageRef(e164.ok() ? *e164 : m.from, std::to_string(m.sent_at_ms), m.text);
    }
    rows.push_back({std::move(m), reader.line()});
  }
  std::stable_sort(rows.begin(), rows.end(),
                   [](const Row& a, const Row& b) { return a.message.sent_at_ms < b.message.sent_at_ms; });
  std::uint64_t done = 0;
  for (const Row& row : rows) {
    if (progress) progress(done++, rows.size());
    auto handled = HandleInbound(row.message);
    if (!handled.ok()) {
      if (handled.status().code() == StatusCode::kUnavailable) return handled.status();
      report.rejected.push_back("line " + std::to_string(row.line) + ": " + handled.status().message());
      continue;
    }
    if (handled->duplicate) {
      ++report.duplicates;
    } else {
      ++report.stored;
    }
  }
  if (progress) progress(done, rows.size());
  return report;
}

}  // namespace minyi::collector::sms
