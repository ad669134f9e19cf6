// Keeps a server's leases (core/lease_ports.h) while it runs: one thread takes or renews every named
// lease each third of the lease period, and Stop() releases them, so that a successor takes over at
// once after a clean shutdown (SIGTERM) instead of waiting for the expiry.
//
// A job asks Held(name) before each unit of work and does it only with the fence it gets. Held() is
// answered on this process's monotonic clock: a lease counts as held until one lease period after the
// START of the last successful take or renewal — never later than the database's expiry, which was
// set after that start. So a holder that cannot renew (the database unreachable, the process stalled)
// stops its job before another server may take the lease (up to the skew between database nodes'
// clocks on Galera: core/lease_ports.h). A renewal the database refuses (another server holds the
// lease) ends the tenure at once.
//
// Thread safety: every method may be called from any thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/lease_ports.h"

namespace minyi {

struct LeaseKeeperOptions {
  std::string holder;              // this server (cluster.node_name), unique among the servers
  std::int64_t ttl_ms = 15000;     // the lease period (cluster.lease_seconds)
  std::vector<std::string> names;  // the leases to hold
  // Told of every change of tenure and every failed pass (serve logs them); may be empty.
  std::function<void(const std::string&)> log;
};

class LeaseKeeper {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;

  // `store` must outlive the keeper. `clock` is the monotonic clock (tests pass their own).
  LeaseKeeper(LeaseStore& store, LeaseKeeperOptions options, Clock clock = std::chrono::steady_clock::now);
  ~LeaseKeeper();  // Stop()
  LeaseKeeper(const LeaseKeeper&) = delete;
  LeaseKeeper& operator=(const LeaseKeeper&) = delete;

  // One pass on the calling thread: renews each held lease, tries to take each other one. Failures
  // are told to options.log and leave a lease held only until its local deadline.
  void RunOnce();
  // A thread running RunOnce() now and then every ttl/3 until Stop(). Start() twice is a no-op.
  void Start();
  // Ends the thread, then releases every lease still held (Held() answers nullopt afterwards).
  // Idempotent.
  void Stop();

  // The fence of `name` while this server holds it (see the header comment), nullopt otherwise.
  std::optional<LeaseFence> Held(const std::string& name) const;
  // The holder the last pass saw for `name` ("" when none or not yet known): for messages.
  std::string LastSeenHolder(const std::string& name) const;

  const LeaseKeeperOptions& options() const { return options_; }

 private:
  struct State {
    std::optional<LeaseFence> fence;
    std::chrono::steady_clock::time_point valid_until;
    std::string seen_holder;
  };

  LeaseStore& store_;
  const LeaseKeeperOptions options_;
  const Clock clock_;

  mutable std::mutex mu_;
  std::map<std::string, State> states_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace minyi
