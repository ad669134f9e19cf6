#include "tests/integration/web_http.h"

#include <Poco/Exception.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>
#include <Poco/URI.h>

namespace minyi::testing {

std::string WebReply::Header(const std::string& name) const {
  auto it = headers.find(name);
  return it == headers.end() ? "" : it->second;
}

WebReply HttpCall(int port, const std::string& method, const std::string& path, const std::string& body,
                  const std::map<std::string, std::string>& headers) {
  WebReply reply;
  try {
    Poco::Net::HTTPClientSession session("127.0.0.1", static_cast<Poco::UInt16>(port));
    session.setTimeout(Poco::Timespan(30, 0));
    Poco::Net::HTTPRequest request(method, path, Poco::Net::HTTPMessage::HTTP_1_1);
    for (const auto& [k, v] : headers) request.set(k, v);
    if (method == "POST" || !body.empty())
      request.setContentLength(static_cast<std::streamsize>(body.size()));
    std::ostream& out = session.sendRequest(request);
    out << body;
    Poco::Net::HTTPResponse response;
    std::istream& in = session.receiveResponse(response);
    Poco::StreamCopier::copyToString(in, reply.body);
    reply.status = static_cast<int>(response.getStatus());
    for (const auto& [k, v] : response) reply.headers.emplace(k, v);
  } catch (const Poco::Exception&) {
    reply.status = 0;
  }
  return reply;
}

SignedIn SignIn(int port, const std::string& username, const std::string& password) {
  // Names and passwords of the tests need no JSON escaping.
  const WebReply r = HttpCall(port, "POST", "/api/v1/login",
                              "{\"username\":\"" + username + "\",\"password\":\"" + password + "\"}",
                              {{"Content-Type", "application/json"}});
  SignedIn in;
  const std::string cookie = r.Header("Set-Cookie");
  if (r.status != 200 || cookie.empty()) return in;
  in.cookie = cookie.substr(0, cookie.find(';'));
  const std::string key = "\"csrf_token\":\"";
  const auto at = r.body.find(key);
  if (at != std::string::npos) {
    const auto from = at + key.size();
    in.csrf = r.body.substr(from, r.body.find('"', from) - from);
  }
  return in;
}

std::string HiddenField(const std::string& html, const std::string& name) {
  const std::string marker = "name=\"" + name + "\" value=\"";
  const auto pos = html.find(marker);
  if (pos == std::string::npos) return "";
  const auto start = pos + marker.size();
  std::string raw = html.substr(start, html.find('"', start) - start);
  std::string out;
  for (std::size_t i = 0; i < raw.size(); ++i) {
    if (raw.compare(i, 5, "&amp;") == 0) {
      out += '&';
      i += 4;
    } else if (raw.compare(i, 6, "&quot;") == 0) {
      out += '"';
      i += 5;
    } else if (raw.compare(i, 4, "&lt;") == 0) {
      out += '<';
      i += 3;
    } else if (raw.compare(i, 4, "&gt;") == 0) {
      out += '>';
      i += 3;
    } else
      out += raw[i];
  }
  return out;
}

std::string FormEncode(const std::vector<std::pair<std::string, std::string>>& fields) {
  std::string out;
  for (const auto& [k, v] : fields) {
    std::string ek, ev;
    Poco::URI::encode(k, "&=+?#/%", ek);
    Poco::URI::encode(v, "&=+?#/%", ev);
    out += (out.empty() ? "" : "&") + ek + "=" + ev;
  }
  return out;
}

std::string DeviceCookie(const WebReply& reply) {
  auto range = reply.headers.equal_range("Set-Cookie");
  for (auto it = range.first; it != range.second; ++it) {
    if (it->second.rfind("minyi_device=", 0) == 0) return it->second.substr(0, it->second.find(';'));
  }
  return "";
}

int ChannelCount(int port, const SignedIn& who, const std::string& area, const std::string& period,
                 const std::string& channel) {
  const WebReply r = HttpCall(port, "GET", "/api/v1/channels?area=" + area, "",
                              {{"Cookie", who.cookie}, {"Accept", "application/json"}});
  if (r.status != 200) return -1;
  Poco::JSON::Parser parser;
  auto years = parser.parse(r.body).extract<Poco::JSON::Object::Ptr>()->getArray("years");
  for (std::size_t i = 0; i < years->size(); ++i) {
    auto year = years->getObject(static_cast<unsigned>(i));
    if (year->getValue<std::string>("period") == period)
      return year->getObject("by_channel")->getValue<int>(channel);
  }
  return 0;
}

}  // namespace minyi::testing
