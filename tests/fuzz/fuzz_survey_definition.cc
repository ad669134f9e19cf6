// Survey definitions (core/survey.h ParseSurveyDefinition); a parsed one also validates a few answers.
#include <cstddef>
#include <cstdint>

#include "core/survey.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto survey = minyi::ParseSurveyDefinition(minyi::fuzz::AsText(data, size));
  if (!survey.ok()) return 0;
  minyi::Answers answers;
  for (const minyi::Question& q : survey->questions) {
    if (!q.options.empty()) answers[q.code].push_back(q.options.front().code);
    for (const minyi::Option& o : q.options) (void)survey->Score(q, o.code);
  }
  (void)survey->ValidateAnswers(answers);
  return 0;
}
