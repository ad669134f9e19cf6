// UTF-8 well-formedness, shared by the answer checks (core/survey.cc) and the channels that must
// refuse bytes a UTF-8 column would refuse (collector/sms/webhook.cc).
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace minyi {

// Number of code points, or nullopt when `text` is not well-formed UTF-8 (overlong forms,
// surrogates and values above U+10FFFF are rejected).
std::optional<std::size_t> Utf8Length(std::string_view text);

}  // namespace minyi
