#include "core/response.h"

#include <gtest/gtest.h>

namespace minyi {
namespace {

Response Sample() {
  Response r;
  r.survey_id = "jiangsu-safety";
  r.period = {2025, 0};
  r.town_code = "320812007";
  r.channel = Channel::kSms;
  r.respondent_key = "k1";
  r.answers = {{"security", {"1"}}, {"grid", {"2"}}};
  r.submitted_at_ms = 1715475693000;
  r.source_ref = "aliyun:1234567890";
  return r;
}

TEST(ResponseTest, ContentHashIgnoresReceivedTimeIdAndRawPayload) {
  Response a = Sample();
  Response b = Sample();
  b.id = 99;
  b.received_at_ms = 123;
  b.raw_payload = "{\"content\":\"1\"}";
  EXPECT_EQ(a.ContentHash(), b.ContentHash());
  EXPECT_EQ(a.ContentHash().size(), 64u);
}

TEST(ResponseTest, ContentHashSeesEveryAnswerChange) {
  Response a = Sample();
  Response b = Sample();
  b.answers["grid"] = {"3"};
  EXPECT_NE(a.ContentHash(), b.ContentHash());
  Response c = Sample();
  c.answers["grid"] = {"2", ""};
  EXPECT_NE(a.ContentHash(), c.ContentHash());
  Response d = Sample();
  d.completion = Completion::kPartial;
  EXPECT_NE(a.ContentHash(), d.ContentHash());
}

TEST(ResponseTest, CanonicalContentIsUnambiguous) {
  // Without length prefixes these two would serialize alike.
  Response a = Sample();
  a.answers = {{"q", {"a;b"}}};
  Response b = Sample();
  b.answers = {{"q", {"a", "b"}}};
  EXPECT_NE(a.CanonicalContent(), b.CanonicalContent());
}

// Stored rows carry these hashes, and a replay is told from a conflict by comparing them: a change of
// the serialisation would turn every replay against stored rows into a 409. The expected texts are
// written out by hand and the hashes were computed from them with coreutils' sha256sum, not with
// this code. Changing either is a migration of every stored content_hash.
TEST(ResponseTest, ContentHashIsPinned) {
  Response web;
  web.survey_id = "js-security";
  web.period = {2025, 0};
  web.town_code = "320102001";
  web.channel = Channel::kWeb;
  web.respondent_key = "rk-abc123";
  web.weight = 1.0;
  web.answers = {{"Q02", {"A", "C"}}, {"Q01", {"4"}}};
  web.submitted_at_ms = 1735689600000;
  web.received_at_ms = 1735689601234;
  web.raw_payload = "{}";
  EXPECT_EQ(web.CanonicalContent(),
            "minyi-response-v1;11:js-security;4:2025;9:320102001;3:web;9:rk-abc123;1:1;8:complete;"
            "13:1735689600000;1:2;3:Q01;1:1;1:4;3:Q02;1:2;1:A;1:C;");
  EXPECT_EQ(web.ContentHash(), "f20267bbefae3ac64acf368288b5bf730e831ceb71434a6cc2f6fcb2c5322c48");

  Response sms;
  sms.survey_id = "js-security";
  sms.period = {2025, 3};
  sms.town_code = "320582103";
  sms.channel = Channel::kSms;
  sms.respondent_key = "k-x:y;";
  sms.weight = 2.75;
  sms.completion = Completion::kPartial;
  sms.answers = {{"Q10", {"路灯坏了"}}};
  EXPECT_EQ(sms.CanonicalContent(),
            "minyi-response-v1;11:js-security;6:2025Q3;9:320582103;3:sms;6:k-x:y;;4:2.75;7:partial;1:0;1:1;"
            "3:Q10;1:1;12:路灯坏了;");
  EXPECT_EQ(sms.ContentHash(), "ecb81f6e91388b7122d79e0c049c6340db9839615ea24b7861474e071a509a87");
}

TEST(PeriodTest, ParsesYearsAndQuarters) {
  struct Case {
    const char* text;
    bool ok;
    int year;
    int quarter;
  } cases[] = {
      {"2025", true, 2025, 0},   {"2025Q2", true, 2025, 2}, {"2025q4", true, 2025, 4},
      {"2025-Q1", true, 2025, 1}, {"2025Q5", false, 0, 0},  {"25", false, 0, 0},
      {"", false, 0, 0},          {"2025Q", false, 0, 0},   {"abcd", false, 0, 0},
  };
  for (const auto& c : cases) {
    auto p = Period::Parse(c.text);
    EXPECT_EQ(p.ok(), c.ok) << c.text;
    if (p.ok() && c.ok) {
      EXPECT_EQ(p->year, c.year) << c.text;
      EXPECT_EQ(p->quarter, c.quarter) << c.text;
    }
  }
  EXPECT_EQ((Period{2025, 2}).ToString(), "2025Q2");
  EXPECT_EQ((Period{2025, 0}).ToString(), "2025");
}

TEST(ChannelTest, RoundTrips) {
  for (Channel c : AllChannels()) EXPECT_EQ(ParseChannel(ChannelName(c)), c);
  EXPECT_FALSE(ParseChannel("fax").has_value());
}

TEST(TimestampTest, ParsesTheFormatsChannelsSend) {
  // 2024-05-12 09:01:33 in Asia/Shanghai is 01:01:33 UTC.
  const std::int64_t expected = 1715475693000;
  EXPECT_EQ(ParseTimestamp("2024-05-12 09:01:33").value(), expected);
  EXPECT_EQ(ParseTimestamp("2024/05/12 09:01:33").value(), expected);
  EXPECT_EQ(ParseTimestamp("20240512090133").value(), expected);
  EXPECT_EQ(ParseTimestamp("2024-05-12T01:01:33Z").value(), expected);
  EXPECT_EQ(ParseTimestamp("2024-05-12T09:01:33+08:00").value(), expected);
  EXPECT_EQ(ParseTimestamp("2024-05-12 09:01:33.250").value(), expected + 250);
  EXPECT_EQ(ParseTimestamp("2024-05-12").value(), expected - (9 * 3600 + 60 + 33) * 1000);
  EXPECT_FALSE(ParseTimestamp("2024-02-30 00:00:00").ok());
  EXPECT_FALSE(ParseTimestamp("2024-05-12 25:00:00").ok());
  EXPECT_FALSE(ParseTimestamp("yesterday").ok());
  EXPECT_FALSE(ParseTimestamp("2024-05-12 09:01:33 junk").ok());
  EXPECT_EQ(FormatTimestampUtc(expected), "2024-05-12T01:01:33Z");
  EXPECT_EQ(FormatTimestampLocal(expected), "2024-05-12 09:01:33");
  EXPECT_EQ(FormatTimestampLocal(expected, 0), "2024-05-12 01:01:33");
}

}  // namespace
}  // namespace minyi
