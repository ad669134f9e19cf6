// From questionnaire columns and values to survey answers: which column is which survey question
// (by an explicit map or by matching the question title), which option a value names (its text,
// label or alias, or its number), which town a row belongs to, and when it was submitted.
//
// Matching normalizes both sides the same way (NormalizeText): NFKC (fullwidth → ASCII, circled
// digits), ASCII lowercase, whitespace and punctuation removed. Values -2 and -3 (问卷星: skipped /
// not shown), "(跳过)" and "(空)" are "no answer", never an option.
//
// Everything here is a pure function of its inputs; thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/areas.h"
#include "core/response.h"
#include "core/status.h"
#include "core/survey.h"

namespace minyi::collector::questionnaire {

enum class Provider { kWjx, kTxwj };
std::string_view ProviderName(Provider provider);  // "wjx", "txwj"
std::optional<Provider> ParseProvider(std::string_view name);  // "wjx"/"问卷星", "txwj"/"腾讯问卷"

// A questionnaire map file (JSON, docs/channels.md §4.4; README "Questionnaires"): how one provider
// questionnaire feeds one survey. Every field is optional for a file import; the live endpoints need
// provider, id and survey.
struct QuestionnaireMap {
  std::optional<Provider> provider;
  std::string id;             // the provider's questionnaire id (问卷星 activity, 腾讯问卷 survey_id)
  std::string survey;         // survey definition id
  std::string period;         // "2026", "2026Q2"; empty: the year the answer was submitted (UTC+8)
  std::string town;           // a fixed 9-digit town code
  std::string town_question;  // the question (number, id or title) answered with the town's name
  std::string county;         // county (or city) code the town names are looked up in
  std::map<std::string, std::string> town_options;  // answer value (option number/text) → town code
  // Provider question (number "3", 腾讯问卷 question id "q-1-abcd", or title) → survey question code.
  std::map<std::string, std::string> questions;
  // Survey question code → (option text, number or provider option id → option code).
  std::map<std::string, std::map<std::string, std::string>> options;
};

// Parses and checks one map (unknown keys and wrong types are errors naming the JSON path). When a
// catalog is given, the survey, its question codes and option codes are checked too.
Result<QuestionnaireMap> ParseQuestionnaireMap(std::string_view json, const SurveyCatalog* catalog = nullptr);
// Every *.json file of a directory; a missing directory gives none. Errors name the file.
Result<std::vector<QuestionnaireMap>> LoadQuestionnaireMaps(const std::string& directory,
                                                           const SurveyCatalog* catalog = nullptr);

// NFKC, ASCII lowercase, without whitespace and punctuation (for matching titles and option texts).
std::string NormalizeText(std::string_view text);

// Why an answer id (问卷星 序号/index/joinid, 腾讯问卷 编号/answer_id) cannot name a response, or "" when it
// can: 1 to 64 ASCII letters, digits, '-' or '_'. It becomes part of the stored source_ref (an indexed
// column of at most 191 bytes), so anything longer or stranger is refused rather than cut.
std::string AnswerIdProblem(std::string_view id);

// True for the values that mean "not answered": "", -2, -3, (跳过), (空), "-".
bool IsNoAnswer(std::string_view value);

// The option codes a cell gives for `question`. Choice questions: the cell holds option texts
// (labels or aliases, matched normalized; a 问卷星 "其他〖...〗" fill-in is ignored for matching) or option
// numbers (1 = the first option of the question), several joined with ┋ or | for a multi-choice
// question; `overrides` (text/number/id → code) are tried first. Text questions: the trimmed cell.
// No answer → empty vector. kInvalidInput names the value that matches no option.
Result<std::vector<std::string>> ResolveAnswer(const Question& question, std::string_view cell,
                                               const std::map<std::string, std::string>* overrides = nullptr);

// The town a value names: a 9-digit town code, or a town name (a parenthesised suffix dropped;
// "长西" also finds "长西街道"/"长西镇"/"长西乡") unique within `within` (a county or city code; empty:
// the whole province). kInvalidInput says "not found" or "ambiguous".
Result<std::string> ResolveTown(const AreaRegistry& areas, std::string_view value, std::string_view within);

// "2026-06-16 08:00:00", "2026/9/3 12:00", "2026-06-16T08:00:00+08:00" (local at utc_offset_minutes
// unless an offset is given), or an Excel serial date number (days since 1899-12-30, local).
Result<std::int64_t> ParseSubmitTime(std::string_view text, int utc_offset_minutes);

// The survey question a title names: equal after NormalizeText, else the unique question whose text
// contains the title or is contained in it (at least 4 characters on the shorter side). nullptr: none.
const Question* MatchQuestionTitle(const SurveyDefinition& survey, std::string_view title);

// ---- Export headers --------------------------------------------------------------------------

struct Column {
  enum class Role { kIgnored, kAnswerId, kSubmitted, kQuestion, kOptionFlag, kTown };
  Role role = Role::kIgnored;
  std::string header;        // as exported, trimmed
  std::string question;      // survey question code (kQuestion, kOptionFlag)
  std::size_t option = 0;    // kOptionFlag: index into the question's options; npos = not an option
};

// The provider whose export header this is, by the columns only one of them writes (问卷星:
// 提交答卷时间, 所用时间, 来自IP, 来源详情; 腾讯问卷: 编号, 开始/结束答题时间, 答题时长, 回答编号); nullopt
// for anything else (a chat export's header, a data row).
std::optional<Provider> DetectProvider(const std::vector<std::string>& header);

struct HeaderOptions {
  std::optional<Provider> provider;  // forced; otherwise detected from the header
  std::string town_column;           // the column (number or title) naming the town; also map.town_question
  const QuestionnaireMap* map = nullptr;
};

struct Layout {
  Provider provider = Provider::kWjx;
  std::vector<Column> columns;       // one per header cell
  std::size_t id_column = 0;         // the answer id column (问卷星 序号, 腾讯问卷 编号)
  std::optional<std::size_t> time_column;
  std::optional<std::size_t> town_column;
  std::vector<std::string> warnings; // columns that match no survey question, ...
  std::string fingerprint;           // 12 hex digits of SHA-256 over the normalized header
};

// Assigns every header cell its role. kInvalidInput when there is no answer id column, no column
// maps to a survey question, or the town column is named but absent.
Result<Layout> AnalyzeHeader(const std::vector<std::string>& header, const SurveyDefinition& survey,
                             const HeaderOptions& options);

struct ConvertedRow {
  std::string answer_id;
  std::int64_t submitted_at_ms = 0;  // 0 without a time column
  std::string town_value;            // the town column's value (resolve with ResolveTown), may be empty
  Answers answers;
  std::string raw_json;              // {"header": "value", ...} without the 来自IP column (audit)
};

// Reads one data row. kInvalidInput with every problem found ("column '3、...': '很' is not an
// option of security; ...").
Result<ConvertedRow> ConvertRow(const Layout& layout, const SurveyDefinition& survey,
                                const std::vector<std::string>& cells, int utc_offset_minutes,
                                const QuestionnaireMap* map = nullptr);

}  // namespace minyi::collector::questionnaire
