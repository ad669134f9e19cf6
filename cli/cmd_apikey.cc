// minyi apikey create | list | revoke: partner API keys, scoped to surveys, stored hashed.
#include <cstdio>
#include <iostream>

#include "cli/command.h"
#include "collector/web_access.h"

namespace minyi::cli {

int RunApiKeyCreate(Context& context, const Args& args) {
  const std::string name = args.Get("--name");
  const std::vector<std::string>& surveys = args.All("--survey");
  if (name.empty() || surveys.empty()) {
    std::cerr << "minyi: apikey create needs --name N and at least one --survey S\n";
    return kExitUsage;
  }
  auto catalog = context.Surveys();
  if (!catalog.ok()) return Fail(catalog.status());
  for (const auto& s : surveys) {
    if (catalog.value()->Find(s) == nullptr) return Fail(Status::NotFound("unknown survey '" + s + "'"));
  }
  auto store = context.Store();
  if (!store.ok()) return Fail(store.status());
  collector::NewApiKey key = collector::MakeApiKey(name, surveys, NowMillis());
  MINYI_RETURN_IF_ERROR_CLI(store.value()->AddApiKey(key.record));
  std::string scope;
  for (const auto& s : key.record.surveys) scope += (scope.empty() ? "" : ",") + s;
  std::fprintf(stderr, "API key %s for \"%s\" (surveys: %s). It is shown only now; store it safely:\n",
               key.record.key_id.c_str(), name.c_str(), scope.c_str());
  std::printf("%s\n", key.key.c_str());
  return kExitOk;
}

int RunApiKeyList(Context& context, const Args&) {
  auto store = context.Store();
  if (!store.ok()) return Fail(store.status());
  auto keys = store.value()->ListApiKeys();
  if (!keys.ok()) return Fail(keys.status());
  std::printf("%-16s %-8s %-22s %-24s %s\n", "key_id", "state", "created", "name", "surveys");
  for (const auto& k : keys.value()) {
    std::string scope;
    for (const auto& s : k.surveys) scope += (scope.empty() ? "" : ",") + s;
    std::printf("%-16s %-8s %-22s %-24s %s\n", k.key_id.c_str(), k.active() ? "active" : "revoked",
                FormatTimestampUtc(k.created_at_ms).c_str(), k.name.c_str(), scope.c_str());
  }
  return kExitOk;
}

int RunApiKeyRevoke(Context& context, const Args& args) {
  auto store = context.Store();
  if (!store.ok()) return Fail(store.status());
  MINYI_RETURN_IF_ERROR_CLI(store.value()->RevokeApiKey(args.positionals.at(0), NowMillis()));
  std::printf("revoked %s (running servers stop accepting it within api.key_cache_seconds)\n",
              args.positionals.at(0).c_str());
  return kExitOk;
}

}  // namespace minyi::cli
