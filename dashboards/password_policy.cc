#include "dashboards/password_policy.h"

#include <unicode/unistr.h>
#include <unicode/utf8.h>

#include <string>
#include <unordered_set>

namespace minyi::dashboards {

extern const std::string_view kCommonPasswordsText;  // generated from passwords/common_passwords.txt

namespace {

// ICU's full case folding: the comparison ignores case in every script, not only in ASCII.
std::string Fold(std::string_view text) {
  std::string out;
  icu::UnicodeString::fromUTF8(icu::StringPiece(text.data(), static_cast<std::int32_t>(text.size())))
      .foldCase()
      .toUTF8String(out);
  return out;
}

const std::unordered_set<std::string>& CommonPasswords() {
  static const std::unordered_set<std::string> kSet = [] {
    std::unordered_set<std::string> set;
    std::string_view rest = kCommonPasswordsText;
    while (!rest.empty()) {
      const std::size_t end = rest.find('\n');
      std::string_view line = rest.substr(0, end);
      rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (!line.empty() && line.front() != '#') set.insert(Fold(line));
    }
    return set;
  }();
  return kSet;
}

}  // namespace

long long CountCodePoints(std::string_view text) {
  // ICU's decoder: it refuses overlong forms, surrogates and truncated sequences.
  const auto* s = reinterpret_cast<const std::uint8_t*>(text.data());
  const auto length = static_cast<std::int32_t>(text.size());
  long long count = 0;
  for (std::int32_t i = 0; i < length; ++count) {
    UChar32 c = 0;
    U8_NEXT(s, i, length, c);
    if (c < 0) return -1;
  }
  return count;
}

bool IsCommonPassword(std::string_view password) { return CommonPasswords().count(Fold(password)) > 0; }

Status CheckPasswordPolicy(std::string_view password, std::string_view username) {
  if (password.size() > kMaxPasswordBytes) {
    return Status::InvalidInput("password: at most " + std::to_string(kMaxPasswordBytes) + " bytes");
  }
  const long long characters = CountCodePoints(password);
  if (characters < 0) return Status::InvalidInput("password: not valid UTF-8");
  if (characters < static_cast<long long>(kMinPasswordLength)) {
    return Status::InvalidInput("password: at least " + std::to_string(kMinPasswordLength) + " characters");
  }
  if (IsCommonPassword(password)) {
    return Status::InvalidInput("password: too common (on the list of common passwords); choose another");
  }
  if (!username.empty() && Fold(password).find(Fold(username)) != std::string::npos) {
    return Status::InvalidInput("password: must not contain the user name");
  }
  return Status::Ok();
}

}  // namespace minyi::dashboards
