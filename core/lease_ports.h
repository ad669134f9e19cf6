// Leases for the singleton jobs of several `minyi serve` on one database (issue 15): live aggregation,
// the SMS sender, conversation expiry, retention purges and `db migrate` are each done by exactly one
// server, the holder of the job's lease. A lease is a row in the database (never a per-process lock,
// never GET_LOCK, which Galera does not replicate): holder, expiry and a fencing token. Implemented
// over the SQL stores by sql/lease_store.h (migration 010); kept alive by core/lease_keeper.h.
//
// Clocks: every time comparison is made by the database, on its own clock, in the statement that
// takes or renews the lease; the servers' clocks play no part. On a Galera cluster each node has its
// own clock, so two servers writing through two nodes compare against two clocks: a takeover can
// come early by the skew between the nodes' clocks (keep them NTP-synchronized, well under a second,
// which the default 15 s lease leaves room for). The holder stops its job on its own monotonic clock
// one lease period after the start of its last successful renewal, never later than the database
// lets the lease expire.
//
// Thread safety: implementations are safe to call from several threads at once.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"

namespace minyi {

// The leases `minyi serve` and `db migrate` take (one name per singleton job).
namespace leases {
inline constexpr const char* kLiveAggregation = "live_aggregation";  // writes the index tables
inline constexpr const char* kSmsSender = "sms_sender";              // sends the SMS outbox
inline constexpr const char* kSmsExpiry = "sms_expiry";              // expires SMS conversations
inline constexpr const char* kSmsRetention = "sms_retention";        // purges phone data past retention
inline constexpr const char* kMigrate = "migrate";                   // applies schema migrations
}  // namespace leases

// What a holder shows when it does the job's work: the lease's name, who holds it and the fencing
// token of this tenure. A takeover by another holder bumps the token, so a write guarded by the
// token (sql/lease_store.h LeaseFence SQL) fails for the previous holder.
struct LeaseFence {
  std::string name;
  std::string holder;
  std::int64_t token = 0;
};

// The outcome of TryAcquire / Renew.
struct LeaseGrant {
  bool held = false;               // the caller holds the lease now
  std::int64_t token = 0;          // the fencing token when held
  std::string holder;              // the current holder ("" when unknown or none)
  std::int64_t expires_at_ms = 0;  // database clock
};

// One lease, for the status page.
struct LeaseInfo {
  std::string name;
  std::string holder;
  std::int64_t fencing_token = 0;
  std::int64_t acquired_at_ms = 0;  // when this holder took it (database clock)
  std::int64_t renewed_at_ms = 0;
  std::int64_t expires_at_ms = 0;
  bool live = false;  // not expired at the database's now
};

class LeaseStore {
 public:
  virtual ~LeaseStore() = default;

  // One conditional write: takes `name` for `holder` for `ttl_ms` when the lease is absent, expired
  // or already held by `holder` (then it is renewed and keeps its token). Taking it from another
  // holder bumps the fencing token; the first holder gets token 1. When two servers race for an
  // absent lease, the database's unique key decides: the loser is refused (held = false).
  // kInvalidInput for an empty name or holder or a ttl outside 1 ms .. 1 day.
  virtual Result<LeaseGrant> TryAcquire(const std::string& name, const std::string& holder,
                                        std::int64_t ttl_ms) = 0;
  // Extends the lease by ttl_ms from now, only while `fence` still holds it (same holder and token, not
  // expired): held = false otherwise, and the holder must stop the job.
  virtual Result<LeaseGrant> Renew(const LeaseFence& fence, std::int64_t ttl_ms) = 0;
  // Ends the lease now when `fence` still holds it, so a successor can take it at once. The row stays
  // (the token keeps growing). OK when it was not held any more.
  virtual Status Release(const LeaseFence& fence) = 0;
  // Every lease, by name.
  virtual Result<std::vector<LeaseInfo>> List() = 0;
};

}  // namespace minyi
