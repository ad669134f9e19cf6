#include "core/http/framing.h"

#include <cctype>

namespace minyi::http {
namespace {

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  }
  return true;
}

std::string_view TrimOws(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool ValidLength(std::string_view value) {
  if (value.empty() || value.size() > 18) return false;  // 18 digits always fit an Int64
  for (char c : value) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

}  // namespace

std::string FramingProblem(std::string_view head) {
  int content_lengths = 0;
  int transfer_encodings = 0;
  bool request_line = true;
  std::size_t pos = 0;
  for (;;) {
    const std::size_t eol = head.find('\n', pos);
    if (eol == std::string_view::npos) return "no end of the header block";
    std::string_view line = head.substr(pos, eol - pos);
    pos = eol + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (request_line) {
      request_line = false;
      continue;
    }
    if (line.empty()) break;
    if (line.front() == ' ' || line.front() == '\t') return "obsolete line folding";
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;  // Poco rejects or skips it
    const std::string_view name = TrimOws(line.substr(0, colon));
    const std::string_view value = TrimOws(line.substr(colon + 1));
    if (EqualsIgnoreCase(name, "Content-Length")) {
      if (++content_lengths > 1) return "more than one Content-Length";
      if (!ValidLength(value)) return "invalid Content-Length";
    } else if (EqualsIgnoreCase(name, "Transfer-Encoding")) {
      if (++transfer_encodings > 1) return "more than one Transfer-Encoding";
      if (!EqualsIgnoreCase(value, "chunked")) return "unsupported Transfer-Encoding";
    }
  }
  if (content_lengths > 0 && transfer_encodings > 0) return "Content-Length with Transfer-Encoding";
  return {};
}

}  // namespace minyi::http
