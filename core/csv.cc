#include "core/csv.h"

#include <algorithm>
#include <cstring>
#include <utility>

namespace minyi {
namespace {

constexpr std::size_t kChunkBytes = 64 * 1024;

bool IsLineBreak(char c) { return c == '\n' || c == '\r'; }

}  // namespace

CsvReader::CsvReader(std::istream& in) : CsvReader(in, Options()) {}

CsvReader::CsvReader(std::istream& in, Options options) : in_(in), options_(options) {}

bool CsvReader::Fill() {
  if (eof_) return false;
  if (pos_ > 0) {
    buf_.erase(0, pos_);
    pos_ = 0;
  }
  const std::size_t old_size = buf_.size();
  buf_.resize(old_size + kChunkBytes);
  in_.read(&buf_[old_size], static_cast<std::streamsize>(kChunkBytes));
  const auto got = static_cast<std::size_t>(in_.gcount());
  buf_.resize(old_size + got);
  if (got == 0) {
    eof_ = true;
    return false;
  }
  return true;
}

int CsvReader::Peek() {
  if (pos_ < buf_.size() || Fill()) return static_cast<unsigned char>(buf_[pos_]);
  return kEof;
}

int CsvReader::Get() {
  const int c = Peek();
  if (c != kEof) {
    ++pos_;
    ++bytes_read_;
  }
  return c;
}

void CsvReader::ResumeAfterFirstLine() {
  std::size_t p = 0;
  while (p < raw_.size() && !IsLineBreak(raw_[p])) ++p;
  if (p == raw_.size()) return;
  std::size_t after = p + 1;
  if (raw_[p] == '\r' && after < raw_.size() && raw_[after] == '\n') ++after;
  std::string rest = raw_.substr(after);
  raw_.resize(p);
  bytes_read_ -= rest.size();
  rest.append(buf_, pos_, std::string::npos);
  buf_ = std::move(rest);
  pos_ = 0;
  next_line_ = record_line_ + 1;
}

void CsvReader::SkipRestOfLine() {
  for (;;) {
    const int c = Get();
    if (c == kEof) return;
    if (c == '\n' || c == '\r') {
      if (c == '\r' && Peek() == '\n') Get();
      ++next_line_;
      return;
    }
  }
}

void CsvReader::ConsumeRestOfLineIntoRaw() {
  for (;;) {
    const int c = Get();
    if (c == kEof) return;
    if (c == '\n' || c == '\r') {
      if (c == '\r' && Peek() == '\n') Get();
      ++next_line_;
      return;
    }
    if (raw_.size() < options_.max_record_bytes) raw_ += static_cast<char>(c);
  }
}

bool CsvReader::NextPlainLine(std::vector<std::string>& fields) {
  const char* line = nullptr;
  const char* newline = nullptr;
  for (int attempt = 0; attempt < 2 && newline == nullptr; ++attempt) {
    if (attempt == 1 && !Fill()) return false;  // the line runs past the buffer: read more, once
    line = buf_.data() + pos_;
    newline = static_cast<const char*>(std::memchr(line, '\n', buf_.size() - pos_));
  }
  if (newline == nullptr) return false;
  std::size_t length = static_cast<std::size_t>(newline - line);
  const bool crlf = length > 0 && line[length - 1] == '\r';
  if (crlf) --length;
  if (length > options_.max_record_bytes || std::memchr(line, '"', length) != nullptr ||
      std::memchr(line, '\r', length) != nullptr) {
    return false;
  }
  raw_.assign(line, length);
  // The fields are assigned into the strings of the previous record, which keep their capacity.
  std::size_t count = 0;
  if (length > 0) {  // else a blank line: no fields
    const char* const end = line + length;
    for (const char* start = line;;) {
      const auto* stop = static_cast<const char*>(
          std::memchr(start, options_.delimiter, static_cast<std::size_t>(end - start)));
      const char* field_end = stop != nullptr ? stop : end;
      if (count < fields.size()) {
        fields[count].assign(start, field_end);
      } else {
        fields.emplace_back(start, field_end);
      }
      ++count;
      if (stop == nullptr) break;
      start = stop + 1;
    }
  }
  fields.resize(count);
  const std::size_t consumed = length + (crlf ? 2 : 1);
  pos_ += consumed;
  bytes_read_ += consumed;
  ++next_line_;
  return true;
}

bool CsvReader::Next(std::vector<std::string>& fields, Status* error) {
  if (error != nullptr) *error = Status::Ok();
  if (!at_start_ && pos_ < buf_.size()) {
    record_line_ = next_line_;
    if (NextPlainLine(fields)) return true;
  }
  fields.clear();
  raw_.clear();

  if (at_start_) {
    at_start_ = false;
    while (buf_.size() - pos_ < 3 && Fill()) {
    }
    if (buf_.compare(pos_, 3, "\xEF\xBB\xBF") == 0) {
      pos_ += 3;
      bytes_read_ += 3;
    }
  }
  if (Peek() == kEof) return false;
  record_line_ = next_line_;

  enum class State { kFieldStart, kUnquoted, kQuoted, kQuoteSeen };
  State state = State::kFieldStart;
  std::string field;
  std::size_t lines = 1;  // physical lines this record touches
  const char* problem = nullptr;
  bool at_eof = false;

  for (;;) {
    // Inside a field, a run of ordinary characters (no delimiter, line break or, when quoted, quote)
    // is copied at once: character by character through Get() was most of the reader's time, and the
    // reader a sixth of a CSV import's. The run stops where the size check below would have fired,
    // so the result is the same as taking its characters one at a time.
    if ((state == State::kUnquoted || state == State::kQuoted) && pos_ < buf_.size() &&
        raw_.size() <= options_.max_record_bytes) {
      const char stop = state == State::kQuoted ? '"' : options_.delimiter;
      const std::size_t limit = std::min(buf_.size(), pos_ + (options_.max_record_bytes + 1 - raw_.size()));
      std::size_t end = pos_;
      while (end < limit && buf_[end] != stop && !IsLineBreak(buf_[end])) ++end;
      if (end > pos_) {
        field.append(buf_, pos_, end - pos_);
        raw_.append(buf_, pos_, end - pos_);
        bytes_read_ += end - pos_;
        pos_ = end;
        if (raw_.size() > options_.max_record_bytes) {
          problem = "record is longer than the size limit";
          break;
        }
        continue;
      }
    }
    const int c = Get();
    if (c == kEof) {
      if (state == State::kQuoted) {
        problem = "unterminated quoted field";
        at_eof = true;
        break;
      }
      fields.push_back(std::move(field));
      return true;
    }
    const char ch = static_cast<char>(c);

    if (state == State::kQuoted) {
      raw_ += ch;
      if (ch == '"') {
        state = State::kQuoteSeen;
      } else {
        field += ch;
        if (IsLineBreak(ch)) {
          if (ch == '\r' && Peek() == '\n') {
            Get();
            raw_ += '\n';
            field += '\n';
          }
          ++next_line_;
          ++lines;
          if (lines > options_.max_record_lines) {
            problem = "unterminated quoted field (it runs over the line limit)";
            break;
          }
        }
      }
    } else if (IsLineBreak(ch)) {
      if (ch == '\r' && Peek() == '\n') Get();
      ++next_line_;
      if (state == State::kFieldStart && fields.empty() && raw_.empty()) return true;  // blank line
      fields.push_back(std::move(field));
      return true;
    } else {
      raw_ += ch;
      if (ch == options_.delimiter) {
        fields.push_back(std::move(field));
        field.clear();
        state = State::kFieldStart;
      } else if (state == State::kFieldStart) {
        if (ch == '"') {
          state = State::kQuoted;
        } else {
          field += ch;
          state = State::kUnquoted;
        }
      } else if (state == State::kUnquoted) {
        field += ch;
      } else if (ch == '"') {  // kQuoteSeen: an escaped quote
        field += '"';
        state = State::kQuoted;
      } else {
        problem = "unexpected character after a closing quote";
        break;
      }
    }
    if (raw_.size() > options_.max_record_bytes) {
      problem = "record is longer than the size limit";
      break;
    }
  }

  // A malformed record: keep what was read, then resume at a line boundary (see csv.h).
  fields.push_back(std::move(field));
  const bool too_long = raw_.size() > options_.max_record_bytes;
  if (lines > 1) {
    ResumeAfterFirstLine();
  } else if (too_long) {
    raw_.resize(options_.max_record_bytes);
    SkipRestOfLine();
  } else if (!at_eof) {
    ConsumeRestOfLineIntoRaw();
  }
  if (error != nullptr) {
    std::string message = "line " + std::to_string(record_line_) + ": " + problem;
    if (too_long) message += " (" + std::to_string(options_.max_record_bytes) + " bytes)";
    *error = Status::InvalidInput(std::move(message));
  }
  return true;
}

}  // namespace minyi
