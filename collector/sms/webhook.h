// Inbound SMS webhooks: per gateway, how a request is authenticated, how its body is read into
// inbound messages, and the acknowledgement the gateway expects (docs/channels.md §2.1–§2.3). Pure functions
// over a transport-neutral request, so they are tested without a server; collector/sms/sms_routes.h adapts
// Poco requests to them.
//
//   provider  body                  authentication                              acknowledgement
//   aliyun    JSON array            path token and/or source-address allow-list {"code":0,"msg":"接收成功"}
//   tencent   JSON object           path token and/or source-address allow-list {"result":0,"errmsg":"OK"}
//   twilio    form-encoded          X-Twilio-Signature (HMAC-SHA1, base64)      empty TwiML <Response/>
//   huawei    form-encoded          path token and/or source-address allow-list 200 {"resultCode":"000000"}
//   generic   JSON {id,from,to,     X-Minyi-Signature: hex HMAC-SHA256 of the   {"status":"ok"}
//             text,time}            body (optionally "sha256=" prefixed)
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace minyi::collector::sms {

// The providers with a webhook route, in documentation order.
const std::vector<std::string>& WebhookProviders();

struct WebhookRequest {
  std::string provider;     // the path segment
  std::string path_token;   // "/api/v1/sms/<provider>/<token>"; empty for "/api/v1/sms/<provider>"
  std::string url;          // the URL the gateway called (Twilio signs it)
  std::string content_type;
  std::string body;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string peer_address;  // the TCP peer's IP address
};

// Credentials of one provider (config keys sms.<provider>.*). A provider with none is disabled.
struct ProviderAuth {
  std::string token;                    // aliyun, tencent, huawei: the secret path token
  std::vector<std::string> allow_from;  // aliyun, tencent, huawei: IPv4 addresses or CIDR blocks
  std::string secret;                   // twilio: the auth token; generic: the HMAC key
  std::string public_url;               // twilio: the webhook URL as configured at Twilio (else `url`)
};

using WebhookAuthConfig = std::map<std::string, ProviderAuth>;

bool ProviderEnabled(const WebhookAuthConfig& config, const std::string& provider);

// OK, kNotFound (unknown or disabled provider) or kUnauthenticated (the reason names what failed,
// never the expected value). Secrets are compared in constant time.
Status Authenticate(const WebhookAuthConfig& config, const WebhookRequest& request);

// One inbound message as the gateway sent it (the phone not yet normalized).
struct InboundSms {
  std::string provider;
  std::string message_ref;  // the gateway's id, or a hash of (phone, time, text) where it has none
  std::string from;         // the sender's number as received
  std::string text;
  std::int64_t sent_at_ms = 0;  // 0 when the gateway gives no time
};

// Reads the body. kInvalidInput naming the field (JSON path or form key) when the body as a whole
// is malformed, or when no message of a batch (aliyun) is readable; nothing of it should then be
// stored. A malformed message of a batch with readable ones is left out, and its reason (naming its
// JSON path, "$[1].sequence_id: missing") appended to `rejected` when given.
Result<std::vector<InboundSms>> ParseWebhookBody(const WebhookRequest& request,
                                                 std::vector<std::string>* rejected = nullptr);

struct WebhookAck {
  int status = 200;
  std::string content_type;
  std::string body;
};
WebhookAck AckFor(const std::string& provider);

// Twilio's request signature: base64(HMAC-SHA1(auth_token, url + every POST parameter's name and value
// concatenated in name order)).
std::string TwilioSignature(const std::string& auth_token, const std::string& url,
                            const std::vector<std::pair<std::string, std::string>>& params);
// Hex HMAC-SHA256 of `body` under `secret` (the generic provider's X-Minyi-Signature).
std::string GenericSignature(const std::string& secret, std::string_view body);

// application/x-www-form-urlencoded pairs, in order; kInvalidInput for a bad percent escape.
Result<std::vector<std::pair<std::string, std::string>>> ParseForm(std::string_view body);

// The dedupe id of a message without a gateway id: "h" + the first 32 hex digits of
// SHA-256(phone \n time \n text).
std::string HashMessageRef(std::string_view phone, std::string_view time, std::string_view text);

}  // namespace minyi::collector::sms
