// Streaming text decoding for chat exports (docs/channels.md §3.7): a byte-order mark means
// UTF-8 (or UTF-16); otherwise strict UTF-8 when the text is valid UTF-8; otherwise GB18030 (a
// superset of GBK, what Chinese Windows tools write), converted with ICU ucnv. The decoder is a
// std::streambuf, so a file of any size is read with a fixed buffer (256 KiB of output at a time).
//
// Usage: DecodingStreamBuf buf(raw); Status s = buf.Open(); std::istream text(&buf); ...
// Open() sniffs the first 64 KiB and refuses, with a reason, an empty file and binary data (a NUL byte
// in the first block: spreadsheets, archives, images, databases). Later problems do not stop
// reading: invalid byte sequences become U+FFFD and are counted (invalid_sequences), and a file that
// ends inside a multi-byte character is reported as truncated().
//
// The first block decides UTF-8 or GB18030 line by line: UTF-8 when it is valid UTF-8, or when more
// of its lines are UTF-8 with multi-byte characters than are not UTF-8 at all (a UTF-8 export with a
// few lines pasted from a GBK tool, issue 13); otherwise GB18030. A file sniffed as UTF-8 whose text
// so far is plain ASCII switches to GB18030 at the first line that is not UTF-8 (a GBK export that
// starts with ASCII lines). Otherwise, in a UTF-8 file, each line that is not UTF-8 is decoded on its
// own: as GB18030 when it is valid GB18030, else with its invalid bytes as U+FFFD; either way it is
// listed in line_issues() with its line number, and every other line is decoded as UTF-8. (A line
// longer than 1 MiB is decoded in pieces, its invalid bytes replaced.)
//
// Not thread-safe; the raw stream must outlive the buffer.
#pragma once

#include <cstdint>
#include <istream>
#include <streambuf>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

struct UConverter;

namespace minyi::collector::wechat {

enum class SourceEncoding { kUtf8, kUtf8Bom, kGb18030, kUtf16Le, kUtf16Be };
// "UTF-8", "UTF-8 with BOM", "GB18030", "UTF-16LE", "UTF-16BE".
std::string_view SourceEncodingName(SourceEncoding encoding);

// A line of a UTF-8 file that was not UTF-8, and what became of it.
struct DecodeLineIssue {
  std::uint64_t line = 0;  // 1-based physical line
  std::string what;        // English: "not UTF-8: decoded as GB18030", ...
};

class DecodingStreamBuf : public std::streambuf {
 public:
  static constexpr std::size_t kMaxLineIssues = 100;  // line_issues() keeps the first ones only

  explicit DecodingStreamBuf(std::istream& raw);
  ~DecodingStreamBuf() override;
  DecodingStreamBuf(const DecodingStreamBuf&) = delete;
  DecodingStreamBuf& operator=(const DecodingStreamBuf&) = delete;

  // Sniffs the encoding and decodes the first block. kInvalidInput ("empty file", "binary data ...")
  // when the input is not text; the stream then yields nothing.
  Status Open();

  SourceEncoding encoding() const { return encoding_; }
  // The decoded text available right after Open() (up to 256 KiB), without consuming it: for format
  // detection.
  std::string_view Head() const {
    return std::string_view(eback(), static_cast<std::size_t>(egptr() - eback()));
  }
  std::uint64_t bytes_in() const { return bytes_in_; }
  std::uint64_t invalid_sequences() const { return invalid_; }
  // The first invalid sequence's byte offset in the input (valid when invalid_sequences() > 0).
  std::uint64_t first_invalid_offset() const { return first_invalid_offset_; }
  // True once the end of input was reached inside a multi-byte character.
  bool truncated() const { return truncated_; }
  // Lines of a UTF-8 file that were not UTF-8 (the first kMaxLineIssues), and how many in all.
  const std::vector<DecodeLineIssue>& line_issues() const { return line_issues_; }
  std::uint64_t lines_not_utf8() const { return lines_not_utf8_; }

 protected:
  int_type underflow() override;

 private:
  // Reads the next raw block; false at end of input.
  bool ReadRaw();
  void DecodeUtf8(bool at_end);
  // Appends in_[from, to) with invalid bytes as U+FFFD; returns the bytes consumed (a character cut
  // off at `to` is left unless at_end).
  std::size_t AppendReplacing(std::size_t from, std::size_t to, bool at_end);
  // A whole line that is not UTF-8, in a UTF-8 file.
  void DecodeForeignLine(std::size_t from, std::size_t to);
  Status StartConverter(const char* name);
  void DecodeWithConverter(bool at_end);
  void NoteInvalid(std::uint64_t offset);
  friend struct DecoderAccess;

  std::istream& raw_;
  SourceEncoding encoding_ = SourceEncoding::kUtf8;
  UConverter* source_cnv_ = nullptr;
  UConverter* utf8_cnv_ = nullptr;
  UConverter* line_cnv_ = nullptr;  // GB18030, stopping at an invalid sequence: one foreign line
  std::string in_;                  // raw bytes not yet decoded (a carried partial character, then a block)
  std::string out_;                 // decoded UTF-8: the get area
  std::u16string pivot_;            // ucnv_convertEx's UTF-16 pivot buffer
  char16_t* pivot_source_ = nullptr;
  char16_t* pivot_target_ = nullptr;
  std::uint64_t bytes_in_ = 0;   // raw bytes read so far
  std::uint64_t in_offset_ = 0;  // input offset of in_[0]
  std::uint64_t invalid_ = 0;
  std::uint64_t first_invalid_offset_ = 0;
  std::uint64_t line_ = 1;  // the physical line in_[0] belongs to
  std::vector<DecodeLineIssue> line_issues_;
  std::uint64_t lines_not_utf8_ = 0;
  bool saw_multibyte_ = false;
  bool truncated_ = false;
  bool raw_done_ = false;
  bool finished_ = false;
  bool opened_ = false;
};

}  // namespace minyi::collector::wechat
