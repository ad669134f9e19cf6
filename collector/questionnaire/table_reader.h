// Questionnaire export files as rows of UTF-8 cells: 问卷星 .xls (BIFF, read with FreeXL) and CSV,
// 腾讯问卷 CSV and .xlsx (zip + XML: xl/sharedStrings.xml, xl/styles.xml and the first worksheet in
// workbook order (xl/workbook.xml and its relationships), read with PocoZip and a SAX parser, so a
// large sheet is not held as a DOM). The format is decided by the content,
// never the file name: "PK\3\4" is XLSX, the OLE2 signature D0 CF 11 E0 is XLS, anything else must be
// text (CSV). Text is decoded by its byte-order mark (UTF-8), else as strict UTF-8, else as GB18030
// (a superset of GBK, what Excel on Chinese Windows writes) through ICU.
//
// Errors: a file that cannot be opened is kNotFound; a truncated/corrupt workbook, a binary file
// that is none of these formats, or text that is neither UTF-8 nor GB18030 is kInvalidInput with a
// reason naming the file type. A malformed CSV record is handed to the callback as a row with its
// error set (the reader goes on with the next record). Pure functions; thread-safe.
//
// Hostile files (issue 13, decompression bombs): every file is read within TableLimits. An .xlsx
// whose parts unpack beyond max_unpacked_bytes, or a part of more than 1 MiB unpacked that inflates
// more than max_ratio times its compressed size, is refused before a row is handed out (each part is
// first inflated into a counter, never into memory); so is a zip of more than max_zip_members
// entries. The unpacked-size refusal is kResourceExhausted (the upload answers 413), the ratio and
// member-count refusals kInvalidInput (422); each message names the zip member and the limit. A cell
// over max_cell_bytes, or beyond column max_columns, makes its row an error row (the cell emptied; the
// other rows are read); a file whose cells add up to more than max_text_bytes (a few shared strings
// referenced a million times) stops with kResourceExhausted where the budget ran out. An .xls whose
// worksheet declares more than max_xls_cells cells, or whose shared string table more strings, is
// refused (kInvalidInput) before FreeXL allocates them (xls_limits.h).
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace minyi::collector::questionnaire {

enum class FileFormat { kCsv, kXls, kXlsx };
std::string_view FileFormatName(FileFormat format);  // "csv", "xls", "xlsx"

// The format by the first bytes of a file (at least 8 if the file has them). kInvalidInput for an
// empty file and for binary content that is no known workbook (a NUL byte in the first 4 KiB).
Result<FileFormat> SniffFormat(std::string_view head);

enum class TextEncoding { kUtf8Bom, kUtf8, kGb18030 };
std::string_view TextEncodingName(TextEncoding encoding);  // "utf-8 (BOM)", "utf-8", "gb18030"

// Decodes text to UTF-8 (the BOM removed). `encoding` (optional) receives what was detected.
// kInvalidInput when the bytes are not valid GB18030 either.
Result<std::string> DecodeText(std::string_view bytes, TextEncoding* encoding = nullptr);

struct TableRow {
  std::size_t number = 0;          // 1-based: the header is row 1 (CSV: the physical line it starts on)
  std::vector<std::string> cells;  // UTF-8, as exported (not trimmed)
  Status error;                    // set for a malformed CSV record (cells then hold what was read)
};

// Bounds on what one file may cost. The defaults are for the largest real exports with a wide
// margin; the reasons are in table_reader.cc (kDefault...).
struct TableLimits {
  std::size_t max_file_bytes = std::size_t{256} << 20;     // the file itself (kResourceExhausted)
  std::size_t max_unpacked_bytes = std::size_t{64} << 20;  // the .xlsx parts read, inflated, together
  std::size_t max_ratio = 100;                             // inflated : compressed, per zip member
  std::size_t max_zip_members = 1000;                      // entries of an .xlsx zip
  std::size_t max_cell_bytes = std::size_t{32} << 10;      // one cell's UTF-8 text
  std::size_t max_columns = 16384;                         // Excel's last column, XFD
  std::size_t max_text_bytes = std::size_t{64} << 20;      // every cell of the table together
  std::size_t max_xls_cells = std::size_t{2} << 20;        // rows x columns an .xls sheet declares
  int max_xls_seconds = 60;  // reading an .xls (FreeXL, in a child process): then it is killed
};

// Called for every row, header first. A non-OK return stops reading and is returned.
using RowCallback = std::function<Status(const TableRow& row)>;

struct TableInfo {
  FileFormat format = FileFormat::kCsv;
  TextEncoding encoding = TextEncoding::kUtf8;  // CSV only
  std::string sha256;                           // of the whole file, hex (a fingerprint for reports)
};

// Reads the first worksheet (XLS, XLSX) or the CSV file at `path`. Cells of numbers are formatted
// without a trailing ".0" (an integer-valued 3.0 is "3"); XLS/XLSX date cells are given as
// "YYYY-MM-DD HH:MM:SS" (XLSX: a number whose cell style has a date or time format, the built-in
// ids 14-22 and 45-47 or a custom code with y/m/d/h/s outside quotes and brackets; the 1900 or 1904
// date system as the workbook says). Rows that are entirely empty are skipped. `limits.max_file_bytes` bounds
// the file size (kResourceExhausted above it); the other limits as above.
Status ReadTableFile(const std::string& path, const RowCallback& on_row, TableInfo* info = nullptr,
                     const TableLimits& limits = TableLimits());

// The same for content already in memory (CSV or XLSX; XLS needs a file: FreeXL opens paths).
Status ReadTableBytes(std::string_view bytes, const RowCallback& on_row, TableInfo* info = nullptr,
                      const TableLimits& limits = TableLimits());

}  // namespace minyi::collector::questionnaire
