#include "collector/rejection_tally.h"

#include <gtest/gtest.h>

#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "collector/fake_store_for_test.h"
#include "collector/ingest.h"
#include "collector/web_access.h"
#include "collector/web_fakes_for_test.h"

namespace minyi::collector {
namespace {

TEST(RejectionTallyTest, CountsInMemoryAndWritesSumsOnFlush) {
  MemoryCounters sink;
  RejectionTally tally(sink, std::chrono::hours(1));
  for (int i = 0; i < 5; ++i) tally.Count("api", "invalid_answers", "s", {2025, 0}, "320812007");
  tally.Count("web", "invalid_town", "s", {2025, 0}, "");
  EXPECT_EQ(tally.Pending(), 6);
  EXPECT_EQ(sink.calls, 0) << "nothing is written per rejection";
  ASSERT_TRUE(tally.Flush().ok());
  EXPECT_EQ(sink.calls, 1);
  EXPECT_EQ(sink.totals["api/invalid_answers/s/2025/320812007"], 5);
  EXPECT_EQ(sink.totals["web/invalid_town/s/2025/"], 1);
  EXPECT_EQ(tally.Pending(), 0);
  ASSERT_TRUE(tally.Flush().ok());
  EXPECT_EQ(sink.calls, 1) << "an empty flush writes nothing";
}

TEST(RejectionTallyTest, AFailedFlushKeepsTheCountsForTheNextOne) {
  MemoryCounters sink;
  RejectionTally tally(sink, std::chrono::hours(1));
  tally.Count("api", "invalid_json", "", {0, 0}, "");
  sink.fail = true;
  EXPECT_FALSE(tally.Flush().ok());
  tally.Count("api", "invalid_json", "", {0, 0}, "");
  EXPECT_EQ(tally.Pending(), 2);
  sink.fail = false;
  ASSERT_TRUE(tally.Flush().ok());
  EXPECT_EQ(sink.totals["api/invalid_json//0/"], 2);
}

TEST(RejectionTallyTest, KeysAreBoundedAndTheBackgroundThreadFlushes) {
  MemoryCounters sink;
  {
    RejectionTally tally(sink, std::chrono::milliseconds(20), 2);
    tally.Count("api", "invalid_period", "s", {2001, 0}, "");
    tally.Count("api", "invalid_period", "s", {2002, 0}, "");
    tally.Count("api", "invalid_period", "s", {2003, 0}, "320812007");  // over the limit: folded
    tally.Count("api", "invalid_period", "s", {2004, 0}, "");
    tally.Start();
    for (int i = 0; i < 200 && tally.Pending() > 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    EXPECT_EQ(tally.Pending(), 0);
    tally.Count("api", "late", "", {0, 0}, "");
  }  // the destructor flushes what is left
  std::lock_guard<std::mutex> lock(sink.mu);
  EXPECT_EQ(sink.totals["api/invalid_period/s/2001/"], 1);
  EXPECT_EQ(sink.totals["api/invalid_period/s/2002/"], 1);
  EXPECT_EQ(sink.totals["api/invalid_period/s/0/"], 2);
  EXPECT_EQ(sink.totals["api/late//0/"], 1);
}

TEST(RejectionTallyTest, IngestCountsEveryRejectedSubmissionByReason) {
  static const SurveyCatalog surveys = [] {
    auto c = SurveyCatalog::LoadDirectory(std::string(MINYI_SOURCE_DIR) + "/conf/surveys");
    EXPECT_TRUE(c.ok()) << c.status();
    return std::move(c).value();
  }();
  static const AreaRegistry areas = [] {
    auto a = AreaRegistry::LoadDirectory(std::string(MINYI_SOURCE_DIR) + "/data");
    EXPECT_TRUE(a.ok()) << a.status();
    return std::move(a).value();
  }();
  FakeStore store;
  MemoryAccess access;
  GroupCommitWriter writer(store, {});
  KeyedHasher hasher("test-secret-0123456789abcdef");
  IngestOptions options;
  options.open_periods = {Period{2025, 0}};
  IngestService ingest(surveys, areas, access, writer, hasher, options);
  MemoryCounters sink;
  RejectionTally tally(sink, std::chrono::hours(1));
  ingest.set_rejection_tally(&tally);
  const ApiKey key = MakeApiKey("partner", {"jiangsu-safety"}, 1).record;
  const ApiKey other = MakeApiKey("other", {"other-survey"}, 1).record;
  Submitter api;
  api.kind = Submitter::Kind::kApiKey;
  api.api_key = &key;
  Submitter page;
  page.device_id = "device-1";

  auto valid = [] {
    Submission s;
    s.survey_id = "jiangsu-safety";
    s.period = Period{2025, 0};
    s.town_code = "320812007";
    s.answers = {{"security", {"1"}}, {"grid", {"2"}}};
    return s;
  };
  struct Case {
    Submission submission;
    bool page;
    std::string expected_key;
  };
  std::vector<Case> cases;
  {
    Submission s = valid();
    s.answers["security"] = {"8"};
    cases.push_back({s, false, "api/invalid_answers/jiangsu-safety/2025/320812007"});
  }
  {
    Submission s = valid();
    s.period = Period{2019, 0};
    cases.push_back({s, false, "api/period_closed/jiangsu-safety/2019/320812007"});
  }
  {
    Submission s = valid();
    s.period.reset();
    cases.push_back({s, true, "web/invalid_period/jiangsu-safety/0/320812007"});
  }
  {
    Submission s = valid();
    s.town_code = "999999999";
    cases.push_back({s, true, "web/invalid_town/jiangsu-safety/2025/"});
  }
  {
    Submission s = valid();
    s.survey_id = "no-such-survey";
    cases.push_back({s, false, "api/unknown_survey//2025/320812007"});
  }
  {
    Submission s = valid();
    s.token = "AAAAAAAAAAAAAAAAAAAAAAAA";
    cases.push_back({s, false, "api/invalid_token/jiangsu-safety/2025/320812007"});
  }
  for (const Case& c : cases) {
    const IngestResult r = ingest.SubmitOne(c.submission, c.page ? page : api);
    EXPECT_EQ(r.code, IngestCode::kInvalid) << c.expected_key;
  }
  Submitter wrong_key = api;
  wrong_key.api_key = &other;
  EXPECT_EQ(ingest.SubmitOne(valid(), wrong_key).code, IngestCode::kForbidden);
  ingest.CountMalformed(api, "invalid_json");
  EXPECT_EQ(ingest.SubmitOne(valid(), api).code, IngestCode::kStored) << "stored submissions are not counted";
  ASSERT_TRUE(tally.Flush().ok());
  for (const Case& c : cases) EXPECT_EQ(sink.totals[c.expected_key], 1) << c.expected_key;
  EXPECT_EQ(sink.totals["api/forbidden_survey/jiangsu-safety/2025/320812007"], 1);
  EXPECT_EQ(sink.totals["api/invalid_json//0/"], 1);
  std::int64_t all = 0;
  for (const auto& [k, v] : sink.totals) all += v;
  EXPECT_EQ(all, static_cast<std::int64_t>(cases.size()) + 2);
  writer.Stop();
}

}  // namespace
}  // namespace minyi::collector
