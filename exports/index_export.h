// The annual index export (issue 8): every area level, both indices, with estimate, SE, CI, n, n_eff,
// deff, low_n and the change from the previous period, and for towns the model-based figure beside the
// direct one (model_estimate, model_se, model_ci_low, model_ci_high, model_method: IndexRow model_*,
// docs/small_area.md), as CSV (UTF-8 with BOM), XLSX (libxlsxwriter: a README sheet with definitions,
// method and provenance, then one sheet per level) or JSON (the same fields).
//
// Editions: "internal" shows low-n figures flagged (statisticians); "public" suppresses them — every
// direct figure of a row with low_n is left empty (JSON null) and `suppressed` is set; n stays visible.
// A low-n town's model-based figure stays (borrowing strength from the other towns is what makes it
// publishable), unless its method is "direct" (the model is not used: it repeats the direct figures).
// Officials only ever get the public edition, limited to their areas (`scope`).
//
// Deterministic: the same figures and options give the same bytes (the XLSX creation time is the
// release's freezing time, or `live_time_ms` for live figures).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/areas.h"
#include "core/progress.h"
#include "core/status.h"
#include "core/survey.h"
#include "exports/release.h"

namespace minyi::exports {

enum class Edition { kPublic, kInternal };
std::optional<Edition> ParseEdition(std::string_view text);  // "public", "internal"
std::string_view EditionName(Edition edition);

enum class IndexFormat { kCsv, kXlsx, kJson };
std::optional<IndexFormat> ParseIndexFormat(std::string_view text);  // "csv", "xlsx", "json"
std::string_view IndexFormatExtension(IndexFormat format);            // "csv", "xlsx", "json"
std::string_view IndexFormatMime(IndexFormat format);

struct IndexExportOptions {
  IndexFormat format = IndexFormat::kCsv;
  Edition edition = Edition::kInternal;
  std::vector<std::string> scope;  // area codes; only areas within one of them are written (empty: all)
  std::int64_t live_time_ms = 0;   // XLSX creation time for live figures (0: now)
  ProgressCallback progress;  // (rows written, rows in all) every 1,000 rows and at the last; may be empty
};

// Writes the export to `path` (created or replaced). kInvalidInput when the figures' survey is not
// `survey`; kUnavailable when the file cannot be written. `rows_written` (optional) receives the
// number of area × index rows.
Status WriteIndexExport(const IndexFigures& figures, const SurveyDefinition& survey, const AreaRegistry& areas,
                        const IndexExportOptions& options, const std::string& path,
                        std::int64_t* rows_written = nullptr);

}  // namespace minyi::exports
