// Leases of the singleton jobs (issue 15; core/lease_ports.h) through real `minyi serve` processes on
// one private MariaDB with a 2 s lease: exactly one server holds live aggregation and the SMS sender
// (as /api/v1/status shows on every server), the outbox is sent once through a fake gateway with two
// senders running, `kill -9` of the holder hands the jobs over within 3 lease periods, and SIGTERM
// releases them at once.
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/StreamCopier.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "core/lease_ports.h"
#include "sql/lease_store.h"
#include "sql/store.h"
#include "tests/integration/minyi_process.h"
#include "tests/support/mariadb_server.h"

namespace minyi::testing {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr int kLeaseSeconds = 2;

// What the gateway relay (collector/sms/sender.h protocol) was asked to send: each (to, text) counted.
class GatewayCounts {
 public:
  int Add(const std::string& to, const std::string& text) {
    std::lock_guard<std::mutex> lock(mu_);
    return ++sent_[{to, text}];
  }
  std::map<std::pair<std::string, std::string>, int> Sent() {
    std::lock_guard<std::mutex> lock(mu_);
    return sent_;
  }
  int Total() {
    std::lock_guard<std::mutex> lock(mu_);
    int n = 0;
    for (const auto& [message, count] : sent_) n += count;
    return n;
  }

 private:
  std::mutex mu_;
  std::map<std::pair<std::string, std::string>, int> sent_;
};

// The fake relay; Poco's HTTPServer owns the factory, the test owns the counts.
class GatewayFactory : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  explicit GatewayFactory(GatewayCounts& counts) : counts_(counts) {}
  Poco::Net::HTTPRequestHandler* createRequestHandler(const Poco::Net::HTTPServerRequest&) override {
    return new Handler(counts_);
  }

 private:
  class Handler : public Poco::Net::HTTPRequestHandler {
   public:
    explicit Handler(GatewayCounts& counts) : counts_(counts) {}
    void handleRequest(Poco::Net::HTTPServerRequest& request,
                       Poco::Net::HTTPServerResponse& response) override {
      std::string body;
      Poco::StreamCopier::copyToString(request.stream(), body);
      auto o = Poco::JSON::Parser().parse(body).extract<Poco::JSON::Object::Ptr>();
      const int n = counts_.Add(o->getValue<std::string>("to"), o->getValue<std::string>("text"));
      response.setContentType("application/json");
      response.send() << "{\"id\":\"gw-" << n << "\"}";
    }

   private:
    GatewayCounts& counts_;
  };

  GatewayCounts& counts_;
};

const std::vector<std::string> kJobs = {"live_aggregation", "sms_sender"};

class LeaseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto started = testsupport::MariaDbServer::Start();
    ASSERT_TRUE(started.ok()) << started.status();
    db_ = std::move(started).value();
    Poco::Net::ServerSocket socket(Poco::Net::SocketAddress("127.0.0.1", 0));
    gateway_port_ = socket.address().port();
    gateway_server_ = std::make_unique<Poco::Net::HTTPServer>(new GatewayFactory(gateway_), socket,
                                                              new Poco::Net::HTTPServerParams);
    gateway_server_->start();
    const std::string database = testsupport::MariaDbServer::UniqueDatabaseName();
    global_ = {"-D", "store.backend=mysql",
               "-D", "store.mysql.socket=" + db_->socket_path(),
               "-D", "store.mysql.user=" + db_->user(),
               "-D", "store.mysql.password=" + db_->password(),
               "-D", "store.mysql.database=" + database,
               "-D", "store.mysql.create_database=true",
               "-D", "collector.respondent_key_secret=integration-test-secret-0123456789",
               "-D", "sms.encryption_key_file=" + dir_.File("sms.key"),
               "-D", "sms.gateway.url=http://127.0.0.1:" + std::to_string(gateway_port_) + "/send",
               "-D", "sms.gateway.rate_per_second=1000",
               "-D", "aggregator.interval_ms=200",
               "-D", "cluster.lease_seconds=" + std::to_string(kLeaseSeconds),
               "-D", "paths.surveys=" + std::string(MINYI_SOURCE_DIR) + "/conf/surveys",
               "-D", "log.level=info"};
    database_ = database;
  }
  void TearDown() override {
    if (gateway_server_) gateway_server_->stopAll(true);
  }

  std::vector<std::string> Node(const std::string& name) const {
    std::vector<std::string> args = global_;
    args.insert(args.end(), {"-D", "cluster.node_name=" + name});
    return args;
  }
  RunResult Cli(const std::vector<std::string>& args) {
    std::vector<std::string> all = Node("cli");
    all.insert(all.end(), args.begin(), args.end());
    return RunMinyi(all);
  }
  long long Count(const std::string& sql) {
    auto out = db_->Query("USE `" + database_ + "`; " + sql);
    EXPECT_TRUE(out.ok()) << out.status();
    return out.ok() ? std::atoll(out->c_str()) : -1;
  }
  // Queues invitations for `phones` roster phones in `period` and waits (bounded) until the outbox is
  // sent; then every message must have reached the gateway exactly once.
  void InviteAndExpectEachSentOnce(int first_phone, int phones, const std::string& period) {
    std::string roster = "phone,town\n";
    for (int i = 0; i < phones; ++i)
      roster += "1381234" + std::to_string(1000 + first_phone + i) + ",320812001\n";
    WriteFile(dir_.File("roster.csv"), roster);
    const RunResult imported = Cli({"sms", "roster", "import", dir_.File("roster.csv")});
    ASSERT_EQ(imported.exit_code, 0) << imported.out << imported.err;
    const RunResult invited = Cli({"sms", "invite", "--period", period});
    ASSERT_EQ(invited.exit_code, 0) << invited.err;
    const long long queued = Count("SELECT COUNT(*) FROM sms_outbox");
    ASSERT_GE(queued, phones);
    const auto deadline = Clock::now() + std::chrono::seconds(20);
    while (Count("SELECT COUNT(*) FROM sms_outbox WHERE status = 'sent'") < queued &&
           Clock::now() < deadline) {
      std::this_thread::sleep_for(milliseconds(100));
    }
    ASSERT_EQ(Count("SELECT COUNT(*) FROM sms_outbox WHERE status = 'sent'"), queued)
        << "not all sent in 20 s";
    EXPECT_EQ(gateway_.Total(), queued) << "every outbox message reached the gateway once";
    for (const auto& [message, count] : gateway_.Sent()) {
      EXPECT_EQ(count, 1) << "sent " << count << " times: " << message.second;
    }
  }

  TempDir dir_;
  std::unique_ptr<testsupport::MariaDbServer> db_;
  GatewayCounts gateway_;
  Poco::UInt16 gateway_port_ = 0;
  std::unique_ptr<Poco::Net::HTTPServer> gateway_server_;
  std::vector<std::string> global_;
  std::string database_;
};

TEST_F(LeaseTest, OneServerHoldsEachJobAndAnotherTakesOverAfterKillAndAtOnceAfterSigterm) {
  const RunResult migrated = Cli({"db", "migrate"});
  ASSERT_EQ(migrated.exit_code, 0) << migrated.err;
  const milliseconds lease(kLeaseSeconds * 1000);

  auto a = std::make_unique<ServerProcess>(Node("server-a"));
  ASSERT_TRUE(a->started()) << a->log();
  ASSERT_GE(WaitForLeaseHolder(a->port(), "server-a", kJobs, 3 * lease.count()), 0)
      << "server-a alone takes every job";
  auto b = std::make_unique<ServerProcess>(Node("server-b"));
  ASSERT_TRUE(b->started()) << b->log();
  // Both servers show the same single holder, for several lease periods.
  for (int i = 0; i < 10; ++i) {
    auto seen_by_b = LeaseHolders(b->port());
    EXPECT_EQ(seen_by_b["live_aggregation"], "server-a");
    EXPECT_EQ(seen_by_b["sms_sender"], "server-a");
    EXPECT_EQ(seen_by_b["sms_expiry"], "server-a");
    EXPECT_EQ(seen_by_b["sms_retention"], "server-a");
    std::this_thread::sleep_for(milliseconds(300));
  }
  // Two senders run; the outbox goes out once.
  InviteAndExpectEachSentOnce(0, 10, "2025");

  // kill -9 the holder: server-b takes over within 3 lease periods.
  a->Kill();
  const long long took = WaitForLeaseHolder(b->port(), "server-b", kJobs, 3 * lease.count() + 500);
  EXPECT_GE(took, 0) << "server-b did not take over within 3 lease periods of kill -9";
  EXPECT_EQ(Count("SELECT MIN(fencing_token) FROM leases WHERE name IN ('live_aggregation', 'sms_sender')"),
            2)
      << "the takeover bumped the fencing tokens";

  // SIGTERM releases: at exit no lease of server-b is live any more, and server-c takes over at once.
  auto c = std::make_unique<ServerProcess>(Node("server-c"));
  ASSERT_TRUE(c->started()) << c->log();
  EXPECT_EQ(LeaseHolders(c->port())["sms_sender"], "server-b");
  EXPECT_EQ(b->Stop(), 0) << b->log();
  const std::string live_of_b =
      "SELECT COUNT(*) FROM leases WHERE holder = 'server-b' AND expires_at_ms > "
      "TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', UTC_TIMESTAMP(6)) DIV 1000";
  EXPECT_EQ(Count(live_of_b), 0) << "a stopped server released its leases";
  EXPECT_GE(WaitForLeaseHolder(c->port(), "server-c", kJobs, lease.count()), 0)
      << "server-c took over within one lease period";
  // The new holder sends what is queued next, once.
  InviteAndExpectEachSentOnce(100, 5, "2025");
}

// Two servers never migrate at once: while another holds the 'migrate' lease, `db migrate` waits
// (cluster.migrate_wait_seconds), then fails naming the holder and migrates nothing; once released it
// migrates.
TEST_F(LeaseTest, MigrateWaitsForTheMigrateLeaseThenFailsNamingItsHolder) {
  sql::StoreOptions options;
  options.backend = "mysql";
  options.mysql.socket = db_->socket_path();
  options.mysql.user = db_->user();
  options.mysql.password = db_->password();
  options.mysql.database = database_;
  options.mysql.create_database = true;
  auto store = sql::OpenStore(options);
  ASSERT_TRUE(store.ok()) << store.status();
  ASSERT_TRUE(sql::EnsureLeaseTable(**store).ok());
  const std::unique_ptr<LeaseStore> leases = sql::OpenLeaseStore(**store);
  auto held = leases->TryAcquire("migrate", "server-x", 60000);
  ASSERT_TRUE(held.ok() && held->held);

  const auto start = Clock::now();
  const RunResult refused = Cli({"-D", "cluster.migrate_wait_seconds=1", "db", "migrate"});
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_GE(Clock::now() - start, milliseconds(1000)) << "it waited for the lease";
  EXPECT_NE(refused.err.find("held by 'server-x'"), std::string::npos) << refused.err;
  const std::string tables = "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = '" +
                             database_ + "' AND table_name = 'responses'";
  EXPECT_EQ(Count(tables), 0) << "nothing migrated without the lease";

  ASSERT_TRUE(leases->Release({"migrate", "server-x", held->token}).ok());
  const RunResult migrated = Cli({"db", "migrate"});
  EXPECT_EQ(migrated.exit_code, 0) << migrated.err;
  EXPECT_EQ(Count(tables), 1);
}

}  // namespace
}  // namespace minyi::testing
