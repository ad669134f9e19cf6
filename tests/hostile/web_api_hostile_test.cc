// Hostile input catalogue: the web collector's JSON API (POST /api/v1/responses and
// /api/v1/responses:batch, collector/web_routes.h) through the real routes on an in-process HTTP
// server (127.0.0.1, port 0) with the ingest service, group commit and an in-memory store. Each
// hostile submission is posted alone between two valid posts (both stored, 201), and again as item 1
// of a batch between two valid items (both stored; the item's own status and error in the answer).
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "collector/fake_store_for_test.h"
#include "collector/ingest.h"
#include "collector/web_access.h"
#include "collector/web_fakes_for_test.h"
#include "collector/web_routes.h"
#include "core/http/router.h"
#include "tests/hostile/hostile_http.h"
#include "tests/hostile/hostile_support.h"

namespace minyi::hostile {
namespace {

using namespace collector;  // NOLINT(build/namespaces): the test names many collector types

// A submission object with some members replaced (raw JSON values; "" removes the member).
std::string Submission(const std::string& key, const std::map<std::string, std::string>& changes = {}) {
  std::map<std::string, std::string> f = {
      {"survey", "\"jiangsu-safety\""},
      {"period", "2025"},
      {"town", "\"320812007\""},
      {"answers", "{\"security\":\"1\",\"grid\":\"2\",\"comment\":\"路灯\"}"},
      {"idempotency_key", "\"" + key + "\""}};
  for (const auto& [k, v] : changes) f[k] = v;
  std::string body = "{";
  for (const auto& [k, v] : f) {
    if (v.empty()) continue;
    body += (body.size() > 1 ? "," : "") + ("\"" + k + "\":" + v);
  }
  return body + "}";
}
std::string Answers(const std::string& comment_json) {
  return "{\"security\":\"1\",\"grid\":\"2\",\"comment\":" + comment_json + "}";
}

struct ApiCase {
  std::string name;
  std::string body;         // one submission object (or, for whole-body cases, the whole body)
  int status = 422;         // the single post's status
  std::string expect;       // substring of the answer (the field named)
  bool whole_body = false;  // not a submission object: posted alone only
};

std::string ApiLabel(const ::testing::TestParamInfo<ApiCase>& info) {
  return std::to_string(info.index) + "_" + TestName(info.param.name);
}

std::vector<ApiCase> Cases() {
  const std::string h = "hostile-1";
  std::vector<ApiCase> cases = {
      // Shape: 400 naming the field.
      {"survey missing", Submission(h, {{"survey", ""}}), 400, "\"field\":\"survey\""},
      {"survey number", Submission(h, {{"survey", "7"}}), 400, "\"field\":\"survey\""},
      {"survey array", Submission(h, {{"survey", "[\"jiangsu-safety\"]"}}), 400, "\"field\":\"survey\""},
      {"period text", Submission(h, {{"period", "\"this year\""}}), 400, "\"field\":\"period\""},
      {"period float", Submission(h, {{"period", "2025.5"}}), 400, "\"field\":\"period\""},
      {"period exponent", Submission(h, {{"period", "2.025e3"}}), 400, "\"field\":\"period\""},
      {"period 1e400", Submission(h, {{"period", "1e400"}}), 400, "period"},
      {"period negative", Submission(h, {{"period", "-2025"}}), 400, "\"field\":\"period\""},
      {"period 2025Q5", Submission(h, {{"period", "\"2025Q5\""}}), 400, "\"field\":\"period\""},
      {"period missing", Submission(h, {{"period", ""}}), 400, "\"field\":\"period\""},
      {"town number", Submission(h, {{"town", "320812007"}}), 400, "\"field\":\"town\""},
      {"answers missing", Submission(h, {{"answers", ""}}), 400, "\"field\":\"answers\""},
      {"answers array", Submission(h, {{"answers", "[1,2]"}}), 400, "\"field\":\"answers\""},
      {"answers string", Submission(h, {{"answers", "\"1,2\""}}), 400, "\"field\":\"answers\""},
      {"answer object", Submission(h, {{"answers", "{\"security\":{\"a\":1},\"grid\":\"2\"}"}}), 400,
       "answers.security"},
      {"answer nested array", Submission(h, {{"answers", "{\"security\":[[\"1\"]],\"grid\":\"2\"}"}}), 400,
       "answers.security[0]"},
      {"unknown field", Submission(h, {{"admin", "true"}}), 400, "\"field\":\"admin\""},
      {"unknown field __proto__", Submission(h, {{"__proto__", "{}"}}), 400, "__proto__"},
      {"idempotency key with space", Submission("a b"), 400, "idempotency_key"},
      {"idempotency key 129 bytes", Submission(std::string(129, 'k')), 400, "idempotency_key"},
      {"idempotency key NUL", Submission("a\\u0000b"), 400, "idempotency_key"},
      {"idempotency key non-ASCII", Submission("键"), 400, "idempotency_key"},
      {"respondent 129 bytes", Submission(h, {{"respondent", JsonText(std::string(129, 'r'))}}), 400,
       "respondent"},
      {"completion unknown", Submission(h, {{"completion", "\"done\""}}), 400, "completion"},
      {"submitted_at invalid", Submission(h, {{"submitted_at", "\"2025-02-30 10:00:00\""}}), 400,
       "submitted_at"},
      {"submitted_at year 99999", Submission(h, {{"submitted_at", "\"99999-01-01T00:00:00Z\""}}), 400,
       "submitted_at"},
      {"submitted_at offset +99:00", Submission(h, {{"submitted_at", "\"2025-05-12T10:00:00+99:00\""}}), 400,
       "submitted_at"},
      {"submitted_at number", Submission(h, {{"submitted_at", "1715475693"}}), 400, "submitted_at"},
      // Content: 422 naming the field.
      {"survey unknown", Submission(h, {{"survey", "\"no-such\""}}), 422, "survey"},
      {"survey SQL", Submission(h, {{"survey", "\"x' OR '1'='1\""}}), 422, "survey"},
      {"period not open", Submission(h, {{"period", "2019"}}), 422, "period"},
      {"town unknown", Submission(h, {{"town", "\"320812999\""}}), 422, "town"},
      {"town county code", Submission(h, {{"town", "\"320812\""}}), 422, "town"},
      {"town script", Submission(h, {{"town", "\"<script>\""}}), 422, "town"},
      {"town empty", Submission(h, {{"town", "\"\""}}), 422, "town"},
      {"option unknown", Submission(h, {{"answers", "{\"security\":\"7\",\"grid\":\"2\"}"}}), 422,
       "answers.security"},
      {"option number", Submission(h, {{"answers", "{\"security\":1,\"grid\":\"2\"}"}}), 201, ""},
      {"option number 1e400", Submission(h, {{"answers", "{\"security\":1e400,\"grid\":\"2\"}"}}), 400, ""},
      {"option NaN literal", Submission(h, {{"answers", "{\"security\":NaN,\"grid\":\"2\"}"}}), 400,
       "invalid_json"},
      {"option twice", Submission(h, {{"answers", "{\"security\":[\"1\",\"1\"],\"grid\":\"2\"}"}}), 422,
       "answers.security"},
      {"single with two options", Submission(h, {{"answers", "{\"security\":[\"1\",\"2\"],\"grid\":\"2\"}"}}),
       422, "answers.security"},
      {"question unknown",
       Submission(h, {{"answers", "{\"security\":\"1\",\"grid\":\"2\",\"salary\":\"1\"}"}}), 422,
       "answers.salary"},
      {"required missing", Submission(h, {{"answers", "{\"grid\":\"2\"}"}}), 422, "answers.security"},
      {"text too long", Submission(h, {{"answers", Answers(JsonText(Repeat("长", 2001)))}}), 422,
       "answers.comment"},
      {"text NUL", Submission(h, {{"answers", Answers("\"a\\u0000b\"")}}), 422, "control character U+0000"},
      {"text escape sequence", Submission(h, {{"answers", Answers("\"\\u001b[2J\"")}}), 422,
       "control character U+001B"},
      {"text lone surrogate escape", Submission(h, {{"answers", Answers("\"\\ud800\"")}}), 400,
       "unpaired surrogate"},
      {"text only spaces", Submission(h, {{"answers", Answers("\"   \"")}}), 422, "answers.comment"},
      // Whole bodies.
      {"not JSON", "survey=jiangsu-safety", 400, "invalid_json", true},
      {"empty body", "", 400, "invalid_json", true},
      {"truncated JSON", Submission(h).substr(0, 40), 400, "invalid_json", true},
      {"JSON array", "[" + Submission(h) + "]", 400, "JSON object", true},
      {"JSON null", "null", 400, "JSON object", true},
      {"deeply nested", std::string(100, '[') + std::string(100, ']'), 400, "invalid_json", true},
      {"deeply nested answers", Submission(h, {{"answers", std::string(20, '[') + std::string(20, ']')}}),
       400, "invalid_json", true},
      {"invalid UTF-8", "{\"survey\":\"\xff\xfe\"}", 400, "invalid_json", true},
      {"UTF-8 BOM", "\xEF\xBB\xBF" + Submission(h), 400, "invalid_json", true},
      {"duplicate key", Submission(h).substr(0, Submission(h).size() - 1) + ",\"town\":\"320102002\"}", 400,
       "member \\\"town\\\" given more than once", true},
      {"duplicate answer key",
       Submission(h, {{"answers", "{\"security\":\"1\",\"grid\":\"2\",\"security\":\"5\"}"}}), 400,
       "member \\\"security\\\" given more than once"},
      {"trailing garbage", Submission(h) + "x", 400, "invalid_json", true},
      {"oversized body", "{\"survey\":\"" + std::string(1100000, 'a') + "\"}", 413, "too_large", true},
  };
  for (const auto& [name, text] : VerbatimTexts()) {
    cases.push_back({"text " + name, Submission(h, {{"answers", Answers(JsonText(text))}}), 201, "stored"});
  }
  cases.push_back({"text with phone number (masked)",
                   Submission(h, {{"answers", Answers("\"电话13812345678\"")}}), 201, "stored"});
  cases.push_back({"null answer is not answered",
                   Submission(h, {{"answers", "{\"security\":\"1\",\"grid\":\"2\",\"comment\":null}"}}), 201,
                   "stored"});
  return cases;
}

class WebApiHostile : public ::testing::TestWithParam<ApiCase> {
 protected:
  WebApiHostile()
      : writer_(store_, {}),
        hasher_("hostile-web-secret-0123456789ab"),
        ingest_(fuzz::Surveys(), fuzz::Areas(), access_, writer_, hasher_, Options()),
        auth_(access_, std::chrono::milliseconds(60000)),
        limiter_(0, 0),
        collector_(ingest_, auth_, limiter_, WebOptions{}) {}
  static IngestOptions Options() {
    IngestOptions o;
    o.open_periods = {Period{2025, 0}};
    return o;
  }
  void SetUp() override {
    NewApiKey key = MakeApiKey("partner", {"jiangsu-safety"}, 1);
    ASSERT_TRUE(access_.AddApiKey(key.record).ok());
    key_ = key.key;
    collector_.Register(router_);
    server_.Start(router_);
  }
  void TearDown() override {
    server_.Stop();
    writer_.Stop();
  }
  HttpAnswer Post(const std::string& path, const std::string& body) {
    return server_.Post(path, "application/json", body, {{"Authorization", "Bearer " + key_}});
  }
  bool StoredKey(const std::string& key) const {
    for (const Response& r : store_.rows) {
      if (r.source_ref.size() > key.size() &&
          r.source_ref.compare(r.source_ref.size() - key.size(), key.size(), key) == 0)
        return true;
    }
    return false;
  }

  FakeStore store_;
  MemoryAccess access_;
  GroupCommitWriter writer_;
  KeyedHasher hasher_;
  IngestService ingest_;
  ApiKeyAuthenticator auth_;
  RateLimiter limiter_;
  WebCollector collector_;
  http::Router router_;
  LocalServer server_;
  std::string key_;
};

TEST_P(WebApiHostile, SinglePostBetweenValidPosts) {
  const ApiCase& c = GetParam();
  ASSERT_EQ(Post("/api/v1/responses", Submission("valid-before")).status, 201);
  const HttpAnswer hostile = Post("/api/v1/responses", c.body);
  ASSERT_EQ(Post("/api/v1/responses", Submission("valid-after")).status, 201);
  EXPECT_EQ(hostile.status, c.status) << hostile.body.substr(0, 500);
  EXPECT_NE(hostile.body.find(c.expect), std::string::npos) << hostile.body.substr(0, 500);
  EXPECT_TRUE(StoredKey(":valid-before"));
  EXPECT_TRUE(StoredKey(":valid-after"));
  EXPECT_EQ(store_.rows.size(), c.status == 201 ? 3u : 2u);
  for (const Response& r : store_.rows) {
    EXPECT_EQ(r.raw_payload.find("13812345678"), std::string::npos) << "phone numbers masked at rest";
  }
  if (c.status == 201 && c.body.find("\"comment\":\"") != std::string::npos) {
    // Stored verbatim: the raw payload is the body as sent (phone numbers masked).
    EXPECT_EQ(store_.rows[1].raw_payload.find("13812345678"), std::string::npos);
    if (c.body.find("13812345678") == std::string::npos) EXPECT_EQ(store_.rows[1].raw_payload, c.body);
  }
}

TEST_P(WebApiHostile, BatchItemBetweenValidItems) {
  const ApiCase& c = GetParam();
  if (c.whole_body) GTEST_SKIP() << "not a submission object";
  const HttpAnswer a = Post("/api/v1/responses:batch", "{\"responses\":[" + Submission("item-0") + "," +
                                                           c.body + "," + Submission("item-2") + "]}");
  if (c.status == 400 && c.body.find("\"answers\"") != std::string::npos &&
      (c.expect == "invalid_json" || c.expect == "unpaired surrogate" ||
       c.expect.find("more than once") != std::string::npos)) {
    // The item breaks the JSON of the whole batch: there are no items to keep.
    EXPECT_EQ(a.status, 400) << a.body.substr(0, 500);
    EXPECT_NE(a.body.find("invalid_json"), std::string::npos) << a.body.substr(0, 500);
    EXPECT_TRUE(store_.rows.empty());
    return;
  }
  ASSERT_EQ(a.status, 200) << a.body.substr(0, 500);
  EXPECT_NE(a.body.find("{\"index\":1,\"status\":" + std::to_string(c.status)), std::string::npos)
      << a.body.substr(0, 800);
  EXPECT_NE(a.body.find(c.expect), std::string::npos) << a.body.substr(0, 800);
  EXPECT_TRUE(StoredKey(":item-0"));
  EXPECT_TRUE(StoredKey(":item-2"));
  EXPECT_EQ(store_.rows.size(), c.status == 201 ? 3u : 2u);
}

INSTANTIATE_TEST_SUITE_P(Catalogue, WebApiHostile, ::testing::ValuesIn(Cases()), ApiLabel);

}  // namespace
}  // namespace minyi::hostile
