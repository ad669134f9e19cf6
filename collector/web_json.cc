#include "collector/web_json.h"

#include <Poco/Exception.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Parser.h>
#include <Poco/JSON/Stringifier.h>

#include <set>
#include <sstream>

#include "core/http/router.h"

namespace minyi::collector {
namespace {

using http::JsonEscape;

bool IsInteger(const Poco::Dynamic::Var& v) { return v.isInteger(); }

// An option code or text given as a string, or as a whole number (partners often send 1 for "1").
bool ScalarAnswer(const Poco::Dynamic::Var& v, std::string& out) {
  if (v.isString()) {
    out = v.extract<std::string>();
    return true;
  }
  if (IsInteger(v) && !v.isBoolean()) {
    out = v.convert<std::string>();
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

Status CheckJsonDepth(std::string_view body, int max_depth) {
  int depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (char c : body) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > max_depth) {
        return Status::InvalidInput("JSON nested deeper than " + std::to_string(max_depth) + " levels");
      }
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return Status::Ok();
}

Result<Poco::Dynamic::Var> ParseJsonBody(std::string_view body, int max_depth) {
  MINYI_RETURN_IF_ERROR(CheckJsonDepth(body, max_depth));
  if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) return Status::InvalidInput("JSON: empty body");
  try {
    Poco::JSON::Parser parser;
    return parser.parse(std::string(body));
  } catch (const Poco::Exception& e) {
    return Status::InvalidInput("JSON: " + e.message());
  } catch (const std::exception& e) {
    return Status::InvalidInput(std::string("JSON: ") + e.what());
  }
}

Submission SubmissionFromJson(const Poco::JSON::Object& o, std::string raw, std::vector<FieldError>& errors) {
  static const std::set<std::string> kKnown = {"survey",          "period", "town",         "answers",   "completion",
                                               "idempotency_key", "token",  "submitted_at", "respondent"};
  Submission s;
  s.raw_payload = std::move(raw);
  for (const auto& name : o.getNames()) {
    if (kKnown.count(name) == 0) errors.push_back({name, "unknown field"});
  }
  auto string_field = [&](const char* name, std::string& out, bool required) {
    if (!o.has(name) || o.isNull(name)) {
      if (required) errors.push_back({name, "is required"});
      return;
    }
    const Poco::Dynamic::Var v = o.get(name);
    if (!v.isString()) {
      errors.push_back({name, "must be a string"});
      return;
    }
    out = v.extract<std::string>();
  };
  string_field("survey", s.survey_id, true);
  string_field("town", s.town_code, false);
  string_field("token", s.token, false);
  string_field("respondent", s.respondent, false);
  if (s.respondent.size() > 128) errors.push_back({"respondent", "longer than 128 characters"});
  string_field("idempotency_key", s.idempotency_key, false);
  if (o.has("idempotency_key") && o.get("idempotency_key").isString() && !PrintableKey(s.idempotency_key)) {
    errors.push_back({"idempotency_key", "must be 1 to 128 printable ASCII characters without spaces"});
  }
  if (!o.has("period") || o.isNull("period")) {
    errors.push_back({"period", "is required"});
  } else {
    const Poco::Dynamic::Var v = o.get("period");
    std::string text;
    if (v.isString() || (IsInteger(v) && !v.isBoolean())) {
      text = v.convert<std::string>();
      auto p = Period::Parse(text);
      if (p.ok()) {
        s.period = *p;
      } else {
        errors.push_back({"period", p.status().message()});
      }
    } else {
      errors.push_back({"period", "must be a year (2025) or a string such as \"2025Q2\""});
    }
  }
  if (o.has("completion")) {
    std::string c;
    string_field("completion", c, false);
    if (c == "partial") {
      s.completion = Completion::kPartial;
    } else if (c != "complete" && o.get("completion").isString()) {
      errors.push_back({"completion", "must be \"complete\" or \"partial\""});
    }
  }
  if (o.has("submitted_at") && !o.isNull("submitted_at")) {
    std::string t;
    string_field("submitted_at", t, false);
    if (o.get("submitted_at").isString()) {
      auto ms = ParseTimestamp(t);
      if (ms.ok()) {
        s.submitted_at_ms = *ms;
      } else {
        errors.push_back({"submitted_at", ms.status().message()});
      }
    }
  }
  if (!o.has("answers") || o.isNull("answers")) {
    errors.push_back({"answers", "is required"});
  } else if (Poco::JSON::Object::Ptr answers = o.getObject("answers"); answers.isNull()) {
    errors.push_back({"answers", "must be an object of question code to answer"});
  } else {
    for (const auto& code : answers->getNames()) {
      const Poco::Dynamic::Var v = answers->get(code);
      const std::string field = "answers." + code;
      std::string scalar;
      if (ScalarAnswer(v, scalar)) {
        s.answers[code].push_back(scalar);
      } else if (Poco::JSON::Array::Ptr list = answers->getArray(code); !list.isNull()) {
        std::vector<std::string>& values = s.answers[code];
        for (std::size_t i = 0; i < list->size(); ++i) {
          if (!ScalarAnswer(list->get(static_cast<unsigned>(i)), scalar)) {
            errors.push_back({field + "[" + std::to_string(i) + "]", "must be an option code"});
            continue;
          }
          values.push_back(scalar);
        }
      } else if (v.isEmpty()) {
        continue;  // null: not answered
      } else {
        errors.push_back({field, "must be an option code, a list of option codes or a text"});
      }
    }
  }
  return s;
}

std::string ErrorJson(std::string_view code, std::string_view message, const std::vector<FieldError>& fields) {
  std::string out = "{\"error\":{\"code\":\"" + JsonEscape(code) + "\",\"message\":\"" + JsonEscape(message) + "\"";
  if (!fields.empty()) {
    out += ",\"fields\":[";
    for (std::size_t i = 0; i < fields.size(); ++i) {
      if (i > 0) out += ',';
      out += "{\"field\":\"" + JsonEscape(fields[i].field) + "\",\"reason\":\"" + JsonEscape(fields[i].reason) + "\"}";
    }
    out += "]";
  }
  return out + "}}";
}

std::string IngestResultJson(const IngestResult& r) {
  switch (r.code) {
    case IngestCode::kStored:
    case IngestCode::kDuplicate:
      return "{\"id\":" + std::to_string(r.response_id) + ",\"status\":\"" + std::string(r.CodeName()) + "\"}";
    case IngestCode::kConflict:
      return "{\"id\":" + std::to_string(r.response_id) + ",\"error\":{\"code\":\"conflict\",\"message\":\"" +
             JsonEscape(r.message) + "\"}}";
    case IngestCode::kInvalid:
      return ErrorJson("invalid_input", "the response does not fit the survey", r.errors);
    case IngestCode::kForbidden: return ErrorJson("permission_denied", r.message);
    case IngestCode::kBusy: return ErrorJson("busy", "too many requests in flight; retry shortly");
    case IngestCode::kUnavailable: return ErrorJson("unavailable", "the response could not be stored; retry");
  }
  return ErrorJson("internal", "internal error");
}

}  // namespace minyi::collector
