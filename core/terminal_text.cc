#include "core/terminal_text.h"

#include <Poco/UTF8Encoding.h>

#include <algorithm>
#include <cstdio>

namespace minyi {
namespace {

bool Escaped(int cp, LineBreaks line_breaks) {
  if (cp == '\n' || cp == '\t') return line_breaks == LineBreaks::kEscape;
  if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f)) return true;  // C0, DEL, C1
  if (cp >= 0x202a && cp <= 0x202e) return true;             // bidi embeddings and overrides
  if (cp >= 0x2066 && cp <= 0x2069) return true;             // bidi isolates
  return cp == 0x2028 || cp == 0x2029;                       // line and paragraph separators
}

void AppendEscape(std::string& out, const char* format, unsigned value) {
  char buf[12];
  std::snprintf(buf, sizeof buf, format, value);
  out += buf;
}

}  // namespace

std::string TerminalSafe(std::string_view text, LineBreaks line_breaks) {
  // Poco's UTF-8 decoder rather than a hand-written one: it rejects overlong forms and surrogates.
  static const Poco::UTF8Encoding kUtf8;
  std::string out;
  out.reserve(text.size());
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const auto* end = p + text.size();
  while (p < end) {
    const int remaining = static_cast<int>(std::min<std::ptrdiff_t>(end - p, 8));
    int n = kUtf8.sequenceLength(p, remaining);
    int cp = n > 0 && n <= remaining && Poco::UTF8Encoding::isLegal(p, n) ? kUtf8.queryConvert(p, n) : -1;
    if (cp < 0) {
      AppendEscape(out, "\\x%02x", *p);  // not UTF-8: one byte at a time
      ++p;
      continue;
    }
    if (!Escaped(cp, line_breaks)) {
      out.append(reinterpret_cast<const char*>(p), static_cast<std::size_t>(n));
    } else if (cp < 0x80) {
      AppendEscape(out, "\\x%02x", static_cast<unsigned>(cp));
    } else {
      AppendEscape(out, "\\u%04x", static_cast<unsigned>(cp));
    }
    p += n;
  }
  return out;
}

}  // namespace minyi
