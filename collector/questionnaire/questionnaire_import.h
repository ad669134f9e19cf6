// Imports 问卷星 / 腾讯问卷 export files (collector/questionnaire/table_reader.h) into revisable
// responses (core/revisions.h): each row is one Response on the wechat channel (the questionnaires are
// links shared in the community WeChat groups), slot source_ref "wjx:<questionnaire>:<序号>@<town>" or
// "txwj:<survey_id>:<编号>@<town>" (core/revisions.h TownSlot: the town is part of the identity, so an
// import into one town never changes another town's response; such a row is rejected), respondent key
// the keyed hash of the reference without the town. The questionnaire id
// comes from the map or --questionnaire-id, else it is the header fingerprint ("fp-<12 hex>"), which
// stays the same when the questionnaire is exported again with more rows. So a re-import stores
// nothing new (every row a duplicate), and an answer edited on the site since the last export
// becomes a revision of its slot.
//
// Bad rows never stop the import: each is reported with its row number and reason and every valid
// row is stored. A file that cannot be read at all (binary, truncated workbook, no usable header)
// fails with a clear status and stores nothing.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "collector/common/crypto.h"
#include "collector/import_issue.h"
#include "collector/questionnaire/questionnaire_map.h"
#include "collector/questionnaire/table_reader.h"
#include "core/areas.h"
#include "core/progress.h"
#include "core/revisions.h"
#include "core/survey.h"

namespace minyi::collector::questionnaire {

struct QuestionnaireImportOptions {
  std::string survey_id;             // required (or map->survey)
  std::string period;                // "2026"; required unless map->period is set
  std::string town;                  // a fixed 9-digit town code (wins over the map's town question), or
  std::string town_column;           // the column naming the town (number or title), resolved within
  std::string county;                // this county/city code
  std::optional<Provider> provider;  // forced; else from the map or the header
  std::string questionnaire_id;      // the provider's questionnaire id; else map->id; else fingerprint
  const QuestionnaireMap* map = nullptr;
  int utc_offset_minutes = 480;
  std::size_t batch_size = 500;  // responses per StoreRevisions transaction
  std::size_t max_issues = 1000;
  std::string reason = "questionnaire file import";  // recorded with each revision
  // Asked for each row's town once it is known (fixed or from the town column): a non-empty answer
  // rejects the row with that reason, e.g. a town outside the uploader's area or scope. Unset: every
  // known town is accepted.
  std::function<std::string(const std::string& town_code)> refuse_town;
  // (rows read so far, 0: the number of rows is not known before the end) after every stored batch; may
  // be empty.
  ProgressCallback progress;
};

struct QuestionnaireImportReport {
  FileFormat format = FileFormat::kCsv;
  TextEncoding encoding = TextEncoding::kUtf8;
  Provider provider = Provider::kWjx;
  std::string questionnaire_id;  // as used in source_ref
  std::size_t rows = 0;          // data rows read (header excluded)
  std::size_t stored = 0;        // new slots
  std::size_t duplicates = 0;    // already stored with this content
  std::size_t revised = 0;       // replaced the slot's earlier version
  std::size_t stale = 0;         // older than the slot's current version (logged only)
  std::size_t rejected = 0;
  std::vector<ImportIssue> issues;  // line = row number (the header is row 1)
  std::size_t issues_dropped = 0;
  std::vector<std::string> warnings;  // header: ignored columns
};

// Imports one file. kInvalidInput/kNotFound for the file as a whole (nothing stored), kUnavailable
// when the store fails (batches committed before stay; the report is lost with the error).
Result<QuestionnaireImportReport> ImportQuestionnaireFile(
    const std::string& path, const SurveyCatalog& surveys, const AreaRegistry& areas,
    const RespondentKeyer& keyer, ResponseReviser& reviser, const QuestionnaireImportOptions& options);

// "file.xls (xls, 问卷星 5657754): 120 rows, 118 stored, 0 duplicates, 1 revised, 0 stale, 1 rejected\n"
// then the warnings and issues.
std::string FormatQuestionnaireReport(const QuestionnaireImportReport& report, const std::string& file);

// The same report as JSON (the upload's answer, README "WeChat group exports"):
// {"kind":"questionnaire","file","format","encoding" (CSV only, else null),"provider","questionnaire_id",
//  "rows","stored","duplicates","revisions","stale","rejected","warnings":[…],
//  "issues":[{"row","ref","reason"}],"issues_dropped"}; "row" is the row number (CSV: the line).
std::string QuestionnaireReportJson(const QuestionnaireImportReport& report, const std::string& file);

// What the beginning of a file says about it, for callers that accept both questionnaire and chat
// exports (the upload): nullopt unless it is a workbook (.xls, .xlsx; provider unknown) or text whose
// first line is a 问卷星 or 腾讯问卷 export header (DetectProvider). `head` is the file or at least its
// first line. Empty and binary content is nullopt (the chat importer names the problem).
struct QuestionnaireSniff {
  FileFormat format = FileFormat::kCsv;
  std::optional<Provider> provider;
};
std::optional<QuestionnaireSniff> SniffQuestionnaireExport(std::string_view head);

// The response a questionnaire answer becomes; shared by the importer and the live endpoints.
struct AnswerSource {
  Provider provider = Provider::kWjx;
  std::string questionnaire_id;
  std::string answer_id;
};
std::string SourceRefFor(const AnswerSource& source);  // "wjx:5657754:17"; the slot is TownSlot(this, town)

}  // namespace minyi::collector::questionnaire
