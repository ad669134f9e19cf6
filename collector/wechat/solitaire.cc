#include "collector/wechat/solitaire.h"

#include <array>

namespace minyi::collector::wechat {
namespace {

std::string_view Trim(std::string_view s) {
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  // Full-width spaces (U+3000) are common in typed lists.
  while (s.substr(0, 3) == "\xE3\x80\x80") s.remove_prefix(3);
  while (s.size() >= 3 && s.substr(s.size() - 3) == "\xE3\x80\x80") s.remove_suffix(3);
  return s;
}

// "12. text" → text (digits, an ASCII or full-width dot, optional spaces); npos when not an entry.
std::size_t EntryTextStart(std::string_view line) {
  std::size_t i = 0;
  while (i < line.size() && line[i] >= '0' && line[i] <= '9') ++i;
  if (i == 0 || i > 4) return std::string_view::npos;
  if (i < line.size() && line[i] == '.') {
    ++i;
  } else if (line.substr(i, 3) == "．") {
    i += 3;
  } else {
    return std::string_view::npos;
  }
  while (i < line.size() && line[i] == ' ') ++i;
  return i;
}

std::string Collapse(std::string_view s) {
  std::string out;
  bool space = false;
  for (char c : s) {
    if (c == ' ' || c == '\t') {
      space = !out.empty();
    } else {
      if (space) out.push_back(' ');
      space = false;
      out.push_back(c);
    }
  }
  return out;
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

SolitaireList ParseSolitaire(std::string_view text) {
  SolitaireList list;
  bool in_entries = false;
  std::string current;
  auto flush = [&]() {
    if (!current.empty()) list.entries.push_back(Collapse(current));
    current.clear();
  };
  while (!text.empty()) {
    const std::size_t nl = text.find('\n');
    const std::string_view raw = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    const std::string_view line = Trim(raw);
    const std::size_t start = EntryTextStart(line);
    if (start != std::string_view::npos) {
      flush();
      in_entries = true;
      current = std::string(Trim(line.substr(start)));
      if (current.empty()) current = " ";  // an empty slot still counts as a line of the list
      continue;
    }
    if (in_entries) {
      if (!line.empty()) current += (current == " " ? "" : " ") + std::string(line);
      continue;
    }
    if (line.empty()) continue;
    if (!list.header.empty()) list.header += '\n';
    list.header += std::string(line);
    const bool tag = line.find("#接龙") != std::string_view::npos && line.size() <= 3 * 8;
    auto starts = [&line](std::string_view p) { return line.substr(0, p.size()) == p; };
    const bool example = starts("例 ") || starts("例：") || starts("例:") || starts("例如");
    if (!tag && !example) {
      if (!list.topic.empty()) list.topic += '\n';
      list.topic += std::string(line);
    }
  }
  flush();
  // Drop empty slots.
  std::vector<std::string> kept;
  for (auto& e : list.entries) {
    if (e != " " && !e.empty()) kept.push_back(std::move(e));
  }
  list.entries = std::move(kept);
  return list;
}

std::string EntryLocation(std::string_view entry) {
  static const std::array<std::string_view, 7> kUnits = {"号楼", "栋", "幢", "单元", "室", "号院", "层"};
  static const std::array<std::string_view, 7> kPlaces = {"小区", "社区", "花园", "新村", "家园", "公寓", "苑"};
  std::string out;
  // Split on spaces; keep the tokens that name a building (digits + unit) or a place.
  std::size_t i = 0;
  const std::string collapsed = Collapse(entry);
  std::string_view s = collapsed;
  while (i <= s.size()) {
    const std::size_t sp = s.find(' ', i);
    const std::string_view token = s.substr(i, sp == std::string_view::npos ? std::string_view::npos : sp - i);
    std::string kept;
    // "3号楼", "5栋2单元", also when glued to a name ("3号楼张阿姨"): digits + unit, repeated.
    std::size_t at = 0;
    for (;;) {
      std::size_t d = at;
      while (d < token.size() && IsDigit(token[d])) ++d;
      if (d == at) break;
      std::size_t unit = 0;
      for (std::string_view u : kUnits) {
        if (token.substr(d, u.size()) == u && u.size() > unit) unit = u.size();
      }
      if (unit == 0) break;
      at = d + unit;
    }
    if (at > 0) kept = std::string(token.substr(0, at));
    for (std::string_view p : kPlaces) {
      if (kept.empty() && token.size() > p.size() && token.substr(token.size() - p.size()) == p) kept = std::string(token);
    }
    const bool keep = !kept.empty();
    if (keep) out += (out.empty() ? "" : " ") + kept;
    if (sp == std::string_view::npos) break;
    i = sp + 1;
  }
  return out;
}

}  // namespace minyi::collector::wechat
