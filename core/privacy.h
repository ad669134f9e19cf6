// Personal data in free text and in phone numbers, masked in one place for every component: the
// collector masks before storing (MaskPhoneNumbers), the SMS channel and the command line mask a
// number they print (MaskPhone), dashboards and exports mask comments before showing or releasing
// them (MaskPersonalInfo). Pure functions of their input, thread-safe; valid UTF-8 in, valid UTF-8
// out (bytes of invalid UTF-8 are kept as they are).
#pragma once

#include <string>
#include <string_view>

namespace minyi {

// True when `value` looks like a phone number: a mainland mobile in any common spelling
// (13812345678, +86 138-1234-5678, 008613812345678, 86 13812345678), any "+<7..15 digits>" E.164
// number, or "0086..." (spaces, dashes, dots and parentheses ignored).
bool LooksLikePhoneNumber(std::string_view value);

// At rest: replaces the middle four digits of every mainland mobile number (an 11-digit run
// 1[3-9]xxxxxxxxx not touching other digits, optionally grouped by single spaces or dashes, optionally
// after 86 / 0086) with '*': "call 13812345678" → "call 138****5678". Nothing else changes.
std::string MaskPhoneNumbers(std::string_view text);

// One number for display: "138****5678", the first 3 and last 4 digits of the national number.
// Works on E.164 (+86 is dropped) and on bare digits; text with fewer than 7 digits becomes "****".
std::string MaskPhone(std::string_view phone);

// For display and release (README "Dashboards"), a heuristic, not a guarantee: it hides digit runs of
// 7 or more digits (phone numbers, 18-character ID-card numbers with a final X, house-number strings),
// also in full-width digits and with - or spaces between groups, e-mail addresses, the 2-3 characters
// after 我叫 / 姓名 / 名字叫 / 名字是 / 联系人 / 本人, and the surname before 先生 / 女士 / 阿姨 / 师傅 /
// 大爷 / 大妈. Names mentioned any other way ("王建国说...") are NOT recognized.
std::string MaskPersonalInfo(std::string_view text);

}  // namespace minyi
