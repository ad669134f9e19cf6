#include "dashboards/guard.h"

#include <Poco/Net/NameValueCollection.h>
#include <Poco/URI.h>
#include <sodium.h>

namespace minyi::dashboards {
namespace {

bool SameSecret(const std::string& a, const std::string& b) {
  return a.size() == b.size() && !a.empty() && sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

Status NeedAllows(Need need, Role role) {
  switch (need) {
    case Need::kSignedIn: return Status::Ok();
    case Need::kDashboard:
      return MayViewDashboards(role) ? Status::Ok() : Status::PermissionDenied("该账号无权查看统计数据");
    case Need::kAdmin:
      return role == Role::kAdmin ? Status::Ok() : Status::PermissionDenied("仅管理员可以执行此操作");
  }
  return Status::PermissionDenied("forbidden");
}

}  // namespace

std::string QueryParam(const http::Request& request, std::string_view name) {
  try {
    for (const auto& [key, value] : Poco::URI(request.getURI()).getQueryParameters()) {
      if (key == name) return value;
    }
  } catch (const Poco::Exception&) {
    // A malformed query is treated as absent; the handler reports the missing parameter.
  }
  return std::string();
}

std::string RemoteAddress(const http::Request& request) { return request.clientAddress().host().toString(); }

std::string SessionIdOf(const http::Request& request) {
  Poco::Net::NameValueCollection cookies;
  request.getCookies(cookies);
  return cookies.get(std::string(kSessionCookie), "");
}

void Guard::Add(const std::string& method, const std::string& pattern, Need need, CallerHandler handler) {
  AccessService& access = access_;
  router_.Add(method, pattern,
              [&access, need, handler = std::move(handler)](http::Request& request, http::Response& response,
                                                            const http::PathParams& params) {
                Caller caller;
                caller.session_id = SessionIdOf(request);
                caller.remote = RemoteAddress(request);
                auto principal = access.Authenticate(caller.session_id);
                if (!principal.ok()) return http::SendError(response, principal.status());
                caller.principal = std::move(principal).value();
                Status allowed = NeedAllows(need, caller.principal.user.role);
                if (!allowed.ok()) return http::SendError(response, allowed);
                const std::string& m = request.getMethod();
                if (m != "GET" && m != "HEAD" &&
                    !SameSecret(request.get("X-CSRF-Token", ""), caller.principal.session.csrf_token)) {
                  return http::SendError(response, Status::PermissionDenied("缺少或错误的 CSRF 令牌，请刷新页面"));
                }
                handler(caller, request, response, params);
              });
}

void Guard::AddArea(const std::string& pattern, AreaHandler handler) {
  Guard* self = this;
  Add("GET", pattern, Need::kDashboard,
      [self, handler = std::move(handler)](const Caller& caller, http::Request& request, http::Response& response,
                                           const http::PathParams&) {
        const std::string code = QueryParam(request, "area");
        if (code.empty()) return http::SendError(response, Status::InvalidInput("area: required"));
        auto scoped = self->Authorize(caller, code);
        if (!scoped.ok()) return http::SendError(response, scoped.status());
        self->access_.AuditView(caller.principal, code, caller.remote);
        handler(caller, scoped.value(), request, response);
      });
}

Result<ScopedArea> Guard::Authorize(const Caller& caller, std::string_view code) const {
  const Area* area = access_.areas().Find(code);
  if (area == nullptr) return Status::InvalidInput("area: unknown division code '" + std::string(code) + "'");
  if (!InScope(caller.principal.user, access_.areas(), code)) {
    return Status::PermissionDenied("无权查看该地区的数据：" + area->name);
  }
  return ScopedArea(area);
}

}  // namespace minyi::dashboards
