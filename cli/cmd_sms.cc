// minyi sms roster import | invite | purge | status, minyi import sms, and SMS in serve.
#include <spdlog/spdlog.h>

#include <chrono>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>

#include "cli/import_runs.h"
#include "cli/progress.h"
#include "cli/sms_commands.h"
#include "collector/sms/phone_privacy.h"
#include "collector/sms/sender.h"
#include "collector/sms/sms_routes.h"
#include "collector/sms/sms_service.h"
#include "collector/web_service.h"
#include "sql/sms_store.h"

namespace minyi::cli {
namespace {

namespace sms = collector::sms;

// Everything the SMS commands share, opened from the configuration.
struct SmsKit {
  Resources resources;
  std::unique_ptr<SmsStore> store;
  std::unique_ptr<collector::RespondentKeyer> keyer;
  std::unique_ptr<sms::PhoneCipher> cipher;
  std::unique_ptr<sms::SmsService> service;
};

Result<std::unique_ptr<SmsKit>> OpenKit(Context& context, const std::string& secret_in) {
  auto kit = std::make_unique<SmsKit>();
  auto opened = context.OpenAll();
  if (!opened.ok()) return opened.status();
  kit->resources = opened.value();
  const Config& config = context.config();
  std::string secret = secret_in;
  if (secret.empty()) {
    bool created = false;
    auto loaded = collector::LoadRespondentSecret(config.collector.respondent_key_secret, config.collector.secret_file,
                                                  &created);
    if (!loaded.ok()) return loaded.status();
    secret = std::move(loaded).value();
  }
  auto keyer = collector::RespondentKeyer::Create(secret);
  if (!keyer.ok()) return keyer.status();
  kit->keyer = std::make_unique<collector::RespondentKeyer>(std::move(keyer).value());
  auto cipher = sms::PhoneCipher::Load(config.sms.encryption_key, config.sms.encryption_key_file);
  if (!cipher.ok()) return cipher.status();
  kit->cipher = std::make_unique<sms::PhoneCipher>(std::move(cipher).value());
  auto store = sql::OpenSmsStore(*kit->resources.store);
  if (!store.ok()) return store.status();
  kit->store = std::move(store).value();
  sms::SmsServiceOptions options;
  options.conversation_ttl_ms = config.sms.conversation_ttl_hours * 3600LL * 1000;
  options.max_reasks = config.sms.max_reasks;
  options.comment_window_ms = config.sms.comment_window_hours * 3600LL * 1000;
  sms::SmsService::Deps deps{kit->store.get(),     kit->resources.store, kit->resources.surveys,
                             kit->resources.areas, kit->keyer.get(),     kit->cipher.get(),
                             kit->resources.store};
  kit->service = std::make_unique<sms::SmsService>(deps, options);
  return kit;
}

// The survey named by --survey, or the only one loaded.
Result<std::string> SurveyOption(const SmsKit& kit, const Args& args) {
  if (args.Has("--survey")) return args.Get("--survey");
  const auto all = kit.resources.surveys->All();
  if (all.size() == 1) return all.front()->id;
  return Status::InvalidInput("--survey is required when several surveys are loaded");
}

int Report(const std::vector<std::string>& rejected) {
  for (const std::string& r : rejected) std::cerr << "  rejected: " << r << "\n";
  return rejected.empty() ? kExitOk : kExitRejected;
}

class ServeRuntime final : public SmsRuntime {
 public:
  std::unique_ptr<SmsKit> kit;
  std::unique_ptr<sms::HttpSmsGateway> gateway;
  std::unique_ptr<sms::OutboxSender> sender;
  ~ServeRuntime() override {
    if (sender) sender->Stop();
  }
};

// The outbox's pending messages for the minyi_sms_outbox_pending gauge, read at most every 10 s.
class OutboxDepthCache {
 public:
  double Read(SmsStore& store) {
    std::lock_guard<std::mutex> lock(mu_);
    const std::int64_t now = NowMillis();
    if (read_at_ms_ == 0 || now - read_at_ms_ >= 10000) {
      read_at_ms_ = now;
      auto counts = store.CountOutbox();
      if (counts.ok()) {
        pending_ = 0;
        for (const auto& [status, n] : *counts) {
          if (status == "pending") pending_ = static_cast<double>(n);
        }
      } else {
        spdlog::warn("sms: outbox depth for /metrics: {}", counts.status().ToString());
      }
    }
    return pending_;
  }

 private:
  std::mutex mu_;
  std::int64_t read_at_ms_ = 0;
  double pending_ = 0;
};

}  // namespace

collector::GroupCommitOptions GroupCommitOptionsFrom(const CollectorOptions& c) {
  collector::GroupCommitOptions o;
  o.max_batch = static_cast<std::size_t>(c.group_commit_max_batch);
  o.max_wait = std::chrono::microseconds(c.group_commit_max_wait_us);
  o.max_queue = static_cast<std::size_t>(c.group_commit_max_queue);
  o.commit_timeout = std::chrono::milliseconds(c.group_commit_commit_timeout_ms);
  return o;
}

int RunSmsRosterImport(Context& context, const Args& args) {
  auto kit = OpenKit(context, "");
  if (!kit.ok()) return Fail(kit.status());
  auto survey = SurveyOption(**kit, args);
  if (!survey.ok()) return Fail(survey.status());
  const std::string file = args.positionals.front();
  std::ifstream in(file);
  if (!in) return Fail(Status::InvalidInput("cannot open " + file));
  const std::int64_t started = NowMillis();
  auto report = (*kit)->service->ImportRoster(in, *survey);
  if (!report.ok()) return Fail(report.status().WithContext(file));
  std::cout << file << ": " << report->stored << " roster entries stored for " << *survey
            << " (phones encrypted), " << report->rejected.size() << " rejected\n";
  ImportRun run;
  run.command = "sms roster import";
  run.file_name = file;
  run.survey_id = *survey;
  run.started_at_ms = started;
  run.rows_stored = report->stored;
  run.rows_rejected = static_cast<std::int64_t>(report->rejected.size());
  run.rows_read = run.rows_stored + run.rows_rejected;
  RecordImportRun(*(*kit)->resources.store, run);
  return Report(report->rejected);
}

int RunSmsInvite(Context& context, const Args& args) {
  auto kit = OpenKit(context, "");
  if (!kit.ok()) return Fail(kit.status());
  auto survey = SurveyOption(**kit, args);
  if (!survey.ok()) return Fail(survey.status());
  auto period = Period::Parse(args.Get("--period"));
  if (!period.ok()) return Fail(period.status().WithContext("--period"));
  auto report = (*kit)->service->Invite(*survey, *period, args.Get("--town"));
  if (!report.ok()) return Fail(report.status());
  std::cout << "queued " << report->queued << " invitations for " << *survey << " " << period->ToString() << "; "
            << report->existing << " already invited, " << report->suppressed << " opted out\n"
            << "the outbox is sent by `minyi serve` when sms.gateway.url is set\n";
  return kExitOk;
}

int RunSmsPurge(Context& context, const Args& args) {
  auto kit = OpenKit(context, "");
  if (!kit.ok()) return Fail(kit.status());
  if (args.Has("--survey")) {
    // Close what is still open first, so answers given so far are kept as partial responses.
    auto expired = (*kit)->service->ExpireDue();
    if (!expired.ok()) return Fail(expired.status());
    auto counts = (*kit)->store->PurgeSurvey(args.Get("--survey"));
    if (!counts.ok()) return Fail(counts.status());
    std::cout << "purged " << args.Get("--survey") << ": " << counts->roster_rows << " roster entries, "
              << counts->outbox_rows << " outbox messages, phone numbers of " << counts->conversations
              << " conversations\n";
    return kExitOk;
  }
  const int days = context.config().sms.retention_days;
  auto counts = (*kit)->store->PurgeBefore(NowMillis() - days * 24LL * 3600 * 1000);
  if (!counts.ok()) return Fail(counts.status());
  std::cout << "purged data older than " << days << " days: " << counts->outbox_rows << " outbox messages, "
            << "phone numbers of " << counts->conversations << " ended conversations\n";
  return kExitOk;
}

int RunSmsStatus(Context& context, const Args&) {
  auto kit = OpenKit(context, "");
  if (!kit.ok()) return Fail(kit.status());
  auto inbound = (*kit)->store->CountInbound();
  if (!inbound.ok()) return Fail(inbound.status());
  std::cout << "inbound messages (survey period status count):\n";
  for (const auto& c : *inbound) {
    std::cout << "  " << (c.survey_id.empty() ? "-" : c.survey_id) << " "
              << (c.period.year == 0 ? std::string("-") : c.period.ToString()) << " " << c.status << " " << c.count
              << "\n";
  }
  auto outbox = (*kit)->store->CountOutbox();
  if (!outbox.ok()) return Fail(outbox.status());
  std::cout << "outbox:\n";
  for (const auto& [status, count] : *outbox) std::cout << "  " << status << " " << count << "\n";
  return kExitOk;
}

int RunImportSms(Context& context, const Args& args) {
  auto kit = OpenKit(context, "");
  if (!kit.ok()) return Fail(kit.status());
  const std::string provider = args.Get("--provider", "import");
  int exit = kExitOk;
  for (const std::string& file : args.positionals) {
    std::ifstream in(file);
    if (!in) return Fail(Status::InvalidInput("cannot open " + file));
    const std::int64_t started = NowMillis();
    ProgressReporter progress = CliProgress("import sms " + file, ProgressUnit::kMessages);
    auto report = (*kit)->service->ImportRepliesCsv(in, provider, progress.Callback());
    progress.Finish(report.ok());
    if (!report.ok()) return Fail(report.status().WithContext(file));
    std::cout << file << ": " << report->stored << " replies handled, " << report->duplicates << " duplicates, "
              << report->rejected.size() << " rejected\n";
    ImportRun run;
    run.command = "import sms";
    run.file_name = file;
    run.started_at_ms = started;
    run.rows_stored = report->stored;
    run.rows_duplicate = report->duplicates;
    run.rows_rejected = static_cast<std::int64_t>(report->rejected.size());
    run.rows_read = run.rows_stored + run.rows_duplicate + run.rows_rejected;
    RecordImportRun(*(*kit)->resources.store, run);
    if (Report(report->rejected) != kExitOk) exit = kExitRejected;
  }
  return exit;
}

Result<std::unique_ptr<SmsRuntime>> StartSms(Context& context, const Resources& resources,
                                             const std::string& secret, http::Router& router,
                                             const LeaseKeeper* leases, metrics::Registry* registry) {
  (void)resources;
  const Config& config = context.config();
  sms::SmsRouteOptions routes;
  for (const auto& [provider, inbound] : config.sms.inbound) {
    routes.auth[provider].token = inbound.token;
    routes.auth[provider].allow_from = inbound.allow_from;
  }
  routes.auth["twilio"].secret = config.sms.twilio_auth_token;
  routes.auth["twilio"].public_url = config.sms.twilio_url;
  routes.auth["generic"].secret = config.sms.generic_secret;
  std::vector<std::string> enabled;
  for (const std::string& p : sms::WebhookProviders()) {
    if (sms::ProviderEnabled(routes.auth, p)) enabled.push_back(p);
  }
  const std::string& gateway_url = config.sms.gateway_url;
  if (enabled.empty() && gateway_url.empty()) return std::unique_ptr<SmsRuntime>();

  auto runtime = std::make_unique<ServeRuntime>();
  auto kit = OpenKit(context, secret);
  if (!kit.ok()) return kit.status();
  runtime->kit = std::move(kit).value();
  routes.max_body_bytes = static_cast<std::size_t>(config.sms.max_body_bytes);
  if (registry != nullptr) {
    routes.inbound = &registry->AddCounter(
        "minyi_sms_inbound_total", "SMS messages received by webhook, by provider and what became of them.",
        {"provider", "status"});
    // Read on the scrape's thread: one COUNT over the outbox's status index, at most every 10 s (a hung
    // database then delays one scrape by the store's read timeout, not every one).
    registry->AddGauge("minyi_sms_outbox_pending",
                       "SMS messages waiting in the outbox to be sent (the queue depth of the SMS sender).",
                       [store = runtime->kit->store.get(), cache = std::make_shared<OutboxDepthCache>()] {
                         return cache->Read(*store);
                       });
  }
  if (config.sms.group_commit)
    runtime->kit->service->StartGroupCommit(GroupCommitOptionsFrom(config.collector));
  sms::RegisterSmsRoutes(router, *runtime->kit->service, routes);
  std::string list;
  for (const auto& p : enabled) list += (list.empty() ? "" : ", ") + p;
  spdlog::info("sms: webhooks enabled for {}", list.empty() ? "no provider" : list);

  if (!gateway_url.empty()) {
    auto gateway = sms::HttpSmsGateway::Create({gateway_url, config.sms.gateway_token, config.sms.gateway_timeout_ms});
    if (!gateway.ok()) return gateway.status();
    runtime->gateway = std::move(gateway).value();
    sms::SenderOptions so;
    so.rate_per_second = static_cast<double>(config.sms.gateway_rate_per_second);
    so.max_attempts = config.sms.gateway_max_attempts;
    runtime->sender = std::make_unique<sms::OutboxSender>(*runtime->kit->store, *runtime->gateway,
                                                          *runtime->kit->cipher, so);
    SmsKit* k = runtime->kit.get();
    const std::int64_t retention_ms = config.sms.retention_days * 24LL * 3600 * 1000;
    if (leases != nullptr) runtime->sender->set_fence([leases] { return leases->Held(leases::kSmsSender); });
    runtime->sender->Start([k, retention_ms, leases] {
      if (leases == nullptr || leases->Held(leases::kSmsExpiry)) {
        auto expired = k->service->ExpireDue();
        if (!expired.ok()) spdlog::warn("sms: expiry: {}", expired.status().ToString());
      }
      if (leases == nullptr || leases->Held(leases::kSmsRetention)) {
        auto purged = k->store->PurgeBefore(NowMillis() - retention_ms);
        if (!purged.ok()) spdlog::warn("sms: retention purge: {}", purged.status().ToString());
      }
    });
    spdlog::info("sms: sending through {} at most {}/s", gateway_url, config.sms.gateway_rate_per_second);
  }
  return std::unique_ptr<SmsRuntime>(std::move(runtime));
}

}  // namespace minyi::cli
