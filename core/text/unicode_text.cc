#include "core/text/unicode_text.h"

#include <unicode/normalizer2.h>
#include <unicode/unistr.h>
#include <unicode/utf8.h>
#include <unicode/utypes.h>

#include <algorithm>
#include <cstdint>

namespace minyi::text {

// Every UTF-8 decode and encode of the project goes through ICU's U8_NEXT / U8_APPEND here: they
// reject overlong forms, surrogates and values above U+10FFFF (a hand-written decoder did not).

std::string NfkcFold(std::string_view utf8) {
  UErrorCode error = U_ZERO_ERROR;
  const icu::Normalizer2* nfkc = icu::Normalizer2::getNFKCInstance(error);
  std::string out;
  if (U_FAILURE(error) || nfkc == nullptr) {
    out.assign(utf8);  // ICU data missing: fall back to the text as is (still lowercased below)
  } else {
    const icu::UnicodeString source =
        icu::UnicodeString::fromUTF8(icu::StringPiece(utf8.data(), static_cast<int32_t>(utf8.size())));
    icu::UnicodeString normalized = nfkc->normalize(source, error);
    if (U_FAILURE(error)) {
      out.assign(utf8);
    } else {
      normalized.toUTF8String(out);
    }
  }
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::u32string ToUtf32(std::string_view utf8) {
  std::u32string out;
  out.reserve(utf8.size());
  ForEachCodePoint(
      utf8, [&out](std::int32_t c) { out.push_back(c < 0 ? kReplacement : static_cast<char32_t>(c)); });
  return out;
}

std::string ToUtf8(std::u32string_view text) {
  std::string out;
  out.reserve(text.size() * 3);
  for (char32_t c : text) {
    const bool valid = c <= 0x10FFFF && (c < 0xD800 || c > 0xDFFF);
    const auto code = static_cast<std::uint32_t>(valid ? c : kReplacement);  // as the macro takes it
    // The checked U8_APPEND fails (writing nothing) only for a surrogate or a value above U+10FFFF, or
    // when the buffer has no room: `code` is a scalar value (replaced above) and `buf` holds
    // U8_MAX_LENGTH bytes, the most any scalar value takes, so that error cannot occur and the form
    // without it is used (Utf8Test.EncodesEveryLengthAndReplacesWhatIsNotAScalarValue pins this).
    std::uint8_t buf[U8_MAX_LENGTH];
    int32_t length = 0;
    U8_APPEND_UNSAFE(buf, length, code);
    out.append(reinterpret_cast<const char*>(buf), static_cast<std::size_t>(length));
  }
  return out;
}

bool IsValidUtf8(std::string_view utf8) {
  bool valid = true;
  ForEachCodePoint(utf8, [&valid](std::int32_t c) { valid = valid && c >= 0; });
  return valid;
}

std::optional<std::size_t> CodePointCount(std::string_view utf8) {
  std::size_t n = 0;
  bool valid = true;
  ForEachCodePoint(utf8, [&](std::int32_t c) {
    valid = valid && c >= 0;
    ++n;
  });
  if (!valid) return std::nullopt;
  return n;
}

std::size_t Utf16Length(std::string_view utf8) {
  std::size_t n = 0;
  ForEachCodePoint(utf8, [&n](std::int32_t c) { n += c >= 0x10000 ? 2 : 1; });
  return n;
}

bool IsCjkIdeograph(char32_t c) {
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0xF900 && c <= 0xFAFF) ||
         (c >= 0x20000 && c <= 0x2FFFF);
}

namespace internal {

std::int32_t NextCodePoint(std::string_view utf8, std::size_t& i) {
  // A window of at most one sequence keeps U8_NEXT's int32_t indexes in range on any text length.
  const auto* s = reinterpret_cast<const std::uint8_t*>(utf8.data() + i);
  const auto window = static_cast<int32_t>(std::min<std::size_t>(utf8.size() - i, U8_MAX_LENGTH));
  int32_t at = 0;
  UChar32 c = 0;
  U8_NEXT(s, at, window, c);
  i += static_cast<std::size_t>(at);
  return c;
}

}  // namespace internal
}  // namespace minyi::text
