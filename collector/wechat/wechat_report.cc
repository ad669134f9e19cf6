// The WeChat import report as text (for the CLI) and JSON (for the upload's answer).
#include <sstream>
#include <string>

#include "collector/wechat/wechat_import.h"
#include "collector/wechat/wechat_import_internal.h"
#include "core/json_text.h"

namespace minyi::collector::wechat {

// The importer's shared internals (wechat_import_internal.h).
using namespace import_detail;  // NOLINT(google-build-using-namespace)

std::string WechatReport::ToText() const {
  std::ostringstream out;
  for (const WechatFileReport& f : files) {
    out << f.name << ": " << (f.format.empty() ? "not read" : f.format) << ", " << f.encoding << ", "
        << f.messages << " messages" << (f.truncated ? ", TRUNCATED" : "") << "\n";
  }
  out << "messages read: " << messages_read << " (duplicates " << duplicate_messages << ", unreadable lines "
      << lines_rejected << ")\n"
      << "prompts found: " << prompts_found << " (ignored, not by a known grid worker: " << prompts_ignored
      << ")\n"
      << "接龙: " << solitaire_threads << " survey threads, " << solitaire_snapshots << " snapshots, "
      << solitaire_entries << " entries\n"
      << "replies read: " << replies_read << "; answers accepted: " << answers_accepted
      << "; not understood: " << not_understood
      << "; not answers (recalls, notices, media, opt-outs, other quotes): " << not_answers << "\n";
  if (answers_without_town > 0) out << "answers in groups without a town: " << answers_without_town << "\n";
  out << "respondents: " << respondents << " (" << weak_keys
      << " keyed by group and display name, no wxid in the export: weaker)\n"
      << "responses: stored " << stored << ", duplicates " << duplicates << ", revisions " << revisions
      << ", stale " << stale << ", refused " << refused << ", invalid " << responses_invalid << "\n";
  for (const WechatIssue& i : issues) {
    out << "  " << i.file;
    if (i.line > 0) out << ":" << i.line;
    out << " [" << i.category << "] " << i.reason;
    if (!i.text.empty()) {
      std::string one_line = i.text;
      std::replace(one_line.begin(), one_line.end(), '\n', ' ');
      out << ": " << one_line;
    }
    out << "\n";
  }
  if (issues_dropped > 0) out << "  ... and " << issues_dropped << " more issues not listed\n";
  return out.str();
}

std::string WechatReport::ToJson() const {
  std::string out = "{\"files\":[";
  for (std::size_t i = 0; i < files.size(); ++i) {
    const WechatFileReport& f = files[i];
    out += std::string(i ? "," : "") + "{\"name\":" + JsonString(f.name) + ",\"format\":" + JsonString(f.format) +
           ",\"encoding\":" + JsonString(f.encoding) + ",\"bytes\":" + std::to_string(f.bytes) +
           ",\"messages\":" + std::to_string(f.messages) +
           ",\"truncated\":" + (f.truncated ? "true" : "false") + "}";
  }
  auto n = [](const char* name, std::size_t v) {
    return ",\"" + std::string(name) + "\":" + std::to_string(v);
  };
  out += "]" + n("messages_read", messages_read) + n("duplicate_messages", duplicate_messages) +
         n("lines_rejected", lines_rejected) + n("prompts_found", prompts_found) +
         n("prompts_ignored", prompts_ignored) + n("replies_read", replies_read) +
         n("answers_accepted", answers_accepted) + n("not_understood", not_understood) +
         n("not_answers", not_answers) + n("grid_worker_messages", grid_worker_messages) +
         n("solitaire_threads", solitaire_threads) + n("solitaire_snapshots", solitaire_snapshots) +
         n("solitaire_entries", solitaire_entries) + n("answers_without_town", answers_without_town) +
         n("respondents", respondents) + n("weak_keys", weak_keys) +
         n("responses_invalid", responses_invalid) + n("stored", stored) + n("duplicates", duplicates) +
         n("revisions", revisions) + n("stale", stale) + n("refused", refused) + ",\"issues\":[";
  for (std::size_t i = 0; i < issues.size(); ++i) {
    const WechatIssue& x = issues[i];
    out += std::string(i ? "," : "") + "{\"file\":" + JsonString(x.file) + ",\"line\":" + std::to_string(x.line) +
           ",\"category\":" + JsonString(x.category) + ",\"reason\":" + JsonString(x.reason) +
           ",\"text\":" + JsonString(x.text) + "}";
  }
  return out + "]" + n("issues_dropped", issues_dropped) + "}";
}

void SetImportRunFigures(const WechatFileReport& file, ImportRun& run) {
  run.rows_read = static_cast<std::int64_t>(file.messages);
  run.rows_stored = static_cast<std::int64_t>(file.stored + file.revisions);
  run.rows_duplicate = static_cast<std::int64_t>(file.duplicates + file.stale);
  run.rows_rejected = static_cast<std::int64_t>(file.lines_rejected + file.responses_invalid + file.refused +
                                                file.answers_without_town);
}

}  // namespace minyi::collector::wechat
