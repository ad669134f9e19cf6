#include "core/terminal_text.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace minyi {
namespace {

// Regression (issue 13): `minyi user audit` and the import reports printed outside text raw, so a
// user name or a chat line could recolour, retitle or rewrite the operator's terminal.
TEST(TerminalSafeTest, NeutralisesControlsAndKeepsText) {
  struct Case {
    std::string in;
    LineBreaks breaks;
    std::string out;
  };
  const std::vector<Case> cases = {
      {"张三 ok", LineBreaks::kEscape, "张三 ok"},
      {"a\\b", LineBreaks::kEscape, "a\\b"},
      {"\x1b[31mred\x1b[0m", LineBreaks::kEscape, "\\x1b[31mred\\x1b[0m"},
      {"\x1b]0;owned\x07", LineBreaks::kEscape, "\\x1b]0;owned\\x07"},
      {"line1\nline2\tx", LineBreaks::kKeep, "line1\nline2\tx"},
      {"line1\nline2\tx", LineBreaks::kEscape, "line1\\x0aline2\\x09x"},
      {"ok\rforged", LineBreaks::kKeep, "ok\\x0dforged"},
      {std::string("nul\0x", 5), LineBreaks::kKeep, "nul\\x00x"},
      {"del\x7f", LineBreaks::kKeep, "del\\x7f"},
      {"c1 \xc2\x9b"
       "2J",
       LineBreaks::kKeep, "c1 \\u009b2J"},  // U+009B CSI, UTF-8 encoded
      {"raw \x9b"
       "2J",
       LineBreaks::kKeep, "raw \\x9b2J"},  // a lone 8-bit CSI byte
      {"\xe2\x80\xae"
       "txt.exe",
       LineBreaks::kKeep, "\\u202etxt.exe"},  // right-to-left override
      {"\xe2\x81\xa6x\xe2\x80\xa8", LineBreaks::kKeep, "\\u2066x\\u2028"},
      {"\xc0\xaf", LineBreaks::kKeep, "\\xc0\\xaf"},           // overlong "/"
      {"\xed\xa0\x80", LineBreaks::kKeep, "\\xed\\xa0\\x80"},  // a surrogate
      {"cut \xe4\xb8", LineBreaks::kKeep, "cut \\xe4\\xb8"},   // truncated sequence
      {"", LineBreaks::kKeep, ""},
  };
  for (const Case& c : cases) EXPECT_EQ(TerminalSafe(c.in, c.breaks), c.out) << c.out;
}

}  // namespace
}  // namespace minyi
