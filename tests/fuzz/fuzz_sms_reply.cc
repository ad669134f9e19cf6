// The SMS reply parser (collector/common/reply_parser.h) with the default survey's questions: the first
// byte says which question the conversation waits for (the later ones may be answered too).
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "collector/common/reply_parser.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const minyi::SurveyDefinition& survey = minyi::fuzz::DefaultSurvey();
  std::vector<const minyi::Question*> pending;
  const std::size_t first = data[0] % survey.questions.size();
  for (std::size_t i = first; i < survey.questions.size(); ++i) pending.push_back(&survey.questions[i]);
  const auto text = minyi::fuzz::AsText(data + 1, size - 1);
  const auto reply = minyi::collector::ParseReply(text, pending);
  const std::string described = reply.Describe();
  if (reply.kind == minyi::collector::ReplyKind::kAnswers) {
    if (reply.answered > pending.size()) __builtin_trap();
    for (const auto& [code, values] : reply.answers) {
      if (survey.FindQuestion(code) == nullptr) __builtin_trap();
    }
  }
  (void)minyi::collector::IsOptOut(text);
  return 0;
}
