// Two `minyi serve` on two nodes of a 3-node MariaDB Galera cluster (issue 15): the same
// idempotency key posted to both at the same moment must be stored once and acknowledged (201) once.
// The other answer is 200 (the same content: a duplicate), 409 (other content: a conflict) or 503
// with Retry-After; never 500, and never a 201 whose id no row has. And /readyz follows the node's
// Galera state. Label `cluster`; the cluster (tests/support/galera_cluster.h, deploy/cluster/galera.sh)
// is started once for the binary.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/minyi_process.h"
#include "tests/integration/web_http.h"
#include "tests/support/galera_cluster.h"

namespace minyi::testing {
namespace {

// How many keys each case posts to both servers at once (the issue measured 100).
constexpr int kKeys = 100;

std::string Body(const std::string& idem, const std::string& security) {
  return R"({"survey":"jiangsu-safety","period":2025,"town":"320812007","idempotency_key":")" + idem +
         R"(","answers":{"security":")" + security + R"(","grid":"2","age_band":"60+"}})";
}

// The response id in a reply body {"id":N,...}; -1 when there is none.
long long IdOf(const std::string& body) {
  const auto at = body.find("\"id\":");
  if (at == std::string::npos) return -1;
  try {
    return std::stoll(body.substr(at + 5));
  } catch (const std::exception&) {
    return -1;
  }
}

// Releases two threads at the same moment, once per round.
class Barrier {
 public:
  void Arrive() {
    std::unique_lock<std::mutex> lock(mu_);
    const int round = round_;
    if (++waiting_ == 2) {
      waiting_ = 0;
      ++round_;
      cv_.notify_all();
      return;
    }
    cv_.wait(lock, [&] { return round_ != round; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int waiting_ = 0;
  int round_ = 0;
};

class GaleraTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const auto t0 = std::chrono::steady_clock::now();
    auto started = testsupport::GaleraCluster::Start();
    if (!started.ok()) {
      start_error_ = new std::string(started.status().ToString());
      return;
    }
    cluster_ = std::move(started).value().release();
    std::cerr
        << "galera_test: 3-node cluster Synced in "
        << std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - t0).count()
        << " s\n";
  }
  static void TearDownTestSuite() {
    delete cluster_;
    cluster_ = nullptr;
    delete start_error_;
    start_error_ = nullptr;
  }
  void SetUp() override {
    if (start_error_ != nullptr) GTEST_SKIP() << "no Galera cluster: " << *start_error_;
  }

  // The options of the server on `node`: the same database, a node's own socket.
  static std::vector<std::string> Global(int node, const std::string& database) {
    return {"-D", "store.backend=mysql",
            "-D", "store.mysql.socket=" + cluster_->socket_path(node),
            "-D", "store.mysql.user=root",
            "-D", "store.mysql.database=" + database,
            "-D", "store.mysql.create_database=true",
            "-D", "collector.open_periods=2025",
            "-D", "collector.respondent_key_secret=integration-test-secret-0123456789",
            "-D", "web.rate_limit.per_minute=0",
            "-D", "aggregator.interval_ms=0",
            "-D", "api.key_cache_seconds=3600",
            "-D", "paths.surveys=" + std::string(MINYI_SOURCE_DIR) + "/conf/surveys"};
  }

  static testsupport::GaleraCluster* cluster_;
  static std::string* start_error_;
};

testsupport::GaleraCluster* GaleraTest::cluster_ = nullptr;
std::string* GaleraTest::start_error_ = nullptr;

struct Answer {
  int status = 0;
  long long id = -1;
  std::string retry_after;
  std::string body;
};

// The answers of a responses:batch reply {"results":[{"index":0,"status":201,"body":{"id":7,...}},...]},
// by item; the reply's Retry-After goes to every item.
std::vector<Answer> BatchAnswers(const WebReply& r, int n) {
  std::vector<Answer> out(n, Answer{r.status, -1, r.Header("Retry-After"), r.body});
  if (r.status != 200) return out;
  for (int j = 0; j < n; ++j) {
    const std::string head = "{\"index\":" + std::to_string(j) + ",\"status\":";
    const auto at = r.body.find(head);
    if (at == std::string::npos) continue;
    const auto end = r.body.find("{\"index\":", at + head.size());
    const std::string item =
        r.body.substr(at + head.size(), end == std::string::npos ? end : end - at - head.size());
    out[j].status = std::atoi(item.c_str());
    out[j].id = IdOf(item);
    out[j].body = item;
  }
  return out;
}

// Posts kKeys keys to both servers at the same moment (server A with `security_a`, B with
// `security_b`), one key per request (`batch` 1) or `batch` keys per responses:batch request (the
// store's batched append: its read before the insert may miss the other node's row), and checks
// every rule of the header comment against the database.
void PostPairsAndCheck(testsupport::GaleraCluster& cluster, const std::string& database, int port_a,
                       int port_b, const std::string& api_key, const std::string& prefix,
                       const std::string& security_a, const std::string& security_b, int batch = 1) {
  std::vector<Answer> a(kKeys), b(kKeys);
  Barrier barrier;
  auto poster = [&](int port, const std::string& security, std::vector<Answer>& out) {
    const std::map<std::string, std::string> headers = {{"Content-Type", "application/json"},
                                                        {"Authorization", "Bearer " + api_key}};
    for (int first = 0; first < kKeys; first += batch) {
      if (batch == 1) {
        barrier.Arrive();
        const WebReply r = HttpCall(port, "POST", "/api/v1/responses",
                                    Body(prefix + std::to_string(first), security), headers);
        out[first] = {r.status, IdOf(r.body), r.Header("Retry-After"), r.body};
        continue;
      }
      const int n = std::min(batch, kKeys - first);
      std::string body = "{\"responses\":[";
      for (int j = 0; j < n; ++j)
        body += (j > 0 ? "," : "") + Body(prefix + std::to_string(first + j), security);
      body += "]}";
      barrier.Arrive();
      const std::vector<Answer> answers =
          BatchAnswers(HttpCall(port, "POST", "/api/v1/responses:batch", body, headers), n);
      for (int j = 0; j < n; ++j) out[first + j] = answers[j];
    }
  };
  std::thread ta(poster, port_a, security_a, std::ref(a));
  std::thread tb(poster, port_b, security_b, std::ref(b));
  ta.join();
  tb.join();

  // Every node's view, after waiting for what the cluster has committed (wsrep_sync_wait).
  auto stored =
      cluster.Query(3, "SET SESSION wsrep_sync_wait = 1; SELECT r.source_ref, r.id, a.value FROM " +
                           database + ".responses r JOIN " + database +
                           ".response_answers a ON a.response_id = r.id AND a.question_code = 'security'"
                           " WHERE r.source_ref LIKE 'api:%:" +
                           prefix + "%'");
  ASSERT_TRUE(stored.ok()) << stored.status().ToString();
  std::map<std::string, std::vector<std::pair<long long, std::string>>> rows;  // idem -> (id, security)
  std::istringstream lines(*stored);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream fields(line);
    std::string ref, id, value;
    std::getline(fields, ref, '\t');
    std::getline(fields, id, '\t');
    std::getline(fields, value, '\t');
    rows[ref.substr(ref.rfind(':') + 1)].push_back({std::stoll(id), value});
  }

  const bool same = security_a == security_b;
  std::map<std::string, int> pairs;  // "201/409" -> count, for the failure message
  int double_201 = 0, missing_201 = 0, other = 0, rows_wrong = 0;
  for (int i = 0; i < kKeys; ++i) {
    const std::string idem = prefix + std::to_string(i);
    ++pairs[std::to_string(a[i].status) + "/" + std::to_string(b[i].status)];
    const auto& row = rows[idem];
    if (row.size() != 1) ++rows_wrong;
    int created = 0;
    for (const auto* ans : {&a[i], &b[i]}) {
      const std::string& security = ans == &a[i] ? security_a : security_b;
      switch (ans->status) {
        case 201:
          ++created;
          // The acknowledged content is the stored one, under the acknowledged id.
          if (row.size() != 1 || row[0].first != ans->id || row[0].second != security) ++missing_201;
          break;
        case 200:
          if (!same || row.size() != 1 || row[0].first != ans->id) ++other;
          break;
        case 409:
          if (same || row.size() != 1) ++other;
          break;
        case 503:
          if (ans->retry_after.empty()) ++other;
          break;
        default:
          ++other;
          ADD_FAILURE() << idem << ": status " << ans->status << " " << ans->body;
      }
    }
    if (created > 1) ++double_201;
  }
  std::string summary;
  for (const auto& [pair, n] : pairs) summary += " " + pair + "×" + std::to_string(n);
  EXPECT_EQ(double_201, 0) << "keys acknowledged 201 by both servers; answers (A/B):" << summary;
  EXPECT_EQ(missing_201, 0) << "201s whose id or content is not the stored row; answers:" << summary;
  EXPECT_EQ(rows_wrong, 0) << "keys without exactly one stored row; answers:" << summary;
  EXPECT_EQ(other, 0) << "answers of the wrong kind; answers:" << summary;
  std::cerr << "galera_test " << prefix << ": answers (A/B):" << summary << "\n";
}

// Migrates `database` through node 1 and creates an API key for the survey; "" on failure.
std::string MigrateWithKey(const std::vector<std::string>& on1) {
  std::vector<std::string> migrate = on1;
  migrate.insert(migrate.end(), {"db", "migrate"});
  const RunResult migrated = RunMinyi(migrate);
  EXPECT_EQ(migrated.exit_code, 0) << migrated.err;
  std::vector<std::string> create = on1;
  create.insert(create.end(), {"apikey", "create", "--name", "partner", "--survey", "jiangsu-safety"});
  const RunResult created = RunMinyi(create);
  EXPECT_EQ(created.exit_code, 0) << created.err;
  return migrated.exit_code == 0 && created.exit_code == 0 ? created.out.substr(0, created.out.find('\n'))
                                                           : "";
}

TEST_F(GaleraTest, SameKeyOnTwoNodesAtOnceIsStoredAndAcknowledgedOnce) {
  const std::string database = "minyi_galera_" + std::to_string(::getpid());
  const std::vector<std::string> on1 = Global(1, database), on2 = Global(2, database);
  const std::string api_key = MigrateWithKey(on1);
  ASSERT_FALSE(api_key.empty());

  ServerProcess a(on1);
  ASSERT_TRUE(a.started()) << a.log();
  ServerProcess b(on2);
  ASSERT_TRUE(b.started()) << b.log();

  PostPairsAndCheck(*cluster_, database, a.port(), b.port(), api_key, "diff-", "1", "4");
  PostPairsAndCheck(*cluster_, database, a.port(), b.port(), api_key, "same-", "2", "2");
  PostPairsAndCheck(*cluster_, database, a.port(), b.port(), api_key, "bdiff-", "1", "4", 5);
  PostPairsAndCheck(*cluster_, database, a.port(), b.port(), api_key, "bsame-", "3", "3", 5);
}

// Leases on Galera (issue 15): two servers on two nodes, live aggregation on and a 2 s lease; both show
// the same single holder, and when it is killed the server on the other node takes over within 3 lease
// periods (the takeover's write to the lease row is certified across the nodes).
TEST_F(GaleraTest, OneServerHoldsLiveAggregationAndTheOtherTakesOverAfterKill) {
  const std::string database = "minyi_galera_leases_" + std::to_string(::getpid());
  const std::vector<std::string> lease_options = {"-D", "aggregator.interval_ms=200", "-D",
                                                  "cluster.lease_seconds=2"};
  std::vector<std::string> on1 = Global(1, database), on2 = Global(2, database);
  on1.insert(on1.end(), lease_options.begin(), lease_options.end());
  on2.insert(on2.end(), lease_options.begin(), lease_options.end());
  on1.insert(on1.end(), {"-D", "cluster.node_name=server-on-1"});
  on2.insert(on2.end(), {"-D", "cluster.node_name=server-on-2"});
  auto a = std::make_unique<ServerProcess>(on1);
  ASSERT_TRUE(a->started()) << a->log();
  ASSERT_GE(WaitForLeaseHolder(a->port(), "server-on-1", {"live_aggregation"}, 6000), 0);
  ServerProcess b(on2);
  ASSERT_TRUE(b.started()) << b.log();
  for (int i = 0; i < 8; ++i) {
    EXPECT_EQ(LeaseHolders(b.port())["live_aggregation"], "server-on-1") << "seen by the server on node 2";
    EXPECT_EQ(LeaseHolders(a->port())["live_aggregation"], "server-on-1");
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
  }
  a->Kill();
  EXPECT_GE(WaitForLeaseHolder(b.port(), "server-on-2", {"live_aggregation"}, 3 * 2000 + 500), 0)
      << "not taken over within 3 lease periods";
}

// A node that refuses queries (error 1047, as while it is not ready; here wsrep_reject_queries) makes
// the server on it answer posts 503 with Retry-After, never 500 nor 201; once the node takes queries
// again the same keys are stored (201) and their replays are duplicates (200).
TEST_F(GaleraTest, ANodeRefusingQueriesIsAnswered503AndRecovers) {
  const std::string database = "minyi_refuse_" + std::to_string(::getpid());
  const std::string api_key = MigrateWithKey(Global(1, database));
  ASSERT_FALSE(api_key.empty());
  ServerProcess server(Global(2, database));
  ASSERT_TRUE(server.started()) << server.log();
  auto post = [&](const std::string& idem) {
    return HttpCall(server.port(), "POST", "/api/v1/responses", Body(idem, "3"),
                    {{"Content-Type", "application/json"}, {"Authorization", "Bearer " + api_key}});
  };
  ASSERT_EQ(post("refuse-warm").status, 201);  // also caches the API key

  ASSERT_TRUE(cluster_->Query(2, "SET GLOBAL wsrep_reject_queries = ALL").ok());
  std::map<int, int> refused;  // status -> count
  for (int i = 0; i < 10; ++i) {
    const WebReply r = post("refuse-" + std::to_string(i));
    ++refused[r.status];
    if (r.status == 503) {
      EXPECT_FALSE(r.Header("Retry-After").empty());
    }
  }
  const auto accepted = cluster_->Query(2, "SET GLOBAL wsrep_reject_queries = NONE");
  ASSERT_TRUE(accepted.ok()) << accepted.status().ToString();
  EXPECT_EQ(refused[503], 10) << "statuses while node 2 refused queries: 201×" << refused[201] << " 500×"
                              << refused[500];
  for (int i = 0; i < 10; ++i) {
    // The pool's connections may have been dropped: a few 503s until it reconnects are fine.
    WebReply r = post("refuse-" + std::to_string(i));
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (r.status == 503 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      r = post("refuse-" + std::to_string(i));
    }
    EXPECT_EQ(r.status, 201) << r.body;
    EXPECT_EQ(post("refuse-" + std::to_string(i)).status, 200);
  }
}

// Polls GET `path` until it answers `status` or `seconds` pass; the last reply.
WebReply WaitFor(int port, const std::string& path, int status, int seconds) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  for (;;) {
    WebReply r = HttpCall(port, "GET", path);
    if (r.status == status || std::chrono::steady_clock::now() > deadline) return r;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

// /readyz follows the node under its server: 503 with Retry-After while the node is desynced
// (wsrep_local_state_comment Donor/Desynced) or killed, 200 once it is Synced again; /healthz stays
// 200 while the node is only desynced.
TEST_F(GaleraTest, ReadyzFollowsTheNodeState) {
  const std::string database = "minyi_ready_" + std::to_string(::getpid());
  std::vector<std::string> migrate = Global(1, database);
  migrate.insert(migrate.end(), {"db", "migrate"});
  const RunResult migrated = RunMinyi(migrate);
  ASSERT_EQ(migrated.exit_code, 0) << migrated.err;
  std::vector<std::string> on3 = Global(3, database);
  on3.insert(on3.end(),
             {"-D", "store.health_timeout_ms=1000", "-D", "store.mysql.connect_timeout_seconds=2"});
  ServerProcess server(on3);
  ASSERT_TRUE(server.started()) << server.log();
  const int port = server.port();
  EXPECT_EQ(WaitFor(port, "/readyz", 200, 20).status, 200);

  ASSERT_TRUE(cluster_->Query(3, "SET GLOBAL wsrep_desync = ON").ok());
  const WebReply desynced = WaitFor(port, "/readyz", 503, 20);
  EXPECT_EQ(desynced.status, 503) << desynced.body;
  EXPECT_FALSE(desynced.Header("Retry-After").empty());
  EXPECT_EQ(HttpCall(port, "GET", "/healthz").status, 200);  // liveness: the store still answers
  ASSERT_TRUE(cluster_->Query(3, "SET GLOBAL wsrep_desync = OFF").ok());
  EXPECT_EQ(WaitFor(port, "/readyz", 200, 20).status, 200);

  // A crashed node: unreachable store, then the node rejoins (GaleraCluster::Restart waits for Synced).
  ASSERT_TRUE(cluster_->Kill(3).ok());
  EXPECT_EQ(WaitFor(port, "/readyz", 503, 20).status, 503);
  const Status restarted = cluster_->Restart(3);
  ASSERT_TRUE(restarted.ok()) << restarted.ToString();
  EXPECT_EQ(WaitFor(port, "/readyz", 200, 30).status, 200);
}

}  // namespace
}  // namespace minyi::testing
