#include "exports/xlsx_util.h"

#include <ctime>

#include "exports/format.h"

namespace minyi::exports {

XlsxBook::XlsxBook(const std::string& path, bool constant_memory, std::int64_t created_ms, const std::string& title)
    : path_(path), title_(title) {
  lxw_workbook_options options = {};
  options.constant_memory = constant_memory ? LXW_TRUE : LXW_FALSE;
  options.use_zip64 = LXW_TRUE;
  book_ = workbook_new_opt(path_.c_str(), &options);
  if (book_ == nullptr) return;
  lxw_doc_properties properties = {};
  // lxw_doc_properties holds char*, read only while the workbook is written.
  properties.title = title_.data();
  properties.author = author_.data();
  properties.created = static_cast<time_t>(created_ms / 1000);
  workbook_set_properties(book_, &properties);
  bold_ = workbook_add_format(book_);
  format_set_bold(bold_);
}

XlsxBook::~XlsxBook() {
  if (book_ != nullptr) workbook_close(book_);
}

lxw_worksheet* XlsxBook::AddSheet(const std::string& name) { return workbook_add_worksheet(book_, name.c_str()); }

void XlsxBook::Text(lxw_worksheet* sheet, std::uint32_t row, lxw_col_t col, const std::string& text,
                    lxw_format* format) {
  if (text.empty()) return;
  const std::string safe = NeutralizeFormula(text);
  const lxw_error e = worksheet_write_string(sheet, row, col, safe.c_str(), format);
  if (e != LXW_NO_ERROR && first_error_ == LXW_NO_ERROR) first_error_ = e;
}

void XlsxBook::Number(lxw_worksheet* sheet, std::uint32_t row, lxw_col_t col, double value) {
  const lxw_error e = worksheet_write_number(sheet, row, col, value, nullptr);
  if (e != LXW_NO_ERROR && first_error_ == LXW_NO_ERROR) first_error_ = e;
}

void XlsxBook::Boolean(lxw_worksheet* sheet, std::uint32_t row, lxw_col_t col, bool value) {
  const lxw_error e = worksheet_write_boolean(sheet, row, col, value ? 1 : 0, nullptr);
  if (e != LXW_NO_ERROR && first_error_ == LXW_NO_ERROR) first_error_ = e;
}

Status XlsxBook::Close() {
  if (book_ == nullptr) return Status::Unavailable("cannot create " + path_);
  const lxw_error e = workbook_close(book_);
  book_ = nullptr;
  if (first_error_ != LXW_NO_ERROR) {
    return Status::InvalidInput("xlsx " + path_ + ": " + lxw_strerror(first_error_));
  }
  if (e != LXW_NO_ERROR) return Status::Unavailable("writing " + path_ + " failed: " + lxw_strerror(e));
  return Status::Ok();
}

}  // namespace minyi::exports
