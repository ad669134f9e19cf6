// Outside text made safe to print on a terminal.
//
// Text that came from outside (a chat export, a questionnaire file, a user name typed at the login
// page, a file name) may hold control characters: ESC starts sequences that recolour, retitle, move the
// cursor or rewrite what the terminal shows, CR overwrites a line, and the C1 controls (U+0080..U+009F,
// and the raw bytes 0x80..0x9F that some terminals take as 8-bit controls) do the same. Every piece of
// outside text the command line prints goes through TerminalSafe.
#pragma once

#include <string>
#include <string_view>

namespace minyi {

enum class LineBreaks {
  kKeep,    // multi-line text (a whole report): "\n" and "\t" pass; everything else below is escaped
  kEscape,  // one field of a line (a table cell): "\n" and "\t" are escaped too
};

// `text` with every C0 control (except "\n" and "\t" under kKeep), DEL, C1 control, bidirectional
// override or isolate (U+202A..U+202E, U+2066..U+2069) and line/paragraph separator (U+2028, U+2029)
// replaced by a visible escape ("\x1b", "\u009b", "\u202e"); bytes that are not valid UTF-8 become
// "\xNN". A backslash stays as it is. Valid, printable UTF-8 (Chinese included) is unchanged.
std::string TerminalSafe(std::string_view text, LineBreaks line_breaks = LineBreaks::kEscape);

}  // namespace minyi
