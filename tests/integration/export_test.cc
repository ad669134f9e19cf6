// Exports through the command line and the dashboard downloads of a real `minyi serve` (port 0) on a
// small demo data set: release freeze/list, every export format, and the download scope rules
// (statisticians: internal and public editions and microdata; officials: their areas, public only).
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/JSON/Parser.h>
#include <Poco/StreamCopier.h>
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "tests/integration/minyi_process.h"

namespace minyi::testing {
namespace {

struct Reply {
  int status = 0;
  std::string body;
  std::map<std::string, std::string> headers;
  std::vector<std::string> cookies;
};

Reply Send(int port, const std::string& method, const std::string& path, const std::string& body = "",
           const std::map<std::string, std::string>& headers = {}) {
  Poco::Net::HTTPClientSession session("127.0.0.1", static_cast<Poco::UInt16>(port));
  Poco::Net::HTTPRequest request(method, path, Poco::Net::HTTPMessage::HTTP_1_1);
  for (const auto& [k, v] : headers) request.set(k, v);
  if (!body.empty() || method == "POST") request.setContentLength(static_cast<std::streamsize>(body.size()));
  session.sendRequest(request) << body;
  Poco::Net::HTTPResponse response;
  std::istream& in = session.receiveResponse(response);
  Reply reply;
  Poco::StreamCopier::copyToString(in, reply.body);
  reply.status = static_cast<int>(response.getStatus());
  for (const auto& [k, v] : response) {
    reply.headers[k] = v;
    if (k == "Set-Cookie") reply.cookies.push_back(v);
  }
  return reply;
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// The values of one CSV column (simple files: no quoted commas in the columns read).
std::vector<std::string> Column(const std::string& csv, const std::string& name) {
  std::istringstream in(csv.substr(csv.rfind("\xEF\xBB\xBF", 0) == 0 ? 3 : 0));
  std::string line;
  std::getline(in, line);
  std::size_t index = 0, pos = 0;
  bool found = false;
  for (std::size_t i = 0; pos <= line.size(); ++i) {
    std::size_t end = line.find(',', pos);
    if (end == std::string::npos) end = line.size();
    if (line.substr(pos, end - pos) == name) {
      index = i;
      found = true;
      break;
    }
    pos = end + 1;
  }
  EXPECT_TRUE(found) << name;
  std::vector<std::string> out;
  while (std::getline(in, line)) {
    std::size_t p = 0;
    for (std::size_t i = 0; i < index; ++i) p = line.find(',', p) + 1;
    out.push_back(line.substr(p, line.find(',', p) - p));
  }
  return out;
}

class ExportTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    global_ = {"-D", "store.sqlite.path=" + dir_->File("minyi.db"), "-D", "store.sqlite.synchronous=NORMAL",
               "-D", "collector.secret_file=" + dir_->File("secret"), "-D", "log.level=warn",
               "-D", "aggregator.interval_ms=0"};
    Run({"demo", "seed", "--responses", "30000"});
    Run({"aggregate"});
    for (const auto& u : std::vector<std::vector<std::string>>{{"stat1", "--role", "statistician"},
                                                               {"county1", "--role", "official", "--area", "320812"},
                                                               {"admin1", "--role", "admin"}}) {
      const RunResult r = AddUser(global_, u, TestPassword(u[0]));
      EXPECT_EQ(r.exit_code, 0) << r.err;
    }
    freeze_ = Run({"release", "freeze", "--period", "2025"});
    std::vector<std::string> serve = global_;
    serve.insert(serve.end(), {"-D", "http.port=0"});
    server_ = new ServerProcess(serve);
  }
  static void TearDownTestSuite() {
    delete server_;
    delete dir_;
  }

  static RunResult Run(std::vector<std::string> args, const std::string& stdin_text = "", int expected = 0) {
    std::vector<std::string> all = global_;
    all.insert(all.end(), args.begin(), args.end());
    RunResult r = RunMinyi(all, stdin_text);
    EXPECT_EQ(r.exit_code, expected) << r.err << r.out;
    return r;
  }

  static std::string LogIn(const std::string& user) {
    Reply r = Send(server_->port(), "POST", "/api/v1/login",
                   "{\"username\":\"" + user + "\",\"password\":\"" + TestPassword(user) + "\"}",
                   {{"Content-Type", "application/json"}});
    EXPECT_EQ(r.status, 200) << r.body;
    if (r.cookies.empty()) return "";
    return r.cookies.front().substr(0, r.cookies.front().find(';'));
  }
  static Reply Get(const std::string& cookie, const std::string& path) {
    return Send(server_->port(), "GET", path, "",
                cookie.empty() ? std::map<std::string, std::string>{} : std::map<std::string, std::string>{{"Cookie", cookie}});
  }

  static inline TempDir* dir_ = nullptr;
  static inline ServerProcess* server_ = nullptr;
  static inline std::vector<std::string> global_;
  static inline RunResult freeze_;
};

TEST_F(ExportTest, ReleaseFreezeAndListFromTheCommandLine) {
  EXPECT_NE(freeze_.out.find("frozen jiangsu-safety 2025 R1"), std::string::npos) << freeze_.out;
  RunResult again = Run({"release", "freeze", "--period", "2025"}, "", 1);
  EXPECT_NE(again.err.find("reason"), std::string::npos);
  RunResult same = Run({"release", "freeze", "--period", "2025", "--reason", "check"});
  EXPECT_NE(same.out.find("nothing changed since R1"), std::string::npos) << same.out;
  RunResult list = Run({"release", "list"});
  EXPECT_NE(list.out.find("jiangsu-safety\t2025\tR1"), std::string::npos) << list.out;
  Run({"export", "indices", "--period", "2025", "--release", "R7", "--format", "csv", "--out", dir_->File("x.csv")}, "", 1);
  Run({"export", "indices", "--period", "2025", "--format", "pdf", "--out", dir_->File("x.pdf")}, "", 2);
}

TEST_F(ExportTest, EveryFormatFromTheCommandLine) {
  for (const char* f : {"csv", "xlsx", "json"}) {
    const std::string out = dir_->File(std::string("idx.") + f);
    RunResult r = Run({"export", "indices", "--period", "2025", "--release", "R1", "--format", f, "--out", out,
                       "--edition", "public"});
    EXPECT_NE(r.out.find("R1"), std::string::npos);
    EXPECT_GT(ReadAll(out).size(), 1000U) << f;
  }
  const std::string csv = ReadAll(dir_->File("idx.csv"));
  EXPECT_EQ(csv.rfind("\xEF\xBB\xBF", 0), 0U);
  for (const char* f : {"csv", "sav", "dta", "xlsx"}) {
    const std::string out = dir_->File(std::string("micro.") + f);
    RunResult r = Run({"export", "microdata", "--period", "2025", "--release", "latest", "--format", f, "--out", out});
    EXPECT_NE(r.out.find("responses x"), std::string::npos) << r.out;
    EXPECT_GT(ReadAll(out).size(), 1000U) << f;
  }
  EXPECT_NE(ReadAll(dir_->File("micro.codebook.md")).find("`weight`"), std::string::npos);
  EXPECT_EQ(ReadAll(dir_->File("micro.sav")).substr(0, 4), "$FL2");
  // Live data over several periods in one file.
  Run({"export", "microdata", "--period", "2024,2025", "--format", "csv", "--out", dir_->File("live.csv"), "--no-codebook"});
  const auto periods = Column(ReadAll(dir_->File("live.csv")), "period");
  EXPECT_EQ(periods.front(), "2024");
  EXPECT_EQ(periods.back(), "2025");
}

TEST_F(ExportTest, OfficialsDownloadTheirAreasPublicEditionOnly) {
  const std::string county = LogIn("county1");
  Reply own = Get(county, "/api/v1/export/indices?area=320812&period=2025&format=csv&release=R1");
  ASSERT_EQ(own.status, 200) << own.body;
  EXPECT_NE(own.headers["Content-Disposition"].find("attachment"), std::string::npos);
  const auto codes = Column(own.body, "area_code");
  ASSERT_FALSE(codes.empty());
  for (const std::string& c : codes) EXPECT_EQ(c.rfind("320812", 0), 0U) << c;
  for (const std::string& s : Column(own.body, "suppressed")) EXPECT_TRUE(s == "true" || s == "false");
  EXPECT_EQ(Get(county, "/api/v1/export/indices?area=320803&period=2025&format=csv").status, 403);
  EXPECT_EQ(Get(county, "/api/v1/export/indices?area=32&period=2025&format=xlsx").status, 403);
  EXPECT_EQ(Get(county, "/api/v1/export/indices?area=320812&period=2025&format=csv&edition=internal").status, 403);
  EXPECT_EQ(Get(county, "/api/v1/export/microdata?period=2025&format=csv").status, 403);
  EXPECT_EQ(Get(LogIn("admin1"), "/api/v1/export/microdata?period=2025&format=csv").status, 403);
  EXPECT_EQ(Get("", "/api/v1/export/indices?area=320812&period=2025&format=csv").status, 401);
  EXPECT_EQ(Get(county, "/api/v1/export/indices?area=320812&period=2025&format=csv&release=R9").status, 404);
}

TEST_F(ExportTest, StatisticiansDownloadEverythingAndEveryDownloadIsAudited) {
  const std::string stat = LogIn("stat1");
  Reply internal = Get(stat, "/api/v1/export/indices?area=32&period=2025&format=json&edition=internal&release=R1");
  ASSERT_EQ(internal.status, 200) << internal.body;
  EXPECT_NE(internal.body.find("\"edition\":\"internal\""), std::string::npos);
  Reply pub = Get(stat, "/api/v1/export/indices?area=32&period=2025&format=xlsx&edition=public");
  ASSERT_EQ(pub.status, 200);
  EXPECT_EQ(pub.body.substr(0, 2), "PK");
  Reply sav = Get(stat, "/api/v1/export/microdata?period=2025&format=sav&release=R1");
  ASSERT_EQ(sav.status, 200) << sav.body;
  EXPECT_EQ(sav.body.substr(0, 4), "$FL2");
  Reply dta = Get(stat, "/api/v1/export/microdata?period=2025&format=dta&release=R1");
  ASSERT_EQ(dta.status, 200);
  Reply releases = Get(stat, "/api/v1/releases");
  ASSERT_EQ(releases.status, 200);
  EXPECT_NE(releases.body.find("\"release\":\"R1\""), std::string::npos);
  RunResult audit = Run({"user", "audit", "--limit", "50"});
  EXPECT_NE(audit.out.find("microdata period=2025 release=R1 format=sav"), std::string::npos) << audit.out;
  EXPECT_NE(audit.out.find("indices period=2025 release=R1 format=json edition=internal"), std::string::npos);
}

TEST_F(ExportTest, TheDashboardPageOffersTheDownloads) {
  Reply js = Get("", "/assets/dashboard.js");
  ASSERT_EQ(js.status, 200);
  EXPECT_NE(js.body.find("/api/v1/export/indices?"), std::string::npos);
  EXPECT_NE(js.body.find("/api/v1/export/microdata?"), std::string::npos);
}

}  // namespace
}  // namespace minyi::testing
