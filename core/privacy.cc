#include "core/privacy.h"

#include <algorithm>
#include <array>
#include <vector>

namespace minyi {
namespace {

// Every pattern below is ASCII or starts with a UTF-8 lead byte, and a lead byte never equals a
// continuation byte, so walking the text byte by byte can never match inside a character: no UTF-8
// decoding is needed, and invalid bytes are copied unchanged.

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

bool IsMobile(std::string_view digits) {
  return digits.size() == 11 && digits[0] == '1' && digits[1] >= '3' && digits[1] <= '9' &&
         std::all_of(digits.begin(), digits.end(), IsDigit);
}

// Offset of the mobile number inside a run of digits that may carry a country prefix; npos if none.
std::size_t MobileOffset(std::string_view digits) {
  if (IsMobile(digits)) return 0;
  if (digits.size() == 13 && digits.substr(0, 2) == "86" && IsMobile(digits.substr(2))) return 2;
  if (digits.size() == 15 && digits.substr(0, 4) == "0086" && IsMobile(digits.substr(4))) return 4;
  return std::string_view::npos;
}

// Masks the digits at positions[offset + 3 .. offset + 6] of `out`.
void MaskAt(std::string& out, const std::vector<std::size_t>& positions, std::size_t offset) {
  for (std::size_t k = offset + 3; k < offset + 7; ++k) out[positions[k]] = '*';
}

std::string_view TrimSpaces(std::string_view s) {
  const auto space = [](char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
  };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

constexpr std::string_view kMasked = "[已隐去]";
constexpr std::string_view kSomeone = "某某";

// A digit (ASCII or full-width ０-９ = EF BC 90..99) at `i`: its byte length, else 0.
std::size_t DigitAt(std::string_view t, std::size_t i) {
  const auto c = static_cast<unsigned char>(t[i]);
  if (c >= '0' && c <= '9') return 1;
  if (c == 0xEF && i + 2 < t.size() && static_cast<unsigned char>(t[i + 1]) == 0xBC) {
    const auto d = static_cast<unsigned char>(t[i + 2]);
    if (d >= 0x90 && d <= 0x99) return 3;
  }
  return 0;
}

// A CJK unified ideograph (U+4E00..U+9FFF, lead bytes E4..E9) at `i`: 3, else 0.
std::size_t HanAt(std::string_view t, std::size_t i) {
  if (i + 3 > t.size()) return 0;
  const auto c = static_cast<unsigned char>(t[i]);
  return c >= 0xE4 && c <= 0xE9 ? 3 : 0;
}

bool StartsWith(std::string_view t, std::size_t i, std::string_view p) { return t.substr(i, p.size()) == p; }

bool EmailChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
         c == '-' || c == '+';
}

// The end of an e-mail address local@domain.tld starting at `i`, else npos.
std::size_t EmailEnd(std::string_view t, std::size_t i) {
  std::size_t j = i;
  while (j < t.size() && EmailChar(t[j])) ++j;
  if (j == i || j >= t.size() || t[j] != '@') return std::string_view::npos;
  std::size_t k = j + 1;
  while (k < t.size() && EmailChar(t[k])) ++k;
  if (k > j + 1 && t.substr(j + 1, k - j - 1).find('.') != std::string_view::npos) return k;
  return std::string_view::npos;
}

// The end of a run of digits starting at `i` (single '-' or ' ' between groups, a final X after 17
// digits) and its number of digits.
std::pair<std::size_t, std::size_t> DigitRun(std::string_view t, std::size_t i) {
  std::size_t j = i;
  std::size_t digits = 0;
  std::size_t end = i;  // just past the last digit (or X) of the run
  while (j < t.size()) {
    const std::size_t d = DigitAt(t, j);
    if (d != 0) {
      j += d;
      ++digits;
      end = j;
    } else if ((t[j] == '-' || t[j] == ' ') && j + 1 < t.size() && DigitAt(t, j + 1) != 0) {
      ++j;
    } else if ((t[j] == 'X' || t[j] == 'x') && digits == 17) {
      end = j + 1;
      ++digits;
      break;
    } else {
      break;
    }
  }
  return {end, digits};
}

// Pass 1 of MaskPersonalInfo: digit runs and e-mail addresses.
std::string MaskNumbers(std::string_view t) {
  std::string out;
  out.reserve(t.size());
  std::size_t i = 0;
  while (i < t.size()) {
    const std::size_t email_end = EmailEnd(t, i);
    if (email_end != std::string_view::npos) {
      out += kMasked;
      i = email_end;
      continue;
    }
    if (DigitAt(t, i) != 0) {
      const auto [end, digits] = DigitRun(t, i);
      if (digits >= 7) {
        out += kMasked;
      } else {
        out.append(t.substr(i, end - i));
      }
      i = end;
      continue;
    }
    out += t[i++];
  }
  return out;
}

}  // namespace

bool LooksLikePhoneNumber(std::string_view value) {
  // Every number recognised below has at least 7 digits and nothing but digits, separators and '+':
  // other values (ids checked on every imported row, hex hashes) are answered without building the
  // compact copy, which was a tenth of a CSV import's time.
  const std::string_view trimmed = TrimSpaces(value);
  if (std::count_if(trimmed.begin(), trimmed.end(), IsDigit) < 7) return false;
  for (char c : trimmed) {
    if (!IsDigit(c) && c != ' ' && c != '-' && c != '.' && c != '(' && c != ')' && c != '+') return false;
  }
  std::string compact;
  for (char c : TrimSpaces(value)) {
    if (c == ' ' || c == '-' || c == '.' || c == '(' || c == ')') continue;
    compact += c;
  }
  if (compact.empty()) return false;
  bool international = false;
  std::string_view digits = compact;
  if (digits[0] == '+') {
    digits.remove_prefix(1);
    international = true;
  }
  if (digits.empty() || !std::all_of(digits.begin(), digits.end(), IsDigit)) return false;
  if (MobileOffset(digits) != std::string_view::npos) return true;
  // Any other international (E.164) number, e.g. a landline +86 25 ..., or a foreign mobile.
  if (international && digits.size() >= 7 && digits.size() <= 15) return true;
  return digits.substr(0, 4) == "0086" && digits.size() >= 11;
}

std::string MaskPhoneNumbers(std::string_view text) {
  // One pass over the text: a first pass counting its digits (to return early below 11) cost as much
  // as this one on the lines of a CSV import, which mostly hold 11 digits or more.
  std::string out(text);
  const std::size_t n = text.size();
  std::size_t i = 0;
  std::vector<std::size_t> positions;
  std::vector<std::size_t> run;
  while (i < n) {
    if (!IsDigit(text[i]) || (i > 0 && IsDigit(text[i - 1]))) {
      ++i;
      continue;
    }
    // Digits from here, allowing a single space or dash between groups ("138 1234 5678"). Counted
    // first: most runs (dates, codes, ids in a raw import line) are shorter than a phone number and
    // need no positions (recording every digit's position was a fifth of a CSV import's time).
    // MobileOffset only ever finds a number in 11, 13 or 15 digits, so a run is looked at closer only
    // when it, or one of its contiguous groups, has such a length: "demo-20250101-1234" (groups of 8
    // and 4) is not, and such source_refs made every line of a demo import take the slow path below.
    const auto could_hold_mobile = [](std::size_t digits) {
      return digits == 11 || digits == 13 || digits == 15;
    };
    std::size_t count = 0;
    std::size_t group = 0;
    bool candidate = false;
    std::size_t j = i;
    while (j < n && count <= 15) {
      if (IsDigit(text[j])) {
        ++count;
        ++group;
        ++j;
      } else if ((text[j] == ' ' || text[j] == '-') && j + 1 < n && IsDigit(text[j + 1])) {
        candidate = candidate || could_hold_mobile(group);
        group = 0;
        ++j;
      } else {
        break;
      }
    }
    candidate = candidate || could_hold_mobile(group) || could_hold_mobile(count);
    if (count >= 11 && candidate) {
      positions.clear();
      for (std::size_t k = i; k < j; ++k) {
        if (IsDigit(text[k])) positions.push_back(k);
      }
      std::string digits;
      for (std::size_t p : positions) digits += text[p];
      const std::size_t offset = MobileOffset(digits);
      if (offset != std::string_view::npos) {
        MaskAt(out, positions, offset);
      } else {
        // The groups together are not one number; try each contiguous run on its own.
        std::size_t start = 0;
        for (std::size_t k = 1; k <= positions.size(); ++k) {
          if (k == positions.size() || positions[k] != positions[k - 1] + 1) {
            run.assign(positions.begin() + static_cast<std::ptrdiff_t>(start),
                       positions.begin() + static_cast<std::ptrdiff_t>(k));
            const std::size_t run_offset = MobileOffset(text.substr(run.front(), run.size()));
            if (run_offset != std::string_view::npos) MaskAt(out, run, run_offset);
            start = k;
          }
        }
      }
    }
    // The rest of a run cut at 16 digits is not a run start (a digit before it); step over it at once.
    i = std::max(j, i + 1);
    while (i < n && IsDigit(text[i]) && IsDigit(text[i - 1])) ++i;
  }
  return out;
}

std::string MaskPhone(std::string_view phone) {
  std::string digits;
  for (char c : phone) {
    if (IsDigit(c)) digits.push_back(c);
  }
  if (phone.substr(0, 1) == "+" && digits.size() == 13 && digits.compare(0, 2, "86") == 0) digits.erase(0, 2);
  if (digits.size() < 7) return "****";
  return digits.substr(0, 3) + "****" + digits.substr(digits.size() - 4);
}

std::string MaskPersonalInfo(std::string_view text) {
  const std::string numbers_masked = MaskNumbers(text);
  const std::string_view t = numbers_masked;
  static constexpr std::array<std::string_view, 6> kBefore = {"我叫",   "姓名",   "名字叫",
                                                              "名字是", "联系人", "本人"};
  static constexpr std::array<std::string_view, 6> kAfter = {"先生", "女士", "阿姨", "师傅", "大爷", "大妈"};
  std::string out;
  out.reserve(t.size());
  std::size_t i = 0;
  while (i < t.size()) {
    const auto cue =
        std::find_if(kBefore.begin(), kBefore.end(), [&](std::string_view c) { return StartsWith(t, i, c); });
    if (cue != kBefore.end()) {
      out.append(*cue);
      std::size_t j = i + cue->size();
      // Optional separator: ':' '：' or spaces.
      while (j < t.size() && (t[j] == ':' || t[j] == ' ')) out += t[j++];
      if (StartsWith(t, j, "：")) {
        out += "：";
        j += 3;
      }
      std::size_t names = 0;
      while (names < 3 && HanAt(t, j) != 0) {
        j += 3;
        ++names;
      }
      if (names > 0) out += kSomeone;
      i = j;
      continue;
    }
    // A surname right before a title: "张先生" -> "某先生".
    if (HanAt(t, i) != 0 && std::any_of(kAfter.begin(), kAfter.end(),
                                        [&](std::string_view c) { return StartsWith(t, i + 3, c); })) {
      out += "某";
      i += 3;
      continue;
    }
    out += t[i++];
  }
  return out;
}

}  // namespace minyi
