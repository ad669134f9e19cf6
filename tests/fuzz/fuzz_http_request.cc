// The head of an HTTP request as `minyi serve` reads it (core/http/server.cc): Poco's
// HTTPServerRequestImpl reads the request line and headers with HTTPRequest::read from the session's
// header stream, then frames the body by Transfer-Encoding / Content-Length; the router parses the URI
// and percent-decodes its path segments. This target runs the same calls on a memory stream. Poco
// exceptions are how Poco reports bad requests (the server answers 400 or closes the connection);
// any other exception would leave the client without an answer, so it is not caught here.
#include <Poco/Exception.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/NameValueCollection.h>
#include <Poco/URI.h>

#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>

#include "tests/fuzz/fuzz_support.h"

namespace {

void ReadHead(std::istream& in) {
  Poco::Net::HTTPRequest request;
  request.read(in);
  // Body framing as HTTPServerRequestImpl decides it: chunked, else Content-Length, else none.
  if (!request.getChunkedTransferEncoding() && request.hasContentLength()) (void)request.getContentLength64();
  (void)request.getKeepAlive();
  (void)request.getExpectContinue();
  (void)request.getHost();
  (void)request.hasCredentials();
  const std::string path = Poco::URI(request.getURI()).getPath();
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    std::string decoded;
    Poco::URI::decode(path.substr(start, end - start), decoded);
    start = end + 1;
  }
  Poco::Net::NameValueCollection cookies;
  request.getCookies(cookies);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::istringstream in(std::string(minyi::fuzz::AsText(data, size)));
  // Keep-alive: a second request head may follow the first (and its body) on the same connection.
  for (int i = 0; i < 2 && in.good(); ++i) {
    try {
      ReadHead(in);
    } catch (const Poco::Exception&) {
      return 0;
    }
  }
  return 0;
}
