#include "collector/sms/sms_routes.h"

#include <Poco/Net/NameValueCollection.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <istream>
#include <memory>

#include "collector/sms/phone_privacy.h"

namespace minyi::collector::sms {
namespace {

// 413: the body is over the configured limit (a gateway will not retry a request this large).
void SendTooLarge(http::Response& response, std::size_t max_bytes) {
  http::SendError(response,
                  {Status::ResourceExhausted("body larger than " + std::to_string(max_bytes) + " bytes"),
                   http::ErrorKind::kTooLarge});
}

std::string LowerAscii(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](char c) { return static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c); });
  return s;
}

void Handle(SmsService& service, const SmsRouteOptions& options, http::Request& request, http::Response& response,
            const http::PathParams& params) {
  WebhookRequest w;
  w.provider = params.at("provider");
  if (auto it = params.find("token"); it != params.end()) w.path_token = it->second;
  w.content_type = request.getContentType();
  for (const auto& [name, value] : static_cast<const Poco::Net::NameValueCollection&>(request)) {
    w.headers[LowerAscii(name)] = value;
  }
  w.peer_address = request.clientAddress().host().toString();
  const std::string host = request.getHost();
  w.url = "http://" + host + request.getURI();
  if (!http::ReadBody(request, response, options.max_body_bytes, w.body)) {
    return SendTooLarge(response, options.max_body_bytes);
  }
  const Status auth = Authenticate(options.auth, w);
  if (!auth.ok()) {
    if (auth.code() == StatusCode::kUnauthenticated) {
      spdlog::warn("sms webhook {} from {}: {}", http::LogSafe(w.provider), w.peer_address,
                   http::LogSafe(auth.message()));
    }
    return http::SendError(response, auth);
  }
  std::vector<std::string> malformed;
  auto messages = ParseWebhookBody(w, &malformed);
  if (!messages.ok()) return http::SendError(response, messages.status());
  // The provider is one of WebhookProviders() here (Authenticate refused any other): labels stay bounded.
  auto count = [&](const std::string& status, std::uint64_t n = 1) {
    if (options.inbound != nullptr && n > 0) options.inbound->With({w.provider, status}).Inc(n);
  };
  for (const std::string& reason : malformed) {
    spdlog::warn("sms webhook {}: rejected: {}", http::LogSafe(w.provider), http::LogSafe(reason));
  }
  count("rejected", malformed.size());
  // Every message has its own outcome: one with a bad phone number does not lose the others. With the
  // group commit they share transactions with other requests' messages; each outcome is final (committed).
  std::size_t rejected = 0;
  for (Result<SmsService::InboundResult>& handled : service.HandleInboundAll(*messages)) {
    if (handled.ok()) {
      count(handled->duplicate ? "duplicate" : handled->status);
      continue;
    }
    if (handled.status().code() != StatusCode::kInvalidInput) {
      count("unavailable");
      spdlog::error("sms webhook {}: {}", http::LogSafe(w.provider),
                    http::LogSafe(handled.status().ToString()));
      return http::SendError(response, Status::Unavailable("the message could not be stored; retry"));
    }
    spdlog::warn("sms webhook {}: rejected: {}", http::LogSafe(w.provider),
                 http::LogSafe(handled.status().message()));
    count("rejected");
    ++rejected;
  }
  if (rejected == messages->size()) {
    return http::SendError(response, Status::InvalidInput("no valid message in the request (bad phone numbers)"));
  }
  const WebhookAck ack = AckFor(w.provider);
  http::SendText(response, ack.status, ack.content_type, ack.body);
}

}  // namespace

void RegisterSmsRoutes(http::Router& router, SmsService& service, SmsRouteOptions options) {
  auto shared = std::make_shared<SmsRouteOptions>(std::move(options));
  auto handler = [&service, shared](http::Request& request, http::Response& response, const http::PathParams& params) {
    Handle(service, *shared, request, response, params);
  };
  router.Add("POST", "/api/v1/sms/{provider}", handler);
  router.Add("POST", "/api/v1/sms/{provider}/{token}", handler);
}

}  // namespace minyi::collector::sms
