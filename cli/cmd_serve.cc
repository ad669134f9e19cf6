// minyi serve: the HTTP server. Routes come from the components; this file wires them to the store
// and runs the server until SIGINT/SIGTERM.
#include <Poco/Exception.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <csignal>
#include <fstream>
#include <iostream>
#include <memory>
#include <thread>

#include "aggregator/live.h"
#include "cli/access_setup.h"
#include "cli/command.h"
#include "cli/openapi_json.h"  // generated: docs/openapi.json
#include "cli/questionnaire_commands.h"
#include "cli/sms_commands.h"
#include "cli/version.h"
#include "cli/wechat_commands.h"
#include "collector/common/address_allow.h"
#include "collector/common/crypto.h"
#include "collector/rejection_tally.h"
#include "collector/web_service.h"
#include "core/http/router.h"
#include "core/http/server.h"
#include "core/http/telemetry.h"
#include "core/lease_keeper.h"
#include "core/metrics.h"
#include "core/repeat_limiter.h"
#include "dashboards/export_routes.h"
#include "dashboards/status_page.h"
#include "sql/collector_counters.h"
#include "sql/lease_store.h"
#include "sql/store_health.h"

namespace minyi::cli {
namespace {

// The OpenAPI 3 description of the HTTP API (docs/openapi.json, embedded at build time); public, like
// the README. access_matrix_test checks it against every registered route, both ways.
void RegisterOpenApi(http::Router& router) {
  router.Add("GET", "/api/v1/openapi.json",
             [](http::Request&, http::Response& response, const http::PathParams&) {
               response.set("Cache-Control", "public, max-age=3600");
               http::SendJson(response, 200, kOpenApiJson);
             });
}

// /healthz answers within store.health_timeout_ms whatever the store does (sql/store_health.h).
// /readyz (for a load balancer: take this server out) also answers 503 while the store's readiness
// probe fails: a Galera node not Synced (StoreHealth::ClusterReady).
void RegisterHealth(http::Router& router, sql::Store& store, sql::StoreHealth& health) {
  router.Add("GET", "/readyz",
             [&store, &health](http::Request&, http::Response& response, const http::PathParams&) {
               const sql::StoreHealthReport report = health.Check();
               if (!report.ok || !report.ready) {
                 const std::string why = !report.ok ? "store unavailable" : "database node not ready";
                 spdlog::debug("readiness: {}: {}", why, !report.ok ? report.problem : report.not_ready);
                 response.set("Retry-After", "1");
                 return http::SendJson(response, 503,
                                       "{\"status\":\"" + why + "\",\"store\":\"" + store.Backend() + "\"}");
               }
               http::SendJson(response, 200, "{\"status\":\"ready\",\"store\":\"" + store.Backend() + "\"}");
             });
  auto log_limit = std::make_shared<RepeatLimiter>();  // one warning per 10 s while the store is down
  router.Add("GET", "/healthz",
             [&store, &health, log_limit](http::Request&, http::Response& response, const http::PathParams&) {
               const sql::StoreHealthReport report = health.Check();
               if (!report.ok) {
                 if (const RepeatLimiter::Decision d = log_limit->Admit(); d.pass) {
                   spdlog::warn("health check: store unavailable: {}{}", report.problem,
                                d.suppressed > 0
                                    ? " (" + std::to_string(d.suppressed) + " more in the last 10 s)"
                                    : "");
                 }
                 return http::SendJson(response, 503,
                                       "{\"status\":\"unavailable\",\"store\":\"" + store.Backend() + "\"}");
               }
               http::SendJson(response, 200,
                              "{\"status\":\"ok\",\"version\":\"" + http::JsonEscape(kVersion) +
                                  "\",\"store\":\"" + store.Backend() +
                                  "\",\"schema_version\":" + std::to_string(report.schema_version) + "}");
             });
}

// GET /metrics: the registry in the Prometheus text format, for clients in metrics.allow_from or with
// "Authorization: Bearer <token>" (metrics.token_file); 403 for everyone else (deny by default).
Status RegisterMetrics(http::Router& router, const metrics::Registry& registry, const Config& config) {
  std::string token;
  if (!config.metrics.token_file.empty()) {
    std::ifstream in(config.metrics.token_file);
    if (!in) return Status::InvalidInput("metrics.token_file: cannot read " + config.metrics.token_file);
    std::getline(in, token);
    while (!token.empty() && (token.back() == '\r' || token.back() == ' ' || token.back() == '\t'))
      token.pop_back();
    if (token.size() < 16) {
      return Status::InvalidInput("metrics.token_file " + config.metrics.token_file +
                                  ": the token (first line) must have at least 16 characters");
    }
  }
  router.Add("GET", "/metrics",
             [&registry, allow = config.metrics.allow_from, token, trust = config.http.trust_forwarded_for](
                 http::Request& request, http::Response& response, const http::PathParams&) {
               // Behind a proxy (http.trust_forwarded_for) the address the proxy saw, not the proxy's.
               const std::string client = http::ClientAddress(request, trust);
               bool allowed = !allow.empty() && collector::AddressAllowed(client, allow);
               const std::string authorization = request.get("Authorization", "");
               if (!allowed && !token.empty() && authorization.rfind("Bearer ", 0) == 0) {
                 allowed = collector::ConstantTimeEquals(std::string_view(authorization).substr(7), token);
               }
               if (!allowed)
                 return http::SendError(response, Status::PermissionDenied("metrics: not allowed"));
               http::SendText(response, 200, metrics::kContentType, registry.Render());
             });
  return Status::Ok();
}

// The web collector's options from the configuration (README "Configuration").
Result<collector::WebServiceOptions> WebServiceOptionsFrom(const Config& config,
                                                           const SurveyCatalog& surveys) {
  const CollectorOptions& c = config.collector;
  collector::WebServiceOptions o;
  o.group_commit = GroupCommitOptionsFrom(c);
  auto periods = collector::ParsePeriodList(c.open_periods);
  if (!periods.ok()) return periods.status().WithContext("collector.open_periods");
  o.ingest.open_periods = std::move(periods).value();
  o.web.max_body_bytes = static_cast<std::size_t>(c.api_max_body_bytes);
  o.web.max_json_depth = c.api_max_json_depth;
  o.web.max_batch = static_cast<std::size_t>(c.api_max_batch);
  o.web.max_form_bytes = static_cast<std::size_t>(c.web_max_form_bytes);
  o.web.trust_forwarded_for = config.http.trust_forwarded_for;
  o.web.secure_cookies = PublicUrlIsHttps(config.http);
  o.web.bench_routes = config.http.bench_routes;
  o.web.privacy = {c.privacy_controller, c.privacy_purpose, c.privacy_retention};
  auto invitation_only = collector::ParseSurveyList(c.web_invitation_only, surveys);
  if (!invitation_only.ok()) return invitation_only.status().WithContext("web.invitation_only");
  o.ingest.invitation_only = std::move(invitation_only).value();
  o.ingest.max_web_per_town = c.web_max_responses_per_town;
  o.rate_per_minute = c.web_rate_per_minute;
  o.rate_burst = c.web_rate_burst;
  o.key_cache_ttl = std::chrono::seconds(c.api_key_cache_seconds);
  return o;
}

// SIGHUP (`systemctl reload minyi`): the configuration is loaded again from the same file, environment
// and -D options; what can change without a restart is applied: log.level. Every other key is read once
// at start-up (listeners, store, thread pools, secrets): a changed one is named in a warning and needs a
// restart. A configuration that no longer loads changes nothing.
void ReloadConfiguration(const Config& running) {
  auto reloaded = LoadConfig(running.sources);
  if (!reloaded.ok()) {
    spdlog::error("SIGHUP: configuration not reloaded, keeping the running one: {}",
                  reloaded.status().message());
    return;
  }
  spdlog::default_logger()->set_level(spdlog::level::from_str(reloaded->log.level));
  spdlog::warn("SIGHUP: configuration reloaded, log.level = {}", reloaded->log.level);
  for (std::size_t i = 0; i < running.effective.size() && i < reloaded->effective.size(); ++i) {
    const auto& [key, value] = running.effective[i];
    if (key != "log.level" && value != reloaded->effective[i].second) {
      spdlog::warn("SIGHUP: {} changed; it takes effect at the next restart", key);
    }
  }
}

// The termination signals and SIGHUP, blocked in the calling thread and so in every thread started after
// it; RunServe's main thread waits for them with sigwait.
sigset_t BlockServeSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  return signals;
}

// The web collector's options, with the group commit's batch sizes and store errors counted in `registry`.
Result<collector::WebServiceOptions> WebServiceOptionsWithMetrics(const Config& config,
                                                                  const SurveyCatalog& surveys,
                                                                  metrics::Registry& registry) {
  auto web_options = WebServiceOptionsFrom(config, surveys);
  if (!web_options.ok()) return web_options.status();
  web_options.value().group_commit.batch_sizes =
      &registry
           .AddHistogram("minyi_group_commit_batch_size", "Responses per group-commit transaction.", {},
                         {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024})
           .With({});
  web_options.value().group_commit.store_errors = &registry.AddCounter(
      "minyi_store_errors_total", "Failed group-commit writes to the store, by status kind.", {"kind"});
  return web_options;
}

// The respondent-key secret (collector.respondent_key_secret, or collector.secret_file, generated there
// on first use with a warning).
Result<std::string> LoadSecret(const Config& config) {
  bool secret_created = false;
  auto secret = collector::LoadRespondentSecret(config.collector.respondent_key_secret,
                                                config.collector.secret_file, &secret_created);
  if (!secret.ok()) return secret.status();
  if (secret_created) {
    spdlog::warn(
        "generated a new respondent-key secret in {} (mode 0600); keep and back it up: a new secret "
        "changes every respondent key",
        config.collector.secret_file);
  }
  return secret;
}

// The access log of log.access_file ("-": standard output); null when none is configured.
Result<std::unique_ptr<http::AccessLog>> OpenAccessLog(const Config& config) {
  const LogOptions& log = config.log;
  if (log.access_file.empty()) return std::unique_ptr<http::AccessLog>();
  return http::AccessLog::Open(
      log.access_file == "-" ? "" : log.access_file,
      log.access_format == "json" ? http::AccessLogFormat::kJson : http::AccessLogFormat::kText,
      config.http.trust_forwarded_for, static_cast<std::uint64_t>(log.min_free_mb) << 20);
}

// The singleton jobs this server competes for (README "Cluster"): live aggregation when it is on; the
// SMS sender, expiry and purges when an SMS gateway is set.
LeaseKeeperOptions KeeperOptionsFrom(const Config& config) {
  LeaseKeeperOptions keeper_options;
  keeper_options.holder = config.cluster.node_name;
  keeper_options.ttl_ms = config.cluster.lease_seconds * 1000LL;
  if (config.aggregator.interval_ms > 0) keeper_options.names.push_back(leases::kLiveAggregation);
  if (!config.sms.gateway_url.empty()) {
    keeper_options.names.insert(keeper_options.names.end(),
                                {leases::kSmsSender, leases::kSmsExpiry, leases::kSmsRetention});
  }
  keeper_options.log = [](const std::string& line) { spdlog::info("{}", line); };
  return keeper_options;
}

// The status page (dashboards/status_page.h): the store's backend, schema version and counts, and the leases.
void RegisterStatus(http::Router& router, const Resources& r, sql::Store& db, LeaseStore& lease_store) {
  dashboards::RegisterStatusRoutes(
      router, *r.surveys,
      [&db]() -> Result<dashboards::StatusSnapshot> {
        dashboards::StatusSnapshot snapshot;
        snapshot.backend = db.Backend();
        auto version = db.SchemaVersion();
        if (!version.ok()) return version.status();
        snapshot.schema_version = version.value();
        auto counts = db.CountResponses();
        if (!counts.ok()) return counts.status();
        snapshot.counts = std::move(counts).value();
        auto note = db.GetMeta("demo.note");
        if (note.ok()) snapshot.data_note = note.value();
        return snapshot;
      },
      5000, [&lease_store] { return lease_store.List(); });
}

// Statisticians' export downloads through the dashboards' guard rules (dashboards/export_routes.h).
Result<std::unique_ptr<dashboards::ExportRoutes>> RegisterExports(const Config& config, const Resources& r,
                                                                  sql::Store& db,
                                                                  dashboards::AccessService* access,
                                                                  http::Router& router) {
  dashboards::ExportRouteDeps export_deps;
  export_deps.access = access;
  export_deps.indices = &db;
  export_deps.releases = &db;
  export_deps.responses = &db;
  export_deps.population = &db;
  export_deps.surveys = r.surveys;
  export_deps.areas = r.areas;
  export_deps.survey_id = config.dashboard.survey;
  return dashboards::ExportRoutes::Register(router, export_deps);
}

// Live aggregation (aggregator/live.h): a background thread that recomputes the towns of new responses,
// whichever channel or process stored them, only while this server holds its lease; null when
// aggregator.interval_ms is 0. The caller stops it before the store closes.
Result<std::unique_ptr<aggregator::LiveAggregator>> StartLiveAggregation(const Config& config,
                                                                         const Resources& r, sql::Store& db,
                                                                         LeaseKeeper& keeper,
                                                                         metrics::Registry& registry) {
  std::unique_ptr<aggregator::LiveAggregator> live;
  if (config.aggregator.interval_ms > 0) {
    aggregator::LiveOptions live_options;
    live_options.interval_ms = config.aggregator.interval_ms;
    live_options.reconcile_ms = config.aggregator.reconcile_ms;
    live_options.compute.threads = config.aggregator.threads;
    live_options.code_version = kVersion;
    live = std::make_unique<aggregator::LiveAggregator>(live_options, db, db, *r.surveys, *r.areas, db);
    live->WatchRevisions(db);
    live->set_gate([&keeper] { return keeper.Held(leases::kLiveAggregation).has_value(); });
    const Status started = live->Start();
    if (!started.ok()) return started.WithContext("aggregator");
    // Before the first successful poll: the time since serve started.
    registry.AddGauge("minyi_live_aggregation_lag_seconds",
                      "Seconds since the live aggregator was last caught up: every response stored before "
                      "then is reflected in the index tables.",
                      [live = live.get(), started_ms = NowMillis(), &keeper] {
                        // Only the lease holder aggregates; the other servers report no lag of their own.
                        if (!keeper.Held(leases::kLiveAggregation)) return 0.0;
                        const std::int64_t caught_up = live->stats().caught_up_ms;
                        return static_cast<double>(NowMillis() - (caught_up > 0 ? caught_up : started_ms)) /
                               1000;
                      });
  }
  return live;
}

http::ServerOptions ServerOptionsFrom(const HttpOptions& options) {
  http::ServerOptions server_options;
  server_options.threads = options.threads;
  server_options.max_queued = options.max_queued;
  server_options.header_timeout_s = options.header_timeout_s;
  server_options.body_min_bytes_per_s = options.body_min_bytes_per_s;
  server_options.max_connections_per_address = options.max_connections_per_address;
  server_options.cap_exempt = options.connection_cap_exempt;
  return server_options;
}

// --routes-file and --port-file, for tests and scripts; the routes first, so that a test that waits for
// the port finds the routes too.
void WriteStartupFiles(const Args& args, const http::Router& router, unsigned port) {
  if (args.Has("--routes-file")) {
    std::ofstream routes(args.Get("--routes-file"));
    for (const http::Router::RouteInfo& route : router.Routes())
      routes << route.method << ' ' << route.pattern << '\n';
  }
  if (args.Has("--port-file")) {
    std::ofstream(args.Get("--port-file")) << port << "\n";
  }
}

// After the drain: commits every response still queued before the store closes, stops live aggregation
// and logs what both did.
void StopServices(collector::WebService& web, aggregator::LiveAggregator* live) {
  web.Stop();
  if (live) {
    live->Stop();
    const aggregator::LiveStats s = live->stats();
    spdlog::info("live aggregation: {} town-periods recomputed, {} period writes", s.town_recomputations,
                 s.period_writes);
  }
  const auto stats = web.stats();
  spdlog::info("web collector: {} responses in {} group commits (largest {})", stats.responses, stats.batches,
               stats.largest_batch);
}

}  // namespace

int RunServe(Context& context, const Args& args) {
  // Block the termination signals and SIGHUP in every thread we start; the main thread waits for them below.
  sigset_t signals = BlockServeSignals();

  auto opened = context.OpenAll();
  if (!opened.ok()) return Fail(opened.status());
  const Resources& r = opened.value();
  sql::Store& db = *r.store;

  // GET /metrics (core/metrics.h); declared first so that it outlives everything that counts into it.
  metrics::Registry registry;
  auto web_options = WebServiceOptionsWithMetrics(context.config(), *r.surveys, registry);
  if (!web_options.ok()) return Fail(web_options.status());
  auto secret = LoadSecret(context.config());
  if (!secret.ok()) return Fail(secret.status());
  // Rejected web/API submissions, counted in memory and written every 2 s (core/collector_counters.h);
  // declared before the web service so it outlives every handler that counts into it.
  auto counters = sql::OpenCollectorCounters(db);
  if (!counters.ok()) return Fail(counters.status());
  collector::RejectionTally rejections(*counters.value());
  rejections.Start();
  // Declared before the server so it outlives it: handlers wait on its writer.
  collector::WebService web(*r.surveys, *r.areas, db, db, std::move(secret).value(),
                            std::move(web_options).value());

  web.ingest().set_rejection_tally(&rejections);
  registry.AddGauge("minyi_group_commit_queue_depth", "Responses waiting for a group commit.",
                    [&web] { return static_cast<double>(web.stats().queued); });
  http::Router router;
  http::HttpMetrics http_metrics(registry);
  auto opened_log = OpenAccessLog(context.config());
  if (!opened_log.ok()) return Fail(opened_log.status());
  std::unique_ptr<http::AccessLog> access_log = std::move(opened_log).value();
  router.set_observer([&http_metrics, &access_log](const http::RequestRecord& record) {
    http_metrics.Record(record);
    if (access_log) access_log->Record(record);
  });
  const Status metrics_route = RegisterMetrics(router, registry, context.config());
  if (!metrics_route.ok()) return Fail(metrics_route);
  // Declared after the web service, so destroyed before it; its probe thread ends before the store closes.
  sql::StoreHealth health(
      sql::StoreHealth::ForStore(
          db, [&web] { return web.writes_failing(); }, [&web] { return web.unavailable_batches(); }),
      std::chrono::milliseconds(context.config().store.health_timeout_ms));
  RegisterHealth(router, db, health);
  RegisterOpenApi(router);
  web.Register(router);
  // The singleton jobs' leases (README "Cluster"): with several servers on one database, live
  // aggregation and the SMS sender, expiry and purges run only on the server holding their lease.
  // Declared before those jobs so that it outlives them; its destructor, after theirs, releases the
  // leases so that another server takes over at once.
  const std::unique_ptr<LeaseStore> lease_store = sql::OpenLeaseStore(db);
  LeaseKeeper keeper(*lease_store, KeeperOptionsFrom(context.config()));
  keeper.Start();
  // SMS webhooks, sender, expiry and retention (nothing when no sms.* provider or gateway is set).
  auto sms_runtime = StartSms(context, r, "", router, &keeper, &registry);
  if (!sms_runtime.ok()) return Fail(sms_runtime.status().WithContext("sms"));
  // 问卷星 push and 腾讯问卷 webhook (nothing unless questionnaire.wjx.push_secret / .txwj.token is set).
  auto questionnaire_runtime = StartQuestionnaire(context, r, "", router);
  if (!questionnaire_runtime.ok()) return Fail(questionnaire_runtime.status().WithContext("questionnaire"));
  RegisterStatus(router, r, db, *lease_store);

  // Officials' dashboards: login, pages, the guarded JSON API (dashboards/dashboard_api.h).
  auto dashboard = StartDashboard(context, r, db, router, &registry);
  if (!dashboard.ok()) return Fail(dashboard.status().WithContext("dashboard"));
  // The per-town cap of web responses reads the stored counts through the dashboards' queries.
  web.ingest().set_town_counts(dashboard.value()->access.store.get());
  // WeChat export uploads for grid workers and officials, through the same guard (cli/wechat_commands.h).
  auto wechat_upload = RegisterWechatUpload(context, r, *dashboard.value()->access.service, "", router);
  if (!wechat_upload.ok()) return Fail(wechat_upload.status().WithContext("wechat upload"));
  // Statisticians' export downloads through the same guard rules (dashboards/export_routes.h).
  auto export_routes =
      RegisterExports(context.config(), r, db, dashboard.value()->access.service.get(), router);
  if (!export_routes.ok()) return Fail(export_routes.status().WithContext("export downloads"));

  // Live aggregation: stopped below before the store closes.
  auto started_live = StartLiveAggregation(context.config(), r, db, keeper, registry);
  if (!started_live.ok()) return Fail(started_live.status());
  const std::unique_ptr<aggregator::LiveAggregator> live = std::move(started_live).value();

  const auto& options = context.config().http;
  try {
    Poco::Net::ServerSocket socket;
    socket.bind(Poco::Net::SocketAddress(options.host, static_cast<Poco::UInt16>(options.port)), true);
    socket.listen(options.max_queued);
    const unsigned port = socket.address().port();

    http::Server server(router, socket, ServerOptionsFrom(options));
    server.Start();
    spdlog::info("minyi {} serving on http://{}:{}/ (store {}, {} threads)", kVersion, options.host, port,
                 db.Backend(), options.threads);
    WriteStartupFiles(args, router, port);

    int received = 0;
    while (sigwait(&signals, &received) == 0 && received == SIGHUP) ReloadConfiguration(context.config());
    spdlog::info("received {}: stopping, letting requests in flight finish", received == SIGTERM ? "SIGTERM" : "SIGINT");
    // Stop accepting (new connections are refused), answer what was received with Connection: close,
    // let requests in flight finish within http.drain_timeout_s, then cut what is left.
    if (!server.Drain(std::chrono::seconds(options.drain_timeout_s))) {
      spdlog::warn("{} connections still busy after the drain; stopping anyway", server.CurrentConnections());
    }
    StopServices(web, live.get());
  } catch (const Poco::Exception& e) {
    return Fail(Status::Unavailable("HTTP server on " + options.host + ":" + std::to_string(options.port) + ": " +
                                    e.displayText()));
  }
  spdlog::info("stopped");
  return kExitOk;
}

}  // namespace minyi::cli
