// `minyi import responses FILE.csv`: the canonical response CSV (documented in collector/README.md).
//
// Format: UTF-8 with or without BOM, RFC 4180, CRLF or LF. A header line names the columns:
//   source_ref, survey, period, town, respondent_key   required
//   channel        optional; "web" | "sms" | "wechat" | "import"; empty or absent: "import"
//   submitted_at   optional; ParseTimestamp formats, local time Asia/Shanghai unless an offset is
//                  given; empty or absent: unknown
//   weight         optional; base weight, a number 0..5,000,000 (MaxPopulation(kTown)); empty or absent: 1
//   completion     optional; "complete" | "partial"; empty or absent: "complete"
//   every other column is a question code. A cell holds an option code; several option codes of a
//   multi-choice question are separated by ';'; a text question's cell holds the text; an empty cell
//   means not answered. Column names are matched after trimming spaces, case-insensitively.
//
// Header rules (the whole import stops, nothing stored): a missing required column, a duplicated
// or empty column name, or a question column that is a question of no survey in the catalog (a typo
// would otherwise drop answers silently). Because the survey is given per row, a column that belongs
// to another survey of the catalog is allowed; on a row it must then be empty, or the row is rejected.
//
// Row rules (a bad row is reported and skipped; every other row is kept): the CSV record is well
// formed and has as many fields as the header; the survey is known; the period parses; the town is a
// 9-digit code of a known town; the channel, timestamp, weight and completion parse; source_ref and
// respondent_key are non-empty, at most 191 bytes, and neither is nor holds a phone number (the whole
// value, or a token of it between non-alphanumeric characters as in "wjx-13812345678"; no plaintext
// phone numbers at rest: a respondent key must be a keyed hash); the answers pass
// SurveyDefinition::ValidateAnswers. Mainland mobile numbers inside text answers are masked
// (138****5678) in the answer and in the raw payload before anything is stored.
//
// Stored responses carry received_at = the time of their batch and raw_payload = the CSV record as it
// appeared in the file (masked as above). Idempotent: (channel, source_ref) is the identity, so a
// re-import reports every row as a duplicate; a row whose content differs from what is stored under
// its identity is a conflict, counted and listed with its line, never merged.
//
// Memory is constant in the file size: records stream through, batches are bounded, and at most
// max_issues issues are kept (the rest are counted).
#pragma once

#include <cstddef>
#include <functional>
#include <istream>
#include <string>
#include <string_view>
#include <vector>

#include "collector/import_issue.h"
#include "core/areas.h"
#include "core/ports.h"
#include "core/privacy.h"  // LooksLikePhoneNumber, MaskPhoneNumbers (once, for every channel)
#include "core/status.h"
#include "core/survey.h"

namespace minyi::collector {

struct ImportReport;

struct ImportOptions {
  std::size_t batch_size = 1000;  // rows per ResponseSink::Append call (one transaction)
  std::size_t max_issues = 1000;  // issues kept in the report; the rest are only counted
  std::string source_name;        // file name for messages ("responses.csv"); may be empty
  int utc_offset_minutes = 480;   // for submitted_at values without an offset (Asia/Shanghai)
  // Called after every stored batch with the report so far (progress output). May be empty.
  std::function<void(const ImportReport&)> progress;
};

struct ImportReport {
  std::size_t records = 0;     // data records read (blank lines and the header not counted)
  std::size_t stored = 0;      // newly stored
  std::size_t duplicates = 0;  // already stored with the same content
  std::size_t conflicts = 0;   // already stored with different content (each is also an issue)
  std::size_t rejected = 0;    // invalid rows (each is also an issue)
  std::size_t bytes = 0;       // bytes of input consumed
  std::vector<ImportIssue> issues;  // rejected rows and conflicts, in file order, at most max_issues
  std::size_t issues_dropped = 0;   // issues beyond max_issues
};

// Imports every valid row of `in` through `sink`.
// OK: the whole file was read; the report says what happened to each row (a file whose every row is
// rejected is still OK). kInvalidInput: the header is unusable (nothing stored). kUnavailable (or the
// sink's code): the sink failed; the message says how many rows were committed before the failure,
// and re-running the same import is safe.
Result<ImportReport> ImportResponsesCsv(std::istream& in, const SurveyCatalog& catalog, const AreaRegistry& areas,
                                        ResponseSink& sink, const ImportOptions& options);

// A human-readable summary: one line of counts, then one line per issue.
std::string FormatImportReport(const ImportReport& report, const std::string& source_name);

// Writing the canonical format (exports, benchmarks, tests): the header for a survey's questions
// (standard columns, then every question in definition order) and one response as a CSV line (with
// its "\n"). Importing the written line gives back a response with the same ContentHash
// (submitted_at is written in UTC with milliseconds when it has any). The response must belong to
// `survey`; answers to other questions are not written.
std::string CanonicalCsvHeader(const SurveyDefinition& survey);
std::string CanonicalCsvRow(const Response& response, const SurveyDefinition& survey);

}  // namespace minyi::collector
