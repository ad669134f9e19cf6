// JSON string escaping, written once for every component that writes JSON text by hand (HTTP answers and
// error bodies, stored raw payloads, reports, export metadata). Hand-written rather than Poco::JSON's
// stringify: that needs a Var per string, escapes '/' and non-ASCII differently (the stored raw payloads and
// exports would change byte for byte), and has no HTML-safe form. Pure functions, thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace minyi {

enum class JsonEscaping {
  kPlain,     // " \ and control characters: \n \r \t, the others \u00xx (lower-case hex)
  kHtmlSafe,  // also < > & as \u003c \u003e \u0026, so the text may sit inside <script> or an HTML page
};

// `text` as the inside of a JSON string literal (without the quotes). Bytes ≥ 0x80 are copied as they are:
// the caller gives UTF-8.
std::string JsonEscape(std::string_view text, JsonEscaping escaping = JsonEscaping::kPlain);
// The same with the quotes: "\"" + JsonEscape(text, escaping) + "\"".
std::string JsonString(std::string_view text, JsonEscaping escaping = JsonEscaping::kPlain);

}  // namespace minyi
