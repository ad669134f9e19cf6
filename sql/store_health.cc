#include "sql/store_health.h"

#include <exception>
#include <utility>

#include "sql/db.h"
#include "sql/store.h"

namespace minyi::sql {
namespace {

// A failed check: neither healthy nor ready.
StoreHealthReport Unhealthy(std::string problem) {
  StoreHealthReport report;
  report.problem = std::move(problem);
  return report;
}

}  // namespace

StoreHealth::Probes StoreHealth::ForStore(Store& store, std::function<bool()> writes_failing,
                                          std::function<std::uint64_t()> failed_writes) {
  Probes p;
  p.read = [&store] { return store.SchemaVersion(); };
  p.write = [&store] { return store.SetMeta("health.write_probe", FormatTimestampUtc(NowMillis())); };
  p.writes_failing = std::move(writes_failing);
  p.failed_writes = std::move(failed_writes);
  p.ready = [&store] { return ClusterReady(store.SqlDb()); };
  return p;
}

Status StoreHealth::ClusterReady(db::Db& db) {
  if (db.dialect() != db::Dialect::kMysql) return Status::Ok();
  std::string ready, state;
  bool galera = false;
  // SHOW STATUS answers also on a node that refuses queries with 1047 (not ready, non-primary).
  MINYI_RETURN_IF_ERROR(
      db.InTransaction("cluster readiness", db::Work::kIdempotent, [&](db::Tx& tx) -> Status {
        auto rows = tx.Query(
            "SHOW GLOBAL STATUS WHERE Variable_name IN ('wsrep_ready', 'wsrep_local_state_comment', "
            "'wsrep_on')",
            {});
        if (!rows.ok()) return rows.status();
        galera = false;
        for (const db::Row& row : *rows) {
          const std::string name = row.Text(0);
          if (name == "wsrep_ready") {
            ready = row.Text(1);
            galera = true;
          } else if (name == "wsrep_local_state_comment") {
            state = row.Text(1);
          }
        }
        return Status::Ok();
      }));
  // Without the Galera provider loaded the server reports no wsrep_ready: a single server.
  if (!galera) return Status::Ok();
  if (ready != "ON" || state != "Synced") {
    return Status::Unavailable("galera node not ready: wsrep_ready=" + ready +
                               ", wsrep_local_state_comment=" + state);
  }
  return Status::Ok();
}

StoreHealth::StoreHealth(Probes probes, std::chrono::milliseconds timeout)
    : probes_(std::move(probes)), timeout_(timeout) {
  thread_ = std::thread([this] { Loop(); });
}

StoreHealth::~StoreHealth() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  requested_cv_.notify_one();
  thread_.join();
}

StoreHealthReport StoreHealth::Check() {
  const auto deadline = std::chrono::steady_clock::now() + timeout_;
  std::unique_lock<std::mutex> lock(mu_);
  // A check in flight started before this call: its answer is fresh enough, and waiting for it
  // keeps the number of checks running at one.
  const std::uint64_t ticket = requested_ > finished_ ? requested_ : ++requested_;
  requested_cv_.notify_one();
  if (!finished_cv_.wait_until(lock, deadline, [&] { return finished_ >= ticket; })) {
    return Unhealthy("the store did not answer within " + std::to_string(timeout_.count()) + " ms");
  }
  return last_;
}

void StoreHealth::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    requested_cv_.wait(lock, [&] { return stop_ || requested_ > finished_; });
    if (stop_) return;
    const std::uint64_t target = requested_;
    lock.unlock();
    StoreHealthReport report = RunProbes();
    lock.lock();
    last_ = std::move(report);
    finished_ = target;
    finished_cv_.notify_all();
  }
}

StoreHealthReport StoreHealth::RunProbes() {
  try {
    Result<int> version = probes_.read();
    if (!version.ok()) return Unhealthy(version.status().ToString());
    if (probes_.writes_failing && probes_.writes_failing()) {
      const std::uint64_t failed = probes_.failed_writes ? probes_.failed_writes() : 0;
      if (!(probe_ok_ && probes_.failed_writes && failed == probe_ok_at_)) {
        const Status written = probes_.write();
        probe_ok_ = written.ok();
        if (!written.ok()) return Unhealthy("writes are failing: " + written.ToString());
        probe_ok_at_ = failed;
      }
    } else {
      probe_ok_ = false;
    }
    StoreHealthReport report{true, version.value(), "", true, ""};
    if (probes_.ready) {
      const Status ready = probes_.ready();
      report.ready = ready.ok();
      if (!ready.ok()) report.not_ready = ready.ToString();
    }
    return report;
  } catch (const std::exception& e) {
    return Unhealthy(std::string("store check threw: ") + e.what());
  }
}

}  // namespace minyi::sql
