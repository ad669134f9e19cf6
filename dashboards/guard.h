// The one door to every protected route (deny by default). Dashboard, admin and session routes are
// registered through a Guard, never directly on the Router, so none can forget a check:
//   - a valid session cookie (else 401),
//   - the role the route needs (else 403),
//   - for every method other than GET/HEAD, the session's CSRF token in X-CSRF-Token (else 403),
//   - for area routes, the `area` query parameter resolved and checked against the caller's scope on
//     the server (else 400 for a missing/unknown code, 403 outside the scope) before the handler runs;
//     the handler receives the area only as a ScopedArea, which only the Guard can make. Further areas
//     a handler needs (trend comparisons) go through Guard::Authorize.
// Views of areas other than the caller's own are audited once per session. The area scope itself is
// core/area_scope.h (AuthorizeView). The guard is also the http::Authenticator
// (core/http/authenticator.h) the executable hands to routes of other components that need a signed-in
// user (the export upload, collector/wechat/upload_routes.h): the same session and CSRF checks.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "core/areas.h"
#include "core/http/authenticator.h"
#include "core/http/router.h"
#include "dashboards/access_service.h"

namespace minyi::dashboards {

enum class Need {
  kSignedIn,   // any logged-in user
  kDashboard,  // a role that may view dashboards (not grid workers)
  kAdmin,      // administrators only
};

struct Caller {
  Principal principal;
  std::string session_id;
  std::string remote;
};

// An area the caller is allowed to see. Made only by the Guard.
class ScopedArea {
 public:
  const Area& area() const { return *area_; }
  const std::string& code() const { return area_->code; }

 private:
  friend class Guard;
  explicit ScopedArea(const Area* area) : area_(area) {}
  const Area* area_;
};

using CallerHandler = std::function<void(const Caller&, http::Request&, http::Response&, const http::PathParams&)>;
using AreaHandler = std::function<void(const Caller&, const ScopedArea&, http::Request&, http::Response&)>;

// Query parameter `name` of the request (decoded), empty when absent (core/http/router.h).
using http::QueryParam;
// The client address (the socket peer; a proxy in front must be trusted to be the only client).
std::string RemoteAddress(const http::Request& request);
// The session cookie's value, empty when absent.
std::string SessionIdOf(const http::Request& request);

class Guard final : public http::Authenticator {
 public:
  // `access`, `router` and the guard itself must outlive the guard's routes.
  Guard(AccessService& access, http::Router& router) : access_(access), router_(router) {}

  // The user of a valid session (Need::kSignedIn), with the CSRF check of every method but GET/HEAD.
  Result<User> Authenticate(const http::Request& request) const override;

  void Add(const std::string& method, const std::string& pattern, Need need, CallerHandler handler);
  // GET routes with a required `area` parameter, scope-checked (Need::kDashboard).
  void AddArea(const std::string& pattern, AreaHandler handler);

  // kInvalidInput for an unknown code, kPermissionDenied outside the caller's scope.
  Result<ScopedArea> Authorize(const Caller& caller, std::string_view code) const;

 private:
  // The caller of `request` when its session is valid, its role meets `need` and, for methods other
  // than GET/HEAD, it sent the session's CSRF token (401 / 403 statuses otherwise).
  Result<Caller> Resolve(const http::Request& request, Need need) const;

  AccessService& access_;
  http::Router& router_;
};

}  // namespace minyi::dashboards
