// Unicode helpers for the SMS channel: NFKC folding (ICU), UTF-8 <-> UTF-32, and the UCS-2 length
// that decides how many SMS segments a text needs. Pure functions, thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace minyi::collector::sms {

// NFKC (folds fullwidth digits, letters and punctuation, circled digits ① → 1, ⑩ → 10), then ASCII
// letters lowercased. Invalid UTF-8 becomes U+FFFD.
std::string NfkcFold(std::string_view utf8);

// Decodes UTF-8 (invalid bytes become U+FFFD) / encodes UTF-32.
std::u32string ToUtf32(std::string_view utf8);
std::string ToUtf8(std::u32string_view text);

// Length in UTF-16 code units (what a UCS-2 SMS segment counts; characters beyond the BMP take 2).
std::size_t Utf16Length(std::string_view utf8);

// True for CJK unified ideographs (the characters of Chinese words).
bool IsCjkIdeograph(char32_t c);

}  // namespace minyi::collector::sms
