// Wiring of the access service for the CLI commands (user ..., demo seed, serve).
#pragma once

#include <memory>
#include <ostream>

#include "cli/command.h"
#include "core/http/router.h"
#include "core/metrics.h"
#include "dashboards/access_service.h"
#include "dashboards/comments.h"
#include "dashboards/dashboard_api.h"
#include "sql/access_store.h"
#include "sql/collector_counters.h"

namespace minyi::cli {

struct AccessBundle {
  std::unique_ptr<sql::AccessStore> store;
  std::unique_ptr<dashboards::AccessService> service;
};

dashboards::AccessOptions AccessOptionsFrom(const Config& config);
// Opens the store (migrated), the area registry and the access service over them. With `registry`, the
// service counts failed and throttled logins there (minyi_login_failures_total, minyi_login_throttled_total).
Result<AccessBundle> OpenAccess(Context& context, metrics::Registry* registry = nullptr);

// When no account exists yet: creates the demo accounts (an admin, a statistician, a county and a city
// official) with generated passwords, writes them to demo-credentials.txt (mode 0600) beside the
// SQLite database (paths.state_dir for MySQL) and prints them once to `out`. The file's first line names
// the database; a file naming another one is kept (the passwords are then only printed). Does nothing
// when any user exists.
Status CreateDemoAccounts(Context& context, std::ostream& out);

// What `serve` keeps alive for the dashboards (declare before the server so it outlives it).
struct DashboardRuntime {
  AccessBundle access;
  std::unique_ptr<CollectorCounters> counters;
  std::unique_ptr<ResponseRateQueries> rates;
  dashboards::TopicDictionary topics;
  std::unique_ptr<dashboards::Dashboard> dashboard;
};

// Opens the access service, loads the topic dictionary and the pages, and registers the dashboard
// routes on `router`, reading figures from `indices`; logins are counted in `registry` when given.
Result<std::unique_ptr<DashboardRuntime>> StartDashboard(Context& context, const Resources& resources,
                                                         IndexSource& indices, http::Router& router,
                                                         metrics::Registry* registry = nullptr);

}  // namespace minyi::cli
