#include "collector/questionnaire/questionnaire_endpoints.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "collector/fake_reviser_for_test.h"

namespace minyi::collector::questionnaire {
namespace {

constexpr char kSecret[] = "wjx-push-secret";
constexpr char kToken[] = "txwj-path-token-0123456789";
constexpr char kPeer[] = "127.0.0.1";
constexpr char kWjxSlot[] = "wjx:5657754:17@320812001";  // the answer's slot in its town (城南街道)
constexpr char kTxwjSlot[] = "txwj:5356056:7@320812004";

class EndpointsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::ifstream in(std::string(MINYI_SOURCE_DIR) + "/tests/fixtures/questionnaire/survey.json");
    std::stringstream text;
    text << in.rdbuf();
    catalog_.Add(std::make_shared<SurveyDefinition>(ParseSurveyDefinition(text.str()).value()));
    auto areas = AreaRegistry::LoadDirectory(std::string(MINYI_SOURCE_DIR) + "/data");
    ASSERT_TRUE(areas.ok());
    areas_ = std::make_unique<AreaRegistry>(std::move(areas).value());
    keyer_ = std::make_unique<RespondentKeyer>(RespondentKeyer::Create("endpoint-test-secret-0123").value());
    EndpointOptions& options = options_;
    options.wjx_push_secret = kSecret;
    options.txwj_token = kToken;
    options.maps.push_back(ParseQuestionnaireMap(R"({"provider":"wjx","id":"5657754","survey":"quest-test",
        "period":"2026","town_question":"4","county":"320812",
        "questions":{"1":"security","2":"grid","3":"activities","5":"comment"}})")
                               .value());
    options.maps.push_back(ParseQuestionnaireMap(R"({"provider":"txwj","id":"5356056","survey":"quest-test",
        "town":"320812004","questions":{"q-1-abcd":"security"},"options":{"grid":{"o-2-x":"2"}}})")
                               .value());
    Make();
  }
  // (Re)creates the endpoints with options_.
  void Make() {
    endpoints_ = std::make_unique<QuestionnaireEndpoints>(catalog_, *areas_, *keyer_, reviser_, options_);
  }
  EndpointAnswer Push(const std::string& body) const { return endpoints_->HandleWjxPush(body, kPeer); }

  static std::string WjxBody(const std::string& index, const std::string& q1,
                             const std::string& sign_secret = kSecret) {
    return R"({"activity":"5657754","name":"问卷","timetaken":"35","submittime":"2026-06-16 08:00:00","index":")" +
           index + R"(","joinid":"101812480275","q1":")" + q1 +
           R"(","q2":"2","q3":"1,2","q4":"城南街道","q5":"路灯","sign":")" +
           WjxSign("5657754", index, sign_secret) + R"("})";
  }

  static std::string TxwjBody(const std::string& action, const std::string& answer_id,
                              const std::string& security) {
    return R"({"id":"33cc555f","object":"Answer","action":")" + action +
           R"(","created_at":"2026-06-20 14:00:00","payload":{"survey_id":5356056,"answer_id":)" + answer_id +
           R"(,"respondent_id":60000000001,"started_at":"2026-06-20 11:55:30","ended_at":"2026-06-20 11:58:39",
           "answer":[{"id":"p-1","questions":[
             {"id":"q-1-abcd","type":"radio","options":[{"id":"o-1","text":")" +
           security + R"(","checked":1}]},
             {"id":"q-2-efgh","title":"您对所在网格的网格员工作满意吗？","type":"radio","options":[{"id":"o-2-x","text":"还行"}]},
             {"id":"q-3","title":"您经常参加社区的哪些活动？","type":"checkbox","options":[
               {"id":"o-3-1","text":"运动","checked":1},{"id":"o-3-2","text":"读书","checked":0},{"id":"o-3-3","text":"广场舞"}]},
             {"id":"q-4","title":"您对平安建设还有什么意见建议？","type":"text","text":"多巡逻"}]}]}})";
  }

  SurveyCatalog catalog_;
  std::unique_ptr<AreaRegistry> areas_;
  std::unique_ptr<RespondentKeyer> keyer_;
  FakeReviser reviser_;
  EndpointOptions options_;
  std::unique_ptr<QuestionnaireEndpoints> endpoints_;
};

TEST_F(EndpointsTest, WjxSignIsSha1OfActivityIndexSecret) {
  // sha1("5657754" + "17" + "secret"), computed independently with `printf %s 565775417secret | sha1sum`.
  EXPECT_EQ(WjxSign("5657754", "17", "secret"), "ce6ca004aa1acfd2d132f9b29d134d1521ef40fc");
}

TEST_F(EndpointsTest, WjxPushStoredOnceThenDuplicateThenRevised) {
  EndpointAnswer a = Push(WjxBody("17", "很安全"));
  ASSERT_EQ(a.status, 200) << a.json;
  EXPECT_NE(a.json.find("\"status\":\"stored\""), std::string::npos);
  const auto current = reviser_.Current();
  ASSERT_EQ(current.count(kWjxSlot), 1u);
  const Response& r = current.at(kWjxSlot);
  EXPECT_EQ(r.town_code, "320812001");
  EXPECT_EQ(r.period.ToString(), "2026");
  EXPECT_EQ(r.answers.at("security"), std::vector<std::string>{"1"});
  EXPECT_EQ(r.answers.at("grid"), std::vector<std::string>{"2"});
  EXPECT_EQ(r.answers.at("activities"), (std::vector<std::string>{"sport", "reading"}));
  EXPECT_EQ(r.channel, Channel::kWechat);

  EXPECT_NE(Push(WjxBody("17", "很安全")).json.find("duplicate"), std::string::npos);
  options_.wjx_allow_revisions = true;  // questionnaire.wjx.allow_revisions
  Make();
  EXPECT_NE(Push(WjxBody("17", "3")).json.find("revised"), std::string::npos);
  EXPECT_EQ(reviser_.Current().at(kWjxSlot).answers.at("security"), std::vector<std::string>{"3"});
}

// Regression (issue 13): the sign covers activity, index and secret, not the answers, so a replay with
// other answers revised the response. By default a push never revises: 409, nothing changed; an
// identical replay is still a duplicate.
TEST_F(EndpointsTest, WjxReplayWithOtherAnswersIs409AndChangesNothing) {
  ASSERT_EQ(Push(WjxBody("17", "很安全")).status, 200);
  const EndpointAnswer replay = Push(WjxBody("17", "5"));
  EXPECT_EQ(replay.status, 409) << replay.json;
  EXPECT_NE(replay.json.find("\"code\":\"conflict\""), std::string::npos) << replay.json;
  EXPECT_NE(replay.json.find("questionnaire.wjx.allow_revisions"), std::string::npos) << replay.json;
  EXPECT_EQ(reviser_.Current().at(kWjxSlot).answers.at("security"), std::vector<std::string>{"1"});
  auto log = reviser_.RevisionLog(Channel::kWechat, kWjxSlot);
  ASSERT_TRUE(log.ok());
  EXPECT_TRUE(log->empty());
  const EndpointAnswer same = Push(WjxBody("17", "很安全"));
  EXPECT_EQ(same.status, 200) << same.json;
  EXPECT_NE(same.json.find("\"status\":\"duplicate\""), std::string::npos) << same.json;
}

// Regression (issue 13): the push was stored with its sign, a credential for that answer id.
TEST_F(EndpointsTest, WjxPushIsStoredWithoutItsSign) {
  const std::string body = WjxBody("17", "很安全");
  ASSERT_EQ(Push(body).status, 200);
  const std::string raw = reviser_.Current().at(kWjxSlot).raw_payload;
  EXPECT_EQ(raw.find("sign"), std::string::npos) << raw;
  EXPECT_EQ(raw.find(WjxSign("5657754", "17", kSecret)), std::string::npos) << raw;
  EXPECT_NE(raw.find("\"joinid\":\"101812480275\""), std::string::npos) << raw;
}

TEST_F(EndpointsTest, WjxPushFromOutsideTheAllowListIs401AndChangesNothing) {
  options_.wjx_allow_from = {"10.1.0.0/16", "192.0.2.7"};
  Make();
  EXPECT_EQ(endpoints_->HandleWjxPush(WjxBody("17", "很安全"), "127.0.0.1").status, 401);
  EXPECT_EQ(endpoints_->HandleWjxPush(WjxBody("17", "很安全"), "").status, 401);
  EXPECT_TRUE(reviser_.Current().empty());
  EXPECT_EQ(endpoints_->HandleWjxPush(WjxBody("17", "很安全"), "10.1.200.3").status, 200);
  EXPECT_EQ(endpoints_->HandleWjxPush(WjxBody("18", "很安全"), "::ffff:192.0.2.7").status, 200);
  EXPECT_EQ(reviser_.Current().size(), 2u);
}

TEST_F(EndpointsTest, WjxBadOrMissingSignIs401AndChangesNothing) {
  EXPECT_EQ(Push(WjxBody("17", "1", "another-secret")).status, 401);
  std::string unsigned_body = WjxBody("17", "1");
  unsigned_body.replace(unsigned_body.find("\"sign\":\""), 8, "\"nosign\":\"");
  EXPECT_EQ(Push(unsigned_body).status, 401);
  std::string tampered = WjxBody("17", "1");
  tampered.replace(tampered.find("\"index\":\"17\""), 12, "\"index\":\"18\"");
  EXPECT_EQ(Push(tampered).status, 401);
  EXPECT_EQ(Push("not json").status, 400);
  EXPECT_TRUE(reviser_.Current().empty());
}

TEST_F(EndpointsTest, WjxFieldErrorsAndUnknownQuestionnaire) {
  EndpointAnswer bad = Push(WjxBody("18", "很好"));
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.json.find("\"field\":\"q1\""), std::string::npos) << bad.json;
  const std::string other =
      R"({"activity":"999","index":"1","q1":"1","sign":")" + WjxSign("999", "1", kSecret) + "\"}";
  EXPECT_EQ(Push(other).status, 404);
  EXPECT_TRUE(reviser_.Current().empty());
}

TEST_F(EndpointsTest, TxwjCreateUpdateDelete) {
  EXPECT_EQ(endpoints_->HandleTxwjWebhook("wrong", TxwjBody("answer.create", "7", "很安全")).status, 401);
  EXPECT_TRUE(reviser_.Current().empty());

  EndpointAnswer created = endpoints_->HandleTxwjWebhook(kToken, TxwjBody("answer.create", "7", "很安全"));
  ASSERT_EQ(created.status, 200) << created.json;
  EXPECT_NE(created.json.find("stored"), std::string::npos);
  const Response r = reviser_.Current().at(kTxwjSlot);
  EXPECT_EQ(r.town_code, "320812004");
  EXPECT_EQ(r.answers.at("security"), std::vector<std::string>{"1"});
  EXPECT_EQ(r.answers.at("grid"), std::vector<std::string>{"2"});  // by option id from the map
  EXPECT_EQ(r.answers.at("activities"), (std::vector<std::string>{"sport", "dance"}));  // checked:0 skipped
  EXPECT_EQ(r.answers.at("comment"), std::vector<std::string>{"多巡逻"});
  EXPECT_EQ(FormatTimestampLocal(r.submitted_at_ms), "2026-06-20 11:58:39");

  EXPECT_NE(
      endpoints_->HandleTxwjWebhook(kToken, TxwjBody("answer.create", "7", "很安全")).json.find("duplicate"),
      std::string::npos);
  EXPECT_NE(
      endpoints_->HandleTxwjWebhook(kToken, TxwjBody("answer.update", "7", "不太安全")).json.find("revised"),
      std::string::npos);
  EXPECT_EQ(reviser_.Current().at(kTxwjSlot).answers.at("security"), std::vector<std::string>{"4"});

  EXPECT_EQ(endpoints_->HandleTxwjWebhook("wrong", TxwjBody("answer.delete", "7", "")).status, 401);
  EXPECT_EQ(reviser_.Current().size(), 1u);
  EXPECT_NE(
      endpoints_->HandleTxwjWebhook(kToken, TxwjBody("answer.delete", "7", "")).json.find("\"withdrawn\""),
      std::string::npos);
  EXPECT_TRUE(reviser_.Current().empty());
  EXPECT_NE(
      endpoints_->HandleTxwjWebhook(kToken, TxwjBody("answer.delete", "7", "")).json.find("already_gone"),
      std::string::npos);
  auto log = reviser_.RevisionLog(Channel::kWechat, kTxwjSlot);
  ASSERT_TRUE(log.ok());
  ASSERT_EQ(log->size(), 2u);
  EXPECT_EQ(log->back().action, "withdrawn");
}

TEST_F(EndpointsTest, TxwjTestEventAndFieldErrors) {
  EXPECT_NE(endpoints_->HandleTxwjWebhook(kToken, R"({"action":"webhook.test"})").json.find("ignored"),
            std::string::npos);
  EndpointAnswer missing =
      endpoints_->HandleTxwjWebhook(kToken, R"({"action":"answer.create","payload":{"survey_id":5356056}})");
  EXPECT_EQ(missing.status, 400);
  EXPECT_NE(missing.json.find("payload.answer_id"), std::string::npos);
  EndpointAnswer bad = endpoints_->HandleTxwjWebhook(kToken, TxwjBody("answer.create", "8", "还不错吧"));
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.json.find("payload.answer.questions[q-1-abcd]"), std::string::npos) << bad.json;
  EXPECT_TRUE(reviser_.Current().empty());
}

}  // namespace
}  // namespace minyi::collector::questionnaire
