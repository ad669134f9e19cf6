// Hostile input catalogue: the SMS gateway webhooks (collector/sms/webhook.h, sms_routes.h), each
// provider through the real routes on an in-process HTTP server (127.0.0.1, port 0) into a SQLite
// store. Every hostile request is sent between two valid ones: both are acknowledged (200) and kept in
// the inbound ledger; the hostile one gets the expected status with the field named in the error, or
// is kept verbatim where it is valid after all. Aliyun batches carry the hostile item between valid
// items of the same request: the valid items are kept.
#include <Poco/URI.h>
#include <gtest/gtest.h>

#include <array>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "collector/fake_store_for_test.h"
#include "collector/sms/sms_routes.h"
#include "collector/sms/sms_service.h"
#include "collector/sms/webhook.h"
#include "core/http/router.h"
#include "sql/sms_store.h"
#include "sql/store.h"
#include "tests/hostile/hostile_http.h"
#include "tests/hostile/hostile_support.h"

namespace minyi::hostile {
namespace {

namespace sms = collector::sms;

constexpr const char* kToken = "hostile-path-token-0123";
constexpr const char* kSecret = "hostile-hmac-secret-0123";

// One message's fields as the test writes them into a provider's body.
struct Msg {
  std::string id = "m-1";
  std::string phone = "13812345678";
  std::string text = "1";
  std::string time = "2025-05-12 09:01:33";
};

std::string JsonString(const std::string& s) {
  std::string out = "\"";
  for (const char c : s) {
    const auto b = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (b < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", b);
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}
std::string Form(const std::string& s) {
  std::string out;
  Poco::URI::encode(s, "&=+%#?/;:@ ", out);
  return out;
}

std::string AliyunItem(const Msg& m) {
  return "{\"phone_number\":" + JsonString(m.phone) + ",\"send_time\":" + JsonString(m.time) +
         ",\"content\":" + JsonString(m.text) + ",\"sequence_id\":" + JsonString(m.id) + "}";
}
// The request body of one message, per provider.
std::string Body(const std::string& provider, const Msg& m) {
  if (provider == "aliyun") return "[" + AliyunItem(m) + "]";
  if (provider == "tencent") {
    return "{\"mobile\":" + JsonString(m.phone) + ",\"nationcode\":\"86\",\"text\":" + JsonString(m.text) +
           ",\"time\":" + (m.time.empty() ? std::string("1746000000") : m.time) + "}";
  }
  if (provider == "twilio")
    return "MessageSid=" + Form(m.id) + "&From=" + Form(m.phone) + "&Body=" + Form(m.text);
  if (provider == "huawei") {
    return "smsMsgId=" + Form(m.id) + "&from=" + Form(m.phone) + "&body=" + Form(m.text) +
           "&createTime=" + Form(m.time);
  }
  return "{\"id\":" + JsonString(m.id) + ",\"from\":" + JsonString(m.phone) +
         ",\"text\":" + JsonString(m.text) + ",\"time\":" + JsonString(m.time) + "}";
}

struct WebhookCase {
  std::string provider;
  std::string name;
  std::string body;
  int status = 200;
  std::string expect;  // substring of the answer's body (an error names the field)
  int kept = 0;        // messages of the request the ledger gains
  bool sign = true;    // twilio/generic: sign the body correctly
};

std::string ProviderName(const ::testing::TestParamInfo<WebhookCase>& info) {
  return std::to_string(info.index) + "_" + info.param.provider + "_" + TestName(info.param.name);
}

// The catalogue: the same hostile field values for each provider, named with that provider's fields.
std::vector<WebhookCase> Cases() {
  struct Fields {
    std::string id, from, text, time;
  };
  const std::vector<std::pair<std::string, Fields>> providers = {
      {"aliyun", {"$[0].sequence_id", "$[0].phone_number", "$[0].content", "$[0].send_time"}},
      {"tencent", {"", "$.mobile", "$.text", "$.time"}},
      {"twilio", {"MessageSid", "From", "Body", ""}},
      {"huawei", {"smsMsgId", "from", "body", "createTime"}},
      {"generic", {"$.id", "$.from", "$.text", "$.time"}},
  };
  std::vector<WebhookCase> cases;
  for (const auto& [p, f] : providers) {
    const bool json = p == "aliyun" || p == "tencent" || p == "generic";
    const std::string provider = p;
    const auto add = [&](const std::string& name, const std::function<void(Msg&)>& change, int status,
                         const std::string& expect, int kept) {
      Msg m;
      m.id = "h-" + name.substr(0, 20);
      if (provider == "tencent") m.time = "1746000001";
      change(m);
      cases.push_back({provider, name, Body(provider, m), status, expect, kept});
    };
    // Phone numbers: nothing stored for an invalid one, the error says the message was refused.
    const char* kRefused = "no valid message";
    add(
        "phone letters", [](Msg& m) { m.phone = "1381234567x"; }, 400, kRefused, 0);
    add(
        "phone too short", [](Msg& m) { m.phone = "138123"; }, 400, kRefused, 0);
    add(
        "phone overlong", [](Msg& m) { m.phone = std::string(300, '1'); }, 400, kRefused, 0);
    add(
        "phone SQL", [](Msg& m) { m.phone = "13812345678' OR '1'='1"; }, 400, kRefused, 0);
    add(
        "phone script", [](Msg& m) { m.phone = "<script>alert(1)</script>"; }, 400, kRefused, 0);
    add(
        "phone NaN", [](Msg& m) { m.phone = "NaN"; }, 400, kRefused, 0);
    add(
        "phone exponent", [](Msg& m) { m.phone = "1.3812345678e10"; }, 400, kRefused, 0);
    add(
        "phone formula", [](Msg& m) { m.phone = "=1+1"; }, 400, kRefused, 0);
    // Invalid UTF-8 inside JSON makes the whole body invalid JSON; in a form it names the field.
    const auto bad_utf8 = [&, json = json](const std::string& field) {
      return json ? std::string("not valid JSON") : field + ": not valid UTF-8";
    };
    add(
        "phone invalid UTF-8", [](Msg& m) { m.phone = "\xff\xfe"; }, 400, bad_utf8(f.from), 0);
    // Texts: kept as sent (the ledger is the record of what arrived), unless not UTF-8.
    for (const auto& [name, text] : VerbatimTexts()) {
      add(
          "text " + name, [t = text](Msg& m) { m.text = t; }, 200, "", 1);
    }
    add(
        "text escape sequence", [](Msg& m) { m.text = "\x1b[2J\x1b]0;x\x07"; }, 200, "", 1);
    add(
        "text 60000 characters", [](Msg& m) { m.text = Repeat("满", 60000); }, 200, "", 1);
    add(
        "text empty", [](Msg& m) { m.text = ""; }, 200, "", 1);
    add(
        "text emoji and RTL", [](Msg& m) { m.text = "1 \xF0\x9F\x98\x80 \xE2\x80\xAE"; }, 200, "", 1);
    add(
        "text invalid UTF-8", [](Msg& m) { m.text = "\xc0\xaf"; }, 400, bad_utf8(f.text), 0);
    add(
        "text GBK", [](Msg& m) { m.text = "\xc2\xfa\xd2\xe2"; }, 400, bad_utf8(f.text), 0);
    add(
        "text surrogate", [](Msg& m) { m.text = "\xed\xa0\x80"; }, 400, bad_utf8(f.text), 0);
    if (!f.id.empty()) {
      add(
          "id 129 bytes", [](Msg& m) { m.id = std::string(129, 'i'); }, 400, f.id + ": longer than 128 bytes",
          0);
      add(
          "id 100000 bytes", [](Msg& m) { m.id = std::string(100000, 'i'); }, 400, f.id + ": longer than 128",
          0);
      add(
          "id invalid UTF-8", [](Msg& m) { m.id = "\xff"; }, 400, bad_utf8(f.id), 0);
      add(
          "id SQL", [](Msg& m) { m.id = "1'; DELETE FROM sms_inbound; --"; }, 200, "", 1);
      add(
          "id 128 bytes", [](Msg& m) { m.id = std::string(128, 'j'); }, 200, "", 1);
    }
    if (provider == "aliyun" || provider == "generic" || provider == "huawei") {
      add(
          "time 30 February", [](Msg& m) { m.time = "2025-02-30 10:00:00"; }, 400, f.time, 0);
      add(
          "time year 99999", [](Msg& m) { m.time = "99999-01-01 00:00:00"; }, 400, f.time, 0);
      add(
          "time offset +99:00", [](Msg& m) { m.time = "2025-05-12T10:00:00+99:00"; }, 400, f.time, 0);
      add(
          "time text", [](Msg& m) { m.time = "yesterday"; }, 400, f.time, 0);
      add(
          "time SQL", [](Msg& m) { m.time = "' OR 1=1 --"; }, 400, f.time, 0);
    }
    if (provider == "tencent") {
      add(
          "time negative", [](Msg& m) { m.time = "-1"; }, 400, "$.time", 0);
      add(
          "time beyond 2100", [](Msg& m) { m.time = "99999999999"; }, 400, "$.time", 0);
      add(
          "time float", [](Msg& m) { m.time = "1.5e9"; }, 400, "$.time", 0);
      add(
          "time string", [](Msg& m) { m.time = "\"soon\""; }, 400, "$.time", 0);
      add(
          "time 1e400", [](Msg& m) { m.time = "1e400"; }, 400, "", 0);
      add(
          "time null", [](Msg& m) { m.time = "null"; }, 400, "$.time", 0);
    }
    // Bodies that are not what the provider sends (around an otherwise valid message).
    Msg base;
    if (provider == "tencent") base.time = "1746000000";
    const auto raw = [&](const std::string& name, std::string body, int status, const std::string& expect) {
      cases.push_back({provider, name, std::move(body), status, expect, 0});
    };
    raw("empty body", "", 400, json ? "body: empty" : "missing");
    raw("zero bytes of NUL", std::string(16, '\0'), 400, "");
    raw("binary", std::string("\x89PNG\r\n\x1a\n", 8), 400, "");
    raw("UTF-8 BOM before the body", "\xEF\xBB\xBF" + Body(provider, base), json ? 400 : 400, "");
    if (json) {
      raw("truncated JSON", Body(provider, base).substr(0, 20), 400, "not valid JSON");
      raw("deeply nested", std::string(5000, '[') + std::string(5000, ']'), 400, "");
      raw("JSON string", "\"1\"", 400, "not valid JSON");
      raw("JSON number", "1e999", 400, "");
      raw("JSON null", "null", 400, "");
      raw("trailing garbage", Body(provider, base) + "}}", 400, "");
      raw("form body to a JSON provider", "a=1&b=2", 400, "not valid JSON");
    } else {
      // Twilio signs the form: one that cannot be read cannot be authenticated (401).
      const int unreadable = provider == "twilio" ? 401 : 400;
      raw("bad percent escape", Body(provider, base) + "&x=%zz", unreadable,
          provider == "twilio" ? "unreadable form" : "percent");
      raw("JSON to a form provider", "{\"From\":\"13812345678\"}", 400, "missing");
      raw("only ampersands", "&&&&", 400, "missing");
      raw("truncated percent escape", Body(provider, base) + "%", unreadable,
          provider == "twilio" ? "unreadable form" : "percent");
    }
    if (provider == "generic" || provider == "tencent") {
      raw("array instead of object", "[" + Body(provider, base) + "]", 400, "expected a JSON object");
      raw("boolean id and time",
          "{\"id\":true,\"from\":\"13812345678\",\"text\":\"1\",\"mobile\":\"13812345678\",\"time\":true}",
          400,
          provider == "generic" ? "$.id: expected a string or an integer"
                                : "$.time: expected a string or an integer");
      raw("boolean text",
          "{\"id\":\"b\",\"from\":\"13812345678\",\"mobile\":\"13812345678\",\"text\":false,\"time\":"
          "1746000000}",
          400, "$.text: expected a string or an integer");
      raw("text of wrong type",
          "{\"id\":\"x\",\"from\":\"13812345678\",\"mobile\":\"13812345678\",\"text\":[1],\"time\":"
          "1746000000}",
          400, "$.text");
      raw("text missing",
          "{\"id\":\"x\",\"from\":\"13812345678\",\"mobile\":\"13812345678\",\"time\":1746000000}", 400,
          "$.text: missing");
    }
    if (provider == "aliyun") {
      const std::string v1 = AliyunItem(Msg{"b1", "13812345678", "1", "2025-05-12 09:01:33"});
      const std::string v2 = AliyunItem(Msg{"b2", "13912345678", "2", "2025-05-12 09:01:34"});
      const auto batch = [&](const std::string& name, const std::string& item, const std::string& reason) {
        cases.push_back({provider, "batch: " + name, "[" + v1 + "," + item + "," + v2 + "]", 200, reason, 2});
      };
      batch("item without sequence_id", R"({"phone_number":"13812345670","content":"1"})", "");
      batch("item with id of wrong type", R"({"phone_number":"13812345670","content":"1","sequence_id":[1]})",
            "");
      batch("item is a number", "42", "");
      batch("item is null", "null", "");
      batch("item with bad time",
            R"({"phone_number":"13812345670","content":"1","sequence_id":"b3","send_time":"x"})", "");
      // Bytes or escapes that make the JSON itself invalid leave no items to keep.
      raw("batch: item with a lone surrogate escape",
          "[" + v1 + R"(,{"phone_number":"13812345670","content":"\ud800","sequence_id":"b4"},)" + v2 + "]",
          400, "not valid JSON");
      batch("item with boolean id", R"({"phone_number":"13812345670","content":"1","sequence_id":true})", "");
      batch("item with 200-byte id", AliyunItem(Msg{std::string(200, 'z'), "13812345670", "1", ""}), "");
      batch("item with bad phone", AliyunItem(Msg{"b5", "12345", "1", ""}), "");
      batch("duplicate of a valid item", v1, "");
      raw("empty array", "[]", 400, "non-empty");
      raw("every item bad", "[1,2]", 400, "$[0]: expected an object");
    }
    // Authentication: refused before anything is read.
    WebhookCase unsigned_case{provider, "not authenticated", Body(provider, base), 401, "", 0, false};
    cases.push_back(unsigned_case);
  }
  return cases;
}

class SmsWebhookHostile : public ::testing::TestWithParam<WebhookCase> {
 protected:
  void SetUp() override {
    sql::StoreOptions o;
    o.sqlite.path = ":memory:";
    store_ = std::move(sql::OpenStore(o)).value();
    ASSERT_TRUE(store_->Migrate().ok());
    sms_ = std::move(sql::OpenSmsStore(*store_)).value();
    keyer_ = std::make_unique<collector::RespondentKeyer>(
        collector::RespondentKeyer::Create("hostile-sms-secret-012345").value());
    std::array<unsigned char, 32> key{};
    key[3] = 9;
    cipher_ = std::make_unique<sms::PhoneCipher>(sms::PhoneCipher::FromKey(key));
    sms::SmsService::Deps deps{sms_.get(),     store_.get(), &fuzz::Surveys(),
                               &fuzz::Areas(), keyer_.get(), cipher_.get()};
    service_ = std::make_unique<sms::SmsService>(deps, sms::SmsServiceOptions{});
    sms::SmsRouteOptions ro;
    ro.auth["aliyun"].token = kToken;
    ro.auth["tencent"].token = kToken;
    ro.auth["huawei"].token = kToken;
    ro.auth["twilio"].secret = kSecret;
    ro.auth["generic"].secret = kSecret;
    sms::RegisterSmsRoutes(router_, *service_, ro);
    server_.Start(router_);
  }
  void TearDown() override { server_.Stop(); }

  HttpAnswer Post(const std::string& provider, const std::string& body, bool sign) {
    const bool token = provider == "aliyun" || provider == "tencent" || provider == "huawei";
    const std::string path = "/api/v1/sms/" + provider + (token && sign ? std::string("/") + kToken : "");
    const bool json = provider == "aliyun" || provider == "tencent" || provider == "generic";
    std::map<std::string, std::string> headers;
    if (provider == "generic" && sign) headers["X-Minyi-Signature"] = sms::GenericSignature(kSecret, body);
    if (provider == "twilio" && sign) {
      const std::string url = "http://127.0.0.1:" + std::to_string(server_.port()) + path;
      auto params = sms::ParseForm(body);
      std::vector<std::pair<std::string, std::string>> pairs;
      if (params.ok()) pairs = *params;
      headers["X-Twilio-Signature"] = sms::TwilioSignature(kSecret, url, pairs);
    }
    return server_.Post(path, json ? "application/json" : "application/x-www-form-urlencoded", body, headers);
  }
  std::int64_t Ledger() {
    const auto counts = sms_->CountInbound();
    std::int64_t n = 0;
    if (counts.ok()) {
      for (const auto& c : *counts) n += c.count;
    }
    return n;
  }

  std::unique_ptr<sql::Store> store_;
  std::unique_ptr<SmsStore> sms_;
  std::unique_ptr<collector::RespondentKeyer> keyer_;
  std::unique_ptr<sms::PhoneCipher> cipher_;
  std::unique_ptr<sms::SmsService> service_;
  http::Router router_;
  LocalServer server_;
};

TEST_P(SmsWebhookHostile, AnswersAndKeepsTheValidMessages) {
  const WebhookCase& c = GetParam();
  Msg before;
  before.id = "valid-before";
  before.phone = "13700000001";
  Msg after;
  after.id = "valid-after";
  after.phone = "13700000002";
  if (c.provider == "tencent") {
    before.time = "1746000100";
    after.time = "1746000200";
  }
  ASSERT_EQ(Post(c.provider, Body(c.provider, before), true).status, 200);
  const HttpAnswer hostile = Post(c.provider, c.body, c.sign);
  ASSERT_EQ(Post(c.provider, Body(c.provider, after), true).status, 200);
  EXPECT_EQ(hostile.status, c.status) << hostile.body;
  EXPECT_NE(hostile.body.find(c.expect), std::string::npos) << hostile.body;
  EXPECT_EQ(Ledger(), 2 + c.kept) << hostile.body;
  if (c.status >= 400 && c.status < 500 && c.status != 401) {
    EXPECT_NE(hostile.body.find("\"error\""), std::string::npos) << hostile.body;
  }
}

INSTANTIATE_TEST_SUITE_P(Catalogue, SmsWebhookHostile, ::testing::ValuesIn(Cases()), ProviderName);

}  // namespace
}  // namespace minyi::hostile
