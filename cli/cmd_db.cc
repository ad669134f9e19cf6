// minyi db migrate | db status
#include <cstdio>
#include <iostream>

#include "cli/command.h"

namespace minyi::cli {

int RunDbMigrate(Context& context, const Args&) {
  // Context::Store() migrates on open; report what is there now.
  auto store = context.Store();
  if (!store.ok()) return Fail(store.status());
  auto migrations = store.value()->Migrations();
  if (!migrations.ok()) return Fail(migrations.status());
  for (const auto& m : migrations.value()) {
    std::printf("%03d  %-32s  %s\n", m.version, m.name.c_str(),
                m.applied_at.empty() ? "pending" : ("applied " + m.applied_at).c_str());
  }
  auto version = store.value()->SchemaVersion();
  if (!version.ok()) return Fail(version.status());
  std::printf("schema version %d (%s)\n", version.value(), store.value()->Backend().c_str());
  return kExitOk;
}

int RunDbStatus(Context& context, const Args&) {
  auto store = context.Store();
  if (!store.ok()) return Fail(store.status());
  auto version = store.value()->SchemaVersion();
  if (!version.ok()) return Fail(version.status());
  auto counts = store.value()->CountResponses();
  if (!counts.ok()) return Fail(counts.status());
  std::printf("store           %s\n", store.value()->Backend().c_str());
  std::printf("schema version  %d (this build knows %d)\n", version.value(), sql::LatestSchemaVersion());
  std::printf("\n%-24s %-8s %-8s %12s\n", "survey", "period", "channel", "responses");
  long long total = 0;
  for (const auto& c : counts.value()) {
    std::printf("%-24s %-8s %-8s %12lld\n", c.survey_id.c_str(), c.period.ToString().c_str(),
                std::string(ChannelName(c.channel)).c_str(), static_cast<long long>(c.count));
    total += c.count;
  }
  std::printf("%-24s %-8s %-8s %12lld\n", "total", "", "", total);
  return kExitOk;
}

}  // namespace minyi::cli
