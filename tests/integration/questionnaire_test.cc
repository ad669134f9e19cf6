// minyi import questionnaire and the questionnaire endpoints of minyi serve, end to end: real files,
// a real SQLite store, the real HTTP server.
#include <Poco/DigestEngine.h>
#include <Poco/File.h>
#include <Poco/SHA1Engine.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "tests/integration/minyi_process.h"
#include "tests/integration/web_http.h"

namespace minyi::testing {
namespace {

const std::string kFixtures = std::string(MINYI_SOURCE_DIR) + "/tests/fixtures/questionnaire/";
constexpr char kPushSecret[] = "integration-wjx-push-secret";
constexpr char kToken[] = "integration-txwj-token-0123456789";

std::string Read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Runs of spaces as one (db status pads its columns).
std::string Squash(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == ' ' && !out.empty() && out.back() == ' ') continue;
    out += c;
  }
  return out;
}

std::string Sha1Hex(const std::string& text) {
  Poco::SHA1Engine engine;
  engine.update(text);
  return Poco::DigestEngine::digestToHex(engine.digest());
}

class QuestionnaireCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Poco::File(dir_.File("surveys")).createDirectories();
    Poco::File(dir_.File("maps")).createDirectories();
    WriteFile(dir_.File("surveys/quest-test.json"), Read(kFixtures + "survey.json"));
    WriteFile(dir_.File("maps/wjx.json"),
              R"({"provider":"wjx","id":"5657754","survey":"quest-test","period":"2026","town_question":"4",
                  "county":"320812","questions":{"1":"security","2":"grid","3":"activities","5":"comment"}})");
    WriteFile(dir_.File("maps/txwj.json"),
              R"({"provider":"txwj","id":"5356056","survey":"quest-test","period":"2026","town":"320812004"})");
    global_ = {"-D", "store.sqlite.path=" + dir_.File("minyi.db"),
               "-D", "paths.surveys=" + dir_.File("surveys"),
               "-D", "collector.respondent_key_secret=integration-test-secret-0123456789",
               "-D", "aggregator.interval_ms=0",
               "-D", "dashboard.survey=quest-test"};
  }

  RunResult Minyi(std::vector<std::string> args) const {
    std::vector<std::string> all = global_;
    all.insert(all.end(), args.begin(), args.end());
    return RunMinyi(all);
  }

  RunResult ImportWjx(const std::string& file) const {
    return Minyi({"import", "questionnaire", kFixtures + file, "--survey", "quest-test", "--period", "2026",
                  "--town-column", "4", "--county", "320812", "--questionnaire-id", "5657754"});
  }

  TempDir dir_;
  std::vector<std::string> global_;
};

TEST_F(QuestionnaireCliTest, ImportingTwiceAddsNothingAndAnEditIsARevision) {
  const RunResult first = ImportWjx("wjx_text.xls");
  ASSERT_EQ(first.exit_code, 3) << first.err;  // two rows rejected, the rest stored
  EXPECT_NE(first.out.find("6 rows, 4 stored, 0 duplicates, 0 revised, 0 stale, 2 rejected"), std::string::npos)
      << first.out;
  EXPECT_NE(first.out.find("row 5 [wjx:5657754:4]"), std::string::npos) << first.out;

  const RunResult second = ImportWjx("wjx_text_gbk.csv");
  EXPECT_NE(second.out.find("gb18030"), std::string::npos) << second.out;
  EXPECT_NE(second.out.find("6 rows, 0 stored, 4 duplicates, 0 revised"), std::string::npos) << second.out;

  const RunResult edited = ImportWjx("wjx_text_edited.csv");
  EXPECT_NE(edited.out.find("7 rows, 1 stored, 3 duplicates, 1 revised"), std::string::npos) << edited.out;

  const RunResult status = Minyi({"db", "status"});
  ASSERT_EQ(status.exit_code, 0) << status.err;
  EXPECT_NE(Squash(status.out).find("quest-test 2026 wechat 5\n"), std::string::npos) << status.out;
}

TEST_F(QuestionnaireCliTest, DamagedFilesAndUsageErrors) {
  const RunResult truncated = ImportWjx("wjx_truncated.xls");
  EXPECT_EQ(truncated.exit_code, 1);
  EXPECT_NE(truncated.err.find(".xls"), std::string::npos) << truncated.err;
  const RunResult binary = ImportWjx("binary.dat");
  EXPECT_EQ(binary.exit_code, 1);
  EXPECT_NE(binary.err.find("binary"), std::string::npos) << binary.err;
  const RunResult both = Minyi({"import", "questionnaire", kFixtures + "txwj.csv", "--survey", "quest-test",
                                "--period", "2026", "--town", "320812004", "--town-column", "4"});
  EXPECT_EQ(both.exit_code, 2) << both.err;
  const RunResult txwj = Minyi({"import", "questionnaire", kFixtures + "txwj.xlsx", "--map", dir_.File("maps/txwj.json")});
  EXPECT_EQ(txwj.exit_code, 0) << txwj.err << txwj.out;
  EXPECT_NE(txwj.out.find("腾讯问卷 5356056): 3 rows, 3 stored"), std::string::npos) << txwj.out;
}

TEST_F(QuestionnaireCliTest, LiveEndpointsAuthenticateStoreReviseAndWithdraw) {
  std::vector<std::string> args = global_;
  args.insert(args.end(), {"-D", "questionnaire.map_dir=" + dir_.File("maps"), "-D",
                           std::string("questionnaire.wjx.push_secret=") + kPushSecret, "-D",
                           std::string("questionnaire.txwj.token=") + kToken, "-D", "questionnaire.max_body_bytes=4096"});
  ServerProcess server(args);
  ASSERT_TRUE(server.started()) << server.log();
  const std::map<std::string, std::string> json = {{"Content-Type", "application/json"}};

  auto wjx = [&](const std::string& index, const std::string& q1, const std::string& secret) {
    return R"({"activity":"5657754","index":")" + index +
           R"(","joinid":"101812480275","submittime":"2026-06-16 08:00:00","q1":")" + q1 +
           R"(","q2":"1","q3":"1,3","q4":"城南街道","sign":")" + Sha1Hex("5657754" + index + secret) + R"("})";
  };
  WebReply unsigned_push = HttpCall(server.port(), "POST", "/api/v1/questionnaire/wjx", wjx("1", "1", "wrong"), json);
  EXPECT_EQ(unsigned_push.status, 401) << unsigned_push.body;
  WebReply stored = HttpCall(server.port(), "POST", "/api/v1/questionnaire/wjx", wjx("1", "1", kPushSecret), json);
  EXPECT_EQ(stored.status, 200) << stored.body;
  EXPECT_NE(stored.body.find("\"stored\""), std::string::npos) << stored.body;
  WebReply again = HttpCall(server.port(), "POST", "/api/v1/questionnaire/wjx", wjx("1", "1", kPushSecret), json);
  EXPECT_NE(again.body.find("\"duplicate\""), std::string::npos) << again.body;
  WebReply bad = HttpCall(server.port(), "POST", "/api/v1/questionnaire/wjx", wjx("2", "很好", kPushSecret), json);
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.body.find("\"field\":\"q1\""), std::string::npos) << bad.body;
  WebReply large = HttpCall(server.port(), "POST", "/api/v1/questionnaire/wjx", std::string(5000, ' '), json);
  EXPECT_EQ(large.status, 413);

  auto txwj = [](const std::string& action, const std::string& security) {
    return R"({"id":"u1","object":"Answer","action":")" + action +
           R"(","payload":{"survey_id":5356056,"answer_id":7,"ended_at":"2026-06-20 11:58:39","answer":[{"id":"p1",
           "questions":[{"id":"q1","title":"总体来说，您觉得您所在的乡镇（街道）安全吗？","type":"radio",
           "options":[{"id":"o1","text":")" + security + R"("}]}]}]}})";
  };
  const std::string path = std::string("/api/v1/questionnaire/txwj/") + kToken;
  EXPECT_EQ(HttpCall(server.port(), "POST", "/api/v1/questionnaire/txwj/wrong-token-0123456789",
                     txwj("answer.create", "很安全"), json).status,
            401);
  EXPECT_NE(HttpCall(server.port(), "POST", path, txwj("answer.create", "很安全"), json).body.find("\"stored\""),
            std::string::npos);
  EXPECT_NE(HttpCall(server.port(), "POST", path, txwj("answer.update", "基本安全"), json).body.find("\"revised\""),
            std::string::npos);
  EXPECT_EQ(HttpCall(server.port(), "POST", "/api/v1/questionnaire/txwj/wrong-token-0123456789",
                     txwj("answer.delete", ""), json).status,
            401);
  WebReply withdrawn = HttpCall(server.port(), "POST", path, txwj("answer.delete", ""), json);
  EXPECT_NE(withdrawn.body.find("\"withdrawn\""), std::string::npos) << withdrawn.body;
  EXPECT_EQ(server.Stop(), 0) << server.log();

  // One answer is left: the 问卷星 push (the 腾讯问卷 one was withdrawn; the rejected push stored nothing).
  const RunResult status = Minyi({"db", "status"});
  EXPECT_NE(Squash(status.out).find("quest-test 2026 wechat 1\n"), std::string::npos) << status.out;
}

}  // namespace
}  // namespace minyi::testing
