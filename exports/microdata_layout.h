// Internal to exports/: the variables of a microdata file (derived from the survey definition), one
// row of cells, and the writers of each format (microdata_writers.cc). Not part of the public API.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/areas.h"
#include "core/status.h"
#include "core/survey.h"
#include "exports/microdata.h"

namespace minyi::exports::detail {

struct ValueLabel {
  std::int32_t value = 0;
  std::string label;
};

struct CodebookOption {
  std::int32_t value = 0;
  std::string code;
  std::string label;
  std::string score;  // "" for a missing option
  bool missing = false;
};

struct Variable {
  std::string name;
  std::string label;           // full label (codebook); writers shorten it where a format needs
  bool numeric = true;
  bool integer = false;        // coded values (int32 in .sav/.dta)
  std::size_t width = 1;       // string variables: bytes
  std::vector<ValueLabel> value_labels;
  std::vector<std::int32_t> user_missing;  // SPSS user-missing values
  bool is_weight = false;
  // Codebook only.
  std::string kind;            // "id", "area", "meta", "weight", "single", "multi", "text"
  std::string question;        // the question code (answers)
  std::vector<CodebookOption> options;
};

struct Cell {
  bool missing = true;
  double number = 0;
  std::string text;
};

struct FileMeta {
  std::string label;  // file label
  std::int64_t created_ms = 0;
  std::vector<std::string> notes;  // short lines (≤ 80 bytes for SPSS)
};

class RowWriter {
 public:
  virtual ~RowWriter() = default;
  // `rows` is the exact number of rows that will follow (needed by .sav/.dta; others ignore it).
  virtual Status Begin(const std::vector<Variable>& variables, std::int64_t rows, const FileMeta& meta) = 0;
  virtual Status Write(const std::vector<Cell>& cells) = 0;
  virtual Status Finish() = 0;
};

std::unique_ptr<RowWriter> MakeWriter(MicrodataFormat format, const std::string& path);

// The codebook files.
struct CodebookInfo {
  std::string survey_id;
  std::string survey_title;
  std::string definition_version;
  std::string periods;
  std::string release;             // "R1 (frozen 2025-…, content hash …)" or "live (not frozen)"
  std::string population;          // the margins' source and version(s)
  std::int64_t rows = 0;
  std::string format;
  std::vector<std::string> notes;
};
Status WriteCodebookMarkdown(const std::vector<Variable>& variables, const CodebookInfo& info, const std::string& path);
Status WriteCodebookXlsx(const std::vector<Variable>& variables, const CodebookInfo& info, std::int64_t created_ms,
                         const std::string& path);

}  // namespace minyi::exports::detail
