// A small HTTP client for the web collector's integration tests: any method, body and headers, every
// response header (Set-Cookie may repeat), and helpers to read the resident form.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace minyi::testing {

struct WebReply {
  int status = 0;  // 0 when the connection failed
  std::string body;
  std::multimap<std::string, std::string> headers;
  std::string Header(const std::string& name) const;
};

WebReply HttpCall(int port, const std::string& method, const std::string& path, const std::string& body = "",
                  const std::map<std::string, std::string>& headers = {});

// A dashboard session from POST /api/v1/login: the "minyi_session=..." cookie pair and the CSRF token
// (both empty when the login failed).
struct SignedIn {
  std::string cookie;
  std::string csrf;
};
SignedIn SignIn(int port, const std::string& username, const std::string& password);

// The responses of `period` on `channel` stored for `area`, as `who` sees them (GET /api/v1/channels
// of the dashboards' survey, cached 60 s per area); -1 when the request fails.
int ChannelCount(int port, const SignedIn& who, const std::string& area, const std::string& period,
                 const std::string& channel);

// The value of <input ... name="NAME" value="..."> in a page (HTML entities for &, <, >, " decoded).
std::string HiddenField(const std::string& html, const std::string& name);
// "a=b&c=d" with URL encoding.
std::string FormEncode(const std::vector<std::pair<std::string, std::string>>& fields);
// The "minyi_device=..." pair from a reply's Set-Cookie, empty when none.
std::string DeviceCookie(const WebReply& reply);

}  // namespace minyi::testing
