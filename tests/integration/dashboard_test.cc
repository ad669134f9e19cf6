// The dashboards through a real `minyi serve` (port 0) on a small demo data set: scope checks for
// every role, low-n suppression, CSRF, logout, throttling, audit rows and the pages.
#include <Poco/File.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/StreamCopier.h>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <ctime>
#include <fstream>
#include <future>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "core/csv.h"
#include "core/csv_cell.h"
#include "tests/integration/index_figures.h"
#include "tests/integration/minyi_process.h"

namespace minyi::testing {
namespace {

struct Reply {
  int status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // last value per name
  std::vector<std::string> cookies;
};

Reply Exchange(Poco::Net::HTTPClientSession& session, const std::string& method, const std::string& path,
               const std::string& body, const std::map<std::string, std::string>& headers) {
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

Reply Send(int port, const std::string& method, const std::string& path, const std::string& body = "",
           const std::map<std::string, std::string>& headers = {}) {
  Poco::Net::HTTPClientSession session("127.0.0.1", static_cast<Poco::UInt16>(port));
  return Exchange(session, method, path, body, headers);
}

// A login sent from the loopback address `source` (127.0.0.0/8): the server throttles per client
// address, so tests that use up an address's attempts each take their own.
Reply LoginFrom(const std::string& source, int port, const std::string& username, const std::string& password) {
  Poco::Net::StreamSocket socket(Poco::Net::SocketAddress::IPv4);
  socket.impl()->bind(Poco::Net::SocketAddress(source, 0), true);
  socket.connect(Poco::Net::SocketAddress("127.0.0.1", static_cast<Poco::UInt16>(port)));
  Poco::Net::HTTPClientSession session(socket);  // connected: its host cannot be set, the header is
  Poco::JSON::Object body;
  body.set("username", username);
  body.set("password", password);
  std::ostringstream json;
  body.stringify(json);
  return Exchange(session, "POST", "/api/v1/login", json.str(),
                  {{"Host", "127.0.0.1"}, {"Content-Type", "application/json"}});
}

Poco::JSON::Object::Ptr Json(const std::string& text) {
  Poco::JSON::Parser parser;
  return parser.parse(text).extract<Poco::JSON::Object::Ptr>();
}

struct Login {
  std::string cookie;  // "minyi_session=..."
  std::string csrf;
};

// The suite's area registry is data/ with a county and two towns of 南京市 named by texts a spreadsheet
// runs as formulas (FormulaLikeAreaNamesAreTextInTheCsvDownload). The towns keep their 街道 ending,
// which the demo data reads.
const std::map<std::string, std::string> kFormulaNames = {
    {"320102", "+cmd|' /C calc'!A0 玄武区"},
    {"320102002", "=HYPERLINK(\"http://x\",\"梅园新村\")街道"},
    {"320102003", "@SUM(A1)新街口街道"}};

void WriteAreasWithFormulaNames(const std::string& dir) {
  for (const char* file : {"provinces.csv", "cities.csv", "counties.csv", "towns.csv"}) {
    std::ifstream in(std::string(MINYI_SOURCE_DIR) + "/data/" + file);
    std::ofstream out(dir + "/" + file);
    CsvReader reader(in);
    std::vector<std::string> fields;
    while (reader.Next(fields, nullptr)) {
      if (fields.size() < 2) continue;
      if (auto it = kFormulaNames.find(fields[0]); it != kFormulaNames.end()) fields[1] = it->second;
      for (std::size_t i = 0; i < fields.size(); ++i) out << (i ? "," : "") << CsvQuote(fields[i]);
      out << '\n';
    }
  }
}

class DashboardTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    const std::string areas = dir_->File("areas");
    Poco::File(areas).createDirectories();
    WriteAreasWithFormulaNames(areas);
    global_ = {"-D", "store.sqlite.path=" + dir_->File("minyi.db"),
               "-D", "store.sqlite.synchronous=NORMAL",
               "-D", "collector.secret_file=" + dir_->File("secret"),
               "-D", "log.level=warn",
               "-D", "paths.areas=" + areas};
    auto run = [](std::vector<std::string> args, const std::string& stdin_text = "") {
      std::vector<std::string> all = global_;
      all.insert(all.end(), args.begin(), args.end());
      RunResult r = RunMinyi(all, stdin_text);
      EXPECT_EQ(r.exit_code, 0) << r.err;
      return r;
    };
    RunResult seeded = run({"demo", "seed", "--responses", "60000"});
    // The demo accounts are created with the data, passwords shown once and kept 0600.
    EXPECT_NE(seeded.out.find("demo-county"), std::string::npos);
    const std::vector<std::vector<std::string>> users = {
        {"admin1", "--role", "admin"},
        {"stat1", "--role", "statistician"},
        {"county1", "--role", "official", "--area", "320812"},
        {"city1", "--role", "official", "--area", "3208"},
        {"prov1", "--role", "official", "--area", "32"},
        {"town1", "--role", "official", "--area", "320812001"},
        {"grid1", "--role", "grid_worker", "--area", "320812001"},
        {"victim", "--role", "official", "--area", "320812"},
    };
    for (const auto& u : users) {
      std::vector<std::string> args = {"user", "add"};
      args.insert(args.end(), u.begin(), u.end());
      args.push_back("--password-stdin");
      run(args, TestPassword(u[0]) + "\n");
    }
    // Invitations and collector rejections for the data-quality views, all in town 320812003 (no other
    // test reads that town, so its cached figures are first computed after these exist).
    run({"invite", "create", "--survey", "jiangsu-safety", "--town", "320812003", "--count", "3",
                       "--out", dir_->File("invites.csv")});
    api_key_ = run({"apikey", "create", "--name", "partner", "--survey", "jiangsu-safety"}).out;
    while (!api_key_.empty() && (api_key_.back() == '\n' || api_key_.back() == '\r')) api_key_.pop_back();
    WriteFile(dir_->File("bad-import.csv"),
              "source_ref,survey,period,town,channel,submitted_at,respondent_key,weight,security,grid,sex,age_band,"
              "comment\n"
              "q-1,jiangsu-safety,2025,320812003,import,2025-05-12 09:01:33,7f3a9c1e0b2d4f6a8c0e1f2a3b4c5d6e,1,1,1,2,60+,\n"
              "q-2,jiangsu-safety,2025,320812003,import,2025-05-12 09:01:33,8f3a9c1e0b2d4f6a8c0e1f2a3b4c5d6e,1,8,1,2,60+,\n");
    std::vector<std::string> import = global_;
    import.insert(import.end(), {"import", "responses", dir_->File("bad-import.csv")});
    RunResult imported = RunMinyi(import);
    EXPECT_EQ(imported.exit_code, 3) << imported.out << imported.err;
    // The index tables the server shows, and the same rows as the aggregator's own CSV: what the
    // dashboards show is compared with it (ShownFiguresAreTheAggregatorsFigures).
    run({"aggregate", "--csv", dir_->File("batch.csv")});
    std::vector<std::string> serve = global_;
    serve.insert(serve.end(), {"-D", "http.port=0", "-D", "collector.open_periods=2025"});
    server_ = new ServerProcess(serve);
  }

  static void TearDownTestSuite() {
    delete server_;
    delete dir_;
  }

  static int Port() { return server_->port(); }

  static Login LogIn(const std::string& user) {
    Reply r = Send(Port(), "POST", "/api/v1/login",
                   "{\"username\":\"" + user + "\",\"password\":\"" + TestPassword(user) + "\"}",
                   {{"Content-Type", "application/json"}});
    EXPECT_EQ(r.status, 200) << user << ": " << r.body;
    Login login;
    if (r.status != 200 || r.cookies.empty()) return login;
    const std::string& c = r.cookies.front();
    login.cookie = c.substr(0, c.find(';'));
    login.csrf = Json(r.body)->getValue<std::string>("csrf_token");
    return login;
  }

  static Reply Get(const Login& who, const std::string& path) {
    return Send(Port(), "GET", path, "", who.cookie.empty() ? std::map<std::string, std::string>{}
                                                             : std::map<std::string, std::string>{{"Cookie", who.cookie}});
  }

  // Rejections of API submissions the collectors' tally has written to the store (a read-only connection).
  static long long RejectionsStored() {
    sqlite3* db = nullptr;
    long long total = -1;
    if (sqlite3_open_v2(dir_->File("minyi.db").c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
      sqlite3_busy_timeout(db, 2000);
      sqlite3_stmt* stmt = nullptr;
      if (sqlite3_prepare_v2(
              db, "SELECT COALESCE(SUM(rejected_count), 0) FROM collector_rejections WHERE channel = 'api'",
              -1, &stmt, nullptr) == SQLITE_OK &&
          sqlite3_step(stmt) == SQLITE_ROW) {
        total = sqlite3_column_int64(stmt, 0);
      }
      sqlite3_finalize(stmt);
    }
    sqlite3_close(db);
    return total;
  }

  static inline std::string api_key_;
  static inline TempDir* dir_ = nullptr;
  static inline ServerProcess* server_ = nullptr;
  static inline std::vector<std::string> global_;
};

TEST_F(DashboardTest, EveryRoleGetsExactlyItsScope) {
  ASSERT_TRUE(server_->started()) << server_->log();
  struct Case {
    std::string user;
    std::string area;
    int status;
  };
  const std::vector<Case> cases = {
      // A county official: its county and its towns, nothing beside or above.
      {"county1", "320812", 200},
      {"county1", "320812001", 200},
      {"county1", "320803", 403},     // another county
      {"county1", "320803001", 403},  // a town in it
      {"county1", "3208", 403},       // its own city
      {"county1", "32", 403},         // the province total
      {"county1", "320102", 403},     // another city's county
      // A city official: the city and below.
      {"city1", "3208", 200},
      {"city1", "320803", 200},
      {"city1", "320803001", 200},
      {"city1", "3201", 403},
      {"city1", "32", 403},
      // A town official: only the town.
      {"town1", "320812001", 200},
      {"town1", "320812002", 403},
      {"town1", "320812", 403},
      // Province official, statistician, admin: everything.
      {"prov1", "32", 200},
      {"prov1", "320102002", 200},
      {"stat1", "32", 200},
      {"stat1", "320803001", 200},
      {"admin1", "32", 200},
      // A grid worker has no dashboards, not even its own town.
      {"grid1", "320812001", 403},
      // Unknown codes are bad requests, whoever asks.
      {"stat1", "329999", 400},
  };
  std::map<std::string, Login> logins;
  for (const auto& c : cases) {
    if (!logins.count(c.user)) logins[c.user] = LogIn(c.user);
    const Login& who = logins[c.user];
    for (const std::string route : {"/api/v1/indices?area=", "/api/v1/trend?area=", "/api/v1/channels?area=",
                                    "/api/v1/comments?area=", "/api/v1/indices.csv?area=",
                                    "/api/v1/response-rates?area=", "/api/v1/quality?area="}) {
      Reply r = Get(who, route + c.area);
      EXPECT_EQ(r.status, c.status) << c.user << " " << route << c.area << ": " << r.body.substr(0, 200);
      if (c.status == 403) {
        EXPECT_EQ(r.body.find("estimate"), std::string::npos);
      }
    }
  }
  // A comparison may not smuggle in an area outside the scope.
  EXPECT_EQ(Get(logins["county1"], "/api/v1/trend?area=320812&compare=320812001,320803").status, 403);
  EXPECT_EQ(Get(logins["county1"], "/api/v1/trend?area=320812&compare=320812001,320812002").status, 200);
  // Nobody logged in: 401 everywhere.
  for (const std::string route : {"/api/v1/indices?area=32", "/api/v1/trend?area=32", "/api/v1/me",
                                  "/api/v1/users", "/api/v1/audit", "/api/v1/indices.csv?area=32"}) {
    EXPECT_EQ(Get(Login{}, route).status, 401) << route;
    EXPECT_EQ(Get(Login{"minyi_session=" + std::string(64, 'a'), ""}, route).status, 401) << route;
  }
}

TEST_F(DashboardTest, ResponseRatesAndDataQualityForTheCallersArea) {
  ASSERT_TRUE(server_->started()) << server_->log();
  ASSERT_FALSE(api_key_.empty());
  // One rejected API submission (an option that does not exist) and one rejected body, in the town.
  const std::map<std::string, std::string> auth = {{"Authorization", "Bearer " + api_key_},
                                                   {"Content-Type", "application/json"}};
  Reply bad = Send(Port(), "POST", "/api/v1/responses",
                   "{\"survey\":\"jiangsu-safety\",\"period\":2025,\"town\":\"320812003\","
                   "\"answers\":{\"security\":\"8\",\"grid\":\"1\"},\"idempotency_key\":\"q-bad\"}",
                   auth);
  EXPECT_EQ(bad.status, 422) << bad.body;
  EXPECT_EQ(Send(Port(), "POST", "/api/v1/responses", "{not json", auth).status, 400);
  // A used invitation (the CSV's first token).
  const std::string invites = [] {
    std::ifstream in(dir_->File("invites.csv"));
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }();
  const std::size_t line = invites.find('\n') + 1;
  const std::string token = invites.substr(line, invites.find(',', line) - line);
  Reply used = Send(Port(), "POST", "/api/v1/responses",
                    "{\"survey\":\"jiangsu-safety\",\"period\":2025,\"token\":\"" + token +
                        "\",\"answers\":{\"security\":\"1\",\"grid\":\"1\"}}",
                    auth);
  EXPECT_EQ(used.status, 201) << used.body;
  // The rejection tally flushes every 2 s. The quality view caches its figures for a minute, so the
  // test waits on the table the tally writes, not on the view.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (RejectionsStored() < 2 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_EQ(RejectionsStored(), 2) << "the tally flushed both rejections (the bad answer and the bad JSON)";

  const Login county = LogIn("county1");
  Reply q = Get(county, "/api/v1/quality?area=320812003&period=2025");
  ASSERT_EQ(q.status, 200) << q.body;
  auto doc = Json(q.body);
  auto rejections = doc->getObject("rejections");
  EXPECT_EQ(rejections->getValue<int>("total"), 1) << q.body << " (the bad JSON names no town: province only)";
  auto reason = rejections->getArray("rows")->getObject(0);
  EXPECT_EQ(reason->getValue<std::string>("channel"), "api");
  EXPECT_EQ(reason->getValue<std::string>("reason"), "invalid_answers");
  auto imports = doc->getArray("imports");
  ASSERT_EQ(imports->size(), 1u) << q.body;
  auto run = imports->getObject(0);
  EXPECT_EQ(run->getValue<std::string>("command"), "import responses");
  EXPECT_EQ(run->getValue<std::string>("file"), "bad-import.csv");
  EXPECT_EQ(run->getValue<int>("read"), 2);
  EXPECT_EQ(run->getValue<int>("stored"), 1);
  EXPECT_EQ(run->getValue<int>("rejected"), 1);
  EXPECT_EQ(run->getObject("area")->getValue<std::string>("code"), "320812003");
  EXPECT_EQ(doc->getObject("unparsed_sms")->getValue<int>("total"), 0);
  // The province sees the unplaced bad body (no period: shown with every period; 2024 is a view no
  // other test has cached); another county's official sees none of it.
  Reply province = Get(LogIn("prov1"), "/api/v1/quality?area=32&period=2024");
  ASSERT_EQ(province.status, 200);
  auto province_rejections = Json(province.body)->getObject("rejections");
  EXPECT_EQ(province_rejections->getValue<int>("total"), 1) << province.body;
  EXPECT_EQ(province_rejections->getArray("rows")->getObject(0)->getValue<std::string>("reason"), "invalid_json");
  EXPECT_EQ(Get(county, "/api/v1/quality?area=320803&period=2025").status, 403);

  // Tokens are counted in the period they were issued (now).
  const std::string this_year = [] {
    const std::time_t t = std::time(nullptr) + 8 * 3600;
    std::tm tm{};
    gmtime_r(&t, &tm);
    return std::to_string(tm.tm_year + 1900);
  }();
  Reply rates = Get(county, "/api/v1/response-rates?area=320812&period=" + this_year);
  ASSERT_EQ(rates.status, 200) << rates.body;
  auto r = Json(rates.body);
  EXPECT_EQ(r->getObject("total")->getObject("web")->getValue<int>("issued"), 3) << rates.body;
  EXPECT_EQ(r->getObject("total")->getObject("web")->getValue<int>("used"), 1);
  bool found = false;
  auto rows = r->getArray("rows");
  for (unsigned i = 0; i < rows->size(); ++i) {
    auto row = rows->getObject(i);
    if (row->getValue<std::string>("code") != "320812003") continue;
    found = true;
    EXPECT_EQ(row->getObject("web")->getValue<int>("issued"), 3);
    EXPECT_NEAR(row->getObject("web")->getValue<double>("use_rate"), 1.0 / 3, 1e-9);
  }
  EXPECT_TRUE(found) << rates.body;
  EXPECT_EQ(Get(county, "/api/v1/response-rates?area=320812&period=20x5").status, 400);
  EXPECT_EQ(Get(county, "/api/v1/response-rates?area=320812&level=city").status, 400);
}

// A number of a JSON object or array, NaN for null.
double Figure(const Poco::JSON::Object::Ptr& v, const std::string& name) {
  return v->isNull(name) ? std::nan("") : v->getValue<double>(name);
}
double Element(const Poco::JSON::Array::Ptr& a, unsigned i) {
  return a->isNull(i) ? std::nan("") : a->getElement<double>(i);
}

// Compares one ValueJson object with the aggregator's row: the share as `estimate` (not the 0-100
// score), its SE and interval, the score, n and n_eff.
void ExpectSameFigures(const Poco::JSON::Object::Ptr& v, const std::map<std::string, std::string>& row,
                       const std::string& what) {
  ASSERT_TRUE(v) << what;
  // A town without respondents (n = 0, issue 14) has no direct figures: null shown, empty computed.
  auto same = [&](const std::string& name, double shown) {
    EXPECT_TRUE(SameFigure(shown, row.at(name)))
        << what << " " << name << ": " << shown << " shown, '" << row.at(name) << "' computed";
  };
  same("estimate", Figure(v, "estimate"));
  same("se", Figure(v, "se"));
  same("ci_low", Element(v->getArray("ci"), 0));
  same("ci_high", Element(v->getArray("ci"), 1));
  same("score", Figure(v, "score"));
  ExpectFigure(v->getValue<double>("n_eff"), row.at("n_eff"), what + " n_eff");
  EXPECT_EQ(std::to_string(v->getValue<long long>("n")), row.at("n")) << what;
}

using Batch = IndexCsvRows;
const std::vector<std::string> kIndices = {"security", "grid"};

// A row's `vs_parent` (issue 14's map) against the aggregator's rows: the parent is the registry parent
// (the code one level shorter), the difference is the two shares', z = diff / se, the mark follows
// |z| > 1.96, and se lies where the part-whole covariance puts it (W·se_c² with W in [0, 1]):
// se_p² − se_c² ≤ se² ≤ se_c² + se_p². The province has no parent and no vs_parent.
void ExpectVsParentIsTheBatch(const Poco::JSON::Object::Ptr& v, const Batch& batch, const std::string& period,
                              const std::string& code, const std::string& index, const std::string& what) {
  const std::size_t parent_length = code.size() == 9 ? 6 : code.size() == 6 ? 4 : code.size() == 4 ? 2 : 0;
  if (parent_length == 0) {
    EXPECT_FALSE(v->has("vs_parent")) << what;
    return;
  }
  const std::string parent = code.substr(0, parent_length);
  auto vs = v->getObject("vs_parent");
  ASSERT_TRUE(vs) << what << ": no vs_parent";
  EXPECT_EQ(vs->getValue<std::string>("parent"), parent) << what;
  const auto& c = batch.at(period + "|" + code + "|" + index);
  const auto& p = batch.at(period + "|" + parent + "|" + index);
  const double se_c = std::stod(c.at("se")), se_p = std::stod(p.at("se"));
  const double diff = vs->getValue<double>("diff"), se = vs->getValue<double>("se");
  EXPECT_NEAR(diff, std::stod(c.at("estimate")) - std::stod(p.at("estimate")), 1e-9) << what;
  EXPECT_GE(se * se, se_p * se_p - se_c * se_c - 1e-12) << what;
  EXPECT_LE(se * se, se_c * se_c + se_p * se_p + 1e-12) << what;
  if (se > 0) {
    EXPECT_NEAR(vs->getValue<double>("z"), diff / se, 1e-6 * (1 + std::fabs(diff / se))) << what;
    const std::string want = std::fabs(diff / se) <= 1.959963984540054 ? "" : diff > 0 ? "above" : "below";
    EXPECT_EQ(vs->isNull("significant") ? "" : vs->getValue<std::string>("significant"), want) << what;
  }
}

// The "model" member of a town's VALUE against the aggregator's row, by the dashboards' rule: present for a
// model-based figure (eblup, synthetic) where the direct one is suppressed for the viewer, missing (n = 0) or
// wider than 10 points, and with model=both beside every direct one; its label, method, figures and reason.
// Returns the reason ("" when absent).
std::string ExpectModelByTheRule(const Poco::JSON::Object::Ptr& v,
                                 const std::map<std::string, std::string>& row, bool both,
                                 const std::string& what) {
  const bool model_based = row.at("model_method") == "eblup" || row.at("model_method") == "synthetic";
  const bool suppressed = v->getValue<bool>("suppressed");
  const bool wide =
      row.at("ci_low").empty() || !(std::stod(row.at("ci_high")) - std::stod(row.at("ci_low")) <= 0.10);
  auto model = v->getObject("model");
  EXPECT_EQ(static_cast<bool>(model), model_based && (both || suppressed || wide)) << what;
  if (!model) return "";
  EXPECT_EQ(model->getValue<std::string>("label"), "模型估计") << what;
  EXPECT_EQ(model->getValue<std::string>("method"), row.at("model_method")) << what;
  ExpectFigure(model->getValue<double>("estimate"), row.at("model_estimate"), what + " model estimate");
  ExpectFigure(model->getValue<double>("se"), row.at("model_se"), what + " model se");
  ExpectFigure(model->getArray("ci")->getElement<double>(0), row.at("model_ci_low"), what + " model ci");
  ExpectFigure(model->getArray("ci")->getElement<double>(1), row.at("model_ci_high"), what + " model ci");
  const std::string reason = model->getValue<std::string>("reason");
  EXPECT_EQ(reason, row.at("n") == "0" ? "no_respondents"
                    : suppressed       ? "suppressed"
                    : wide             ? "wide"
                                       : "requested")
      << what;
  return reason;
}

// The /indices answer for `area`, `period` and `level` against the aggregator's rows: the summary of the
// area and every row at `level`, each row at that level. Returns how many values were compared.
std::size_t ExpectIndicesAreTheBatch(const Reply& r, const Batch& batch, const std::string& area,
                                     const std::string& period, const std::string& level) {
  const std::string what = area + " " + period + " level=" + level;
  EXPECT_EQ(r.status, 200) << what << ": " << r.body;
  if (r.status != 200) return 0;
  auto doc = Json(r.body);
  for (const auto& index : kIndices) {
    ExpectSameFigures(doc->getObject("summary")->getObject(index),
                      batch.at(period + "|" + area + "|" + index), what + " summary " + index);
  }
  auto rows = doc->getArray("rows");
  std::size_t compared = 0;
  for (unsigned i = 0; i < rows->size(); ++i) {
    const std::string code = rows->getObject(i)->getValue<std::string>("code");
    EXPECT_EQ(rows->getObject(i)->getValue<std::string>("level"), level) << what << " " << code;
    for (const auto& index : kIndices) {
      auto it = batch.find(period + "|" + code + "|" + index);
      auto v = rows->getObject(i)->getObject("values")->getObject(index);
      if (it == batch.end()) {
        EXPECT_FALSE(v) << what << " " << code << " " << index << " shown without a computed row";
        continue;
      }
      ExpectSameFigures(v, it->second, what + " " + code + " " + index);
      ExpectVsParentIsTheBatch(v, batch, period, code, index, what + " " + code + " " + index);
      ++compared;
    }
  }
  return compared;
}

// The indices.csv download against the aggregator's rows, every figure of every row; returns the rows.
std::size_t ExpectCsvIsTheBatch(const Reply& csv, const Batch& batch, const std::string& what) {
  EXPECT_EQ(csv.status, 200) << what << ": " << csv.body;
  std::istringstream in(csv.body);
  CsvReader reader(in);
  std::vector<std::string> header, fields;
  if (!reader.Next(header, nullptr)) return 0;
  std::map<std::string, std::size_t> col;
  for (std::size_t i = 0; i < header.size(); ++i) col[header[i]] = i;
  std::size_t csv_rows = 0;
  while (reader.Next(fields, nullptr)) {
    if (fields.empty()) continue;
    EXPECT_EQ(fields.size(), header.size()) << what;
    if (fields.size() != header.size()) continue;
    const std::string row_what = what + " " + fields[col.at("area_code")] + " " + fields[col.at("index")];
    const auto& row = batch.at(fields[col.at("period")] + "|" + fields[col.at("area_code")] + "|" +
                               fields[col.at("index")]);
    for (const char* name : {"estimate", "se", "ci_low", "ci_high", "n_eff"}) {
      const std::string& text = fields[col.at(name)];  // empty: undefined (a town without respondents)
      EXPECT_TRUE(SameFigure(text.empty() ? std::nan("") : std::stod(text), row.at(name)))
          << row_what << " " << name << ": '" << text << "' shown, '" << row.at(name) << "' computed";
    }
    EXPECT_EQ(fields[col.at("n")], row.at("n")) << row_what;
    ++csv_rows;
  }
  return csv_rows;
}

// What officials and statisticians see must be the aggregator's figures, field by field: the JSON of
// /indices and /trend and the indices.csv download, against `aggregate --csv` over the same store, at
// every level (a county's towns, a city's counties, the province's cities and counties, the province).
// Other tests post 2025 responses in city 3208, which the live aggregation then reflects: 2025 is read
// outside it, the province (which holds it) in the year before.
TEST_F(DashboardTest, ShownFiguresAreTheAggregatorsFigures) {
  const Batch batch = BatchRows(dir_->File("batch.csv"));
  ASSERT_GT(batch.size(), 1000U);
  std::string county, earlier;
  long best_n = 0;
  for (const auto& [key, row] : batch) {
    const std::string& area = row.at("area");
    if (row.at("period").size() == 4 && row.at("period") < "2025" && row.at("period") > earlier)
      earlier = row.at("period");
    if (row.at("period") != "2025" || row.at("index") != "security" || area.size() != 6 ||
        area.rfind("3208", 0) == 0)
      continue;
    if (std::stol(row.at("n")) > best_n) best_n = std::stol(row.at("n")), county = area;
  }
  ASSERT_FALSE(county.empty());
  ASSERT_FALSE(earlier.empty());
  const std::string city = county.substr(0, 4);
  const Login stat = LogIn("stat1");

  struct View {
    std::string area, period, level;
    std::size_t at_least;  // values compared at least (two indices per row)
  };
  const std::vector<View> views = {{county, "2025", "town", 20},
                                   {city, "2025", "county", 4},
                                   {"32", earlier, "city", 20},
                                   {"32", earlier, "county", 150},
                                   {"32", earlier, "province", 2}};
  for (const View& v : views) {
    const std::string query = "?area=" + v.area + "&period=" + v.period + "&level=" + v.level;
    const std::size_t compared =
        ExpectIndicesAreTheBatch(Get(stat, "/api/v1/indices" + query), batch, v.area, v.period, v.level);
    EXPECT_GE(compared, v.at_least) << query;
    // The download lists the area itself first (unless it is at `level`), then the rows.
    const std::size_t csv_rows = ExpectCsvIsTheBatch(Get(stat, "/api/v1/indices.csv" + query), batch, query);
    EXPECT_EQ(csv_rows, compared + (v.level == "province" ? 0 : kIndices.size())) << query;
  }

  // The trend of a city, and of the province compared with the county and one of its towns.
  Reply trend = Get(stat, "/api/v1/trend?area=" + city + "&index=grid");
  ASSERT_EQ(trend.status, 200) << trend.body;
  auto points = Json(trend.body)->getArray("series")->getObject(0)->getArray("points");
  ASSERT_EQ(points->size(), 7U);
  for (unsigned i = 0; i < points->size(); ++i) {
    auto p = points->getObject(i);
    const std::string period = p->getValue<std::string>("period");
    ExpectSameFigures(p, batch.at(period + "|" + city + "|grid"), "trend " + city + " grid " + period);
  }
  std::string town;  // the county's first town with figures
  for (auto it = batch.lower_bound("2025|" + county); it != batch.end() && town.empty(); ++it) {
    const std::string& area = it->second.at("area");
    if (it->second.at("period") != "2025" || area.rfind(county, 0) != 0) break;
    if (area.size() == 9) town = area;
  }
  ASSERT_FALSE(town.empty());
  Reply compared = Get(stat, "/api/v1/trend?area=32&compare=" + county + "," + town);
  ASSERT_EQ(compared.status, 200) << compared.body;
  auto series = Json(compared.body)->getArray("series");
  ASSERT_EQ(series->size(), 3 * kIndices.size());
  std::size_t shown = 0;
  for (unsigned s = 0; s < series->size(); ++s) {
    const std::string area = series->getObject(s)->getObject("area")->getValue<std::string>("code");
    const std::string index = series->getObject(s)->getValue<std::string>("index");
    auto pts = series->getObject(s)->getArray("points");
    for (unsigned i = 0; i < pts->size(); ++i) {
      auto p = pts->getObject(i);
      const std::string period = p->getValue<std::string>("period");
      if (area == "32" && period == "2025") continue;
      ExpectSameFigures(p, batch.at(period + "|" + area + "|" + index),
                        "trend " + area + " " + index + " " + period);
      ++shown;
    }
  }
  EXPECT_GT(shown, 20U);
}

// Issue 14: a town table shows the model-based figure (模型估计, with its interval) where the direct one is
// suppressed for the viewer or its interval is wider than 10 points, and beside every direct one with
// model=both; indices.csv carries it for every modelled town. The figures are the aggregator's (`aggregate
// --csv`). Read in the year before 2025, whose fit the other tests' 2025 posts do not move.
TEST_F(DashboardTest, TownTablesShowTheModelBasedFigureWhereTheDirectOneFallsShort) {
  const Batch batch = BatchRows(dir_->File("batch.csv"));
  std::string earlier;
  std::map<std::string, int> modelled;  // county → its towns with a model-based figure
  for (const auto& [key, row] : batch) {
    if (row.at("period").size() == 4 && row.at("period") < "2025" && row.at("period") > earlier)
      earlier = row.at("period");
  }
  for (const auto& [key, row] : batch) {
    const std::string& method = row.at("model_method");
    if (row.at("period") == earlier && row.at("level") == "town" && row.at("area").rfind("3208", 0) != 0 &&
        (method == "eblup" || method == "synthetic")) {
      ++modelled[row.at("area").substr(0, 6)];
    }
  }
  ASSERT_FALSE(modelled.empty()) << "the demo data give the model no town in " << earlier;
  std::string county;
  for (const auto& [code, count] : modelled) {
    if (county.empty() || count > modelled[county]) county = code;
  }
  const std::string query = "/api/v1/indices?area=" + county + "&period=" + earlier + "&level=town";
  int suppressed_shown = 0, wide_shown = 0, requested_shown = 0;
  for (const std::string user : {"prov1", "stat1"}) {  // an official (low-n suppressed) and a statistician
    const Login who = LogIn(user);
    for (const bool both : {false, true}) {
      const Reply r = Get(who, query + (both ? "&model=both" : ""));
      ASSERT_EQ(r.status, 200) << r.body;
      auto rows = Json(r.body)->getArray("rows");
      int shown = 0;
      for (unsigned i = 0; i < rows->size(); ++i) {
        const std::string code = rows->getObject(i)->getValue<std::string>("code");
        for (const auto& index : kIndices) {
          auto v = rows->getObject(i)->getObject("values")->getObject(index);
          const auto it = batch.find(earlier + "|" + code + "|" + index);
          if (!v || it == batch.end()) continue;
          const auto& row = it->second;
          const std::string what = user + " " + code + " " + index + (both ? " both" : "");
          const std::string reason = ExpectModelByTheRule(v, row, both, what);
          if (reason.empty()) continue;
          ++shown;
          suppressed_shown += reason == "suppressed";
          wide_shown += reason == "wide";
          requested_shown += reason == "requested";
        }
      }
      if (both) {
        EXPECT_EQ(shown, modelled[county]) << user << ": every modelled town row, with model=both";
      }
    }
  }
  EXPECT_GT(suppressed_shown + wide_shown, 0) << "no direct figure of " << county << " falls short";
  EXPECT_GT(requested_shown, 0) << "model=both shows the model beside narrow direct intervals too";
  const Login stat = LogIn("stat1");
  EXPECT_EQ(Get(stat, query + "&model=all").status, 400);
  // The download: the model columns of every modelled town.
  const Reply csv = Get(stat, "/api/v1/indices.csv?area=" + county + "&period=" + earlier + "&level=town");
  ASSERT_EQ(csv.status, 200);
  std::istringstream in(csv.body.substr(3));
  CsvReader reader(in);
  std::vector<std::string> header, fields;
  ASSERT_TRUE(reader.Next(header, nullptr));
  std::map<std::string, std::size_t> col;
  for (std::size_t i = 0; i < header.size(); ++i) col[header[i]] = i;
  int csv_modelled = 0;
  while (reader.Next(fields, nullptr)) {
    if (fields.size() != header.size()) continue;
    const auto& row = batch.at(earlier + "|" + fields[col["area_code"]] + "|" + fields[col["index"]]);
    const bool model_based = row.at("model_method") == "eblup" || row.at("model_method") == "synthetic";
    EXPECT_EQ(fields[col["model_method"]], model_based ? row.at("model_method") : "");
    if (!model_based) continue;
    ++csv_modelled;
    ExpectFigure(std::stod(fields[col["model_estimate"]]), row.at("model_estimate"), "csv model_estimate");
    ExpectFigure(std::stod(fields[col["model_ci_high"]]), row.at("model_ci_high"), "csv model_ci_high");
  }
  EXPECT_EQ(csv_modelled, modelled[county]);
}

// Issue 14: a town's trend shows its model-based figure (模型估计) where its town table does — the direct
// figure suppressed for the viewer or wide, or no respondents at all (n = 0: the synthetic estimate) — and
// beside every direct one with model=both. Every point's figures are the stored rows' (`aggregate --csv`)
// and its model figure is the one the town table of that period shows. Years before 2025 (other tests post
// 2025 responses, which the live aggregation then reflects).
TEST_F(DashboardTest, TrendShowsTheModelBasedTownFigureAsTheTownTable) {
  const Batch batch = BatchRows(dir_->File("batch.csv"));
  // Towns outside city 3208 with, in a year before 2025, a synthetic figure (no respondents), an EBLUP
  // beside a low-n direct figure, and an EBLUP beside a narrow direct interval.
  std::string empty_town, low_town, narrow_town;
  for (const auto& [key, row] : batch) {
    if (row.at("level") != "town" || row.at("period") >= "2025" || row.at("area").rfind("3208", 0) == 0)
      continue;
    const std::string& method = row.at("model_method");
    if (method == "synthetic" && empty_town.empty()) empty_town = row.at("area");
    if (method == "eblup" && row.at("low_n") == "true" && low_town.empty()) low_town = row.at("area");
    if (method == "eblup" && narrow_town.empty() &&
        std::stod(row.at("ci_high")) - std::stod(row.at("ci_low")) <= 0.10)
      narrow_town = row.at("area");
  }
  ASSERT_FALSE(empty_town.empty()) << "no town without respondents got a synthetic figure";
  ASSERT_FALSE(low_town.empty());
  ASSERT_FALSE(narrow_town.empty());
  // The `model` member of a VALUE as text ("" when absent), to compare the trend with the town table.
  auto model_text = [](const Poco::JSON::Object::Ptr& v) {
    auto model = v->getObject("model");
    if (!model) return std::string();
    std::ostringstream out;
    model->stringify(out);
    return out.str();
  };
  int points_compared = 0, no_respondents = 0, requested = 0, shown_where_needed = 0;
  for (const std::string user : {"prov1", "stat1"}) {  // an official (low-n suppressed) and a statistician
    const Login who = LogIn(user);
    for (const bool both : {false, true}) {
      for (const std::string& town : {empty_town, low_town, narrow_town}) {
        const std::string view = both ? "&model=both" : "";
        const Reply r = Get(who, "/api/v1/trend?area=" + town + view);
        ASSERT_EQ(r.status, 200) << r.body;
        auto series = Json(r.body)->getArray("series");
        ASSERT_EQ(series->size(), kIndices.size());
        for (unsigned s = 0; s < series->size(); ++s) {
          const std::string index = series->getObject(s)->getValue<std::string>("index");
          auto points = series->getObject(s)->getArray("points");
          std::set<std::string> periods_shown;
          for (unsigned i = 0; i < points->size(); ++i) {
            auto p = points->getObject(i);
            const std::string period = p->getValue<std::string>("period");
            if (period >= "2025") continue;
            periods_shown.insert(period);
            const std::string what = user + " " + town + " " + index + " " + period + (both ? " both" : "");
            const auto it = batch.find(period + "|" + town + "|" + index);
            ASSERT_NE(it, batch.end()) << what << ": a point without a stored row";
            const auto& row = it->second;
            const bool suppressed = p->getValue<bool>("suppressed");
            EXPECT_EQ(suppressed, user == "prov1" && row.at("low_n") == "true") << what;
            if (!suppressed) ExpectSameFigures(p, row, what);
            const std::string reason = ExpectModelByTheRule(p, row, both, what);
            no_respondents += reason == "no_respondents";
            requested += reason == "requested";
            shown_where_needed += !both && !reason.empty();
            if (row.at("n") == "0") EXPECT_TRUE(p->isNull("estimate")) << what;
            // The town table of that period shows the same model figure for the town.
            const Reply table = Get(who, "/api/v1/indices?area=" + town.substr(0, 6) + "&period=" + period +
                                             "&level=town" + view);
            ASSERT_EQ(table.status, 200) << table.body;
            auto rows = Json(table.body)->getArray("rows");
            bool found = false;
            for (unsigned k = 0; k < rows->size(); ++k) {
              if (rows->getObject(k)->getValue<std::string>("code") != town) continue;
              found = true;
              EXPECT_EQ(model_text(p), model_text(rows->getObject(k)->getObject("values")->getObject(index)))
                  << what;
            }
            EXPECT_TRUE(found) << what;
            ++points_compared;
          }
          // Every stored row of the town before 2025 is a point.
          for (const auto& [key, row] : batch) {
            if (row.at("area") == town && row.at("index") == index && row.at("period") < "2025")
              EXPECT_EQ(periods_shown.count(row.at("period")), 1u) << town << " " << index << " " << key;
          }
        }
      }
    }
  }
  EXPECT_GT(points_compared, 20);
  EXPECT_GT(no_respondents, 0) << empty_town << ": the synthetic figure of a town without respondents";
  EXPECT_GT(shown_where_needed, 0)
      << "without model=both the model is shown where the direct figure falls short";
  EXPECT_GT(requested, 0) << "model=both shows it beside narrow direct intervals too";
  const Login stat = LogIn("stat1");
  EXPECT_EQ(Get(stat, "/api/v1/trend?area=" + low_town + "&model=all").status, 400);
}

// Area names that a spreadsheet would run as formulas (=, +, @) are text in the indices.csv download:
// the documented apostrophe in front (core/csv_cell.h), quoted where they hold a comma or a quote; the
// JSON shows them as they are.
TEST_F(DashboardTest, FormulaLikeAreaNamesAreTextInTheCsvDownload) {
  const Login stat = LogIn("stat1");
  Reply csv = Get(stat, "/api/v1/indices.csv?area=320102&period=2025&level=town");
  ASSERT_EQ(csv.status, 200) << csv.body;
  std::istringstream in(csv.body);
  CsvReader reader(in);
  std::vector<std::string> header, fields;
  ASSERT_TRUE(reader.Next(header, nullptr));
  ASSERT_GE(header.size(), 2U);
  ASSERT_EQ(header[1], "area_name");
  std::map<std::string, std::string> names;  // area code → the name cell
  while (reader.Next(fields, nullptr)) {
    if (fields.size() >= 2) names[fields[0]] = fields[1];
  }
  for (const auto& [code, name] : kFormulaNames) {
    ASSERT_EQ(names.count(code), 1U) << code << " is in the download";
    EXPECT_EQ(names[code], "'" + name) << code;
  }
  for (const char* raw : {",=HYPERLINK", ",\"=HYPERLINK", ",+cmd", ",@SUM"}) {
    EXPECT_EQ(csv.body.find(raw), std::string::npos) << raw;
  }

  Reply json = Get(stat, "/api/v1/indices?area=320102&period=2025&level=town");
  ASSERT_EQ(json.status, 200) << json.body;
  auto doc = Json(json.body);
  EXPECT_EQ(doc->getObject("area")->getValue<std::string>("name"), kFormulaNames.at("320102"));
  auto rows = doc->getArray("rows");
  std::size_t named = 0;
  for (unsigned i = 0; i < rows->size(); ++i) {
    auto it = kFormulaNames.find(rows->getObject(i)->getValue<std::string>("code"));
    if (it == kFormulaNames.end()) continue;
    EXPECT_EQ(rows->getObject(i)->getValue<std::string>("name"), it->second);
    ++named;
  }
  EXPECT_EQ(named, 2U);
}

TEST_F(DashboardTest, IndicesCarryEstimatesCiChangeAndSuppressLowNForOfficials) {
  const Login county = LogIn("county1");
  const Login stat = LogIn("stat1");
  Reply r = Get(county, "/api/v1/indices?area=320812&period=2025&level=town");
  ASSERT_EQ(r.status, 200) << r.body;
  auto doc = Json(r.body);
  EXPECT_EQ(doc->getValue<std::string>("period"), "2025");
  EXPECT_EQ(doc->getValue<std::string>("level"), "town");
  EXPECT_FALSE(doc->getValue<std::string>("computed_at").empty());
  auto summary = doc->getObject("summary")->getObject("security");
  ASSERT_TRUE(summary);
  for (const char* key : {"estimate", "se", "ci", "n", "n_eff", "low_n", "change", "change_significant"}) {
    EXPECT_TRUE(summary->has(key)) << key;
  }
  auto rows = doc->getArray("rows");
  ASSERT_GT(rows->size(), 5U);
  // Find a low-n town: the official sees it flagged and empty, the statistician flagged with values.
  std::string low_town;
  for (unsigned i = 0; i < rows->size(); ++i) {
    auto v = rows->getObject(i)->getObject("values")->getObject("security");
    if (v && v->getValue<bool>("low_n")) {
      EXPECT_TRUE(v->getValue<bool>("suppressed"));
      EXPECT_TRUE(v->isNull("estimate"));
      EXPECT_TRUE(v->isNull("change"));
      low_town = rows->getObject(i)->getValue<std::string>("code");
      break;
    }
  }
  ASSERT_FALSE(low_town.empty()) << "the small demo has low-n towns";
  Reply s = Get(stat, "/api/v1/indices?area=" + low_town + "&period=2025");
  ASSERT_EQ(s.status, 200);
  auto v = Json(s.body)->getObject("summary")->getObject("security");
  EXPECT_TRUE(v->getValue<bool>("low_n"));
  EXPECT_FALSE(v->getValue<bool>("suppressed"));
  EXPECT_FALSE(v->isNull("estimate"));

  // Bad parameters are 400/404 with a reason, never a crash.
  EXPECT_EQ(Get(county, "/api/v1/indices?area=320812&level=city").status, 400);
  EXPECT_EQ(Get(county, "/api/v1/indices?area=320812&level=street").status, 400);
  EXPECT_EQ(Get(county, "/api/v1/indices?area=320812&period=1999").status, 404);
  EXPECT_EQ(Get(county, "/api/v1/indices?area=320812&period=20x5").status, 400);
  EXPECT_EQ(Get(county, "/api/v1/indices").status, 400);
  EXPECT_EQ(Get(county, "/api/v1/trend?area=320812&index=nope").status, 400);

  Reply trend = Get(county, "/api/v1/trend?area=320812&index=security");
  ASSERT_EQ(trend.status, 200);
  auto series = Json(trend.body)->getArray("series");
  ASSERT_EQ(series->size(), 1U);
  EXPECT_EQ(series->getObject(0)->getArray("points")->size(), 7U);  // 2019..2025

  Reply channels = Get(county, "/api/v1/channels?area=320812");
  ASSERT_EQ(channels.status, 200);
  EXPECT_EQ(Json(channels.body)->getArray("years")->size(), 7U);
  Reply comments = Get(county, "/api/v1/comments?area=320812");
  ASSERT_EQ(comments.status, 200);
  EXPECT_GT(Json(comments.body)->getArray("topics")->size(), 5U);
}

TEST_F(DashboardTest, AdminApiNeedsAdminAndCsrf) {
  const Login admin = LogIn("admin1");
  const Login county = LogIn("county1");
  EXPECT_EQ(Get(admin, "/api/v1/users").status, 200);
  EXPECT_EQ(Get(county, "/api/v1/users").status, 403);
  EXPECT_EQ(Get(LogIn("stat1"), "/api/v1/audit").status, 403);
  const std::string body =
      R"({"username":"newcounty","role":"official","areas":["320803"],"password":")" + TestPassword("newcounty") + "\"}";
  std::map<std::string, std::string> headers = {{"Cookie", admin.cookie}, {"Content-Type", "application/json"}};
  EXPECT_EQ(Send(Port(), "POST", "/api/v1/users", body, headers).status, 403);  // no CSRF token
  headers["X-CSRF-Token"] = county.csrf;                                        // somebody else's
  EXPECT_EQ(Send(Port(), "POST", "/api/v1/users", body, headers).status, 403);
  headers["X-CSRF-Token"] = admin.csrf;
  Reply created = Send(Port(), "POST", "/api/v1/users", body, headers);
  EXPECT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(Send(Port(), "POST", "/api/v1/users", body, headers).status, 409);
  // The county official may not create accounts even with its own token.
  EXPECT_EQ(Send(Port(), "POST", "/api/v1/users", body,
                 {{"Cookie", county.cookie}, {"X-CSRF-Token", county.csrf}, {"Content-Type", "application/json"}})
                .status,
            403);
  const Login fresh = LogIn("newcounty");
  EXPECT_EQ(Get(fresh, "/api/v1/indices?area=320803").status, 200);
  EXPECT_EQ(Get(fresh, "/api/v1/indices?area=320812").status, 403);
  // Disabling ends its session at once.
  EXPECT_EQ(Send(Port(), "POST", "/api/v1/users/newcounty/disable", "", headers).status, 200);
  EXPECT_EQ(Get(fresh, "/api/v1/indices?area=320803").status, 401);
}

TEST_F(DashboardTest, LogoutCookiesAndLoginRules) {
  Reply r = Send(Port(), "POST", "/api/v1/login", R"({"username":"county1","password":")" + TestPassword("county1") + "\"}",
                 {{"Content-Type", "application/json"}});
  ASSERT_EQ(r.status, 200);
  ASSERT_EQ(r.cookies.size(), 1U);
  const std::string& cookie = r.cookies.front();
  EXPECT_NE(cookie.find("HttpOnly"), std::string::npos);
  EXPECT_NE(cookie.find("SameSite=Strict"), std::string::npos);
  EXPECT_NE(cookie.find("Max-Age="), std::string::npos);
  const Login who{cookie.substr(0, cookie.find(';')), Json(r.body)->getValue<std::string>("csrf_token")};
  // A form post (not JSON) is refused: login CSRF from another site.
  EXPECT_EQ(Send(Port(), "POST", "/api/v1/login", "username=county1&password=x",
                 {{"Content-Type", "application/x-www-form-urlencoded"}})
                .status,
            415);
  EXPECT_EQ(Send(Port(), "POST", "/api/v1/logout", "", {{"Cookie", who.cookie}}).status, 403);  // no CSRF
  Reply out = Send(Port(), "POST", "/api/v1/logout", "", {{"Cookie", who.cookie}, {"X-CSRF-Token", who.csrf}});
  EXPECT_EQ(out.status, 200);
  ASSERT_FALSE(out.cookies.empty());
  EXPECT_NE(out.cookies.front().find("Max-Age=0"), std::string::npos);
  EXPECT_EQ(Get(who, "/api/v1/indices?area=320812").status, 401);
}

TEST_F(DashboardTest, FailedLoginsAreThrottledAndEverythingIsAudited) {
  for (int i = 0; i < 5; ++i) {
    Reply r = Send(Port(), "POST", "/api/v1/login", R"({"username":"victim","password":"wrong-password"})",
                   {{"Content-Type", "application/json"}});
    EXPECT_EQ(r.status, 401);
    EXPECT_EQ(r.body.find("victim"), std::string::npos);  // the same answer for every failure
  }
  Reply locked = Send(Port(), "POST", "/api/v1/login", R"({"username":"victim","password":")" + TestPassword("victim") + "\"}",
                      {{"Content-Type", "application/json"}});
  EXPECT_EQ(locked.status, 429);
  EXPECT_FALSE(locked.headers["Retry-After"].empty());

  const Login county = LogIn("county1");
  EXPECT_EQ(Get(county, "/api/v1/indices?area=320812002").status, 200);  // another area than its own
  EXPECT_EQ(Get(county, "/api/v1/indices.csv?area=320812&period=2025").status, 200);
  const Login admin = LogIn("admin1");
  Reply audit = Get(admin, "/api/v1/audit?limit=500");
  ASSERT_EQ(audit.status, 200);
  auto events = Json(audit.body)->getArray("events");
  std::map<std::string, int> seen;
  bool viewed_town = false, exported = false;
  for (unsigned i = 0; i < events->size(); ++i) {
    auto e = events->getObject(i);
    const std::string action = e->getValue<std::string>("action");
    ++seen[action];
    viewed_town |= action == "view_area" && e->getValue<std::string>("area_code") == "320812002";
    exported |= action == "export" && e->getValue<std::string>("username") == "county1";
  }
  EXPECT_GE(seen["login"], 2);
  EXPECT_GE(seen["login_failed"], 5);
  EXPECT_GE(seen["login_throttled"], 1);
  EXPECT_TRUE(viewed_town);
  EXPECT_TRUE(exported);
}

// Logins against a server of their own (their attempts must not use up the shared server's), with
// an https public URL.
class LoginHardeningTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = std::make_unique<TempDir>();
    global_ = {"-D", "store.sqlite.path=" + dir_->File("minyi.db"),
               "-D", "collector.secret_file=" + dir_->File("secret"),
               "-D", "log.level=warn",
               "-D", "aggregator.interval_ms=0",
               "-D", "http.public_url=HTTPS://minyi.example.gov.cn"};
    for (const char* user : {"target", "second"}) {
      RunResult r = AddUser(global_, {user, "--role", "official", "--area", "320812"}, TestPassword(user));
      EXPECT_EQ(r.exit_code, 0) << r.err;
    }
    std::vector<std::string> serve = global_;
    // 60 parallel logins from one address: more than the per-address connection cap, which is not
    // what this test measures.
    serve.insert(serve.end(), {"-D", "http.port=0", "-D", "http.max_connections_per_address=0"});
    server_ = std::make_unique<ServerProcess>(serve);
  }
  static void TearDownTestSuite() {
    server_.reset();  // before the directory it writes to
    dir_.reset();
  }

  struct Tally {
    int ok = 0, unauthorized = 0, throttled = 0, other = 0;
    bool retry_after_on_every_429 = true;
  };
  // Sends every (username, password) login at once, from `source`, and counts the answers.
  static Tally ParallelLogins(const std::string& source,
                              const std::vector<std::pair<std::string, std::string>>& attempts) {
    std::promise<void> go;
    std::shared_future<void> start = go.get_future().share();
    std::vector<std::future<Reply>> replies;
    for (const auto& [user, password] : attempts) {
      replies.push_back(std::async(std::launch::async, [&, user = user, password = password] {
        start.wait();
        return LoginFrom(source, server_->port(), user, password);
      }));
    }
    go.set_value();
    Tally t;
    for (auto& f : replies) {
      Reply r = f.get();
      if (r.status == 200) {
        ++t.ok;
      } else if (r.status == 401) {
        ++t.unauthorized;
      } else if (r.status == 429) {
        ++t.throttled;
        if (r.headers["Retry-After"].empty() || std::stoi(r.headers["Retry-After"]) < 1) {
          t.retry_after_on_every_429 = false;
        }
      } else {
        ++t.other;
      }
    }
    return t;
  }

  static inline std::unique_ptr<TempDir> dir_;
  static inline std::unique_ptr<ServerProcess> server_;
  static inline std::vector<std::string> global_;
};

// Regression (issue 13): 40 parallel attempts on one account (39 wrong, 1 right) got 39x401 and a 200,
// and 300 from one address only 25x429 against a limit of 20: the throttle counted finished attempts
// only. Now exactly the limit's worth of passwords is checked (dashboard.login_max_failures_per_account
// = 5, ..._per_address = 20); every other attempt gets 429 with Retry-After.
TEST_F(LoginHardeningTest, ParallelLoginsCheckAtMostTheLimitOfPasswords) {
  ASSERT_TRUE(server_->started()) << server_->log();
  std::vector<std::pair<std::string, std::string>> on_account(39, {"target", "wrong-password-for-target"});
  on_account.emplace_back("target", TestPassword("target"));
  Tally account = ParallelLogins("127.0.0.2", on_account);
  EXPECT_EQ(account.ok + account.unauthorized, 5) << account.ok << " let in, " << account.unauthorized << " refused";
  EXPECT_EQ(account.throttled, 35);
  EXPECT_EQ(account.other, 0);
  EXPECT_TRUE(account.retry_after_on_every_429);

  std::vector<std::pair<std::string, std::string>> from_address;
  for (int i = 0; i < 60; ++i) from_address.emplace_back("ghost" + std::to_string(i), "wrong-password-ghost");
  Tally address = ParallelLogins("127.0.0.3", from_address);
  EXPECT_EQ(address.unauthorized, 20);
  EXPECT_EQ(address.throttled, 40);
  EXPECT_EQ(address.ok + address.other, 0);
  EXPECT_TRUE(address.retry_after_on_every_429);
  // Another address may still log in to an account that was not attacked.
  EXPECT_EQ(LoginFrom("127.0.0.4", server_->port(), "second", TestPassword("second")).status, 200);
}

// Regression (issue 13): with an https public URL the session cookie was sent without Secure.
TEST_F(LoginHardeningTest, SessionCookieIsSecureWhenThePublicUrlIsHttps) {
  ASSERT_TRUE(server_->started()) << server_->log();
  Reply r = LoginFrom("127.0.0.5", server_->port(), "second", TestPassword("second"));
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(r.cookies.size(), 1U);
  EXPECT_NE(r.cookies.front().find("minyi_session="), std::string::npos);
  EXPECT_NE(r.cookies.front().find("; Secure"), std::string::npos) << r.cookies.front();
}

// Regression (issue 13): `minyi user audit` printed the user names typed at the login page raw, so a
// login attempt could send escape sequences to the operator's terminal.
TEST_F(LoginHardeningTest, UserAuditNeutralisesEscapeSequencesFromLoginAttempts) {
  ASSERT_TRUE(server_->started()) << server_->log();
  const std::string hostile = "\x1b]0;owned\x07\x1b[2J\xc2\x9b" "31m\r\nforged";
  EXPECT_EQ(LoginFrom("127.0.0.6", server_->port(), hostile, "wrong-password-hostile").status, 401);
  std::vector<std::string> audit = global_;
  audit.insert(audit.end(), {"user", "audit"});
  RunResult r = RunMinyi(audit);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.find('\x1b'), std::string::npos);
  EXPECT_EQ(r.out.find('\x07'), std::string::npos);
  EXPECT_EQ(r.out.find('\r'), std::string::npos);
  EXPECT_EQ(r.out.find("\nforged"), std::string::npos);
  EXPECT_EQ(r.out.find("\xc2\x9b"), std::string::npos);
  EXPECT_NE(r.out.find("\\x1b]0;owned\\x07\\x1b[2J\\u009b31m\\x0d\\x0aforged"), std::string::npos) << r.out;
}

TEST_F(DashboardTest, PagesAndAssetsAreServedWithCsp) {
  for (const std::string path : {"/login", "/dashboard", "/admin", "/assets/dashboard.js", "/assets/style.css"}) {
    Reply r = Send(Port(), "GET", path);
    EXPECT_EQ(r.status, 200) << path;
    EXPECT_NE(r.headers["Content-Security-Policy"].find("default-src 'self'"), std::string::npos) << path;
    EXPECT_EQ(r.body.find("<script>"), std::string::npos) << path;  // no inline scripts
  }
  EXPECT_EQ(Send(Port(), "GET", "/assets/..%2F..%2Fetc%2Fpasswd").status, 404);
  EXPECT_EQ(Send(Port(), "GET", "/assets/login.html").status, 404);
}

// The map's boundaries (issue 14): the province's and each registry city's file from npm, nothing else
// (needs `npm ci` in dashboards/web, as ./minyi.sh does), and the alias table as text.
TEST_F(DashboardTest, OnlyTheRegistryProvinceAndCityMapsAreServed) {
  for (const std::string code : {"32", "3201", "3208", "3213"}) {
    Reply r = Send(Port(), "GET", "/assets/map-" + code + ".js");
    EXPECT_EQ(r.status, 200) << code << " (npm ci in dashboards/web installs the boundaries)";
    EXPECT_NE(r.body.find("registerMap"), std::string::npos) << code;
  }
  for (const std::string name : {"map-320812.js", "map-4101.js", "map-.js", "map-32.json"}) {
    EXPECT_EQ(Send(Port(), "GET", "/assets/" + name).status, 404) << name;
  }
  Reply aliases = Send(Port(), "GET", "/assets/map_aliases.txt");
  EXPECT_EQ(aliases.status, 200);
  EXPECT_EQ(aliases.headers["Content-Type"].rfind("text/plain", 0), 0u) << aliases.headers["Content-Type"];
  EXPECT_NE(aliases.body.find("320613"), std::string::npos);
}

}  // namespace
}  // namespace minyi::testing
