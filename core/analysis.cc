#include "core/analysis.h"

namespace minyi {

bool IsOptionCodeForm(std::string_view value) {
  if (value.empty() || value.size() > kMaxOptionCodeLength) return false;
  for (const char c : value) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
                    c == '+' || c == '-';
    if (!ok) return false;
  }
  return true;
}

std::string AnalysisCodes(const Answers& answers) {
  std::string out;
  for (const auto& [question, values] : answers) {
    if (values.empty()) continue;
    if (!out.empty()) out.push_back(' ');
    out += question;
    out.push_back('=');
    if (IsOptionCodeForm(values.front())) {
      out += values.front();
    } else {
      out.push_back('?');
    }
  }
  return out;
}

}  // namespace minyi
