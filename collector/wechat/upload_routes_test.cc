// The export upload's routes against fake ports (no dashboards, no SQL): a real HTTP server on
// 127.0.0.1 port 0 (tests/hostile/hostile_http.h), an authenticator that knows users by a test header, the
// in-memory reviser, counters that keep the import runs, a questionnaire import that records its requests.
#include "collector/wechat/upload_routes.h"

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include "collector/fake_counters_for_test.h"
#include "collector/fake_reviser_for_test.h"
#include "tests/hostile/hostile_http.h"
#include "tests/support/repo_data.h"

namespace minyi::collector::wechat {
namespace {

const std::string kFixtures = std::string(MINYI_SOURCE_DIR) + "/tests/fixtures/wechat/";
constexpr const char* kTown = "320812007";       // 清江浦区
constexpr const char* kOtherTown = "320803001";  // 淮安区 淮城街道
constexpr char kQuestionnaireMagic[] = "QUESTIONNAIRE-EXPORT\n";

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// Users by the X-Test-User header; none: 401, as the dashboards' guard answers without a session.
class FakeAuthenticator final : public http::Authenticator {
 public:
  void AddUser(Role role, std::string username, std::vector<std::string> areas) {
    User u;
    u.username = username;
    u.role = role;
    u.areas = std::move(areas);
    users_[username] = u;
  }
  Result<User> Authenticate(const http::Request& request) const override {
    auto it = users_.find(request.get("X-Test-User", ""));
    if (it == users_.end()) return Status::Unauthenticated("请先登录");
    return it->second;
  }

 private:
  std::map<std::string, User> users_;
};

// Answers a report naming what it was asked, and for an area upload which towns it would refuse.
class FakeQuestionnaire final : public QuestionnaireImport {
 public:
  Result<std::string> Import(std::string_view body, const RespondentKeyer&,
                             const Request& request) const override {
    std::lock_guard<std::mutex> lock(mu_);
    requests_.push_back(request);
    if (body.find("unusable") != std::string_view::npos)
      return Status::InvalidInput("row 2: no such question");
    std::string refusals;
    if (request.refuse_town) {
      for (const char* town : {kTown, kOtherTown})
        refusals += std::string(town) + "=" + request.refuse_town(town) + ";";
    }
    return "{\"town\":\"" + request.town + "\",\"area\":\"" + request.area + "\",\"actor\":\"" +
           request.actor + "\",\"refusals\":\"" + refusals + "\"}";
  }
  std::vector<Request> requests() const {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }

 private:
  mutable std::mutex mu_;
  mutable std::vector<Request> requests_;
};

using Reply = hostile::HttpAnswer;

class WechatUploadRoutesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    keyer_ = std::make_unique<RespondentKeyer>(RespondentKeyer::Create("upload-test-secret-0123").value());
    auth_.AddUser(Role::kOfficial, "official_qjp", {"320812"});
    auth_.AddUser(Role::kStatistician, "stat", {});
    auth_.AddUser(Role::kGridWorker, "grid_1", {kTown});
    page_file_ = ::testing::TempDir() + "upload_routes_test_page.html";
    std::ofstream(page_file_) << "<html>upload</html>";
  }
  void TearDown() override {
    server_.Stop();
    std::remove(page_file_.c_str());
  }

  // Registers the routes (questionnaire uploads on unless `questionnaire_off`) and starts the server.
  void Start(bool questionnaire_off = false, std::size_t max_upload_bytes = 1 << 20) {
    UploadPorts ports;
    ports.authenticator = &auth_;
    ports.surveys = &testsupport::RepoSurveys();
    ports.areas = &testsupport::RepoAreas();
    ports.keyer = keyer_.get();
    ports.reviser = &reviser_;
    ports.counters = &counters_;
    ports.is_questionnaire_export = [](std::string_view body) {
      return body.rfind(kQuestionnaireMagic, 0) == 0;
    };
    if (questionnaire_off) {
      ports.questionnaire_off = Status::InvalidInput("maps/x.json: no survey");
    } else {
      ports.questionnaire = &questionnaire_;
    }
    UploadOptions options;
    options.default_survey = "jiangsu-safety";
    options.grid_workers = {"网格员_小王"};
    options.max_upload_bytes = max_upload_bytes;
    options.page_file = page_file_;
    RegisterUploadRoutes(router_, std::move(ports), std::move(options));
    server_.Start(router_);
  }

  Reply Call(const std::string& method, const std::string& path_and_query, const std::string& user,
             const std::string& body = "") {
    std::map<std::string, std::string> headers;
    if (!user.empty()) headers["X-Test-User"] = user;
    return server_.Send(method, path_and_query, "application/octet-stream", body, headers);
  }
  Reply Upload(const std::string& query, const std::string& user, const std::string& body) {
    return Call("POST", "/api/v1/imports/wechat?survey=jiangsu-safety&period=2024&" + query, user, body);
  }
  std::string Chat() const { return ReadFile(kFixtures + "wechatmsg.txt"); }

  std::unique_ptr<RespondentKeyer> keyer_;
  FakeAuthenticator auth_;
  FakeReviser reviser_;
  FakeCounters counters_;
  FakeQuestionnaire questionnaire_;
  std::string page_file_;
  http::Router router_;
  hostile::LocalServer server_;
};

bool Has(const Reply& r, const std::string& text) { return r.body.find(text) != std::string::npos; }

TEST_F(WechatUploadRoutesTest, AnonymousIs401AndNothingIsRead) {
  Start();
  const Reply r = Upload(std::string("town=") + kTown, "", Chat());
  EXPECT_EQ(r.status, 401) << r.body;
  EXPECT_TRUE(Has(r, "\"code\":\"unauthenticated\"")) << r.body;
  EXPECT_TRUE(reviser_.Current().empty());
  EXPECT_TRUE(counters_.runs().empty());
}

TEST_F(WechatUploadRoutesTest, OfficialOutsideItsAreaIs403NamingTheCode) {
  Start();
  const Reply r = Upload(std::string("town=") + kOtherTown, "official_qjp", Chat());
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_TRUE(Has(r, "\"code\":\"permission_denied\"")) << r.body;
  EXPECT_TRUE(Has(r, kOtherTown)) << r.body;
  EXPECT_TRUE(reviser_.Current().empty());
  EXPECT_TRUE(counters_.runs().empty());
  // An area above the official's county, for a questionnaire export: refused as well.
  const Reply wide = Upload("area=3208", "official_qjp", kQuestionnaireMagic);
  EXPECT_EQ(wide.status, 403) << wide.body;
  EXPECT_TRUE(Has(wide, "3208")) << wide.body;
  EXPECT_TRUE(questionnaire_.requests().empty());
}

TEST_F(WechatUploadRoutesTest, OfficialInsideItsAreaStoresTheChatAndRecordsTheRun) {
  Start();
  const Reply r = Upload(std::string("town=") + kTown + "&name=exports%2Fgroup.txt", "official_qjp", Chat());
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(Has(r, "\"answers_accepted\":")) << r.body;
  const auto current = reviser_.Current();
  ASSERT_FALSE(current.empty());
  for (const auto& [slot, response] : current) {
    EXPECT_EQ(response.town_code, kTown) << slot;
    EXPECT_EQ(response.channel, Channel::kWechat) << slot;
  }
  const std::vector<ImportRun> runs = counters_.runs();
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].command, "upload wechat");
  EXPECT_EQ(runs[0].actor, "official_qjp");
  EXPECT_EQ(runs[0].file_name, "group.txt");  // the base name only
  EXPECT_EQ(runs[0].area_code, kTown);
  EXPECT_EQ(runs[0].survey_id, "jiangsu-safety");
  EXPECT_EQ(runs[0].rows_stored, static_cast<std::int64_t>(current.size()));
  EXPECT_GT(runs[0].finished_at_ms, 0);
}

// The request's grid_workers (comma-separated, beside wechat.grid_workers) make a prompt count: without
// them, the prompt of a grid worker the configuration does not name is ignored.
TEST_F(WechatUploadRoutesTest, GridWorkersOfTheRequestAreKnownGridWorkers) {
  Start();
  const std::string chat =
      "2024-05-12 09:00:00 网格员_小李\n#安全感调查 您觉得我们这里安全吗？\n\n2024-05-12 09:01:33 "
      "张阿姨\n1\n\n";
  const Reply unknown = Upload(std::string("town=") + kTown, "official_qjp", chat);
  ASSERT_EQ(unknown.status, 200) << unknown.body;
  EXPECT_TRUE(Has(unknown, "\"stored\":0")) << unknown.body;
  const Reply listed = Upload(
      std::string("town=") + kTown + "&grid_workers=%20%E7%BD%91%E6%A0%BC%E5%91%98_%E5%B0%8F%E6%9D%8E,other",
      "official_qjp", chat);  // " 网格员_小李,other"
  ASSERT_EQ(listed.status, 200) << listed.body;
  EXPECT_TRUE(Has(listed, "\"stored\":1")) << listed.body;
  EXPECT_EQ(reviser_.Current().size(), 1u);
}

TEST_F(WechatUploadRoutesTest, StatisticiansMayNotUploadAndGridWorkersOnlyIntoTheirTowns) {
  Start();
  EXPECT_EQ(Upload(std::string("town=") + kTown, "stat", Chat()).status, 403);
  const Reply other = Upload("town=320812001", "grid_1", Chat());
  EXPECT_EQ(other.status, 403) << other.body;
  EXPECT_TRUE(Has(other, "320812001")) << other.body;
  EXPECT_TRUE(reviser_.Current().empty());
  EXPECT_EQ(Upload(std::string("town=") + kTown, "grid_1", Chat()).status, 200);
  EXPECT_FALSE(reviser_.Current().empty());
}

TEST_F(WechatUploadRoutesTest, BadParametersAre400NamingTheField) {
  Start();
  const Reply no_town = Upload("", "official_qjp", Chat());
  EXPECT_EQ(no_town.status, 400) << no_town.body;
  EXPECT_TRUE(Has(no_town, "town: ")) << no_town.body;
  const Reply period =
      Call("POST", std::string("/api/v1/imports/wechat?period=24x&town=") + kTown, "official_qjp", Chat());
  EXPECT_EQ(period.status, 400) << period.body;
  EXPECT_TRUE(Has(period, "period")) << period.body;
  const Reply survey =
      Call("POST", std::string("/api/v1/imports/wechat?survey=nope&period=2024&town=") + kTown,
           "official_qjp", Chat());
  EXPECT_EQ(survey.status, 400) << survey.body;
  EXPECT_TRUE(Has(survey, "survey: unknown survey 'nope'")) << survey.body;
  // A chat export goes into one town, never an area.
  const Reply chat_area = Upload("area=320812", "official_qjp", Chat());
  EXPECT_EQ(chat_area.status, 400) << chat_area.body;
  EXPECT_TRUE(Has(chat_area, "is a chat export")) << chat_area.body;
  EXPECT_TRUE(reviser_.Current().empty());
}

TEST_F(WechatUploadRoutesTest, UnusableFilesAre422OversizeIs413AFailedStoreIs503) {
  Start(false, 4096);
  const Reply binary = Upload(std::string("town=") + kTown, "official_qjp", std::string("\x00\x01\x02PK", 5));
  EXPECT_EQ(binary.status, 422) << binary.body;
  EXPECT_TRUE(Has(binary, "\"code\":\"unreadable_file\"")) << binary.body;
  EXPECT_TRUE(Has(binary, "\"report\":{")) << binary.body;
  const Reply big = Upload(std::string("town=") + kTown, "official_qjp", std::string(5000, 'a'));
  EXPECT_EQ(big.status, 413) << big.body;
  EXPECT_TRUE(Has(big, "wechat.max_upload_bytes")) << big.body;
  reviser_.SetFailing(true);
  const Reply down = Upload(std::string("town=") + kTown, "official_qjp", Chat());
  EXPECT_EQ(down.status, 503) << down.body;
  EXPECT_TRUE(counters_.runs().empty());
}

TEST_F(WechatUploadRoutesTest, QuestionnaireExportsGoThroughThePortWithTheUploadersScope) {
  Start();
  const Reply town =
      Upload(std::string("town=") + kTown + "&questionnaire=Q1", "official_qjp", kQuestionnaireMagic);
  ASSERT_EQ(town.status, 200) << town.body;
  EXPECT_TRUE(Has(town, std::string("\"town\":\"") + kTown)) << town.body;
  EXPECT_TRUE(Has(town, "\"refusals\":\"\"")) << town.body;  // a town upload refuses no row

  const Reply area = Upload("area=3208", "grid_1", kQuestionnaireMagic);
  ASSERT_EQ(area.status, 200) << area.body;
  // The grid worker's own town is taken; another town of the area is refused, saying why.
  EXPECT_TRUE(Has(area, std::string(kTown) + "=;")) << area.body;
  EXPECT_TRUE(Has(area, std::string(kOtherTown) + "=town " + kOtherTown)) << area.body;
  EXPECT_TRUE(Has(area, "is not one of your towns")) << area.body;
  const auto requests = questionnaire_.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].questionnaire_id, "Q1");
  EXPECT_EQ(requests[0].period, "2024");
  EXPECT_EQ(requests[0].survey_id, "jiangsu-safety");
  EXPECT_EQ(requests[1].actor, "grid_1");
  EXPECT_EQ(requests[1].file_name, "upload");

  const Reply unusable =
      Upload(std::string("town=") + kTown, "official_qjp", std::string(kQuestionnaireMagic) + "unusable");
  EXPECT_EQ(unusable.status, 422) << unusable.body;
  EXPECT_TRUE(Has(unusable, "\"code\":\"unusable_questionnaire\"")) << unusable.body;
  EXPECT_TRUE(Has(unusable, "row 2: no such question")) << unusable.body;
}

TEST_F(WechatUploadRoutesTest, QuestionnaireUploadsOffAre503SayingWhyWhileChatsWork) {
  Start(/*questionnaire_off=*/true);
  const Reply off =
      Upload(std::string("town=") + kTown + "&name=a.xlsx", "official_qjp", kQuestionnaireMagic);
  EXPECT_EQ(off.status, 503) << off.body;
  EXPECT_TRUE(Has(off, "\"code\":\"questionnaire_maps_unusable\"")) << off.body;
  EXPECT_TRUE(Has(off, "maps/x.json: no survey")) << off.body;
  EXPECT_TRUE(Has(off, "'a.xlsx'")) << off.body;
  EXPECT_EQ(Upload(std::string("town=") + kTown, "official_qjp", Chat()).status, 200);
}

TEST_F(WechatUploadRoutesTest, ThePageIsServed) {
  Start();
  const Reply page = Call("GET", "/import/wechat", "");
  EXPECT_EQ(page.status, 200);
  EXPECT_EQ(page.body, "<html>upload</html>");
}

TEST_F(WechatUploadRoutesTest, AMissingPageIs404) {
  std::remove(page_file_.c_str());
  Start();
  const Reply page = Call("GET", "/import/wechat", "");
  EXPECT_EQ(page.status, 404) << page.body;
  EXPECT_TRUE(Has(page, "wechat.html")) << page.body;
}

}  // namespace
}  // namespace minyi::collector::wechat
