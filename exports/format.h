// Cell formatting shared by every export format, and the canonical text in which a release keeps its
// frozen index rows and population margins (core/release_ports.h stores it without interpreting it).
//
// Formula injection: text cells of CSV and XLSX exports go through NeutralizeFormula / CsvText
// (core/csv_cell.h, the one helper shared with the dashboards), which put a single quote in front of a
// text starting with = + - @ TAB or CR and drop NUL bytes; numeric cells are written as numbers and
// never altered.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/csv_cell.h"
#include "core/ports.h"
#include "core/status.h"

namespace minyi::exports {

using ::minyi::CsvText;            // core/csv_cell.h
using ::minyi::NeutralizeFormula;  // core/csv_cell.h
// A number at full precision (%.17g, shortest form that reads back to the same double); "" for NaN
// and infinities.
std::string FormatNumber(double value);
// FormatNumber appended to `out` (the microdata CSV writer's per-cell path, without a temporary string).
void AppendNumber(std::string* out, double value);
// The UTF-8 byte order mark that makes Excel read a CSV as UTF-8.
inline constexpr std::string_view kUtf8Bom = "\xEF\xBB\xBF";

// `bytes` random bytes (std::random_device: the kernel's generator) as lower-case hex.
std::string RandomHex(std::size_t bytes);

// Lower-case hex SHA-256 of `text`.
std::string Sha256Hex(std::string_view text);

// Index rows as canonical text: one line per row, every IndexRow field in declaration order,
// separated by '\t' (no field holds a tab or newline; NaN as an empty field, numbers %.17g).
// Decoding gives back rows equal field by field (NaN as NaN); it also reads the 29 fields of releases
// frozen before the model_* fields (issue 14), which then read NaN and "". kInvalidInput names the bad line.
std::string EncodeIndexRows(const std::vector<IndexRow>& rows);
Result<std::vector<IndexRow>> DecodeIndexRows(std::string_view text);

// Population cells likewise: year, town, sex, age_band, population per line.
std::string EncodePopulation(const std::vector<PopulationCell>& cells);
Result<std::vector<PopulationCell>> DecodePopulation(std::string_view text);

}  // namespace minyi::exports
