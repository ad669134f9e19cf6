// The resident pages (HTML), rendered from a survey definition: mobile-first, Chinese, large type and
// high contrast, usable without JavaScript (plain form POST; the optional script only submits the
// county choice and blocks double taps). Pure functions: every text that comes from input or
// configuration is HTML-escaped here.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/areas.h"
#include "core/response.h"
#include "core/survey.h"

namespace minyi::collector {

// The short PIPL notice (个人信息保护法 Art. 17): who collects, why, how long it is kept.
struct PrivacyNotice {
  std::string controller;
  std::string purpose;
  std::string retention;
};

// Everything the survey form shows.
struct FormView {
  const SurveyDefinition* survey = nullptr;
  Period period;
  std::string token;        // invitation token, carried in a hidden field; empty for a public link
  std::string fixed_town;   // a town code fixed by the invitation; empty: the resident chooses
  std::string county;       // the chosen county (6 digits), empty when none yet
  std::string town;         // the chosen town (9 digits)
  std::string town_name;    // the typed town name (search within the county)
  std::vector<const Area*> town_choices;  // towns offered in the town list (the county's, or search hits)
  Answers answers;          // the resident's choices so far (kept on re-render)
  std::map<std::string, std::string> errors;  // by field ("town", question code) → Chinese message
  std::string notice;       // a general message above the form (e.g. "页面已过期"), may be empty
  std::string idempotency_key;
  std::string rendered_at;  // ms since the epoch, signed with the form
  std::string csrf;
};

std::string RenderSurveyForm(const FormView& view, const AreaRegistry& areas, const PrivacyNotice& privacy);

// A short page with a heading and one paragraph (thank-you, already answered, link invalid, ...).
std::string RenderMessagePage(std::string_view title, std::string_view heading, std::string_view message);

// A friendly Chinese message for a validation problem of a page submission.
std::string ChineseFieldMessage(const FieldError& error);

// The static files the pages use.
std::string_view WebCss();
std::string_view WebJs();

}  // namespace minyi::collector
