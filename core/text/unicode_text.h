// Unicode text for every component that reads residents' words (library minyi::text, ICU): NFKC
// folding, UTF-8 <-> UTF-32, strict UTF-8 validation, the UCS-2 length that decides how many SMS
// segments a text needs. UTF-8 is decoded and encoded only here, with ICU's U8_NEXT / U8_APPEND.
// Pure functions, thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace minyi::text {

inline constexpr char32_t kReplacement = U'\uFFFD';

// NFKC (folds fullwidth digits, letters and punctuation, circled digits ① → 1, ⑩ → 10), then ASCII
// letters lowercased. Invalid UTF-8 becomes U+FFFD.
std::string NfkcFold(std::string_view utf8);

// Decodes UTF-8: every ill-formed sequence (a stray or truncated byte, an overlong form such as
// C0 AF, a surrogate ED A0 80, a value above U+10FFFF) becomes U+FFFD, one per maximal ill-formed
// subpart (Unicode's recommended practice, as ICU does).
std::u32string ToUtf32(std::string_view utf8);
// Encodes UTF-32; surrogates and values above U+10FFFF become U+FFFD, so the output is always valid.
std::string ToUtf8(std::u32string_view text);

// True when `utf8` is well-formed UTF-8 (no overlong forms, surrogates or values above U+10FFFF).
bool IsValidUtf8(std::string_view utf8);

// Number of code points, or nullopt when `utf8` is not well-formed (as IsValidUtf8).
std::optional<std::size_t> CodePointCount(std::string_view utf8);

// Length in UTF-16 code units (what a UCS-2 SMS segment counts; characters beyond the BMP take 2).
std::size_t Utf16Length(std::string_view utf8);

// True for CJK unified ideographs (the characters of Chinese words).
bool IsCjkIdeograph(char32_t c);

namespace internal {
// The code point at utf8[i] (negative when ill-formed); advances i past it (at least one byte).
std::int32_t NextCodePoint(std::string_view utf8, std::size_t& i);
}  // namespace internal

// Calls f(code point) for each code point of `utf8` in order; f gets a negative value for each
// ill-formed subpart.
template <typename F>
void ForEachCodePoint(std::string_view utf8, F&& f) {
  for (std::size_t i = 0; i < utf8.size();) f(internal::NextCodePoint(utf8, i));
}

}  // namespace minyi::text
