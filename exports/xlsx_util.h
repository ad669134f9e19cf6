// A thin RAII wrapper over a libxlsxwriter workbook, used by every XLSX export: text cells are
// neutralized against formula injection (format.h), the creation time in docProps is fixed by the
// caller (so a release exported twice gives the same bytes), and errors become Status values.
// Internal to exports/. Not thread-safe (one workbook per thread).
#pragma once

#include <xlsxwriter.h>

#include <cstdint>
#include <string>

#include "core/status.h"

namespace minyi::exports {

class XlsxBook {
 public:
  // constant_memory: rows are flushed to a temporary file as soon as the next row starts (memory
  // stays flat however many rows; rows must then be written in order).
  XlsxBook(const std::string& path, bool constant_memory, std::int64_t created_ms, const std::string& title);
  ~XlsxBook();
  XlsxBook(const XlsxBook&) = delete;
  XlsxBook& operator=(const XlsxBook&) = delete;

  bool ok() const { return book_ != nullptr; }
  lxw_worksheet* AddSheet(const std::string& name);
  lxw_format* Bold() { return bold_; }
  void Text(lxw_worksheet* sheet, std::uint32_t row, lxw_col_t col, const std::string& text, lxw_format* format);
  void Number(lxw_worksheet* sheet, std::uint32_t row, lxw_col_t col, double value);
  void Boolean(lxw_worksheet* sheet, std::uint32_t row, lxw_col_t col, bool value);
  // Writes the file. The first cell error (if any) is reported here.
  Status Close();

 private:
  lxw_workbook* book_ = nullptr;
  lxw_format* bold_ = nullptr;
  std::string path_;
  std::string title_;
  std::string author_ = "minyi";
  lxw_error first_error_ = LXW_NO_ERROR;
};

}  // namespace minyi::exports
