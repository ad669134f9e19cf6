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
#include "core/metrics.h"

namespace minyi::collector::sms {

struct SmsRouteOptions {
  WebhookAuthConfig auth;
  std::size_t max_body_bytes = 1 << 20;
  // minyi_sms_inbound_total{provider,status} when set: one count per message of an authenticated
  // request, by what became of it (the ledger status: answered, reasked, unparsed, optout,
  // no_conversation, closed, comment; duplicate for a gateway's retry; rejected for a malformed
  // message or a bad phone number; unavailable when the store failed and the gateway must retry).
  metrics::CounterFamily* inbound = nullptr;
};

// `service` must outlive the router's server.
void RegisterSmsRoutes(http::Router& router, SmsService& service, SmsRouteOptions options);

}  // namespace minyi::collector::sms
