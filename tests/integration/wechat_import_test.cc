// WeChat group exports end to end: `minyi import wechat` (twice: the second run adds nothing) and the
// authenticated upload through a real `minyi serve` (allowed and forbidden towns, CSRF, roles); both
// recorded as import runs, read through the dashboards' data-quality view.
#include <Poco/JSON/Parser.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "tests/integration/minyi_process.h"
#include "tests/integration/web_http.h"

namespace minyi::testing {
namespace {

const std::string kFixture = std::string(MINYI_SOURCE_DIR) + "/tests/fixtures/wechat/wechatmsg.csv";

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

struct Reply {
  int status = 0;
  std::string body;
  std::vector<std::string> cookies;
};

Reply Send(int port, const std::string& method, const std::string& path, const std::string& body,
           const std::map<std::string, std::string>& headers) {
  Poco::Net::HTTPClientSession session("127.0.0.1", static_cast<Poco::UInt16>(port));
  Poco::Net::HTTPRequest request(method, path, Poco::Net::HTTPMessage::HTTP_1_1);
  for (const auto& [k, v] : headers) request.set(k, v);
  if (method == "POST") request.setContentLength(static_cast<std::streamsize>(body.size()));
  session.sendRequest(request) << body;
  Poco::Net::HTTPResponse response;
  std::istream& in = session.receiveResponse(response);
  Reply reply;
  Poco::StreamCopier::copyToString(in, reply.body);
  reply.status = static_cast<int>(response.getStatus());
  for (const auto& [k, v] : response) {
    if (k == "Set-Cookie") reply.cookies.push_back(v);
  }
  return reply;
}

class WechatImportCliTest : public ::testing::Test {
 protected:
  TempDir dir_;
  std::vector<std::string> Global() const {
    return {"-D", "store.sqlite.path=" + dir_.File("minyi.db"),   "-D", "store.sqlite.synchronous=NORMAL",
            "-D", "collector.secret_file=" + dir_.File("secret"), "-D", "log.level=warn"};
  }
  RunResult Run(std::vector<std::string> args) const {
    std::vector<std::string> all = Global();
    all.insert(all.end(), args.begin(), args.end());
    return RunMinyi(all);
  }
};

TEST_F(WechatImportCliTest, ImportTwiceAddsNothingTheSecondTime) {
  const std::vector<std::string> args = {"import", "wechat",    kFixture,        "--period",   "2024",
                                         "--town", "320812007", "--grid-worker", "wxid_grid01"};
  RunResult first = Run(args);
  ASSERT_EQ(first.exit_code, 0) << first.out << first.err;
  EXPECT_NE(first.out.find("wechatmsg.csv: wechatmsg-csv, UTF-8 with BOM, 11 messages"), std::string::npos)
      << first.out;
  EXPECT_NE(first.out.find("prompts found: 1"), std::string::npos) << first.out;
  EXPECT_NE(first.out.find("responses: stored 5, duplicates 0, revisions 0"), std::string::npos) << first.out;
  EXPECT_NE(first.out.find("[ignored] an opt-out word"), std::string::npos) << first.out;

  RunResult second = Run(args);
  ASSERT_EQ(second.exit_code, 0) << second.out << second.err;
  EXPECT_NE(second.out.find("responses: stored 0, duplicates 5, revisions 0"), std::string::npos)
      << second.out;

  RunResult status = Run({"db", "status"});
  ASSERT_EQ(status.exit_code, 0) << status.err;
  EXPECT_NE(status.out.find("wechat"), std::string::npos) << status.out;
}

TEST_F(WechatImportCliTest, BadFilesAndUsage) {
  WriteFile(dir_.File("photo.png"), std::string("\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR", 16));
  RunResult binary = Run({"import", "wechat", dir_.File("photo.png"), kFixture, "--period", "2024", "--town",
                          "320812007", "--grid-worker", "wxid_grid01"});
  EXPECT_EQ(binary.exit_code, 3) << binary.out << binary.err;
  EXPECT_NE(binary.out.find("[file] binary data"), std::string::npos) << binary.out;
  EXPECT_NE(binary.out.find("responses: stored 5"), std::string::npos)
      << binary.out;  // the good file is kept

  RunResult both = Run({"import", "wechat", kFixture, "--period", "2024"});
  EXPECT_EQ(both.exit_code, 2) << both.err;
  EXPECT_NE(both.err.find("--town CODE or --group-map FILE"), std::string::npos);

  WriteFile(dir_.File("map.csv"), "group,town,grid_workers\n12345678@chatroom,320812001,wxid_grid01\n");
  RunResult mapped =
      Run({"import", "wechat", kFixture, "--period", "2025", "--group-map", dir_.File("map.csv")});
  EXPECT_EQ(mapped.exit_code, 0) << mapped.out << mapped.err;
  EXPECT_NE(mapped.out.find("responses: stored 5"), std::string::npos) << mapped.out;
}

class WechatUploadTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    global_ = {"-D", "store.sqlite.path=" + dir_->File("minyi.db"),
               "-D", "store.sqlite.synchronous=NORMAL",
               "-D", "collector.secret_file=" + dir_->File("secret"),
               "-D", "log.level=warn",
               "-D", "aggregator.interval_ms=0"};
    const std::vector<std::vector<std::string>> users = {
        {"grid1", "--role", "grid_worker", "--area", "320812001"},
        {"county1", "--role", "official", "--area", "320812"},
        {"county2", "--role", "official", "--area", "320803"},
        {"stat1", "--role", "statistician"},
    };
    for (const auto& u : users) {
      const RunResult r = AddUser(global_, u, TestPassword(u[0]));
      EXPECT_EQ(r.exit_code, 0) << r.err;
    }
    std::vector<std::string> serve = global_;
    serve.insert(serve.end(), {"-D", "http.port=0"});
    server_ = new ServerProcess(serve);
  }
  static void TearDownTestSuite() {
    delete server_;
    delete dir_;
  }

  using Login = SignedIn;
  static Login LogIn(const std::string& user) {
    Login login = SignIn(server_->port(), user, TestPassword(user));
    EXPECT_FALSE(login.cookie.empty() || login.csrf.empty()) << user << " could not sign in";
    return login;
  }
  static Reply UploadFile(const Login& who, const std::string& town, const std::string& file,
                          const std::string& grid_workers) {
    return Send(
        server_->port(), "POST",
        "/api/v1/imports/wechat?survey=jiangsu-safety&period=2024&town=" + town +
            "&grid_workers=" + grid_workers + "&name=" + file,
        ReadFile(std::string(MINYI_SOURCE_DIR) + "/tests/fixtures/wechat/" + file),
        {{"Cookie", who.cookie}, {"X-CSRF-Token", who.csrf}, {"Content-Type", "application/octet-stream"}});
  }
  // The import runs the data-quality view lists for `area` (runs with rejected rows), newest first.
  static Poco::JSON::Array::Ptr Runs(const std::string& area) {
    Reply r = Send(server_->port(), "GET", "/api/v1/quality?area=" + area + "&period=2024", "",
                   {{"Cookie", LogIn("county1").cookie}, {"Accept", "application/json"}});
    EXPECT_EQ(r.status, 200) << r.body;
    if (r.status != 200) return new Poco::JSON::Array;
    Poco::JSON::Parser parser;
    return parser.parse(r.body).extract<Poco::JSON::Object::Ptr>()->getArray("imports");
  }
  static Reply Upload(const Login& who, const std::string& town, bool with_csrf = true) {
    std::map<std::string, std::string> headers = {{"Cookie", who.cookie},
                                                  {"Content-Type", "application/octet-stream"}};
    if (with_csrf) headers["X-CSRF-Token"] = who.csrf;
    return Send(server_->port(), "POST",
                "/api/v1/imports/wechat?survey=jiangsu-safety&period=2024&town=" + town +
                    "&grid_workers=wxid_grid01&name=wechatmsg.csv",
                ReadFile(kFixture), headers);
  }

  // `bytes` uploaded by `who` into `town` (jiangsu-safety, 2024) with the query's `extra` parameters.
  static Reply UploadBytes(const Login& who, const std::string& town, const std::string& bytes,
                           const std::string& extra) {
    return Send(
        server_->port(), "POST",
        "/api/v1/imports/wechat?survey=jiangsu-safety&period=2024&town=" + town + extra, bytes,
        {{"Cookie", who.cookie}, {"X-CSRF-Token", who.csrf}, {"Content-Type", "application/octet-stream"}});
  }
  static int WechatResponses(const Login& who, const std::string& town) {
    return ChannelCount(server_->port(), who, town, "2024", "wechat");
  }
  static int Field(const Reply& reply, const std::string& name) {
    Poco::JSON::Parser parser;
    return parser.parse(reply.body).extract<Poco::JSON::Object::Ptr>()->getValue<int>(name);
  }

  static inline TempDir* dir_ = nullptr;
  static inline ServerProcess* server_ = nullptr;
  static inline std::vector<std::string> global_;
};

// Regression (issue 13): an official of another county uploading the same chat (same group, same
// members) revised the answers first stored for a town of 清江浦区 and moved them into the uploader's
// town. A member's identity names the town now: each county keeps its own responses.
TEST_F(WechatUploadTest, AnotherCountysUploadOfTheSameChatNeverMovesTheFirstOnesAnswers) {
  ASSERT_TRUE(server_->started()) << server_->log();
  const Login a = LogIn("county1");
  const Login b = LogIn("county2");
  const std::string chat = ReadFile(kFixture);
  const std::string extra = "&grid_workers=wxid_grid01&name=wechatmsg.csv";
  const Reply first = UploadBytes(a, "320812002", chat, extra);
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(Field(first, "stored"), 5) << first.body;

  const Reply second = UploadBytes(b, "320803002", chat, extra);
  ASSERT_EQ(second.status, 200) << second.body;
  EXPECT_EQ(Field(second, "stored"), 5) << second.body;
  EXPECT_EQ(Field(second, "revisions"), 0) << second.body;
  EXPECT_EQ(WechatResponses(a, "320812002"), 5);
  EXPECT_EQ(WechatResponses(b, "320803002"), 5);

  // The same file into the same town again still adds nothing.
  const Reply again = UploadBytes(a, "320812002", chat, extra);
  ASSERT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(Field(again, "stored"), 0) << again.body;
  EXPECT_EQ(Field(again, "duplicates"), 5) << again.body;
  EXPECT_EQ(Field(again, "revisions"), 0) << again.body;
}

// Regression (issue 13): two unrelated WeChatMsg TXT uploads without group or file name (members keyed
// by "upload" + display name) into towns of two counties were one respondent: the second revised the
// first and moved it.
TEST_F(WechatUploadTest, UnrelatedUploadsWithoutGroupOrNameIntoTwoTownsDoNotCollide) {
  ASSERT_TRUE(server_->started()) << server_->log();
  auto chat = [](const std::string& day, const std::string& answer) {
    return "2024-" + day + " 09:00:00 网格员_小王\n#安全感调查 您觉得我们这里安全吗？\n\n2024-" + day +
           " 09:01:33 张阿姨\n" + answer + "\n\n";
  };
  const Reply first =
      UploadBytes(LogIn("county1"), "320812008", chat("05-12", "1"), "&grid_workers=网格员_小王");
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(Field(first, "stored"), 1) << first.body;
  const Reply second =
      UploadBytes(LogIn("county2"), "320803004", chat("06-20", "4"), "&grid_workers=网格员_小王");
  ASSERT_EQ(second.status, 200) << second.body;
  EXPECT_EQ(Field(second, "stored"), 1) << second.body;
  EXPECT_EQ(Field(second, "revisions"), 0) << second.body;
  EXPECT_EQ(WechatResponses(LogIn("county1"), "320812008"), 1);
  EXPECT_EQ(WechatResponses(LogIn("county2"), "320803004"), 1);
}

TEST_F(WechatUploadTest, GridWorkerUploadsIntoItsTownOnly) {
  ASSERT_TRUE(server_->started()) << server_->log();
  const Login grid = LogIn("grid1");
  Reply ok = Upload(grid, "320812001");
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_NE(ok.body.find("\"stored\":5"), std::string::npos) << ok.body;
  EXPECT_NE(ok.body.find("\"format\":\"wechatmsg-csv\""), std::string::npos) << ok.body;
  Reply again = Upload(grid, "320812001");
  ASSERT_EQ(again.status, 200) << again.body;
  EXPECT_NE(again.body.find("\"stored\":0"), std::string::npos) << again.body;
  EXPECT_NE(again.body.find("\"duplicates\":5"), std::string::npos) << again.body;

  Reply other_town = Upload(grid, "320812007");
  EXPECT_EQ(other_town.status, 403) << other_town.body;
  Reply no_csrf = Upload(grid, "320812001", false);
  EXPECT_EQ(no_csrf.status, 403) << no_csrf.body;
  Reply anonymous = Upload(Login{}, "320812001");
  EXPECT_EQ(anonymous.status, 401) << anonymous.body;
}

TEST_F(WechatUploadTest, OfficialsWithinTheirAreaStatisticiansNot) {
  const Login county = LogIn("county1");
  EXPECT_EQ(Upload(county, "320812007").status, 200);
  EXPECT_EQ(Upload(county, "320102002").status, 403);  // 南京, outside 清江浦区
  const Login stat = LogIn("stat1");
  EXPECT_EQ(Upload(stat, "320812007").status, 403);
}

TEST_F(WechatUploadTest, UnreadableFileIs422WithTheReport) {
  const Login county = LogIn("county1");
  Reply r = Send(server_->port(), "POST", "/api/v1/imports/wechat?period=2024&town=320812007",
                 std::string("\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR", 16),
                 {{"Cookie", county.cookie}, {"X-CSRF-Token", county.csrf}});
  EXPECT_EQ(r.status, 422) << r.body;
  EXPECT_NE(r.body.find("binary data"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("\"report\":"), std::string::npos) << r.body;
  // A zip is taken for a 腾讯问卷 .xlsx download (the upload accepts questionnaires too).
  Reply zip =
      Send(server_->port(), "POST", "/api/v1/imports/wechat?period=2024&town=320812007",
           std::string("PK\x03\x04\x00\x00", 6), {{"Cookie", county.cookie}, {"X-CSRF-Token", county.csrf}});
  EXPECT_EQ(zip.status, 422) << zip.body;
  EXPECT_NE(zip.body.find("unusable_questionnaire"), std::string::npos) << zip.body;
}

// Uploads and `minyi import wechat` are import runs: one per file, the upload's actor the signed-in
// user; the view lists the runs with rejected lines (chatlog.csv has two).
TEST_F(WechatUploadTest, UploadsAndCliImportsAreImportRuns) {
  ASSERT_TRUE(server_->started()) << server_->log();
  Reply uploaded = UploadFile(LogIn("county1"), "320812003", "chatlog.csv", "wxid_chen");
  ASSERT_EQ(uploaded.status, 200) << uploaded.body;
  EXPECT_NE(uploaded.body.find("\"stored\":2"), std::string::npos) << uploaded.body;
  auto runs = Runs("320812003");
  ASSERT_EQ(runs->size(), 1u);
  auto run = runs->getObject(0);
  EXPECT_EQ(run->getValue<std::string>("command"), "upload wechat");
  EXPECT_EQ(run->getValue<std::string>("actor"), "county1");
  EXPECT_EQ(run->getValue<std::string>("file"), "chatlog.csv");
  EXPECT_EQ(run->getValue<std::string>("survey"), "jiangsu-safety");
  EXPECT_EQ(run->getObject("area")->getValue<std::string>("code"), "320812003");
  EXPECT_GT(run->getValue<int>("read"), 5);
  EXPECT_EQ(run->getValue<int>("stored"), 2);
  EXPECT_EQ(run->getValue<int>("rejected"), 2);

  // Two files read together: each is a run with its messages and the responses whose newest answer
  // it holds (chatlog.csv, read last, its own two; the five of wechatmsg.csv are on that file's run).
  std::vector<std::string> args = global_;
  args.insert(args.end(),
              {"import", "wechat", std::string(MINYI_SOURCE_DIR) + "/tests/fixtures/wechat/chatlog.csv",
               kFixture, "--period", "2024", "--town", "320812005", "--grid-worker", "wxid_chen",
               "--grid-worker", "wxid_grid01"});
  RunResult imported = RunMinyi(args);
  EXPECT_EQ(imported.exit_code, 3) << imported.out << imported.err;
  runs = Runs("320812005");
  ASSERT_EQ(runs->size(), 1u) << "wechatmsg.csv rejected no line";
  run = runs->getObject(0);
  EXPECT_EQ(run->getValue<std::string>("command"), "import wechat");
  EXPECT_EQ(run->getValue<std::string>("file"), "chatlog.csv");
  EXPECT_EQ(run->getValue<int>("stored"), 2);
  EXPECT_EQ(run->getValue<int>("rejected"), 2);
}

// Regression: the figures of chat files imported together were all recorded on the last file's run.
// Two files of two groups, each with an unreadable line (so the data-quality view lists both runs):
// each run has its own messages, stored responses and rejected lines.
TEST_F(WechatUploadTest, ChatFilesImportedTogetherAreOneRunEachWithTheirOwnFigures) {
  ASSERT_TRUE(server_->started()) << server_->log();
  const std::string first = std::string(MINYI_SOURCE_DIR) + "/tests/fixtures/wechat/chatlog.csv";
  const std::string second = dir_->File("evening.csv");  // the next day, another group: one answer
  WriteFile(second,
            "Time,SenderName,Sender,TalkerName,Talker,Content\n"
            "2024-07-02 20:00:00,网格员老陈,wxid_chen,幸福里居民群,77777@chatroom,"
            "#网格员满意度 大家对网格员的工作满意吗？\n"
            "2024-07-02 20:01:00,小刚,wxid_gang,幸福里居民群,77777@chatroom,比较满意\n"
            "前天,老李,wxid_li9,幸福里居民群,77777@chatroom,满意\n");
  std::vector<std::string> args = global_;
  // Given in the other order: files are read in the order of their first message.
  args.insert(args.end(), {"import", "wechat", second, first, "--period", "2024", "--town", "320812006",
                           "--grid-worker", "wxid_chen"});
  const RunResult imported = RunMinyi(args);
  EXPECT_EQ(imported.exit_code, 3) << imported.out << imported.err;
  EXPECT_NE(imported.out.find("responses: stored 3"), std::string::npos) << imported.out;

  auto runs = Runs("320812006");
  ASSERT_EQ(runs->size(), 2u);
  std::map<std::string, Poco::JSON::Object::Ptr> by_file;
  for (std::size_t i = 0; i < runs->size(); ++i) {
    by_file[runs->getObject(static_cast<unsigned>(i))->getValue<std::string>("file")] =
        runs->getObject(static_cast<unsigned>(i));
  }
  ASSERT_EQ(by_file.count("chatlog.csv"), 1u);
  ASSERT_EQ(by_file.count("evening.csv"), 1u);
  const auto chatlog = by_file["chatlog.csv"];
  EXPECT_EQ(chatlog->getValue<int>("read"), 6);
  EXPECT_EQ(chatlog->getValue<int>("stored"), 2);
  EXPECT_EQ(chatlog->getValue<int>("duplicates"), 0);
  EXPECT_EQ(chatlog->getValue<int>("rejected"), 2);
  const auto evening = by_file["evening.csv"];
  EXPECT_EQ(evening->getValue<int>("read"), 2);
  EXPECT_EQ(evening->getValue<int>("stored"), 1);
  EXPECT_EQ(evening->getValue<int>("duplicates"), 0);
  EXPECT_EQ(evening->getValue<int>("rejected"), 1);
  for (const auto& run : {chatlog, evening}) {
    EXPECT_EQ(run->getValue<std::string>("command"), "import wechat");
    EXPECT_EQ(run->getObject("area")->getValue<std::string>("code"), "320812006");
  }
}

TEST_F(WechatUploadTest, ThePageIsServed) {
  HttpReply page = HttpGet(server_->port(), "/import/wechat");
  EXPECT_EQ(page.status, 200);
  EXPECT_NE(page.body.find("/assets/wechat.js"), std::string::npos);
  HttpReply script = HttpGet(server_->port(), "/assets/wechat.js");
  EXPECT_EQ(script.status, 200);
}

}  // namespace
}  // namespace minyi::testing
