// minyi import questionnaire, the questionnaire endpoints and the questionnaire upload of minyi serve,
// end to end: real files, a real SQLite store, the real HTTP server; the import runs through the
// dashboards' data-quality view.
#include <Poco/DigestEngine.h>
#include <Poco/File.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Path.h>
#include <Poco/SHA1Engine.h>
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "collector/questionnaire/xlsx_for_test.h"
#include "tests/integration/minyi_process.h"
#include "tests/integration/web_http.h"
#include "tests/support/proc_status.h"
#include "tests/support/under_asan.h"

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

// Decompression bombs (issue 13), built here: ~300 MiB of rows, and ~250 MiB of tiny shared strings
// (which, held as strings, took GiBs).
std::string SheetBomb() {
  namespace x = collector::questionnaire::testing;
  const std::string row = R"(<row><c t="inlineStr"><is><t>ok</t></is></c></row>)";
  return x::Zip({x::Sheet("", row, (300u << 20) / row.size())});
}
std::string SharedStringsBomb() {
  namespace x = collector::questionnaire::testing;
  return x::Zip({x::Strings("", "<si><t>x</t></si>", (250u << 20) / 17),
                 x::Sheet(R"(<row r="1"><c r="A1" t="s"><v>0</v></c></row>)")});
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
    WriteFile(
        dir_.File("maps/txwj.json"),
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
  EXPECT_NE(first.out.find("6 rows, 4 stored, 0 duplicates, 0 revised, 0 stale, 2 rejected"),
            std::string::npos)
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
  const RunResult txwj =
      Minyi({"import", "questionnaire", kFixtures + "txwj.xlsx", "--map", dir_.File("maps/txwj.json")});
  EXPECT_EQ(txwj.exit_code, 0) << txwj.err << txwj.out;
  EXPECT_NE(txwj.out.find("腾讯问卷 5356056): 3 rows, 3 stored"), std::string::npos) << txwj.out;
}

TEST_F(QuestionnaireCliTest, XlsxBombsAreRefusedNamingThePartAndLimitWithBoundedMemory) {
  struct Case {
    std::string bytes;
    std::vector<std::string> says;
  };
  const std::vector<Case> cases = {
      {SheetBomb(), {"xl/worksheets/sheet1.xml", "64 MiB", "resource exhausted"}},
      {SharedStringsBomb(), {"xl/sharedStrings.xml", "100 times", "invalid input"}},
  };
  for (const Case& c : cases) {
    const std::string path = dir_.File("bomb.xlsx");
    WriteFile(path, c.bytes);
    const RunResult r = Minyi({"import", "questionnaire", path, "--survey", "quest-test", "--period", "2026",
                               "--town", "320812004"});
    EXPECT_EQ(r.exit_code, 1) << r.out;  // the file as a whole is refused
    for (const std::string& part : c.says)
      EXPECT_NE(r.err.find(part), std::string::npos) << part << ": " << r.err;
  }
  // The largest child so far (each minyi run of this test): the bombs unpack to hundreds of MiB. Under
  // ASan the child also holds the shadow memory and up to 256 MiB of freed blocks in quarantine.
  rusage usage{};
  getrusage(RUSAGE_CHILDREN, &usage);
  EXPECT_LT(usage.ru_maxrss / 1024, MINYI_UNDER_ASAN ? 200 + 256 + 64 : 200) << "MiB";
  EXPECT_EQ(Squash(Minyi({"db", "status"}).out).find("quest-test 2026"), std::string::npos)
      << "nothing stored";
}

TEST_F(QuestionnaireCliTest, LiveEndpointsAuthenticateStoreReviseAndWithdraw) {
  std::vector<std::string> args = global_;
  args.insert(args.end(),
              {"-D", "questionnaire.map_dir=" + dir_.File("maps"), "-D",
               std::string("questionnaire.wjx.push_secret=") + kPushSecret, "-D",
               std::string("questionnaire.txwj.token=") + kToken, "-D", "questionnaire.max_body_bytes=4096"});
  ServerProcess server(args);
  ASSERT_TRUE(server.started()) << server.log();
  const std::map<std::string, std::string> json = {{"Content-Type", "application/json"}};

  auto wjx = [&](const std::string& index, const std::string& q1, const std::string& secret) {
    return R"({"activity":"5657754","index":")" + index +
           R"(","joinid":"101812480275","submittime":"2026-06-16 08:00:00","q1":")" + q1 +
           R"(","q2":"1","q3":"1,3","q4":"城南街道","sign":")" + Sha1Hex("5657754" + index + secret) +
           R"("})";
  };
  WebReply unsigned_push =
      HttpCall(server.port(), "POST", "/api/v1/questionnaire/wjx", wjx("1", "1", "wrong"), json);
  EXPECT_EQ(unsigned_push.status, 401) << unsigned_push.body;
  WebReply stored =
      HttpCall(server.port(), "POST", "/api/v1/questionnaire/wjx", wjx("1", "1", kPushSecret), json);
  EXPECT_EQ(stored.status, 200) << stored.body;
  EXPECT_NE(stored.body.find("\"stored\""), std::string::npos) << stored.body;
  WebReply again =
      HttpCall(server.port(), "POST", "/api/v1/questionnaire/wjx", wjx("1", "1", kPushSecret), json);
  EXPECT_NE(again.body.find("\"duplicate\""), std::string::npos) << again.body;
  WebReply bad =
      HttpCall(server.port(), "POST", "/api/v1/questionnaire/wjx", wjx("2", "很好", kPushSecret), json);
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.body.find("\"field\":\"q1\""), std::string::npos) << bad.body;
  WebReply large = HttpCall(server.port(), "POST", "/api/v1/questionnaire/wjx", std::string(5000, ' '), json);
  EXPECT_EQ(large.status, 413);

  auto txwj = [](const std::string& action, const std::string& security) {
    return R"({"id":"u1","object":"Answer","action":")" + action +
           R"(","payload":{"survey_id":5356056,"answer_id":7,"ended_at":"2026-06-20 11:58:39","answer":[{"id":"p1",
           "questions":[{"id":"q1","title":"总体来说，您觉得您所在的乡镇（街道）安全吗？","type":"radio",
           "options":[{"id":"o1","text":")" +
           security + R"("}]}]}]}})";
  };
  const std::string path = std::string("/api/v1/questionnaire/txwj/") + kToken;
  EXPECT_EQ(HttpCall(server.port(), "POST", "/api/v1/questionnaire/txwj/wrong-token-0123456789",
                     txwj("answer.create", "很安全"), json)
                .status,
            401);
  EXPECT_NE(
      HttpCall(server.port(), "POST", path, txwj("answer.create", "很安全"), json).body.find("\"stored\""),
      std::string::npos);
  EXPECT_NE(
      HttpCall(server.port(), "POST", path, txwj("answer.update", "基本安全"), json).body.find("\"revised\""),
      std::string::npos);
  EXPECT_EQ(HttpCall(server.port(), "POST", "/api/v1/questionnaire/txwj/wrong-token-0123456789",
                     txwj("answer.delete", ""), json)
                .status,
            401);
  WebReply withdrawn = HttpCall(server.port(), "POST", path, txwj("answer.delete", ""), json);
  EXPECT_NE(withdrawn.body.find("\"withdrawn\""), std::string::npos) << withdrawn.body;
  EXPECT_EQ(server.Stop(), 0) << server.log();

  // One answer is left: the 问卷星 push (the 腾讯问卷 one was withdrawn; the rejected push stored nothing).
  const RunResult status = Minyi({"db", "status"});
  EXPECT_NE(Squash(status.out).find("quest-test 2026 wechat 1\n"), std::string::npos) << status.out;
}

// One `minyi serve` per upload test suite (POST /api/v1/imports/wechat): the quest-test survey and
// `more_surveys` (paths), `maps` (file name, JSON) in questionnaire.map_dir, and `users` (`minyi user
// add` arguments, the password TestPassword(name)).
class UploadServerTest : public ::testing::Test {
 protected:
  static void StartServer(const std::vector<std::pair<std::string, std::string>>& maps,
                          const std::vector<std::vector<std::string>>& users,
                          const std::vector<std::string>& more_surveys = {}) {
    dir_ = new TempDir();
    Poco::File(dir_->File("surveys")).createDirectories();
    Poco::File(dir_->File("maps")).createDirectories();
    WriteFile(dir_->File("surveys/quest-test.json"), Read(kFixtures + "survey.json"));
    for (const std::string& path : more_surveys) {
      WriteFile(dir_->File("surveys/" + Poco::Path(path).getFileName()), Read(path));
    }
    for (const auto& [name, json] : maps) WriteFile(dir_->File("maps/" + name), json);
    global_ = {"-D", "store.sqlite.path=" + dir_->File("minyi.db"),
               "-D", "paths.surveys=" + dir_->File("surveys"),
               "-D", "collector.respondent_key_secret=integration-test-secret-0123456789",
               "-D", "aggregator.interval_ms=0",
               "-D", "dashboard.survey=quest-test",
               "-D", "questionnaire.map_dir=" + dir_->File("maps")};
    for (const auto& u : users) {
      const RunResult r = AddUser(global_, u, TestPassword(u[0]));
      EXPECT_EQ(r.exit_code, 0) << r.err;
    }
    server_ = new ServerProcess(global_);
  }
  static void StopServer() {
    delete server_;
    server_ = nullptr;
    delete dir_;
    dir_ = nullptr;
  }
  static void TearDownTestSuite() { StopServer(); }
  static SignedIn LogIn(const std::string& user) {
    SignedIn login = SignIn(server_->port(), user, TestPassword(user));
    EXPECT_FALSE(login.cookie.empty() || login.csrf.empty()) << user << " could not sign in";
    return login;
  }
  static Poco::JSON::Object::Ptr Json(const std::string& body) {
    Poco::JSON::Parser parser;
    return parser.parse(body).extract<Poco::JSON::Object::Ptr>();
  }

  static inline TempDir* dir_ = nullptr;
  static inline ServerProcess* server_ = nullptr;
  static inline std::vector<std::string> global_;
};

// The upload of serve given questionnaire exports: the maps of the CLI test above in
// questionnaire.map_dir, grid workers of two towns and a county official.
class QuestionnaireUploadTest : public UploadServerTest {
 protected:
  static void SetUpTestSuite() {
    StartServer(
        {{"wjx.json",
          R"({"provider":"wjx","id":"5657754","survey":"quest-test","period":"2026","town_question":"4",
                  "county":"320812","questions":{"1":"security","2":"grid","3":"activities","5":"comment"}})"},
         {"txwj.json",
          R"({"provider":"txwj","id":"5356056","survey":"quest-test","period":"2026","town":"320812004"})"}},
        {{"grid4", "--role", "grid_worker", "--area", "320812004"},
         {"grid1", "--role", "grid_worker", "--area", "320812001"},
         {"county1", "--role", "official", "--area", "320812"},
         {"county2", "--role", "official", "--area", "320803"}});
  }

  using Login = SignedIn;
  static WebReply Upload(const Login& who, const std::string& town, const std::string& file,
                         const std::string& extra = "") {
    return UploadBytes(who, town, file, Read(kFixtures + file), extra);
  }
  static WebReply UploadBytes(const Login& who, const std::string& town, const std::string& name,
                              const std::string& bytes, const std::string& extra = "") {
    return HttpCall(
        server_->port(), "POST",
        "/api/v1/imports/wechat?survey=quest-test&period=2026&town=" + town + "&name=" + name + extra, bytes,
        {{"Cookie", who.cookie}, {"X-CSRF-Token", who.csrf}, {"Content-Type", "application/octet-stream"}});
  }
  // The import runs the data-quality view lists for `area` (runs with rejected rows), newest first.
  static Poco::JSON::Array::Ptr Runs(const std::string& area) {
    const WebReply r = HttpCall(server_->port(), "GET", "/api/v1/quality?area=" + area + "&period=2026", "",
                                {{"Cookie", LogIn("county1").cookie}, {"Accept", "application/json"}});
    EXPECT_EQ(r.status, 200) << r.body;
    return r.status == 200 ? Json(r.body)->getArray("imports")
                           : Poco::JSON::Array::Ptr(new Poco::JSON::Array);
  }
};

TEST_F(QuestionnaireUploadTest, GridWorkerUploadsCsvAndXlsxIntoItsTownTwiceAddsNothing) {
  ASSERT_TRUE(server_->started()) << server_->log();
  const Login grid = LogIn("grid4");
  // 问卷星 CSV: the map of questionnaire 5657754 names the questions; every row goes to the form's
  // town (the map's town column is not used); 序号 4 ('很好') is rejected, the other five are kept.
  const WebReply csv = Upload(grid, "320812004", "wjx_text.csv");
  ASSERT_EQ(csv.status, 200) << csv.body;
  auto report = Json(csv.body);
  EXPECT_EQ(report->getValue<std::string>("kind"), "questionnaire");
  EXPECT_EQ(report->getValue<std::string>("provider"), "wjx");
  EXPECT_EQ(report->getValue<std::string>("questionnaire_id"), "5657754");
  EXPECT_EQ(report->getValue<std::string>("file"), "wjx_text.csv");
  EXPECT_EQ(report->getValue<int>("rows"), 6);
  EXPECT_EQ(report->getValue<int>("stored"), 5);
  EXPECT_EQ(report->getValue<int>("duplicates"), 0);
  EXPECT_EQ(report->getValue<int>("revisions"), 0);
  EXPECT_EQ(report->getValue<int>("rejected"), 1);
  auto issues = report->getArray("issues");
  ASSERT_EQ(issues->size(), 1u) << csv.body;
  EXPECT_EQ(issues->getObject(0)->getValue<int>("row"), 5);
  EXPECT_EQ(issues->getObject(0)->getValue<std::string>("ref"), "wjx:5657754:4");
  EXPECT_NE(issues->getObject(0)->getValue<std::string>("reason").find("'很好' is not an option of security"),
            std::string::npos);

  const WebReply again = Upload(grid, "320812004", "wjx_text.csv");
  ASSERT_EQ(again.status, 200) << again.body;
  report = Json(again.body);
  EXPECT_EQ(report->getValue<int>("stored"), 0);
  EXPECT_EQ(report->getValue<int>("duplicates"), 5);
  EXPECT_EQ(report->getValue<int>("rejected"), 1);

  // 腾讯问卷 .xlsx: the provider is read from the header, so the 腾讯问卷 map is the one that fits.
  const WebReply xlsx = Upload(grid, "320812004", "txwj.xlsx");
  ASSERT_EQ(xlsx.status, 200) << xlsx.body;
  report = Json(xlsx.body);
  EXPECT_EQ(report->getValue<std::string>("format"), "xlsx");
  EXPECT_EQ(report->getValue<std::string>("provider"), "txwj");
  EXPECT_EQ(report->getValue<std::string>("questionnaire_id"), "5356056");
  EXPECT_EQ(report->getValue<int>("stored"), 3);
  EXPECT_EQ(report->getValue<int>("rejected"), 0);
  EXPECT_EQ(Json(Upload(grid, "320812004", "txwj.xlsx").body)->getValue<int>("duplicates"), 3);

  // Each upload is an import run by the signed-in user; the view lists those with rejected rows.
  auto runs = Runs("320812004");
  ASSERT_EQ(runs->size(), 2u) << "the two wjx_text.csv uploads";
  auto run = runs->getObject(0);  // newest first: the second upload
  EXPECT_EQ(run->getValue<std::string>("command"), "upload questionnaire");
  EXPECT_EQ(run->getValue<std::string>("actor"), "grid4");
  EXPECT_EQ(run->getValue<std::string>("file"), "wjx_text.csv");
  EXPECT_EQ(run->getValue<std::string>("survey"), "quest-test");
  EXPECT_EQ(run->getObject("area")->getValue<std::string>("code"), "320812004");
  EXPECT_EQ(run->getValue<int>("read"), 6);
  EXPECT_EQ(run->getValue<int>("stored"), 0);
  EXPECT_EQ(run->getValue<int>("duplicates"), 5);
  EXPECT_EQ(run->getValue<int>("rejected"), 1);
  EXPECT_EQ(runs->getObject(1)->getValue<int>("stored"), 5);
}

// Regression (issue 13): an official of another county uploading the same 问卷星 export (same
// questionnaire, same 序号) revised the answers first stored for a town of 清江浦区 and moved them into
// the uploader's town. An answer's identity names its town now: each county keeps its own.
TEST_F(QuestionnaireUploadTest, AnotherCountysUploadOfTheSameExportNeverMovesTheFirstOnesAnswers) {
  ASSERT_TRUE(server_->started()) << server_->log();
  const Login a = LogIn("county1");
  const Login b = LogIn("county2");
  const WebReply first = Upload(a, "320812009", "wjx_text.csv");
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(Json(first.body)->getValue<int>("stored"), 5) << first.body;

  const WebReply second = Upload(b, "320803101", "wjx_text.csv");
  ASSERT_EQ(second.status, 200) << second.body;
  EXPECT_EQ(Json(second.body)->getValue<int>("stored"), 5) << second.body;
  EXPECT_EQ(Json(second.body)->getValue<int>("revisions"), 0) << second.body;
  EXPECT_EQ(ChannelCount(server_->port(), a, "320812009", "2026", "wechat"), 5);
  EXPECT_EQ(ChannelCount(server_->port(), b, "320803101", "2026", "wechat"), 5);

  // The same export into the same town again adds nothing.
  const WebReply again = Upload(a, "320812009", "wjx_text.csv");
  ASSERT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(Json(again.body)->getValue<int>("stored"), 0) << again.body;
  EXPECT_EQ(Json(again.body)->getValue<int>("duplicates"), 5) << again.body;
}

// Regression (issue 13): two unrelated exports with the same header and no questionnaire id (both read
// with the survey's one 问卷星 map) uploaded into towns of two counties collided on their 序号.
TEST_F(QuestionnaireUploadTest, UnrelatedExportsWithoutIdIntoTwoTownsDoNotCollide) {
  ASSERT_TRUE(server_->started()) << server_->log();
  const std::string header =
      "序号,提交答卷时间,所用时间,来源,来源详情,来自IP,1、总体来说，您觉得您所在的乡镇（街道）安全吗？\n";
  const WebReply first = UploadBytes(LogIn("county1"), "320812010", "a.csv",
                                     header + "1,2026-06-16 08:00:00,35秒,微信,N/A,,很安全\n");
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(Json(first.body)->getValue<int>("stored"), 1) << first.body;
  const WebReply second = UploadBytes(LogIn("county2"), "320803104", "b.csv",
                                      header + "1,2026-07-01 10:00:00,20秒,微信,N/A,,说不清\n");
  ASSERT_EQ(second.status, 200) << second.body;
  EXPECT_EQ(Json(second.body)->getValue<int>("stored"), 1) << second.body;
  EXPECT_EQ(Json(second.body)->getValue<int>("revisions"), 0) << second.body;
  EXPECT_EQ(ChannelCount(server_->port(), LogIn("county1"), "320812010", "2026", "wechat"), 1);
  EXPECT_EQ(ChannelCount(server_->port(), LogIn("county2"), "320803104", "2026", "wechat"), 1);
}

TEST_F(QuestionnaireUploadTest, OtherTownsAndAnonymousCallersAreRefused) {
  ASSERT_TRUE(server_->started()) << server_->log();
  const WebReply other = Upload(LogIn("grid1"), "320812004", "wjx_text.csv");
  EXPECT_EQ(other.status, 403) << other.body;
  const WebReply anonymous = Upload(Login{}, "320812004", "wjx_text.csv");
  EXPECT_EQ(anonymous.status, 401) << anonymous.body;
}

TEST_F(QuestionnaireUploadTest, XlsxBombsAre413Or422WithBoundedMemory) {
  ASSERT_TRUE(server_->started()) << server_->log();
  const Login grid = LogIn("grid4");
  const WebReply size = UploadBytes(grid, "320812004", "bomb.xlsx", SheetBomb());
  EXPECT_EQ(size.status, 413) << size.body;
  EXPECT_NE(size.body.find("\"code\":\"too_large\""), std::string::npos) << size.body;
  EXPECT_NE(size.body.find("xl/worksheets/sheet1.xml"), std::string::npos) << size.body;
  EXPECT_NE(size.body.find("64 MiB"), std::string::npos) << size.body;
  const WebReply ratio = UploadBytes(grid, "320812004", "strings.xlsx", SharedStringsBomb());
  EXPECT_EQ(ratio.status, 422) << ratio.body;
  EXPECT_NE(ratio.body.find("xl/sharedStrings.xml"), std::string::npos) << ratio.body;
  EXPECT_NE(ratio.body.find("100 times"), std::string::npos) << ratio.body;
  EXPECT_LT(ProcStatusKib("VmHWM", std::to_string(server_->pid())) / 1024, 256u)
      << "the server's peak RSS in MiB";
}

TEST_F(QuestionnaireUploadTest, BrokenFilesGetAClearErrorAndStoreNothing) {
  ASSERT_TRUE(server_->started()) << server_->log();
  const Login county = LogIn("county1");
  const WebReply truncated = Upload(county, "320812006", "wjx_truncated.xls");
  EXPECT_EQ(truncated.status, 422) << truncated.body;
  EXPECT_NE(truncated.body.find("\"code\":\"unusable_questionnaire\""), std::string::npos) << truncated.body;
  EXPECT_NE(truncated.body.find(".xls"), std::string::npos) << truncated.body;
  EXPECT_EQ(truncated.body.find("minyi-upload-"), std::string::npos) << "the temporary file is not named";
  const WebReply xlsx = Upload(county, "320812006", "txwj_truncated.xlsx");
  EXPECT_EQ(xlsx.status, 422) << xlsx.body;
  EXPECT_NE(xlsx.body.find(".xlsx"), std::string::npos) << xlsx.body;
  // Not a questionnaire, and the survey is asked through questionnaires only.
  const WebReply binary = Upload(county, "320812006", "binary.dat");
  EXPECT_EQ(binary.status, 422) << binary.body;
  EXPECT_NE(binary.body.find("not a 问卷星/腾讯问卷 export"), std::string::npos) << binary.body;
  // A questionnaire no map covers (no map has this id) whose titles name no survey question.
  const WebReply unknown = UploadBytes(
      county, "320812006", "other.csv",
      "序号,提交答卷时间,所用时间,1、您家有几口人？\n1,2026-06-16 08:00:00,10秒,3\n", "&questionnaire=999");
  EXPECT_EQ(unknown.status, 422) << unknown.body;
  EXPECT_NE(unknown.body.find("questionnaire.map_dir"), std::string::npos) << unknown.body;
  // Without a map for the id given, the titles are matched (and the id names the slots).
  const WebReply titles = Upload(county, "320812006", "txwj.csv", "&questionnaire=777");
  ASSERT_EQ(titles.status, 200) << titles.body;
  EXPECT_EQ(Json(titles.body)->getValue<std::string>("questionnaire_id"), "777");
  EXPECT_EQ(Json(titles.body)->getValue<int>("stored"), 3);
}

// `minyi import questionnaire` records one run per file, read through the same view (the command
// writes into the database the server reads).
TEST_F(QuestionnaireUploadTest, CliImportsAreImportRunsToo) {
  ASSERT_TRUE(server_->started()) << server_->log();
  std::vector<std::string> args = global_;
  args.insert(args.end(), {"import", "questionnaire", kFixtures + "wjx_text.xls", "--survey", "quest-test",
                           "--period", "2026", "--town", "320812005", "--questionnaire-id", "cli-5657754"});
  const RunResult imported = RunMinyi(args);
  EXPECT_EQ(imported.exit_code, 3) << imported.out << imported.err;
  auto runs = Runs("320812005");
  ASSERT_EQ(runs->size(), 1u);
  auto run = runs->getObject(0);
  EXPECT_EQ(run->getValue<std::string>("command"), "import questionnaire");
  EXPECT_EQ(run->getValue<std::string>("file"), "wjx_text.xls");
  EXPECT_FALSE(run->getValue<std::string>("actor").empty());
  EXPECT_EQ(run->getValue<int>("read"), 6);
  EXPECT_EQ(run->getValue<int>("stored"), 5);
  EXPECT_EQ(run->getValue<int>("rejected"), 1);
}

// A county-wide 问卷星 export (a city-wide map: its town column is looked up in 淮安市 3208) uploaded
// with area=CODE: each row's town comes from the file, and rows outside the area or the caller's
// scope are rejected one by one with their row numbers.
// A server and store of its own for each test: every test counts the rows it stored.
class QuestionnaireAreaUploadTest : public UploadServerTest {
 protected:
  void SetUp() override {
    StartServer(
        {{"wjx_city.json",
          R"({"provider":"wjx","id":"7000001","survey":"quest-test","period":"2026","town_question":"4",
                  "county":"3208","questions":{"1":"security","2":"grid"}})"}},
        {{"grid4", "--role", "grid_worker", "--area", "320812004"},
         {"county1", "--role", "official", "--area", "320812"},
         {"city1", "--role", "official", "--area", "3208"},
         {"stat1", "--role", "statistician"}},
        {std::string(MINYI_SOURCE_DIR) + "/conf/surveys/jiangsu-safety.json"});
  }
  void TearDown() override { StopServer(); }

  // Rows of 城南街道 and 闸口街道 (清江浦区 320812), 河下街道 (淮安区 320803) and an unknown town.
  static std::string CountyExport() {
    return "序号,提交答卷时间,所用时间,1、总体来说，您觉得您所在的乡镇（街道）安全吗？,"
           "2、您对所在网格的网格员工作满意吗？,4、您所在的镇街是？\n"
           "1,2026-06-16 08:00:00,35秒,很安全,满意,城南街道\n"
           "2,2026-06-16 08:05:00,41秒,安全,比较满意,闸口街道\n"
           "3,2026-06-16 09:00:00,20秒,很安全,满意,河下街道\n"
           "4,2026-06-16 09:30:00,18秒,安全,满意,不存在镇\n";
  }
  // POSTs `bytes` with `target` ("area=320812", "town=…") and the rest of the query.
  static WebReply Upload(const SignedIn& who, const std::string& target, const std::string& bytes,
                         const std::string& name = "county.csv",
                         const std::string& rest = "&survey=quest-test") {
    return HttpCall(
        server_->port(), "POST", "/api/v1/imports/wechat?period=2026&" + target + "&name=" + name + rest,
        bytes,
        {{"Cookie", who.cookie}, {"X-CSRF-Token", who.csrf}, {"Content-Type", "application/octet-stream"}});
  }
  // The rejected rows of a questionnaire report: row number → reason.
  static std::map<int, std::string> Issues(const Poco::JSON::Object::Ptr& report) {
    std::map<int, std::string> out;
    auto issues = report->getArray("issues");
    for (unsigned i = 0; i < issues->size(); ++i) {
      out[issues->getObject(i)->getValue<int>("row")] = issues->getObject(i)->getValue<std::string>("reason");
    }
    return out;
  }
};

TEST_F(QuestionnaireAreaUploadTest, CountyOfficialStoresTheRowsOfItsTownsAndRejectsAnotherCounty) {
  ASSERT_TRUE(server_->started()) << server_->log();
  const WebReply reply = Upload(LogIn("county1"), "area=320812", CountyExport());
  ASSERT_EQ(reply.status, 200) << reply.body;
  const auto report = Json(reply.body);
  EXPECT_EQ(report->getValue<std::string>("questionnaire_id"), "7000001");
  EXPECT_EQ(report->getValue<int>("rows"), 4);
  EXPECT_EQ(report->getValue<int>("stored"), 2);  // 城南街道 and 闸口街道
  EXPECT_EQ(report->getValue<int>("rejected"), 2);
  const auto issues = Issues(report);
  ASSERT_EQ(issues.size(), 2u) << reply.body;
  ASSERT_EQ(issues.count(4), 1u) << reply.body;  // 序号 3 is row 4 (the header is row 1)
  EXPECT_NE(issues.at(4).find("town 320803002"), std::string::npos) << issues.at(4);
  EXPECT_NE(issues.at(4).find("not inside the upload's area 320812"), std::string::npos) << issues.at(4);
  ASSERT_EQ(issues.count(5), 1u) << reply.body;
  EXPECT_NE(issues.at(5).find("不存在镇"), std::string::npos) << issues.at(5);

  // The run is the county's: its stored rows are in two of its towns.
  const WebReply quality = HttpCall(server_->port(), "GET", "/api/v1/quality?area=320812&period=2026", "",
                                    {{"Cookie", LogIn("county1").cookie}, {"Accept", "application/json"}});
  ASSERT_EQ(quality.status, 200) << quality.body;
  auto runs = Json(quality.body)->getArray("imports");
  ASSERT_EQ(runs->size(), 1u) << quality.body;
  auto run = runs->getObject(0);
  EXPECT_EQ(run->getValue<std::string>("command"), "upload questionnaire");
  EXPECT_EQ(run->getValue<std::string>("actor"), "county1");
  EXPECT_EQ(run->getObject("area")->getValue<std::string>("code"), "320812");
  EXPECT_EQ(run->getValue<int>("stored"), 2);
  EXPECT_EQ(run->getValue<int>("rejected"), 2);

  // The city's official may place the 淮安区 row too; the county's rows are already stored.
  const auto city = Json(Upload(LogIn("city1"), "area=3208", CountyExport()).body);
  EXPECT_EQ(city->getValue<int>("stored"), 1);
  EXPECT_EQ(city->getValue<int>("duplicates"), 2);
  EXPECT_EQ(city->getValue<int>("rejected"), 1);
}

TEST_F(QuestionnaireAreaUploadTest, GridWorkerKeepsToItsTownsAndOthersAreRefused) {
  ASSERT_TRUE(server_->started()) << server_->log();
  const SignedIn grid = LogIn("grid4");
  // An area holding none of the grid worker's towns: refused as a whole.
  const WebReply outside = Upload(grid, "area=320803", CountyExport());
  EXPECT_EQ(outside.status, 403) << outside.body;
  EXPECT_NE(outside.body.find("只能导入本人负责的乡镇"), std::string::npos) << outside.body;
  EXPECT_EQ(Upload(grid, "area=3201", CountyExport()).status, 403);
  // Its county: only the row of its own town is stored; 城南街道 is another grid's.
  const WebReply county = Upload(grid, "area=320812", CountyExport());
  ASSERT_EQ(county.status, 200) << county.body;
  const auto report = Json(county.body);
  EXPECT_EQ(report->getValue<int>("stored"), 1);
  EXPECT_EQ(report->getValue<int>("rejected"), 3);
  const auto issues = Issues(report);
  ASSERT_EQ(issues.count(2), 1u) << county.body;
  EXPECT_NE(issues.at(2).find("town 320812001"), std::string::npos) << issues.at(2);
  EXPECT_NE(issues.at(2).find("not one of your towns"), std::string::npos) << issues.at(2);

  // Another county for its official, statisticians anywhere, no CSRF token: refused.
  EXPECT_EQ(Upload(LogIn("county1"), "area=320803", CountyExport()).status, 403);
  EXPECT_EQ(Upload(LogIn("stat1"), "area=320812", CountyExport()).status, 403);
  const SignedIn county1 = LogIn("county1");
  const WebReply no_csrf =
      HttpCall(server_->port(), "POST", "/api/v1/imports/wechat?period=2026&area=320812&survey=quest-test",
               CountyExport(), {{"Cookie", county1.cookie}, {"Content-Type", "application/octet-stream"}});
  EXPECT_EQ(no_csrf.status, 403) << no_csrf.body;
}

TEST_F(QuestionnaireAreaUploadTest, AnAreaNeedsAQuestionnaireWithATownColumn) {
  ASSERT_TRUE(server_->started()) << server_->log();
  const SignedIn county = LogIn("county1");
  // Both, a town as the area, an unknown area: usage errors.
  EXPECT_EQ(Upload(county, "area=320812&town=320812004", CountyExport()).status, 400);
  EXPECT_EQ(Upload(county, "area=320812004", CountyExport()).status, 400);
  EXPECT_EQ(Upload(county, "area=329999", CountyExport()).status, 400);
  // A chat export names no town: it needs town=.
  const WebReply chat = Upload(county, "area=320812",
                               Read(std::string(MINYI_SOURCE_DIR) + "/tests/fixtures/wechat/wechatmsg.csv"),
                               "wechatmsg.csv", "&survey=jiangsu-safety&grid_workers=wxid_grid01");
  EXPECT_EQ(chat.status, 400) << chat.body;
  EXPECT_NE(chat.body.find("town=CODE"), std::string::npos) << chat.body;
  // No map for this questionnaire: nothing names the town column.
  const WebReply unmapped =
      Upload(county, "area=320812", CountyExport(), "county.csv", "&survey=quest-test&questionnaire=999");
  EXPECT_EQ(unmapped.status, 422) << unmapped.body;
  EXPECT_NE(unmapped.body.find("town_question"), std::string::npos) << unmapped.body;
  // The same export into one town still puts every row there.
  const WebReply town = Upload(county, "town=320812004", CountyExport());
  ASSERT_EQ(town.status, 200) << town.body;
  EXPECT_EQ(Json(town.body)->getValue<int>("stored"), 4);
}

// Regression: a broken map in questionnaire.map_dir stopped serve although no live questionnaire
// endpoint needed it. Now serve starts and says so once; questionnaire uploads answer why they
// cannot be imported, chat uploads work. With a live endpoint configured serve still refuses to start.
class QuestionnaireBrokenMapDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Poco::File(dir_.File("surveys")).createDirectories();
    Poco::File(dir_.File("maps")).createDirectories();
    WriteFile(dir_.File("surveys/quest-test.json"), Read(kFixtures + "survey.json"));
    WriteFile(dir_.File("surveys/jiangsu-safety.json"),
              Read(std::string(MINYI_SOURCE_DIR) + "/conf/surveys/jiangsu-safety.json"));
    WriteFile(dir_.File("maps/broken.json"), R"({"provider":"wjx","id":"5657754","survey":)");
    global_ = {"-D", "store.sqlite.path=" + dir_.File("minyi.db"),
               "-D", "paths.surveys=" + dir_.File("surveys"),
               "-D", "collector.respondent_key_secret=integration-test-secret-0123456789",
               "-D", "aggregator.interval_ms=0",
               "-D", "questionnaire.map_dir=" + dir_.File("maps")};
  }

  TempDir dir_;
  std::vector<std::string> global_;
};

TEST_F(QuestionnaireBrokenMapDirTest, ServeStartsAndQuestionnaireUploadsSayWhy) {
  const RunResult added =
      AddUser(global_, {"grid4", "--role", "grid_worker", "--area", "320812004"}, TestPassword("grid4"));
  ASSERT_EQ(added.exit_code, 0) << added.err;
  ServerProcess server(global_);
  ASSERT_TRUE(server.started()) << server.log();
  const SignedIn grid = SignIn(server.port(), "grid4", TestPassword("grid4"));
  auto upload = [&](const std::string& query, const std::string& path) {
    return HttpCall(
        server.port(), "POST", "/api/v1/imports/wechat?period=2026&town=320812004&" + query, Read(path),
        {{"Cookie", grid.cookie}, {"X-CSRF-Token", grid.csrf}, {"Content-Type", "application/octet-stream"}});
  };
  const WebReply questionnaire = upload("survey=quest-test&name=wjx_text.csv", kFixtures + "wjx_text.csv");
  EXPECT_EQ(questionnaire.status, 503) << questionnaire.body;
  EXPECT_NE(questionnaire.body.find("\"code\":\"questionnaire_maps_unusable\""), std::string::npos)
      << questionnaire.body;
  EXPECT_NE(questionnaire.body.find("questionnaire.map_dir"), std::string::npos) << questionnaire.body;
  EXPECT_NE(questionnaire.body.find("broken.json"), std::string::npos) << questionnaire.body;
  EXPECT_NE(questionnaire.body.find("wjx_text.csv"), std::string::npos) << questionnaire.body;

  const WebReply chat = upload("survey=jiangsu-safety&grid_workers=wxid_grid01&name=wechatmsg.csv",
                               std::string(MINYI_SOURCE_DIR) + "/tests/fixtures/wechat/wechatmsg.csv");
  ASSERT_EQ(chat.status, 200) << chat.body;
  EXPECT_NE(chat.body.find("\"stored\":5"), std::string::npos) << chat.body;

  EXPECT_EQ(server.Stop(), 0) << server.log();
  // Warned once, at start, naming the key and the file.
  const std::string& log = server.log();
  const std::string warning = "questionnaire uploads are off";
  const std::size_t at = log.find(warning);
  ASSERT_NE(at, std::string::npos) << log;
  EXPECT_EQ(log.find(warning, at + 1), std::string::npos) << log;
  const std::string line = log.substr(at, log.find('\n', at) - at);
  EXPECT_NE(line.find("questionnaire.map_dir"), std::string::npos) << line;
  EXPECT_NE(line.find("broken.json"), std::string::npos) << line;
}

TEST_F(QuestionnaireBrokenMapDirTest, ALiveEndpointStillNeedsUsableMaps) {
  std::vector<std::string> args = global_;
  args.insert(args.end(), {"-D", std::string("questionnaire.wjx.push_secret=") + kPushSecret});
  ServerProcess server(args);
  ASSERT_FALSE(server.started()) << "serve started with an unusable map and a live endpoint";
  EXPECT_EQ(server.Stop(), 1);
  // The reason, as serve prints it (it exits at once, so running it to completion is safe here).
  args.insert(args.end(), {"-D", "http.port=0", "serve"});
  const RunResult serve = RunMinyi(args);
  EXPECT_EQ(serve.exit_code, 1);
  EXPECT_NE(serve.err.find("questionnaire.map_dir"), std::string::npos) << serve.err;
  EXPECT_NE(serve.err.find("broken.json"), std::string::npos) << serve.err;
}

}  // namespace
}  // namespace minyi::testing
