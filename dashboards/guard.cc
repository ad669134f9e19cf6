#include "dashboards/guard.h"

#include <Poco/Net/NameValueCollection.h>
#include <sodium.h>

#include <utility>

#include "core/area_scope.h"

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

std::string RemoteAddress(const http::Request& request) { return request.clientAddress().host().toString(); }

std::string SessionIdOf(const http::Request& request) {
  Poco::Net::NameValueCollection cookies;
  request.getCookies(cookies);
  return cookies.get(std::string(kSessionCookie), "");
}

Result<Caller> Guard::Resolve(const http::Request& request, Need need) const {
  Caller caller;
  caller.session_id = SessionIdOf(request);
  caller.remote = RemoteAddress(request);
  auto principal = access_.Authenticate(caller.session_id);
  if (!principal.ok()) return principal.status();
  caller.principal = std::move(principal).value();
  MINYI_RETURN_IF_ERROR(NeedAllows(need, caller.principal.user.role));
  const std::string& m = request.getMethod();
  if (m != "GET" && m != "HEAD" &&
      !SameSecret(request.get("X-CSRF-Token", ""), caller.principal.session.csrf_token)) {
    return Status::PermissionDenied("缺少或错误的 CSRF 令牌，请刷新页面");
  }
  return caller;
}

Result<User> Guard::Authenticate(const http::Request& request) const {
  auto caller = Resolve(request, Need::kSignedIn);
  if (!caller.ok()) return caller.status();
  return std::move(caller).value().principal.user;
}

void Guard::Add(const std::string& method, const std::string& pattern, Need need, CallerHandler handler) {
  Guard* self = this;
  router_.Add(method, pattern,
              [self, need, handler = std::move(handler)](http::Request& request, http::Response& response,
                                                         const http::PathParams& params) {
                auto caller = self->Resolve(request, need);
                if (!caller.ok()) return http::SendError(response, caller.status());
                handler(caller.value(), request, response, params);
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
  auto area = AuthorizeView(caller.principal.user, access_.areas(), code);
  if (!area.ok()) return area.status();
  return ScopedArea(area.value());
}

}  // namespace minyi::dashboards
