#include "collector/web_json.h"

#include <set>

#include "core/http/error_reply.h"

namespace minyi::collector {
namespace {

using http::ErrorJson;

// An option code or text given as a string, or as a whole number (partners often send 1 for "1").
bool ScalarAnswer(const JsonValue& v, std::string& out) {
  if (v.is_string() || v.is_integer()) {
    out = v.text();
    return true;
  }
  return false;
}

bool PrintableKey(const std::string& s) {
  if (s.empty() || s.size() > 128) return false;
  for (char c : s) {
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

}  // namespace

Submission SubmissionFromJson(const JsonValue& o, std::string raw, std::vector<FieldError>& errors) {
  static const std::set<std::string, std::less<>> kKnown = {
      "survey", "period", "town", "answers", "completion", "idempotency_key", "token", "submitted_at", "respondent"};
  Submission s;
  s.raw_payload = std::move(raw);
  for (const auto& member : o.members()) {  // sorted by name
    if (kKnown.count(member.first) == 0) errors.push_back({member.first, "unknown field"});
  }
  auto present = [&](const char* name) -> const JsonValue* {
    const JsonValue* v = o.Find(name);
    return v == nullptr || v->is_null() ? nullptr : v;
  };
  auto string_field = [&](const char* name, std::string& out, bool required) {
    const JsonValue* v = present(name);
    if (v == nullptr) {
      if (required) errors.push_back({name, "is required"});
      return false;
    }
    if (!v->is_string()) {
      errors.push_back({name, "must be a string"});
      return false;
    }
    out = v->text();
    return true;
  };
  string_field("survey", s.survey_id, true);
  string_field("town", s.town_code, false);
  string_field("token", s.token, false);
  string_field("respondent", s.respondent, false);
  if (s.respondent.size() > 128) errors.push_back({"respondent", "longer than 128 characters"});
  if (string_field("idempotency_key", s.idempotency_key, false) && !PrintableKey(s.idempotency_key)) {
    errors.push_back({"idempotency_key", "must be 1 to 128 printable ASCII characters without spaces"});
  }
  if (const JsonValue* v = present("period"); v == nullptr) {
    errors.push_back({"period", "is required"});
  } else if (v->is_string() || v->is_integer()) {
    auto p = Period::Parse(v->text());
    if (p.ok()) {
      s.period = *p;
    } else {
      errors.push_back({"period", p.status().message()});
    }
  } else {
    errors.push_back({"period", "must be a year (2025) or a string such as \"2025Q2\""});
  }
  if (std::string c; string_field("completion", c, false)) {
    if (c == "partial") {
      s.completion = Completion::kPartial;
    } else if (c != "complete") {
      errors.push_back({"completion", "must be \"complete\" or \"partial\""});
    }
  }
  if (std::string t; string_field("submitted_at", t, false)) {
    auto ms = ParseTimestamp(t);
    if (ms.ok()) {
      s.submitted_at_ms = *ms;
    } else {
      errors.push_back({"submitted_at", ms.status().message()});
    }
  }
  const JsonValue* answers = present("answers");
  if (answers == nullptr) {
    errors.push_back({"answers", "is required"});
  } else if (!answers->is_object()) {
    errors.push_back({"answers", "must be an object of question code to answer"});
  } else {
    for (const auto& [code, v] : answers->members()) {
      std::string scalar;
      if (ScalarAnswer(v, scalar)) {
        s.answers[code].push_back(std::move(scalar));
      } else if (v.is_array()) {
        std::vector<std::string>& values = s.answers[code];
        for (std::size_t i = 0; i < v.items().size(); ++i) {
          if (!ScalarAnswer(v.items()[i], scalar)) {
            errors.push_back({"answers." + code + "[" + std::to_string(i) + "]", "must be an option code"});
            continue;
          }
          values.push_back(std::move(scalar));
        }
      } else if (v.is_null()) {
        continue;  // not answered
      } else {
        errors.push_back({"answers." + code, "must be an option code, a list of option codes or a text"});
      }
    }
  }
  return s;
}

std::string IngestResultJson(const IngestResult& r) {
  switch (r.code) {
    case IngestCode::kStored:
    case IngestCode::kDuplicate:
      return "{\"id\":" + std::to_string(r.response_id) + ",\"status\":\"" + std::string(r.CodeName()) + "\"}";
    case IngestCode::kConflict:
      return "{\"id\":" + std::to_string(r.response_id) +
             ",\"error\":" + http::ErrorObject("conflict", r.message) + "}";
    case IngestCode::kInvalid:
      return ErrorJson("invalid_input", "the response does not fit the survey", r.errors);
    case IngestCode::kForbidden: return ErrorJson("permission_denied", r.message);
    case IngestCode::kInvitationRequired:
      return ErrorJson("invitation_required", r.message);
    case IngestCode::kTownCapReached:
      return ErrorJson("town_cap", r.message);
    case IngestCode::kBusy: return ErrorJson("busy", "too many requests in flight; retry shortly");
    case IngestCode::kUnavailable: return ErrorJson("unavailable", "the response could not be stored; retry");
  }
  return ErrorJson("internal", "internal error");
}

}  // namespace minyi::collector
