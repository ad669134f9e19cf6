// Survey definitions (conf/surveys/*.json): the questions, their options (best first), and the
// indices computed from them. The JSON format is documented in conf/README.md.
//
// Loading validates everything and reports every problem found, one per line, each with the JSON
// path of the bad field ("$.questions[2].options[1].score: must be a number between 0 and 100").
// Unknown keys are errors, so a typo never passes silently. A loaded definition is immutable and safe
// to share between threads.
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/response.h"
#include "core/status.h"

namespace minyi {

enum class QuestionType { kSingle, kMulti, kText };
std::string_view QuestionTypeName(QuestionType t);  // "single", "multi", "text"

// The reserved demographic question codes used for raking (docs/methodology.md §3.1).
inline constexpr std::string_view kSexQuestion = "sex";
inline constexpr std::string_view kAgeBandQuestion = "age_band";

struct Option {
  std::string code;                  // stored in responses; unique within the question
  std::string label;                 // shown to residents, matched in replies
  std::vector<std::string> aliases;  // other words residents use for this option (matched in replies)
  // 0..100. ParseSurveyDefinition fills in the linear default (100 for the best non-missing option
  // down to 0 for the worst) where the file gives none, so after parsing every non-missing option of a
  // single/multi question has a score. Always nullopt for a missing option.
  std::optional<double> score;
  bool missing = false;              // "no answer" (说不清, 不了解): out of every index's domain
};

struct Question {
  std::string code;  // [a-z][a-z0-9_]*, unique within the survey
  std::string text;
  QuestionType type = QuestionType::kSingle;
  bool required = false;
  std::vector<Option> options;  // best first; empty for text questions

  const Option* FindOption(std::string_view option_code) const;
};

struct IndexItem {
  std::string question;  // a single-choice question code
  double weight = 1.0;   // item weight in a composite (normalised over the items)
};

struct IndexDefinition {
  std::string id;     // "security", "grid"
  std::string name;   // "群众安全感"
  // A plain index (`question` in the file) has one item of weight 1 and a non-empty positive set: it
  // yields a share and a score index. A composite (`items` in the file) has its items and an empty
  // positive set: it yields a score index only (the weighted mean of its items' scores).
  std::vector<IndexItem> items;
  std::vector<std::string> positive; // option codes of the positive set, in definition order
  int min_n = 30;                    // below: published with low_n = true (docs/methodology.md §5)

  bool IsComposite() const { return positive.empty(); }
};

// A field-level problem found when validating a response against a definition.
struct FieldError {
  std::string field;   // "answers.security", "town", "period"
  std::string reason;  // human-readable, English
};

// The longest accepted text answer, in Unicode code points.
inline constexpr std::size_t kMaxTextLength = 2000;

// How the survey is run in community WeChat groups (the optional `wechat` section, conf/README.md):
// a grid worker's message containing one of a prompt's markers asks that prompt's questions; group
// members' replies within the window are read as answers (collector/wechat/).
struct WechatPrompt {
  std::vector<std::string> markers;    // matched as substrings (after NFKC) of the message or 接龙 topic
  std::vector<std::string> questions;  // single/multi question codes, in the order replies answer them
};
struct WechatSettings {
  std::vector<WechatPrompt> prompts;   // at least one
  int reply_window_minutes = 4320;     // replies this long after the prompt are read (default 3 days)
  std::string location_question;       // a text question that receives a 接龙 entry's building or
                                       // community; empty: kept in the raw payload only
};

struct SurveyDefinition {
  std::string id;       // [a-z0-9][a-z0-9_-]*
  std::string title;    // shown to residents
  std::string version;  // changes whenever the definition changes; recorded with computed figures
  std::string description;
  std::vector<Question> questions;
  std::vector<IndexDefinition> indices;
  std::optional<WechatSettings> wechat;  // absent: the survey is not read from WeChat exports

  const Question* FindQuestion(std::string_view code) const;
  const IndexDefinition* FindIndex(std::string_view id) const;
  // The option's score: its configured score, else the linear default (100 for the best non-missing
  // option down to 0 for the worst). nullopt for a missing option or unknown code.
  std::optional<double> Score(const Question& question, std::string_view option_code) const;

  // Checks answers against the questions: unknown question codes, option codes not in the question,
  // several values for a single-choice question, duplicated multi-choice values, a missing option
  // combined with others, empty values, text over kMaxTextLength code points, not UTF-8 or with control
  // characters but tab/CR/LF, and (for a complete response only) required questions left out. Fields are
  // "answers.<question code>". Does not check town or period (the caller knows them). Empty result: valid.
  std::vector<FieldError> ValidateAnswers(const Answers& answers,
                                          Completion completion = Completion::kComplete) const;
};

// The default score of the rank-th of count non-missing options (best first): 100·(count-1-rank)/(count-1),
// 100 when count == 1.
double LinearScore(std::size_t rank, std::size_t count);

// Parses and validates one definition. Errors are kInvalidInput with the JSON path(s) of the bad
// field(s) in the message (all problems found, one per line).
Result<SurveyDefinition> ParseSurveyDefinition(std::string_view json_text);

// All definitions of a directory (every *.json file, read in file-name order), keyed by id.
// LoadDirectory fails with kNotFound when the directory does not exist, kUnavailable when a file
// cannot be read, and kInvalidInput listing every problem of every file, each line prefixed with the
// file name; a duplicate id is an error naming both files. A directory without *.json files gives an
// empty catalog. A built catalog is read-only and safe to share between threads; Add is not
// thread-safe.
class SurveyCatalog {
 public:
  static Result<SurveyCatalog> LoadDirectory(const std::string& directory);
  // Adds a definition, replacing one with the same id. A null pointer is ignored.
  void Add(std::shared_ptr<const SurveyDefinition> definition);

  // nullptr when unknown.
  std::shared_ptr<const SurveyDefinition> Find(std::string_view id) const;
  // Ordered by id.
  std::vector<std::shared_ptr<const SurveyDefinition>> All() const;

 private:
  std::map<std::string, std::shared_ptr<const SurveyDefinition>, std::less<>> by_id_;
};

}  // namespace minyi
