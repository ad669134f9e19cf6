#include "collector/wechat/text_decoder.h"

#include <unicode/ucnv.h>
#include <unicode/ucnv_cb.h>
#include <unicode/ucnv_err.h>
#include <unicode/ustring.h>

#include <cstdint>
#include <cstring>

namespace minyi::collector::wechat {
namespace {

constexpr std::size_t kBlock = 64 * 1024;
constexpr std::size_t kMaxLineHold = 1 << 20;  // a longer line is decoded in pieces
constexpr std::size_t kPivot = 2048;
constexpr char kReplacement[] = "\xEF\xBF\xBD";

// Length of the valid UTF-8 sequence at s[0..n), 0 when invalid, -1 when valid so far but cut off.
int Utf8SequenceLength(const unsigned char* s, std::size_t n) {
  const unsigned char b = s[0];
  int len = 0;
  unsigned char lo = 0x80, hi = 0xBF;
  if (b < 0x80) return 1;
  if (b >= 0xC2 && b <= 0xDF) {
    len = 2;
  } else if (b >= 0xE0 && b <= 0xEF) {
    len = 3;
    if (b == 0xE0) lo = 0xA0;
    if (b == 0xED) hi = 0x9F;  // no surrogates
  } else if (b >= 0xF0 && b <= 0xF4) {
    len = 4;
    if (b == 0xF0) lo = 0x90;
    if (b == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  for (int i = 1; i < len; ++i) {
    if (static_cast<std::size_t>(i) >= n) return -1;
    const unsigned char c = s[i];
    if (i == 1 ? (c < lo || c > hi) : (c < 0x80 || c > 0xBF)) return 0;
  }
  return len;
}

// True when the block is valid UTF-8 (a sequence cut off at the end counts as valid) without NULs.
bool IsStrictUtf8(std::string_view block, bool* multibyte) {
  const auto* s = reinterpret_cast<const unsigned char*>(block.data());
  std::size_t i = 0;
  while (i < block.size()) {
    const int len = Utf8SequenceLength(s + i, block.size() - i);
    if (len == -1) return true;
    if (len == 0) return false;
    if (len > 1) *multibyte = true;
    i += static_cast<std::size_t>(len);
  }
  return true;
}

// True when the line is valid UTF-8 to its very end and holds no NUL: then it is its own decoded text,
// and DecodeUtf8 appends it whole instead of checking it again in AppendReplacing (the two passes over
// every byte were about a sixth of a chatty import's instructions; callgrind, wechat_import_bench).
bool IsCleanUtf8(std::string_view line, bool* multibyte) {
  const auto* s = reinterpret_cast<const unsigned char*>(line.data());
  const std::size_t n = line.size();
  std::size_t i = 0;
  while (i < n) {
    if (s[i] < 0x80) {
      // Eight ASCII bytes without a NUL at once (the exporters' headers, times and ids are ASCII).
      if (i + 8 <= n) {
        std::uint64_t word;
        std::memcpy(&word, s + i, sizeof word);
        const bool ascii = (word & 0x8080808080808080ULL) == 0;
        const bool nul = ((word - 0x0101010101010101ULL) & ~word & 0x8080808080808080ULL) != 0;
        if (ascii && !nul) {
          i += 8;
          continue;
        }
      }
      if (s[i] == 0) return false;
      ++i;
      continue;
    }
    // A CJK character (lead E1..EC or EE..EF, whose second byte may be any continuation byte) needs no
    // more than this; Utf8SequenceLength checks every other sequence.
    if (i + 2 < n && ((s[i] >= 0xE1 && s[i] <= 0xEC) || s[i] >= 0xEE) && s[i] <= 0xEF &&
        (s[i + 1] & 0xC0) == 0x80 && (s[i + 2] & 0xC0) == 0x80) {
      *multibyte = true;
      i += 3;
      continue;
    }
    const int len = Utf8SequenceLength(s + i, n - i);
    if (len <= 0) return false;
    *multibyte = true;
    i += static_cast<std::size_t>(len);
  }
  return true;
}

// True when more lines of the block are UTF-8 with multi-byte characters than are not UTF-8 (the
// last line may be cut off by the block's end).
bool MostlyUtf8Lines(std::string_view block) {
  std::size_t utf8 = 0, other = 0;
  while (!block.empty()) {
    const std::size_t nl = block.find('\n');
    const std::string_view line = block.substr(0, nl);
    bool multibyte = false;
    if (!IsStrictUtf8(line, &multibyte)) {
      ++other;
    } else if (multibyte) {
      ++utf8;
    }
    block = nl == std::string_view::npos ? std::string_view() : block.substr(nl + 1);
  }
  return utf8 > other;
}

// True when a line that is not UTF-8 still holds more well-formed multi-byte UTF-8 characters than
// bytes that are not: UTF-8 text with a few damaged bytes, not text in another encoding.
bool DamagedUtf8(std::string_view line) {
  const auto* s = reinterpret_cast<const unsigned char*>(line.data());
  std::size_t good = 0, bad = 0;
  for (std::size_t i = 0; i < line.size();) {
    const int len = Utf8SequenceLength(s + i, line.size() - i);
    if (len > 1) {
      ++good;
      i += static_cast<std::size_t>(len);
    } else {
      if (len != 1) ++bad;
      ++i;
    }
  }
  return good > bad;
}

}  // namespace

// Reaches the decoder's counters from ICU's C callback.
struct DecoderAccess {
  static void Note(DecodingStreamBuf* buf) { buf->NoteInvalid(buf->in_offset_); }
  static void Truncated(DecodingStreamBuf* buf) { buf->truncated_ = true; }
};

namespace {

void CountingToUCallback(const void* context, UConverterToUnicodeArgs* args, const char* units,
                         int32_t length, UConverterCallbackReason reason, UErrorCode* error) {
  auto* buf = static_cast<DecodingStreamBuf*>(const_cast<void*>(context));
  if (*error == U_TRUNCATED_CHAR_FOUND) {
    DecoderAccess::Truncated(buf);  // the input ended inside a character
  } else if (reason <= UCNV_IRREGULAR) {
    DecoderAccess::Note(buf);
  }
  UCNV_TO_U_CALLBACK_SUBSTITUTE(nullptr, args, units, length, reason, error);
}

}  // namespace

std::string_view SourceEncodingName(SourceEncoding encoding) {
  switch (encoding) {
    case SourceEncoding::kUtf8:
      return "UTF-8";
    case SourceEncoding::kUtf8Bom:
      return "UTF-8 with BOM";
    case SourceEncoding::kGb18030:
      return "GB18030";
    case SourceEncoding::kUtf16Le:
      return "UTF-16LE";
    case SourceEncoding::kUtf16Be:
      return "UTF-16BE";
  }
  return "?";
}

DecodingStreamBuf::DecodingStreamBuf(std::istream& raw) : raw_(raw) { setg(nullptr, nullptr, nullptr); }

DecodingStreamBuf::~DecodingStreamBuf() {
  if (source_cnv_ != nullptr) ucnv_close(source_cnv_);
  if (utf8_cnv_ != nullptr) ucnv_close(utf8_cnv_);
  if (line_cnv_ != nullptr) ucnv_close(line_cnv_);
}

void DecodingStreamBuf::NoteInvalid(std::uint64_t offset) {
  if (invalid_ == 0) first_invalid_offset_ = offset;
  ++invalid_;
}

bool DecodingStreamBuf::ReadRaw() {
  if (raw_done_) return false;
  const std::size_t carried = in_.size();
  in_.resize(carried + kBlock);
  raw_.read(in_.data() + carried, static_cast<std::streamsize>(kBlock));
  const auto got = static_cast<std::size_t>(raw_.gcount());
  in_.resize(carried + got);
  bytes_in_ += got;
  if (got < kBlock) raw_done_ = true;
  return got > 0;
}

Status DecodingStreamBuf::Open() {
  opened_ = true;
  // Fill the first block completely (a stream may deliver less per read).
  while (in_.size() < kBlock && ReadRaw()) {
  }
  if (in_.empty()) {
    finished_ = true;
    return Status::InvalidInput("empty file");
  }
  const auto* b = reinterpret_cast<const unsigned char*>(in_.data());
  if (in_.size() >= 2 && ((b[0] == 0xFF && b[1] == 0xFE) || (b[0] == 0xFE && b[1] == 0xFF))) {
    encoding_ = b[0] == 0xFF ? SourceEncoding::kUtf16Le : SourceEncoding::kUtf16Be;
    in_.erase(0, 2);
    in_offset_ = 2;
    Status started = StartConverter(encoding_ == SourceEncoding::kUtf16Le ? "UTF-16LE" : "UTF-16BE");
    if (!started.ok()) return started;
  } else {
    const std::size_t nul = in_.find('\0');
    if (nul != std::string::npos) {
      finished_ = true;
      in_.clear();
      return Status::InvalidInput("binary data (a NUL byte at offset " + std::to_string(nul) +
                                  "): not a text chat export (a spreadsheet, archive or database?)");
    }
    if (in_.size() >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF) {
      encoding_ = SourceEncoding::kUtf8Bom;
      in_.erase(0, 3);
      in_offset_ = 3;
    } else if (IsStrictUtf8(in_, &saw_multibyte_)) {
      encoding_ = SourceEncoding::kUtf8;
    } else if (MostlyUtf8Lines(in_)) {
      encoding_ = SourceEncoding::kUtf8;  // its few other lines are decoded one by one
      saw_multibyte_ = true;
    } else {
      encoding_ = SourceEncoding::kGb18030;
      Status started = StartConverter("GB18030");
      if (!started.ok()) return started;
    }
  }
  saw_multibyte_ = encoding_ != SourceEncoding::kUtf8 || saw_multibyte_;
  underflow();
  return Status::Ok();
}

Status DecodingStreamBuf::StartConverter(const char* name) {
  UErrorCode error = U_ZERO_ERROR;
  source_cnv_ = ucnv_open(name, &error);
  if (U_FAILURE(error))
    return Status::Unavailable(std::string("ICU converter ") + name + ": " + u_errorName(error));
  utf8_cnv_ = ucnv_open("UTF-8", &error);
  if (U_FAILURE(error)) return Status::Unavailable(std::string("ICU converter UTF-8: ") + u_errorName(error));
  ucnv_setToUCallBack(source_cnv_, CountingToUCallback, this, nullptr, nullptr, &error);
  if (U_FAILURE(error)) return Status::Unavailable(std::string("ICU callback: ") + u_errorName(error));
  pivot_.assign(kPivot, u'\0');
  pivot_source_ = pivot_target_ = pivot_.data();
  return Status::Ok();
}

void DecodingStreamBuf::DecodeUtf8(bool at_end) {
  const std::size_t n = in_.size();
  out_.clear();
  out_.reserve(n + 16);
  std::size_t pos = 0;
  // The common block: clean UTF-8 up to its last line end, appended whole (the same as line by line
  // below, since every line of it is clean; one pass instead of a search, a check and an append per
  // line).
  const std::size_t last_nl = in_.rfind('\n');
  if (last_nl != std::string::npos) {
    const std::string_view lines(in_.data(), last_nl + 1);
    bool multibyte = false;
    if (IsCleanUtf8(lines, &multibyte)) {
      out_.append(lines);
      saw_multibyte_ = saw_multibyte_ || multibyte;
      // Counted with memchr: std::count is not vectorised at -O2 and cost as much as the check above.
      const char* at = lines.data();
      const char* const lines_end = at + lines.size();
      while ((at = static_cast<const char*>(
                  std::memchr(at, '\n', static_cast<std::size_t>(lines_end - at)))) != nullptr) {
        ++line_;
        ++at;
      }
      pos = lines.size();
    }
  }
  while (pos < n) {
    const std::size_t nl = in_.find('\n', pos);
    if (nl == std::string::npos && !at_end) {
      // The rest of the line comes with the next block, unless it is too long to hold.
      if (n - pos >= kMaxLineHold) pos += AppendReplacing(pos, n, false);
      break;
    }
    const std::size_t end = nl == std::string::npos ? n : nl + 1;
    const std::string_view line(in_.data() + pos, end - pos);
    bool multibyte = false;
    if (IsCleanUtf8(line, &multibyte)) {
      out_.append(line);
      saw_multibyte_ = saw_multibyte_ || multibyte;
    } else if (multibyte = false; IsStrictUtf8(line, &multibyte)) {
      AppendReplacing(pos, end, true);  // (at the end of input, a character cut off by it is U+FFFD)
      saw_multibyte_ = saw_multibyte_ || multibyte;
    } else if (!saw_multibyte_ && StartConverter("GB18030").ok()) {
      // A GBK file that began with ASCII only: decode the rest as GB18030.
      in_.erase(0, pos);
      in_offset_ += pos;
      encoding_ = SourceEncoding::kGb18030;
      saw_multibyte_ = true;
      std::string head = std::move(out_);
      DecodeWithConverter(at_end);
      out_.insert(0, head);
      return;
    } else {
      DecodeForeignLine(pos, end);
    }
    if (nl != std::string::npos) ++line_;
    pos = end;
  }
  in_.erase(0, pos);
  in_offset_ += pos;
}

std::size_t DecodingStreamBuf::AppendReplacing(std::size_t from, std::size_t to, bool at_end) {
  const auto* s = reinterpret_cast<const unsigned char*>(in_.data());
  std::size_t i = from;
  std::size_t run = from;  // start of the pending run of valid bytes
  while (i < to) {
    const int len = s[i] == 0 ? 0 : Utf8SequenceLength(s + i, to - i);
    if (len >= 1) {
      i += static_cast<std::size_t>(len);
      continue;
    }
    if (len == -1 && !at_end) break;  // left for the next block
    out_.append(in_, run, i - run);
    out_.append(kReplacement);
    if (len == -1) {
      truncated_ = true;  // cut off at the very end of the input
      i = to;
    } else {
      NoteInvalid(in_offset_ + i);
      ++i;
    }
    run = i;
  }
  out_.append(in_, run, i - run);
  return i - from;
}

void DecodingStreamBuf::DecodeForeignLine(std::size_t from, std::size_t to) {
  ++lines_not_utf8_;
  std::string what;
  // As GB18030 on its own, when every byte of it is valid GB18030 and it is not UTF-8 with a few
  // damaged bytes (GB18030 takes almost any byte pair, so UTF-8 text would "decode" as nonsense).
  UErrorCode error =
      DamagedUtf8(std::string_view(in_).substr(from, to - from)) ? U_INVALID_CHAR_FOUND : U_ZERO_ERROR;
  if (line_cnv_ == nullptr) {
    line_cnv_ = ucnv_open("GB18030", &error);
    if (U_SUCCESS(error))
      ucnv_setToUCallBack(line_cnv_, UCNV_TO_U_CALLBACK_STOP, nullptr, nullptr, nullptr, &error);
  }
  std::string decoded;
  if (U_SUCCESS(error) && line_cnv_ != nullptr) {
    ucnv_resetToUnicode(line_cnv_);
    std::u16string wide((to - from) + 1, u'\0');
    const int32_t units =
        ucnv_toUChars(line_cnv_, reinterpret_cast<UChar*>(wide.data()), static_cast<int32_t>(wide.size()),
                      in_.data() + from, static_cast<int32_t>(to - from), &error);
    if (U_SUCCESS(error)) {
      decoded.resize(static_cast<std::size_t>(units) * 3 + 4);
      int32_t bytes = 0;
      u_strToUTF8(decoded.data(), static_cast<int32_t>(decoded.size()), &bytes,
                  reinterpret_cast<UChar*>(wide.data()), units, &error);
      decoded.resize(U_SUCCESS(error) ? static_cast<std::size_t>(bytes) : 0);
    }
  }
  if (U_SUCCESS(error)) {
    out_.append(decoded);
    what = "not UTF-8: decoded on its own as GB18030 (GBK)";
  } else {
    AppendReplacing(from, to, true);
    what = "not UTF-8: invalid bytes replaced by U+FFFD";
  }
  if (line_issues_.size() < kMaxLineIssues) line_issues_.push_back({line_, std::move(what)});
}

void DecodingStreamBuf::DecodeWithConverter(bool at_end) {
  out_.resize(in_.size() * 3 + 64);
  const char* source = in_.data();
  const char* source_limit = in_.data() + in_.size();
  char* target = out_.data();
  for (;;) {
    UErrorCode error = U_ZERO_ERROR;
    char* target_limit = out_.data() + out_.size();
    ucnv_convertEx(utf8_cnv_, source_cnv_, &target, target_limit, &source, source_limit, pivot_.data(),
                   &pivot_source_, &pivot_target_, pivot_.data() + pivot_.size(), false, at_end, &error);
    if (error == U_BUFFER_OVERFLOW_ERROR) {
      const auto used = static_cast<std::size_t>(target - out_.data());
      out_.resize(out_.size() * 2);
      target = out_.data() + used;
      continue;
    }
    if (U_FAILURE(error)) {
      // U_TRUNCATED_CHAR_FOUND at the end of input; anything else is counted as invalid.
      if (error == U_TRUNCATED_CHAR_FOUND) {
        truncated_ = true;
      } else {
        NoteInvalid(in_offset_);
      }
      if (at_end || source == source_limit) break;
      ++source;  // skip a byte the converter could not take
      continue;
    }
    break;
  }
  out_.resize(static_cast<std::size_t>(target - out_.data()));
  const auto used = static_cast<std::size_t>(source - in_.data());
  in_.erase(0, used);
  in_offset_ += used;
}

DecodingStreamBuf::int_type DecodingStreamBuf::underflow() {
  if (gptr() != nullptr && gptr() < egptr()) return traits_type::to_int_type(*gptr());
  if (!opened_ || finished_) return traits_type::eof();
  bool need_more = false;  // the last pass kept everything back (the start of a long line)
  for (;;) {
    if (in_.size() < kBlock || need_more) ReadRaw();
    const bool at_end = raw_done_;
    if (source_cnv_ != nullptr) {
      DecodeWithConverter(at_end);
    } else {
      DecodeUtf8(at_end);
    }
    if (at_end && !in_.empty() && source_cnv_ == nullptr) {
      // A cut-off sequence left at the very end.
      truncated_ = true;
      out_.append(kReplacement);
      in_.clear();
    }
    if (at_end && in_.empty()) finished_ = true;
    if (!out_.empty()) {
      setg(out_.data(), out_.data(), out_.data() + out_.size());
      return traits_type::to_int_type(*gptr());
    }
    if (finished_) {
      setg(nullptr, nullptr, nullptr);
      return traits_type::eof();
    }
    need_more = true;
  }
}

}  // namespace minyi::collector::wechat
