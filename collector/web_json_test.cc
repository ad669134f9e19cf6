#include "collector/web_json.h"

#include <gtest/gtest.h>

#include "core/http/error_reply.h"

namespace minyi::collector {
namespace {

Submission Parse(const std::string& body, std::vector<FieldError>& errors) {
  auto parsed = ParseJson(body, 8);
  EXPECT_TRUE(parsed.ok()) << parsed.status();
  return parsed.ok() ? SubmissionFromJson(*parsed, body, errors) : Submission{};
}

TEST(WebJsonTest, ReadsEveryField) {
  std::vector<FieldError> errors;
  Submission s = Parse(
      R"({"survey":"jiangsu-safety","period":2025,"town":"320812007","answers":{"security":"1","grid":2,)"
      R"("multi":["a",3],"comment":"很好"},"idempotency_key":"k-1","token":"tok","respondent":"r",)"
      R"("submitted_at":"2025-05-12 09:01:33","completion":"partial"})",
      errors);
  EXPECT_TRUE(errors.empty()) << errors[0].field << ": " << errors[0].reason;
  EXPECT_EQ(s.survey_id, "jiangsu-safety");
  EXPECT_EQ(s.period->ToString(), "2025");
  EXPECT_EQ(s.town_code, "320812007");
  EXPECT_EQ(s.answers.at("security"), std::vector<std::string>{"1"});
  EXPECT_EQ(s.answers.at("grid"), std::vector<std::string>{"2"});
  EXPECT_EQ(s.answers.at("multi"), (std::vector<std::string>{"a", "3"}));
  EXPECT_EQ(s.answers.at("comment"), std::vector<std::string>{"很好"});
  EXPECT_EQ(s.idempotency_key, "k-1");
  EXPECT_EQ(s.token, "tok");
  EXPECT_EQ(s.respondent, "r");
  EXPECT_EQ(s.submitted_at_ms, 1747011693000);
  EXPECT_EQ(s.completion, Completion::kPartial);
  errors.clear();
  Submission q = Parse(R"({"survey":"s","period":"2025Q2","answers":{"q":null,"r":[]}})", errors);
  EXPECT_TRUE(errors.empty());
  EXPECT_EQ(q.period->ToString(), "2025Q2");
  EXPECT_EQ(q.answers.count("q"), 0u) << "null: not answered";
  EXPECT_EQ(q.answers.count("r"), 1u);
}

TEST(WebJsonTest, ShapeErrorsNameTheField) {
  struct Case {
    const char* body;
    const char* field;
  };
  const Case cases[] = {
      {R"({"period":2025,"answers":{}})", "survey"},
      {R"({"survey":"s","answers":{}})", "period"},
      {R"({"survey":"s","period":true,"answers":{}})", "period"},
      {R"({"survey":"s","period":"20x5","answers":{}})", "period"},
      {R"({"survey":"s","period":2025})", "answers"},
      {R"({"survey":"s","period":2025,"answers":[1]})", "answers"},
      {R"({"survey":"s","period":2025,"answers":{"q":{"a":1}}})", "answers.q"},
      {R"({"survey":"s","period":2025,"answers":{"q":[{"a":1}]}})", "answers.q[0]"},
      {R"({"survey":"s","period":2025,"answers":{},"colour":"red"})", "colour"},
      {R"({"survey":7,"period":2025,"answers":{}})", "survey"},
      {R"({"survey":"s","period":2025,"answers":{},"idempotency_key":"a b"})", "idempotency_key"},
      {R"({"survey":"s","period":2025,"answers":{},"submitted_at":"yesterday"})", "submitted_at"},
      {R"({"survey":"s","period":2025,"answers":{},"completion":"half"})", "completion"},
  };
  for (const Case& c : cases) {
    std::vector<FieldError> errors;
    Parse(c.body, errors);
    bool found = false;
    for (const auto& e : errors) found = found || e.field == c.field;
    EXPECT_TRUE(found) << c.body << ": expected an error on " << c.field;
  }
}

// Numbers that are not whole, booleans and objects are not option codes. (A member given twice is
// refused by the reader: tests/hostile/web_api_hostile_test.cc.)
TEST(WebJsonTest, AnswerValueTypes) {
  std::vector<FieldError> errors;
  Submission s = Parse(R"({"survey":"s","period":2025,"answers":{"a":1.5,"b":true,"c":"y","d":-0}})", errors);
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(errors[0].field, "answers.a");
  EXPECT_EQ(errors[1].field, "answers.b");
  EXPECT_EQ(s.answers.at("c"), std::vector<std::string>{"y"});
  EXPECT_EQ(s.answers.at("d"), std::vector<std::string>{"0"});
  errors.clear();
  Parse(R"({"survey":"s","period":2025.0,"answers":{}})", errors);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].field, "period");
}

TEST(WebJsonTest, ErrorAndResultBodies) {
  EXPECT_EQ(
      http::ErrorJson("invalid_input", "bad \"x\"", {{"answers.q", "unknown <q>"}}),
      R"({"error":{"code":"invalid_input","message":"bad \"x\"","fields":[{"field":"answers.q","reason":"unknown \u003cq\u003e"}]}})");
  IngestResult stored;
  stored.code = IngestCode::kStored;
  stored.response_id = 42;
  EXPECT_EQ(IngestResultJson(stored), R"({"id":42,"status":"stored"})");
}

}  // namespace
}  // namespace minyi::collector
