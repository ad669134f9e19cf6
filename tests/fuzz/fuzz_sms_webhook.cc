// Every SMS gateway webhook body (collector/sms/webhook.h ParseWebhookBody, the first byte picks the
// provider), the form parser they share (ParseForm), the address allow-list and the phone numbers
// the messages carry (NormalizePhone).
#include <cstddef>
#include <cstdint>
#include <string>

#include "collector/common/address_allow.h"
#include "collector/sms/phone_privacy.h"
#include "collector/sms/webhook.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  namespace sms = minyi::collector::sms;
  const auto& providers = sms::WebhookProviders();
  sms::WebhookRequest request;
  request.provider = providers[data[0] % providers.size()];
  request.body = std::string(minyi::fuzz::AsText(data + 1, size - 1));
  request.content_type = "application/json";
  auto messages = sms::ParseWebhookBody(request);
  if (messages.ok()) {
    for (const sms::InboundSms& m : *messages) {
      auto phone = sms::NormalizePhone(m.from);
      (void)phone;
    }
  }
  auto form = sms::ParseForm(request.body);
  (void)form;
  // The body's first line as a peer address against a fixed allow-list.
  const std::string address = request.body.substr(0, request.body.find('\n'));
  (void)minyi::collector::AddressAllowed(address, {"10.0.0.1", "192.168.0.0/16", "172.16.0.0/12"});
  return 0;
}
