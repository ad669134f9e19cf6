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
// this code. Changing either is a migration of every stored content_hash. One response per channel:
// with and without a comment, a key with the field separators in it, a comment with a formula, CJK and
// a 4-byte emoji (lengths are bytes), a weight whose shortest form has an exponent.
struct PinnedHash {
  Response response;
  const char* text;
  const char* hash;
};

Response Hashed(Channel channel, Period period, const char* town, const char* key, double weight,
                Completion completion, std::int64_t submitted_at_ms, Answers answers) {
  Response r;
  r.survey_id = "jiangsu-safety";
  r.period = period;
  r.town_code = town;
  r.channel = channel;
  r.respondent_key = key;
  r.weight = weight;
  r.completion = completion;
  r.submitted_at_ms = submitted_at_ms;
  r.answers = std::move(answers);
  r.received_at_ms = submitted_at_ms + 1234;  // neither is hashed
  r.raw_payload = "{}";
  return r;
}

TEST(ResponseTest, ContentHashIsPinned) {
  const PinnedHash cases[] = {
      {Hashed(Channel::kWeb, {2025, 0}, "320102001", "rk-abc123", 1.0, Completion::kComplete, 1735689600000,
              {{"Q02", {"A", "C"}}, {"Q01", {"4"}}}),
       "minyi-response-v1;14:jiangsu-safety;4:2025;9:320102001;3:web;9:rk-abc123;1:1;8:complete;"
       "13:1735689600000;1:2;3:Q01;1:1;1:4;3:Q02;1:2;1:A;1:C;",
       "30c050b896d2be9de11e9d1e52a004be6389b2e537e80ee857d55c784282f3cf"},
      {Hashed(Channel::kSms, {2025, 3}, "320582103", "k-x:y;", 2.75, Completion::kPartial, 0,
              {{"Q10", {"路灯坏了"}}}),
       "minyi-response-v1;14:jiangsu-safety;6:2025Q3;9:320582103;3:sms;6:k-x:y;;4:2.75;7:partial;1:0;1:1;"
       "3:Q10;1:1;12:路灯坏了;",
       "de9e0906571722ccaaa04f730e6cf06b7766ac5542412c06f0312729f8cd099b"},
      {Hashed(Channel::kWechat, {2024, 0}, "320812003", "群友-王", 0.5, Completion::kComplete, 1704067200123,
              {{"security", {"1"}}, {"comment", {"=HYPERLINK(\"http://x\",\"点我\") 😀"}}}),
       "minyi-response-v1;14:jiangsu-safety;4:2024;9:320812003;6:wechat;10:群友-王;3:0.5;8:complete;"
       "13:1704067200123;1:2;7:comment;1:1;36:=HYPERLINK(\"http://x\",\"点我\") 😀;8:security;1:1;1:1;",
       "9c84125d307c62cd0d710d5a3e5dbb06fe13a07f1a084ca07bf5ffd6823dfcd9"},
      {Hashed(Channel::kImport, {2025, 4}, "320803001", "7f3a9c1e0b2d4f6a8c0e1f2a3b4c5d6e", 1e-05,
              Completion::kComplete, 0, {{"security", {"1"}}, {"grid", {"2"}}}),
       "minyi-response-v1;14:jiangsu-safety;6:2025Q4;9:320803001;6:import;32:"
       "7f3a9c1e0b2d4f6a8c0e1f2a3b4c5d6e;"
       "5:1e-05;8:complete;1:0;1:2;4:grid;1:1;1:2;8:security;1:1;1:1;",
       "d23a13ffb4baae75ed807ca02a46b4cb4c3764258083e6750629c05afb45c17d"},
  };
  for (const PinnedHash& c : cases) {
    EXPECT_EQ(c.response.CanonicalContent(), c.text);
    EXPECT_EQ(c.response.ContentHash(), c.hash) << c.text;
  }
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
