// `minyi import population FILE.csv`: population margins (docs/methodology.md §3.1; format:
// docs/channels.md §5.2).
//
// Format: UTF-8 with or without BOM, RFC 4180. Header columns (any order, names trimmed and matched
// case-insensitively, all required): period, town, sex, age_band, population. One row per cell:
// sex and age_band both empty for the town total, sex set for a town × sex cell, age_band set for a
// town × age-band cell. period is a year ("2024"; margins are per year). population is a whole number
// of people, 0..5,000,000 (the town cap of core/population.h: MaxPopulation).
//
// Line checks: well-formed record with the header's field count, year, a 9-digit code of a known
// town, sex / age-band codes among the valid codes (the options of the reserved `sex` and `age_band`
// questions), not both set, a population that passes ValidatePopulationFigure for a town (finite, whole,
// 0..cap), and no second row for the same cell.
// Town checks, per (year, town), on the file's cells merged over what is already stored for that
// year (the file's cells replace stored cells with the same key): a town total exists, and neither
// margin's listed cells add up to more than it (core/population.h). Area checks, per year: the town
// totals (stored, replaced by the file's) of every county, city and the province stay within its cap
// (CheckAreaPopulations); the file's towns inside an area over its cap are not stored. A town-year with a bad
// line or bad margins is not stored at all (a partial margin would silently move people into the unknown
// cell); every other town-year is stored with PopulationSink::UpsertPopulation, one call per year.
// Re-importing the same file is idempotent.
//
// Memory: the file's valid cells are held until the end (bounded by towns × cells × years, small).
#pragma once

#include <cstddef>
#include <istream>
#include <set>
#include <string>
#include <vector>

#include "collector/import_issue.h"
#include "core/areas.h"
#include "core/ports.h"
#include "core/status.h"
#include "core/survey.h"

namespace minyi::collector {

// The codes population cells may use.
struct DemographicCodes {
  std::set<std::string> sex;
  std::set<std::string> age_band;
};

// The non-missing option codes of the `sex` and `age_band` questions of every survey in the catalog.
DemographicCodes DemographicCodesFromCatalog(const SurveyCatalog& catalog);

struct PopulationImportOptions {
  std::size_t max_issues = 1000;
};

struct PopulationImportReport {
  std::size_t records = 0;         // data records read
  std::size_t rejected_lines = 0;  // lines failing the line checks
  std::size_t towns_stored = 0;    // town-years whose cells were stored
  std::size_t towns_rejected = 0;  // town-years not stored (bad line or bad margins)
  std::size_t cells_stored = 0;
  std::vector<ImportIssue> issues;  // bad lines and rejected town-years (ref "<year> <town>")
  std::size_t issues_dropped = 0;
};

// OK: the file was read and every valid town-year stored; the report lists the rest.
// kInvalidInput: unusable header. Errors of `existing` or `sink` are returned as they are, with the
// years already stored named in the message (re-running is safe).
Result<PopulationImportReport> ImportPopulationCsv(std::istream& in, const AreaRegistry& areas,
                                                   const DemographicCodes& codes, PopulationSource& existing,
                                                   PopulationSink& sink, const PopulationImportOptions& options);

std::string FormatPopulationImportReport(const PopulationImportReport& report, const std::string& source_name);

}  // namespace minyi::collector
