#include "core/lease_keeper.h"

#include <algorithm>
#include <utility>

namespace minyi {

LeaseKeeper::LeaseKeeper(LeaseStore& store, LeaseKeeperOptions options, Clock clock)
    : store_(store), options_(std::move(options)), clock_(std::move(clock)) {
  for (const std::string& name : options_.names) states_[name];
}

LeaseKeeper::~LeaseKeeper() { Stop(); }

void LeaseKeeper::RunOnce() {
  const auto log = [this](const std::string& line) {
    if (options_.log) options_.log(line);
  };
  for (const std::string& name : options_.names) {
    std::optional<LeaseFence> fence;
    {
      std::lock_guard<std::mutex> lock(mu_);
      fence = states_[name].fence;
    }
    // Taken before the database's now, so the local deadline comes before the database's expiry.
    const auto started = clock_();
    Result<LeaseGrant> grant = fence ? store_.Renew(*fence, options_.ttl_ms)
                                     : store_.TryAcquire(name, options_.holder, options_.ttl_ms);
    std::lock_guard<std::mutex> lock(mu_);
    State& state = states_[name];
    if (!grant.ok()) {
      // The database did not answer: keep the tenure until its local deadline, and no longer.
      log("lease " + name + ": " + grant.status().ToString());
      if (state.fence && clock_() >= state.valid_until) {
        log("lease " + name + ": not renewed in time, stopping its job");
        state.fence.reset();
      }
      continue;
    }
    state.seen_holder = grant->holder;
    if (grant->held) {
      if (!state.fence) {
        log("lease " + name + ": taken by " + options_.holder + ", fencing token " +
            std::to_string(grant->token));
      }
      state.fence = LeaseFence{name, options_.holder, grant->token};
      state.valid_until = started + std::chrono::milliseconds(options_.ttl_ms);
    } else if (state.fence) {
      log("lease " + name + ": lost to " + (grant->holder.empty() ? std::string("nobody") : grant->holder) +
          ", stopping its job");
      state.fence.reset();
    }
  }
}

void LeaseKeeper::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (thread_.joinable()) return;
  stop_ = false;
  thread_ = std::thread([this] {
    const auto period = std::chrono::milliseconds(std::max<std::int64_t>(1, options_.ttl_ms / 3));
    std::unique_lock<std::mutex> guard(mu_);
    while (!stop_) {
      guard.unlock();
      RunOnce();
      guard.lock();
      cv_.wait_for(guard, period, [this] { return stop_; });
    }
  });
}

void LeaseKeeper::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  std::vector<LeaseFence> held;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [name, state] : states_) {
      if (state.fence) held.push_back(*state.fence);
      state.fence.reset();
    }
  }
  for (const LeaseFence& fence : held) {
    const Status released = store_.Release(fence);
    if (!released.ok() && options_.log)
      options_.log("lease " + fence.name + ": release: " + released.ToString());
  }
}

std::optional<LeaseFence> LeaseKeeper::Held(const std::string& name) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = states_.find(name);
  if (it == states_.end() || !it->second.fence || clock_() >= it->second.valid_until) return std::nullopt;
  return it->second.fence;
}

std::string LeaseKeeper::LastSeenHolder(const std::string& name) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = states_.find(name);
  return it == states_.end() ? std::string() : it->second.seen_holder;
}

}  // namespace minyi
