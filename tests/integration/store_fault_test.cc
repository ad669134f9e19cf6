// Store faults through a real `minyi serve` (issue #13): a private MariaDB paused (SIGSTOP), shut down
// or killed under load must not hang the server nor acknowledge what is not committed, and serve
// recovers by itself when the database is back; a full disk under SQLite answers 503 until space returns.
#include <Poco/Exception.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/mount.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/minyi_process.h"
#include "tests/integration/web_http.h"
#include "tests/support/mariadb_server.h"

namespace minyi::testing {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using std::chrono::seconds;

long long MsSince(Clock::time_point start) {
  return std::chrono::duration_cast<milliseconds>(Clock::now() - start).count();
}

std::string Body(const std::string& key) {
  return R"({"survey":"jiangsu-safety","period":2025,"town":"320812007","idempotency_key":")" + key +
         R"(","answers":{"security":"1","grid":"2","age_band":"60+"}})";
}

// The options both tests share: the demo survey open for 2025, no rate limit, no live aggregation.
std::vector<std::string> WithCommonOptions(std::vector<std::string> global) {
  const std::vector<std::string> common = {
      "-D", "collector.open_periods=2025",
      "-D", "collector.respondent_key_secret=integration-test-secret-0123456789",
      "-D", "web.rate_limit.per_minute=0",
      "-D", "aggregator.interval_ms=0",
      "-D", "paths.surveys=" + std::string(MINYI_SOURCE_DIR) + "/conf/surveys"};
  global.insert(global.end(), common.begin(), common.end());
  return global;
}

RunResult Minyi(const std::vector<std::string>& global, const std::vector<std::string>& args) {
  std::vector<std::string> all = global;
  all.insert(all.end(), args.begin(), args.end());
  return RunMinyi(all);
}

// Migrates the store named by `global` and creates an API key for the survey; "" on failure.
std::string MigrateAndCreateKey(const std::vector<std::string>& global) {
  const RunResult migrated = Minyi(global, {"db", "migrate"});
  EXPECT_EQ(migrated.exit_code, 0) << migrated.err;
  const RunResult created =
      Minyi(global, {"apikey", "create", "--name", "partner", "--survey", "jiangsu-safety"});
  EXPECT_EQ(created.exit_code, 0) << created.err;
  return migrated.exit_code == 0 && created.exit_code == 0 ? created.out.substr(0, created.out.find('\n'))
                                                           : "";
}

WebReply PostResponse(int port, const std::string& key, const std::string& idem) {
  return HttpCall(port, "POST", "/api/v1/responses", Body(idem),
                  {{"Content-Type", "application/json"}, {"Authorization", "Bearer " + key}});
}

struct Posted {
  int status = 0;
  std::string retry_after;
  long long ms = 0;
};

// What happens to the database under load.
enum class DbFault {
  kPause,     // SIGSTOP for 6.5 s, then SIGCONT: connections hang
  kShutdown,  // mariadb-admin shutdown (clean), then started again on the same data directory and socket
  kKill,      // SIGKILL (a crash: InnoDB recovers), then started again
};

const char* Name(DbFault fault) {
  switch (fault) {
    case DbFault::kPause:
      return "paused";
    case DbFault::kShutdown:
      return "shut down";
    case DbFault::kKill:
      return "killed";
  }
  return "?";
}

// Resumes a paused server when the test ends early, so that its destructor can stop it.
struct Resume {
  int pid;
  ~Resume() {
    if (pid != 0) ::kill(pid, SIGCONT);
  }
};

// Four posters, each with its own idempotency keys, post until told to stop and keep every answer. A
// refused post waits 200 ms before the next (a client honouring Retry-After would wait longer), so an
// outage of a few seconds gives a few hundred refusals to replay, not tens of thousands.
class Posters {
 public:
  Posters(const std::function<Posted(const std::string&)>& post, const std::atomic<bool>& faulted) {
    for (int t = 0; t < 4; ++t) {
      threads_.emplace_back([this, post, &faulted, t] {
        for (int i = 0; !stop_; ++i) {
          const std::string idem = "p" + std::to_string(t) + "-" + std::to_string(i);
          const bool was_faulted = faulted;
          const Posted p = post(idem);
          if (was_faulted && faulted) ++during_fault_;
          {
            std::lock_guard<std::mutex> lock(mu_);
            by_key_[idem].push_back(p);
          }
          if (p.status != 201) std::this_thread::sleep_for(milliseconds(200));
        }
      });
    }
  }
  ~Posters() { Join(); }
  void WaitForAnswers(std::size_t n) {
    const auto deadline = Clock::now() + seconds(10);
    while (Answers() < n && Clock::now() < deadline) std::this_thread::sleep_for(milliseconds(10));
  }
  std::size_t Answers() {
    std::lock_guard<std::mutex> lock(mu_);
    return by_key_.size();
  }
  // Stops the posters and returns every answer per idempotency key.
  std::map<std::string, std::vector<Posted>> Join() {
    stop_ = true;
    for (auto& th : threads_) {
      if (th.joinable()) th.join();
    }
    return by_key_;
  }
  int during_fault() const { return during_fault_; }

 private:
  std::vector<std::thread> threads_;
  std::mutex mu_;
  std::map<std::string, std::vector<Posted>> by_key_;
  std::atomic<bool> stop_{false};
  std::atomic<int> during_fault_{0};
};

// Regression (issue #13): with MariaDB paused every request blocked for as long as the pause and
// /healthz gave no answer. For each fault under load: posts answer 201 or 503 + Retry-After within the
// commit timeout, /healthz answers 503 within its timeout while the database is away, and once it is
// back (the same server resumed, or a new one on the same data directory) — without restarting
// `minyi serve` — /healthz is 200 again, new posts are stored, replays of the refused keys are stored
// once or answered as duplicates, and every 201 is in the database exactly once.
void FaultUnderLoad(DbFault fault) {
  auto started = testsupport::MariaDbServer::Start();
  ASSERT_TRUE(started.ok()) << started.status();
  std::unique_ptr<testsupport::MariaDbServer> db = std::move(started).value();
  if (db->external()) GTEST_SKIP() << "an external server (MINYI_TEST_MYSQL_SOCKET) is not ours to fault";
  const std::string database = testsupport::MariaDbServer::UniqueDatabaseName();
  const std::vector<std::string> global =
      WithCommonOptions({"-D", "store.backend=mysql",
                         "-D", "store.mysql.socket=" + db->socket_path(),
                         "-D", "store.mysql.user=" + db->user(),
                         "-D", "store.mysql.database=" + database,
                         "-D", "store.mysql.create_database=true",
                         "-D", "store.mysql.connect_timeout_seconds=3",
                         "-D", "store.mysql.read_timeout_seconds=5",
                         "-D", "store.mysql.write_timeout_seconds=5",
                         "-D", "store.mysql.pool_wait_ms=2000",
                         "-D", "store.health_timeout_ms=1000",
                         "-D", "collector.group_commit.commit_timeout_ms=2000",
                         "-D", "api.key_cache_seconds=3600"});
  const std::string key = MigrateAndCreateKey(global);
  ASSERT_FALSE(key.empty());

  ServerProcess server(global);
  ASSERT_TRUE(server.started()) << server.log();
  const int port = server.port();
  auto post = [&](const std::string& idem) {
    const auto start = Clock::now();
    const WebReply r = PostResponse(port, key, idem);
    return Posted{r.status, r.Header("Retry-After"), MsSince(start)};
  };
  ASSERT_EQ(post("warm").status, 201);  // also caches the API key, so no request reads it while faulted
  ASSERT_EQ(HttpGet(port, "/healthz").status, 200);

  std::atomic<bool> faulted{false};
  Posters posters(post, faulted);
  posters.WaitForAnswers(20);

  Resume resume{0};
  if (fault == DbFault::kPause) {
    ASSERT_EQ(::kill(db->pid(), SIGSTOP), 0);
    resume.pid = db->pid();
  } else {
    const Status stopped =
        db->Stop(fault == DbFault::kShutdown ? testsupport::MariaDbServer::StopHow::kShutdown
                                             : testsupport::MariaDbServer::StopHow::kKill);
    ASSERT_TRUE(stopped.ok()) << stopped;
  }
  faulted = true;
  const auto fault_start = Clock::now();
  // /healthz answers within its bound (1 s) while the store is away.
  std::vector<HttpReply> health;
  std::vector<long long> health_ms;
  while (MsSince(fault_start) < (fault == DbFault::kPause ? 6500 : 4000)) {
    const auto start = Clock::now();
    health.push_back(HttpGet(port, "/healthz"));
    health_ms.push_back(MsSince(start));
    std::this_thread::sleep_for(milliseconds(300));
  }
  const std::size_t answers_before_back = posters.Answers();
  faulted = false;
  if (fault == DbFault::kPause) {
    ASSERT_EQ(::kill(db->pid(), SIGCONT), 0);
    resume.pid = 0;
  } else {
    const Status restarted = db->Restart();
    ASSERT_TRUE(restarted.ok()) << restarted;
  }
  // Recovery without restarting serve: /healthz is 200 again and the posters' posts are stored.
  const auto back = Clock::now();
  const auto deadline = back + seconds(20);
  while (HttpGet(port, "/healthz").status != 200 && Clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(50));
  }
  const long long recovery_ms = MsSince(back);
  posters.WaitForAnswers(answers_before_back + 20);
  const std::map<std::string, std::vector<Posted>> by_key = posters.Join();
  std::printf("database %s: recovery (database back to /healthz 200) %lld ms, %d posts answered while away\n",
              Name(fault), recovery_ms, posters.during_fault());

  ASSERT_FALSE(health.empty());
  for (std::size_t i = 0; i < health.size(); ++i) {
    EXPECT_EQ(health[i].status, 503) << "check " << i;
    EXPECT_LT(health_ms[i], 2500) << "check " << i;
  }
  EXPECT_GE(posters.during_fault(), 8) << "posts kept being answered while the database was " << Name(fault);

  // Every answer was 201 or 503 + Retry-After, and none waited much longer than the commit timeout
  // (2 s; the API key is cached, so nothing else reads the store).
  std::vector<std::string> refused;
  std::map<std::string, std::string> how_acknowledged;  // for the failure messages
  std::set<std::string> acknowledged = {"warm"};
  std::size_t accepted_after = 0;
  for (const auto& [idem, answers] : by_key) {
    ASSERT_EQ(answers.size(), 1u);
    const Posted& p = answers.front();
    EXPECT_LT(p.ms, 4000) << idem;
    if (p.status == 201) {
      acknowledged.insert(idem);
      how_acknowledged[idem] = "201 to the poster after " + std::to_string(p.ms) + " ms";
    } else {
      EXPECT_EQ(p.status, 503) << idem;
      EXPECT_EQ(p.retry_after, "1") << idem;
      refused.push_back(idem);
    }
  }
  EXPECT_GE(refused.size(), 4u);
  EXPECT_EQ(HttpGet(port, "/healthz").status, 200);
  EXPECT_EQ(post("after").status, 201);
  acknowledged.insert("after");
  // Replays of the refused keys: stored now (201), or committed after all (200).
  for (const std::string& idem : refused) {
    const Posted p = post(idem);
    EXPECT_TRUE(p.status == 201 || p.status == 200) << idem << " " << p.status;
    if (p.status == 201) ++accepted_after;
    acknowledged.insert(idem);
    how_acknowledged[idem] = std::to_string(p.status) + " to the replay after a 503";
    EXPECT_EQ(post(idem).status, 200) << "a second replay is a duplicate: " << idem;
  }
  std::printf("database %s: %zu acknowledged, %zu refused (503), %zu of those committed after all\n",
              Name(fault), acknowledged.size() - refused.size(), refused.size(),
              refused.size() - accepted_after);

  // The database holds every acknowledged response exactly once, and nothing else.
  auto rows = db->Query("SELECT source_ref, COUNT(*) FROM `" + database + "`.responses GROUP BY source_ref");
  ASSERT_TRUE(rows.ok()) << rows.status();
  std::map<std::string, int> stored;
  std::istringstream lines(rows.value());
  std::string ref;
  int count = 0;
  std::map<std::string, std::string> full_ref;
  while (lines >> ref >> count) {
    const std::string idem = ref.substr(ref.rfind(':') + 1);
    stored[idem] = count;
    full_ref[idem] = ref;
  }
  for (const std::string& idem : acknowledged) {
    const auto it = stored.find(idem);
    EXPECT_TRUE(it != stored.end() && it->second == 1)
        << idem << " acknowledged (" << how_acknowledged[idem] << "), stored "
        << (it == stored.end() ? 0 : it->second) << " times";
  }
  for (const auto& [idem, n] : stored) {
    EXPECT_EQ(acknowledged.count(idem), 1u)
        << full_ref[idem] << " stored " << n << " times, never acknowledged";
  }
  EXPECT_EQ(server.Stop(), 0) << server.log();
}

TEST(StoreFaultTest, APausedMariaDbAnswers503InBoundedTimeAndRecovers) { FaultUnderLoad(DbFault::kPause); }

TEST(StoreFaultTest, AMariaDbShutDownUnderLoadAnswers503AndRecoversWhenItStartsAgain) {
  FaultUnderLoad(DbFault::kShutdown);
}

TEST(StoreFaultTest, AMariaDbKilledUnderLoadAnswers503AndRecoversWhenItStartsAgain) {
  FaultUnderLoad(DbFault::kKill);
}

// A small tmpfs mounted for one test (root only, as in CI), unmounted at the end.
class SmallTmpfs {
 public:
  explicit SmallTmpfs(const std::string& dir) : dir_(dir) {
    std::filesystem::create_directories(dir_);
    if (::mount("tmpfs", dir_.c_str(), "tmpfs", 0, "size=8m") == 0) {
      mounted_ = true;
    } else {
      error_ = std::strerror(errno);
    }
  }
  ~SmallTmpfs() {
    if (mounted_ && ::umount(dir_.c_str()) != 0) ::umount2(dir_.c_str(), MNT_DETACH);
  }
  bool mounted() const { return mounted_; }
  const std::string& error() const { return error_; }

 private:
  std::string dir_;
  bool mounted_ = false;
  std::string error_;
};

// Writes `path` until the file system is full, down to the last byte.
void FillDisk(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  std::setvbuf(f, nullptr, _IONBF, 0);
  const std::vector<char> block(1 << 16, 'x');
  for (std::size_t size = block.size(); size > 0; size /= 2) {
    while (std::fwrite(block.data(), 1, size, f) == size) {
    }
    std::clearerr(f);
  }
  std::fclose(f);
}

// Regression (issue #13): with the disk full posts answered 503 but /healthz stayed 200. Now it is
// 503 after a write failed for lack of space, until a write succeeds again; then posts are stored.
TEST(StoreFaultTest, AFullDiskMakesHealthz503UntilSpaceReturns) {
  TempDir dir;
  SmallTmpfs tmpfs(dir.File("small"));
  if (!tmpfs.mounted()) GTEST_SKIP() << "cannot mount a tmpfs here (needs root): " << tmpfs.error();
  const std::vector<std::string> global =
      WithCommonOptions({"-D", "store.sqlite.path=" + dir.File("small/minyi.db")});
  const std::string key = MigrateAndCreateKey(global);
  ASSERT_FALSE(key.empty());
  {
    ServerProcess server(global);
    ASSERT_TRUE(server.started()) << server.log();
    const int port = server.port();
    auto post = [&](const std::string& idem) { return PostResponse(port, key, idem); };
    ASSERT_EQ(HttpGet(port, "/healthz").status, 200);

    const std::string filler = dir.File("small/filler");
    FillDisk(filler);
    const WebReply full = post("full");
    EXPECT_EQ(full.status, 503) << full.body;
    EXPECT_EQ(full.Header("Retry-After"), "1");
    const HttpReply health = HttpGet(port, "/healthz");
    EXPECT_EQ(health.status, 503) << health.body << "\n" << server.log();

    std::filesystem::remove(filler);  // space returns: a write probe succeeds, posts are stored
    EXPECT_EQ(HttpGet(port, "/healthz").status, 200);
    EXPECT_EQ(post("full").status, 201);
    EXPECT_EQ(post("after").status, 201);
    EXPECT_EQ(server.Stop(), 0) << server.log();
  }
  RunResult status = Minyi(global, {"db", "status"});  // the database is still readable
  EXPECT_EQ(status.exit_code, 0) << status.err;
}

// Rows per idempotency key in a SQLite store (source_ref is 'api:<key id>:<idempotency key>').
std::map<std::string, int> StoredKeys(const std::string& path) {
  std::map<std::string, int> stored;
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    ADD_FAILURE() << "cannot open " << path << ": " << sqlite3_errmsg(db);
    sqlite3_close(db);
    return stored;
  }
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db, "SELECT source_ref, COUNT(*) FROM responses GROUP BY source_ref", -1, &stmt,
                         nullptr) == SQLITE_OK) {
    while (sqlite3_step(stmt) == SQLITE_ROW) {
      const std::string ref = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
      stored[ref.substr(ref.rfind(':') + 1)] = sqlite3_column_int(stmt, 1);
    }
  } else {
    ADD_FAILURE() << sqlite3_errmsg(db);
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return stored;
}

// Posts on one kept-alive connection (Poco reconnects after a Connection: close) until a post gets no
// answer; every answer kept. Status 0 is a post without an answer (refused, reset or cut).
void PostUntilRefused(int port, const std::string& key, const std::string& prefix, std::mutex& mu,
                      std::map<std::string, Posted>& answers) {
  Poco::Net::HTTPClientSession session("127.0.0.1", static_cast<Poco::UInt16>(port));
  session.setKeepAlive(true);
  session.setTimeout(Poco::Timespan(30, 0));
  for (int i = 0;; ++i) {
    const std::string idem = prefix + std::to_string(i);
    const std::string body = Body(idem);
    Posted p;
    try {
      Poco::Net::HTTPRequest request("POST", "/api/v1/responses", Poco::Net::HTTPMessage::HTTP_1_1);
      request.setKeepAlive(true);
      request.set("Authorization", "Bearer " + key);
      request.setContentType("application/json");
      request.setContentLength(static_cast<std::streamsize>(body.size()));
      session.sendRequest(request) << body;
      Poco::Net::HTTPResponse response;
      std::istream& in = session.receiveResponse(response);
      in.ignore(std::numeric_limits<std::streamsize>::max());
      p.status = static_cast<int>(response.getStatus());
      p.retry_after = response.get("Retry-After", "");
    } catch (const Poco::Exception&) {
      p.status = 0;
    }
    std::lock_guard<std::mutex> lock(mu);
    answers[idem] = p;
    if (p.status == 0) return;
  }
}

// SIGTERM while eight clients post on kept-alive connections (issue #13: during the drain a request a
// client had already sent on a kept-alive connection was cut off with EOF/reset). Three cycles on one
// SQLite store: serve exits 0 within http.drain_timeout_s; every post is answered 201 (or 503 +
// Retry-After) or gets no answer at all, and then it was not stored — never a committed post without
// its answer; every 201 is stored exactly once.
TEST(StoreFaultTest, SigtermUnderLoadAnswersEveryPostItStoredAndExitsWithinTheDrainTimeout) {
  TempDir dir;
  const int drain_timeout_s = 5;
  const std::vector<std::string> global = WithCommonOptions(
      {"-D", "store.sqlite.path=" + dir.File("minyi.db"), "-D", "store.sqlite.synchronous=FULL", "-D",
       "http.drain_timeout_s=" + std::to_string(drain_timeout_s)});
  const std::string key = MigrateAndCreateKey(global);
  ASSERT_FALSE(key.empty());
  std::mutex mu;
  std::map<std::string, Posted> answers;
  std::vector<long long> drain_ms;
  for (int cycle = 0; cycle < 3; ++cycle) {
    ServerProcess server(global);
    ASSERT_TRUE(server.started()) << server.log();
    std::vector<std::thread> clients;
    for (int t = 0; t < 8; ++t) {
      clients.emplace_back(PostUntilRefused, server.port(), key,
                           "c" + std::to_string(cycle) + "-t" + std::to_string(t) + "-", std::ref(mu),
                           std::ref(answers));
    }
    const auto deadline = Clock::now() + seconds(20);  // SIGTERM once posts are flowing
    const auto answered = [&] {
      std::lock_guard<std::mutex> lock(mu);
      return answers.size();
    };
    const std::size_t before = answered();
    while (answered() < before + 100 && Clock::now() < deadline)
      std::this_thread::sleep_for(milliseconds(10));
    const auto start = Clock::now();
    EXPECT_EQ(server.Stop(), 0) << server.log();
    drain_ms.push_back(MsSince(start));
    for (auto& c : clients) c.join();
    // The bound: the drain timeout, then the one second Drain grants the connections it cut.
    EXPECT_LT(drain_ms.back(), (drain_timeout_s + 1) * 1000) << "cycle " << cycle;
  }

  const std::map<std::string, int> stored = StoredKeys(dir.File("minyi.db"));
  int acknowledged = 0, refused = 0, unanswered = 0;
  for (const auto& [idem, p] : answers) {
    const auto it = stored.find(idem);
    const int rows = it == stored.end() ? 0 : it->second;
    if (p.status == 201) {
      ++acknowledged;
      EXPECT_EQ(rows, 1) << idem;
    } else if (p.status == 503) {
      ++refused;
      EXPECT_EQ(p.retry_after, "1") << idem;
      EXPECT_LE(rows, 1) << idem;
    } else {
      ++unanswered;
      EXPECT_EQ(p.status, 0) << idem;
      EXPECT_EQ(rows, 0) << "stored, but its client got no answer: " << idem;
    }
  }
  for (const auto& [idem, rows] : stored)
    EXPECT_EQ(answers.count(idem), 1u) << "stored, never posted: " << idem;
  std::printf(
      "SIGTERM under load, 3 cycles x 8 clients: %d acknowledged, %d refused (503), %d without an "
      "answer (none stored); drain %lld/%lld/%lld ms\n",
      acknowledged, refused, unanswered, drain_ms[0], drain_ms[1], drain_ms[2]);
}

}  // namespace
}  // namespace minyi::testing
