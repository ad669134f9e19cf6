// The dashboards' session routes: POST /api/v1/login, POST /api/v1/logout, GET /api/v1/me.
#include <Poco/JSON/Parser.h>

#include "dashboards/dashboard_api.h"
#include "dashboards/dashboard_json.h"
#include "dashboards/guard.h"

namespace minyi::dashboards {

using json::AreaJson;
using json::Str;

void Dashboard::RegisterSession(http::Router& router, Guard& guard) {
  AccessService& access = *deps_.access;
  const AreaRegistry& areas = *deps_.areas;
  router.Add(
      "POST", "/api/v1/login",
      [&access](http::Request& request, http::Response& response, const http::PathParams&) {
        // JSON only: a cross-site form cannot send application/json without a CORS preflight.
        if (request.getContentType().rfind("application/json", 0) != 0) {
          return http::SendError(response, {Status::InvalidInput("application/json expected"),
                                            http::ErrorKind::kUnsupportedMediaType});
        }
        std::string body;
        if (!http::ReadBody(request, response, 4096, body)) {
          return http::SendError(response, Status::InvalidInput("body: at most 4096 bytes"));
        }
        std::string username, password;
        try {
          Poco::JSON::Parser parser;
          auto obj = parser.parse(body).extract<Poco::JSON::Object::Ptr>();
          username = obj->optValue<std::string>("username", "");
          password = obj->optValue<std::string>("password", "");
        } catch (const std::exception&) {
          return http::SendError(
              response, Status::InvalidInput("body: a JSON object {\"username\",\"password\"} expected"));
        }
        if (username.empty()) return http::SendError(response, Status::InvalidInput("username: required"));
        if (password.empty()) return http::SendError(response, Status::InvalidInput("password: required"));
        std::int64_t retry_after = 0;
        auto login = access.Login(username, password, RemoteAddress(request), &retry_after);
        if (!login.ok()) {
          if (login.status().code() == StatusCode::kResourceExhausted)
            response.set("Retry-After", std::to_string(retry_after));
          return http::SendError(response, login.status());
        }
        const Principal& p = login->principal;
        response.add("Set-Cookie", access.SessionCookie(login->session_id));
        http::SendJson(response, 200,
                       "{\"username\":" + Str(p.user.username) + ",\"role\":" + Str(RoleName(p.user.role)) +
                           ",\"csrf_token\":" + Str(p.session.csrf_token) +
                           ",\"expires_at_ms\":" + std::to_string(p.session.expires_at_ms) + "}");
      });
  guard.Add("POST", "/api/v1/logout", Need::kSignedIn,
            [&access](const Caller& c, http::Request&, http::Response& response, const http::PathParams&) {
              Status s = access.Logout(c.principal, c.session_id, c.remote);
              if (!s.ok()) return http::SendError(response, s);
              response.add("Set-Cookie", access.ExpiredCookie());
              http::SendJson(response, 200, "{\"status\":\"logged_out\"}");
            });
  guard.Add("GET", "/api/v1/me", Need::kSignedIn,
            [&areas](const Caller& c, http::Request&, http::Response& response, const http::PathParams&) {
              const User& u = c.principal.user;
              std::string home;
              for (const std::string& code : HomeAreas(u, areas)) {
                if (const Area* a = areas.Find(code)) home += (home.empty() ? "" : ",") + AreaJson(*a);
              }
              http::SendJson(
                  response, 200,
                  "{\"username\":" + Str(u.username) + ",\"role\":" + Str(RoleName(u.role)) +
                      ",\"role_label\":" + Str(RoleLabel(u.role)) +
                      ",\"csrf_token\":" + Str(c.principal.session.csrf_token) +
                      ",\"expires_at_ms\":" + std::to_string(c.principal.session.expires_at_ms) +
                      ",\"sees_low_n\":" + (SeesLowN(u.role) ? "true" : "false") +
                      ",\"may_view_dashboards\":" + (MayViewDashboards(u.role) ? "true" : "false") +
                      ",\"home\":[" + home + "]}");
            });
}

}  // namespace minyi::dashboards
