// Streaming text decoding for chat exports (channels.md §3.7 "Encodings"): a byte-order mark means
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
// A file sniffed as UTF-8 without a BOM whose first block is plain ASCII switches to GB18030 at the
// first invalid sequence, as long as no multi-byte UTF-8 character was seen before it (a GBK export
// that starts with ASCII lines).
//
// Not thread-safe; the raw stream must outlive the buffer.
#pragma once

#include <cstdint>
#include <istream>
#include <streambuf>
#include <string>
#include <string_view>

#include "core/status.h"

struct UConverter;

namespace minyi::collector::wechat {

enum class SourceEncoding { kUtf8, kUtf8Bom, kGb18030, kUtf16Le, kUtf16Be };
// "UTF-8", "UTF-8 with BOM", "GB18030", "UTF-16LE", "UTF-16BE".
std::string_view SourceEncodingName(SourceEncoding encoding);

class DecodingStreamBuf : public std::streambuf {
 public:
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
  std::string_view Head() const { return std::string_view(eback(), static_cast<std::size_t>(egptr() - eback())); }
  std::uint64_t bytes_in() const { return bytes_in_; }
  std::uint64_t invalid_sequences() const { return invalid_; }
  // The first invalid sequence's byte offset in the input (valid when invalid_sequences() > 0).
  std::uint64_t first_invalid_offset() const { return first_invalid_offset_; }
  // True once the end of input was reached inside a multi-byte character.
  bool truncated() const { return truncated_; }

 protected:
  int_type underflow() override;

 private:
  // Reads the next raw block; false at end of input.
  bool ReadRaw();
  void DecodeUtf8(bool at_end);
  Status StartConverter(const char* name);
  void DecodeWithConverter(bool at_end);
  void NoteInvalid(std::uint64_t offset);
  friend struct DecoderAccess;

  std::istream& raw_;
  SourceEncoding encoding_ = SourceEncoding::kUtf8;
  UConverter* source_cnv_ = nullptr;
  UConverter* utf8_cnv_ = nullptr;
  std::string in_;       // raw bytes not yet decoded (a carried partial character, then a block)
  std::string out_;      // decoded UTF-8: the get area
  std::u16string pivot_;  // ucnv_convertEx's UTF-16 pivot buffer
  char16_t* pivot_source_ = nullptr;
  char16_t* pivot_target_ = nullptr;
  std::uint64_t bytes_in_ = 0;       // raw bytes read so far
  std::uint64_t in_offset_ = 0;      // input offset of in_[0]
  std::uint64_t invalid_ = 0;
  std::uint64_t first_invalid_offset_ = 0;
  bool saw_multibyte_ = false;
  bool truncated_ = false;
  bool raw_done_ = false;
  bool finished_ = false;
  bool opened_ = false;
};

}  // namespace minyi::collector::wechat
