// Weighted microdata (issue 8): one row per response with its area, channel, period, answers as
// codes and the final weight the aggregator uses, as CSV (UTF-8 with BOM), XLSX, SPSS .sav or Stata
// .dta (ReadStat, with Chinese variable and value labels), plus a codebook (Markdown and XLSX).
//
// Privacy: no direct identifiers. The respondent key is replaced by `respondent_id`, the first 16 hex
// digits of SHA-256(salt, key) with a salt that is random per live export (ids cannot be linked
// across exports) or the release's own random salt (so a release exported twice gives the same
// bytes, and its ids cannot be linked to another release's). Text answers are masked with the
// MaskPersonalInfo of core/privacy.h (phone, ID-card and e-mail numbers, names after 我叫/姓名/...,
// surnames before 先生/女士/...): a heuristic, documented as such in the codebook. Source references,
// raw payloads and respondent keys are never written.
//
// Codes: a single-choice answer is its option code when every option code of the question is a whole
// number, else the option's position (1 = the first option); the codebook lists value, code, label
// and score. "No answer" options (说不清, 不了解) keep their value and are declared user-missing in
// SPSS. A multi-choice question becomes one 0/1 variable per option (`<question>_<option code>`). An
// unanswered question (or a code the question does not have) is system-missing.
//
// Weights: `weight` is the calibrated weight w_i of aggregator/weighting.h for the response's town and
// period (the same computation `minyi aggregate` and a release freeze run; towns are weighted one at a
// time, which gives the same weights as a whole-period run, docs/methodology.md §3), so Σ w y / Σ w over the
// answered rows of a town or any roll-up equals the exported estimate. For a release the margins are
// the release's frozen copy and the rows are exactly the manifest's responses, checked against their
// content hashes (a response revised or withdrawn since freezing is an error, never a silent change).
// SPSS: `weight` is set as the file's weight variable (WEIGHT BY); Stata: a dataset note and the
// variable label say to use [pweight=weight].
//
// Streaming: responses are read once in (town, id) order; .sav/.dta, which declare the row count and
// string widths before the first row, get them from ResponseSource::MeasureScan first (a count and the
// text answers only, not a second scan); memory holds one town's responses at a time.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/areas.h"
#include "core/ports.h"
#include "core/progress.h"
#include "core/release_ports.h"
#include "core/status.h"
#include "core/survey.h"

namespace minyi::exports {

enum class MicrodataFormat { kCsv, kSav, kDta, kXlsx };
std::optional<MicrodataFormat> ParseMicrodataFormat(std::string_view text);  // "csv", "sav", "dta", "xlsx"

// Longest text written into .sav/.dta string variables, in bytes (Stata's str2045); longer texts are
// cut at a character boundary and counted (the CSV and XLSX exports keep them whole).
inline constexpr std::size_t kMaxStatStringBytes = 2045;
// Rows per XLSX sheet before the data continues on "data_2", "data_3", ... (Excel's limit less the header).
inline constexpr std::int64_t kXlsxRowsPerSheet = 1048575;

struct MicrodataRequest {
  std::string survey_id;
  std::vector<Period> periods;  // live: one or more, in this order; a release: exactly one
  int release = -1;             // -1: live data; 0: the latest release; n: release Rn
  MicrodataFormat format = MicrodataFormat::kCsv;
  std::string path;                 // the data file
  std::string codebook_md_path;     // "" = none
  std::string codebook_xlsx_path;   // "" = none
  std::int64_t live_time_ms = 0;    // file timestamps of a live export (0: now); a release uses its freezing time
  // (rows written, rows in all) after every row written; the total is known for .sav and .dta (counted
  // before their rows), 0 for CSV and XLSX. May be empty.
  ProgressCallback progress;
};

struct MicrodataSummary {
  std::int64_t rows = 0;
  std::int64_t variables = 0;
  std::string release_label;      // "R1" or "live"
  std::int64_t truncated_texts = 0;
  std::int64_t unknown_codes = 0;  // answers with a code the question does not have (written as missing)
  std::vector<std::string> notes;
};

struct MicrodataSources {
  ResponseSource* responses = nullptr;
  PopulationSource* population = nullptr;
  ReleaseStore* releases = nullptr;
  const SurveyCatalog* catalog = nullptr;
  const AreaRegistry* areas = nullptr;
};

// Errors: kNotFound (unknown survey or release), kInvalidInput (no period, several periods with a
// release), kConflict (a release's response is no longer stored as frozen; for .sav/.dta of live data,
// responses were revised or withdrawn between the count and the rows — retry, or export a release),
// kUnavailable (store or file failure).
Result<MicrodataSummary> ExportMicrodata(const MicrodataRequest& request, const MicrodataSources& sources);

}  // namespace minyi::exports
