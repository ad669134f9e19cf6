#include "collector/ingest.h"

#include <algorithm>
#include <cctype>
#include <chrono>

#include "collector/response_import.h"
#include "collector/web_access.h"
#include "core/http/error_reply.h"
#include "core/privacy.h"

namespace minyi::collector {
namespace {

std::string Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return std::string(s);
}

// The identity a partner's respondent id is hashed as (KeyedHasher::RespondentKey). A phone number is
// its E.164 alone, mainland mobiles in any spelling +86XXXXXXXXXXX: the identity the SMS channel hashes
// (RespondentKeyer::KeyFor), so one resident is one respondent on both channels (ingest_test
// PartnerPhoneHasTheSmsChannelsRespondentKey). Any other id is "respondent:<id>", a domain of its own.
std::string PartnerIdentity(std::string_view text) {
  std::string trimmed = Trim(text);
  if (!LooksLikePhoneNumber(trimmed)) return "respondent:" + trimmed;
  std::string digits;
  for (char c : trimmed) {
    if (c >= '0' && c <= '9') digits += c;
  }
  if (digits.size() == 15 && digits.rfind("0086", 0) == 0) digits = digits.substr(4);
  if (digits.size() == 13 && digits.rfind("86", 0) == 0) digits = digits.substr(2);
  if (digits.size() == 11 && digits[0] == '1') return "+86" + digits;
  return "+" + digits;
}

// The reason code a rejected submission is counted under (core/collector_counters.h).
std::string RejectionReason(const IngestResult& r) {
  if (r.code == IngestCode::kForbidden) return "forbidden_survey";
  if (r.code == IngestCode::kInvitationRequired) return "invitation_required";
  if (r.code == IngestCode::kTownCapReached) return "town_cap";
  if (r.errors.empty()) return "invalid";
  const FieldError& first = r.errors.front();
  if (first.field == "survey") return "unknown_survey";
  if (first.field == "period") return first.reason.find("closed") != std::string::npos ? "period_closed" : "invalid_period";
  if (first.field == "token") return "invalid_token";
  if (first.field == "town") return "invalid_town";
  if (first.field.rfind("answers", 0) == 0) return "invalid_answers";
  return "invalid";
}

// What a result stands for in the vocabulary of failures (core/status.h); kOk for stored and duplicate.
StatusCode StatusCodeOf(IngestCode code) {
  switch (code) {
    case IngestCode::kStored:
    case IngestCode::kDuplicate:
      return StatusCode::kOk;
    case IngestCode::kConflict:
      return StatusCode::kConflict;
    case IngestCode::kInvalid:
      return StatusCode::kInvalidInput;
    case IngestCode::kForbidden:
    case IngestCode::kInvitationRequired:
      return StatusCode::kPermissionDenied;
    case IngestCode::kTownCapReached:
      return StatusCode::kResourceExhausted;
    case IngestCode::kBusy:
    case IngestCode::kUnavailable:
      return StatusCode::kUnavailable;
  }
  return StatusCode::kInternal;
}

const char* ChannelOf(const Submitter& who) { return who.kind == Submitter::Kind::kApiKey ? "api" : "web"; }

std::string PeriodList(const std::vector<Period>& periods) {
  std::string out;
  for (const auto& p : periods) out += (out.empty() ? "" : ", ") + p.ToString();
  return out.empty() ? "none" : out;
}

}  // namespace

Result<std::vector<Period>> ParsePeriodList(std::string_view text) {
  std::vector<Period> out;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    std::size_t end = text.find(',', pos);
    if (end == std::string_view::npos) end = text.size();
    const std::string item = Trim(text.substr(pos, end - pos));
    if (!item.empty()) {
      auto p = Period::Parse(item);
      if (!p.ok()) return Status::InvalidInput("period '" + item + "': " + p.status().message());
      out.push_back(*p);
    }
    pos = end + 1;
  }
  std::sort(out.begin(), out.end());
  return out;
}

Result<std::set<std::string>> ParseSurveyList(std::string_view text, const SurveyCatalog& surveys) {
  std::set<std::string> out;
  for (std::size_t pos = 0; pos <= text.size();) {
    std::size_t end = text.find(',', pos);
    if (end == std::string_view::npos) end = text.size();
    const std::string id = Trim(text.substr(pos, end - pos));
    if (!id.empty() && surveys.Find(id) == nullptr)
      return Status::InvalidInput("unknown survey '" + id + "'");
    if (!id.empty()) out.insert(id);
    pos = end + 1;
  }
  return out;
}

int IngestResult::HttpStatus() const {
  if (code == IngestCode::kStored) return 201;
  return http::HttpErrorFor(StatusCodeOf(code), http::ErrorKind::kUnprocessable).status;
}

int IngestResult::RetryAfterSeconds() const {
  return http::HttpErrorFor(StatusCodeOf(code), http::ErrorKind::kUnprocessable).retry_after_seconds;
}

std::string_view IngestResult::CodeName() const {
  switch (code) {
    case IngestCode::kStored: return "stored";
    case IngestCode::kDuplicate: return "duplicate";
    case IngestCode::kConflict: return "conflict";
    case IngestCode::kInvalid: return "invalid";
    case IngestCode::kForbidden: return "forbidden";
    case IngestCode::kInvitationRequired: return "invitation_required";
    case IngestCode::kTownCapReached: return "town_cap";
    case IngestCode::kBusy: return "busy";
    case IngestCode::kUnavailable: return "unavailable";
  }
  return "unknown";
}

IngestService::IngestService(const SurveyCatalog& surveys, const AreaRegistry& areas, WebAccessStore& access,
                             GroupCommitWriter& writer, const KeyedHasher& hasher, IngestOptions options)
    : surveys_(surveys), areas_(areas), access_(access), writer_(writer), hasher_(hasher),
      options_(std::move(options)) {}

std::vector<Period> IngestService::OpenPeriods() const {
  if (!options_.open_periods.empty()) return options_.open_periods;
  const std::int64_t local_ms = NowMillis() + static_cast<std::int64_t>(options_.utc_offset_minutes) * 60000;
  const std::string iso = FormatTimestampUtc(local_ms);  // the local date, formatted as if UTC
  return {Period{std::stoi(iso.substr(0, 4)), 0}};
}

Period IngestService::PagePeriod() const { return OpenPeriods().back(); }

std::string IngestService::DeviceSourceRef(const std::string& device_id, const std::string& survey_id,
                                           const Period& period) const {
  return "device:" + hasher_.Mac("device-ref", device_id + "\n" + survey_id + "\n" + period.ToString());
}

Result<std::optional<InvitationToken>> IngestService::FindToken(std::string_view token) {
  if (!LooksLikeToken(token)) return std::optional<InvitationToken>();
  return access_.FindInvitationToken(HashToken(token));
}

Result<bool> IngestService::TokenUsed(const InvitationToken& invitation) {
  return AlreadyAnswered(TokenSourceRef(invitation.token_hash));
}

Result<bool> IngestService::AlreadyAnswered(const std::string& source_ref) {
  auto found = access_.FindResponseBySource(Channel::kWeb, source_ref);
  if (!found.ok()) return found.status();
  return found->has_value();
}

std::optional<Response> IngestService::Build(const Submission& s, const Submitter& who, std::int64_t now_ms,
                                             IngestResult& result) {
  result.code = IngestCode::kInvalid;
  auto& errors = result.errors;
  auto survey = surveys_.Find(s.survey_id);
  if (survey == nullptr) {
    errors.push_back({"survey", "unknown survey '" + s.survey_id + "'"});
    return std::nullopt;
  }
  if (who.kind == Submitter::Kind::kApiKey && (who.api_key == nullptr || !who.api_key->Allows(s.survey_id))) {
    result.code = IngestCode::kForbidden;
    result.message = "this API key may not submit to survey '" + s.survey_id + "'";
    return std::nullopt;
  }
  if (!s.period) {
    errors.push_back({"period", "is required"});
  } else {
    const auto open = OpenPeriods();
    if (std::find(open.begin(), open.end(), *s.period) == open.end()) {
      errors.push_back({"period", "period " + s.period->ToString() + " is closed (open: " + PeriodList(open) + ")"});
    }
  }
  std::string town = s.town_code;
  std::optional<InvitationToken> invitation;
  if (!s.token.empty()) {
    auto found = FindToken(s.token);
    if (!found.ok()) {
      result.code = IngestCode::kUnavailable;
      result.message = "the store is unavailable";
      return std::nullopt;
    }
    if (!found->has_value()) {
      errors.push_back({"token", "unknown invitation token"});
    } else if ((*found)->survey_id != s.survey_id) {
      errors.push_back({"token", "the invitation is for survey '" + (*found)->survey_id + "'"});
    } else {
      invitation = **found;
      if (!invitation->town_code.empty()) {
        if (town.empty()) {
          town = invitation->town_code;
        } else if (town != invitation->town_code) {
          errors.push_back({"town", "the invitation is for town " + invitation->town_code});
        }
      }
    }
  }
  if (!invitation && errors.empty() && who.kind == Submitter::Kind::kPage && InvitationOnly(s.survey_id)) {
    result.code = IngestCode::kInvitationRequired;
    result.message =
        "survey '" + s.survey_id + "' admits invited respondents only: open the link of an invitation";
    return std::nullopt;
  }
  if (town.empty()) {
    errors.push_back({"town", "is required"});
  } else if (!areas_.IsTown(town)) {
    errors.push_back({"town", "unknown town code '" + town + "'"});
  }
  for (auto& e : survey->ValidateAnswers(s.answers, s.completion)) errors.push_back(std::move(e));
  if (!errors.empty()) return std::nullopt;

  Response r;
  r.survey_id = s.survey_id;
  r.period = *s.period;
  r.town_code = town;
  r.channel = Channel::kWeb;
  r.completion = s.completion;
  r.submitted_at_ms = s.submitted_at_ms;
  r.received_at_ms = now_ms;
  for (const auto& [code, values] : s.answers) {
    const Question* q = survey->FindQuestion(code);
    std::vector<std::string>& out = r.answers[code];
    for (const auto& v : values) out.push_back(q != nullptr && q->type == QuestionType::kText ? MaskPhoneNumbers(v) : v);
  }
  r.raw_payload = MaskPhoneNumbers(s.raw_payload);
  if (invitation) {
    r.source_ref = TokenSourceRef(invitation->token_hash);
    r.respondent_key = hasher_.RespondentKey("token:" + invitation->token_hash);
  } else if (who.kind == Submitter::Kind::kApiKey) {
    r.source_ref = "api:" + who.api_key->key_id + ":" +
                   (s.idempotency_key.empty() ? "auto:" + RandomHex(16) : s.idempotency_key);
    r.respondent_key = hasher_.RespondentKey(s.respondent.empty() ? "source:" + r.source_ref
                                                                  : PartnerIdentity(s.respondent));
  } else {
    r.source_ref = DeviceSourceRef(who.device_id, r.survey_id, r.period);
    r.respondent_key = hasher_.RespondentKey("device:" + who.device_id);
  }
  result.source_ref = r.source_ref;
  return r;
}

std::vector<IngestResult> IngestService::Submit(const std::vector<Submission>& submissions, const Submitter& who) {
  const std::int64_t now_ms = NowMillis();
  std::vector<IngestResult> results(submissions.size());
  std::vector<Response> valid;
  std::vector<std::size_t> valid_index;
  for (std::size_t i = 0; i < submissions.size(); ++i) {
    auto built = Build(submissions[i], who, now_ms, results[i]);
    if (built) {
      valid.push_back(std::move(*built));
      valid_index.push_back(i);
    } else if (results[i].code == IngestCode::kInvalid || results[i].code == IngestCode::kForbidden ||
               results[i].code == IngestCode::kInvitationRequired) {
      const Submission& s = submissions[i];
      CountRefused(who, RejectionReason(results[i]), s.survey_id, s.period.value_or(Period{0, 0}),
                   s.town_code);
    }
  }
  // The per-town cap, for what passed validation without an invitation.
  std::vector<std::optional<TownKey>> slots(valid.size());
  if (options_.max_web_per_town > 0 && town_counts_ != nullptr) {
    std::vector<Response> admitted;
    std::vector<std::size_t> admitted_index;
    for (std::size_t j = 0; j < valid.size(); ++j) {
      Response& r = valid[j];
      IngestResult& out = results[valid_index[j]];
      if (r.source_ref.rfind("token:", 0) != 0) {
        const TownKey key(r.survey_id, r.period.year, r.period.quarter, r.town_code);
        Result<bool> slot = ReserveTownSlot(key);
        if (!slot.ok()) {
          out.code = IngestCode::kUnavailable;
          out.message = "the store is unavailable";
          continue;
        }
        if (*slot) {
          slots[admitted.size()] = key;
        } else {
          // At the cap: only a submission already stored under its identity goes on (its duplicate).
          Result<bool> stored = AlreadyAnswered(r.source_ref);
          if (!stored.ok() || !*stored) {
            out.code = stored.ok() ? IngestCode::kTownCapReached : IngestCode::kUnavailable;
            out.message = stored.ok() ? "town " + r.town_code + " has reached its cap of " +
                                            std::to_string(options_.max_web_per_town) +
                                            " web responses for " + r.period.ToString()
                                      : "the store is unavailable";
            if (stored.ok()) CountRefused(who, "town_cap", r.survey_id, r.period, r.town_code);
            continue;
          }
        }
      }
      admitted.push_back(std::move(r));
      admitted_index.push_back(valid_index[j]);
    }
    valid = std::move(admitted);
    valid_index = std::move(admitted_index);
    slots.resize(valid.size());
  }
  // A held slot is given back unless its response was stored.
  auto settle = [&](std::size_t j, bool stored) {
    if (slots[j] && !stored) ReleaseTownSlot(*slots[j]);
  };
  if (valid.empty()) return results;
  auto queued = writer_.Submit(std::move(valid));
  if (!queued.ok()) {
    for (std::size_t j = 0; j < valid_index.size(); ++j) {
      IngestResult& out = results[valid_index[j]];
      out.code = queued.status().code() == StatusCode::kResourceExhausted ? IngestCode::kBusy
                                                                          : IngestCode::kUnavailable;
      out.message = queued.status().message();
      settle(j, false);
    }
    return results;
  }
  const std::vector<Result<AppendResult>> committed = writer_.AwaitAll(*queued);
  for (std::size_t j = 0; j < valid_index.size(); ++j) {
    IngestResult& out = results[valid_index[j]];
      const Result<AppendResult>& appended = committed[j];
      settle(j, appended.ok() && appended->outcome == AppendOutcome::kStored);
    if (!appended.ok()) {
      out.code = IngestCode::kUnavailable;
      out.message = "the response could not be stored; please retry";
      continue;
    }
    out.response_id = appended->response_id;
    switch (appended->outcome) {
      case AppendOutcome::kStored: out.code = IngestCode::kStored; break;
      case AppendOutcome::kDuplicate: out.code = IngestCode::kDuplicate; break;
      case AppendOutcome::kConflict:
        out.code = IngestCode::kConflict;
        out.message = "a different response was already stored under " +
                      std::string(out.source_ref.rfind("token:", 0) == 0 ? "this invitation token" : "this key");
        break;
    }
  }
  return results;
}

void IngestService::CountMalformed(const Submitter& who, const std::string& reason) {
  if (tally_ != nullptr) tally_->Count(ChannelOf(who), reason, "", Period{0, 0}, "");
}

void IngestService::CountRefused(const Submitter& who, const std::string& reason,
                                 const std::string& survey_id, const Period& period,
                                 const std::string& town_code) {
  if (tally_ == nullptr) return;
  tally_->Count(ChannelOf(who), reason, surveys_.Find(survey_id) ? survey_id : "", period,
                areas_.IsTown(town_code) ? town_code : "");
}

Result<bool> IngestService::ReserveTownSlot(const TownKey& key) {
  std::lock_guard<std::mutex> lock(town_mu_);
  auto it = town_web_.find(key);
  if (it == town_web_.end()) {
    // First use of this town and period: what is stored already (any web response, page, invitation
    // or partner API). Read under the lock so two first submissions cannot both seed it.
    const auto& [survey_id, year, quarter, town] = key;
    Result<std::vector<ChannelCount>> counts = town_counts_->CountByChannel(survey_id, town);
    if (!counts.ok()) return counts.status();
    std::int64_t stored = 0;
    for (const ChannelCount& c : *counts) {
      if (c.channel == Channel::kWeb && c.period == Period{year, quarter}) stored += c.count;
    }
    it = town_web_.emplace(key, stored).first;
  }
  if (it->second >= options_.max_web_per_town) return false;
  ++it->second;
  return true;
}

void IngestService::ReleaseTownSlot(const TownKey& key) {
  std::lock_guard<std::mutex> lock(town_mu_);
  auto it = town_web_.find(key);
  if (it != town_web_.end() && it->second > 0) --it->second;
}

IngestResult IngestService::SubmitOne(const Submission& submission, const Submitter& who) {
  return Submit({submission}, who).front();
}

}  // namespace minyi::collector
