// The web collector end to end through a real `minyi serve` on port 0 (SQLite): every status of the
// JSON API, the invitation-token race, the resident pages without JavaScript, rate limiting, and
// durability (kill -9 under load, SIGTERM drain).
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/minyi_process.h"
#include "tests/integration/web_http.h"

namespace minyi::testing {
namespace {

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The "id" of a JSON answer such as {"id":12,"status":"stored"}; -1 when absent.
long long IdOf(const std::string& body) {
  const auto pos = body.find("\"id\":");
  if (pos == std::string::npos) return -1;
  return std::stoll(body.substr(pos + 5));
}

std::string Body(const std::string& key, const std::string& security = "1", const std::string& extra = "") {
  return R"({"survey":"jiangsu-safety","period":2025,"town":"320812007","idempotency_key":")" + key +
         R"(","answers":{"security":")" + security + R"(","grid":"2","age_band":"60+"})" + extra + "}";
}

class WebCollectorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // A second survey, so that API key scopes can be tested.
    const std::string surveys = dir_.path() + "/surveys";
    ASSERT_EQ(RunMinyi({"version"}).exit_code, 0);
    std::string definition = ReadText(std::string(MINYI_SOURCE_DIR) + "/conf/surveys/jiangsu-safety.json");
    ASSERT_FALSE(definition.empty());
    std::filesystem::create_directories(surveys);
    WriteFile(surveys + "/jiangsu-safety.json", definition);
    const std::string other_id = "\"id\": \"other-survey\"";
    definition.replace(definition.find("\"id\": \"jiangsu-safety\""), std::string("\"id\": \"jiangsu-safety\"").size(),
                       other_id);
    WriteFile(surveys + "/other-survey.json", definition);
    global_ = {"-D", "store.sqlite.path=" + dir_.File("minyi.db"),
               "-D", "paths.surveys=" + surveys,
               "-D", "collector.open_periods=2025",
               "-D", "collector.respondent_key_secret=integration-test-secret-0123456789",
               "-D", "web.rate_limit.per_minute=0",
               "-D", "api.max_body_bytes=4096",
               "-D", "api.max_batch=5",
               "-D", "http.public_url=https://survey.example.cn"};
    key_ = CreateKey("jiangsu-safety");
    other_key_ = CreateKey("other-survey");
  }

  RunResult Minyi(std::vector<std::string> args) {
    std::vector<std::string> all = global_;
    all.insert(all.end(), args.begin(), args.end());
    return RunMinyi(all);
  }

  std::string CreateKey(const std::string& survey) {
    RunResult r = Minyi({"apikey", "create", "--name", "partner " + survey, "--survey", survey});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::string key = r.out.substr(0, r.out.find('\n'));
    EXPECT_EQ(key.rfind("myk_", 0), 0u) << r.out;
    return key;
  }

  // Invitation tokens from `invite create` (column 1 of the CSV).
  std::vector<std::string> CreateTokens(int count, const std::string& town) {
    std::vector<std::string> args = {"invite", "create", "--survey", "jiangsu-safety", "--count", std::to_string(count),
                                     "--out", dir_.File("tokens.csv")};
    if (!town.empty()) args.insert(args.end(), {"--town", town});
    RunResult r = Minyi(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::istringstream csv(ReadText(dir_.File("tokens.csv")));
    std::string line;
    std::getline(csv, line);
    EXPECT_EQ(line, "token,url,survey,town,town_name");
    std::vector<std::string> tokens;
    while (std::getline(csv, line)) {
      tokens.push_back(line.substr(0, line.find(',')));
      EXPECT_TRUE(Contains(line, "https://survey.example.cn/s/jiangsu-safety?t=" + tokens.back())) << line;
    }
    return tokens;
  }

  long long StoredWebResponses() {
    RunResult r = Minyi({"db", "status"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::istringstream lines(r.out);
    std::string line;
    long long total = 0;
    while (std::getline(lines, line)) {
      std::istringstream fields(line);
      std::string survey, period, channel;
      long long n = 0;
      if (fields >> survey >> period >> channel >> n && channel == "web") total += n;
    }
    return total;
  }

  WebReply Post(int port, const std::string& path, const std::string& body, const std::string& key) {
    std::map<std::string, std::string> headers = {{"Content-Type", "application/json"}};
    if (!key.empty()) headers["Authorization"] = "Bearer " + key;
    return HttpCall(port, "POST", path, body, headers);
  }

  TempDir dir_;
  std::vector<std::string> global_;
  std::string key_, other_key_;
};

TEST_F(WebCollectorTest, JsonApiStatuses) {
  ServerProcess server(global_);
  ASSERT_TRUE(server.started()) << server.log();
  const int port = server.port();
  const std::string path = "/api/v1/responses";

  WebReply no_key = Post(port, path, Body("a"), "");
  EXPECT_EQ(no_key.status, 401) << no_key.body;
  EXPECT_EQ(no_key.Header("WWW-Authenticate"), "Bearer realm=\"minyi\"");
  EXPECT_EQ(Post(port, path, Body("a"), "myk_not-a-key").status, 401);

  WebReply created = Post(port, path, Body("a"), key_);
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_TRUE(Contains(created.body, "\"status\":\"stored\""));
  const long long id = IdOf(created.body);
  EXPECT_GT(id, 0);

  WebReply replay = HttpCall(port, "POST", path, Body("a"), {{"X-API-Key", key_}});
  EXPECT_EQ(replay.status, 200) << replay.body;
  EXPECT_EQ(IdOf(replay.body), id);
  EXPECT_TRUE(Contains(replay.body, "\"status\":\"duplicate\""));

  WebReply conflict = Post(port, path, Body("a", "3"), key_);
  EXPECT_EQ(conflict.status, 409) << conflict.body;
  EXPECT_EQ(IdOf(conflict.body), id);

  WebReply syntax = Post(port, path, "{\"survey\":", key_);
  EXPECT_EQ(syntax.status, 400);
  EXPECT_TRUE(Contains(syntax.body, "invalid_json")) << syntax.body;
  WebReply shape = Post(port, path, R"({"survey":"jiangsu-safety","answers":{}})", key_);
  EXPECT_EQ(shape.status, 400);
  EXPECT_TRUE(Contains(shape.body, "\"field\":\"period\"")) << shape.body;
  EXPECT_EQ(Post(port, path, std::string(40, '[') + std::string(40, ']'), key_).status, 400);
  WebReply too_large = Post(port, path, Body("big", "1", ",\"respondent\":\"" + std::string(5000, 'x') + "\""), key_);
  EXPECT_EQ(too_large.status, 413) << too_large.body;

  struct Case {
    std::string body;
    std::string field;
  };
  const std::vector<Case> unprocessable = {
      {R"({"survey":"jiangsu-safety","period":2025,"town":"320812007","answers":{"colour":"1","security":"1","grid":"1"}})",
       "answers.colour"},
      {Body("q2", "8"), "answers.security"},
      {R"({"survey":"jiangsu-safety","period":2025,"town":"320812999","answers":{"security":"1","grid":"1"}})", "town"},
      {R"({"survey":"jiangsu-safety","period":2024,"town":"320812007","answers":{"security":"1","grid":"1"}})", "period"},
      {R"({"survey":"nope","period":2025,"town":"320812007","answers":{"security":"1","grid":"1"}})", "survey"},
  };
  for (const Case& c : unprocessable) {
    const std::string& body = c.body;
    WebReply r = Post(port, path, body, key_);
    EXPECT_EQ(r.status, 422) << body << " -> " << r.body;
    EXPECT_TRUE(Contains(r.body, "\"field\":\"" + c.field + "\"")) << r.body;
  }
  EXPECT_EQ(Post(port, path, Body("scope"), other_key_).status, 403);

  // Batch: valid items stored, each item with its own result; the colon route is a literal segment.
  const std::string batch = "{\"responses\":[" + Body("b1") + "," + Body("b2", "9") + "," + Body("b1") + "," +
                            Body("b3", "x") + ",{\"survey\":1}]}";
  WebReply b = Post(port, "/api/v1/responses:batch", batch, key_);
  ASSERT_EQ(b.status, 200) << b.body;
  EXPECT_TRUE(Contains(b.body, "{\"index\":0,\"status\":201")) << b.body;
  EXPECT_TRUE(Contains(b.body, "{\"index\":1,\"status\":201")) << b.body;
  EXPECT_TRUE(Contains(b.body, "{\"index\":2,\"status\":200")) << b.body;
  EXPECT_TRUE(Contains(b.body, "{\"index\":3,\"status\":422")) << b.body;
  EXPECT_TRUE(Contains(b.body, "{\"index\":4,\"status\":400")) << b.body;
  EXPECT_TRUE(Contains(b.body, "\"stored\":2,\"duplicates\":1,\"conflicts\":0,\"rejected\":2")) << b.body;
  const std::string six = "{\"responses\":[" + Body("c1") + "," + Body("c2") + "," + Body("c3") + "," + Body("c4") +
                          "," + Body("c5") + "," + Body("c6") + "]}";
  EXPECT_EQ(Post(port, "/api/v1/responses:batch", six, key_).status, 413);
  EXPECT_EQ(HttpCall(port, "GET", path).status, 405);
  server.Stop();
  EXPECT_EQ(StoredWebResponses(), 3);  // a, b1, b2
  EXPECT_FALSE(Contains(server.log(), key_)) << "keys are never logged";
}

TEST_F(WebCollectorTest, FiftyConcurrentSubmitsOfOneTokenStoreOneResponse) {
  const std::vector<std::string> tokens = CreateTokens(1, "320812007");
  ASSERT_EQ(tokens.size(), 1u);
  ServerProcess server(global_);
  ASSERT_TRUE(server.started()) << server.log();
  std::atomic<int> created{0}, replayed{0}, other{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 50; ++i) {
    threads.emplace_back([&, i] {
      const std::string body = R"({"survey":"jiangsu-safety","period":2025,"token":")" + tokens[0] +
                               R"(","idempotency_key":"race-)" + std::to_string(i) +
                               R"(","answers":{"security":"2","grid":"1"}})";
      WebReply r = Post(server.port(), "/api/v1/responses", body, key_);
      if (r.status == 201) {
        ++created;
      } else if (r.status == 200) {
        ++replayed;
      } else {
        ++other;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(created.load(), 1);
  EXPECT_EQ(replayed.load(), 49);
  EXPECT_EQ(other.load(), 0);
  // The token's page now says it was used.
  WebReply page = HttpCall(server.port(), "GET", "/s/jiangsu-safety?t=" + tokens[0]);
  EXPECT_EQ(page.status, 200);
  EXPECT_TRUE(Contains(page.body, "您已提交过")) << page.body;
  server.Stop();
  EXPECT_EQ(StoredWebResponses(), 1);
}

TEST_F(WebCollectorTest, ResidentPageWithoutJavaScript) {
  ServerProcess server(global_);
  ASSERT_TRUE(server.started()) << server.log();
  const int port = server.port();
  WebReply page = HttpCall(port, "GET", "/s/jiangsu-safety");
  ASSERT_EQ(page.status, 200);
  EXPECT_EQ(page.Header("Content-Type"), "text/html; charset=utf-8");
  EXPECT_TRUE(Contains(page.Header("Content-Security-Policy"), "default-src 'self'"));
  EXPECT_TRUE(Contains(page.body, "个人信息保护说明"));
  EXPECT_TRUE(Contains(page.body, "江苏省群众安全感和网格工作满意度调查"));
  const std::string cookie = DeviceCookie(page);
  ASSERT_FALSE(cookie.empty());
  EXPECT_TRUE(Contains(page.Header("Set-Cookie"), "HttpOnly; SameSite=Lax; Secure"));
  const std::map<std::string, std::string> with_cookie = {{"Cookie", cookie},
                                                          {"Content-Type", "application/x-www-form-urlencoded"}};
  const std::string k = HiddenField(page.body, "k"), rt = HiddenField(page.body, "rt"), csrf = HiddenField(page.body, "csrf");
  ASSERT_FALSE(k.empty());

  // Choose a county: the page comes back with its towns and the answer kept.
  WebReply county = HttpCall(port, "POST", "/s/jiangsu-safety",
                             FormEncode({{"k", k}, {"rt", rt}, {"csrf", csrf}, {"county", "320812"},
                                         {"q_security", "1"}, {"action", "county"}}),
                             with_cookie);
  ASSERT_EQ(county.status, 200) << county.body;
  EXPECT_TRUE(Contains(county.body, "长西街道"));
  EXPECT_TRUE(Contains(county.body, "value=\"1\" checked"));

  // Submit with a required question left out: friendly Chinese message, choices kept.
  WebReply invalid = HttpCall(port, "POST", "/s/jiangsu-safety",
                              FormEncode({{"k", k}, {"rt", rt}, {"csrf", csrf}, {"county", "320812"},
                                          {"town_name", "长西"}, {"q_security", "1"}, {"q_comment", "路灯<少>"},
                                          {"action", "submit"}}),
                              with_cookie);
  EXPECT_EQ(invalid.status, 422);
  EXPECT_TRUE(Contains(invalid.body, "这一题必须回答")) << invalid.body;
  EXPECT_TRUE(Contains(invalid.body, "value=\"320812007\" selected")) << "the town was found by name in the county";
  EXPECT_TRUE(Contains(invalid.body, "路灯&lt;少&gt;"));
  EXPECT_EQ(StoredWebResponses(), 0);

  const std::string complete = FormEncode({{"k", k}, {"rt", rt}, {"csrf", csrf}, {"county", "320812"},
                                           {"town", "320812007"}, {"q_security", "1"}, {"q_grid", "2"},
                                           {"q_comment", "请回电13812345678"}, {"action", "submit"}});
  WebReply thanks = HttpCall(port, "POST", "/s/jiangsu-safety", complete, with_cookie);
  EXPECT_EQ(thanks.status, 200);
  EXPECT_TRUE(Contains(thanks.body, "提交成功")) << thanks.body;
  // A double tap or reload posts the same form again: the same thank-you, no second response.
  WebReply again = HttpCall(port, "POST", "/s/jiangsu-safety", complete, with_cookie);
  EXPECT_TRUE(Contains(again.body, "提交成功"));
  // Re-opening the link on the same phone: already answered.
  WebReply reopened = HttpCall(port, "GET", "/s/jiangsu-safety", "", {{"Cookie", cookie}});
  EXPECT_TRUE(Contains(reopened.body, "您已提交过"));

  // CSRF: a post without the device cookie (another site's form) stores nothing.
  WebReply forged = HttpCall(port, "POST", "/s/jiangsu-safety", complete,
                             {{"Content-Type", "application/x-www-form-urlencoded"}});
  EXPECT_EQ(forged.status, 403);
  EXPECT_TRUE(Contains(forged.body, "页面已过期"));
  // A wrong token with the right cookie is refused too.
  std::string tampered = complete;
  tampered.replace(tampered.find(csrf), csrf.size(), std::string(csrf.size(), '0'));
  EXPECT_EQ(HttpCall(port, "POST", "/s/jiangsu-safety", tampered, with_cookie).status, 403);

  EXPECT_EQ(HttpCall(port, "GET", "/s/no-such-survey").status, 404);
  EXPECT_EQ(HttpCall(port, "GET", "/s/jiangsu-safety?t=AAAAAAAAAAAAAAAAAAAAAAAA").status, 404);
  WebReply css = HttpCall(port, "GET", "/static/web.css");
  EXPECT_EQ(css.status, 200);
  EXPECT_EQ(css.Header("Content-Type"), "text/css; charset=utf-8");
  server.Stop();
  EXPECT_EQ(StoredWebResponses(), 1);
  EXPECT_FALSE(Contains(ReadText(dir_.File("minyi.db")) + ReadText(dir_.File("minyi.db-wal")), "13812345678"))
      << "no plaintext phone number at rest";
}

TEST_F(WebCollectorTest, InvitationPageFixesTheTown) {
  const std::vector<std::string> tokens = CreateTokens(2, "320812007");
  ServerProcess server(global_);
  ASSERT_TRUE(server.started()) << server.log();
  const int port = server.port();
  WebReply page = HttpCall(port, "GET", "/s/jiangsu-safety?t=" + tokens[0]);
  ASSERT_EQ(page.status, 200);
  EXPECT_TRUE(Contains(page.body, "长西街道"));
  EXPECT_FALSE(Contains(page.body, "name=\"county\""));
  const std::string cookie = DeviceCookie(page);
  const std::map<std::string, std::string> headers = {{"Cookie", cookie},
                                                      {"Content-Type", "application/x-www-form-urlencoded"}};
  const std::string form = FormEncode({{"k", HiddenField(page.body, "k")}, {"rt", HiddenField(page.body, "rt")},
                                       {"csrf", HiddenField(page.body, "csrf")}, {"t", tokens[0]},
                                       {"q_security", "2"}, {"q_grid", "1"}, {"action", "submit"}});
  WebReply thanks = HttpCall(port, "POST", "/s/jiangsu-safety", form, headers);
  EXPECT_TRUE(Contains(thanks.body, "提交成功")) << thanks.body;
  WebReply used = HttpCall(port, "GET", "/s/jiangsu-safety?t=" + tokens[0], "", {{"Cookie", cookie}});
  EXPECT_TRUE(Contains(used.body, "您已提交过"));
  // The second invitation is independent of the first, on the same phone.
  WebReply second = HttpCall(port, "GET", "/s/jiangsu-safety?t=" + tokens[1], "", {{"Cookie", cookie}});
  EXPECT_TRUE(Contains(second.body, "提交问卷"));
  server.Stop();
  EXPECT_EQ(StoredWebResponses(), 1);
}

// Regression (issue #13): behind a proxy the limiter used the left-most X-Forwarded-For entry, which the
// client writes; rotating it evaded the limit. The right-most entry (the proxy's) counts.
TEST_F(WebCollectorTest, RateLimitBehindAProxyUsesTheEntryTheProxyAppended) {
  std::vector<std::string> args = global_;
  args.insert(args.end(), {"-D", "web.rate_limit.per_minute=6", "-D", "web.rate_limit.burst=3", "-D",
                           "http.trust_forwarded_for=true"});
  ServerProcess server(args);
  ASSERT_TRUE(server.started()) << server.log();
  auto get = [&](const std::string& forwarded) {
    return HttpCall(server.port(), "GET", "/s/jiangsu-safety", "", {{"X-Forwarded-For", forwarded}}).status;
  };
  for (int i = 0; i < 3; ++i) EXPECT_EQ(get("10.9.9." + std::to_string(i) + ", 203.0.113.7"), 200) << i;
  EXPECT_EQ(get("10.9.9.99, 203.0.113.7"), 429);
  // Another client behind the same proxy has its own budget.
  EXPECT_EQ(get("203.0.113.8"), 200);
}

TEST_F(WebCollectorTest, PublicPagesAreRateLimitedPerAddress) {
  std::vector<std::string> args = global_;
  args.insert(args.end(), {"-D", "web.rate_limit.per_minute=6", "-D", "web.rate_limit.burst=3"});
  ServerProcess server(args);
  ASSERT_TRUE(server.started()) << server.log();
  for (int i = 0; i < 3; ++i) EXPECT_EQ(HttpCall(server.port(), "GET", "/s/jiangsu-safety").status, 200);
  WebReply limited = HttpCall(server.port(), "GET", "/s/jiangsu-safety");
  EXPECT_EQ(limited.status, 429);
  EXPECT_FALSE(limited.Header("Retry-After").empty());
  // The API is authenticated and not limited by the page limiter.
  EXPECT_EQ(Post(server.port(), "/api/v1/responses", Body("x"), key_).status, 201);
}

// Issue #13 "repeated web submissions": a new device cookie per submission used to be unbounded.
TEST_F(WebCollectorTest, InvitationOnlySurveyAndTownCapBoundRepeatedSubmissions) {
  const std::vector<std::string> tokens = CreateTokens(1, "320812007");
  {
    std::vector<std::string> args = global_;
    args.insert(args.end(), {"-D", "web.invitation_only=jiangsu-safety"});
    ServerProcess server(args);
    ASSERT_TRUE(server.started()) << server.log();
    WebReply open = HttpCall(server.port(), "GET", "/s/jiangsu-safety");
    EXPECT_EQ(open.status, 403);
    EXPECT_TRUE(Contains(open.body, "仅限收到邀请的居民填写")) << open.body;
    WebReply posted = HttpCall(server.port(), "POST", "/s/jiangsu-safety",
                               FormEncode({{"town", "320812007"}, {"q_security", "1"}, {"action", "submit"}}),
                               {{"Content-Type", "application/x-www-form-urlencoded"}});
    EXPECT_EQ(posted.status, 403);
    EXPECT_EQ(HttpCall(server.port(), "GET", "/s/jiangsu-safety?t=" + tokens[0]).status, 200);
    EXPECT_EQ(Post(server.port(), "/api/v1/responses", Body("partner-1"), key_).status, 201);
  }
  std::vector<std::string> args = global_;
  args.insert(args.end(), {"-D", "web.max_responses_per_town=2"});
  ServerProcess server(args);
  ASSERT_TRUE(server.started()) << server.log();
  const int port = server.port();
  // One stored above; one more page response from a fresh browser, then the town is full.
  auto submit_as_new_device = [&]() {
    WebReply page = HttpCall(port, "GET", "/s/jiangsu-safety");
    const std::map<std::string, std::string> headers = {
        {"Cookie", DeviceCookie(page)}, {"Content-Type", "application/x-www-form-urlencoded"}};
    return HttpCall(port, "POST", "/s/jiangsu-safety",
                    FormEncode({{"k", HiddenField(page.body, "k")},
                                {"rt", HiddenField(page.body, "rt")},
                                {"csrf", HiddenField(page.body, "csrf")},
                                {"county", "320812"},
                                {"town", "320812007"},
                                {"q_security", "1"},
                                {"q_grid", "2"},
                                {"action", "submit"}}),
                    headers);
  };
  WebReply first = submit_as_new_device();
  EXPECT_TRUE(Contains(first.body, "提交成功")) << first.body;
  WebReply capped = submit_as_new_device();
  EXPECT_EQ(capped.status, 429);
  EXPECT_TRUE(Contains(capped.body, "网上答卷已满")) << capped.body;
  WebReply api = Post(port, "/api/v1/responses", Body("partner-2"), key_);
  EXPECT_EQ(api.status, 429);
  EXPECT_TRUE(Contains(api.body, "\"code\":\"town_cap\"")) << api.body;
  // The invitation is not capped.
  WebReply invited = HttpCall(port, "GET", "/s/jiangsu-safety?t=" + tokens[0]);
  ASSERT_EQ(invited.status, 200);
  WebReply thanks =
      HttpCall(port, "POST", "/s/jiangsu-safety",
               FormEncode({{"k", HiddenField(invited.body, "k")},
                           {"rt", HiddenField(invited.body, "rt")},
                           {"csrf", HiddenField(invited.body, "csrf")},
                           {"t", tokens[0]},
                           {"q_security", "2"},
                           {"q_grid", "1"},
                           {"action", "submit"}}),
               {{"Cookie", DeviceCookie(invited)}, {"Content-Type", "application/x-www-form-urlencoded"}});
  EXPECT_TRUE(Contains(thanks.body, "提交成功")) << thanks.body;
  server.Stop();
  EXPECT_EQ(StoredWebResponses(), 3);
}

// Fires POSTs from several threads until told to stop; records every acknowledged (201) key and id.
class Load {
 public:
  Load(int port, std::string key, int threads) {
    for (int t = 0; t < threads; ++t) {
      workers_.emplace_back([this, port, key, t] {
        for (int i = 0; !stop_ && i < 5000; ++i) {
          const std::string idem = "load-" + std::to_string(t) + "-" + std::to_string(i);
          std::map<std::string, std::string> h = {{"Authorization", "Bearer " + key}};
          WebReply r = HttpCall(port, "POST", "/api/v1/responses", Body(idem), h);
          if (r.status == 201) {
            std::lock_guard<std::mutex> lock(mu_);
            acked_.emplace_back(idem, IdOf(r.body));
          } else if (r.status == 0) {
            return;  // the server went away
          }
        }
      });
    }
  }
  void Join() {
    stop_ = true;
    for (auto& w : workers_) w.join();
  }
  const std::vector<std::pair<std::string, long long>>& acked() const { return acked_; }
  // Waits until `n` responses are acknowledged (the load is under way), at most `limit`.
  bool WaitForAcked(std::size_t n, std::chrono::seconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (acked_.size() >= n) return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }

 private:
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::vector<std::pair<std::string, long long>> acked_;
  std::vector<std::thread> workers_;
};

TEST_F(WebCollectorTest, KillNineLosesNothingAcknowledged) {
  std::vector<std::pair<std::string, long long>> acked;
  {
    ServerProcess server(global_);
    ASSERT_TRUE(server.started()) << server.log();
    Load load(server.port(), key_, 8);
    EXPECT_TRUE(load.WaitForAcked(200, std::chrono::seconds(60)))
        << "the load is acknowledged before the kill";
    server.Kill();
    load.Join();
    acked = load.acked();
  }
  ASSERT_GT(acked.size(), 10u) << "the load must have been acknowledged before the kill";
  ServerProcess restarted(global_);
  ASSERT_TRUE(restarted.started()) << restarted.log();
  std::size_t present = 0;
  for (const auto& [idem, id] : acked) {
    // Replaying an acknowledged response must find it: 200 with the same id.
    WebReply r = Post(restarted.port(), "/api/v1/responses", Body(idem), key_);
    if (r.status == 200 && IdOf(r.body) == id) ++present;
  }
  EXPECT_EQ(present, acked.size());
  restarted.Stop();
  EXPECT_GE(StoredWebResponses(), static_cast<long long>(acked.size()));
}

TEST_F(WebCollectorTest, SigtermDrainsInFlightRequests) {
  std::vector<std::pair<std::string, long long>> acked;
  int exit_code = -1;
  std::string log;
  {
    ServerProcess server(global_);
    ASSERT_TRUE(server.started()) << server.log();
    Load load(server.port(), key_, 8);
    EXPECT_TRUE(load.WaitForAcked(100, std::chrono::seconds(60)))
        << "the load is acknowledged before SIGTERM";
    exit_code = server.Stop();
    load.Join();
    acked = load.acked();
    log = server.log();
  }
  EXPECT_EQ(exit_code, 0) << log;
  EXPECT_TRUE(Contains(log, "group commits")) << log;
  ASSERT_GT(acked.size(), 10u);
  EXPECT_EQ(StoredWebResponses(), static_cast<long long>(acked.size()))
      << "every acknowledged response stored, nothing stored that was not acknowledged after a clean stop";
}

TEST_F(WebCollectorTest, ServeRefusesToStartWithoutASecret) {
  std::vector<std::string> args = {"-D", "store.sqlite.path=" + dir_.File("x.db"), "-D", "http.port=0", "serve"};
  RunResult r = RunMinyi(args);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(Contains(r.err, "MINYI_RESPONDENT_KEY_SECRET")) << r.err;
}

TEST_F(WebCollectorTest, ServeRefusesAnUnknownInvitationOnlySurvey) {
  std::vector<std::string> args = global_;
  args.insert(args.end(),
              {"-D", "web.invitation_only=jiangsu-safety, no-such-survey", "-D", "http.port=0", "serve"});
  RunResult r = RunMinyi(args);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(Contains(r.err, "web.invitation_only")) << r.err;
  EXPECT_TRUE(Contains(r.err, "no-such-survey")) << r.err;
}

}  // namespace
}  // namespace minyi::testing
