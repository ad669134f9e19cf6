// Which passwords an account may have (README "Dashboards"): at least kMinPasswordLength Unicode code
// points (not bytes: "平安建设满意度调查" is 9 characters), at most kMaxPasswordBytes bytes of valid UTF-8,
// not one of the common passwords shipped in dashboards/passwords/common_passwords.txt (compared
// case-insensitively, by Unicode case folding), and neither equal to nor containing the user name.
#pragma once

#include <cstddef>
#include <string_view>

#include "core/status.h"

namespace minyi::dashboards {

inline constexpr std::size_t kMinPasswordLength = 10;  // code points
inline constexpr std::size_t kMaxPasswordBytes = 1024;

// OK when `password` may be set for `username` (empty: no user name to compare with). Otherwise
// kInvalidInput whose message names the field ("password: ...") and the rule broken; the message
// never repeats the password. Thread-safe.
Status CheckPasswordPolicy(std::string_view password, std::string_view username = {});

// True when `password`, case-folded, is on the shipped list of common passwords.
bool IsCommonPassword(std::string_view password);

// The number of Unicode code points in `text`, or -1 when it is not valid UTF-8.
long long CountCodePoints(std::string_view text);

}  // namespace minyi::dashboards
