#include "collector/wechat/text_decoder.h"

#include <unicode/ucnv.h>
#include <unicode/ucnv_cb.h>
#include <unicode/ucnv_err.h>

#include <cstring>

namespace minyi::collector::wechat {
namespace {

constexpr std::size_t kBlock = 64 * 1024;
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

}  // namespace

// Reaches the decoder's counters from ICU's C callback.
struct DecoderAccess {
  static void Note(DecodingStreamBuf* buf) { buf->NoteInvalid(buf->in_offset_); }
  static void Truncated(DecodingStreamBuf* buf) { buf->truncated_ = true; }
};

namespace {

void CountingToUCallback(const void* context, UConverterToUnicodeArgs* args, const char* units, int32_t length,
                         UConverterCallbackReason reason, UErrorCode* error) {
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
    case SourceEncoding::kUtf8: return "UTF-8";
    case SourceEncoding::kUtf8Bom: return "UTF-8 with BOM";
    case SourceEncoding::kGb18030: return "GB18030";
    case SourceEncoding::kUtf16Le: return "UTF-16LE";
    case SourceEncoding::kUtf16Be: return "UTF-16BE";
  }
  return "?";
}

DecodingStreamBuf::DecodingStreamBuf(std::istream& raw) : raw_(raw) { setg(nullptr, nullptr, nullptr); }

DecodingStreamBuf::~DecodingStreamBuf() {
  if (source_cnv_ != nullptr) ucnv_close(source_cnv_);
  if (utf8_cnv_ != nullptr) ucnv_close(utf8_cnv_);
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
  if (U_FAILURE(error)) return Status::Unavailable(std::string("ICU converter ") + name + ": " + u_errorName(error));
  utf8_cnv_ = ucnv_open("UTF-8", &error);
  if (U_FAILURE(error)) return Status::Unavailable(std::string("ICU converter UTF-8: ") + u_errorName(error));
  ucnv_setToUCallBack(source_cnv_, CountingToUCallback, this, nullptr, nullptr, &error);
  if (U_FAILURE(error)) return Status::Unavailable(std::string("ICU callback: ") + u_errorName(error));
  pivot_.assign(kPivot, u'\0');
  pivot_source_ = pivot_target_ = pivot_.data();
  return Status::Ok();
}

void DecodingStreamBuf::DecodeUtf8(bool at_end) {
  const auto* s = reinterpret_cast<const unsigned char*>(in_.data());
  const std::size_t n = in_.size();
  out_.clear();
  out_.reserve(n + 16);
  std::size_t i = 0;
  std::size_t run = 0;  // start of the pending run of valid bytes
  while (i < n) {
    if (s[i] < 0x80 && s[i] != 0) {
      ++i;
      continue;
    }
    const int len = s[i] == 0 ? 0 : Utf8SequenceLength(s + i, n - i);
    if (len > 1) {
      saw_multibyte_ = true;
      i += static_cast<std::size_t>(len);
      continue;
    }
    if (len == -1 && !at_end) break;  // carried to the next block
    // Invalid (or cut off at the very end of the input).
    if (!saw_multibyte_ && len == 0) {
      // A GBK file that began with ASCII only: decode the rest as GB18030.
      out_.append(in_, run, i - run);
      in_.erase(0, i);
      in_offset_ += i;
      encoding_ = SourceEncoding::kGb18030;
      saw_multibyte_ = true;
      if (!StartConverter("GB18030").ok()) {
        encoding_ = SourceEncoding::kUtf8;  // no ICU data: keep UTF-8 with replacements
      } else {
        std::string head = std::move(out_);
        DecodeWithConverter(at_end);
        out_.insert(0, head);
        return;
      }
    }
    out_.append(in_, run, i - run);
    out_.append(kReplacement);
    if (len == -1) {
      truncated_ = true;
      i = n;
    } else {
      NoteInvalid(in_offset_ + i);
      ++i;
    }
    run = i;
  }
  out_.append(in_, run, i - run);
  in_.erase(0, i);
  in_offset_ += i;
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
  for (;;) {
    if (in_.size() < kBlock) ReadRaw();
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
  }
}

}  // namespace minyi::collector::wechat
