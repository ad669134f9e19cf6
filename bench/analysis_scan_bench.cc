// The aggregator's read path (core/analysis.h ScanAnalysis) per dialect against the same scan
// written once on sql/db.h: is the per-dialect code a measured fast path? (sql/README.md)
//
// Stores N responses (default 1,000,000) of one period over 1,487 towns in a fresh SQLite file store
// (synchronous as the test support sets it) and, with --mariadb, in a private MariaDB; then scans the
// period three times each way and prints each run and the median (rows/s):
//  - native: the backend's ScanAnalysis (SQLite: one statement on a read-only connection, rows read
//    as views of SQLite's buffers; MariaDB: keyset pages of 50,000 rows);
//  - db.h:  keyset pages of `--page` rows (default 20,000) through Db::Read and Tx::Query, each row
//    copied into db::Value cells, as a port written once on db.h would read it.
// Both visit the same rows (checked: count and a checksum over ids, weights and codes lengths).
//
//   analysis_scan_bench [--responses N] [--page P] [--mariadb]
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/analysis.h"
#include "sql/db.h"
#include "sql/store.h"
#include "tests/support/store_backends.h"

namespace {

using minyi::Response;
using minyi::Status;

struct Tally {
  std::int64_t rows = 0;
  double checksum = 0;
  void Add(std::int64_t id, double weight, std::size_t codes) {
    ++rows;
    checksum += static_cast<double>(id % 1000) + weight + static_cast<double>(codes);
  }
};

Status Seed(minyi::sql::Store& store, std::int64_t n) {
  std::vector<Response> batch;
  std::vector<minyi::AppendResult> results;
  for (std::int64_t i = 0; i < n; ++i) {
    Response r;
    r.survey_id = "jiangsu-safety";
    r.period = {2025, 0};
    r.town_code = std::to_string(320000000 + (i * 7919) % 1487);
    r.channel = minyi::Channel::kImport;
    r.source_ref = "scan-bench-" + std::to_string(i);
    r.respondent_key = "k" + std::to_string(i);
    r.weight = 1.0 + static_cast<double>(i % 3) * 0.5;
    r.answers = {{"security", {std::to_string(1 + i % 5)}}, {"grid", {std::to_string(1 + (i / 5) % 5)}}};
    r.received_at_ms = 1735689600000 + i;
    batch.push_back(std::move(r));
    if (batch.size() == 2000 || i + 1 == n) {
      Status s = store.Append(batch, &results);
      if (!s.ok()) return s;
      batch.clear();
    }
  }
  return Status::Ok();
}

Status NativeScan(minyi::sql::Store& store, Tally& t) {
  minyi::AnalysisQuery q;
  q.survey_id = "jiangsu-safety";
  q.period = {2025, 0};
  return store.ScanAnalysis(q, [&](const minyi::AnalysisRow& r) {
    t.Add(r.response_id, r.weight, r.codes.size());
    return true;
  });
}

// The scan as a port written once on db.h would do it: keyset pages, read, then visited.
Status DbScan(minyi::sql::Store& store, std::int64_t page_rows, Tally& t) {
  std::string after_town;
  std::int64_t after_id = 0;
  for (;;) {
    std::vector<minyi::sql::db::Row> page;
    Status s = store.SqlDb().Read("scan analysis rows", [&](minyi::sql::db::Tx& tx) -> Status {
      // Each dialect's keyset spelling that its native scan uses (a row value keeps SQLite on a range
      // of the primary key; MariaDB's native scan uses the OR form).
      const bool sqlite = store.SqlDb().dialect() == minyi::sql::db::Dialect::kSqlite;
      auto rows = tx.Query(
          std::string("SELECT response_id, town_code, weight, codes FROM analysis_responses"
                      " WHERE survey_id = ? AND period_year = ? AND period_quarter = ? AND ") +
              (sqlite ? "(town_code, response_id) > (?, ?)"
                      : "(town_code > ? OR (town_code = ? AND response_id > ?))") +
              " ORDER BY town_code, response_id LIMIT ?",
          sqlite
              ? std::vector<minyi::sql::db::Value>{"jiangsu-safety", 2025, 0, after_town, after_id, page_rows}
              : std::vector<minyi::sql::db::Value>{"jiangsu-safety", 2025, 0, after_town, after_town,
                                                   after_id, page_rows});
      if (!rows.ok()) return rows.status();
      page = std::move(rows).value();
      return Status::Ok();
    });
    if (!s.ok()) return s;
    for (const auto& row : page) {
      const std::string codes = row.Text(3);
      t.Add(row.Int(0), row.Double(2), codes.size());
    }
    if (static_cast<std::int64_t>(page.size()) < page_rows) return Status::Ok();
    after_town = page.back().Text(1);
    after_id = page.back().Int(0);
  }
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

int Run(minyi::testsupport::StoreBackend backend, std::int64_t n, std::int64_t page_rows) {
  minyi::testsupport::TestDatabases dbs(backend);
  auto store = dbs.OpenFresh();
  if (!store.ok()) {
    std::fprintf(stderr, "open: %s\n", store.status().ToString().c_str());
    return 1;
  }
  const auto seed_start = std::chrono::steady_clock::now();
  Status seeded = Seed(**store, n);
  if (!seeded.ok()) {
    std::fprintf(stderr, "seed: %s\n", seeded.ToString().c_str());
    return 1;
  }
  std::printf("%s: %lld responses stored in %.1f s\n", minyi::testsupport::StoreBackendName(backend).c_str(),
              static_cast<long long>(n),
              std::chrono::duration<double>(std::chrono::steady_clock::now() - seed_start).count());
  const std::vector<std::pair<const char*, std::function<Status(Tally&)>>> ways = {
      {"native", [&](Tally& t) { return NativeScan(**store, t); }},
      {"db.h", [&](Tally& t) { return DbScan(**store, page_rows, t); }}};
  Tally reference;
  for (const auto& [name, scan] : ways) {
    std::vector<double> rates;
    for (int run = 1; run <= 3; ++run) {
      Tally t;
      const auto start = std::chrono::steady_clock::now();
      Status s = scan(t);
      const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      if (!s.ok()) {
        std::fprintf(stderr, "%s: %s\n", name, s.ToString().c_str());
        return 1;
      }
      if (reference.rows == 0) reference = t;
      if (t.rows != reference.rows || t.checksum != reference.checksum) {
        std::fprintf(stderr, "%s visited other rows (%lld)\n", name, static_cast<long long>(t.rows));
        return 1;
      }
      rates.push_back(static_cast<double>(t.rows) / secs);
      std::printf("  %-6s run %d: %lld rows in %.3f s (%.0f rows/s)\n", name, run,
                  static_cast<long long>(t.rows), secs, rates.back());
    }
    std::printf("  %-6s median: %.0f rows/s\n", name, Median(rates));
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::int64_t n = 1000000, page_rows = 20000;
  bool mariadb = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--responses") == 0 && i + 1 < argc) {
      n = std::atoll(argv[++i]);
    } else if (std::strcmp(argv[i], "--page") == 0 && i + 1 < argc) {
      page_rows = std::atoll(argv[++i]);
    } else if (std::strcmp(argv[i], "--mariadb") == 0) {
      mariadb = true;
    } else {
      std::fprintf(stderr, "usage: analysis_scan_bench [--responses N] [--page P] [--mariadb]\n");
      return 2;
    }
  }
  int rc = Run(minyi::testsupport::StoreBackend::kSqliteFile, n, page_rows);
  if (rc == 0 && mariadb) rc = Run(minyi::testsupport::StoreBackend::kMariaDb, n, page_rows);
  return rc;
}
