#include "collector/response_import.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <utility>

#include "collector/text_util.h"
#include "core/csv.h"
#include "core/csv_cell.h"
#include "core/population.h"
#include "core/privacy.h"

namespace minyi::collector {
namespace {

constexpr std::size_t kMaxIdBytes = 191;  // fits an indexed VARCHAR on every supported backend

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

struct Columns {
  std::optional<std::size_t> source_ref, survey, period, town, channel, submitted_at, respondent_key, weight,
      completion;
  std::vector<std::pair<std::size_t, std::string>> questions;  // (column, question code)
  std::size_t count = 0;
};

Result<Columns> ParseHeader(const std::vector<std::string>& header, const SurveyCatalog& catalog) {
  std::set<std::string> known_questions;
  for (const auto& definition : catalog.All()) {
    for (const Question& q : definition->questions) known_questions.insert(q.code);
  }
  Columns columns;
  columns.count = header.size();
  const std::map<std::string, std::optional<std::size_t> Columns::*> standard = {
      {"source_ref", &Columns::source_ref},         {"survey", &Columns::survey},
      {"period", &Columns::period},                 {"town", &Columns::town},
      {"channel", &Columns::channel},               {"submitted_at", &Columns::submitted_at},
      {"respondent_key", &Columns::respondent_key}, {"weight", &Columns::weight},
      {"completion", &Columns::completion},
  };
  std::vector<std::string> problems;
  std::set<std::string> seen;
  for (std::size_t i = 0; i < header.size(); ++i) {
    const std::string name = AsciiLower(Trim(header[i]));
    if (name.empty()) {
      problems.push_back("column " + std::to_string(i + 1) + " has no name");
      continue;
    }
    if (!seen.insert(name).second) {
      problems.push_back("column \"" + name + "\" appears more than once");
      continue;
    }
    auto it = standard.find(name);
    if (it != standard.end()) {
      columns.*(it->second) = i;
    } else if (known_questions.count(name) > 0) {
      columns.questions.emplace_back(i, name);
    } else {
      problems.push_back("column \"" + name + "\" is neither a standard column nor a question of any known survey");
    }
  }
  for (const char* required : {"source_ref", "survey", "period", "town", "respondent_key"}) {
    if (seen.count(required) == 0) problems.push_back(std::string("missing required column \"") + required + "\"");
  }
  if (!problems.empty()) {
    std::string message = "header (line 1): ";
    for (std::size_t i = 0; i < problems.size(); ++i) message += (i > 0 ? "; " : "") + problems[i];
    return Status::InvalidInput(std::move(message));
  }
  return columns;
}

std::string_view Cell(const std::vector<std::string>& fields, const std::optional<std::size_t>& column) {
  if (!column || *column >= fields.size()) return {};
  return Trim(fields[*column]);
}

std::string StripLinePrefix(const std::string& message) {
  if (message.rfind("line ", 0) == 0) {
    const std::size_t colon = message.find(": ");
    if (colon != std::string::npos) return message.substr(colon + 2);
  }
  return message;
}

// True when a token of `value` (a maximal run of ASCII letters, digits and '+') is a phone number:
// "wjx-13812345678" is, a hex hash that happens to hold eleven digits in a row is not.
bool ContainsPhoneToken(std::string_view value) {
  const auto is_token_char = [](char c) {
    return IsDigit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '+';
  };
  // LooksLikePhoneNumber refuses a letter and wants 7 digits, so only a token of at least 7 digits and no
  // letter is handed to it: ids ("demo-20250101-17", hex hashes) are checked on every imported row.
  std::size_t i = 0;
  while (i < value.size()) {
    while (i < value.size() && !is_token_char(value[i])) ++i;
    std::size_t j = i;
    std::size_t digits = 0;
    bool letter = false;
    for (; j < value.size() && is_token_char(value[j]); ++j) {
      if (IsDigit(value[j])) {
        ++digits;
      } else if (value[j] != '+') {
        letter = true;
      }
    }
    if (!letter && digits >= 7 && LooksLikePhoneNumber(value.substr(i, j - i))) return true;
    i = j;
  }
  return false;
}

// Checks an identifier column (source_ref, respondent_key); empty result: fine.
std::optional<std::string> CheckId(const char* name, std::string_view value) {
  if (value.empty()) return std::string(name) + " is empty";
  if (value.size() > kMaxIdBytes) {
    return std::string(name) + " is longer than " + std::to_string(kMaxIdBytes) + " bytes";
  }
  if (LooksLikePhoneNumber(value) || ContainsPhoneToken(value)) {
    return std::string(name) +
           " holds a phone number; plaintext phone numbers are not stored (use a keyed hash as the respondent key)";
  }
  return std::nullopt;
}

class Importer {
 public:
  Importer(const SurveyCatalog& catalog, const AreaRegistry& areas, ResponseSink& sink, const ImportOptions& options)
      : catalog_(catalog), areas_(areas), sink_(sink), options_(options), issues_(options.max_issues) {
    batch_.reserve(std::max<std::size_t>(options.batch_size, 1));
  }

  Result<ImportReport> Run(std::istream& in) {
    CsvReader reader(in);
    std::vector<std::string> fields;
    Status csv_error;
    bool have_header = false;
    while (!have_header) {
      if (!reader.Next(fields, &csv_error)) return Status::InvalidInput("empty file: no header line");
      if (!csv_error.ok()) return Status::InvalidInput("header: " + StripLinePrefix(csv_error.message()));
      have_header = !fields.empty();
    }
    Result<Columns> columns = ParseHeader(fields, catalog_);
    if (!columns.ok()) return columns.status();
    columns_ = std::move(columns.value());

    while (reader.Next(fields, &csv_error)) {
      if (fields.empty() && csv_error.ok()) continue;  // blank line
      ++report_.records;
      const std::size_t line = reader.line();
      const std::string_view ref = Cell(fields, columns_.source_ref);
      if (!csv_error.ok()) {
        Reject(line, ref, StripLinePrefix(csv_error.message()));
        continue;
      }
      if (fields.size() != columns_.count) {
        Reject(line, ref,
               "has " + std::to_string(fields.size()) + " fields, the header has " + std::to_string(columns_.count));
        continue;
      }
      Response& response = NextSlot();
      std::string reason = Convert(fields, response);
      if (!reason.empty()) {
        Reject(line, ref, std::move(reason));
        continue;
      }
      response.raw_payload = MaskPhoneNumbers(reader.raw());
      ++batch_used_;
      batch_lines_.push_back(line);
      if (batch_used_ >= std::max<std::size_t>(options_.batch_size, 1)) {
        report_.bytes = reader.bytes_read();
        MINYI_RETURN_IF_ERROR(Flush());
      }
    }
    report_.bytes = reader.bytes_read();
    MINYI_RETURN_IF_ERROR(Flush());
    report_.issues_dropped = issues_.dropped();
    report_.issues = issues_.TakeIssues();
    return std::move(report_);
  }

 private:
  void Reject(std::size_t line, std::string_view ref, std::string reason) {
    ++report_.rejected;
    issues_.Add({line, std::string(ref), std::move(reason)});
  }

  // The response the next row is read into: the first unused one of batch_, set back to a new
  // Response's values but keeping its strings' capacity and its answers' map nodes (a Response with
  // its answer map made and destroyed per row was ~15% of an import without a store).
  Response& NextSlot() {
    if (batch_used_ == batch_.size()) return batch_.emplace_back();
    Response& r = batch_[batch_used_];
    r.id = 0;
    r.survey_id.clear();
    r.period = Period();
    r.town_code.clear();
    r.channel = Channel::kImport;
    r.respondent_key.clear();
    r.weight = 1.0;
    for (auto& entry : r.answers) entry.second.clear();  // Convert erases what stays empty
    r.completion = Completion::kComplete;
    r.submitted_at_ms = 0;
    r.received_at_ms = 0;
    r.source_ref.clear();
    r.raw_payload.clear();
    return r;
  }

  const SurveyDefinition* FindSurvey(std::string_view id) {
    if (!cached_survey_ || cached_survey_->id != id) cached_survey_ = catalog_.Find(id);
    return cached_survey_.get();
  }

  // Fills `r` from a row; returns the reasons the row is invalid ("" when valid).
  std::string Convert(const std::vector<std::string>& fields, Response& r) {
    std::vector<std::string> reasons;
    r.source_ref.assign(Cell(fields, columns_.source_ref));
    if (auto problem = CheckId("source_ref", r.source_ref)) reasons.push_back(*problem);

    const std::string_view survey_id = Cell(fields, columns_.survey);
    const SurveyDefinition* survey = FindSurvey(survey_id);
    if (survey_id.empty()) {
      reasons.push_back("survey is empty");
    } else if (survey == nullptr) {
      reasons.push_back("unknown survey \"" + std::string(survey_id) + "\"");
    } else {
      r.survey_id = survey->id;
    }

    Result<Period> period = Period::Parse(Cell(fields, columns_.period));
    if (period.ok()) {
      r.period = *period;
    } else {
      reasons.push_back("period: " + period.status().message());
    }

    const std::string_view town = Cell(fields, columns_.town);
    if (town.size() != 9 || !std::all_of(town.begin(), town.end(), IsDigit)) {
      reasons.push_back("town \"" + std::string(town) + "\" is not a 9-digit town code");
    } else if (!areas_.IsTown(town)) {
      reasons.push_back("town " + std::string(town) + " is not a known town");
    } else {
      r.town_code.assign(town);
    }

    const std::string channel = AsciiLower(Cell(fields, columns_.channel));
    if (channel.empty()) {
      r.channel = Channel::kImport;
    } else if (auto parsed = ParseChannel(channel)) {
      r.channel = *parsed;
    } else {
      reasons.push_back("channel \"" + channel + "\" is not one of web, sms, wechat, import");
    }

    const std::string_view submitted = Cell(fields, columns_.submitted_at);
    if (!submitted.empty()) {
      Result<std::int64_t> ms = ParseTimestamp(submitted, options_.utc_offset_minutes);
      if (ms.ok()) {
        r.submitted_at_ms = *ms;
      } else {
        reasons.push_back("submitted_at: " + ms.status().message());
      }
    }

    const std::string_view key = Cell(fields, columns_.respondent_key);
    if (auto problem = CheckId("respondent_key", key)) {
      reasons.push_back(*problem);
    } else {
      r.respondent_key.assign(key);
    }

    const std::string_view weight = Cell(fields, columns_.weight);
    if (!weight.empty()) {
      std::optional<double> w = ParseDouble(weight);
      if (!w || !std::isfinite(*w) || *w < 0) {
        reasons.push_back("weight \"" + std::string(weight) + "\" is not a number >= 0");
      } else if (*w > MaxPopulation(AreaLevel::kTown)) {
        // The aggregator refuses such a base weight for the whole period; stop it at the line instead.
        reasons.push_back(
            "weight \"" + std::string(weight) + "\" is more than " +
            PopulationFigureText(MaxPopulation(AreaLevel::kTown)) +
            ", the population cap of a town (a respondent stands for at most that many people)");
      } else {
        r.weight = *w;
      }
    }

    const std::string completion = AsciiLower(Cell(fields, columns_.completion));
    if (completion == "partial") {
      r.completion = Completion::kPartial;
    } else if (!completion.empty() && completion != "complete") {
      reasons.push_back("completion \"" + completion + "\" is not complete or partial");
    }

    if (survey != nullptr) {
      // `r` may come with answers of an earlier row, all emptied (NextSlot): each answered question
      // fills its entry, and the entries left empty are erased below.
      std::size_t answered = 0;
      for (const auto& [column, code] : columns_.questions) {
        const std::string_view cell = Trim(fields[column]);
        if (cell.empty()) continue;
        const Question* question = survey->FindQuestion(code);
        if (question == nullptr) {
          reasons.push_back("column " + code + " is not a question of survey " + survey->id + " (leave it empty)");
          continue;
        }
        std::vector<std::string>& values = r.answers[code];
        if (question->type == QuestionType::kText) {
          values.push_back(MaskPhoneNumbers(cell));
        } else {
          for (std::size_t start = 0; start <= cell.size();) {  // the option codes, split at ';'
            std::size_t end = cell.find(';', start);
            if (end == std::string_view::npos) end = cell.size();
            const std::string_view piece = Trim(cell.substr(start, end - start));
            if (!piece.empty()) values.emplace_back(piece);
            start = end + 1;
          }
          if (values.empty()) {
            reasons.push_back("answers." + code + ": no option code in \"" + std::string(cell) + "\"");
            continue;
          }
        }
        ++answered;
      }
      if (answered != r.answers.size()) {
        for (auto it = r.answers.begin(); it != r.answers.end();) {
          it = it->second.empty() ? r.answers.erase(it) : std::next(it);
        }
      }
      for (const FieldError& error : survey->ValidateAnswers(r.answers, r.completion)) {
        reasons.push_back(error.field + ": " + error.reason);
      }
    }

    std::string joined;
    for (std::size_t i = 0; i < reasons.size(); ++i) joined += (i > 0 ? "; " : "") + reasons[i];
    return joined;
  }

  Status Flush() {
    batch_.resize(batch_used_);  // smaller only for the last batch, or after rows were rejected
    if (batch_.empty()) return Status::Ok();
    const std::int64_t now = NowMillis();
    for (Response& r : batch_) r.received_at_ms = now;
    std::vector<AppendResult> results;
    Status status = sink_.Append(batch_, &results);
    if (status.ok() && results.size() != batch_.size()) {
      status = Status::Internal("the store returned " + std::to_string(results.size()) + " results for " +
                                std::to_string(batch_.size()) + " responses");
    }
    if (!status.ok()) {
      const std::size_t committed = report_.stored + report_.duplicates + report_.conflicts;
      std::string message = "storing the batch that starts on line " + std::to_string(batch_lines_.front()) +
                            " failed: " + status.message() + ". " + std::to_string(committed) +
                            " rows were committed before it (" + std::to_string(report_.stored) + " new); " +
                            "re-running the import is safe";
      spdlog::warn("import {}: {}", options_.source_name, message);
      return Status(status.code(), std::move(message));
    }
    for (std::size_t i = 0; i < results.size(); ++i) {
      switch (results[i].outcome) {
        case AppendOutcome::kStored:
          ++report_.stored;
          break;
        case AppendOutcome::kDuplicate:
          ++report_.duplicates;
          break;
        case AppendOutcome::kConflict:
          ++report_.conflicts;
          issues_.Add({batch_lines_[i], batch_[i].source_ref,
                       "conflict: a different response is already stored under channel " +
                           std::string(ChannelName(batch_[i].channel)) + " and this source_ref (id " +
                           std::to_string(results[i].response_id) + "); not stored"});
          break;
      }
    }
    batch_used_ = 0;  // the responses stay, to be reused (NextSlot)
    batch_lines_.clear();
    if (options_.progress) {
      report_.issues_dropped = issues_.dropped();
      options_.progress(report_);
    }
    return Status::Ok();
  }

  const SurveyCatalog& catalog_;
  const AreaRegistry& areas_;
  ResponseSink& sink_;
  const ImportOptions& options_;
  IssueList issues_;
  Columns columns_;
  ImportReport report_;
  std::vector<Response> batch_;
  std::size_t batch_used_ = 0;  // the first batch_used_ responses of batch_ are the batch's rows
  std::vector<std::size_t> batch_lines_;
  std::shared_ptr<const SurveyDefinition> cached_survey_;
};

}  // namespace

Result<ImportReport> ImportResponsesCsv(std::istream& in, const SurveyCatalog& catalog, const AreaRegistry& areas,
                                        ResponseSink& sink, const ImportOptions& options) {
  Importer importer(catalog, areas, sink, options);
  return importer.Run(in);
}

std::string FormatImportReport(const ImportReport& report, const std::string& source_name) {
  std::string out = (source_name.empty() ? std::string("responses") : source_name) + ": " +
                    std::to_string(report.records) + " records: " + std::to_string(report.stored) + " stored, " +
                    std::to_string(report.duplicates) + " duplicates, " + std::to_string(report.conflicts) +
                    " conflicts, " + std::to_string(report.rejected) + " rejected\n";
  out += FormatIssues(report.issues, report.issues_dropped, "");
  return out;
}

namespace {

std::string ShortestDouble(double value) {
  char buf[64];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
  return ec == std::errc() ? std::string(buf, end) : std::to_string(value);
}

}  // namespace

std::string CanonicalCsvHeader(const SurveyDefinition& survey) {
  std::string out = "source_ref,survey,period,town,channel,submitted_at,respondent_key,weight,completion";
  for (const Question& q : survey.questions) out += "," + q.code;
  return out + "\n";
}

std::string CanonicalCsvRow(const Response& response, const SurveyDefinition& survey) {
  std::string submitted;
  if (response.submitted_at_ms != 0) {
    const std::int64_t millis = ((response.submitted_at_ms % 1000) + 1000) % 1000;
    submitted = FormatTimestampUtc(response.submitted_at_ms - millis);
    if (millis != 0) {
      char frac[8];
      std::snprintf(frac, sizeof frac, ".%03d", static_cast<int>(millis));
      submitted.insert(submitted.size() - 1, frac);
    }
  }
  std::string out = CsvQuote(response.source_ref) + "," + CsvQuote(response.survey_id) + "," +
                    response.period.ToString() + "," + CsvQuote(response.town_code) + "," +
                    std::string(ChannelName(response.channel)) + "," + submitted + "," +
                    CsvQuote(response.respondent_key) + "," + ShortestDouble(response.weight) + "," +
                    std::string(CompletionName(response.completion));
  for (const Question& q : survey.questions) {
    out += ',';
    auto it = response.answers.find(q.code);
    if (it == response.answers.end()) continue;
    std::string cell;
    for (std::size_t i = 0; i < it->second.size(); ++i) cell += (i > 0 ? ";" : "") + it->second[i];
    out += CsvQuote(cell);
  }
  return out + "\n";
}

}  // namespace minyi::collector
