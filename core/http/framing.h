// Request framing checks for http::Server (core/http/server.cc), on the raw header block as received.
//
// Poco's parser is lenient where a lenient reading lets a proxy in front and this server disagree on
// where a request ends (request smuggling): it takes the first of two Content-Length headers, joins an
// obsolete folded line (RFC 9112 §5.2) into the previous header without trace, and accepts a signed
// Content-Length. So the header block is checked here, byte for byte, before a handler sees it.
#pragma once

#include <string>
#include <string_view>

namespace minyi::http {

// `head` is the request from its first byte; only the part up to the first empty line is read. Empty
// when the framing is unambiguous; otherwise the reason (for the log, never for the client):
//   - a header line that starts with a space or tab (obsolete line folding);
//   - more than one Content-Length, or one that is not 1 to 18 ASCII digits;
//   - more than one Transfer-Encoding, or one that is not exactly "chunked";
//   - Content-Length together with Transfer-Encoding;
//   - no end of the header block (the caller bounds how much it records).
std::string FramingProblem(std::string_view head);

}  // namespace minyi::http
