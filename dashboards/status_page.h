// The plain status page served at "/" until the officials' dashboards exist, and its JSON twin at
// "/api/v1/status": stored responses per survey, year and channel, the store's schema version, and
// which server holds which singleton job (the leases of several servers on one database).
// Counts only: no response content, no area below the survey level, so it needs no login.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "core/http/router.h"
#include "core/lease_ports.h"
#include "core/ports.h"
#include "core/survey.h"

namespace minyi::dashboards {

struct StatusSnapshot {
  std::string backend;  // "sqlite" | "mysql"
  int schema_version = 0;
  std::vector<ResponseCount> counts;
  std::string data_note;  // e.g. "synthetic demo data (seed 20250101)"; empty for real data
  std::int64_t taken_at_ms = 0;
  // Which server holds which singleton job (core/lease_ports.h); read afresh (RegisterStatusRoutes).
  std::vector<LeaseInfo> leases;
};

// Renders the page (Chinese UI, escaped). `surveys` gives the survey titles.
std::string RenderStatusPage(const StatusSnapshot& snapshot, const SurveyCatalog& surveys);
std::string RenderStatusJson(const StatusSnapshot& snapshot);

// Registers GET / and GET /api/v1/status. `load` is called at most once per `cache_ms` (the counts
// scan every stored response); concurrent requests share the cached snapshot. `leases` (may be empty)
// fills StatusSnapshot::leases at most once per kLeaseCacheMs, so that a takeover shows within a
// second. The catalog and the loaders must outlive the router.
inline constexpr std::int64_t kLeaseCacheMs = 500;
void RegisterStatusRoutes(http::Router& router, const SurveyCatalog& surveys,
                          std::function<Result<StatusSnapshot>()> load, std::int64_t cache_ms = 5000,
                          std::function<Result<std::vector<LeaseInfo>>()> leases = nullptr);

}  // namespace minyi::dashboards
