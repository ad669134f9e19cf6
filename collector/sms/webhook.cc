#include "collector/sms/webhook.h"

#include <Poco/Base64Encoder.h>
#include <Poco/Dynamic/Var.h>
#include <Poco/Exception.h>
#include <Poco/HMACEngine.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/SHA1Engine.h>
#include <Poco/URI.h>

#include <algorithm>
#include <sstream>

#include "collector/common/address_allow.h"
#include "collector/common/crypto.h"
#include "core/response.h"
#include "core/text/unicode_text.h"

namespace minyi::collector::sms {
namespace {

using Poco::Dynamic::Var;
using Poco::JSON::Object;

bool SecretEquals(const std::string& a, const std::string& b) {
  // Compare fixed-size digests so neither the length nor the content leaks through timing.
  return !a.empty() && ConstantTimeEquals(Sha256Hex(a), Sha256Hex(b));
}

std::string Header(const WebhookRequest& r, const std::string& name) {
  auto it = r.headers.find(name);
  return it == r.headers.end() ? std::string() : it->second;
}

// A JSON field as text: strings as they are, integers in full (never through double).
Result<std::string> TextField(const Object& o, const std::string& key, const std::string& path, bool required) {
  if (!o.has(key) || o.isNull(key)) {
    if (required) return Status::InvalidInput(path + "." + key + ": missing");
    return std::string();
  }
  const Var v = o.get(key);
  if (v.isString()) return v.extract<std::string>();
  // Poco counts a bool as an integer (numeric_limits<bool>::is_integer): true would become "true".
  if (v.isInteger() && !v.isBoolean()) return v.toString();
  return Status::InvalidInput(path + "." + key + ": expected a string or an integer");
}

// Aliyun send_time: "2017-09-01 00:00:00" or "20150101120000" (Beijing time).
Result<std::int64_t> AliyunTime(const std::string& text, const std::string& path) {
  std::string t = text;
  if (t.size() == 14 && std::all_of(t.begin(), t.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    t = t.substr(0, 4) + "-" + t.substr(4, 2) + "-" + t.substr(6, 2) + " " + t.substr(8, 2) + ":" + t.substr(10, 2) +
        ":" + t.substr(12, 2);
  }
  auto parsed = ParseTimestamp(t);
  if (!parsed.ok()) return Status::InvalidInput(path + ": '" + text + "' is not a time");
  return parsed;
}

Result<std::int64_t> EpochSeconds(const std::string& text, const std::string& path) {
  try {
    std::size_t used = 0;
    const long long v = std::stoll(text, &used);
    if (used == text.size() && v > 0 && v < 4102444800LL) return static_cast<std::int64_t>(v) * 1000;
  } catch (const std::exception&) {
  }
  return Status::InvalidInput(path + ": '" + text + "' is not an epoch time in seconds");
}

Result<Var> ParseJson(const std::string& body) {
  if (body.empty()) return Status::InvalidInput("body: empty");
  try {
    Poco::JSON::Parser parser;
    return parser.parse(body);
  } catch (const Poco::Exception& e) {
    return Status::InvalidInput("body: not valid JSON (" + e.message() + ")");
  }
}

// What every message must be before it reaches the ledger (sms_inbound.message_ref is a VARCHAR(128);
// MariaDB refuses bytes that are not UTF-8, which would fail the batch with a 503 and make the
// gateway retry it forever). `id_name` empty: the id is a hash made here.
constexpr std::size_t kMaxMessageRefBytes = 128;
Status CheckMessage(const InboundSms& m, const std::string& id_name, const std::string& from_name,
                    const std::string& text_name) {
  if (!id_name.empty() && m.message_ref.size() > kMaxMessageRefBytes) {
    return Status::InvalidInput(id_name + ": longer than " + std::to_string(kMaxMessageRefBytes) + " bytes");
  }
  if (!id_name.empty() && !text::IsValidUtf8(m.message_ref))
    return Status::InvalidInput(id_name + ": not valid UTF-8");
  if (!text::IsValidUtf8(m.from)) return Status::InvalidInput(from_name + ": not valid UTF-8");
  if (!text::IsValidUtf8(m.text)) return Status::InvalidInput(text_name + ": not valid UTF-8");
  return Status::Ok();
}

// One message of an Aliyun batch; kInvalidInput naming the item's field.
Result<InboundSms> AliyunItem(const Poco::JSON::Array& array, std::size_t i) {
  const std::string path = "$[" + std::to_string(i) + "]";
  Object::Ptr o = array.getObject(static_cast<unsigned>(i));
  if (o.isNull()) return Status::InvalidInput(path + ": expected an object");
  InboundSms m;
  m.provider = "aliyun";
  auto id = TextField(*o, "sequence_id", path, true);
  if (!id.ok()) return id.status();
  auto phone = TextField(*o, "phone_number", path, true);
  if (!phone.ok()) return phone.status();
  auto content = TextField(*o, "content", path, true);
  if (!content.ok()) return content.status();
  auto time = TextField(*o, "send_time", path, false);
  if (!time.ok()) return time.status();
  if (id->empty()) return Status::InvalidInput(path + ".sequence_id: empty");
  m.message_ref = *id;
  m.from = *phone;
  m.text = *content;
  if (!time->empty()) {
    auto t = AliyunTime(*time, path + ".send_time");
    if (!t.ok()) return t.status();
    m.sent_at_ms = *t;
  }
  MINYI_RETURN_IF_ERROR(CheckMessage(m, path + ".sequence_id", path + ".phone_number", path + ".content"));
  return m;
}

Result<std::vector<InboundSms>> ParseAliyun(const std::string& body, std::vector<std::string>* rejected) {
  auto json = ParseJson(body);
  if (!json.ok()) return json.status();
  Poco::JSON::Array::Ptr array;
  try {
    array = json->extract<Poco::JSON::Array::Ptr>();
  } catch (const Poco::Exception&) {
    return Status::InvalidInput("$: expected a JSON array of messages");
  }
  if (array.isNull() || array->size() == 0) return Status::InvalidInput("$: expected a non-empty array");
  // A malformed item costs that item only: the batch's other messages are kept (a gateway that gets
  // an error for the batch would either drop all of it or retry it forever).
  std::vector<InboundSms> out;
  Status first_error;
  for (std::size_t i = 0; i < array->size(); ++i) {
    auto item = AliyunItem(*array, i);
    if (item.ok()) {
      out.push_back(std::move(item).value());
      continue;
    }
    if (first_error.ok()) first_error = item.status();
    if (rejected != nullptr) rejected->push_back(item.status().message());
  }
  if (out.empty()) return first_error;
  return out;
}

Result<std::vector<InboundSms>> ParseTencent(const std::string& body) {
  auto json = ParseJson(body);
  if (!json.ok()) return json.status();
  Object::Ptr o;
  try {
    o = json->extract<Object::Ptr>();
  } catch (const Poco::Exception&) {
    return Status::InvalidInput("$: expected a JSON object");
  }
  auto mobile = TextField(*o, "mobile", "$", true);
  if (!mobile.ok()) return mobile.status();
  auto nation = TextField(*o, "nationcode", "$", false);
  if (!nation.ok()) return nation.status();
  auto text = TextField(*o, "text", "$", true);
  if (!text.ok()) return text.status();
  auto time = TextField(*o, "time", "$", true);
  if (!time.ok()) return time.status();
  InboundSms m;
  m.provider = "tencent";
  m.from = (nation->empty() ? std::string("86") : *nation);
  m.from = "+" + m.from + *mobile;
  m.text = *text;
  auto t = EpochSeconds(*time, "$.time");
  if (!t.ok()) return t.status();
  m.sent_at_ms = *t;
  m.message_ref = HashMessageRef(m.from, *time, m.text);
  MINYI_RETURN_IF_ERROR(CheckMessage(m, "", "$.mobile", "$.text"));
  return std::vector<InboundSms>{m};
}

std::string FormValue(const std::vector<std::pair<std::string, std::string>>& form, const std::string& key) {
  for (const auto& [k, v] : form) {
    if (k == key) return v;
  }
  return std::string();
}

Result<std::vector<InboundSms>> ParseTwilio(const std::string& body) {
  auto form = ParseForm(body);
  if (!form.ok()) return form.status();
  InboundSms m;
  m.provider = "twilio";
  m.message_ref = FormValue(*form, "MessageSid");
  m.from = FormValue(*form, "From");
  m.text = FormValue(*form, "Body");
  if (m.message_ref.empty()) return Status::InvalidInput("MessageSid: missing");
  if (m.from.empty()) return Status::InvalidInput("From: missing");
  MINYI_RETURN_IF_ERROR(CheckMessage(m, "MessageSid", "From", "Body"));
  return std::vector<InboundSms>{m};
}

Result<std::vector<InboundSms>> ParseHuawei(const std::string& body) {
  auto form = ParseForm(body);
  if (!form.ok()) return form.status();
  InboundSms m;
  m.provider = "huawei";
  m.message_ref = FormValue(*form, "smsMsgId");
  m.from = FormValue(*form, "from");
  m.text = FormValue(*form, "body");
  if (m.message_ref.empty()) return Status::InvalidInput("smsMsgId: missing");
  if (m.from.empty()) return Status::InvalidInput("from: missing");
  const std::string created = FormValue(*form, "createTime");
  if (!created.empty()) {
    auto t = ParseTimestamp(created, 0);
    if (!t.ok()) return Status::InvalidInput("createTime: '" + created + "' is not a time");
    m.sent_at_ms = *t;
  }
  MINYI_RETURN_IF_ERROR(CheckMessage(m, "smsMsgId", "from", "body"));
  return std::vector<InboundSms>{m};
}

Result<std::vector<InboundSms>> ParseGeneric(const std::string& body) {
  auto json = ParseJson(body);
  if (!json.ok()) return json.status();
  Object::Ptr o;
  try {
    o = json->extract<Object::Ptr>();
  } catch (const Poco::Exception&) {
    return Status::InvalidInput("$: expected a JSON object");
  }
  InboundSms m;
  m.provider = "generic";
  auto id = TextField(*o, "id", "$", true);
  if (!id.ok()) return id.status();
  auto from = TextField(*o, "from", "$", true);
  if (!from.ok()) return from.status();
  auto text = TextField(*o, "text", "$", true);
  if (!text.ok()) return text.status();
  if (id->empty()) return Status::InvalidInput("$.id: empty");
  m.message_ref = *id;
  m.from = *from;
  m.text = *text;
  if (o->has("time") && !o->isNull("time")) {
    const Var v = o->get("time");
    if (v.isInteger()) {
      auto t = EpochSeconds(v.toString(), "$.time");
      if (!t.ok()) return t.status();
      m.sent_at_ms = *t;
    } else if (v.isString()) {
      auto t = ParseTimestamp(v.extract<std::string>());
      if (!t.ok()) return Status::InvalidInput("$.time: '" + v.extract<std::string>() + "' is not a time");
      m.sent_at_ms = *t;
    } else {
      return Status::InvalidInput("$.time: expected an ISO time string or epoch seconds");
    }
  }
  MINYI_RETURN_IF_ERROR(CheckMessage(m, "$.id", "$.from", "$.text"));
  return std::vector<InboundSms>{m};
}

}  // namespace

const std::vector<std::string>& WebhookProviders() {
  static const std::vector<std::string> kProviders = {"aliyun", "tencent", "twilio", "huawei", "generic"};
  return kProviders;
}

bool ProviderEnabled(const WebhookAuthConfig& config, const std::string& provider) {
  auto it = config.find(provider);
  if (it == config.end()) return false;
  const ProviderAuth& a = it->second;
  if (provider == "twilio" || provider == "generic") return !a.secret.empty();
  return !a.token.empty() || !a.allow_from.empty();
}

Status Authenticate(const WebhookAuthConfig& config, const WebhookRequest& request) {
  const auto& known = WebhookProviders();
  if (std::find(known.begin(), known.end(), request.provider) == known.end()) {
    return Status::NotFound("unknown SMS provider '" + request.provider + "'");
  }
  if (!ProviderEnabled(config, request.provider)) {
    return Status::NotFound("SMS provider '" + request.provider + "' is not enabled");
  }
  const ProviderAuth& auth = config.at(request.provider);
  if (request.provider == "twilio") {
    if (!request.path_token.empty()) return Status::NotFound("twilio webhooks take no path token");
    const std::string given = Header(request, "x-twilio-signature");
    if (given.empty()) return Status::Unauthenticated("missing X-Twilio-Signature");
    auto form = ParseForm(request.body);
    if (!form.ok()) return Status::Unauthenticated("X-Twilio-Signature does not match (unreadable form)");
    const std::string url = auth.public_url.empty() ? request.url : auth.public_url;
    if (!SecretEquals(given, TwilioSignature(auth.secret, url, *form))) {
      return Status::Unauthenticated("X-Twilio-Signature does not match");
    }
    return Status::Ok();
  }
  if (request.provider == "generic") {
    if (!request.path_token.empty()) return Status::NotFound("generic webhooks take no path token");
    std::string given = Header(request, "x-minyi-signature");
    if (given.rfind("sha256=", 0) == 0) given = given.substr(7);
    std::transform(given.begin(), given.end(), given.begin(),
                   [](char c) { return static_cast<char>(c >= 'A' && c <= 'F' ? c - 'A' + 'a' : c); });
    if (given.empty()) return Status::Unauthenticated("missing X-Minyi-Signature");
    if (!SecretEquals(given, GenericSignature(auth.secret, request.body))) {
      return Status::Unauthenticated("X-Minyi-Signature does not match the body");
    }
    return Status::Ok();
  }
  if (!auth.token.empty() && !SecretEquals(request.path_token, auth.token)) {
    return Status::Unauthenticated(request.path_token.empty() ? "missing path token" : "wrong path token");
  }
  if (!auth.allow_from.empty() && !AddressAllowed(request.peer_address, auth.allow_from)) {
    return Status::Unauthenticated("source address not allowed");
  }
  return Status::Ok();
}

Result<std::vector<InboundSms>> ParseWebhookBody(const WebhookRequest& request,
                                                 std::vector<std::string>* rejected) {
  if (request.provider == "aliyun") return ParseAliyun(request.body, rejected);
  if (request.provider == "tencent") return ParseTencent(request.body);
  if (request.provider == "twilio") return ParseTwilio(request.body);
  if (request.provider == "huawei") return ParseHuawei(request.body);
  if (request.provider == "generic") return ParseGeneric(request.body);
  return Status::NotFound("unknown SMS provider '" + request.provider + "'");
}

WebhookAck AckFor(const std::string& provider) {
  if (provider == "aliyun") return {200, "application/json; charset=utf-8", "{\"code\":0,\"msg\":\"接收成功\"}"};
  if (provider == "tencent") return {200, "application/json; charset=utf-8", "{\"result\":0,\"errmsg\":\"OK\"}"};
  if (provider == "twilio") {
    return {200, "text/xml; charset=utf-8", "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response></Response>"};
  }
  if (provider == "huawei") {
    return {200, "application/json; charset=utf-8", "{\"resultCode\":\"000000\",\"resultDesc\":\"Success\"}"};
  }
  return {200, "application/json; charset=utf-8", "{\"status\":\"ok\"}"};
}

std::string TwilioSignature(const std::string& auth_token, const std::string& url,
                            const std::vector<std::pair<std::string, std::string>>& params) {
  std::vector<std::pair<std::string, std::string>> sorted = params;
  std::stable_sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::string data = url;
  for (const auto& [k, v] : sorted) data += k + v;
  Poco::HMACEngine<Poco::SHA1Engine> hmac(auth_token);
  hmac.update(data);
  const Poco::DigestEngine::Digest& digest = hmac.digest();
  std::ostringstream out;
  Poco::Base64Encoder encoder(out);
  encoder.write(reinterpret_cast<const char*>(digest.data()), static_cast<std::streamsize>(digest.size()));
  encoder.close();
  return out.str();
}

std::string GenericSignature(const std::string& secret, std::string_view body) {
  return HmacSha256Hex(secret, body);
}

Result<std::vector<std::pair<std::string, std::string>>> ParseForm(std::string_view body) {
  std::vector<std::pair<std::string, std::string>> out;
  std::size_t start = 0;
  while (start <= body.size()) {
    std::size_t end = body.find('&', start);
    if (end == std::string_view::npos) end = body.size();
    std::string pair(body.substr(start, end - start));
    if (!pair.empty()) {
      std::replace(pair.begin(), pair.end(), '+', ' ');
      const std::size_t eq = pair.find('=');
      std::string key;
      std::string value;
      try {
        Poco::URI::decode(pair.substr(0, eq), key);
        if (eq != std::string::npos) Poco::URI::decode(pair.substr(eq + 1), value);
      } catch (const Poco::Exception&) {
        return Status::InvalidInput("form: bad percent escape near '" + pair.substr(0, 20) + "'");
      }
      out.emplace_back(std::move(key), std::move(value));
    }
    start = end + 1;
  }
  return out;
}

std::string HashMessageRef(std::string_view phone, std::string_view time, std::string_view text) {
  const std::string data = std::string(phone) + "\n" + std::string(time) + "\n" + std::string(text);
  return "h" + Sha256Hex(data).substr(0, 32);  // the first 16 bytes
}

}  // namespace minyi::collector::sms
