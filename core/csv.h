// A streaming RFC 4180 CSV reader: quoted fields with embedded commas, quotes ("") and newlines,
// CRLF, LF or lone-CR line ends, an optional UTF-8 byte-order mark at the start. Memory is bounded by
// the longest record (max_record_bytes), not the file.
//
// Errors are per record and never stop the reader. A malformed record is reported with the physical
// line where it started, and reading resumes at the *next physical line* after that start:
//  - an unterminated quote (EOF inside a quoted field, or a quoted field running over
//    max_record_lines lines): the bad record is its first line only; the lines it swallowed are read
//    again as records of their own, so one stray quote costs one line, not the rest of the file;
//  - a character other than the delimiter or a line end after a closing quote (`"ab"c`): if the
//    record so far lies on one line, the rest of that line belongs to the bad record; otherwise the
//    record is cut back to its first line as above;
//  - a record larger than max_record_bytes: cut back to its first line; a single line over the limit
//    is skipped to its end without being buffered.
// Re-reading is bounded: each error re-reads at most max_record_lines lines / max_record_bytes bytes.
// A quote inside an unquoted field (`ab"c`) is taken literally, as most producers mean it.
// Line breaks inside quoted fields are kept byte for byte (a CRLF stays "\r\n").
//
// Not thread-safe; one reader per stream.
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
    std::size_t max_record_lines = 10000;    // a quoted field spanning more lines is an unterminated quote
  };

  explicit CsvReader(std::istream& in);
  CsvReader(std::istream& in, Options options);

  // Reads the next record into `fields`. Returns false at end of input. When a record is malformed,
  // returns true with `*error` set to kInvalidInput ("line 7: unterminated quoted field"; fields then
  // holds what could be read); otherwise clears `*error`. A blank line is returned as a record with
  // no fields (callers usually skip it). `error` may be null.
  bool Next(std::vector<std::string>& fields, Status* error);

  // Physical line number (1-based) where the record last returned by Next() started.
  std::size_t line() const { return record_line_; }
  // The bytes of the record last returned by Next(), without its final line end (for a malformed
  // record: its first line, up to max_record_bytes). Kept for audit (raw payloads).
  const std::string& raw() const { return raw_; }
  // Bytes of the input consumed so far, BOM included (for progress reports).
  std::size_t bytes_read() const { return bytes_read_; }

 private:
  static constexpr int kEof = -1;

  // The common record, read without the state machine of Next: one physical line, ended by LF or CRLF
  // and buffered whole, no quote, no lone CR, within max_record_bytes. Returns false, having consumed
  // nothing, for any other record (Next then reads it character by character).
  bool NextPlainLine(std::vector<std::string>& fields);
  int Peek();
  int Get();
  bool Fill();
  // Puts back everything of raw_ after its first physical line (and truncates raw_ to that line),
  // so reading resumes at the line after the record's start.
  void ResumeAfterFirstLine();
  // Consumes input up to and including the next line end (not kept).
  void SkipRestOfLine();
  // Consumes the rest of the physical line into raw_ (up to the size limit) and ends the record.
  void ConsumeRestOfLineIntoRaw();

  std::istream& in_;
  Options options_;
  std::string buf_;
  std::size_t pos_ = 0;
  bool eof_ = false;
  std::string raw_;
  std::size_t next_line_ = 1;
  std::size_t record_line_ = 0;
  std::size_t bytes_read_ = 0;
  bool at_start_ = true;
};

}  // namespace minyi
