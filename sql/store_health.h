// The store check behind serve's /healthz, bounded in time and in threads.
//
// Check() answers within `timeout` whatever the store does: a paused or unreachable database makes
// it report "unavailable" when the check has not finished by then, never block the caller for as
// long as the database hangs. One checker thread runs the probes, so at most one check is in flight:
// callers arriving while one runs wait for that one (up to their own deadline) instead of starting
// another, and a hung check holds one thread, not one per /healthz request.
//
// A check reads (the schema version). When the writers report that their last write failed
// (`writes_failing`: a full disk or an I/O error fails batches while reads still work), it also makes
// a cheap write (meta key "health.write_probe") and reports unavailable until a write succeeds again;
// after a write probe succeeded it writes again only once another write failed (Probes::failed_writes).
//
// With a `ready` probe, a check whose read succeeded also runs it (serve's /readyz; /healthz ignores it).
//
// Thread-safe. The probes run on the checker thread; the destructor waits for a probe in flight
// (bounded by the store's own timeouts), so destroy this before the store.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "core/status.h"

namespace minyi::sql {

class Store;
namespace db {
class Db;
}  // namespace db

struct StoreHealthReport {
  bool ok = false;
  int schema_version = 0;  // when ok
  std::string problem;     // when not ok: why, for the log (no secrets: store messages only)
  // Readiness (serve's /readyz), when ok: the `ready` probe passed (a Galera node Synced, or no
  // cluster). not_ready says why not.
  bool ready = false;
  std::string not_ready;
};

class StoreHealth {
 public:
  struct Probes {
    std::function<Result<int>()> read;     // the schema version
    std::function<Status()> write;         // a cheap durable write
    std::function<bool()> writes_failing;  // the last write failed and none succeeded since; may be empty
    // Writes failed so far (monotonic); may be empty. With it, one write probe that succeeds stands for
    // the outage until the count rises again: each probe is a durable write, and probing on every check
    // (a balancer polls /healthz every second or so) ate, on a disk just given a little space back, the
    // space the writers needed.
    std::function<std::uint64_t()> failed_writes;
    // Whether the database takes traffic beyond answering reads (ClusterReady); may be empty (ready).
    std::function<Status()> ready;
  };

  // The readiness probe of a MySQL-protocol store: on a MariaDB Galera node, kUnavailable unless
  // wsrep_ready is ON and wsrep_local_state_comment is Synced (a joining, donor/desynced or
  // non-primary node would serve stale reads or refuse writes); OK on a server without wsrep and on
  // SQLite.
  static Status ClusterReady(db::Db& db);

  // The probes of a real store: SchemaVersion(), SetMeta("health.write_probe", <now>).
  static Probes ForStore(Store& store, std::function<bool()> writes_failing,
                         std::function<std::uint64_t()> failed_writes);

  StoreHealth(Probes probes, std::chrono::milliseconds timeout);
  ~StoreHealth();
  StoreHealth(const StoreHealth&) = delete;
  StoreHealth& operator=(const StoreHealth&) = delete;

  // The result of a check started at or before this call (the one in flight, or a new one), or
  // "unavailable" when none finished within the timeout.
  StoreHealthReport Check();

 private:
  void Loop();
  StoreHealthReport RunProbes();

  Probes probes_;
  const std::chrono::milliseconds timeout_;
  std::mutex mu_;
  std::condition_variable requested_cv_;
  std::condition_variable finished_cv_;
  std::uint64_t requested_ = 0;  // checks asked for (numbered from 1)
  std::uint64_t finished_ = 0;   // the number of the latest finished check
  StoreHealthReport last_;
  // The checker thread's own: a write probe succeeded while writes were failing, after failed_writes
  // had reached probe_ok_at_.
  bool probe_ok_ = false;
  std::uint64_t probe_ok_at_ = 0;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace minyi::sql
