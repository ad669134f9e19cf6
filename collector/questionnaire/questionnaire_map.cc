#include "collector/questionnaire/questionnaire_map.h"

#include <Poco/DigestEngine.h>
#include <Poco/DirectoryIterator.h>
#include <Poco/Exception.h>
#include <Poco/File.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Path.h>
#include <Poco/SHA2Engine.h>
#include <unicode/uchar.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "core/json_text.h"
#include "core/text/unicode_text.h"

namespace minyi::collector::questionnaire {
namespace {

using text::NfkcFold;
using text::ToUtf32;
using text::ToUtf8;

// Trims ASCII whitespace, NBSP and the ideographic space (exported headers carry trailing spaces).
std::string TrimAll(std::string_view s) {
  auto starts_space = [](std::string_view t) -> std::size_t {
    if (t.empty()) return 0;
    if (t[0] == ' ' || t[0] == '\t' || t[0] == '\r' || t[0] == '\n') return 1;
    if (t.substr(0, 2) == "\xC2\xA0") return 2;
    if (t.substr(0, 3) == "\xE3\x80\x80") return 3;
    return 0;
  };
  auto ends_space = [](std::string_view t) -> std::size_t {
    if (t.empty()) return 0;
    const char c = t.back();
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') return 1;
    if (t.size() >= 2 && t.substr(t.size() - 2) == "\xC2\xA0") return 2;
    if (t.size() >= 3 && t.substr(t.size() - 3) == "\xE3\x80\x80") return 3;
    return 0;
  };
  while (std::size_t n = starts_space(s)) s.remove_prefix(n);
  while (std::size_t n = ends_space(s)) s.remove_suffix(n);
  return std::string(s);
}

// Drops a 问卷星 fill-in "〖...〗" (其他〖住在附近〗 → 其他).
std::string WithoutFillIn(std::string_view value) {
  const std::size_t open = value.find("\xE3\x80\x96");  // 〖
  if (open == std::string_view::npos) return std::string(value);
  return TrimAll(value.substr(0, open));
}

std::vector<std::string> SplitChoices(std::string_view cell, bool multi) {
  std::vector<std::string> out;
  if (!multi) {
    out.push_back(TrimAll(cell));
    return out;
  }
  std::string current;
  std::size_t i = 0;
  while (i < cell.size()) {
    if (cell.substr(i, 3) == "\xE2\x94\x8B") {  // ┋
      out.push_back(TrimAll(current));
      current.clear();
      i += 3;
    } else if (cell[i] == '|') {
      out.push_back(TrimAll(current));
      current.clear();
      ++i;
    } else {
      current += cell[i++];
    }
  }
  out.push_back(TrimAll(current));
  return out;
}

std::optional<std::size_t> PositiveIndex(std::string_view s) {
  if (s.empty() || s.size() > 3) return std::nullopt;
  std::size_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<std::size_t>(c - '0');
  }
  if (v == 0) return std::nullopt;
  return v;
}

const Option* FindOptionByText(const Question& q, std::string_view text) {
  const std::string norm = NormalizeText(text);
  if (norm.empty()) return nullptr;
  for (const Option& o : q.options) {
    if (NormalizeText(o.label) == norm) return &o;
  }
  for (const Option& o : q.options) {
    for (const std::string& alias : o.aliases) {
      if (NormalizeText(alias) == norm) return &o;
    }
  }
  return nullptr;
}

std::optional<std::string> LookupOverride(const std::map<std::string, std::string>* overrides, std::string_view key) {
  if (overrides == nullptr) return std::nullopt;
  if (auto it = overrides->find(std::string(key)); it != overrides->end()) return it->second;
  const std::string norm = NormalizeText(key);
  for (const auto& [k, v] : *overrides) {
    if (!norm.empty() && NormalizeText(k) == norm) return v;
  }
  return std::nullopt;
}

std::string Fingerprint(const std::vector<std::string>& header) {
  Poco::SHA2Engine engine(Poco::SHA2Engine::SHA_256);
  for (const std::string& h : header) {
    const std::string n = NormalizeText(h);
    engine.update(n.data(), static_cast<unsigned>(n.size()));
    engine.update("\x1f", 1);
  }
  return Poco::DigestEngine::digestToHex(engine.digest()).substr(0, 12);
}

// A header cell taken apart: its question number (0: none), the title, and for a 0/1 column the
// option text in parentheses.
struct HeaderParts {
  std::size_t number = 0;
  std::string title;
  bool option_flag = false;
  std::string option_text;
};

HeaderParts ParseHeaderCell(const std::string& trimmed) {
  static const std::regex kFlag(R"(^(?:第)?(\d+)(?:题)?\s*\((.*)\)$)");
  static const std::regex kNumbered(R"(^(?:q)?(\d+)\s*(?:、|\.|:|\)|\s)\s*(.+)$)");
  static const std::regex kNth(R"(^第(\d+)题\s*(?:、|\.|:)?\s*(.+)$)");
  HeaderParts parts;
  const std::string folded = NfkcFold(trimmed);
  std::smatch m;
  if (std::regex_match(folded, m, kFlag)) {
    parts.number = std::stoul(m[1].str());
    parts.option_flag = true;
    parts.option_text = TrimAll(m[2].str());
    return parts;
  }
  if (std::regex_match(folded, m, kNth) || std::regex_match(folded, m, kNumbered)) {
    parts.number = m[1].length() <= 4 ? std::stoul(m[1].str()) : 0;
    parts.title = TrimAll(m[2].str());
    return parts;
  }
  parts.title = folded;
  return parts;
}

const Question* MatchTitleImpl(const SurveyDefinition& survey, std::string_view title) {
  const std::string norm = NormalizeText(title);
  if (norm.empty()) return nullptr;
  for (const Question& q : survey.questions) {
    if (NormalizeText(q.text) == norm) return &q;
  }
  const Question* found = nullptr;
  int count = 0;
  for (const Question& q : survey.questions) {
    const std::string text = NormalizeText(q.text);
    const std::string& shorter = text.size() < norm.size() ? text : norm;
    if (ToUtf32(shorter).size() < 4) continue;
    if (text.find(norm) != std::string::npos || norm.find(text) != std::string::npos) {
      found = &q;
      ++count;
    }
  }
  return count == 1 ? found : nullptr;
}

std::optional<std::string> MappedQuestion(const QuestionnaireMap* map, std::size_t number, std::string_view title) {
  if (map == nullptr) return std::nullopt;
  if (number > 0) {
    if (auto it = map->questions.find(std::to_string(number)); it != map->questions.end()) return it->second;
  }
  if (!title.empty()) {
    const std::string norm = NormalizeText(title);
    for (const auto& [k, v] : map->questions) {
      if (NormalizeText(k) == norm) return v;
    }
  }
  return std::nullopt;
}

bool NamesColumn(std::string_view wanted, const HeaderParts& parts, const std::string& trimmed) {
  if (wanted.empty()) return false;
  const std::string w = TrimAll(wanted);
  if (auto n = PositiveIndex(w); n && parts.number == *n) return true;
  const std::string norm = NormalizeText(w);
  return !norm.empty() && (NormalizeText(parts.title) == norm || NormalizeText(trimmed) == norm);
}

bool HeaderIs(const std::string& trimmed, std::initializer_list<std::string_view> names) {
  const std::string norm = NormalizeText(trimmed);
  for (std::string_view n : names) {
    if (norm == NormalizeText(n)) return true;
  }
  return false;
}

Status CheckMapAgainstCatalog(const QuestionnaireMap& map, const SurveyCatalog& catalog) {
  if (map.survey.empty()) return Status::Ok();
  auto survey = catalog.Find(map.survey);
  if (!survey) return Status::InvalidInput("$.survey: unknown survey '" + map.survey + "'");
  for (const auto& [key, code] : map.questions) {
    if (!survey->FindQuestion(code)) {
      return Status::InvalidInput("$.questions." + key + ": '" + code + "' is not a question of " + map.survey);
    }
  }
  for (const auto& [code, options] : map.options) {
    const Question* q = survey->FindQuestion(code);
    if (!q) return Status::InvalidInput("$.options." + code + ": not a question of " + map.survey);
    for (const auto& [key, option] : options) {
      if (!q->FindOption(option)) {
        return Status::InvalidInput("$.options." + code + "." + key + ": '" + option + "' is not an option of " +
                                    code);
      }
    }
  }
  return Status::Ok();
}

}  // namespace

const Question* MatchQuestionTitle(const SurveyDefinition& survey, std::string_view title) {
  return MatchTitleImpl(survey, title);
}

std::string_view ProviderName(Provider provider) {
  return provider == Provider::kWjx ? "wjx" : "txwj";
}

std::optional<Provider> ParseProvider(std::string_view name) {
  if (name == "wjx" || name == "问卷星") return Provider::kWjx;
  if (name == "txwj" || name == "腾讯问卷") return Provider::kTxwj;
  return std::nullopt;
}

std::string NormalizeText(std::string_view text) {
  std::u32string out;
  for (char32_t c : ToUtf32(NfkcFold(text))) {
    const auto cp = static_cast<UChar32>(c);
    if (u_isUWhiteSpace(cp) || u_ispunct(cp) || c == U'\uFFFD') continue;
    out.push_back(c);
  }
  return ToUtf8(out);
}

bool IsNoAnswer(std::string_view value) {
  const std::string v = TrimAll(value);
  return v.empty() || v == "-2" || v == "-3" || v == "-" || v == "(跳过)" || v == "（跳过）" || v == "(空)" ||
         v == "（空）";
}

Result<std::vector<std::string>> ResolveAnswer(const Question& question, std::string_view cell,
                                               const std::map<std::string, std::string>* overrides) {
  std::vector<std::string> codes;
  if (question.type == QuestionType::kText) {
    if (!IsNoAnswer(cell)) codes.push_back(TrimAll(cell));
    return codes;
  }
  for (const std::string& token : SplitChoices(cell, question.type == QuestionType::kMulti)) {
    if (IsNoAnswer(token)) continue;
    std::optional<std::string> code = LookupOverride(overrides, token);
    if (!code) {
      const std::string plain = WithoutFillIn(token);
      if (const Option* o = FindOptionByText(question, plain)) {
        code = o->code;
      } else if (auto n = PositiveIndex(NfkcFold(plain)); n && *n <= question.options.size()) {
        code = question.options[*n - 1].code;
      }
    }
    if (!code) {
      return Status::InvalidInput("'" + token + "' is not an option of " + question.code + " (neither its text nor 1.." +
                                  std::to_string(question.options.size()) + ")");
    }
    if (std::find(codes.begin(), codes.end(), *code) == codes.end()) codes.push_back(*code);
  }
  return codes;
}

Result<std::string> ResolveTown(const AreaRegistry& areas, std::string_view value, std::string_view within) {
  std::string v = TrimAll(value);
  if (v.empty() || IsNoAnswer(v)) return Status::InvalidInput("no town given");
  if (v.size() == 9 && std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    if (!areas.IsTown(v)) return Status::InvalidInput("town " + v + " is not a known town code");
    if (!within.empty() && !areas.Contains(within, v)) {
      return Status::InvalidInput("town " + v + " is not in " + std::string(within));
    }
    return v;
  }
  for (std::string_view open : {"(", "（"}) {
    const std::size_t p = v.find(open);
    if (p != std::string::npos && p > 0) v = TrimAll(v.substr(0, p));
  }
  std::vector<const Area*> found = areas.FindTownsByName(v, within);
  if (found.empty()) {
    for (std::string_view suffix : {"街道", "镇", "乡"}) {
      for (const Area* a : areas.FindTownsByName(v + std::string(suffix), within)) found.push_back(a);
    }
  }
  const std::string where = within.empty() ? std::string() : " in " + std::string(within);
  if (found.empty()) return Status::InvalidInput("town '" + v + "' not found" + where);
  if (found.size() > 1) {
    return Status::InvalidInput("town name '" + v + "' is ambiguous" + where + " (" + std::to_string(found.size()) +
                                " towns; give the county)");
  }
  return found.front()->code;
}

Result<std::int64_t> ParseSubmitTime(std::string_view text, int utc_offset_minutes) {
  const std::string t = TrimAll(text);
  if (t.empty()) return Status::InvalidInput("no submission time");
  char* end = nullptr;
  const double serial = std::strtod(t.c_str(), &end);
  if (end != nullptr && *end == '\0' && serial > 1 && serial < 2958466) {
    const double ms = (serial - 25569.0) * 86400000.0 - utc_offset_minutes * 60000.0;
    return static_cast<std::int64_t>(std::llround(ms));
  }
  static const std::regex kDate(R"(^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T]+(\d{1,2}):(\d{2})(?::(\d{2}))?)?(.*)$)");
  std::smatch m;
  if (!std::regex_match(t, m, kDate)) return Status::InvalidInput("'" + t + "' is not a date and time");
  char buf[40];
  std::snprintf(buf, sizeof buf, "%s-%02d-%02d %02d:%s:%s", m[1].str().c_str(), std::stoi(m[2].str()),
                std::stoi(m[3].str()), m[4].matched ? std::stoi(m[4].str()) : 0,
                m[5].matched ? m[5].str().c_str() : "00", m[6].matched ? m[6].str().c_str() : "00");
  auto parsed = ParseTimestamp(std::string(buf) + m[7].str(), utc_offset_minutes);
  if (!parsed.ok()) return Status::InvalidInput("'" + t + "' is not a date and time");
  return parsed.value();
}

Result<QuestionnaireMap> ParseQuestionnaireMap(std::string_view json, const SurveyCatalog* catalog) {
  Poco::Dynamic::Var root;
  try {
    Poco::JSON::Parser parser;
    root = parser.parse(std::string(json));
  } catch (const Poco::Exception& e) {
    return Status::InvalidInput("not valid JSON: " + e.displayText());
  }
  Poco::JSON::Object::Ptr obj;
  try {
    obj = root.extract<Poco::JSON::Object::Ptr>();
  } catch (const Poco::Exception&) {
    return Status::InvalidInput("$: expected an object");
  }
  QuestionnaireMap map;
  static const std::set<std::string> kKeys = {"provider", "id", "survey", "period", "town", "town_question",
                                              "county", "town_options", "questions", "options"};
  auto as_string = [](const Poco::Dynamic::Var& v, const std::string& path) -> Result<std::string> {
    if (v.isString()) return v.extract<std::string>();
    if (v.isInteger()) return v.convert<std::string>();
    return Status::InvalidInput(path + ": expected a string");
  };
  auto as_string_map = [&](const Poco::Dynamic::Var& v,
                           const std::string& path) -> Result<std::map<std::string, std::string>> {
    if (v.type() != typeid(Poco::JSON::Object::Ptr)) return Status::InvalidInput(path + ": expected an object");
    std::map<std::string, std::string> out;
    const auto o = v.extract<Poco::JSON::Object::Ptr>();
    for (const auto& [k, val] : *o) {
      auto s = as_string(val, path + "." + k);
      if (!s.ok()) return s.status();
      out[k] = s.value();
    }
    return out;
  };
  for (const auto& [key, value] : *obj) {
    const std::string path = "$." + key;
    if (kKeys.count(key) == 0) return Status::InvalidInput(path + ": unknown key");
    if (key == "questions" || key == "town_options") {
      auto m = as_string_map(value, path);
      if (!m.ok()) return m.status();
      (key == "questions" ? map.questions : map.town_options) = std::move(m).value();
      continue;
    }
    if (key == "options") {
      if (value.type() != typeid(Poco::JSON::Object::Ptr)) return Status::InvalidInput(path + ": expected an object");
      for (const auto& [code, inner] : *value.extract<Poco::JSON::Object::Ptr>()) {
        auto m = as_string_map(inner, path + "." + code);
        if (!m.ok()) return m.status();
        map.options[code] = std::move(m).value();
      }
      continue;
    }
    auto s = as_string(value, path);
    if (!s.ok()) return s.status();
    if (key == "provider") {
      map.provider = ParseProvider(s.value());
      if (!map.provider) return Status::InvalidInput(path + ": expected \"wjx\" or \"txwj\"");
    } else if (key == "id") {
      map.id = s.value();
    } else if (key == "survey") {
      map.survey = s.value();
    } else if (key == "period") {
      if (auto p = Period::Parse(s.value()); !p.ok()) return Status::InvalidInput(path + ": " + p.status().message());
      map.period = s.value();
    } else if (key == "town") {
      map.town = s.value();
    } else if (key == "town_question") {
      map.town_question = s.value();
    } else if (key == "county") {
      map.county = s.value();
    }
  }
  if (catalog != nullptr) MINYI_RETURN_IF_ERROR(CheckMapAgainstCatalog(map, *catalog));
  return map;
}

Result<std::vector<QuestionnaireMap>> LoadQuestionnaireMaps(const std::string& directory,
                                                           const SurveyCatalog* catalog) {
  std::vector<QuestionnaireMap> maps;
  std::vector<std::string> files;
  try {
    Poco::File dir(directory);
    if (!dir.exists() || !dir.isDirectory()) return maps;
    for (Poco::DirectoryIterator it(directory), end; it != end; ++it) {
      if (Poco::Path(it->path()).getExtension() == "json") files.push_back(it->path());
    }
  } catch (const Poco::Exception& e) {
    return Status::Unavailable("reading " + directory + ": " + e.displayText());
  }
  std::sort(files.begin(), files.end());
  for (const std::string& file : files) {
    std::ifstream in(file, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    if (!in) return Status::Unavailable("cannot read " + file);
    auto map = ParseQuestionnaireMap(text.str(), catalog);
    if (!map.ok()) return map.status().WithContext(file);
    maps.push_back(std::move(map).value());
  }
  return maps;
}

std::optional<Provider> DetectProvider(const std::vector<std::string>& header) {
  for (const std::string& h : header) {
    if (HeaderIs(TrimAll(h), {"提交答卷时间", "所用时间", "来自IP", "来源详情"})) return Provider::kWjx;
  }
  for (const std::string& h : header) {
    if (HeaderIs(TrimAll(h), {"编号", "开始答题时间", "结束答题时间", "答题时长", "回答编号"}))
      return Provider::kTxwj;
  }
  return std::nullopt;
}

Result<Layout> AnalyzeHeader(const std::vector<std::string>& header, const SurveyDefinition& survey,
                             const HeaderOptions& options) {
  Layout layout;
  layout.fingerprint = Fingerprint(header);
  std::vector<std::string> trimmed;
  for (const std::string& h : header) trimmed.push_back(TrimAll(h));

  // Provider: forced, from the map, else by the columns only one of them writes.
  std::optional<Provider> provider = options.provider;
  if (!provider && options.map != nullptr) provider = options.map->provider;
  if (!provider) provider = DetectProvider(trimmed);
  if (!provider) {
    return Status::InvalidInput(
        "header: neither a 问卷星 export (序号, 提交答卷时间, ...) nor a 腾讯问卷 download (编号, 结束答题时间, ...); "
        "give --provider");
  }
  layout.provider = *provider;

  std::string town_column = options.town_column;
  if (town_column.empty() && options.map != nullptr) town_column = options.map->town_question;

  std::optional<std::size_t> id_column;
  std::map<std::size_t, std::vector<std::size_t>> flag_columns;  // question number → columns
  std::map<std::size_t, std::string> number_to_code;
  std::size_t mapped = 0;
  std::set<std::string> seen_codes;
  for (std::size_t i = 0; i < trimmed.size(); ++i) {
    Column col;
    col.header = trimmed[i];
    const HeaderParts parts = ParseHeaderCell(trimmed[i]);
    if (!id_column && parts.number == 0 &&
        HeaderIs(trimmed[i], {"序号", "编号", "答卷编号", "回答编号", "answer_id", "answerid", "joinid"})) {
      col.role = Column::Role::kAnswerId;
      id_column = i;
    } else if (!layout.time_column && parts.number == 0 &&
               HeaderIs(trimmed[i], {"提交答卷时间", "结束答题时间", "提交时间", "答题结束时间", "ended_at", "submittime"})) {
      col.role = Column::Role::kSubmitted;
      layout.time_column = i;
    } else if (!layout.town_column && NamesColumn(town_column, parts, trimmed[i])) {
      col.role = Column::Role::kTown;
      layout.town_column = i;
    } else if (parts.option_flag) {
      col.role = Column::Role::kOptionFlag;
      col.option = std::string::npos;
      flag_columns[parts.number].push_back(i);
    } else if (parts.number > 0 || !parts.title.empty()) {
      std::optional<std::string> code = MappedQuestion(options.map, parts.number, parts.title);
      if (!code) {
        if (const Question* q = MatchQuestionTitle(survey, parts.title)) code = q->code;
      }
      if (code && survey.FindQuestion(*code) != nullptr) {
        if (!seen_codes.insert(*code).second) {
          layout.warnings.push_back("column '" + trimmed[i] + "' maps to " + *code +
                                    " like an earlier column; ignored");
        } else {
          col.role = Column::Role::kQuestion;
          col.question = *code;
          if (parts.number > 0) number_to_code[parts.number] = *code;
          ++mapped;
        }
      } else if (parts.number > 0) {
        layout.warnings.push_back("column '" + trimmed[i] + "' matches no question of " + survey.id + "; ignored");
      }
    }
    layout.columns.push_back(std::move(col));
  }

  // 0/1 columns (第6题(运动)): the question is the mapped one, the numbered column's, or the unique
  // choice question whose options include every column's option text.
  for (const auto& [number, cols] : flag_columns) {
    std::optional<std::string> code = MappedQuestion(options.map, number, {});
    if (!code) {
      if (auto it = number_to_code.find(number); it != number_to_code.end()) code = it->second;
    }
    if (!code) {
      // The question matching most of the option texts (more than half of them), if unique: an
      // option the survey does not have is then a warning, not a lost question.
      const Question* found = nullptr;
      std::size_t best = 0;
      bool tie = false;
      for (const Question& q : survey.questions) {
        if (q.type == QuestionType::kText) continue;
        const auto hits = static_cast<std::size_t>(std::count_if(cols.begin(), cols.end(), [&](std::size_t c) {
          return FindOptionByText(q, ParseHeaderCell(trimmed[c]).option_text) != nullptr;
        }));
        if (hits > best) {
          best = hits;
          found = &q;
          tie = false;
        } else if (hits == best && hits > 0) {
          tie = true;
        }
      }
      if (found != nullptr && !tie && best * 2 > cols.size()) code = found->code;
    }
    const Question* q = code ? survey.FindQuestion(*code) : nullptr;
    if (q == nullptr || (seen_codes.count(q->code) != 0 && number_to_code.count(number) == 0)) {
      layout.warnings.push_back("the 0/1 columns of question " + std::to_string(number) +
                                " match no question of " + survey.id + "; ignored");
      for (std::size_t c : cols) layout.columns[c].role = Column::Role::kIgnored;
      continue;
    }
    seen_codes.insert(q->code);
    for (std::size_t c : cols) {
      Column& col = layout.columns[c];
      col.question = q->code;
      const std::string text = ParseHeaderCell(trimmed[c]).option_text;
      std::optional<std::string> over;
      if (options.map != nullptr) {
        auto it = options.map->options.find(q->code);
        if (it != options.map->options.end()) over = LookupOverride(&it->second, text);
      }
      for (std::size_t k = 0; k < q->options.size(); ++k) {
        if ((over && q->options[k].code == *over) || (!over && FindOptionByText(*q, text) == &q->options[k])) {
          col.option = k;
        }
      }
      if (col.option == std::string::npos) {
        layout.warnings.push_back("column '" + col.header + "' is not an option of " + q->code +
                                  "; a row choosing it is rejected");
      }
    }
    ++mapped;
  }

  if (!id_column) {
    return Status::InvalidInput("header: no answer id column (问卷星 序号, 腾讯问卷 编号); without it re-imports "
                                "cannot be recognised");
  }
  layout.id_column = *id_column;
  if (!town_column.empty() && !layout.town_column) {
    return Status::InvalidInput("header: no column '" + town_column + "' (the town column)");
  }
  if (mapped == 0) {
    return Status::InvalidInput("header: no column matches a question of survey " + survey.id +
                                " (match the titles or give a map with \"questions\")");
  }
  return layout;
}

Result<ConvertedRow> ConvertRow(const Layout& layout, const SurveyDefinition& survey,
                                const std::vector<std::string>& cells, int utc_offset_minutes,
                                const QuestionnaireMap* map) {
  ConvertedRow row;
  std::vector<std::string> problems;
  std::string raw = "{";
  std::map<std::string, std::vector<std::string>> flags;  // question → chosen codes from 0/1 columns
  std::set<std::string> flag_skipped;
  for (std::size_t i = 0; i < layout.columns.size(); ++i) {
    const Column& col = layout.columns[i];
    const std::string cell = i < cells.size() ? cells[i] : std::string();
    if (col.header != "来自IP" && !(col.header.empty() && cell.empty())) {
      if (raw.size() > 1) raw += ",";
      raw += JsonString(col.header) + ":" + JsonString(cell);
    }
    switch (col.role) {
      case Column::Role::kIgnored:
        break;
      case Column::Role::kAnswerId:
        row.answer_id = TrimAll(cell);
        if (row.answer_id.empty()) {
          problems.push_back("no answer id in column '" + col.header + "'");
        } else if (std::string why = AnswerIdProblem(row.answer_id); !why.empty()) {
          problems.push_back("answer id in column '" + col.header + "' " + why);
          row.answer_id.clear();  // never echoed into a reference
        }
        break;
      case Column::Role::kSubmitted: {
        auto t = ParseSubmitTime(cell, utc_offset_minutes);
        if (t.ok()) {
          row.submitted_at_ms = t.value();
        } else {
          problems.push_back("column '" + col.header + "': " + t.status().message());
        }
        break;
      }
      case Column::Role::kTown:
        row.town_value = TrimAll(cell);
        break;
      case Column::Role::kQuestion: {
        const Question* q = survey.FindQuestion(col.question);
        const std::map<std::string, std::string>* over = nullptr;
        if (map != nullptr) {
          if (auto it = map->options.find(col.question); it != map->options.end()) over = &it->second;
        }
        auto codes = ResolveAnswer(*q, cell, over);
        if (!codes.ok()) {
          problems.push_back("column '" + col.header + "': " + codes.status().message());
        } else if (!codes->empty()) {
          row.answers[col.question] = std::move(codes).value();
        }
        break;
      }
      case Column::Role::kOptionFlag: {
        const std::string v = TrimAll(cell);
        if (IsNoAnswer(v)) {
          flag_skipped.insert(col.question);
        } else if (v == "1") {
          if (col.option == std::string::npos) {
            problems.push_back("column '" + col.header + "' is chosen but is not an option of " + col.question);
          } else {
            flags[col.question].push_back(survey.FindQuestion(col.question)->options[col.option].code);
          }
        } else if (v != "0") {
          problems.push_back("column '" + col.header + "': expected 0 or 1, got '" + v + "'");
        }
        break;
      }
    }
  }
  raw += "}";
  for (auto& [code, chosen] : flags) {
    if (row.answers.count(code) != 0) continue;  // a text column for the same question wins
    row.answers[code] = std::move(chosen);
  }
  if (!problems.empty()) {
    std::string reason;
    for (const std::string& p : problems) reason += (reason.empty() ? "" : "; ") + p;
    return Status::InvalidInput(reason);
  }
  row.raw_json = std::move(raw);
  return row;
}

std::string AnswerIdProblem(std::string_view id) {
  constexpr std::size_t kMaxAnswerIdBytes = 64;
  if (id.empty()) return "empty";
  if (id.size() > kMaxAnswerIdBytes) {
    return std::to_string(id.size()) + " bytes long; at most " + std::to_string(kMaxAnswerIdBytes) +
           " are accepted";
  }
  for (const char c : id) {
    const bool ok =
        (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' || c == '_';
    if (!ok) return "holds a character other than letters, digits, '-' and '_'";
  }
  return "";
}

}  // namespace minyi::collector::questionnaire
