// Live aggregation inside `minyi serve` (aggregator/live.h): responses imported by another process
// reach the index tables within seconds, only their town-periods being recomputed.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "sql/store.h"
#include "tests/integration/minyi_process.h"

namespace minyi::testing {
namespace {

std::string Header() {
  return "source_ref,survey,period,town,channel,submitted_at,respondent_key,weight,security,grid,sex,age_band,"
         "comment\n";
}

// n responses of town `town`, refs prefix-0..n-1; the security answer cycles so the share is not 0 or 1.
std::string Responses(const std::string& prefix, const std::string& town, int n, int year = 2024) {
  std::string csv = Header();
  const char* security[] = {"1", "2", "4", "3", "5"};
  for (int i = 0; i < n; ++i) {
    csv += prefix + "-" + std::to_string(i) + ",jiangsu-safety," + std::to_string(year) + "," + town +
           ",import,,k" + prefix + std::to_string(i) + ",1," + security[i % 5] + ",2," + (i % 2 ? "1" : "2") +
           ",30-39,\n";
  }
  return csv;
}

// The town row of `index` for 2024, or nullopt.
std::optional<IndexRow> TownRow(const std::string& db_path, const std::string& town) {
  sql::StoreOptions o;
  o.sqlite.path = db_path;
  auto store = sql::OpenStore(o);
  if (!store.ok()) return std::nullopt;
  IndexQuery q;
  q.survey_id = "jiangsu-safety";
  q.period = Period{2024, 0};
  q.level = "town";
  q.area_code = town;
  q.index_id = "security";
  auto rows = (*store)->ReadIndexRows(q);
  if (!rows.ok() || rows->empty()) return std::nullopt;
  return rows->front();
}

std::optional<IndexRow> WaitFor(const std::string& db_path, const std::string& town, std::int64_t response_count,
                                std::chrono::seconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    std::optional<IndexRow> row = TownRow(db_path, town);
    if (row && row->response_count == response_count) return row;
    if (std::chrono::steady_clock::now() > deadline) return row;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

TEST(LiveAggregationTest, ImportsByAnotherProcessReachTheIndexTablesWithinSeconds) {
  TempDir dir;
  const std::string db = dir.File("minyi.db");
  const std::vector<std::string> global = {"-D", "store.sqlite.path=" + db, "-D", "store.sqlite.synchronous=NORMAL",
                                           "-D", "aggregator.interval_ms=200"};
  WriteFile(dir.File("population.csv"),
            "period,town,sex,age_band,population\n2024,320102002,,,41230\n2024,320812001,,,30000\n");
  WriteFile(dir.File("first.csv"), Responses("a", "320102002", 40) + Responses("b", "320812001", 35).substr(Header().size()));
  auto args = [&](std::vector<std::string> tail) {
    std::vector<std::string> all = global;
    all.insert(all.end(), tail.begin(), tail.end());
    return all;
  };
  ASSERT_EQ(RunMinyi(args({"import", "population", dir.File("population.csv")})).exit_code, 0);
  ASSERT_EQ(RunMinyi(args({"import", "responses", dir.File("first.csv")})).exit_code, 0);

  ServerProcess server(global);
  ASSERT_TRUE(server.started()) << server.log();
  // The initial pass computes what is stored.
  std::optional<IndexRow> before = WaitFor(db, "320812001", 35, std::chrono::seconds(20));
  ASSERT_TRUE(before.has_value()) << server.log();
  ASSERT_EQ(before->response_count, 35);
  const std::optional<IndexRow> other_before = TownRow(db, "320102002");
  ASSERT_TRUE(other_before.has_value());

  // Another process imports 10 more responses for one town.
  WriteFile(dir.File("more.csv"), Responses("c", "320812001", 10));
  const auto imported_at = std::chrono::steady_clock::now();
  ASSERT_EQ(RunMinyi(args({"import", "responses", dir.File("more.csv")})).exit_code, 0);
  std::optional<IndexRow> after = WaitFor(db, "320812001", 45, std::chrono::seconds(10));
  ASSERT_TRUE(after.has_value());
  EXPECT_EQ(after->response_count, 45) << server.log();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - imported_at).count();
  EXPECT_LT(seconds, 10.0);
  EXPECT_NE(after->response_hash, before->response_hash);
  EXPECT_GT(after->computed_at_ms, before->computed_at_ms);
  // The other town was not recomputed: its row is untouched (same computation time).
  const std::optional<IndexRow> other_after = TownRow(db, "320102002");
  ASSERT_TRUE(other_after.has_value());
  EXPECT_EQ(other_after->computed_at_ms, other_before->computed_at_ms);

  EXPECT_EQ(server.Stop(), 0);
  EXPECT_NE(server.log().find("live aggregation: 1 town-periods recomputed"), std::string::npos) << server.log();
}

}  // namespace
}  // namespace minyi::testing
