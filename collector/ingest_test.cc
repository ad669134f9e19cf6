#include "collector/ingest.h"

#include <gtest/gtest.h>

#include <memory>

#include "collector/fake_store_for_test.h"
#include "collector/rejection_tally.h"
#include "collector/sms/phone_privacy.h"
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

// One resident, one respondent key: a partner's respondent given as a phone number (any spelling) gets the
// key the SMS channel derives for that phone under the same secret (NormalizePhone, then KeyFor, as
// SmsService::HandleInbound does), and an id that is not a phone keeps a key of its own domain.
TEST_F(IngestTest, PartnerPhoneHasTheSmsChannelsRespondentKey) {
  auto keyer = RespondentKeyer::Create("test-secret-0123456789abcdef");  // hasher_'s secret
  ASSERT_TRUE(keyer.ok()) << keyer.status();
  auto e164 = sms::NormalizePhone("13812345678");
  ASSERT_TRUE(e164.ok()) << e164.status();
  const std::string sms_key = keyer->KeyFor(*e164);

  const char* spellings[] = {"13812345678", " +86 138-1234-5678", "008613812345678"};
  for (std::size_t i = 0; i < std::size(spellings); ++i) {
    Submission s = Valid();
    s.idempotency_key = "same-person-" + std::to_string(i);
    s.respondent = spellings[i];
    IngestResult stored = ingest_.SubmitOne(s, Api(key_));
    ASSERT_EQ(stored.code, IngestCode::kStored) << stored.message;
    EXPECT_EQ(store_.rows.back().respondent_key, sms_key) << "web respondent '" << spellings[i] << "'";
  }

  Submission partner_id = Valid();
  partner_id.idempotency_key = "partner-id";
  partner_id.respondent = "caller-0042";
  ASSERT_EQ(ingest_.SubmitOne(partner_id, Api(key_)).code, IngestCode::kStored);
  EXPECT_NE(store_.rows.back().respondent_key, keyer->KeyFor("caller-0042"))
      << "a partner's own id is not an identity of another channel";
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

// Issue #13 "repeated web submissions": without the device cookie a person could submit again and
// again. Invitation-only surveys and a per-town cap bound it; refusals are counted.
class IngestBoundsTest : public IngestTest {
 protected:
  IngestBoundsTest() : tally_(counters_, std::chrono::hours(1)) {}
  // A service with other options over the same store and access.
  std::unique_ptr<IngestService> Service(IngestOptions options) {
    auto service =
        std::make_unique<IngestService>(Surveys(), Areas(), access_, writer_, hasher_, std::move(options));
    service->set_rejection_tally(&tally_);
    service->set_town_counts(&town_counts_);
    return service;
  }
  static Submitter Page(const std::string& device) {
    Submitter page;
    page.device_id = device;
    return page;
  }
  std::int64_t Counted(const std::string& key) {
    EXPECT_TRUE(tally_.Flush().ok());
    std::lock_guard<std::mutex> lock(counters_.mu);
    return counters_.totals[key];
  }

  MemoryCounters counters_;
  RejectionTally tally_;
  FakeTownCounts town_counts_;
};

TEST_F(IngestBoundsTest, InvitationOnlySurveyRefusesPageSubmissionsWithoutAToken) {
  IngestOptions options = Options();
  options.invitation_only = {"jiangsu-safety"};
  std::unique_ptr<IngestService> service = Service(options);
  IngestService& ingest = *service;
  EXPECT_TRUE(ingest.InvitationOnly("jiangsu-safety"));

  IngestResult refused = ingest.SubmitOne(Valid(), Page("device-a"));
  EXPECT_EQ(refused.code, IngestCode::kInvitationRequired);
  EXPECT_EQ(refused.HttpStatus(), 403);
  EXPECT_EQ(refused.CodeName(), "invitation_required");
  EXPECT_NE(refused.message.find("invited respondents only"), std::string::npos) << refused.message;
  EXPECT_TRUE(store_.rows.empty());
  EXPECT_EQ(Counted("web/invitation_required/jiangsu-safety/2025/320812007"), 1);

  auto invitations = MakeInvitations("jiangsu-safety", "320812007", 1, 1);
  ASSERT_TRUE(access_.AddInvitationTokens({invitations[0].record}).ok());
  Submission invited = Valid();
  invited.token = invitations[0].token;
  EXPECT_EQ(ingest.SubmitOne(invited, Page("device-a")).code, IngestCode::kStored);
  // Partners authenticate with their API key and are not affected.
  EXPECT_EQ(ingest.SubmitOne(Valid(), Api(key_)).code, IngestCode::kStored);
  // Other surveys stay open; an unknown survey id in the setting is an error naming it.
  EXPECT_FALSE(ingest.InvitationOnly("other-survey"));
  EXPECT_EQ(ParseSurveyList("jiangsu-safety, nope", Surveys()).status().code(), StatusCode::kInvalidInput);
  EXPECT_EQ(ParseSurveyList(" jiangsu-safety ,", Surveys())->count("jiangsu-safety"), 1u);
}

TEST_F(IngestBoundsTest, TownCapRefusesFurtherWebResponsesWithA429AndCountsThem) {
  IngestOptions options = Options();
  options.max_web_per_town = 3;
  std::unique_ptr<IngestService> service = Service(options);
  IngestService& ingest = *service;
  town_counts_.web[{"jiangsu-safety", "320812007", Period{2025, 0}}] = 1;   // stored before this process
  town_counts_.web[{"jiangsu-safety", "320812007", Period{2024, 0}}] = 50;  // another period: not counted

  Submission s = Valid();
  EXPECT_EQ(ingest.SubmitOne(s, Page("device-1")).code, IngestCode::kStored);
  EXPECT_EQ(ingest.SubmitOne(s, Page("device-2")).code, IngestCode::kStored);
  IngestResult capped = ingest.SubmitOne(s, Page("device-3"));  // a cleared cookie: a new device
  EXPECT_EQ(capped.code, IngestCode::kTownCapReached);
  EXPECT_EQ(capped.HttpStatus(), 429);
  EXPECT_EQ(capped.CodeName(), "town_cap");
  EXPECT_NE(capped.message.find("town 320812007 has reached its cap of 3 web responses for 2025"),
            std::string::npos)
      << capped.message;
  EXPECT_EQ(ingest.SubmitOne(s, Api(key_)).code, IngestCode::kTownCapReached);  // the JSON API too
  EXPECT_EQ(store_.rows.size(), 2u);
  EXPECT_EQ(Counted("web/town_cap/jiangsu-safety/2025/320812007"), 1);
  EXPECT_EQ(Counted("api/town_cap/jiangsu-safety/2025/320812007"), 1);
  EXPECT_EQ(town_counts_.calls, 1);  // the store is read once per town and period

  // A retry of a stored response is still its duplicate, not refused.
  access_.used[ingest.DeviceSourceRef("device-1", "jiangsu-safety", Period{2025, 0})] = 1;
  EXPECT_EQ(ingest.SubmitOne(s, Page("device-1")).code, IngestCode::kDuplicate);
  // Invited respondents are not capped; other towns have their own count.
  auto invitations = MakeInvitations("jiangsu-safety", "320812007", 1, 1);
  ASSERT_TRUE(access_.AddInvitationTokens({invitations[0].record}).ok());
  Submission invited = Valid();
  invited.token = invitations[0].token;
  EXPECT_EQ(ingest.SubmitOne(invited, Page("device-4")).code, IngestCode::kStored);
  Submission elsewhere = Valid();
  elsewhere.town_code = "320812001";
  EXPECT_EQ(ingest.SubmitOne(elsewhere, Page("device-5")).code, IngestCode::kStored);
}

TEST_F(IngestBoundsTest, TownCapSlotsOfSubmissionsNotStoredAreGivenBack) {
  IngestOptions options = Options();
  options.max_web_per_town = 2;
  std::unique_ptr<IngestService> service = Service(options);
  IngestService& ingest = *service;
  Submission s = Valid();
  ASSERT_EQ(ingest.SubmitOne(s, Page("device-1")).code, IngestCode::kStored);
  // A duplicate and an invalid submission hold no slot once answered.
  ASSERT_EQ(ingest.SubmitOne(s, Page("device-1")).code, IngestCode::kDuplicate);
  Submission bad = Valid();
  bad.answers["security"] = {"x"};
  ASSERT_EQ(ingest.SubmitOne(bad, Page("device-2")).code, IngestCode::kInvalid);
  EXPECT_EQ(ingest.SubmitOne(s, Page("device-2")).code, IngestCode::kStored);
  EXPECT_EQ(ingest.SubmitOne(s, Page("device-3")).code, IngestCode::kTownCapReached);
  // A store that cannot be read refuses with 503, never silently.
  town_counts_.fail = true;
  Submission other = Valid();
  other.town_code = "320812001";
  EXPECT_EQ(ingest.SubmitOne(other, Page("device-4")).code, IngestCode::kUnavailable);
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
