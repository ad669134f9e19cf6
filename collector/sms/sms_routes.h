// HTTP routes of the SMS channel: POST /api/v1/sms/{provider} and POST /api/v1/sms/{provider}/{token}
// (the secret path token form, for gateways that sign nothing). Thin: read the request, authenticate
// (401, nothing stored), parse (400 naming the field, nothing stored), hand each message to the
// SmsService, answer with the gateway's acknowledgement. A retry of a stored message is acknowledged
// the same way. A store failure answers 503 so the gateway retries.
#pragma once

#include <cstddef>

#include "collector/sms/sms_service.h"
#include "collector/sms/webhook.h"
#include "core/http/router.h"

namespace minyi::collector::sms {

struct SmsRouteOptions {
  WebhookAuthConfig auth;
  std::size_t max_body_bytes = 1 << 20;
};

// `service` must outlive the router's server.
void RegisterSmsRoutes(http::Router& router, SmsService& service, SmsRouteOptions options);

}  // namespace minyi::collector::sms
