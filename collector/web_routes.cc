#include "collector/web_routes.h"

#include <Poco/Net/NameValueCollection.h>
#include <Poco/URI.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <istream>
#include <optional>
#include <sstream>
#include <string_view>

#include "collector/common/crypto.h"
#include "collector/web_json.h"

namespace minyi::collector {
namespace {

constexpr const char* kDeviceCookie = "minyi_device";
constexpr const char* kHtml = "text/html; charset=utf-8";

std::string PresentedKey(http::Request& request) {
  if (request.has("Authorization")) {
    const std::string& value = request.get("Authorization");
    constexpr std::string_view kBearer = "Bearer ";
    if (value.size() > kBearer.size() && value.compare(0, kBearer.size(), kBearer) == 0) {
      return value.substr(kBearer.size());
    }
    return "";
  }
  if (request.has("X-API-Key")) return request.get("X-API-Key");
  return "";
}

// 413 too_large (error_reply.h).
void SendTooLarge(http::Response& response, std::string message) {
  http::SendError(response, {Status::ResourceExhausted(std::move(message)), http::ErrorKind::kTooLarge});
}

// 400 with a JSON code more specific than invalid_input ("invalid_json"), or with the fields at fault.
void SendMalformed(http::Response& response, std::string message, std::string_view code,
                   std::vector<FieldError> fields = {}) {
  http::SendError(response, {Status::InvalidInput(std::move(message)), http::ErrorKind::kDefault,
                             std::string(code), std::move(fields)});
}

// A resident page answering an outcome: the HTTP status (and Retry-After, unless the caller set a longer
// one) of the one mapping, core/http/error_reply.h.
struct PageOutcome {
  StatusCode code;
  http::ErrorKind kind = http::ErrorKind::kDefault;
};
void SendPage(http::Response& response, PageOutcome outcome, const std::string& html) {
  const http::HttpError e = http::HttpErrorFor(outcome.code, outcome.kind);
  if (e.retry_after_seconds > 0 && !response.has("Retry-After")) {
    response.set("Retry-After", std::to_string(e.retry_after_seconds));
  }
  http::SendText(response, e.status, kHtml, html);
}

// Authenticates the partner; on failure the response has been sent and nullopt is returned.
std::optional<ApiKey> Authenticate(ApiKeyAuthenticator& auth, http::Request& request, http::Response& response) {
  auto key = auth.Authenticate(PresentedKey(request));
  if (key.ok()) return std::move(key).value();
  if (key.status().code() == StatusCode::kUnauthenticated) {
    response.set("WWW-Authenticate", "Bearer realm=\"minyi\"");
    http::SendError(response, key.status());
  } else {
    spdlog::warn("API key check failed: {}", key.status().ToString());
    http::SendError(response, Status::Unavailable("the server cannot check API keys right now; retry"));
  }
  return std::nullopt;
}

}  // namespace

std::vector<std::pair<std::string, std::string>> ParsePageForm(const std::string& body) {
  std::vector<std::pair<std::string, std::string>> out;
  std::size_t pos = 0;
  while (pos <= body.size()) {
    std::size_t end = body.find('&', pos);
    if (end == std::string::npos) end = body.size();
    const std::string pair = body.substr(pos, end - pos);
    if (!pair.empty()) {
      const std::size_t eq = pair.find('=');
      std::string name, value;
      try {
        Poco::URI::decode(pair.substr(0, eq), name, true);
        if (eq != std::string::npos) Poco::URI::decode(pair.substr(eq + 1), value, true);
      } catch (const Poco::Exception&) {
        name.clear();  // a malformed escape: drop the field
      }
      if (!name.empty()) out.emplace_back(std::move(name), std::move(value));
    }
    pos = end + 1;
  }
  return out;
}

namespace {

std::string FormValue(const std::vector<std::pair<std::string, std::string>>& form, const std::string& name) {
  for (const auto& [k, v] : form) {
    if (k == name) return v;
  }
  return "";
}

std::string Trim(const std::string& s) {
  const auto begin = s.find_first_not_of(" \t\r\n");
  if (begin == std::string::npos) return "";
  const auto end = s.find_last_not_of(" \t\r\n");
  return s.substr(begin, end - begin + 1);
}

bool ValidDeviceId(const std::string& id) { return LooksLikeToken(id); }

}  // namespace

void WebCollector::Register(http::Router& router) {
  router.Add("POST", "/api/v1/responses",
             [this](http::Request& rq, http::Response& rs, const http::PathParams&) { PostResponse(rq, rs); });
  router.Add("POST", "/api/v1/responses:batch",
             [this](http::Request& rq, http::Response& rs, const http::PathParams&) { PostBatch(rq, rs); });
  router.Add("GET", "/s/{survey}", [this](http::Request& rq, http::Response& rs, const http::PathParams& p) {
    GetPage(rq, rs, p.at("survey"));
  });
  router.Add("POST", "/s/{survey}", [this](http::Request& rq, http::Response& rs, const http::PathParams& p) {
    PostPage(rq, rs, p.at("survey"));
  });
  router.Add("GET", "/static/web.css", [](http::Request&, http::Response& rs, const http::PathParams&) {
    rs.set("Cache-Control", "public, max-age=3600");
    http::SendText(rs, 200, "text/css; charset=utf-8", WebCss());
  });
  router.Add("GET", "/static/web.js", [](http::Request&, http::Response& rs, const http::PathParams&) {
    rs.set("Cache-Control", "public, max-age=3600");
    http::SendText(rs, 200, "text/javascript; charset=utf-8", WebJs());
  });
  if (options_.bench_routes) {
    // The benchmark's ceiling: the same server and body reading, no parsing and no store.
    router.Add("POST", "/bench/echo", [this](http::Request& rq, http::Response& rs, const http::PathParams&) {
      std::string body;
      if (!http::ReadBody(rq, rs, options_.max_body_bytes, body)) {
        return SendTooLarge(rs, "request body too large");
      }
      http::SendJson(rs, 200, "{\"ok\":true,\"bytes\":" + std::to_string(body.size()) + "}");
    });
  }
}

void WebCollector::PostResponse(http::Request& request, http::Response& response) {
  auto key = Authenticate(auth_, request, response);
  if (!key) return;
  std::string body;
  if (!http::ReadBody(request, response, options_.max_body_bytes, body)) {
    return SendTooLarge(response,
                        "request body larger than " + std::to_string(options_.max_body_bytes) + " bytes");
  }
  Submitter who;
  who.kind = Submitter::Kind::kApiKey;
  who.api_key = &*key;
  auto parsed = ParseJson(body, options_.max_json_depth);
  if (!parsed.ok()) {
    ingest_.CountMalformed(who, "invalid_json");
    return SendMalformed(response, parsed.status().message(), "invalid_json");
  }
  if (!parsed->is_object()) {
    ingest_.CountMalformed(who, "malformed");
    return http::SendError(response, Status::InvalidInput("the body must be a JSON object"));
  }
  std::vector<FieldError> errors;
  Submission submission = SubmissionFromJson(*parsed, std::move(body), errors);
  if (!errors.empty()) {
    ingest_.CountMalformed(who, "malformed");
    return SendMalformed(response, "the request is malformed", "invalid_input", errors);
  }
  const IngestResult result = ingest_.SubmitOne(submission, who);
  // Busy (queue full) or unavailable (the store failed or did not commit in time): worth retrying.
  if (const int wait = result.RetryAfterSeconds(); wait > 0)
    response.set("Retry-After", std::to_string(wait));
  http::SendJson(response, result.HttpStatus(), IngestResultJson(result));
}

void WebCollector::PostBatch(http::Request& request, http::Response& response) {
  auto key = Authenticate(auth_, request, response);
  if (!key) return;
  std::string body;
  if (!http::ReadBody(request, response, options_.max_body_bytes, body)) {
    return SendTooLarge(response,
                        "request body larger than " + std::to_string(options_.max_body_bytes) + " bytes");
  }
  Submitter who;
  who.kind = Submitter::Kind::kApiKey;
  who.api_key = &*key;
  auto parsed = ParseJson(body, options_.max_json_depth);
  if (!parsed.ok()) {
    ingest_.CountMalformed(who, "invalid_json");
    return SendMalformed(response, parsed.status().message(), "invalid_json");
  }
  const JsonValue* items = nullptr;
  if (parsed->is_object()) {
    items = parsed->Find("responses");
  } else if (parsed->is_array()) {
    items = &*parsed;
  }
  if (items == nullptr || !items->is_array()) {
    ingest_.CountMalformed(who, "malformed");
    return http::SendError(response, Status::InvalidInput("the body must be {\"responses\": [ ... ]}"));
  }
  if (items->items().size() > options_.max_batch) {
    return SendTooLarge(response, "a batch holds at most " + std::to_string(options_.max_batch) +
                                      " responses, got " + std::to_string(items->items().size()));
  }
  const std::size_t n = items->items().size();
  std::vector<std::vector<FieldError>> shape_errors(n);
  std::vector<Submission> submissions;
  std::vector<std::size_t> index;
  for (std::size_t i = 0; i < n; ++i) {
    const JsonValue& item = items->items()[i];
    if (!item.is_object()) {
      shape_errors[i].push_back({"", "each item must be a JSON object"});
      continue;
    }
    // The item's own text is its raw payload.
    Submission s = SubmissionFromJson(item, body.substr(item.begin(), item.end() - item.begin()), shape_errors[i]);
    if (shape_errors[i].empty()) {
      submissions.push_back(std::move(s));
      index.push_back(i);
    }
  }
  for (std::size_t i = 0; i < n; ++i) {
    if (!shape_errors[i].empty()) ingest_.CountMalformed(who, "malformed");
  }
  const std::vector<IngestResult> results = ingest_.Submit(submissions, who);
  std::vector<const IngestResult*> by_item(n, nullptr);
  for (std::size_t j = 0; j < index.size(); ++j) by_item[index[j]] = &results[j];
  int stored = 0, duplicates = 0, conflicts = 0, rejected = 0, retry_after = 0;
  std::string out = "{\"results\":[";
  for (std::size_t i = 0; i < n; ++i) {
    if (i > 0) out += ',';
    out += "{\"index\":" + std::to_string(i) + ",";
    const IngestResult* r = by_item[i];
    if (r == nullptr) {
      ++rejected;
      out += "\"status\":" + std::to_string(http::HttpErrorFor(StatusCode::kInvalidInput).status) +
             ",\"body\":" + http::ErrorJson("invalid_input", "the item is malformed", shape_errors[i]) + "}";
      continue;
    }
    switch (r->code) {
      case IngestCode::kStored: ++stored; break;
      case IngestCode::kDuplicate: ++duplicates; break;
      case IngestCode::kConflict:
        ++conflicts;
        break;
      default: ++rejected;
    }
    retry_after = std::max(retry_after, r->RetryAfterSeconds());
    out += "\"status\":" + std::to_string(r->HttpStatus()) + ",\"body\":" + IngestResultJson(*r) + "}";
  }
  out += "],\"stored\":" + std::to_string(stored) + ",\"duplicates\":" + std::to_string(duplicates) +
         ",\"conflicts\":" + std::to_string(conflicts) + ",\"rejected\":" + std::to_string(rejected) + "}";
  if (retry_after > 0) response.set("Retry-After", std::to_string(retry_after));
  http::SendJson(response, 200, out);
}

// ---------------------------------------------------------------------------------------------
// Resident pages

namespace {

struct PageRequest {
  std::string device_id;
  bool new_device = false;
};

PageRequest DeviceOf(http::Request& request) {
  Poco::Net::NameValueCollection cookies;
  request.getCookies(cookies);
  PageRequest p;
  if (cookies.has(kDeviceCookie) && ValidDeviceId(cookies.get(kDeviceCookie))) {
    p.device_id = cookies.get(kDeviceCookie);
  } else {
    p.device_id = RandomUrlToken(18);
    p.new_device = true;
  }
  return p;
}

std::string InvitationRequiredPage() {
  return RenderMessagePage("仅限受邀居民填写", "这份问卷仅限收到邀请的居民填写",
                           "请使用短信或通知中的邀请链接打开问卷。");
}

void SetDeviceCookie(http::Response& response, const PageRequest& p, bool secure) {
  if (!p.new_device) return;
  response.add("Set-Cookie", std::string(kDeviceCookie) + "=" + p.device_id +
                                 "; Path=/s/; Max-Age=31536000; HttpOnly; SameSite=Lax" + (secure ? "; Secure" : ""));
}

std::string CsrfFor(const KeyedHasher& hasher, const std::string& device, const std::string& survey,
                    const std::string& idem, const std::string& rendered_at, const std::string& token) {
  return hasher.Mac("csrf", device + "\n" + survey + "\n" + idem + "\n" + rendered_at + "\n" + token, 32);
}

void FreshFormKeys(FormView& view, const KeyedHasher& hasher, const std::string& device) {
  view.idempotency_key = RandomUrlToken(16);
  view.rendered_at = std::to_string(NowMillis());
  view.csrf = CsrfFor(hasher, device, view.survey->id, view.idempotency_key, view.rendered_at, view.token);
}

// The invitation of `token` for `survey_id`; nothing after answering with the page that says why not: the
// store is busy (`busy_hint` says what to do) or the link is unknown or another survey's.
std::optional<InvitationToken> FindInvitation(IngestService& ingest, http::Response& response,
                                              const std::string& token, const std::string& survey_id,
                                              std::string_view busy_hint) {
  auto invitation = ingest.FindToken(token);
  if (!invitation.ok()) {
    SendPage(response, {StatusCode::kUnavailable}, RenderMessagePage("请稍后再试", "系统繁忙", busy_hint));
    return std::nullopt;
  }
  if (!invitation->has_value() || (*invitation)->survey_id != survey_id) {
    SendPage(
        response, {StatusCode::kNotFound},
        RenderMessagePage("链接无效", "邀请链接无效", "这个链接不完整或已失效，请核对短信或通知中的链接。"));
    return std::nullopt;
  }
  return std::move(invitation).value();
}

}  // namespace

void WebCollector::GetPage(http::Request& request, http::Response& response, const std::string& survey_id) {
  if (int wait = limiter_.Take(http::ClientAddress(request, options_.trust_forwarded_for)); wait > 0) {
    response.set("Retry-After", std::to_string(wait));
    return SendPage(response, {StatusCode::kResourceExhausted},
                    RenderMessagePage("请稍后再试", "请稍后再试", "您的操作太频繁了，请过一会儿再打开。"));
  }
  auto survey = ingest_.surveys().Find(survey_id);
  if (survey == nullptr) {
    return SendPage(response, {StatusCode::kNotFound},
                    RenderMessagePage("问卷不存在", "没有找到这份问卷", "请检查链接是否完整。"));
  }
  const PageRequest device = DeviceOf(request);
  SetDeviceCookie(response, device, options_.secure_cookies);
  FormView view;
  view.survey = survey.get();
  view.period = ingest_.PagePeriod();
  Poco::URI uri(request.getURI());
  for (const auto& [k, v] : uri.getQueryParameters()) {
    if (k == "t") view.token = v;
  }
  if (view.token.empty() && ingest_.InvitationOnly(survey_id)) {
    return SendPage(response, {StatusCode::kPermissionDenied}, InvitationRequiredPage());
  }
  std::string used_ref;
  if (!view.token.empty()) {
    auto invitation = FindInvitation(ingest_, response, view.token, survey_id, "请稍后重新打开链接。");
    if (!invitation) return;
    view.fixed_town = invitation->town_code;
    used_ref = TokenSourceRef(invitation->token_hash);
  } else {
    used_ref = ingest_.DeviceSourceRef(device.device_id, survey_id, view.period);
  }
  auto answered = ingest_.AlreadyAnswered(used_ref);
  if (answered.ok() && *answered) {
    return SendPage(
        response, {StatusCode::kOk},
        RenderMessagePage(survey->title, "您已提交过，感谢参与", "这份问卷您已经填写过了，不需要再次填写。"));
  }
  FreshFormKeys(view, ingest_.hasher(), device.device_id);
  SendPage(response, {StatusCode::kOk}, RenderSurveyForm(view, ingest_.areas(), options_.privacy));
}

namespace {

// The form's answers (q_<code> fields) in the survey's order; a blank text answer is no answer.
void ReadFormAnswers(const std::vector<std::pair<std::string, std::string>>& form,
                     const SurveyDefinition& survey, FormView& view) {
  for (const Question& q : survey.questions) {
    const std::string name = "q_" + q.code;
    for (const auto& [k, v] : form) {
      if (k != name) continue;
      if (q.type == QuestionType::kText && Trim(v).empty()) continue;
      view.answers[q.code].push_back(v);
    }
  }
}

// The town: fixed by the invitation, chosen from the county's list, or found by name within the county
// (an error for the form when no town or several match).
void ResolveTown(const AreaRegistry& areas, FormView& view) {
  if (!view.fixed_town.empty()) {
    view.town = view.fixed_town;
  } else {
    const Area* county = areas.Find(view.county);
    if (county == nullptr || county->level != AreaLevel::kCounty) view.county.clear();
    if (!view.town.empty() && !(areas.IsTown(view.town) && (view.county.empty() || areas.Contains(view.county, view.town)))) {
      view.town.clear();
    }
    if (!view.town.empty() && view.county.empty()) view.county = view.town.substr(0, 6);
    const std::string within = view.county.empty() ? std::string("32") : view.county;
    if (view.town.empty() && !view.town_name.empty()) {
      std::vector<const Area*> hits;
      for (const Area* t : areas.TownsWithin(within)) {
        if (t->name == view.town_name) {
          hits = {t};
          break;
        }
        if (t->name.find(view.town_name) != std::string::npos) hits.push_back(t);
      }
      if (hits.size() == 1) {
        view.town = hits.front()->code;
        view.county = view.town.substr(0, 6);
      } else if (hits.empty()) {
        view.errors["town"] = "没有找到名称包含“" + view.town_name + "”的乡镇（街道），请换个写法或从列表中选择。";
      } else {
        view.errors["town"] = "找到 " + std::to_string(hits.size()) + " 个名称相近的乡镇（街道），请从列表中选择。";
        if (view.county.empty()) view.county = hits.front()->code.substr(0, 6);
      }
    }
    if (!view.county.empty()) view.town_choices = areas.TownsWithin(view.county);
  }
}

// The keys a form was rendered with (idempotency key, time, CSRF token): kept when it is shown again.
struct FormKeys {
  std::string idem;
  std::string rendered_at;
  std::string csrf;
};

void KeepFormKeys(FormView& view, const FormKeys& keys) {
  view.idempotency_key = keys.idem;
  view.rendered_at = keys.rendered_at;
  view.csrf = keys.csrf;
}

// The submission of a posted form: its answers, town (unless the invitation fixes it) and keys.
Submission SubmissionFrom(const std::vector<std::pair<std::string, std::string>>& form, const FormView& view,
                          const std::string& survey_id, const FormKeys& keys) {
  Submission submission;
  submission.survey_id = survey_id;
  submission.period = view.period;
  submission.town_code = view.fixed_town.empty() ? view.town : std::string();
  submission.answers = view.answers;
  submission.token = view.token;
  submission.idempotency_key = keys.idem;
  try {
    submission.submitted_at_ms = std::stoll(keys.rendered_at);
  } catch (const std::exception&) {
    submission.submitted_at_ms = 0;
  }
  // The decoded form (not the URL-encoded bytes, so that phone numbers in it can be masked), without
  // the CSRF token.
  for (const auto& [k, v] : form) {
    if (k != "csrf") submission.raw_payload += k + "=" + v + "\n";
  }
  return submission;
}

// The page that answers a submission as the ingest service judged it: thanks, already answered, the form
// again with its errors, or (busy, unavailable) the form kept with a notice to submit again in a moment.
void SendSubmitOutcome(http::Response& response, const IngestResult& result, const SurveyDefinition& survey,
                       FormView& view, const FormKeys& keys, const AreaRegistry& areas,
                       const PrivacyNotice& privacy) {
  switch (result.code) {
    case IngestCode::kStored:
    case IngestCode::kDuplicate:
      return SendPage(response, {StatusCode::kOk},
                      RenderMessagePage(survey.title, "提交成功，感谢您的参与！",
                                        "您的答卷已经保存。您的意见对改进平安建设和网格工作很重要。"));
    case IngestCode::kConflict:
      return SendPage(response, {StatusCode::kOk},
                      RenderMessagePage(survey.title, "您已提交过，感谢参与",
                                        "这份问卷您已经填写过了，不需要再次填写。"));
    case IngestCode::kInvalid: {
      bool closed = false;
      for (const FieldError& e : result.errors) {
        if (e.field == "period") closed = true;
        if (e.field == "token") {
          return SendPage(response, {StatusCode::kNotFound},
                          RenderMessagePage("链接无效", "邀请链接无效", "这个链接不完整或已失效。"));
        }
        const std::string key = e.field.rfind("answers.", 0) == 0 ? e.field.substr(8) : e.field;
        if (!view.errors.count(key)) view.errors[key] = ChineseFieldMessage(e);
      }
      if (closed) {
        return SendPage(response, {StatusCode::kInvalidInput, http::ErrorKind::kUnprocessable},
                        RenderMessagePage(survey.title, "本次调查已经结束", "感谢您的关注。"));
      }
      KeepFormKeys(view, keys);
      return SendPage(response, {StatusCode::kInvalidInput, http::ErrorKind::kUnprocessable},
                      RenderSurveyForm(view, areas, privacy));
    }
    case IngestCode::kInvitationRequired:
      return SendPage(response, {StatusCode::kPermissionDenied}, InvitationRequiredPage());
    case IngestCode::kTownCapReached:
      return SendPage(
          response, {StatusCode::kResourceExhausted},
          RenderMessagePage(
              survey.title, "本乡镇（街道）的网上答卷已满",
              "本次调查在您所在乡镇（街道）的网上答卷数量已达到上限，暂不再接收，感谢您的参与。"));
    case IngestCode::kBusy:
    case IngestCode::kUnavailable:
    case IngestCode::kForbidden:
      break;
  }
  response.set("Retry-After", "2");
  view.notice = "现在提交的人比较多，您的选择已保留，请稍等几秒后再点一次“提交问卷”。";
  KeepFormKeys(view, keys);
  SendPage(response, {StatusCode::kUnavailable}, RenderSurveyForm(view, areas, privacy));
}

}  // namespace

void WebCollector::PostPage(http::Request& request, http::Response& response, const std::string& survey_id) {
  if (int wait = limiter_.Take(http::ClientAddress(request, options_.trust_forwarded_for)); wait > 0) {
    response.set("Retry-After", std::to_string(wait));
    return SendPage(
        response, {StatusCode::kResourceExhausted},
        RenderMessagePage("请稍后再试", "请稍后再试", "您的操作太频繁了，请过一会儿再点“提交”。"));
  }
  auto survey = ingest_.surveys().Find(survey_id);
  if (survey == nullptr) {
    return SendPage(response, {StatusCode::kNotFound},
                    RenderMessagePage("问卷不存在", "没有找到这份问卷", "请检查链接是否完整。"));
  }
  std::string body;
  if (!http::ReadBody(request, response, options_.max_form_bytes, body)) {
    return SendPage(response, {StatusCode::kResourceExhausted, http::ErrorKind::kTooLarge},
                    RenderMessagePage("内容太长", "提交的内容太长", "请缩短意见建议后再提交。"));
  }
  const auto form = ParsePageForm(body);
  const PageRequest device = DeviceOf(request);
  SetDeviceCookie(response, device, options_.secure_cookies);
  const AreaRegistry& areas = ingest_.areas();

  FormView view;
  view.survey = survey.get();
  view.period = ingest_.PagePeriod();
  view.token = FormValue(form, "t");
  view.county = FormValue(form, "county");
  view.town = FormValue(form, "town");
  view.town_name = Trim(FormValue(form, "town_name"));
  ReadFormAnswers(form, *survey, view);
  if (!view.token.empty()) {
    auto invitation = FindInvitation(ingest_, response, view.token, survey_id, "请稍后再点“提交”。");
    if (!invitation) return;
    view.fixed_town = invitation->town_code;
  }
  ResolveTown(areas, view);
  if (view.token.empty() && ingest_.InvitationOnly(survey_id)) {
    if (FormValue(form, "action") == "submit") {
      ingest_.CountRefused(Submitter{}, "invitation_required", survey_id, view.period, view.town);
    }
    return SendPage(response, {StatusCode::kPermissionDenied}, InvitationRequiredPage());
  }
  const FormKeys keys{FormValue(form, "k"), FormValue(form, "rt"), FormValue(form, "csrf")};
  const bool csrf_ok = !device.new_device && !keys.idem.empty() &&
                       ConstantTimeEquals(keys.csrf, CsrfFor(ingest_.hasher(), device.device_id, survey_id,
                                                             keys.idem, keys.rendered_at, view.token));
  if (FormValue(form, "action") != "submit" || !csrf_ok) {
    if (FormValue(form, "action") == "submit" && device.new_device) {
      // Counted per town for the data-quality view: a browser that keeps no cookie can answer again.
      ingest_.CountRefused(Submitter{}, "no_device_cookie", survey_id, view.period, view.town);
    }
    if (FormValue(form, "action") == "submit") {
      view.notice =
          "页面已过期，您的选择已保留，请再点一次“提交问卷”。（如果反复出现，请允许浏览器保存 Cookie。）";
    }
    // Keep the same idempotency key while the form is being filled in; a new one only when missing.
    if (csrf_ok) {
      KeepFormKeys(view, keys);
    } else {
      FreshFormKeys(view, ingest_.hasher(), device.device_id);
    }
    return SendPage(response,
                    {FormValue(form, "action") == "submit" ? StatusCode::kPermissionDenied : StatusCode::kOk},
                    RenderSurveyForm(view, areas, options_.privacy));
  }
  if (!view.errors.empty()) {
    KeepFormKeys(view, keys);
    return SendPage(response, {StatusCode::kInvalidInput, http::ErrorKind::kUnprocessable},
                    RenderSurveyForm(view, areas, options_.privacy));
  }

  const Submission submission = SubmissionFrom(form, view, survey_id, keys);
  Submitter who;
  who.kind = Submitter::Kind::kPage;
  who.device_id = device.device_id;
  const IngestResult result = ingest_.SubmitOne(submission, who);
  SendSubmitOutcome(response, result, *survey, view, keys, areas, options_.privacy);
}

}  // namespace minyi::collector
