#include "core/survey.h"

#include <algorithm>
#include <boost/algorithm/string/join.hpp>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "core/text/unicode_text.h"

namespace minyi {

std::string_view QuestionTypeName(QuestionType t) {
  switch (t) {
    case QuestionType::kSingle:
      return "single";
    case QuestionType::kMulti:
      return "multi";
    case QuestionType::kText:
      return "text";
  }
  return "unknown";
}

const Option* Question::FindOption(std::string_view option_code) const {
  for (const Option& option : options) {
    if (option.code == option_code) return &option;
  }
  return nullptr;
}

const Question* SurveyDefinition::FindQuestion(std::string_view code) const {
  for (const Question& question : questions) {
    if (question.code == code) return &question;
  }
  return nullptr;
}

const IndexDefinition* SurveyDefinition::FindIndex(std::string_view index_id) const {
  for (const IndexDefinition& index : indices) {
    if (index.id == index_id) return &index;
  }
  return nullptr;
}

double LinearScore(std::size_t rank, std::size_t count) {
  if (count <= 1) return 100.0;
  return 100.0 * static_cast<double>(count - 1 - rank) / static_cast<double>(count - 1);
}

std::optional<double> SurveyDefinition::Score(const Question& question, std::string_view option_code) const {
  std::size_t non_missing = 0;
  for (const Option& option : question.options) {
    if (!option.missing) ++non_missing;
  }
  std::size_t rank = 0;
  for (const Option& option : question.options) {
    if (option.code == option_code) {
      if (option.missing) return std::nullopt;
      if (option.score) return option.score;
      return LinearScore(rank, non_missing);
    }
    if (!option.missing) ++rank;
  }
  return std::nullopt;
}

std::vector<FieldError> SurveyDefinition::ValidateAnswers(const Answers& answers, Completion completion) const {
  std::vector<FieldError> errors;
  auto add = [&errors](const std::string& code, std::string reason) {
    errors.push_back({"answers." + code, std::move(reason)});
  };
  for (const auto& [code, values] : answers) {
    const Question* q = FindQuestion(code);
    if (q == nullptr) {
      std::vector<std::string> codes;
      for (const Question& known : questions) codes.push_back(known.code);
      add(code, "unknown question \"" + code + "\" (survey " + id + " has: " + boost::algorithm::join(codes, ", ") + ")");
      continue;
    }
    if (values.empty()) {
      add(code, "no value given (leave an unanswered question out)");
      continue;
    }
    if (q->type == QuestionType::kText) {
      if (values.size() > 1) {
        add(code, "text question " + code + " takes one text, got " + std::to_string(values.size()));
        continue;
      }
      const std::string& text = values.front();
      const std::optional<std::size_t> length = minyi::text::CodePointCount(text);
      const auto control = std::find_if(text.begin(), text.end(), [](char c) {
        const auto b = static_cast<unsigned char>(c);
        return (b < 0x20 && b != '\t' && b != '\n' && b != '\r') || b == 0x7F;
      });
      if (!length) {
        add(code, "text is not valid UTF-8");
      } else if (control != text.end()) {
        // NUL cuts the text short in C APIs and log lines; escape sequences drive terminals.
        char hex[8];
        std::snprintf(hex, sizeof hex, "%04X", static_cast<unsigned>(static_cast<unsigned char>(*control)));
        add(code, std::string("text holds the control character U+") + hex +
                      " (only tab and line breaks are accepted)");
      } else if (text.find_first_not_of(" \t\r\n") == std::string::npos) {
        add(code, "empty text (leave an unanswered question out)");
      } else if (*length > kMaxTextLength) {
        add(code, "text is " + std::to_string(*length) + " characters long; at most " +
                      std::to_string(kMaxTextLength) + " are accepted");
      }
      continue;
    }
    if (q->type == QuestionType::kSingle && values.size() > 1) {
      add(code, "question " + code + " takes one answer, got " + std::to_string(values.size()));
      continue;
    }
    // Imports validate every row here: the list of valid codes is built only for an error message,
    // and the set of values seen only when there are several (it was a fifth of a CSV import's time).
    std::set<std::string_view> seen;
    std::size_t distinct = 0;
    bool has_missing = false;
    for (const std::string& value : values) {
      if (value.empty()) {
        add(code, "empty value");
        continue;
      }
      const Option* option = q->FindOption(value);
      if (option == nullptr) {
        std::vector<std::string> valid;
        for (const Option& known : q->options) valid.push_back(known.code);
        add(code, "option \"" + value + "\" is not an option of question " + code + " (valid: " +
                      boost::algorithm::join(valid, ", ") + ")");
        continue;
      }
      if (values.size() > 1 && !seen.insert(value).second) {
        add(code, "option \"" + value + "\" is given more than once");
        continue;
      }
      ++distinct;
      has_missing = has_missing || option->missing;
    }
    if (has_missing && distinct > 1) {
      add(code, "a no-answer option cannot be combined with other options");
    }
  }
  if (completion == Completion::kComplete) {
    for (const Question& q : questions) {
      if (q.required && answers.find(q.code) == answers.end()) {
        add(q.code, "required question " + q.code + " is not answered");
      }
    }
  }
  return errors;
}

Result<SurveyCatalog> SurveyCatalog::LoadDirectory(const std::string& directory) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(directory, ec)) {
    return Status::NotFound("survey directory " + directory + " does not exist or is not a directory");
  }
  std::vector<fs::path> files;
  for (fs::directory_iterator it(directory, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->path().extension() == ".json" && it->is_regular_file(ec)) files.push_back(it->path());
  }
  if (ec) return Status::Unavailable("cannot list survey directory " + directory + ": " + ec.message());
  std::sort(files.begin(), files.end(),
            [](const fs::path& a, const fs::path& b) { return a.filename() < b.filename(); });

  SurveyCatalog catalog;
  std::map<std::string, std::string> file_of_id;
  std::vector<std::string> errors;
  for (const fs::path& file : files) {
    const std::string name = file.filename().string();
    std::ifstream in(file, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    if (!in.good() && !in.eof()) {
      return Status::Unavailable(name + ": cannot read " + file.string());
    }
    Result<SurveyDefinition> parsed = ParseSurveyDefinition(text.str());
    if (!parsed.ok()) {
      std::istringstream lines(parsed.status().message());
      for (std::string line; std::getline(lines, line);) errors.push_back(name + ": " + line);
      continue;
    }
    const std::string id = parsed->id;
    auto [it, inserted] = file_of_id.emplace(id, name);
    if (!inserted) {
      errors.push_back(name + ": survey id \"" + id + "\" is already defined in " + it->second);
      continue;
    }
    catalog.Add(std::make_shared<const SurveyDefinition>(std::move(parsed).value()));
  }
  if (!errors.empty()) return Status::InvalidInput(boost::algorithm::join(errors, "\n"));
  return catalog;
}

void SurveyCatalog::Add(std::shared_ptr<const SurveyDefinition> definition) {
  if (!definition) return;
  const std::string id = definition->id;
  by_id_[id] = std::move(definition);
}

std::shared_ptr<const SurveyDefinition> SurveyCatalog::Find(std::string_view survey_id) const {
  auto it = by_id_.find(survey_id);
  return it == by_id_.end() ? nullptr : it->second;
}

std::vector<std::shared_ptr<const SurveyDefinition>> SurveyCatalog::All() const {
  std::vector<std::shared_ptr<const SurveyDefinition>> all;
  all.reserve(by_id_.size());
  for (const auto& entry : by_id_) all.push_back(entry.second);
  return all;
}

}  // namespace minyi
