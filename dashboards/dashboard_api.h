// The officials' dashboards (issue 7): the JSON API, its CSV export, login/logout, the admin API, and
// the static pages (dashboards/web/, plus ECharts copied from npm into the build directory).
//
// Every data route goes through the Guard (dashboards/guard.h): session, role, CSRF and area scope
// are checked on the server for every request. Figures come from IndexSource through an in-memory
// snapshot (IndexCache) that is swapped atomically when the aggregator has published new rows, so
// reads never wait for the store; counts and comments come from DashboardQueries, cached briefly.
//
// Low-n figures (IndexRow::low_n) are flagged for everyone and their values suppressed (null) for
// every role except statisticians (core/access.h SeesLowN).
//
// Routes (README "HTTP API" documents the JSON):
//   POST /api/v1/login, POST /api/v1/logout, GET /api/v1/me
//   GET  /api/v1/indices, /api/v1/indices.csv, /api/v1/trend, /api/v1/channels, /api/v1/comments,
//        /api/v1/response-rates, /api/v1/quality
//   GET  /api/v1/users, POST /api/v1/users, POST /api/v1/users/{name}/disable|enable, GET /api/v1/audit
//   GET  /login, /dashboard, /admin, /assets/{file}
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/areas.h"
#include "core/collector_counters.h"
#include "core/dashboard_ports.h"
#include "core/http/router.h"
#include "core/ports.h"
#include "core/survey.h"
#include "dashboards/access_service.h"
#include "dashboards/comments.h"

namespace minyi::dashboards {

class Guard;
class ScopedArea;

struct DashboardOptions {
  std::string survey_id = "jiangsu-safety";
  std::string comment_question = "comment";
  std::int64_t refresh_ms = 5000;       // how often the index snapshot checks for newly published rows
  std::int64_t stats_cache_ms = 60000;  // channel counts and comments per area
  std::string web_dir;                  // the pages and assets (html, js, css, vendor/echarts.min.js)
};

// The pages as copied into this build's directory at build time (the default for dashboard.web_dir).
std::string DefaultWebDir();

// All index rows of one survey, as of one moment.
struct IndexSnapshot {
  std::vector<Period> periods;  // ascending
  std::unordered_map<std::string, IndexRow> rows;
  std::int64_t computed_at_ms = 0;  // the newest computed_at of any row
  std::string signature;            // what the refresh compares

  static std::string Key(const std::string& area, const Period& period, const std::string& index);
  const IndexRow* Find(const std::string& area, const Period& period, const std::string& index) const;
};

class IndexCache {
 public:
  using Clock = std::function<std::int64_t()>;
  IndexCache(IndexSource& source, std::string survey_id, std::int64_t refresh_ms, Clock now = {});

  // The current snapshot, loading it on first use. At most every refresh_ms one caller checks the
  // province rows' signature (count, newest computed_at) and reloads everything when it changed;
  // others keep using the snapshot they have. kUnavailable only when no snapshot could ever be loaded.
  Result<std::shared_ptr<const IndexSnapshot>> Get();

 private:
  Result<std::string> Signature();
  Status Reload(std::string signature);

  IndexSource& source_;
  std::string survey_id_;
  std::int64_t refresh_ms_;
  Clock now_;
  std::mutex load_mu_;
  std::mutex snapshot_mu_;
  std::shared_ptr<const IndexSnapshot> snapshot_;
  std::atomic<std::int64_t> checked_at_ms_{0};
};

struct DashboardDeps {
  AccessService* access = nullptr;
  IndexSource* indices = nullptr;
  DashboardQueries* queries = nullptr;
  const AreaRegistry* areas = nullptr;
  const SurveyCatalog* surveys = nullptr;
  const TopicDictionary* topics = nullptr;
  CollectorCounters* counters = nullptr;   // rejected submissions, import runs
  ResponseRateQueries* rates = nullptr;    // invitations and what became of them
};

class Dashboard {
 public:
  // Checks the dependencies and the survey, and loads the static files from options.web_dir (a missing
  // echarts.min.js is logged: the pages then show tables without charts). Every pointer in `deps`
  // must outlive the Dashboard, and the Dashboard must outlive the router it registers on.
  static Result<std::unique_ptr<Dashboard>> Create(DashboardDeps deps, DashboardOptions options);

  void Register(http::Router& router);

  IndexCache& index_cache() { return cache_; }

 private:
  Dashboard(DashboardDeps deps, DashboardOptions options);

  struct CachedJson {
    std::string body;
    std::int64_t at_ms = 0;
  };
  struct StaticFile {
    std::string content_type;
    std::string body;
  };

  // The JSON rendered by `render` for `key`, cached until the snapshot changes.
  std::shared_ptr<const std::string> Rendered(const std::shared_ptr<const IndexSnapshot>& snapshot,
                                              const std::string& key, const std::function<std::string()>& render);
  Result<std::string> CachedStat(const std::string& key, const std::function<Result<std::string>()>& make);
  // The `period` parameter, else the latest period with figures, else the current year (UTC+8).
  Result<Period> PeriodParam(const http::Request& request);

  // The routes, by subject (Register calls each; dashboard_*_routes.cc).
  void RegisterPages(http::Router& router);
  void RegisterSession(http::Router& router, Guard& guard);
  void RegisterIndices(Guard& guard);
  void RegisterTrend(const std::shared_ptr<Guard>& guard);  // compares other areas through the guard
  void RegisterActivity(Guard& guard);
  void RegisterRates(Guard& guard);
  void RegisterQuality(Guard& guard);
  void RegisterAdmin(Guard& guard);

  struct IndicesRequest {
    std::shared_ptr<const IndexSnapshot> snapshot;
    Period period;
    AreaLevel level = AreaLevel::kTown;
  };
  // Parses period and level for /indices and /indices.csv; the Status is the client's error.
  Result<IndicesRequest> ParseIndicesRequest(const ScopedArea& scoped, http::Request& request);

  DashboardDeps deps_;
  DashboardOptions options_;
  std::shared_ptr<const SurveyDefinition> survey_;
  IndexCache cache_;
  std::map<std::string, StaticFile> files_;  // by name ("app.js", "vendor/echarts.min.js")
  std::mutex stats_mu_;
  std::map<std::string, CachedJson> stats_;
  std::mutex render_mu_;
  std::shared_ptr<const IndexSnapshot> render_for_;
  std::unordered_map<std::string, std::shared_ptr<const std::string>> rendered_;
  std::shared_ptr<Guard> guards_;  // keeps the guard the routes point to alive
};

}  // namespace minyi::dashboards
