// The dashboards' administration API (admin role): users, their areas and state, the audit log.
#include <Poco/JSON/Parser.h>

#include <cstdlib>

#include "dashboards/dashboard_api.h"
#include "dashboards/dashboard_json.h"
#include "dashboards/guard.h"

namespace minyi::dashboards {

using json::AreaJson;
using json::Str;

void Dashboard::RegisterAdmin(Guard& guard) {
  AccessService& access = *deps_.access;
  const AreaRegistry& areas = *deps_.areas;
  auto user_json = [&areas](const User& u) {
    std::string a;
    for (const std::string& code : u.areas) {
      const Area* area = areas.Find(code);
      a += (a.empty() ? "" : ",") + std::string("{\"code\":") + Str(code) +
           ",\"name\":" + Str(area ? areas.FullName(code) : "") + "}";
    }
    return "{\"username\":" + Str(u.username) + ",\"role\":" + Str(RoleName(u.role)) +
           ",\"role_label\":" + Str(RoleLabel(u.role)) + ",\"areas\":[" + a +
           "],\"disabled\":" + (u.disabled ? "true" : "false") +
           ",\"created_at\":" + Str(FormatTimestampUtc(u.created_at_ms)) + "}";
  };
  guard.Add(
      "GET", "/api/v1/users", Need::kAdmin,
      [&access, user_json](const Caller&, http::Request&, http::Response& response, const http::PathParams&) {
        auto users = access.ListUsers();
        if (!users.ok()) return http::SendError(response, users.status());
        std::string out = "{\"users\":[";
        for (std::size_t i = 0; i < users->size(); ++i) out += (i ? "," : "") + user_json((*users)[i]);
        http::SendJson(response, 200, out + "]}");
      });
  guard.Add(
      "POST", "/api/v1/users", Need::kAdmin,
      [&access](const Caller& c, http::Request& request, http::Response& response, const http::PathParams&) {
        std::string body;
        if (!http::ReadBody(request, response, 8192, body)) {
          return http::SendError(response, Status::InvalidInput("body: at most 8192 bytes"));
        }
        User user;
        std::string password;
        try {
          Poco::JSON::Parser parser;
          auto obj = parser.parse(body).extract<Poco::JSON::Object::Ptr>();
          user.username = obj->optValue<std::string>("username", "");
          auto role = ParseRole(obj->optValue<std::string>("role", ""));
          if (!role) {
            return http::SendError(
                response, Status::InvalidInput("role: admin, statistician, official or grid_worker"));
          }
          user.role = *role;
          if (auto list = obj->getArray("areas")) {
            for (unsigned i = 0; i < list->size(); ++i)
              user.areas.push_back(list->getElement<std::string>(i));
          }
          password = obj->optValue<std::string>("password", "");
        } catch (const std::exception&) {
          return http::SendError(response, Status::InvalidInput("body: a JSON object expected"));
        }
        const std::string name = user.username;
        Status s = access.CreateUser(std::move(user), password, c.principal.user.username, c.remote);
        if (!s.ok()) return http::SendError(response, s);
        http::SendJson(response, 201, "{\"username\":" + Str(name) + ",\"status\":\"created\"}");
      });
  for (const bool disable : {true, false}) {
    guard.Add("POST", disable ? "/api/v1/users/{name}/disable" : "/api/v1/users/{name}/enable", Need::kAdmin,
              [&access, disable](const Caller& c, http::Request&, http::Response& response,
                                 const http::PathParams& p) {
                const std::string& name = p.at("name");
                if (disable && name == c.principal.user.username) {
                  return http::SendError(response, Status::InvalidInput("不能停用自己的账号"));
                }
                Status s = access.SetDisabled(name, disable, c.principal.user.username, c.remote);
                if (!s.ok()) return http::SendError(response, s);
                http::SendJson(
                    response, 200,
                    "{\"username\":" + Str(name) + ",\"disabled\":" + (disable ? "true" : "false") + "}");
              });
  }
  guard.Add(
      "GET", "/api/v1/audit", Need::kAdmin,
      [&access](const Caller&, http::Request& request, http::Response& response, const http::PathParams&) {
        std::int64_t limit = 200;
        const std::string text = QueryParam(request, "limit");
        if (!text.empty()) {
          char* end = nullptr;
          limit = std::strtoll(text.c_str(), &end, 10);
          if (end == text.c_str() || *end != '\0' || limit < 1 || limit > 10000) {
            return http::SendError(response, Status::InvalidInput("limit: 1..10000"));
          }
        }
        auto events = access.ListAudit(limit);
        if (!events.ok()) return http::SendError(response, events.status());
        std::string out = "{\"events\":[";
        for (std::size_t i = 0; i < events->size(); ++i) {
          const AuditEvent& e = (*events)[i];
          out += (i ? "," : "") + std::string("{\"at\":") + Str(FormatTimestampUtc(e.at_ms)) +
                 ",\"username\":" + Str(e.username) + ",\"action\":" + Str(e.action) +
                 ",\"area_code\":" + Str(e.area_code) + ",\"remote_address\":" + Str(e.remote_address) +
                 ",\"detail\":" + Str(e.detail) + "}";
        }
        http::SendJson(response, 200, out + "]}");
      });
}

}  // namespace minyi::dashboards
