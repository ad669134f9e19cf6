// Internals of the WeChat importer shared by its translation units (wechat_import.cc: files, groups,
// members and their responses; wechat_matching.cc: prompts, replies and 接龙 lists → answers;
// wechat_report.cc: the import report as text and JSON): text helpers and name keys. Not part of the
// importer's API; include it only from collector/wechat/wechat_*.cc.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "collector/wechat/chat_reader_internal.h"
#include "core/text/unicode_text.h"

namespace minyi::collector::wechat::import_detail {

// The chat readers' trimming and cutting (chat_reader_internal.h), under the importer's names.
inline std::string_view Trim(std::string_view s) { return chat_detail::TrimView(s); }
inline std::string CutText(std::string_view s, std::size_t max = 200) { return chat_detail::Cut(s, max); }

// A name as WeChatMsg TXT writes it in message headers: white space and \ / : * ? " < > | . become '_'.
inline std::string SafeName(std::string_view name) {
  std::string out(name);
  for (char& c : out) {
    if (std::string_view(" \t\\/:*?\"<>|.").find(c) != std::string_view::npos) c = '_';
  }
  return out;
}

// A name compared across exporters: NFKC-folded and written as WeChatMsg TXT would.
// Chinese numerals (standing alone they are answers) and the opt-out words MayHoldAnswer looks for.
inline const char* const kNumerals[] = {"一", "二", "三", "四", "五", "六", "七",   "八",
                                        "九", "十", "两", "壹", "贰", "叁", "肆",   "伍",
                                        "陆", "柒", "捌", "玖", "拾", "〇", "退订", "拒收"};

inline std::string NameKey(std::string_view name) { return SafeName(text::NfkcFold(Trim(name))); }

// Quoted text compared with a prompt (issue 16): NFKC-folded, without white space (exporters keep the
// quoted lines, or join them with spaces, or cut them), without a trailing ellipsis ("…" folds to "...").
inline std::string QuoteText(std::string_view text) {
  const std::string folded = text::NfkcFold(text);
  std::string out;
  out.reserve(folded.size());
  for (char c : folded) {
    if (c != ' ' && c != '\t' && c != '\n' && c != '\r') out.push_back(c);
  }
  while (!out.empty() && out.back() == '.') out.pop_back();
  return out;
}

}  // namespace minyi::collector::wechat::import_detail
