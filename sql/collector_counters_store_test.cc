// The collectors' counters and the response-rate queries (sql/collector_counters.h, migration 008)
// on every backend: SQLite in memory, SQLite in a file and a private MariaDB.
#include "sql/collector_counters.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "core/sms_ports.h"
#include "sql/sms_store.h"
#include "tests/support/store_backends.h"

namespace minyi::sql {
namespace {

using testsupport::StoreBackend;

// 2025-03-01 12:00 UTC+8 and 2026-01-01 00:00 UTC+8 (the first instant of 2026 there).
constexpr std::int64_t kIn2025 = 1740801600000;
constexpr std::int64_t kStartOf2026 = 1767196800000;

class CollectorCountersTest : public testsupport::FreshStoreTest {
 protected:
  void SetUp() override {
    FreshStoreTest::SetUp();
    if (HasFatalFailure()) return;
    auto counters = OpenCollectorCounters(*store_);
    ASSERT_TRUE(counters.ok()) << counters.status();
    counters_ = std::move(counters).value();
    auto rates = OpenResponseRates(*store_);
    ASSERT_TRUE(rates.ok()) << rates.status();
    rates_ = std::move(rates).value();
    auto sms = OpenSmsStore(*store_);
    ASSERT_TRUE(sms.ok()) << sms.status();
    sms_ = std::move(sms).value();
  }
  void TearDown() override {
    sms_.reset();
    rates_.reset();
    counters_.reset();
    FreshStoreTest::TearDown();
  }

  static RejectionCount Rejection(std::string channel, std::string reason, std::string town, int year,
                                  std::int64_t count, std::int64_t at) {
    RejectionCount c;
    c.survey_id = reason == "invalid_json" ? "" : "jiangsu-safety";  // unparseable: no survey known
    c.channel = std::move(channel);
    c.reason = std::move(reason);
    c.period = {year, 0};
    c.town_code = std::move(town);
    c.count = count;
    c.last_at_ms = at;
    return c;
  }

  void StoreWebResponse(const std::string& source_ref, const std::string& town) {
    Response r;
    r.survey_id = "jiangsu-safety";
    r.period = {2025, 0};
    r.town_code = town;
    r.channel = Channel::kWeb;
    r.respondent_key = "rk-" + source_ref;
    r.answers = {{"security", {"1"}}};
    r.received_at_ms = kIn2025;
    r.source_ref = source_ref;
    r.raw_payload = "{}";
    std::vector<AppendResult> results;
    ASSERT_TRUE(store_->Append({r}, &results).ok());
  }

  // A conversation of 2025 with its outbox messages (statuses) and replies (statuses).
  std::int64_t Conversation(const std::string& phone_key, const std::string& town, const std::string& county,
                            SmsConversationState state, const std::string& answers,
                            const std::vector<SmsOutboxStatus>& outbox, const std::vector<std::string>& replies) {
    SmsConversation c;
    c.survey_id = "jiangsu-safety";
    c.period = {2025, 0};
    c.phone_key = phone_key;
    c.phone_enc = "enc";
    c.town_code = town;
    c.county_code = county;
    c.state = state;
    c.answers_json = answers;
    c.started_at_ms = c.updated_at_ms = kIn2025;
    c.expires_at_ms = kIn2025 + 1;
    auto id = sms_->CreateConversation(c);
    EXPECT_TRUE(id.ok()) << id.status();
    if (!id.ok()) return 0;
    std::vector<SmsOutboxMessage> messages;
    for (std::size_t i = 0; i < outbox.size(); ++i) {
      SmsOutboxMessage m;
      m.conversation_id = *id;
      m.survey_id = c.survey_id;
      m.phone_key = phone_key;
      m.phone_enc = "enc";
      m.body = "q" + std::to_string(i);
      m.created_at_ms = kIn2025;
      messages.push_back(m);
    }
    EXPECT_TRUE(sms_->EnqueueOutbox(messages).ok());
    auto due = sms_->DueOutbox(kIn2025 + 10, 1000);
    EXPECT_TRUE(due.ok());
    std::size_t k = 0;
    for (SmsOutboxMessage& m : *due) {
      if (m.conversation_id != *id) continue;
      m.status = outbox[k++];
      EXPECT_TRUE(sms_->UpdateOutbox(m).ok());
    }
    for (std::size_t i = 0; i < replies.size(); ++i) {
      SmsInbound in;
      in.provider = "generic";
      in.message_ref = phone_key + "-" + std::to_string(i);
      in.phone_key = phone_key;
      in.text = "?";
      in.received_at_ms = kIn2025;
      bool inserted = false;
      auto stored = sms_->InsertInbound(in, &inserted);
      EXPECT_TRUE(stored.ok()) << stored.status();
      SmsInbound update = *stored;
      update.status = replies[i];
      update.survey_id = c.survey_id;
      update.period = c.period;
      update.conversation_id = *id;
      EXPECT_TRUE(sms_->UpdateInbound(update).ok());
    }
    return *id;
  }

  std::unique_ptr<CollectorCounters> counters_;
  std::unique_ptr<ResponseRateQueries> rates_;
  std::unique_ptr<SmsStore> sms_;
};

TEST_P(CollectorCountersTest, RejectionsAreSummedPerKeyAndScopedByTown) {
  ASSERT_TRUE(counters_->RecordRejections({Rejection("api", "invalid_answers", "320812007", 2025, 2, 100),
                                           Rejection("web", "invalid_town", "", 2025, 1, 110)})
                  .ok());
  // The same key again (a second flush, another process): added, newest time kept.
  ASSERT_TRUE(counters_->RecordRejections({Rejection("api", "invalid_answers", "320812007", 2025, 3, 90),
                                           Rejection("api", "invalid_answers", "320812001", 2025, 1, 300),
                                           Rejection("api", "invalid_answers", "320803001", 2025, 4, 50),
                                           Rejection("api", "invalid_json", "", 0, 7, 60)})
                  .ok());

  auto county = counters_->Rejections("jiangsu-safety", "320812", std::nullopt, false);
  ASSERT_TRUE(county.ok()) << county.status();
  ASSERT_EQ(county->size(), 1u) << "towns of another county and unplaced rows are not the county's";
  EXPECT_EQ((*county)[0].channel, "api");
  EXPECT_EQ((*county)[0].reason, "invalid_answers");
  EXPECT_EQ((*county)[0].count, 6);
  EXPECT_EQ((*county)[0].last_at_ms, 300);
  EXPECT_EQ((*county)[0].period, (Period{2025, 0}));

  auto town = counters_->Rejections("jiangsu-safety", "320812007", Period{2025, 0}, false);
  ASSERT_TRUE(town.ok());
  ASSERT_EQ(town->size(), 1u);
  EXPECT_EQ((*town)[0].count, 5);
  auto other_year = counters_->Rejections("jiangsu-safety", "320812007", Period{2024, 0}, false);
  ASSERT_TRUE(other_year.ok());
  EXPECT_TRUE(other_year->empty());
  auto unknown_period = counters_->Rejections("jiangsu-safety", "32", Period{2024, 0}, true);
  ASSERT_TRUE(unknown_period.ok());
  ASSERT_EQ(unknown_period->size(), 1u) << "a rejection without a period is shown with every period";
  EXPECT_EQ((*unknown_period)[0].reason, "invalid_json");

  auto province = counters_->Rejections("jiangsu-safety", "32", std::nullopt, true);
  ASSERT_TRUE(province.ok());
  std::map<std::string, std::int64_t> by_reason;
  for (const auto& r : *province) by_reason[r.channel + "/" + r.reason] += r.count;
  EXPECT_EQ(by_reason["api/invalid_answers"], 10);
  EXPECT_EQ(by_reason["api/invalid_json"], 7);  // no survey named: shown with the survey's
  EXPECT_EQ(by_reason["web/invalid_town"], 1);
  EXPECT_EQ(province->front().count, 10) << "ordered by count, largest first";
  auto other_survey = counters_->Rejections("another-survey", "32", std::nullopt, true);
  ASSERT_TRUE(other_survey.ok());
  ASSERT_EQ(other_survey->size(), 1u);
  EXPECT_EQ((*other_survey)[0].reason, "invalid_json");
}

TEST_P(CollectorCountersTest, BadInputIsRefusedAndStoresNothing) {
  EXPECT_EQ(counters_->RecordRejections({Rejection("api", "x", "", 2025, 1, 1), Rejection("", "x", "", 2025, 1, 1)})
                .code(),
            StatusCode::kInvalidInput);
  EXPECT_EQ(counters_->RecordRejections({Rejection("api", "x", "", 2025, 0, 1)}).code(), StatusCode::kInvalidInput);
  auto all = counters_->Rejections("jiangsu-safety", "32", std::nullopt, true);
  ASSERT_TRUE(all.ok());
  EXPECT_TRUE(all->empty());
  EXPECT_EQ(counters_->Rejections("s", "3", std::nullopt, true).status().code(), StatusCode::kInvalidInput);
  EXPECT_EQ(counters_->Rejections("s", "32a", std::nullopt, true).status().code(), StatusCode::kInvalidInput);
  ImportRun run;
  EXPECT_EQ(counters_->RecordImportRun(run).status().code(), StatusCode::kInvalidInput);
  run.command = "import responses";
  run.rows_rejected = -1;
  EXPECT_EQ(counters_->RecordImportRun(run).status().code(), StatusCode::kInvalidInput);
  EXPECT_EQ(counters_->ImportRuns("32", true, false, 0).status().code(), StatusCode::kInvalidInput);
}

TEST_P(CollectorCountersTest, ImportRunsAreListedNewestFirstWithinTheArea) {
  auto make = [](std::string file, std::string area, std::int64_t rejected) {
    ImportRun r;
    r.command = "import responses";
    r.actor = "tester";
    r.file_name = std::move(file);
    r.survey_id = "jiangsu-safety";
    r.area_code = std::move(area);
    r.started_at_ms = 10;
    r.finished_at_ms = 20;
    r.rows_read = 10;
    r.rows_stored = 10 - rejected;
    r.rows_rejected = rejected;
    return r;
  };
  auto a = counters_->RecordImportRun(make("a.csv", "320812", 2));
  auto b = counters_->RecordImportRun(make("b.csv", "320812007", 0));
  auto c = counters_->RecordImportRun(make("c.csv", "3208", 1));
  auto d = counters_->RecordImportRun(make("d.csv", "", 10));
  ASSERT_TRUE(a.ok() && b.ok() && c.ok() && d.ok()) << a.status() << d.status();
  EXPECT_LT(*a, *b);

  auto county = counters_->ImportRuns("320812", false, false, 100);
  ASSERT_TRUE(county.ok()) << county.status();
  ASSERT_EQ(county->size(), 2u) << "a city-wide file is not the county's";
  EXPECT_EQ((*county)[0].file_name, "b.csv");
  EXPECT_EQ((*county)[1].file_name, "a.csv");
  EXPECT_EQ((*county)[1].rows_rejected, 2);
  EXPECT_EQ((*county)[1].rows_stored, 8);
  EXPECT_EQ((*county)[1].actor, "tester");
  EXPECT_EQ((*county)[1].started_at_ms, 10);
  EXPECT_EQ((*county)[1].finished_at_ms, 20);

  auto rejected_only = counters_->ImportRuns("32", true, true, 100);
  ASSERT_TRUE(rejected_only.ok());
  ASSERT_EQ(rejected_only->size(), 3u);
  EXPECT_EQ((*rejected_only)[0].file_name, "d.csv");
  auto limited = counters_->ImportRuns("32", true, false, 1);
  ASSERT_TRUE(limited.ok());
  EXPECT_EQ(limited->size(), 1u);
}

TEST_P(CollectorCountersTest, WebTokensIssuedInThePeriodAndUsed) {
  auto hash = [](char c) { return std::string(64, c); };
  ASSERT_TRUE(store_->AddInvitationTokens({{hash('a'), "jiangsu-safety", "320812007", "b1", kIn2025},
                                           {hash('b'), "jiangsu-safety", "320812007", "b1", kIn2025},
                                           {hash('c'), "jiangsu-safety", "320812001", "b1", kIn2025},
                                           {hash('d'), "jiangsu-safety", "", "b2", kIn2025},
                                           {hash('e'), "jiangsu-safety", "320812007", "b3", kStartOf2026},
                                           {hash('f'), "jiangsu-safety", "320812007", "b3", kStartOf2026 - 1},
                                           {hash('0'), "other-survey", "320812007", "b4", kIn2025}})
                  .ok());
  StoreWebResponse("token:" + hash('a'), "320812007");
  StoreWebResponse("token:" + hash('d'), "320812001");
  StoreWebResponse("token:" + hash('e'), "320812007");      // issued in 2026: not a 2025 token
  StoreWebResponse("device:" + hash('b'), "320812007");     // not a token response

  auto county = rates_->CountInvitations("jiangsu-safety", "320812", {2025, 0}, false);
  ASSERT_TRUE(county.ok()) << county.status();
  ASSERT_EQ(county->size(), 2u);
  EXPECT_EQ((*county)[0].area_code, "320812001");
  EXPECT_EQ((*county)[0].web_issued, 1);
  EXPECT_EQ((*county)[0].web_used, 0);
  EXPECT_EQ((*county)[1].area_code, "320812007");
  EXPECT_EQ((*county)[1].web_issued, 3) << "a, b and f (the last millisecond of 2025 in UTC+8)";
  EXPECT_EQ((*county)[1].web_used, 1);
  EXPECT_EQ((*county)[1].sms_invited, 0);

  auto province = rates_->CountInvitations("jiangsu-safety", "32", {2025, 0}, true);
  ASSERT_TRUE(province.ok());
  ASSERT_EQ(province->size(), 3u);
  EXPECT_EQ((*province)[0].area_code, "") << "tokens without a town: the resident chose";
  EXPECT_EQ((*province)[0].web_issued, 1);
  EXPECT_EQ((*province)[0].web_used, 1);

  auto next_year = rates_->CountInvitations("jiangsu-safety", "320812007", {2026, 0}, false);
  ASSERT_TRUE(next_year.ok());
  ASSERT_EQ(next_year->size(), 1u);
  EXPECT_EQ((*next_year)[0].web_issued, 1);
  EXPECT_EQ((*next_year)[0].web_used, 1);
  auto first_quarter = rates_->CountInvitations("jiangsu-safety", "320812007", {2025, 1}, false);
  ASSERT_TRUE(first_quarter.ok());
  ASSERT_EQ(first_quarter->size(), 1u);
  EXPECT_EQ((*first_quarter)[0].web_issued, 2) << "March 2025 is in Q1; the end of December is not";

  EXPECT_EQ(rates_->CountInvitations("", "32", {2025, 0}, true).status().code(), StatusCode::kInvalidInput);
  EXPECT_EQ(rates_->CountInvitations("s", "x", {2025, 0}, true).status().code(), StatusCode::kInvalidInput);
}

TEST_P(CollectorCountersTest, SmsConversationsFromInvitationToAnswer) {
  using S = SmsConversationState;
  using O = SmsOutboxStatus;
  const std::string town = "320812007";
  // Answered: invitation and two questions sent, two replies.
  Conversation("p1", town, "320812", S::kComplete, "{\"security\":[\"1\"]}", {O::kSent, O::kSent, O::kSent},
               {"answered", "answered"});
  // Partial: one answer, then silence until expiry.
  Conversation("p2", town, "320812", S::kExpired, "{\"security\":[\"2\"]}", {O::kSent, O::kSent}, {"answered"});
  // Expired without any answer: sent, never replied.
  Conversation("p3", town, "320812", S::kExpired, "{}", {O::kSent, O::kSent}, {});
  // Opted out at once.
  Conversation("p4", town, "320812", S::kOptedOut, "{}", {O::kSent}, {"optout"});
  // The gateway refused every attempt.
  Conversation("p5", town, "320812", S::kOpen, "{}", {O::kFailed, O::kFailed}, {});
  // Still queued.
  Conversation("p6", town, "320812", S::kOpen, "{}", {O::kPending}, {});
  // Open, with an unparsed reply after the re-ask; the outbox already purged (no rows).
  Conversation("p7", town, "320812", S::kOpen, "{}", {}, {"reasked", "unparsed"});
  // Town not known yet (the roster gave the county): counted under the county.
  Conversation("p8", "", "320812", S::kOpen, "{}", {O::kSent}, {"unparsed"});
  // Another county.
  Conversation("p9", "320803001", "320803", S::kComplete, "{\"security\":[\"1\"]}", {O::kSent}, {"answered"});

  auto county = rates_->CountInvitations("jiangsu-safety", "320812", {2025, 0}, false);
  ASSERT_TRUE(county.ok()) << county.status();
  ASSERT_EQ(county->size(), 2u);
  const InvitationCounts& unknown_town = (*county)[0];
  EXPECT_EQ(unknown_town.area_code, "320812");
  EXPECT_EQ(unknown_town.sms_invited, 1);
  EXPECT_EQ(unknown_town.sms_unparsed, 1);
  const InvitationCounts& t = (*county)[1];
  EXPECT_EQ(t.area_code, town);
  EXPECT_EQ(t.sms_invited, 7);
  EXPECT_EQ(t.sms_sent, 5) << "p1-p4 sent, p7 replied (so it arrived)";
  EXPECT_EQ(t.sms_failed, 1);
  EXPECT_EQ(t.sms_delivered, 4) << "p1, p2, p4, p7 replied";
  EXPECT_EQ(t.sms_answered, 1);
  EXPECT_EQ(t.sms_partial, 1);
  EXPECT_EQ(t.sms_opted_out, 1);
  EXPECT_EQ(t.sms_open, 3);
  EXPECT_EQ(t.sms_unparsed, 1) << "the re-asked reply is not (yet) unparsed";

  auto only_town = rates_->CountInvitations("jiangsu-safety", town, {2025, 0}, false);
  ASSERT_TRUE(only_town.ok());
  ASSERT_EQ(only_town->size(), 1u);
  EXPECT_EQ((*only_town)[0].sms_invited, 7);
  auto other_year = rates_->CountInvitations("jiangsu-safety", "32", {2024, 0}, true);
  ASSERT_TRUE(other_year.ok());
  EXPECT_TRUE(other_year->empty());
  auto province = rates_->CountInvitations("jiangsu-safety", "32", {2025, 0}, true);
  ASSERT_TRUE(province.ok());
  std::int64_t invited = 0;
  for (const auto& r : *province) invited += r.sms_invited;
  EXPECT_EQ(invited, 9);
}

TEST(CommonAreaTest, NarrowestDivisionHoldingEveryCode) {
  EXPECT_EQ(CommonArea({}), "");
  EXPECT_EQ(CommonArea({"320812007"}), "320812007");
  EXPECT_EQ(CommonArea({"320812007", "320812001"}), "320812");
  EXPECT_EQ(CommonArea({"320812007", "320803001"}), "3208");
  EXPECT_EQ(CommonArea({"320812007", "320102001"}), "32");
  EXPECT_EQ(CommonArea({"320812007", "110101001"}), "");
}

INSTANTIATE_TEST_SUITE_P(Backends, CollectorCountersTest, ::testing::ValuesIn(testsupport::AllStoreBackends()),
                         testsupport::StoreBackendParamName);

}  // namespace
}  // namespace minyi::sql
