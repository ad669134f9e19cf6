#include "core/csv_cell.h"

namespace minyi {
namespace {

std::string WithoutNul(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c != '\0') out += c;
  }
  return out;
}

}  // namespace

bool StartsLikeFormula(std::string_view text) {
  if (text.empty()) return false;
  switch (text[0]) {
    case '=':
    case '+':
    case '-':
    case '@':
    case '\t':
    case '\r':
      return true;
    default:
      return false;
  }
}

std::string NeutralizeFormula(std::string_view text) {
  std::string clean = WithoutNul(text);
  return StartsLikeFormula(clean) ? "'" + clean : clean;
}

std::string CsvQuote(std::string_view text) {
  std::string v = WithoutNul(text);
  if (v.find_first_of(",\"\r\n") == std::string::npos) return v;
  std::string out = "\"";
  for (char c : v) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

std::string CsvText(std::string_view text) { return CsvQuote(NeutralizeFormula(text)); }

}  // namespace minyi
