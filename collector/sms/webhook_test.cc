// Webhook authentication, body reading and acknowledgements per provider (transport-neutral; the
// end-to-end HTTP path is in conversation_test.cc).
#include "collector/sms/webhook.h"

#include <gtest/gtest.h>

#include "collector/common/address_allow.h"
#include "core/response.h"

namespace minyi::collector::sms {
namespace {

WebhookAuthConfig Config() {
  WebhookAuthConfig c;
  c["aliyun"].token = "ali-path-token-123";
  c["tencent"].allow_from = {"10.1.0.0/16"};
  c["huawei"].token = "hw-token";
  c["huawei"].allow_from = {"127.0.0.1"};
  c["twilio"].secret = "12345";
  c["twilio"].public_url = "https://mycompany.com/myapp.php?foo=1&bar=2";
  c["generic"].secret = "generic-secret";
  return c;
}

WebhookRequest Request(const std::string& provider, const std::string& body) {
  WebhookRequest r;
  r.provider = provider;
  r.body = body;
  r.peer_address = "127.0.0.1";
  r.url = "http://127.0.0.1/api/v1/sms/" + provider;
  return r;
}

TEST(WebhookAuthTest, TwilioSignatureMatchesTheDocumentedExample) {
  // Twilio's documented example (auth token 12345); the value agrees with Python's hmac/hashlib.
  const std::vector<std::pair<std::string, std::string>> params = {
      {"CallSid", "CA1234567890ABCDE"}, {"Caller", "+12349013030"}, {"Digits", "1234"},
      {"From", "+12349013030"},         {"To", "+18005551212"}};
  EXPECT_EQ(TwilioSignature("12345", "https://mycompany.com/myapp.php?foo=1&bar=2", params),
            "0/KCTR6DLpKmkAf8muzZqo1nDgQ=");
}

TEST(WebhookAuthTest, EveryProvider) {
  const WebhookAuthConfig config = Config();
  // aliyun: path token.
  WebhookRequest a = Request("aliyun", "[]");
  EXPECT_EQ(Authenticate(config, a).code(), StatusCode::kUnauthenticated);
  a.path_token = "wrong";
  EXPECT_EQ(Authenticate(config, a).code(), StatusCode::kUnauthenticated);
  a.path_token = "ali-path-token-123";
  EXPECT_TRUE(Authenticate(config, a).ok());
  // tencent: source address.
  WebhookRequest t = Request("tencent", "{}");
  EXPECT_EQ(Authenticate(config, t).code(), StatusCode::kUnauthenticated);
  t.peer_address = "10.1.200.3";
  EXPECT_TRUE(Authenticate(config, t).ok());
  t.peer_address = "::ffff:10.1.2.3";
  EXPECT_TRUE(Authenticate(config, t).ok());
  // huawei: both configured, both required.
  WebhookRequest h = Request("huawei", "");
  h.path_token = "hw-token";
  EXPECT_TRUE(Authenticate(config, h).ok());
  h.peer_address = "192.168.1.1";
  EXPECT_EQ(Authenticate(config, h).code(), StatusCode::kUnauthenticated);
  // twilio: signature over the configured public URL and the form parameters.
  const std::string form = "MessageSid=SM123&From=%2B8613812345678&Body=1&To=%2B10000000000";
  WebhookRequest w = Request("twilio", form);
  EXPECT_EQ(Authenticate(config, w).code(), StatusCode::kUnauthenticated);
  auto pairs = ParseForm(form);
  ASSERT_TRUE(pairs.ok());
  w.headers["x-twilio-signature"] = TwilioSignature("12345", config.at("twilio").public_url, *pairs);
  EXPECT_TRUE(Authenticate(config, w).ok());
  w.body += "&Extra=1";  // a changed body no longer matches
  EXPECT_EQ(Authenticate(config, w).code(), StatusCode::kUnauthenticated);
  // generic: HMAC-SHA256 of the body.
  const std::string body = R"({"id":"g1","from":"13812345678","to":"1069","text":"1","time":"2025-05-01 10:00:00"})";
  WebhookRequest g = Request("generic", body);
  g.headers["x-minyi-signature"] = "sha256=" + GenericSignature("generic-secret", body);
  EXPECT_TRUE(Authenticate(config, g).ok());
  g.headers["x-minyi-signature"] = GenericSignature("other", body);
  EXPECT_EQ(Authenticate(config, g).code(), StatusCode::kUnauthenticated);
  // Unknown and unconfigured providers are not found.
  EXPECT_EQ(Authenticate(config, Request("cmpp", "")).code(), StatusCode::kNotFound);
  EXPECT_EQ(Authenticate(WebhookAuthConfig{}, Request("aliyun", "")).code(), StatusCode::kNotFound);
}

TEST(WebhookParseTest, AliyunBatchWithIntegerAndStringIds) {
  const std::string body =
      R"([{"phone_number":"13812345678","send_time":"2024-05-12 09:01:33","content":"1","sign_name":"幸福里社区","dest_code":"1234","sequence_id":1234567890123456789},)"
      R"({"phone_number":"13912345678","send_time":"20150101120000","content":"满意","sequence_id":"abc"}])";
  auto parsed = ParseWebhookBody(Request("aliyun", body));
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  ASSERT_EQ(parsed->size(), 2u);
  EXPECT_EQ((*parsed)[0].message_ref, "1234567890123456789");  // int64, not rounded through double
  EXPECT_EQ((*parsed)[0].from, "13812345678");
  EXPECT_EQ((*parsed)[0].text, "1");
  EXPECT_EQ((*parsed)[0].sent_at_ms, *ParseTimestamp("2024-05-12 09:01:33"));
  EXPECT_EQ((*parsed)[1].message_ref, "abc");
  EXPECT_EQ((*parsed)[1].sent_at_ms, *ParseTimestamp("2015-01-01 12:00:00"));
}

TEST(WebhookParseTest, TencentHuaweiTwilioGeneric) {
  auto t = ParseWebhookBody(Request(
      "tencent", R"({"extend":"","mobile":"13812345678","nationcode":"86","sign":"x","text":"2","time":1715475693})"));
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ((*t)[0].from, "+8613812345678");
  EXPECT_EQ((*t)[0].sent_at_ms, 1715475693000);
  EXPECT_EQ((*t)[0].message_ref.size(), 33u);
  EXPECT_EQ((*t)[0].message_ref[0], 'h');

  auto h = ParseWebhookBody(Request(
      "huawei", "smsMsgId=hw-1&from=%2B8613812345678&to=1069&body=%E6%BB%A1%E6%84%8F&createTime=2018-04-13T06%3A31%3A46Z"));
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_EQ((*h)[0].message_ref, "hw-1");
  EXPECT_EQ((*h)[0].text, "满意");
  EXPECT_EQ((*h)[0].sent_at_ms, *ParseTimestamp("2018-04-13T06:31:46Z"));

  auto w = ParseWebhookBody(Request("twilio", "MessageSid=SM1&From=%2B8613812345678&Body=1+2&NumSegments=1"));
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_EQ((*w)[0].text, "1 2");

  auto g = ParseWebhookBody(Request("generic", R"({"id":7,"from":"13812345678","to":"1","text":"A","time":1715475693})"));
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_EQ((*g)[0].message_ref, "7");
}

TEST(WebhookParseTest, MalformedBodiesNameTheProblem) {
  struct Bad {
    const char* provider;
    const char* body;
    const char* reason_part;
  };
  const Bad cases[] = {
      {"aliyun", "", "empty"},
      {"aliyun", "not json", "not valid JSON"},
      {"aliyun", R"({"phone_number":"1"})", "array"},
      {"aliyun", "[]", "non-empty"},
      {"aliyun", R"([{"send_time":"2024-05-12 09:01:33","content":"1","sequence_id":1}])", "$[0].phone_number: missing"},
      {"aliyun", R"([{"phone_number":"13812345678","content":"1","sequence_id":1.5}])", "$[0].sequence_id"},
      {"aliyun", R"([{"phone_number":"13812345678","content":"1","sequence_id":1,"send_time":"yesterday"}])", "send_time"},
      {"tencent", R"({"mobile":"13812345678","text":"1"})", "$.time: missing"},
      {"tencent", R"({"mobile":"13812345678","text":"1","time":"soon"})", "$.time"},
      {"twilio", "From=%2B8613812345678&Body=1", "MessageSid: missing"},
      {"twilio", "MessageSid=SM1&From=%ZZ", "percent"},
      {"huawei", "smsMsgId=1&body=1", "from: missing"},
      {"generic", R"({"id":"1","text":"1"})", "$.from: missing"},
      {"generic", R"({"id":"1","from":"1","text":"1","time":true})", "$.time"},
  };
  for (const Bad& b : cases) {
    auto parsed = ParseWebhookBody(Request(b.provider, b.body));
    ASSERT_FALSE(parsed.ok()) << b.provider << " " << b.body;
    EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidInput);
    EXPECT_NE(parsed.status().message().find(b.reason_part), std::string::npos)
        << b.provider << " " << b.body << ": " << parsed.status().message();
  }
}

TEST(WebhookAckTest, EachGatewayGetsItsAcknowledgement) {
  EXPECT_EQ(AckFor("aliyun").body, "{\"code\":0,\"msg\":\"接收成功\"}");
  EXPECT_EQ(AckFor("tencent").body, "{\"result\":0,\"errmsg\":\"OK\"}");
  EXPECT_NE(AckFor("twilio").body.find("<Response></Response>"), std::string::npos);
  EXPECT_EQ(AckFor("twilio").content_type.rfind("text/xml", 0), 0u);
  for (const std::string& p : WebhookProviders()) EXPECT_EQ(AckFor(p).status, 200) << p;
}

TEST(WebhookHelpersTest, AddressAllowList) {
  EXPECT_TRUE(AddressAllowed("10.0.0.7", {"10.0.0.0/8"}));
  EXPECT_TRUE(AddressAllowed("203.0.113.9", {"198.51.100.1", "203.0.113.9"}));
  EXPECT_FALSE(AddressAllowed("11.0.0.1", {"10.0.0.0/8"}));
  EXPECT_FALSE(AddressAllowed("10.0.0.1", {}));
  EXPECT_FALSE(AddressAllowed("not-an-ip", {"10.0.0.0/8"}));
  EXPECT_EQ(HashMessageRef("+8613812345678", "1", "1"), HashMessageRef("+8613812345678", "1", "1"));
  EXPECT_NE(HashMessageRef("+8613812345678", "1", "1"), HashMessageRef("+8613812345678", "2", "1"));
}

}  // namespace
}  // namespace minyi::collector::sms
