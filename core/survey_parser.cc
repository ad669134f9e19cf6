// The survey definition's JSON reader (ParseSurveyDefinition, core/survey.h): every field checked, every
// problem reported with its path (a definition is refused whole, listing all its errors). The model, the
// answer checks and the catalog are in core/survey.cc.
#include <Poco/Dynamic/Var.h>
#include <Poco/Exception.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/ParseHandler.h>
#include <Poco/JSON/Parser.h>

#include <algorithm>
#include <boost/algorithm/string/join.hpp>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <initializer_list>
#include <set>
#include <utility>

#include "core/survey.h"

namespace minyi {

using Poco::Dynamic::Var;
using Poco::JSON::Array;
using Poco::JSON::Object;

namespace {

bool IsObject(const Var& v) { return v.type() == typeid(Object::Ptr); }
bool IsArray(const Var& v) { return v.type() == typeid(Array::Ptr); }

std::string_view JsonTypeName(const Var& v) {
  if (v.isEmpty()) return "null";
  if (IsObject(v)) return "an object";
  if (IsArray(v)) return "an array";
  if (v.isBoolean()) return "a boolean";
  if (v.isString()) return "a string";
  if (v.isNumeric()) return "a number";
  return "an unsupported value";
}

bool IsNumber(const Var& v) { return !v.isEmpty() && !v.isBoolean() && !v.isString() && v.isNumeric(); }

std::string Quote(std::string_view s) { return "\"" + std::string(s) + "\""; }

bool IsLowerAsciiDigit(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

// [a-z][a-z0-9_]*
bool IsQuestionCode(std::string_view s) {
  if (s.empty() || s.size() > 64 || s[0] < 'a' || s[0] > 'z') return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return IsLowerAsciiDigit(c) || c == '_'; });
}

// [a-z0-9][a-z0-9_-]*
bool IsSurveyId(std::string_view s) {
  if (s.empty() || s.size() > 64 || !IsLowerAsciiDigit(s[0])) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return IsLowerAsciiDigit(c) || c == '_' || c == '-'; });
}

// [A-Za-z0-9_+-]{1,32}: option codes travel in SMS replies, CSV exports and URLs.
bool IsOptionCode(std::string_view s) {
  if (s.empty() || s.size() > 32) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '+' || c == '-';
  });
}

// Words are compared case-insensitively for ASCII letters (residents type "A" or "a").
std::string FoldAscii(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

constexpr std::size_t kMaxDemographicCodeLength = 16;

std::string Member(const std::string& path, std::string_view key) { return path + "." + std::string(key); }
std::string Element(const std::string& path, std::size_t i) { return path + "[" + std::to_string(i) + "]"; }

class DefinitionParser {
 public:
  Result<SurveyDefinition> Parse(std::string_view json_text) {
    if (json_text.size() >= 3 && json_text.substr(0, 3) == "\xEF\xBB\xBF") json_text.remove_prefix(3);
    Var root;
    try {
      Poco::JSON::Parser parser(new Poco::JSON::ParseHandler(/*preserveObjectOrder=*/true));
      root = parser.parse(std::string(json_text));
    } catch (const Poco::Exception& e) {
      return Status::InvalidInput("$: not valid JSON: " + e.displayText());
    } catch (const std::exception& e) {
      return Status::InvalidInput(std::string("$: not valid JSON: ") + e.what());
    }
    try {
      if (!IsObject(root)) {
        return Status::InvalidInput("$: must be an object, got " + std::string(JsonTypeName(root)));
      }
      ParseSurvey(*root.extract<Object::Ptr>());
    } catch (const Poco::Exception& e) {
      // Conversions are guarded by the type checks above; this is a safety net for odd values
      // (e.g. an integer too large for its target type).
      Error("$", "unreadable value: " + e.displayText());
    }
    if (!errors_.empty()) return Status::InvalidInput(boost::algorithm::join(errors_, "\n"));
    return std::move(survey_);
  }

 private:
  void Error(const std::string& path, std::string message) { errors_.push_back(path + ": " + message); }

  void CheckKeys(const Object& obj, const std::string& path,
                 std::initializer_list<std::string_view> allowed) {
    for (const std::string& key : obj.getNames()) {
      if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
        Error(Member(path, key), "unknown key");
      }
    }
  }

  // A non-empty string member. Reports a missing (when required), mistyped or empty value.
  std::optional<std::string> GetString(const Object& obj, const std::string& path, const std::string& key,
                                       bool required) {
    const std::string p = Member(path, key);
    if (!obj.has(key)) {
      if (required) Error(p, "required");
      return std::nullopt;
    }
    const Var v = obj.get(key);
    if (!v.isString()) {
      Error(p, "must be a string, got " + std::string(JsonTypeName(v)));
      return std::nullopt;
    }
    std::string s = v.toString();
    if (s.empty()) {
      Error(p, "must not be empty");
      return std::nullopt;
    }
    return s;
  }

  std::optional<bool> GetBool(const Object& obj, const std::string& path, const std::string& key) {
    if (!obj.has(key)) return std::nullopt;
    const Var v = obj.get(key);
    if (!v.isBoolean()) {
      Error(Member(path, key), "must be true or false, got " + std::string(JsonTypeName(v)));
      return std::nullopt;
    }
    return v.extract<bool>();
  }

  // Returns the array member, or null after reporting a missing (when required) or mistyped value.
  Array::Ptr GetArray(const Object& obj, const std::string& path, const std::string& key, bool required) {
    if (!obj.has(key)) {
      if (required) Error(Member(path, key), "required");
      return nullptr;
    }
    const Var v = obj.get(key);
    if (!IsArray(v)) {
      Error(Member(path, key), "must be an array, got " + std::string(JsonTypeName(v)));
      return nullptr;
    }
    return v.extract<Array::Ptr>();
  }

  void ParseSurvey(const Object& obj) {
    const std::string path = "$";
    CheckKeys(obj, path, {"id", "title", "version", "description", "questions", "indices", "wechat"});
    if (auto id = GetString(obj, path, "id", true)) {
      if (IsSurveyId(*id)) {
        survey_.id = *id;
      } else {
        Error(Member(path, "id"),
              "must match [a-z0-9][a-z0-9_-]* (at most 64 characters), got " + Quote(*id));
      }
    }
    if (auto title = GetString(obj, path, "title", true)) survey_.title = *title;
    if (auto version = GetString(obj, path, "version", true)) survey_.version = *version;
    if (auto description = GetString(obj, path, "description", false)) survey_.description = *description;

    if (Array::Ptr questions = GetArray(obj, path, "questions", true)) {
      if (questions->size() == 0) Error(Member(path, "questions"), "must not be empty");
      for (std::size_t i = 0; i < questions->size(); ++i) {
        ParseQuestion(questions->get(static_cast<unsigned>(i)), Element(Member(path, "questions"), i));
      }
    }
    if (Array::Ptr indices = GetArray(obj, path, "indices", false)) {
      for (std::size_t i = 0; i < indices->size(); ++i) {
        ParseIndex(indices->get(static_cast<unsigned>(i)), Element(Member(path, "indices"), i));
      }
    }
    if (obj.has("wechat")) ParseWechat(obj.get("wechat"), Member(path, "wechat"));
  }

  // A non-empty array of non-empty strings; reports problems and returns what is valid.
  std::vector<std::string> GetStringList(const Object& obj, const std::string& path, const std::string& key) {
    std::vector<std::string> out;
    Array::Ptr list = GetArray(obj, path, key, true);
    if (!list) return out;
    if (list->size() == 0) Error(Member(path, key), "must not be empty");
    for (std::size_t i = 0; i < list->size(); ++i) {
      const Var v = list->get(static_cast<unsigned>(i));
      if (!v.isString() || v.toString().empty()) {
        Error(Element(Member(path, key), i), "must be a non-empty string");
      } else {
        out.push_back(v.toString());
      }
    }
    return out;
  }

  void ParseWechat(const Var& value, const std::string& path) {
    if (!IsObject(value)) {
      Error(path, "must be an object, got " + std::string(JsonTypeName(value)));
      return;
    }
    const Object& obj = *value.extract<Object::Ptr>();
    CheckKeys(obj, path, {"prompts", "reply_window_minutes", "location_question"});
    WechatSettings settings;
    if (Array::Ptr prompts = GetArray(obj, path, "prompts", true)) {
      if (prompts->size() == 0) Error(Member(path, "prompts"), "must not be empty");
      for (std::size_t i = 0; i < prompts->size(); ++i) {
        const std::string p = Element(Member(path, "prompts"), i);
        const Var v = prompts->get(static_cast<unsigned>(i));
        if (!IsObject(v)) {
          Error(p, "must be an object, got " + std::string(JsonTypeName(v)));
          continue;
        }
        const Object& prompt_obj = *v.extract<Object::Ptr>();
        CheckKeys(prompt_obj, p, {"markers", "questions"});
        WechatPrompt prompt;
        prompt.markers = GetStringList(prompt_obj, p, "markers");
        const std::vector<std::string> codes = GetStringList(prompt_obj, p, "questions");
        for (std::size_t k = 0; k < codes.size(); ++k) {
          const Question* q = survey_.FindQuestion(codes[k]);
          if (q == nullptr) {
            Error(Element(Member(p, "questions"), k), "no question " + Quote(codes[k]));
          } else if (q->type == QuestionType::kText) {
            Error(Element(Member(p, "questions"), k),
                  "question " + Quote(codes[k]) + " is a text question; replies answer choice questions");
          } else {
            prompt.questions.push_back(codes[k]);
          }
        }
        settings.prompts.push_back(std::move(prompt));
      }
    }
    if (obj.has("reply_window_minutes")) {
      const Var v = obj.get("reply_window_minutes");
      const bool ok =
          IsNumber(v) && v.isInteger() && v.convert<double>() >= 1 && v.convert<double>() <= 525600;
      if (ok) {
        settings.reply_window_minutes = static_cast<int>(v.convert<std::int64_t>());
      } else {
        Error(Member(path, "reply_window_minutes"), "must be a whole number of minutes between 1 and 525600");
      }
    }
    if (auto location = GetString(obj, path, "location_question", false)) {
      const Question* q = survey_.FindQuestion(*location);
      if (q == nullptr || q->type != QuestionType::kText) {
        Error(Member(path, "location_question"), "must name a text question, got " + Quote(*location));
      } else {
        settings.location_question = *location;
      }
    }
    survey_.wechat = std::move(settings);
  }

  void ParseQuestion(const Var& value, const std::string& path) {
    if (!IsObject(value)) {
      Error(path, "must be an object, got " + std::string(JsonTypeName(value)));
      return;
    }
    const Object& obj = *value.extract<Object::Ptr>();
    CheckKeys(obj, path, {"code", "text", "type", "required", "options"});
    Question q;
    bool code_ok = false;
    if (auto code = GetString(obj, path, "code", true)) {
      if (!IsQuestionCode(*code)) {
        Error(Member(path, "code"),
              "must match [a-z][a-z0-9_]* (at most 64 characters), got " + Quote(*code));
      } else if (survey_.FindQuestion(*code) != nullptr) {
        Error(Member(path, "code"), "duplicate question code " + Quote(*code));
      } else {
        q.code = *code;
        code_ok = true;
      }
    }
    if (auto text = GetString(obj, path, "text", true)) q.text = *text;
    bool type_ok = false;
    if (auto type = GetString(obj, path, "type", true)) {
      if (*type == "single") {
        q.type = QuestionType::kSingle;
        type_ok = true;
      } else if (*type == "multi") {
        q.type = QuestionType::kMulti;
        type_ok = true;
      } else if (*type == "text") {
        q.type = QuestionType::kText;
        type_ok = true;
      } else {
        Error(Member(path, "type"), "must be \"single\", \"multi\" or \"text\", got " + Quote(*type));
      }
    }
    if (auto required = GetBool(obj, path, "required")) q.required = *required;

    if (type_ok && code_ok && (q.code == kSexQuestion || q.code == kAgeBandQuestion) &&
        q.type != QuestionType::kSingle) {
      Error(Member(path, "type"), "the reserved demographic question " + Quote(q.code) +
                                      " must be \"single\" (population margins are single categories)");
    }

    if (type_ok && q.type == QuestionType::kText) {
      if (obj.has("options")) Error(Member(path, "options"), "not allowed for a text question");
    } else if (Array::Ptr options = GetArray(obj, path, "options", type_ok)) {
      ParseOptions(*options, Member(path, "options"), q);
    }
    // Keep the question (even half-parsed) so that index checks can refer to it; a failed code is
    // not added, so it cannot shadow a valid duplicate.
    if (code_ok) survey_.questions.push_back(std::move(q));
  }

  void ParseOptions(const Array& options, const std::string& path, Question& q) {
    if (options.size() == 0) {
      Error(path, "must not be empty");
      return;
    }
    // Every word residents may reply with (labels and aliases, ASCII case-folded), and option codes:
    // the SMS parser maps a word to exactly one option, so no word may belong to two options.
    std::map<std::string, std::pair<std::size_t, std::string>> words;  // word → (option index, code)
    std::vector<std::string> paths;
    std::vector<bool> explicit_score;
    for (std::size_t i = 0; i < options.size(); ++i) {
      const std::string p = Element(path, i);
      const Var value = options.get(static_cast<unsigned>(i));
      if (!IsObject(value)) {
        Error(p, "must be an object, got " + std::string(JsonTypeName(value)));
        continue;
      }
      const Object& obj = *value.extract<Object::Ptr>();
      CheckKeys(obj, p, {"code", "label", "aliases", "score", "missing"});
      Option option;
      if (auto code = GetString(obj, p, "code", true)) {
        if (!IsOptionCode(*code)) {
          Error(Member(p, "code"),
                "must be 1 to 32 of the characters A-Z a-z 0-9 _ + -, got " + Quote(*code));
        } else if (q.FindOption(*code) != nullptr) {
          Error(Member(p, "code"), "duplicate option code " + Quote(*code) + " in question " + Quote(q.code));
        } else if ((q.code == kSexQuestion || q.code == kAgeBandQuestion) &&
                   code->size() > kMaxDemographicCodeLength) {
          // These codes are also the keys of population cells, which the stores keep in 16 characters.
          Error(Member(p, "code"), "codes of the reserved question " + Quote(q.code) + " are at most " +
                                       std::to_string(kMaxDemographicCodeLength) + " characters");
        } else {
          option.code = *code;
        }
      }
      if (auto label = GetString(obj, p, "label", true)) option.label = *label;
      if (Array::Ptr aliases = GetArray(obj, p, "aliases", false)) {
        for (std::size_t k = 0; k < aliases->size(); ++k) {
          const Var alias = aliases->get(static_cast<unsigned>(k));
          const std::string ap = Element(Member(p, "aliases"), k);
          if (!alias.isString()) {
            Error(ap, "must be a string, got " + std::string(JsonTypeName(alias)));
          } else if (alias.toString().empty()) {
            Error(ap, "must not be empty");
          } else {
            option.aliases.push_back(alias.toString());
          }
        }
      }
      if (auto missing = GetBool(obj, p, "missing")) option.missing = *missing;
      if (obj.has("score")) {
        const Var score = obj.get("score");
        if (option.missing) {
          Error(Member(p, "score"), "a missing (no answer) option has no score");
        } else if (!IsNumber(score) || !std::isfinite(score.convert<double>()) ||
                   score.convert<double>() < 0 || score.convert<double>() > 100) {
          Error(Member(p, "score"), "must be a number between 0 and 100");
        } else {
          option.score = score.convert<double>();
        }
      }
      if (option.code.empty()) continue;  // already reported; keeps later checks meaningful

      const std::size_t index = q.options.size();
      auto claim = [&](const std::string& word, const std::string& where) {
        auto [it, inserted] = words.emplace(FoldAscii(word), std::make_pair(index, option.code));
        if (!inserted && it->second.first != index) {
          Error(where, Quote(word) + " is already a label, alias or code of option " +
                           Quote(it->second.second) + " (replies must map to one option)");
        }
      };
      claim(option.code, Member(p, "code"));
      if (!option.label.empty()) claim(option.label, Member(p, "label"));
      for (std::size_t k = 0; k < option.aliases.size(); ++k) {
        claim(option.aliases[k], Element(Member(p, "aliases"), k));
      }
      paths.push_back(p);
      explicit_score.push_back(obj.has("score"));
      q.options.push_back(std::move(option));
    }

    // Scores: all non-missing options configured, or none (then the linear default). A mix is
    // almost always a forgotten score, which would silently get a default from the wrong scale.
    std::size_t non_missing = 0;
    std::size_t scored = 0;
    for (std::size_t i = 0; i < q.options.size(); ++i) {
      if (q.options[i].missing) continue;
      ++non_missing;
      if (explicit_score[i]) ++scored;
    }
    if (non_missing == 0 && !q.options.empty()) {
      Error(path, "needs at least one option that is not missing");
    }
    if (scored > 0 && scored < non_missing) {
      for (std::size_t i = 0; i < q.options.size(); ++i) {
        if (!q.options[i].missing && !explicit_score[i]) {
          Error(Member(paths[i], "score"),
                "required because other options of question " + Quote(q.code) +
                    " have a score (give every non-missing option a score, or none)");
        }
      }
    }
    std::size_t rank = 0;
    for (Option& option : q.options) {
      if (option.missing) continue;
      if (!option.score) option.score = LinearScore(rank, non_missing);
      ++rank;
    }
  }

  // Checks that `code` names a single-choice question usable in an index; returns it or null.
  const Question* IndexQuestion(const std::string& code, const std::string& path) {
    const Question* q = survey_.FindQuestion(code);
    if (q == nullptr) {
      Error(path, "unknown question " + Quote(code));
      return nullptr;
    }
    if (q->type != QuestionType::kSingle) {
      const char* kind = q->type == QuestionType::kText ? "a text" : "a multi-choice";
      Error(path, "question " + Quote(code) + " is " + kind +
                      " question; an index needs a single-choice question with scored options");
      return nullptr;
    }
    const bool has_scored = std::any_of(q->options.begin(), q->options.end(),
                                        [](const Option& o) { return !o.missing && o.score.has_value(); });
    if (!has_scored) {
      Error(path, "question " + Quote(code) + " has no scored (non-missing) option");
      return nullptr;
    }
    return q;
  }

  void ParseIndex(const Var& value, const std::string& path) {
    if (!IsObject(value)) {
      Error(path, "must be an object, got " + std::string(JsonTypeName(value)));
      return;
    }
    const Object& obj = *value.extract<Object::Ptr>();
    CheckKeys(obj, path, {"id", "name", "question", "items", "positive", "min_n"});
    IndexDefinition index;
    if (auto id = GetString(obj, path, "id", true)) {
      if (!IsQuestionCode(*id)) {
        Error(Member(path, "id"), "must match [a-z][a-z0-9_]* (at most 64 characters), got " + Quote(*id));
      } else if (survey_.FindIndex(*id) != nullptr) {
        Error(Member(path, "id"), "duplicate index id " + Quote(*id));
      } else {
        index.id = *id;
      }
    }
    if (auto name = GetString(obj, path, "name", true)) index.name = *name;

    const bool has_question = obj.has("question");
    const bool has_items = obj.has("items");
    if (has_question && has_items) {
      Error(path, "give either \"question\" (a plain index) or \"items\" (a composite), not both");
    } else if (!has_question && !has_items) {
      Error(path, "needs \"question\" (a plain index) or \"items\" (a composite)");
    }

    const Question* question = nullptr;
    if (has_question) {
      if (auto code = GetString(obj, path, "question", true)) {
        question = IndexQuestion(*code, Member(path, "question"));
        index.items.push_back({*code, 1.0});
      }
    }
    if (has_items) ParseItems(obj, path, index);

    if (has_question) {
      ParsePositive(obj, path, question, index);
    } else if (obj.has("positive")) {
      Error(Member(path, "positive"),
            "only a plain index (with \"question\") has a positive set; "
            "a composite yields a score index only");
    }

    if (obj.has("min_n")) {
      const Var v = obj.get("min_n");
      bool ok = IsNumber(v) && v.isInteger();
      if (ok) {
        const double d = v.convert<double>();
        ok = d >= 1 && d <= 1e6;
        if (ok) index.min_n = static_cast<int>(v.convert<std::int64_t>());
      }
      if (!ok) Error(Member(path, "min_n"), "must be a whole number between 1 and 1000000");
    }
    if (!index.id.empty()) survey_.indices.push_back(std::move(index));
  }

  void ParseItems(const Object& obj, const std::string& path, IndexDefinition& index) {
    Array::Ptr items = GetArray(obj, path, "items", true);
    if (!items) return;
    const std::string items_path = Member(path, "items");
    if (items->size() == 0) Error(items_path, "must not be empty");
    for (std::size_t i = 0; i < items->size(); ++i) {
      const std::string p = Element(items_path, i);
      const Var value = items->get(static_cast<unsigned>(i));
      if (!IsObject(value)) {
        Error(p, "must be an object, got " + std::string(JsonTypeName(value)));
        continue;
      }
      const Object& item_obj = *value.extract<Object::Ptr>();
      CheckKeys(item_obj, p, {"question", "weight"});
      IndexItem item;
      if (auto code = GetString(item_obj, p, "question", true)) {
        const bool duplicate = std::any_of(index.items.begin(), index.items.end(),
                                           [&](const IndexItem& other) { return other.question == *code; });
        if (duplicate) {
          Error(Member(p, "question"), "question " + Quote(*code) + " is already an item of this index");
        } else if (IndexQuestion(*code, Member(p, "question")) != nullptr) {
          item.question = *code;
        }
      }
      if (item_obj.has("weight")) {
        const Var w = item_obj.get("weight");
        if (!IsNumber(w) || !std::isfinite(w.convert<double>()) || w.convert<double>() <= 0) {
          Error(Member(p, "weight"), "must be a number greater than 0");
        } else {
          item.weight = w.convert<double>();
        }
      }
      if (!item.question.empty()) index.items.push_back(item);
    }
  }

  void ParsePositive(const Object& obj, const std::string& path, const Question* question,
                     IndexDefinition& index) {
    Array::Ptr positive = GetArray(obj, path, "positive", true);
    if (!positive) return;
    const std::string positive_path = Member(path, "positive");
    if (positive->size() == 0) {
      Error(positive_path, "must not be empty");
      return;
    }
    for (std::size_t i = 0; i < positive->size(); ++i) {
      const std::string p = Element(positive_path, i);
      const Var v = positive->get(static_cast<unsigned>(i));
      if (!v.isString()) {
        Error(p, "must be a string (an option code), got " + std::string(JsonTypeName(v)));
        continue;
      }
      const std::string code = v.toString();
      if (std::find(index.positive.begin(), index.positive.end(), code) != index.positive.end()) {
        Error(p, "option " + Quote(code) + " is listed twice");
        continue;
      }
      if (question != nullptr) {
        const Option* option = question->FindOption(code);
        if (option == nullptr) {
          Error(p, "option " + Quote(code) + " is not an option of question " + Quote(question->code));
          continue;
        }
        if (option->missing) {
          Error(p, "option " + Quote(code) + " of question " + Quote(question->code) +
                       " is a missing (no answer) option and cannot be positive");
          continue;
        }
      }
      index.positive.push_back(code);
    }
  }

  SurveyDefinition survey_;
  std::vector<std::string> errors_;
};

}  // namespace

Result<SurveyDefinition> ParseSurveyDefinition(std::string_view json_text) {
  return DefinitionParser().Parse(json_text);
}

}  // namespace minyi
