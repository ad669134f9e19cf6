// The resident page's form post (collector/web_routes.h ParsePageForm) and the page rendered again
// from what it holds (collector/web_pages.h RenderSurveyForm: every value escaped), the way the POST
// handler re-renders a form with errors. The rendered page must not contain a raw '<' from the input.
#include <cstddef>
#include <cstdint>
#include <string>

#include "collector/web_pages.h"
#include "collector/web_routes.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace c = minyi::collector;
  const auto form = c::ParsePageForm(std::string(minyi::fuzz::AsText(data, size)));
  const minyi::SurveyDefinition& survey = minyi::fuzz::DefaultSurvey();
  c::FormView view;
  view.survey = &survey;
  view.period = minyi::Period{2026, 0};
  for (const auto& [name, value] : form) {
    if (name == "t") view.token = value;
    if (name == "town_name") view.town_name = value;
    if (name == "k") view.idempotency_key = value;
    if (name == "rt") view.rendered_at = value;
    if (name == "csrf") view.csrf = value;
    if (name == "notice") view.notice = value;
    if (name.rfind("q_", 0) == 0 && survey.FindQuestion(name.substr(2)) != nullptr) {
      view.answers[name.substr(2)].push_back(value);
      view.errors[name.substr(2)] = value;
    }
  }
  const std::string page = c::RenderSurveyForm(view, minyi::fuzz::Areas(), c::PrivacyNotice{});
  if (page.find("<fuzz") != std::string::npos) __builtin_trap();  // an input tag reached the page raw
  return 0;
}
