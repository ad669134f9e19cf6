// The access matrix, derived from the router itself (issue 13): `minyi serve --routes-file` lists every
// registered (method, pattern); each is called as anonymous, with a forged session, and as every role,
// with every area-taking parameter (area, compare, town) set outside the caller's scope.
//
// Every route must appear in kPolicies below with the access it grants. A route added without an entry
// fails the suite (so whoever adds it has to say who may call it), and so does an entry whose route is
// gone. The expectations are generic, not per route: a route that is not public must refuse anonymous
// and forged callers, an admin route every other role, an area route every caller whose scope does not
// hold the area; and no call of any route by anyone may answer 5xx.
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <gtest/gtest.h>

#include <cctype>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "tests/integration/minyi_process.h"
#include "tests/integration/web_http.h"

namespace minyi::testing {
namespace {

enum class Access {
  kPublic,       // anyone: pages without data, the status page, the resident survey, login
  kCredential,   // its own credential instead of a session: API key, webhook token or signature
  kSignedIn,     // any session (what it shows is the caller's own)
  kDashboard,    // a dashboard role; the data is scoped to the session's area inside the handler
  kArea,         // a dashboard role and `area` (and `compare`) inside the caller's scope
  kUpload,       // grid workers and officials, `town`/`area` inside the caller's scope
  kAdmin,        // administrators only
};

struct Policy {
  std::string method;
  std::string pattern;
  Access access;
};

// Who may call what. Keep in the order of registration when adding a route.
const std::vector<Policy> kPolicies = {
    // Prometheus scrapes: metrics.allow_from or the scrape token (metrics.token_file). The matrix's server
    // allows no address of the test's, so every identity must be refused.
    {"GET", "/metrics", Access::kCredential},
    {"GET", "/healthz", Access::kPublic},
    {"GET", "/readyz", Access::kPublic},
    {"GET", "/api/v1/openapi.json", Access::kPublic},
    {"POST", "/api/v1/responses", Access::kCredential},
    {"POST", "/api/v1/responses:batch", Access::kCredential},
    {"GET", "/s/{survey}", Access::kPublic},
    {"POST", "/s/{survey}", Access::kPublic},
    {"GET", "/static/web.css", Access::kPublic},
    {"GET", "/static/web.js", Access::kPublic},
    {"POST", "/api/v1/sms/{provider}", Access::kCredential},
    {"POST", "/api/v1/sms/{provider}/{token}", Access::kCredential},
    {"POST", "/api/v1/questionnaire/wjx", Access::kCredential},
    {"POST", "/api/v1/questionnaire/txwj/{token}", Access::kCredential},
    {"GET", "/", Access::kPublic},
    {"GET", "/api/v1/status", Access::kPublic},
    {"GET", "/login", Access::kPublic},
    {"GET", "/dashboard", Access::kPublic},  // the page only; its data comes from the guarded API
    {"GET", "/admin", Access::kPublic},      // the page only
    {"GET", "/assets/{file}", Access::kPublic},
    {"POST", "/api/v1/login", Access::kPublic},
    {"POST", "/api/v1/logout", Access::kSignedIn},
    {"GET", "/api/v1/me", Access::kSignedIn},
    {"GET", "/api/v1/indices", Access::kArea},
    {"GET", "/api/v1/indices.csv", Access::kArea},
    {"GET", "/api/v1/trend", Access::kArea},
    {"GET", "/api/v1/channels", Access::kArea},
    {"GET", "/api/v1/comments", Access::kArea},
    {"GET", "/api/v1/response-rates", Access::kArea},
    {"GET", "/api/v1/quality", Access::kArea},
    {"GET", "/api/v1/users", Access::kAdmin},
    {"POST", "/api/v1/users", Access::kAdmin},
    {"POST", "/api/v1/users/{name}/disable", Access::kAdmin},
    {"POST", "/api/v1/users/{name}/enable", Access::kAdmin},
    {"GET", "/api/v1/audit", Access::kAdmin},
    {"GET", "/import/wechat", Access::kPublic},  // the upload page only; the upload itself is guarded
    {"POST", "/api/v1/imports/wechat", Access::kUpload},
    {"GET", "/api/v1/export/indices", Access::kArea},
    {"GET", "/api/v1/export/microdata", Access::kDashboard},
    {"GET", "/api/v1/releases", Access::kDashboard},
};

// Areas outside the scope of every scoped test account (they are all in Huai'an, 3208).
constexpr char kOutCounty[] = "320115";     // Nanjing, Jiangning
constexpr char kOutTown[] = "320115001";
constexpr char kPassword[] = "Matrix-Passw0rd-Long";

struct Identity {
  std::string name;      // the account, or "anonymous"/"forged"
  bool admin = false;
  bool scoped = false;   // an official or grid worker whose scope does not hold kOutCounty
  bool dashboard = false;  // may view dashboards
  SignedIn session;
};

std::string Fill(const std::string& pattern) {
  static const std::map<std::string, std::string> kValues = {
      {"{survey}", "jiangsu-safety"}, {"{provider}", "generic"}, {"{token}", "not-the-token-0123456789"},
      {"{name}", "victim"},          {"{file}", "dashboard.js"}};
  std::string path = pattern;
  for (const auto& [placeholder, value] : kValues) {
    for (auto at = path.find(placeholder); at != std::string::npos; at = path.find(placeholder)) {
      path.replace(at, placeholder.size(), value);
    }
  }
  return path;
}

class AccessMatrixTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    global_ = {"-D", "store.sqlite.path=" + dir_->File("minyi.db"), "-D", "store.sqlite.synchronous=NORMAL",
               "-D", "log.level=warn"};
    std::vector<std::string> seed = global_;
    seed.insert(seed.end(), {"demo", "seed", "--responses", "3000"});
    RunResult seeded = RunMinyi(seed);
    ASSERT_EQ(seeded.exit_code, 0) << seeded.err;
    // The index tables before serve starts, so the in-scope control finds figures at once.
    std::vector<std::string> aggregate = global_;
    aggregate.push_back("aggregate");
    RunResult aggregated = RunMinyi(aggregate);
    ASSERT_EQ(aggregated.exit_code, 0) << aggregated.err;
    const std::vector<std::vector<std::string>> users = {
        {"admin1", "--role", "admin"},
        {"stat1", "--role", "statistician"},
        {"city1", "--role", "official", "--area", "3208"},
        {"county1", "--role", "official", "--area", "320812"},
        {"grid1", "--role", "grid_worker", "--area", "320812001"},
        {"victim", "--role", "official", "--area", "320812"},
    };
    for (const auto& u : users) {
      RunResult added = AddUser(global_, u, kPassword);
      ASSERT_EQ(added.exit_code, 0) << added.err;
    }
    // Every optional route registered: SMS webhooks, the 问卷星 push and the 腾讯问卷 webhook.
    std::vector<std::string> serve = global_;
    serve.insert(
        serve.end(),
        {"-D", "metrics.allow_from=10.255.255.1", "-D", "sms.generic.secret=generic-secret-0123456789", "-D",
         "sms.aliyun.token=aliyun-token-0123456789", "-D", "sms.encryption_key_file=" + dir_->File("sms.key"),
         "-D", "questionnaire.wjx.push_secret=wjx-secret-0123456789", "-D",
         "questionnaire.txwj.token=txwj-token-0123456789abcdef"});
    server_ = new ServerProcess(serve);
    ASSERT_TRUE(server_->started()) << server_->log();
  }

  static void TearDownTestSuite() {
    delete server_;
    delete dir_;
  }

  static std::vector<std::pair<std::string, std::string>> Routes() {
    std::ifstream in(server_->routes_file());
    std::vector<std::pair<std::string, std::string>> routes;
    std::string method, pattern;
    while (in >> method >> pattern) routes.emplace_back(method, pattern);
    return routes;
  }

  static std::vector<Identity> Identities() {
    std::vector<Identity> ids;
    ids.push_back({"anonymous", false, false, false, {}});
    // A session id of the right shape that was never issued, with a matching-looking CSRF token.
    ids.push_back({"forged", false, false, false,
                   {"minyi_session=3f1c8e2a9b7d4c6e0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f6071",
                    "0a1b2c3d4e5f60718293a4b5c6d7e8f9"}});
    const int port = server_->port();
    ids.push_back({"admin1", true, false, true, SignIn(port, "admin1", kPassword)});
    ids.push_back({"stat1", false, false, true, SignIn(port, "stat1", kPassword)});
    ids.push_back({"city1", false, true, true, SignIn(port, "city1", kPassword)});
    ids.push_back({"county1", false, true, true, SignIn(port, "county1", kPassword)});
    ids.push_back({"grid1", false, true, false, SignIn(port, "grid1", kPassword)});
    return ids;
  }

  static WebReply Call(const Identity& who, const std::string& method, const std::string& path) {
    std::map<std::string, std::string> headers;
    if (!who.session.cookie.empty()) headers["Cookie"] = who.session.cookie;
    if (!who.session.csrf.empty()) headers["X-CSRF-Token"] = who.session.csrf;
    std::string body;
    if (method == "POST") {
      headers["Content-Type"] = "application/json";
      body = "{\"area\":\"" + std::string(kOutCounty) + "\",\"town\":\"" + kOutTown + "\"}";
    }
    return HttpCall(server_->port(), method, path, body, headers);
  }

  static TempDir* dir_;
  static std::vector<std::string> global_;
  static ServerProcess* server_;
};

TempDir* AccessMatrixTest::dir_ = nullptr;
std::vector<std::string> AccessMatrixTest::global_;
ServerProcess* AccessMatrixTest::server_ = nullptr;

TEST_F(AccessMatrixTest, EveryRegisteredRouteHasAPolicyAndEveryPolicyARoute) {
  const auto routes = Routes();
  ASSERT_GT(routes.size(), 20u) << "the routes file of serve is missing or short";
  std::set<std::pair<std::string, std::string>> registered(routes.begin(), routes.end());
  std::set<std::pair<std::string, std::string>> covered;
  for (const Policy& p : kPolicies) covered.insert({p.method, p.pattern});
  for (const auto& route : registered) {
    EXPECT_TRUE(covered.count(route)) << route.first << " " << route.second
                                      << " is registered but has no entry in kPolicies: say who may call it";
  }
  for (const auto& policy : covered) {
    EXPECT_TRUE(registered.count(policy)) << policy.first << " " << policy.second
                                          << " is in kPolicies but no longer registered";
  }
}

// The OpenAPI description served by serve (docs/openapi.json, issue 18) lists every registered route
// with its method, and nothing else: a new route without its description fails here.
TEST_F(AccessMatrixTest, TheOpenApiDocumentDescribesExactlyTheRegisteredRoutes) {
  const WebReply reply = HttpCall(server_->port(), "GET", "/api/v1/openapi.json");
  ASSERT_EQ(reply.status, 200);
  EXPECT_EQ(reply.Header("Content-Type").rfind("application/json", 0), 0u) << reply.Header("Content-Type");
  Poco::JSON::Object::Ptr doc;
  try {
    doc = Poco::JSON::Parser().parse(reply.body).extract<Poco::JSON::Object::Ptr>();
  } catch (const Poco::Exception& e) {
    FAIL() << "/api/v1/openapi.json is not JSON: " << e.displayText();
  }
  EXPECT_EQ(doc->getValue<std::string>("openapi").rfind("3.", 0), 0u);
  std::set<std::pair<std::string, std::string>> described;
  const Poco::JSON::Object::Ptr paths = doc->getObject("paths");
  ASSERT_FALSE(paths.isNull());
  for (const std::string& path : paths->getNames()) {
    const Poco::JSON::Object::Ptr ops = paths->getObject(path);
    for (const std::string& method : ops->getNames()) {
      std::string upper = method;
      for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      described.insert({upper, path});
      // Every operation says what it answers.
      const Poco::JSON::Object::Ptr op = ops->getObject(method);
      EXPECT_FALSE(op.isNull() || op->getObject("responses").isNull() ||
                   op->getObject("responses")->size() == 0)
          << upper << " " << path << " has no responses";
    }
  }
  const auto routes = Routes();
  const std::set<std::pair<std::string, std::string>> registered(routes.begin(), routes.end());
  for (const auto& route : registered) {
    EXPECT_TRUE(described.count(route))
        << route.first << " " << route.second << " is registered but missing from docs/openapi.json";
  }
  for (const auto& op : described) {
    EXPECT_TRUE(registered.count(op))
        << op.first << " " << op.second << " is in docs/openapi.json but no route of serve";
  }
}

TEST_F(AccessMatrixTest, SignedInAccountsHaveSessions) {
  for (const Identity& who : Identities()) {
    if (who.name == "anonymous" || who.name == "forged") continue;
    EXPECT_FALSE(who.session.cookie.empty()) << who.name << " could not sign in";
  }
}

// The matrix itself: every route × every identity, area parameters outside the scope.
TEST_F(AccessMatrixTest, NoRouteGrantsMoreThanItsPolicy) {
  std::vector<Identity> identities = Identities();
  std::map<std::pair<std::string, std::string>, Access> policy;
  for (const Policy& p : kPolicies) policy[{p.method, p.pattern}] = p.access;
  int calls = 0;
  for (const auto& route : Routes()) {
    auto found = policy.find(route);
    if (found == policy.end()) continue;  // reported by the test above
    const Access access = found->second;
    const std::string path = Fill(route.second) + "?area=" + kOutCounty + "&compare=" + kOutCounty +
                             "&town=" + kOutTown + "&period=2025";
    for (Identity& who : identities) {
      const WebReply reply = Call(who, route.first, path);
      ++calls;
      // Logging out ends the session the rest of the matrix needs: sign in again.
      if (route == std::make_pair(std::string("POST"), std::string("/api/v1/logout")) && reply.status == 200) {
        who.session = SignIn(server_->port(), who.name, kPassword);
        ASSERT_FALSE(who.session.cookie.empty()) << who.name << " could not sign in again";
      }
      const std::string where = who.name + " " + route.first + " " + path + " -> " + std::to_string(reply.status) +
                                " " + reply.body.substr(0, 200);
      ASSERT_NE(reply.status, 0) << "no answer: " << where;
      EXPECT_LT(reply.status, 500) << "server error: " << where;
      const bool granted = reply.status >= 200 && reply.status < 400;
      const bool signed_in = !who.session.cookie.empty() && who.name != "forged";
      switch (access) {
        case Access::kPublic:
          break;
        case Access::kCredential:
          // None of the identities holds the API key, the webhook token or the signing secret.
          EXPECT_TRUE(reply.status == 401 || reply.status == 403 || reply.status == 404) << where;
          break;
        case Access::kSignedIn:
          if (!signed_in) EXPECT_EQ(reply.status, 401) << where;
          break;
        case Access::kDashboard:
          if (!signed_in) EXPECT_EQ(reply.status, 401) << where;
          if (signed_in && !who.dashboard) EXPECT_EQ(reply.status, 403) << where;
          break;
        case Access::kArea:
          if (!signed_in) EXPECT_EQ(reply.status, 401) << where;
          if (signed_in && (who.scoped || !who.dashboard)) EXPECT_EQ(reply.status, 403) << where;
          break;
        case Access::kUpload:
          if (!signed_in) EXPECT_EQ(reply.status, 401) << where;
          if (signed_in && who.scoped) EXPECT_FALSE(granted) << where;
          break;
        case Access::kAdmin:
          if (!signed_in) EXPECT_EQ(reply.status, 401) << where;
          if (signed_in && !who.admin) EXPECT_EQ(reply.status, 403) << where;
          break;
      }
    }
  }
  EXPECT_GT(calls, 150);
}

// The positive control: inside their scope the same accounts are served, so the refusals above are
// decisions of the guard, not a broken request.
TEST_F(AccessMatrixTest, InScopeCallsAreServed) {
  const int port = server_->port();
  const SignedIn county = SignIn(port, "county1", kPassword);
  const SignedIn admin = SignIn(port, "admin1", kPassword);
  for (const std::string& path : {"/api/v1/indices?area=320812&period=2025", "/api/v1/trend?area=320812",
                                  "/api/v1/channels?area=320812&period=2025", "/api/v1/quality?area=320812"}) {
    const WebReply reply = HttpCall(port, "GET", path, "", {{"Cookie", county.cookie}});
    EXPECT_EQ(reply.status, 200) << path << " " << reply.body.substr(0, 200);
  }
  const WebReply users = HttpCall(port, "GET", "/api/v1/users", "", {{"Cookie", admin.cookie}});
  EXPECT_EQ(users.status, 200) << users.body.substr(0, 200);
}

}  // namespace
}  // namespace minyi::testing
