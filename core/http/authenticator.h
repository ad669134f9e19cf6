// The port through which a component's routes learn who signs a request, without depending on the
// component that keeps the sessions: the dashboards' guard implements it (dashboards/guard.h), the
// executable wires it into the routes that need a signed-in user (the export upload,
// collector/wechat/upload_routes.h). What the user may do there is decided by the routes, with the scope
// rules of core/area_scope.h.
//
// Thread safety: implementations are safe to call from several threads at once.
#pragma once

#include "core/access.h"
#include "core/http/router.h"
#include "core/status.h"

namespace minyi::http {

class Authenticator {
 public:
  virtual ~Authenticator() = default;

  // The signed-in user of `request`, deny by default: kUnauthenticated (401) without a valid session;
  // kPermissionDenied (403) for a method other than GET/HEAD without the session's CSRF token. The
  // caller answers a failure with SendError and runs nothing else.
  virtual Result<User> Authenticate(const Request& request) const = 0;
};

}  // namespace minyi::http
