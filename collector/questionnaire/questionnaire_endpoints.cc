#include "collector/questionnaire/questionnaire_endpoints.h"

#include <Poco/DigestEngine.h>
#include <Poco/Exception.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/SHA1Engine.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <sstream>

#include "collector/common/address_allow.h"
#include "collector/questionnaire/questionnaire_import.h"
#include "core/http/error_reply.h"

namespace minyi::collector::questionnaire {
namespace {

using Poco::JSON::Array;
using Poco::JSON::Object;

// A refusal: the HTTP status and Retry-After of the one mapping and the one error body
// (core/http/error_reply.h).
EndpointAnswer Error(const Status& status, const std::vector<FieldError>& fields = {}) {
  const http::HttpError e = http::HttpErrorFor(status.code());
  return {e.status, http::ErrorJson(http::ErrorCodeName(status.code()), status.message(), fields),
          e.retry_after_seconds};
}

EndpointAnswer Invalid(std::string_view message, const std::vector<FieldError>& fields = {}) {
  return Error(Status::InvalidInput(std::string(message)), fields);
}

// A broken invariant (the mapped survey vanished): 500 with {"error":{"code":"internal",...}}.
EndpointAnswer InternalError() {
  return {http::HttpErrorFor(StatusCode::kInternal).status, http::ErrorJson("internal", "internal error")};
}

// Constant-time comparison: the token and the sign are secrets to an attacker.
bool SameSecret(std::string_view a, std::string_view b) {
  unsigned diff = a.size() == b.size() ? 0u : 1u;
  for (std::size_t i = 0; i < a.size(); ++i) {
    diff |= static_cast<unsigned>(static_cast<unsigned char>(a[i]) ^
                                  static_cast<unsigned char>(i < b.size() ? b[i] : 0));
  }
  return diff == 0;
}

std::string Lower(std::string s) {
  for (char& c : s) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  return s;
}

// A scalar JSON value as text ("" for null, objects and arrays).
std::string Text(const Poco::Dynamic::Var& v) {
  if (v.isEmpty()) return std::string();
  if (v.isString()) return v.extract<std::string>();
  if (v.isInteger() || v.isNumeric()) return v.convert<std::string>();
  if (v.isBoolean()) return v.extract<bool>() ? "true" : "false";
  return std::string();
}

Result<Object::Ptr> ParseObject(std::string_view body) {
  try {
    Poco::JSON::Parser parser;
    Poco::Dynamic::Var root = parser.parse(std::string(body));
    if (root.type() != typeid(Object::Ptr)) return Status::InvalidInput("the body is not a JSON object");
    return root.extract<Object::Ptr>();
  } catch (const Poco::Exception& e) {
    return Status::InvalidInput("the body is not valid JSON: " + e.displayText());
  }
}

const std::map<std::string, std::string>* OverridesFor(const QuestionnaireMap& map, const std::string& code) {
  auto it = map.options.find(code);
  return it == map.options.end() ? nullptr : &it->second;
}

// The response's town: fixed in the map, or the town question's answer (option → town_options, else a
// town name or code).
Result<std::string> TownFor(const QuestionnaireMap& map, const AreaRegistry& areas,
                            const std::string& value) {
  if (!map.town.empty()) return map.town;
  if (map.town_question.empty()) return Status::InvalidInput("the map gives neither town nor town_question");
  if (auto it = map.town_options.find(value); it != map.town_options.end()) return it->second;
  return ResolveTown(areas, value, map.county);
}

Result<Period> PeriodFor(const QuestionnaireMap& map, std::int64_t submitted_ms, int offset) {
  if (!map.period.empty()) return Period::Parse(map.period);
  const std::int64_t when = submitted_ms != 0 ? submitted_ms : NowMillis();
  return Period::Parse(FormatTimestampLocal(when, offset).substr(0, 4));
}

}  // namespace

std::string WjxSign(std::string_view activity, std::string_view index, std::string_view secret) {
  Poco::SHA1Engine engine;
  engine.update(activity.data(), static_cast<unsigned>(activity.size()));
  engine.update(index.data(), static_cast<unsigned>(index.size()));
  engine.update(secret.data(), static_cast<unsigned>(secret.size()));
  return Poco::DigestEngine::digestToHex(engine.digest());
}

QuestionnaireEndpoints::QuestionnaireEndpoints(const SurveyCatalog& surveys, const AreaRegistry& areas,
                                               const RespondentKeyer& keyer, ResponseReviser& reviser,
                                               EndpointOptions options)
    : surveys_(surveys), areas_(areas), keyer_(keyer), reviser_(reviser), options_(std::move(options)) {}

const QuestionnaireMap* QuestionnaireEndpoints::FindMap(Provider provider, std::string_view id) const {
  for (const QuestionnaireMap& m : options_.maps) {
    if (m.provider == provider && m.id == id) return &m;
  }
  return nullptr;
}

EndpointAnswer QuestionnaireEndpoints::Store(Response response, std::string_view reason,
                                             const RevisePolicy& policy) const {
  const auto survey = surveys_.Find(response.survey_id);
  if (!survey) return InternalError();
  std::vector<FieldError> errors = survey->ValidateAnswers(response.answers, Completion::kComplete);
  if (!errors.empty()) {
    if (!response.answers.empty() &&
        survey->ValidateAnswers(response.answers, Completion::kPartial).empty()) {
      response.completion = Completion::kPartial;  // a required question skipped: kept as partial
    } else {
      return Invalid(response.answers.empty() ? "no question of the survey was answered" : "invalid answers",
                     errors);
    }
  }
  std::vector<ReviseResult> results;
  const Status stored = reviser_.StoreRevisions({response}, reason, policy, &results);
  if (!stored.ok()) {
    if (stored.code() == StatusCode::kInvalidInput) return Invalid(stored.message());
    spdlog::error("questionnaire {}: {}", response.source_ref, stored.ToString());
    return Error(Status::Unavailable("the answer could not be stored; retry"));
  }
  if (results.front().outcome == ReviseOutcome::kRefused) {
    return Error(Status::Conflict(
        results.front().refusal == Refusal::kOtherTown
            ? "the answer is stored for another town; it was not changed"
            : "the answer is already stored with other answers, and revisions by push are off"
              " (questionnaire.wjx.allow_revisions); it was not changed"));
  }
  return {200, "{\"status\":\"" + std::string(ReviseOutcomeName(results.front().outcome)) +
                   "\",\"response_id\":" + std::to_string(results.front().response_id) + "}"};
}

EndpointAnswer QuestionnaireEndpoints::HandleWjxPush(std::string_view body,
                                                     const std::string& peer_address) const {
  if (!options_.wjx_allow_from.empty() && !AddressAllowed(peer_address, options_.wjx_allow_from)) {
    return Error(Status::Unauthenticated("source address not allowed"));
  }
  auto parsed = ParseObject(body);
  if (!parsed.ok()) return Invalid(parsed.status().message());
  const Object::Ptr& o = parsed.value();
  const std::string activity = Text(o->get("activity"));
  const std::string index = Text(o->get("index"));
  const std::string joinid = Text(o->get("joinid"));
  const std::string sign = Lower(Text(o->get("sign")));
  // Authenticate before anything else is looked at.
  bool signed_ok = false;
  if (!options_.wjx_push_secret.empty() && !activity.empty() && !sign.empty()) {
    for (const std::string& candidate : {index, joinid}) {
      if (!candidate.empty() && SameSecret(WjxSign(activity, candidate, options_.wjx_push_secret), sign)) {
        signed_ok = true;
      }
    }
  }
  if (!signed_ok) return Error(Status::Unauthenticated("missing or wrong sign"));
  const std::string answer_id = !index.empty() ? index : joinid;
  const QuestionnaireMap* map = FindMap(Provider::kWjx, activity);
  if (map == nullptr) return Error(Status::NotFound("questionnaire " + activity + " has no map"));
  const auto survey = surveys_.Find(map->survey);
  if (!survey) return InternalError();

  std::vector<FieldError> problems;
  Response r;
  r.survey_id = survey->id;
  r.channel = Channel::kWechat;
  const std::string submit = Text(o->get("submittime"));
  if (!submit.empty()) {
    auto t = ParseSubmitTime(submit, options_.utc_offset_minutes);
    if (t.ok()) {
      r.submitted_at_ms = t.value();
    } else {
      problems.push_back({"submittime", t.status().message()});
    }
  }
  std::string town_value;
  for (const auto& [key, value] : *o) {
    if (key.size() < 2 || key[0] != 'q' || key.find_first_not_of("0123456789", 1) != std::string::npos)
      continue;
    const std::string number = key.substr(1);
    if (!value.isEmpty() && !value.isString() && !value.isNumeric() && !value.isBoolean()) {
      // An object or array would read as "" and the question as skipped: the push is malformed.
      problems.push_back({key, "expected text or a number"});
      continue;
    }
    std::string cell = Text(value);
    if (number == map->town_question) {
      town_value = cell;
      continue;
    }
    auto code = map->questions.find(number);
    const Question* q = code == map->questions.end() ? nullptr : survey->FindQuestion(code->second);
    if (q == nullptr) continue;  // a questionnaire question the survey does not ask
    if (q->type == QuestionType::kMulti) {
      for (char& c : cell) c = c == ',' ? '|' : c;  // 问卷星 pushes multi-choice as "1,2"
    }
    auto codes = ResolveAnswer(*q, cell, OverridesFor(*map, q->code));
    if (!codes.ok()) {
      problems.push_back({key, codes.status().message()});
    } else if (!codes->empty()) {
      r.answers[q->code] = std::move(codes).value();
    }
  }
  auto town = TownFor(*map, areas_, town_value);
  if (!town.ok())
    problems.push_back(
        {map->town_question.empty() ? "town" : "q" + map->town_question, town.status().message()});
  auto period = PeriodFor(*map, r.submitted_at_ms, options_.utc_offset_minutes);
  if (!period.ok()) problems.push_back({"submittime", period.status().message()});
  if (answer_id.empty()) {
    problems.push_back({"index", "neither index nor joinid given"});
  } else if (std::string why = AnswerIdProblem(answer_id); !why.empty()) {
    problems.push_back({!index.empty() ? "index" : "joinid", why});
  }
  if (!problems.empty()) return Invalid("the push cannot be stored", problems);

  r.town_code = town.value();
  r.period = period.value();
  const std::string ref = SourceRefFor({Provider::kWjx, activity, answer_id});
  r.source_ref = TownSlot(ref, r.town_code);
  r.respondent_key = keyer_.KeyFor(ref);
  r.received_at_ms = NowMillis();
  // Stored without the sign: it is a credential for this answer id (it covers nothing else).
  Object::Ptr without_sign = o;
  without_sign->remove("sign");
  std::ostringstream payload;
  without_sign->stringify(payload);
  r.raw_payload = payload.str();
  RevisePolicy policy;
  policy.allow_revisions = options_.wjx_allow_revisions;
  return Store(std::move(r), "wjx push", policy);
}

EndpointAnswer QuestionnaireEndpoints::HandleTxwjWebhook(std::string_view path_token,
                                                         std::string_view body) const {
  if (options_.txwj_token.empty() || !SameSecret(path_token, options_.txwj_token)) {
    return Error(Status::Unauthenticated("unknown webhook token"));
  }
  auto parsed = ParseObject(body);
  if (!parsed.ok()) return Invalid(parsed.status().message());
  const Object::Ptr& o = parsed.value();
  const std::string action = Text(o->get("action"));
  if (action != "answer.create" && action != "answer.update" && action != "answer.delete") {
    // 腾讯问卷 sends a test request when the webhook is saved; acknowledge what is not an answer event.
    return {200, "{\"status\":\"ignored\"}"};
  }
  Object::Ptr payload = o->getObject("payload");
  if (payload.isNull()) return Invalid("no payload", {{"payload", "required for " + action}});
  const std::string survey_id = Text(payload->get("survey_id"));
  const std::string answer_id = Text(payload->get("answer_id"));
  std::vector<FieldError> missing;
  if (survey_id.empty()) missing.push_back({"payload.survey_id", "required"});
  if (answer_id.empty()) {
    missing.push_back({"payload.answer_id", "required"});
  } else if (std::string why = AnswerIdProblem(answer_id); !why.empty()) {
    missing.push_back({"payload.answer_id", why});
  }
  if (!missing.empty()) return Invalid("the event cannot be used", missing);
  const std::string ref = SourceRefFor({Provider::kTxwj, survey_id, answer_id});

  if (action == "answer.delete") {
    auto withdrawn = reviser_.Withdraw(Channel::kWechat, ref, "answer.delete");
    if (!withdrawn.ok()) {
      spdlog::error("questionnaire {}: {}", ref, withdrawn.status().ToString());
      return Error(Status::Unavailable("the deletion could not be recorded; retry"));
    }
    return {200, "{\"status\":\"" + std::string(WithdrawOutcomeName(withdrawn.value())) + "\"}"};
  }

  const QuestionnaireMap* map = FindMap(Provider::kTxwj, survey_id);
  if (map == nullptr) return Error(Status::NotFound("questionnaire " + survey_id + " has no map"));
  const auto survey = surveys_.Find(map->survey);
  if (!survey) return InternalError();

  std::vector<FieldError> problems;
  Response r;
  r.survey_id = survey->id;
  r.channel = Channel::kWechat;
  const std::string ended = Text(payload->get("ended_at"));
  if (!ended.empty()) {
    auto t = ParseSubmitTime(ended, options_.utc_offset_minutes);
    if (t.ok()) {
      r.submitted_at_ms = t.value();
    } else {
      problems.push_back({"payload.ended_at", t.status().message()});
    }
  }
  // The answers: pages with "questions", or the questions themselves ("answer" or "answers").
  std::vector<Object::Ptr> questions;
  for (const char* key : {"answer", "answers"}) {
    Array::Ptr list = payload->getArray(key);
    if (list.isNull()) continue;
    for (std::size_t i = 0; i < list->size(); ++i) {
      Object::Ptr item = list->getObject(static_cast<unsigned>(i));
      if (item.isNull()) continue;
      Array::Ptr inner = item->getArray("questions");
      if (inner.isNull()) {
        questions.push_back(item);
        continue;
      }
      for (std::size_t k = 0; k < inner->size(); ++k) {
        Object::Ptr q = inner->getObject(static_cast<unsigned>(k));
        if (!q.isNull()) questions.push_back(q);
      }
    }
  }
  std::string town_value;
  for (std::size_t i = 0; i < questions.size(); ++i) {
    const Object::Ptr& item = questions[i];
    const std::string id = Text(item->get("id"));
    const std::string title = Text(item->get("title"));
    // The chosen options' ids and texts, and a text answer.
    std::vector<std::string> option_ids, option_texts;
    Array::Ptr options = item->getArray("options");
    if (!options.isNull()) {
      for (std::size_t k = 0; k < options->size(); ++k) {
        Object::Ptr opt = options->getObject(static_cast<unsigned>(k));
        if (opt.isNull()) continue;
        if (opt->has("checked") && Text(opt->get("checked")) == "0") continue;
        option_ids.push_back(Text(opt->get("id")));
        option_texts.push_back(Text(opt->get("text")));
      }
    }
    const std::string text = Text(item->get("text"));
    const bool is_town =
        !map->town_question.empty() &&
        (map->town_question == id || NormalizeText(map->town_question) == NormalizeText(title));
    if (is_town) {
      town_value = !option_texts.empty() ? option_texts.front() : text;
      if (!option_ids.empty() && map->town_options.count(option_ids.front()) != 0)
        town_value = option_ids.front();
      continue;
    }
    const Question* q = nullptr;
    if (auto it = map->questions.find(id); it != map->questions.end()) q = survey->FindQuestion(it->second);
    if (q == nullptr && !title.empty()) {
      for (const auto& [key, code] : map->questions) {
        if (NormalizeText(key) == NormalizeText(title)) q = survey->FindQuestion(code);
      }
      if (q == nullptr) q = MatchQuestionTitle(*survey, title);
    }
    if (q == nullptr) continue;  // a questionnaire question the survey does not ask
    const std::string field = "payload.answer.questions[" + (id.empty() ? std::to_string(i) : id) + "]";
    std::string cell;
    if (q->type == QuestionType::kText) {
      cell = !text.empty() ? text : (option_texts.empty() ? std::string() : option_texts.front());
    } else {
      const auto* overrides = OverridesFor(*map, q->code);
      for (std::size_t k = 0; k < option_texts.size(); ++k) {
        // An option id named in the map wins over the option's text.
        std::string token = option_texts[k];
        if (overrides != nullptr) {
          if (auto it = overrides->find(option_ids[k]); it != overrides->end()) token = option_ids[k];
        }
        cell += (cell.empty() ? "" : "|") + token;
      }
      if (option_texts.empty()) cell = text;
    }
    auto codes = ResolveAnswer(*q, cell, OverridesFor(*map, q->code));
    if (!codes.ok()) {
      problems.push_back({field, codes.status().message()});
    } else if (!codes->empty()) {
      r.answers[q->code] = std::move(codes).value();
    }
  }
  auto town = TownFor(*map, areas_, town_value);
  if (!town.ok()) problems.push_back({"town", town.status().message()});
  auto period = PeriodFor(*map, r.submitted_at_ms, options_.utc_offset_minutes);
  if (!period.ok()) problems.push_back({"payload.ended_at", period.status().message()});
  if (!problems.empty()) return Invalid("the answer cannot be stored", problems);

  r.town_code = town.value();
  r.period = period.value();
  r.source_ref = TownSlot(ref, r.town_code);
  r.respondent_key = keyer_.KeyFor(ref);
  r.received_at_ms = NowMillis();
  r.raw_payload = std::string(body);
  return Store(std::move(r), action, RevisePolicy{});
}

void QuestionnaireEndpoints::Register(http::Router& router) const {
  auto send = [](http::Response& response, const EndpointAnswer& answer) {
    if (answer.retry_after_seconds > 0)
      response.set("Retry-After", std::to_string(answer.retry_after_seconds));
    http::SendJson(response, answer.status, answer.json);
  };
  const std::size_t limit = options_.max_body_bytes;
  auto too_large = [limit](http::Response& response) {
    http::SendError(response,
                    {Status::ResourceExhausted("body larger than " + std::to_string(limit) + " bytes"),
                     http::ErrorKind::kTooLarge});
  };
  if (!options_.wjx_push_secret.empty()) {
    router.Add("POST", "/api/v1/questionnaire/wjx",
               [this, send, too_large, limit](http::Request& request, http::Response& response,
                                              const http::PathParams&) {
                 std::string body;
                 if (!http::ReadBody(request, response, limit, body)) return too_large(response);
                 send(response, HandleWjxPush(body, request.clientAddress().host().toString()));
               });
  }
  if (!options_.txwj_token.empty()) {
    router.Add("POST", "/api/v1/questionnaire/txwj/{token}",
               [this, send, too_large, limit](http::Request& request, http::Response& response,
                                              const http::PathParams& params) {
                 std::string body;
                 if (!http::ReadBody(request, response, limit, body)) return too_large(response);
                 send(response, HandleTxwjWebhook(params.at("token"), body));
               });
  }
}

}  // namespace minyi::collector::questionnaire
