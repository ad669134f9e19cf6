#include "collector/ingest.h"

#include <gtest/gtest.h>

#include "collector/fake_store_for_test.h"
#include "collector/web_access.h"
#include "collector/web_fakes_for_test.h"

namespace minyi::collector {
namespace {

const SurveyCatalog& Surveys() {
  static const SurveyCatalog catalog = [] {
    auto c = SurveyCatalog::LoadDirectory(std::string(MINYI_SOURCE_DIR) + "/conf/surveys");
    EXPECT_TRUE(c.ok()) << c.status();
    return std::move(c).value();
  }();
  return catalog;
}

const AreaRegistry& Areas() {
  static const AreaRegistry areas = [] {
    auto a = AreaRegistry::LoadDirectory(std::string(MINYI_SOURCE_DIR) + "/data");
    EXPECT_TRUE(a.ok()) << a.status();
    return std::move(a).value();
  }();
  return areas;
}

class IngestTest : public ::testing::Test {
 protected:
  IngestTest()
      : writer_(store_, {}), hasher_("test-secret-0123456789abcdef"),
        ingest_(Surveys(), Areas(), access_, writer_, hasher_, Options()) {
    key_ = MakeApiKey("partner", {"jiangsu-safety"}, 1).record;
    other_key_ = MakeApiKey("other", {"other-survey"}, 1).record;
  }
  static IngestOptions Options() {
    IngestOptions o;
    o.open_periods = {Period{2025, 0}};
    return o;
  }
  Submitter Api(const ApiKey& key) {
    Submitter s;
    s.kind = Submitter::Kind::kApiKey;
    s.api_key = &key;
    return s;
  }
  static Submission Valid() {
    Submission s;
    s.survey_id = "jiangsu-safety";
    s.period = Period{2025, 0};
    s.town_code = "320812007";
    s.answers = {{"security", {"1"}}, {"grid", {"2"}}, {"comment", {"请回电 13812345678"}}};
    s.idempotency_key = "partner-1";
    s.raw_payload = "{\"respondent\":\"13812345678\"}";
    return s;
  }

  FakeStore store_;
  MemoryAccess access_;
  GroupCommitWriter writer_;
  KeyedHasher hasher_;
  IngestService ingest_;
  ApiKey key_, other_key_;
};

TEST_F(IngestTest, StoresThenReplaysThenConflicts) {
  IngestResult first = ingest_.SubmitOne(Valid(), Api(key_));
  ASSERT_EQ(first.code, IngestCode::kStored) << first.message;
  EXPECT_EQ(first.HttpStatus(), 201);
  ASSERT_EQ(store_.rows.size(), 1u);
  const Response& r = store_.rows[0];
  EXPECT_EQ(r.channel, Channel::kWeb);
  EXPECT_EQ(r.source_ref, "api:" + key_.key_id + ":partner-1");
  EXPECT_EQ(r.respondent_key.size(), 64u);
  EXPECT_EQ(r.answers.at("comment")[0], "请回电 138****5678") << "no plaintext phone numbers at rest";
  EXPECT_EQ(r.raw_payload.find("13812345678"), std::string::npos);

  IngestResult replay = ingest_.SubmitOne(Valid(), Api(key_));
  EXPECT_EQ(replay.code, IngestCode::kDuplicate);
  EXPECT_EQ(replay.HttpStatus(), 200);
  EXPECT_EQ(replay.response_id, first.response_id);

  Submission changed = Valid();
  changed.answers["security"] = {"2"};
  IngestResult conflict = ingest_.SubmitOne(changed, Api(key_));
  EXPECT_EQ(conflict.code, IngestCode::kConflict);
  EXPECT_EQ(conflict.HttpStatus(), 409);
  EXPECT_EQ(store_.rows.size(), 1u);
}

TEST_F(IngestTest, FieldLevelReasons) {
  struct Case {
    const char* name;
    void (*edit)(Submission&);
    const char* field;
  };
  const Case cases[] = {
      {"unknown question", [](Submission& s) { s.answers["colour"] = {"1"}; }, "answers.colour"},
      {"option not in definition", [](Submission& s) { s.answers["security"] = {"7"}; }, "answers.security"},
      {"missing required", [](Submission& s) { s.answers.erase("grid"); }, "answers.grid"},
      {"unknown town", [](Submission& s) { s.town_code = "320812999"; }, "town"},
      {"county is not a town", [](Submission& s) { s.town_code = "320812"; }, "town"},
      {"no town", [](Submission& s) { s.town_code.clear(); }, "town"},
      {"period closed", [](Submission& s) { s.period = Period{2024, 0}; }, "period"},
      {"unknown survey", [](Submission& s) { s.survey_id = "nope"; }, "survey"},
      {"unknown token", [](Submission& s) { s.token = "AAAAAAAAAAAAAAAAAAAAAAAA"; }, "token"},
  };
  for (const Case& c : cases) {
    Submission s = Valid();
    c.edit(s);
    IngestResult r = ingest_.SubmitOne(s, Api(key_));
    EXPECT_EQ(r.code, IngestCode::kInvalid) << c.name;
    EXPECT_EQ(r.HttpStatus(), 422) << c.name;
    bool found = false;
    for (const auto& e : r.errors) found = found || e.field == c.field;
    EXPECT_TRUE(found) << c.name << ": no error for " << c.field;
  }
  EXPECT_TRUE(store_.rows.empty());
}

TEST_F(IngestTest, ApiKeyScope) {
  IngestResult r = ingest_.SubmitOne(Valid(), Api(other_key_));
  EXPECT_EQ(r.code, IngestCode::kForbidden);
  EXPECT_EQ(r.HttpStatus(), 403);
}

TEST_F(IngestTest, TokenFixesTownAndIsOneResponse) {
  auto invitations = MakeInvitations("jiangsu-safety", "320812007", 1, 1);
  ASSERT_TRUE(access_.AddInvitationTokens({invitations[0].record}).ok());
  Submission s = Valid();
  s.town_code.clear();
  s.token = invitations[0].token;
  s.idempotency_key = "a";
  IngestResult first = ingest_.SubmitOne(s, Api(key_));
  ASSERT_EQ(first.code, IngestCode::kStored);
  EXPECT_EQ(store_.rows[0].town_code, "320812007");
  EXPECT_EQ(store_.rows[0].source_ref, "token:" + invitations[0].record.token_hash);
  s.idempotency_key = "b";  // another key, same token, same content: the same response
  EXPECT_EQ(ingest_.SubmitOne(s, Api(key_)).code, IngestCode::kDuplicate);
  s.answers["security"] = {"3"};
  EXPECT_EQ(ingest_.SubmitOne(s, Api(key_)).code, IngestCode::kConflict);
  s.town_code = "320812001";
  IngestResult wrong_town = ingest_.SubmitOne(s, Api(key_));
  EXPECT_EQ(wrong_town.code, IngestCode::kInvalid);
}

TEST_F(IngestTest, BatchStoresTheValidItems) {
  Submission bad = Valid();
  bad.idempotency_key = "bad";
  bad.answers["security"] = {"x"};
  Submission good2 = Valid();
  good2.idempotency_key = "good2";
  auto results = ingest_.Submit({Valid(), bad, good2}, Api(key_));
  ASSERT_EQ(results.size(), 3u);
  EXPECT_EQ(results[0].code, IngestCode::kStored);
  EXPECT_EQ(results[1].code, IngestCode::kInvalid);
  EXPECT_EQ(results[2].code, IngestCode::kStored);
  EXPECT_EQ(store_.rows.size(), 2u);
}

TEST_F(IngestTest, PageSubmissionsAreOnePerDeviceAndPeriod) {
  Submitter page;
  page.device_id = "device-0123456789abcdef";
  Submission s = Valid();
  s.idempotency_key = "render-1";
  EXPECT_EQ(ingest_.SubmitOne(s, page).code, IngestCode::kStored);
  s.idempotency_key = "render-2";
  EXPECT_EQ(ingest_.SubmitOne(s, page).code, IngestCode::kDuplicate);
  EXPECT_EQ(store_.rows[0].source_ref, ingest_.DeviceSourceRef(page.device_id, "jiangsu-safety", Period{2025, 0}));
  EXPECT_EQ(store_.rows[0].respondent_key, hasher_.RespondentKey("device:" + page.device_id));
}

TEST(IngestPeriodsTest, ParseListAndDefault) {
  auto list = ParsePeriodList(" 2025Q2, 2024 ,");
  ASSERT_TRUE(list.ok()) << list.status();
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].ToString(), "2024");
  EXPECT_EQ((*list)[1].ToString(), "2025Q2");
  EXPECT_EQ(ParsePeriodList("2025, 20x5").status().code(), StatusCode::kInvalidInput);
}

}  // namespace
}  // namespace minyi::collector
