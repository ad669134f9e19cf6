#include "collector/questionnaire/questionnaire_import.h"

#include <map>
#include <sstream>

#include "core/http/router.h"

namespace minyi::collector::questionnaire {
namespace {

std::string JoinFieldErrors(const std::vector<FieldError>& errors) {
  std::string out;
  for (const FieldError& e : errors) out += (out.empty() ? "" : "; ") + e.field + ": " + e.reason;
  return out;
}

// Counts a batch's revision outcome in the report; false when the store refused it (the answer is stored
// for another town).
bool CountOutcome(ReviseOutcome outcome, QuestionnaireImportReport& report) {
  switch (outcome) {
    case ReviseOutcome::kStored:
      ++report.stored;
      return true;
    case ReviseOutcome::kDuplicate:
      ++report.duplicates;
      return true;
    case ReviseOutcome::kRevised:
      ++report.revised;
      return true;
    case ReviseOutcome::kStale:
      ++report.stale;
      return true;
    case ReviseOutcome::kRefused:
      return false;
  }
  return true;
}

// The layout of the header row; the report's provider, warnings and questionnaire id follow from it.
Result<Layout> ReadHeader(const TableRow& row, const SurveyDefinition& survey, const QuestionnaireMap* map,
                          const QuestionnaireImportOptions& options, QuestionnaireImportReport& report) {
  if (!row.error.ok()) return Status::InvalidInput("header: " + row.error.message());
  HeaderOptions ho;
  ho.provider = options.provider;
  ho.town_column = options.town_column;
  ho.map = map;
  auto analyzed = AnalyzeHeader(row.cells, survey, ho);
  if (!analyzed.ok()) return analyzed.status();
  const Layout& layout = analyzed.value();
  report.provider = layout.provider;
  report.warnings = layout.warnings;
  report.questionnaire_id = !options.questionnaire_id.empty() ? options.questionnaire_id
                            : (map && !map->id.empty())       ? map->id
                                                              : "fp-" + layout.fingerprint;
  return analyzed;
}

// The town of a row when the import fixes none: its town column's value (or the map's town option it
// names), looked up within `county`.
Result<std::string> TownOfRow(std::string value, const QuestionnaireMap* map, const AreaRegistry& areas,
                              const std::string& county) {
  if (map != nullptr) {
    if (auto it = map->town_options.find(value); it != map->town_options.end()) value = it->second;
  }
  return ResolveTown(areas, value, county);
}

}  // namespace

std::string SourceRefFor(const AnswerSource& source) {
  return std::string(ProviderName(source.provider)) + ":" + source.questionnaire_id + ":" + source.answer_id;
}

Result<QuestionnaireImportReport> ImportQuestionnaireFile(
    const std::string& path, const SurveyCatalog& surveys, const AreaRegistry& areas,
    const RespondentKeyer& keyer, ResponseReviser& reviser, const QuestionnaireImportOptions& options) {
  const QuestionnaireMap* map = options.map;
  // An explicit town wins over the map's town question, whose column then need not be there.
  std::optional<QuestionnaireMap> map_with_fixed_town;
  if (map != nullptr && !options.town.empty() && !map->town_question.empty()) {
    map_with_fixed_town = *map;
    map_with_fixed_town->town_question.clear();
    map = &*map_with_fixed_town;
  }
  const std::string survey_id = !options.survey_id.empty() ? options.survey_id : (map ? map->survey : "");
  if (survey_id.empty()) return Status::InvalidInput("no survey given (--survey or the map's \"survey\")");
  const auto survey = surveys.Find(survey_id);
  if (!survey) return Status::InvalidInput("unknown survey '" + survey_id + "'");
  const std::string period_text = !options.period.empty() ? options.period : (map ? map->period : "");
  if (period_text.empty()) return Status::InvalidInput("no period given (--period or the map's \"period\")");
  auto period = Period::Parse(period_text);
  if (!period.ok()) return period.status().WithContext("period");
  const std::string fixed_town = !options.town.empty() ? options.town : (map ? map->town : "");
  const std::string county = !options.county.empty() ? options.county : (map ? map->county : "");
  if (!fixed_town.empty() && !areas.IsTown(fixed_town)) {
    return Status::InvalidInput("town " + fixed_town + " is not a known 9-digit town code");
  }
  if (!county.empty() && areas.Find(county) == nullptr) {
    return Status::InvalidInput("county " + county + " is not a known area code");
  }
  const bool town_from_column = !options.town_column.empty() || (map && !map->town_question.empty());
  if (fixed_town.empty() && !town_from_column) {
    return Status::InvalidInput("no town: give --town CODE or --town-column (with --county)");
  }

  QuestionnaireImportReport report;
  IssueList issues(options.max_issues);
  std::optional<Layout> layout;
  std::vector<Response> batch;
  std::vector<std::size_t> batch_rows;
  const std::int64_t received = NowMillis();

  auto reject = [&](std::size_t row, std::string ref, std::string reason) {
    ++report.rejected;
    issues.Add({row, std::move(ref), std::move(reason)});
  };
  std::vector<std::string> batch_refs;  // each response's answer reference, for the report
  std::map<std::string, std::size_t> first_row;  // answer id → the row that first gave it
  auto flush = [&]() -> Status {
    if (batch.empty()) return Status::Ok();
    std::vector<ReviseResult> results;
    MINYI_RETURN_IF_ERROR(reviser.StoreRevisions(batch, options.reason, &results));
    for (std::size_t i = 0; i < results.size(); ++i) {
      if (!CountOutcome(results[i].outcome, report)) {
        reject(batch_rows[i], batch_refs[i],
               "not stored: this answer is stored for another town, which this import may not change");
      }
    }
    batch.clear();
    batch_rows.clear();
    batch_refs.clear();
    if (options.progress) options.progress(report.rows, 0);
    return Status::Ok();
  };

  TableInfo info;
  const Status read = ReadTableFile(
      path,
      [&](const TableRow& row) -> Status {
        if (!layout) {
          auto header = ReadHeader(row, *survey, map, options, report);
          if (!header.ok()) return header.status();
          layout = std::move(header).value();
          return Status::Ok();
        }
        ++report.rows;
        if (!row.error.ok()) {
          reject(row.number, "", row.error.message());
          return Status::Ok();
        }
        auto converted = ConvertRow(*layout, *survey, row.cells, options.utc_offset_minutes, map);
        if (!converted.ok()) {
          const std::string id = layout->id_column < row.cells.size() ? row.cells[layout->id_column] : "";
          reject(row.number, id.empty() ? "" : SourceRefFor({layout->provider, report.questionnaire_id, id}),
                 converted.status().message());
          return Status::Ok();
        }
        const std::string ref =
            SourceRefFor({layout->provider, report.questionnaire_id, converted->answer_id});
        // An answer id given twice in one file: the later row would silently revise the earlier one.
        if (const auto [first, added] = first_row.emplace(converted->answer_id, row.number); !added) {
          reject(row.number, ref,
                 "answer id " + converted->answer_id + " is given again (first on row " +
                     std::to_string(first->second) + ")");
          return Status::Ok();
        }
        Response r;
        r.survey_id = survey->id;
        r.period = period.value();
        if (!fixed_town.empty()) {
          r.town_code = fixed_town;
        } else {
          auto town = TownOfRow(converted->town_value, map, areas, county);
          if (!town.ok()) {
            reject(row.number, ref, "town column: " + town.status().message());
            return Status::Ok();
          }
          r.town_code = town.value();
        }
        if (options.refuse_town) {
          if (std::string refusal = options.refuse_town(r.town_code); !refusal.empty()) {
            reject(row.number, ref, std::move(refusal));
            return Status::Ok();
          }
        }
        r.channel = Channel::kWechat;
        r.respondent_key = keyer.KeyFor(ref);
        r.answers = std::move(converted->answers);
        r.completion = Completion::kComplete;
        std::vector<FieldError> errors = survey->ValidateAnswers(r.answers, Completion::kComplete);
        if (!errors.empty()) {
          // A skipped required question (-2/-3) leaves a partial response, which is still kept.
          if (survey->ValidateAnswers(r.answers, Completion::kPartial).empty() && !r.answers.empty()) {
            r.completion = Completion::kPartial;
          } else {
            reject(row.number, ref, r.answers.empty() ? "no question answered" : JoinFieldErrors(errors));
            return Status::Ok();
          }
        }
        r.submitted_at_ms = converted->submitted_at_ms;
        r.received_at_ms = received;
        // The town is part of the slot (core/revisions.h TownSlot): the same answer imported into
        // another town is another response, never a revision of this one.
        r.source_ref = TownSlot(ref, r.town_code);
        r.raw_payload = std::move(converted->raw_json);
        batch.push_back(std::move(r));
        batch_rows.push_back(row.number);
        batch_refs.push_back(ref);
        if (batch.size() >= options.batch_size) return flush();
        return Status::Ok();
      },
      &info);
  if (!read.ok()) return read;
  if (!layout) return Status::InvalidInput("the file has no header row");
  MINYI_RETURN_IF_ERROR(flush());
  report.format = info.format;
  report.encoding = info.encoding;
  report.issues_dropped = issues.dropped();
  report.issues = issues.TakeIssues();
  return report;
}

std::string FormatQuestionnaireReport(const QuestionnaireImportReport& report, const std::string& file) {
  std::ostringstream out;
  out << file << " (" << FileFormatName(report.format);
  if (report.format == FileFormat::kCsv) out << ", " << TextEncodingName(report.encoding);
  out << ", " << (report.provider == Provider::kWjx ? "问卷星" : "腾讯问卷") << " " << report.questionnaire_id
      << "): " << report.rows << " rows, " << report.stored << " stored, " << report.duplicates
      << " duplicates, " << report.revised << " revised, " << report.stale << " stale, " << report.rejected
      << " rejected\n";
  for (const std::string& w : report.warnings) out << "  warning: " << w << "\n";
  // Rows, not lines: in a workbook the number is the row (the header is row 1); in a CSV file the
  // physical line the record starts on.
  for (const ImportIssue& issue : report.issues) {
    out << "  " << (report.format == FileFormat::kCsv ? "line " : "row ") << issue.line;
    if (!issue.ref.empty()) out << " [" << issue.ref << "]";
    out << ": " << issue.reason << "\n";
  }
  if (report.issues_dropped > 0)
    out << "  ... and " << report.issues_dropped << " more rejected rows not listed\n";
  return out.str();
}

std::string QuestionnaireReportJson(const QuestionnaireImportReport& report, const std::string& file) {
  auto str = [](std::string_view s) { return "\"" + http::JsonEscape(s) + "\""; };
  auto n = [](const char* name, std::size_t v) {
    return ",\"" + std::string(name) + "\":" + std::to_string(v);
  };
  std::string out = "{\"kind\":\"questionnaire\",\"file\":" + str(file) +
                    ",\"format\":" + str(FileFormatName(report.format)) + ",\"encoding\":" +
                    (report.format == FileFormat::kCsv ? str(TextEncodingName(report.encoding)) : "null") +
                    ",\"provider\":" + str(ProviderName(report.provider)) +
                    ",\"questionnaire_id\":" + str(report.questionnaire_id) + n("rows", report.rows) +
                    n("stored", report.stored) + n("duplicates", report.duplicates) +
                    n("revisions", report.revised) + n("stale", report.stale) +
                    n("rejected", report.rejected) + ",\"warnings\":[";
  for (std::size_t i = 0; i < report.warnings.size(); ++i) out += (i ? "," : "") + str(report.warnings[i]);
  out += "],\"issues\":[";
  for (std::size_t i = 0; i < report.issues.size(); ++i) {
    const ImportIssue& issue = report.issues[i];
    out += std::string(i ? "," : "") + "{\"row\":" + std::to_string(issue.line) +
           ",\"ref\":" + str(issue.ref) + ",\"reason\":" + str(issue.reason) + "}";
  }
  return out + "]" + n("issues_dropped", report.issues_dropped) + "}";
}

std::optional<QuestionnaireSniff> SniffQuestionnaireExport(std::string_view head) {
  auto format = SniffFormat(head);
  if (!format.ok()) return std::nullopt;
  if (format.value() != FileFormat::kCsv) return QuestionnaireSniff{format.value(), std::nullopt};
  // The first line is enough for a header (and cheap for a large chat export).
  const std::size_t eol = head.find('\n');
  const std::string_view first = head.substr(0, eol == std::string_view::npos ? head.size() : eol);
  std::optional<Provider> provider;
  (void)ReadTableBytes(first, [&](const TableRow& row) {
    if (row.error.ok()) provider = DetectProvider(row.cells);
    return Status::ResourceExhausted("only the header is read");  // stops the reader (discarded)
  });
  if (!provider) return std::nullopt;
  return QuestionnaireSniff{FileFormat::kCsv, provider};
}

}  // namespace minyi::collector::questionnaire
