#include "core/json_text.h"

#include <cstdio>

namespace minyi {

std::string JsonEscape(std::string_view text, JsonEscaping escaping) {
  const bool html_safe = escaping == JsonEscaping::kHtmlSafe;
  std::string out;
  out.reserve(text.size() + 2);
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '<':
        out += html_safe ? "\\u003c" : "<";
        break;
      case '>':
        out += html_safe ? "\\u003e" : ">";
        break;
      case '&':
        out += html_safe ? "\\u0026" : "&";
        break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += ch;
        }
    }
  }
  return out;
}

std::string JsonString(std::string_view text, JsonEscaping escaping) {
  return "\"" + JsonEscape(text, escaping) + "\"";
}

}  // namespace minyi
