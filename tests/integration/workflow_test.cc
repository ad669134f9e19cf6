// The whole foundation workflow through the `minyi` executable, on both stores: migrate, import
// responses (bad lines reported, good ones kept, re-import idempotent, conflicts reported), import
// population, seed demo data (once), aggregate, and serve the status page.
#include <gtest/gtest.h>

#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "tests/integration/minyi_process.h"
#include "tests/support/store_backends.h"

namespace minyi::testing {
namespace {

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// One private MariaDB for the whole binary, started on first use.
testsupport::MariaDbServer* SharedMariaDb() {
  auto server = testsupport::SharedMariaDb();
  if (!server.ok()) {
    ADD_FAILURE() << server.status();
    return nullptr;
  }
  return server.value();
}

class WorkflowTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "sqlite") {
      global_ = {"-D", "store.sqlite.path=" + dir_.File("minyi.db")};
    } else {
      testsupport::MariaDbServer* server = SharedMariaDb();
      ASSERT_NE(server, nullptr);
      global_ = {"-D", "store.backend=mysql",
                 "-D", "store.mysql.socket=" + server->socket_path(),
                 "-D", "store.mysql.user=" + server->user(),
                 "-D", "store.mysql.database=" + testsupport::MariaDbServer::UniqueDatabaseName(),
                 "-D", "store.mysql.create_database=true"};
    }
  }

  RunResult Minyi(std::vector<std::string> args) {
    std::vector<std::string> all = global_;
    all.insert(all.end(), args.begin(), args.end());
    return RunMinyi(all);
  }

  // Total stored responses, from `db status`.
  long long StoredResponses() {
    RunResult r = Minyi({"db", "status"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::istringstream lines(r.out);
    std::string line;
    while (std::getline(lines, line)) {
      if (line.rfind("total", 0) == 0) return std::stoll(line.substr(line.find_last_of(' ') + 1));
    }
    ADD_FAILURE() << "no total in db status:\n" << r.out;
    return -1;
  }

  TempDir dir_;
  std::vector<std::string> global_;
};

const char kResponses[] =
    "\xEF\xBB\xBFsource_ref,survey,period,town,channel,submitted_at,respondent_key,weight,security,grid,sex,age_band,"
    "comment\n"
    "r1,jiangsu-safety,2025,320812007,import,2025-05-12 09:01:33,k1,1,1,2,1,30-39,夜间照明不够\n"
    "r2,jiangsu-safety,2025,320812999,import,,k2,1,1,1,2,60+,\n"
    "r3,jiangsu-safety,2025,320812007,import,,13812345678,1,1,1,,,\n"
    "r4,jiangsu-safety,2025,320812007,import,,k4,1,7,1,,,\n"
    "r5,jiangsu-safety,2025,320812007,sms,,k5,1,2,9,1,18-29,\"有话说，\n两行\"\n"
    "r6,jiangsu-safety,2025Q9,320812007,import,,k6,1,2,1,,,\n";

TEST_P(WorkflowTest, MigrateReportsTheSchemaVersion) {
  RunResult r = Minyi({"db", "migrate"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(Contains(r.out, "001  initial")) << r.out;
  EXPECT_TRUE(Contains(r.out, "schema version ")) << r.out;
  RunResult again = Minyi({"db", "migrate"});
  EXPECT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(StoredResponses(), 0);
}

TEST_P(WorkflowTest, ImportKeepsGoodLinesReportsBadOnesAndIsIdempotent) {
  WriteFile(dir_.File("responses.csv"), kResponses);
  RunResult first = Minyi({"import", "responses", dir_.File("responses.csv")});
  EXPECT_EQ(first.exit_code, 3) << first.out << first.err;
  EXPECT_TRUE(Contains(first.out, "2 stored")) << first.out;
  EXPECT_TRUE(Contains(first.out, "line 3 [r2]: town 320812999 is not a known town")) << first.out;
  EXPECT_TRUE(Contains(first.out, "line 4 [r3]: respondent_key holds a phone number")) << first.out;
  EXPECT_TRUE(Contains(first.out, "line 5 [r4]: answers.security")) << first.out;
  EXPECT_TRUE(Contains(first.out, "line 8 [r6]")) << first.out;  // after a two-line quoted record
  EXPECT_FALSE(Contains(first.out, "13812345678")) << "a phone number must not be echoed";
  EXPECT_EQ(StoredResponses(), 2);

  RunResult second = Minyi({"import", "responses", dir_.File("responses.csv")});
  EXPECT_EQ(second.exit_code, 3);
  EXPECT_TRUE(Contains(second.out, "0 stored, 2 duplicates")) << second.out;
  EXPECT_EQ(StoredResponses(), 2);

  // Same reference, different content: a conflict, reported with its line, nothing overwritten.
  WriteFile(dir_.File("conflict.csv"),
            "source_ref,survey,period,town,channel,respondent_key,security,grid\n"
            "r1,jiangsu-safety,2025,320812007,import,k1,5,5\n"
            "r7,jiangsu-safety,2025,320812007,import,k7,1,1\n");
  RunResult conflict = Minyi({"import", "responses", dir_.File("conflict.csv")});
  EXPECT_EQ(conflict.exit_code, 3);
  EXPECT_TRUE(Contains(conflict.out, "1 stored")) << conflict.out;
  EXPECT_TRUE(Contains(conflict.out, "1 conflicts")) << conflict.out;
  EXPECT_TRUE(Contains(conflict.out, "line 2 [r1]")) << conflict.out;
  EXPECT_EQ(StoredResponses(), 3);

  RunResult missing = Minyi({"import", "responses", dir_.File("nope.csv")});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_TRUE(Contains(missing.err, "cannot open")) << missing.err;
}

TEST_P(WorkflowTest, PopulationImportRejectsInconsistentMarginsAndKeepsTheRest) {
  WriteFile(dir_.File("population.csv"),
            "period,town,sex,age_band,population\n"
            "2025,320812007,,,50000\n"
            "2025,320812007,1,,24000\n"
            "2025,320812007,2,,25000\n"
            "2025,320812001,,,30000\n"
            "2025,320812001,1,,20000\n"
            "2025,320812001,2,,20000\n"  // 40000 > 30000: this town is rejected
            "2025,320812999,,,1000\n"    // unknown town
            "2025,320812002,,,-5\n");    // negative
  RunResult r = Minyi({"import", "population", dir_.File("population.csv")});
  EXPECT_EQ(r.exit_code, 3) << r.out << r.err;
  EXPECT_TRUE(Contains(r.out, "1 town-years stored (3 cells)")) << r.out;
  EXPECT_TRUE(Contains(r.out, "320812001")) << r.out;
  EXPECT_TRUE(Contains(r.out, "line 8")) << r.out;
  EXPECT_TRUE(Contains(r.out, "line 9")) << r.out;
}

TEST_P(WorkflowTest, DemoSeedAggregateAndServe) {
  RunResult seed = Minyi({"demo", "seed", "--responses", "4000", "--seed", "7"});
  ASSERT_EQ(seed.exit_code, 0) << seed.out << seed.err;
  EXPECT_TRUE(Contains(seed.out, "4000 responses stored")) << seed.out;
  EXPECT_TRUE(Contains(seed.out, "1487 towns x 7 years")) << seed.out;
  EXPECT_EQ(StoredResponses(), 4000);
  RunResult again = Minyi({"demo", "seed", "--responses", "4000", "--seed", "7"});
  EXPECT_EQ(again.exit_code, 0);
  EXPECT_TRUE(Contains(again.out, "already seeded")) << again.out;
  EXPECT_EQ(StoredResponses(), 4000);

  RunResult aggregate = Minyi({"aggregate", "--period", "2025", "--csv", dir_.File("indices.csv")});
  ASSERT_EQ(aggregate.exit_code, 0) << aggregate.out << aggregate.err;
  EXPECT_TRUE(Contains(aggregate.out, "periods 2025")) << aggregate.out;
  std::ifstream csv(dir_.File("indices.csv"));
  std::string header, line;
  std::getline(csv, header);
  EXPECT_EQ(
      header,
      "period,level,area,index,n,n_eff,estimate,se,ci_low,ci_high,ci_method,score,score_se,score_ci_low,"
      "score_ci_high,deff,low_n,weighting,model_estimate,model_se,model_ci_low,model_ci_high,model_method");
  bool province_security = false;
  int modelled_towns = 0;
  while (std::getline(csv, line)) {
    if (line.rfind("2025,province,32,security,", 0) == 0) {
      province_security = true;
      EXPECT_EQ(line.substr(line.size() - 5), ",,,,,") << line;  // the province keeps the direct figures only
    }
    const bool town_security =
        line.find(",town,") != std::string::npos && line.find(",security,") != std::string::npos;
    // 4,000 responses over 7 years leave about one respondent per sampled town and year, too little for the
    // model, which gives way to the direct share (method "direct"); with more data, "eblup".
    const std::string method = line.substr(line.rfind(',') + 1);
    if (town_security && (method == "eblup" || method == "direct")) ++modelled_towns;
  }
  EXPECT_TRUE(province_security);
  EXPECT_GT(modelled_towns, 100);  // the model columns beside the direct share (docs/small_area.md)

  ServerProcess server(global_);
  ASSERT_TRUE(server.started()) << server.log();
  HttpReply health = HttpGet(server.port(), "/healthz");
  EXPECT_EQ(health.status, 200);
  EXPECT_TRUE(Contains(health.body, "\"status\":\"ok\"")) << health.body;
  HttpReply page = HttpGet(server.port(), "/");
  EXPECT_EQ(page.status, 200);
  EXPECT_TRUE(Contains(page.body, "合成演示数据")) << "the status page says the data is synthetic";
  EXPECT_TRUE(Contains(page.body, "<td>2025</td>"));
  HttpReply json = HttpGet(server.port(), "/api/v1/status");
  EXPECT_EQ(json.status, 200);
  EXPECT_TRUE(Contains(json.body, "\"survey\":\"jiangsu-safety\"")) << json.body;
  EXPECT_EQ(HttpGet(server.port(), "/no/such/page").status, 404);
  EXPECT_EQ(server.Stop(), 0);
  EXPECT_TRUE(Contains(server.log(), "received SIGTERM")) << server.log();
  EXPECT_TRUE(Contains(server.log(), "stopped")) << server.log();
}

INSTANTIATE_TEST_SUITE_P(Stores, WorkflowTest, ::testing::Values("sqlite", "mariadb"),
                         [](const ::testing::TestParamInfo<std::string>& param_info) { return param_info.param; });

}  // namespace
}  // namespace minyi::testing
