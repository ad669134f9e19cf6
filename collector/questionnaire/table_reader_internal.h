// Internals of the table reader shared by its translation units (table_reader.cc: the format by
// content, text decoding, CSV, the dispatch; table_reader_xlsx.cc: XLSX through PocoZip and SAX;
// table_reader_xls.cc: XLS through FreeXL in a child process): the checks every row passes (RowGate)
// and the cell helpers. Not part of the reader's API; include it only from
// collector/questionnaire/table_reader*.cc.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "collector/questionnaire/table_reader.h"
#include "core/status.h"

namespace minyi::collector::questionnaire::table_detail {

inline bool AllEmpty(const std::vector<std::string>& cells) {
  return std::all_of(cells.begin(), cells.end(), [](const std::string& c) {
    return c.find_first_not_of(" \t\r\n") == std::string::npos;
  });
}

// Integral values without a decimal point (Excel stores every number as a double).
inline std::string FormatNumber(double v) {
  char buf[64];
  if (std::isfinite(v) && v == std::floor(v) && std::fabs(v) < 1e15) {
    std::snprintf(buf, sizeof buf, "%.0f", v);
  } else {
    std::snprintf(buf, sizeof buf, "%.15g", v);
  }
  return buf;
}

inline std::string Mib(std::size_t bytes) {
  return bytes % (std::size_t{1} << 20) == 0 ? std::to_string(bytes >> 20) + " MiB"
                                             : std::to_string(bytes) + " bytes";
}

// The text of every cell handed out, and the checks each row passes on its way to the callback.
class RowGate {
 public:
  RowGate(const TableLimits& limits, const RowCallback& on_row) : limits_(limits), on_row_(on_row) {}

  // A cell over max_cell_bytes is emptied and makes the row an error row; beyond max_text_bytes in
  // all, the file stops (kResourceExhausted).
  Status Deliver(TableRow& row) {
    if (row.cells.size() > limits_.max_columns) {
      row.cells.resize(limits_.max_columns);
      Flag(row, "more than " + std::to_string(limits_.max_columns) + " columns");
    }
    for (std::size_t c = 0; c < row.cells.size(); ++c) {
      if (row.cells[c].size() > limits_.max_cell_bytes) {
        row.cells[c].clear();
        Flag(row, "column " + std::to_string(c + 1) + ": a cell longer than " +
                      std::to_string(limits_.max_cell_bytes) + " bytes (the limit for one answer)");
      }
      text_bytes_ += row.cells[c].size();
    }
    if (text_bytes_ > limits_.max_text_bytes) {
      return Status::ResourceExhausted(
          "row " + std::to_string(row.number) + ": the cells of the table add up to more than " +
          Mib(limits_.max_text_bytes) + " (the limit for one questionnaire file)");
    }
    return on_row_(row);
  }

  // Marks a row as malformed (the first reason wins; the row keeps what could be read).
  static void Flag(TableRow& row, const std::string& reason) {
    if (row.error.ok()) row.error = Status::InvalidInput(reason);
  }

 private:
  const TableLimits& limits_;
  const RowCallback& on_row_;
  std::size_t text_bytes_ = 0;
};

// .xlsx bytes → rows (table_reader_xlsx.cc).
Status ReadXlsx(std::string_view bytes, const RowCallback& on_row, const TableLimits& limits);
// An .xls file → rows, read by FreeXL in a child process (table_reader_xls.cc).
Status ReadXls(const std::string& path, const RowCallback& on_row, const TableLimits& limits);

}  // namespace minyi::collector::questionnaire::table_detail
