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

namespace {

// One "<question>=<first value>" token, after a space unless it is the first.
void AppendCodeToken(std::string_view question, std::string_view first_value, bool first_token,
                     std::string* out) {
  if (!first_token) out->push_back(' ');
  out->append(question);
  out->push_back('=');
  if (IsOptionCodeForm(first_value)) {
    out->append(first_value);
  } else {
    out->push_back('?');
  }
}

}  // namespace

std::string AnalysisCodes(const Answers& answers) {
  std::string out;
  for (const auto& [question, values] : answers) {
    if (values.empty()) continue;
    AppendCodeToken(question, values.front(), out.empty(), &out);
  }
  return out;
}

void AppendAnalysisCodes(const AnswerView* answers, std::size_t count, std::string* out) {
  for (std::size_t i = 0; i < count; ++i) {
    // A question's first value opens its run (the values of one question are adjacent).
    if (i > 0 && answers[i].question == answers[i - 1].question) continue;
    AppendCodeToken(answers[i].question, answers[i].value, i == 0, out);
  }
}

}  // namespace minyi
