// 接龙 (group note) lists (docs/channels.md §3.6). Each participant's new entry re-posts the whole list:
//
//   #接龙
//   幸福里社区平安建设满意度接龙（…）        ← topic
//
//   例 3号楼 张三 很安全 满意                ← optional example
//
//   1. 3号楼 张阿姨 很安全 满意              ← entries "N. text"; unnumbered lines continue an entry
//   2. 5号楼 李建国 安全 比较满意
//
// A thread is identified by (group, the text before the first entry); numbering is ignored (two people
// editing at once fork the list with the same numbers). Pure functions, thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace minyi::collector::wechat {

struct SolitaireList {
  std::string header;                // the text before the first entry, normalized (trimmed lines, no blanks)
  std::string topic;                 // the header without the #接龙 line and the example line
  std::vector<std::string> entries;  // entry texts without their numbers, whitespace collapsed
};

// Parses a list. An empty `entries` means the text holds no entry (yet).
SolitaireList ParseSolitaire(std::string_view text);

// The building / community an entry names ("3号楼", "5栋2单元", "幸福里小区"), space-separated; empty
// when none.
std::string EntryLocation(std::string_view entry);

}  // namespace minyi::collector::wechat
