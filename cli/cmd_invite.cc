// minyi invite create: invitation tokens (one response each) written with their links to a CSV.
#include <cstdio>
#include <fstream>
#include <iostream>

#include "cli/command.h"
#include "collector/web_access.h"

namespace minyi::cli {

int RunInviteCreate(Context& context, const Args& args) {
  const std::string survey_id = args.Get("--survey");
  const std::string town = args.Get("--town");
  const std::string out_path = args.Get("--out");
  if (survey_id.empty() || out_path.empty()) {
    std::cerr << "minyi: invite create needs --survey S --count N --out FILE\n";
    return kExitUsage;
  }
  auto count = IntOption(args, "--count", 0, 1, 1000000);
  if (!count) return kExitUsage;
  if (*count == 0) {
    std::cerr << "minyi: invite create needs --count N (1 to 1000000)\n";
    return kExitUsage;
  }
  auto surveys = context.Surveys();
  if (!surveys.ok()) return Fail(surveys.status());
  if (surveys.value()->Find(survey_id) == nullptr) return Fail(Status::NotFound("unknown survey '" + survey_id + "'"));
  auto areas = context.Areas();
  if (!areas.ok()) return Fail(areas.status());
  if (!town.empty() && !areas.value()->IsTown(town)) {
    return Fail(Status::InvalidInput("--town " + town + " is not a known 9-digit town code"));
  }
  auto store = context.Store();
  if (!store.ok()) return Fail(store.status());

  auto invitations =
      collector::MakeInvitations(survey_id, town, static_cast<std::size_t>(*count), NowMillis());
  // Write the file first: tokens stored but never handed out would be harmless, tokens handed out but
  // never stored would not work.
  {
    std::ofstream out(out_path, std::ios::binary | std::ios::trunc);
    if (!out) return Fail(Status::Unavailable("cannot write " + out_path));
    collector::WriteInvitationCsv(out, invitations, context.config().http.public_url, *areas.value());
    out.flush();
    if (!out) return Fail(Status::Unavailable("cannot write " + out_path));
  }
  std::vector<InvitationToken> records;
  records.reserve(invitations.size());
  for (const auto& inv : invitations) records.push_back(inv.record);
  constexpr std::size_t kChunk = 5000;
  for (std::size_t i = 0; i < records.size(); i += kChunk) {
    std::vector<InvitationToken> chunk(records.begin() + static_cast<std::ptrdiff_t>(i),
                                       records.begin() + static_cast<std::ptrdiff_t>(std::min(records.size(), i + kChunk)));
    Status s = store.value()->AddInvitationTokens(chunk);
    if (!s.ok()) {
      std::remove(out_path.c_str());
      return Fail(s.WithContext("storing invitation tokens (the CSV was removed)"));
    }
  }
  std::printf("%lld invitation(s) for %s%s, batch %s, written to %s\n", *count, survey_id.c_str(),
              town.empty() ? " (the resident chooses the town)" : (" in " + areas.value()->FullName(town)).c_str(),
              invitations.front().record.batch_id.c_str(), out_path.c_str());
  std::printf("the CSV holds the only copy of the tokens: hand it over securely\n");
  return kExitOk;
}

}  // namespace minyi::cli
