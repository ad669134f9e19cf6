// The SMS commands (`minyi sms ...`, `minyi import sms`) and the SMS part of `minyi serve`
// (webhook routes, outbox sender, expiry and retention). Options come from the sms.* keys of the
// configuration (README "Configuration").
#pragma once

#include <memory>

#include "cli/command.h"
#include "collector/group_commit.h"
#include "core/http/router.h"
#include "core/lease_keeper.h"
#include "core/metrics.h"

namespace minyi::cli {

int RunSmsRosterImport(Context& context, const Args& args);
int RunSmsInvite(Context& context, const Args& args);
int RunSmsPurge(Context& context, const Args& args);
int RunSmsStatus(Context& context, const Args& args);
int RunImportSms(Context& context, const Args& args);

// The group commit of the collector.group_commit.* keys: the web ingest's and, with the same limits, the SMS
// webhooks' (messages per transaction, queue, wait for the commit).
collector::GroupCommitOptions GroupCommitOptionsFrom(const CollectorOptions& c);

// What serve keeps running for SMS; stops its thread on destruction.
class SmsRuntime {
 public:
  virtual ~SmsRuntime() = default;
};

// Registers the webhook routes of every enabled provider and starts the sender (when
// sms.gateway.url is set) with expiry and retention purges. Returns nullptr when SMS is not
// configured at all (no provider enabled, no gateway). `secret` is the respondent-key secret. With
// `leases` (must outlive the runtime), the sender, expiry and retention purges run only while this
// server holds their leases (leases::kSmsSender, kSmsExpiry, kSmsRetention).
// The webhooks' messages are handled through the group commit (GroupCommitOptionsFrom).
// With `registry`, the inbound messages are counted (minyi_sms_inbound_total{provider,status}) and the
// outbox's pending messages shown (minyi_sms_outbox_pending).
Result<std::unique_ptr<SmsRuntime>> StartSms(Context& context, const Resources& resources,
                                             const std::string& secret, http::Router& router,
                                             const LeaseKeeper* leases = nullptr,
                                             metrics::Registry* registry = nullptr);

}  // namespace minyi::cli
