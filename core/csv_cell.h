// Writing CSV cells: the one place that quotes fields (RFC 4180) and neutralises spreadsheet formulas,
// shared by the exports, the dashboards' CSV downloads, invitation lists and the canonical CSV.
//
// Formula injection: spreadsheet programs (Excel, WPS, LibreOffice) run a text cell that starts with
// '=', '+', '-' or '@' as a formula, and also one that starts with a TAB or CR followed by one (the
// OWASP "CSV Injection" list of leading characters). CsvText puts a single quote in front of a text
// starting with any of these six (Excel shows the text as typed); numeric cells are written by the
// caller as numbers and never pass through here.
// NUL bytes are removed from every cell: they end C strings in the programs that read the file and
// have no meaning in UTF-8 text.
#pragma once

#include <string>
#include <string_view>

namespace minyi {

// text without NUL bytes, with "'" in front when it starts with = + - @ TAB or CR.
std::string NeutralizeFormula(std::string_view text);

// Whether a spreadsheet would read `text` as a formula (it starts with = + - @ TAB or CR).
bool StartsLikeFormula(std::string_view text);

// A CSV field for a text cell that people open in a spreadsheet: NeutralizeFormula, then quoted (with
// "" for ") when it holds , " CR or LF.
std::string CsvText(std::string_view text);

// A CSV field for machine-read, canonical CSV that must read back byte for byte (e.g. `minyi export
// responses`, read again by `minyi import responses`): NUL bytes removed, quoted when it holds , " CR
// or LF, never neutralised.
std::string CsvQuote(std::string_view text);

}  // namespace minyi
