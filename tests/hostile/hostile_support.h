// Shared by the hostile input catalogues (tests/hostile/*_test.cc, README "Hostile input catalogue"):
// the case shapes every channel's table uses, readable GoogleTest names, and the hostile values that
// many channels try in the same way.
#pragma once

#include <cctype>
#include <string>
#include <utility>
#include <vector>

#include "tests/fuzz/fuzz_support.h"  // Areas(), Surveys(): the source tree's data/ and conf/surveys/

namespace minyi::hostile {

// One hostile item placed between valid ones. `expect` empty: the item is valid after all and is
// stored as it is (verbatim); else a substring of the error the importer must report for it (naming
// the field, line or id), while every valid neighbour is stored.
struct Case {
  std::string name;
  std::string input;
  std::string expect;
};

// A GoogleTest parameter name from a case name: letters and digits, the rest '_'.
inline std::string TestName(const std::string& name) {
  std::string out;
  for (const char c : name) out += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  return out;
}

template <typename C>
std::string CaseName(const ::testing::TestParamInfo<C>& info) {
  return std::to_string(info.index) + "_" + TestName(info.param.name);
}

// Text that must be stored verbatim (and escaped wherever it is shown): spreadsheet formulas, SQL,
// HTML and script.
inline const std::vector<std::pair<std::string, std::string>>& VerbatimTexts() {
  static const std::vector<std::pair<std::string, std::string>> texts = {
      {"formula =", "=HYPERLINK(\"http://evil.example/\",\"点我\")"},
      {"formula +", "+1+cmd|' /C calc'!A0"},
      {"formula -", "-2+3"},
      {"formula @", "@SUM(1+1)*cmd|' /C calc'!A0"},
      {"SQL text", "'; DROP TABLE responses; --"},
      {"SQL union", "1' UNION SELECT password_hash FROM users --"},
      {"HTML script", "<script>alert(document.cookie)</script>"},
      {"HTML attribute", "\"><img src=x onerror=alert(1)>"},
      {"percent and braces", "%s%n{{7*7}}${jndi:ldap://x}"},
  };
  return texts;
}

// A CSV field in double quotes (quotes doubled).
inline std::string CsvQuote(const std::string& text) {
  std::string out = "\"";
  for (const char c : text) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

// A JSON string of `text` with only '"' and '\\' escaped: control characters and invalid bytes are left
// as they are, so a case can send them raw.
inline std::string JsonText(const std::string& text) {
  std::string out = "\"";
  for (const char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

inline std::string Repeat(const std::string& unit, std::size_t times) {
  std::string out;
  out.reserve(unit.size() * times);
  for (std::size_t i = 0; i < times; ++i) out += unit;
  return out;
}

}  // namespace minyi::hostile
