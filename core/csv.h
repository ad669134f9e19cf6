// A streaming RFC 4180 CSV reader: quoted fields with embedded commas, quotes ("") and newlines,
// CRLF or LF line ends, an optional UTF-8 byte-order mark at the start. Memory is bounded by the
// longest record, not the file.
//
// Errors are per record: an unterminated quote or a record over the size limit is reported with the
// physical line where the record started, and reading resumes with the next line, so one bad line
// never hides the rest of the file.
#pragma once

#include <cstddef>
#include <istream>
#include <string>
#include <vector>

#include "core/status.h"

namespace minyi {

class CsvReader {
 public:
  struct Options {
    char delimiter = ',';
    std::size_t max_record_bytes = 1 << 20;  // larger records are rejected (and skipped)
  };

  explicit CsvReader(std::istream& in);
  CsvReader(std::istream& in, Options options);

  // Reads the next record into `fields`. Returns false at end of input. When a record is malformed,
  // returns true with `*error` set (fields then holds what could be read); otherwise clears `*error`.
  bool Next(std::vector<std::string>& fields, Status* error);

  // Physical line number (1-based) where the record last returned by Next() started.
  std::size_t line() const { return record_line_; }
  // Bytes consumed so far (for progress reports).
  std::size_t bytes_read() const { return bytes_read_; }

 private:
  bool ReadLine(std::string& line);

  std::istream& in_;
  Options options_;
  std::size_t next_line_ = 1;
  std::size_t record_line_ = 0;
  std::size_t bytes_read_ = 0;
  bool at_start_ = true;
};

}  // namespace minyi
