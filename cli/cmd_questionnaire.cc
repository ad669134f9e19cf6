// minyi import questionnaire FILE..., and the questionnaire endpoints in serve.
#include <Poco/Path.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>

#include "cli/import_runs.h"
#include "cli/progress.h"
#include "cli/questionnaire_commands.h"
#include "collector/questionnaire/questionnaire_endpoints.h"
#include "collector/questionnaire/questionnaire_import.h"
#include "collector/web_service.h"
#include "core/terminal_text.h"

namespace minyi::cli {
namespace {

namespace q = collector::questionnaire;

Result<collector::RespondentKeyer> KeyerFrom(const Config& config, const std::string& given) {
  std::string secret = given;
  if (secret.empty()) {
    bool created = false;
    auto loaded = collector::LoadRespondentSecret(config.collector.respondent_key_secret,
                                                  config.collector.secret_file, &created);
    if (!loaded.ok()) return loaded.status();
    if (created) spdlog::warn("generated a new respondent-key secret in {}", config.collector.secret_file);
    secret = std::move(loaded).value();
  }
  return collector::RespondentKeyer::Create(secret);
}

// One import run for the data-quality view: a revision counts as stored (it changed what counts), a
// stale version as a duplicate (it changed nothing).
ImportRun RunOf(const q::QuestionnaireImportReport& report, const std::string& command,
                const std::string& file, std::int64_t started_ms) {
  ImportRun run;
  run.command = command;
  run.file_name = file;
  run.started_at_ms = started_ms;
  run.rows_read = static_cast<std::int64_t>(report.rows);
  run.rows_stored = static_cast<std::int64_t>(report.stored + report.revised);
  run.rows_duplicate = static_cast<std::int64_t>(report.duplicates + report.stale);
  run.rows_rejected = static_cast<std::int64_t>(report.rejected);
  return run;
}

// A file only this process can read, removed when it goes out of scope.
class PrivateTempFile {
 public:
  ~PrivateTempFile() {
    if (!path_.empty()) ::unlink(path_.c_str());
  }
  Status Write(std::string_view bytes) {
    std::string pattern = Poco::Path::temp() + "minyi-upload-XXXXXX";
    const int fd = ::mkstemp(pattern.data());  // mode 0600
    if (fd < 0)
      return Status::Unavailable(std::string("cannot create a temporary file: ") + std::strerror(errno));
    path_ = pattern;
    std::size_t done = 0;
    while (done < bytes.size()) {
      const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        const int error = errno;
        ::close(fd);
        return Status::Unavailable(std::string("cannot write a temporary file: ") + std::strerror(error));
      }
      done += static_cast<std::size_t>(n);
    }
    if (::close(fd) != 0) return Status::Unavailable("cannot write a temporary file");
    return Status::Ok();
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

class Runtime final : public QuestionnaireRuntime {
 public:
  std::unique_ptr<collector::RespondentKeyer> keyer;
  std::unique_ptr<q::QuestionnaireEndpoints> endpoints;
};

// The map an upload uses: the one named by the questionnaire id, else the only one of the survey
// (and of the export's provider, when the header shows it); nullptr when none fits (question titles
// are matched then). kInvalidInput when several fit and the header was read (else the importer names
// the file's problem).
Result<const q::QuestionnaireMap*> ChooseMap(const std::vector<q::QuestionnaireMap>& maps,
                                             const std::string& path,
                                             const QuestionnaireUpload::Request& request) {
  // The provider by the header (FreeXL reads .xls from a path only, hence after writing the file).
  std::optional<q::Provider> provider;
  bool header_read = false;
  (void)q::ReadTableFile(path, [&](const q::TableRow& header) {
    header_read = true;
    if (header.error.ok()) provider = q::DetectProvider(header.cells);
    return Status::ResourceExhausted("only the header is read");  // stops the reader (discarded)
  });
  std::vector<const q::QuestionnaireMap*> candidates;
  for (const q::QuestionnaireMap& m : maps) {
    if (m.survey != request.survey_id) continue;
    if (!request.questionnaire_id.empty()) {
      if (m.id == request.questionnaire_id) candidates.push_back(&m);
    } else if (!provider || !m.provider || m.provider == provider) {
      candidates.push_back(&m);
    }
  }
  if (candidates.size() > 1 && header_read) {
    std::string ids;
    for (const q::QuestionnaireMap* m : candidates) ids += (ids.empty() ? "" : ", ") + m->id;
    return Status::InvalidInput("several questionnaire maps of survey '" + request.survey_id +
                                "' fit this file (ids " + ids + "): give the questionnaire id");
  }
  return candidates.empty() ? nullptr : candidates.front();
}

// The words naming the map looked for, for messages: "survey 'S'" or "survey 'S' with id ID".
std::string MapWanted(const QuestionnaireUpload::Request& request) {
  return "survey '" + request.survey_id + "'" +
         (request.questionnaire_id.empty() ? "" : " with id " + request.questionnaire_id);
}

// The importer's error for the uploader: the temporary path replaced by the upload's name (the
// reader names it in "cannot open" only), and a header no map explains said so.
Status UploadError(const Status& error, const std::string& temp_path, const q::QuestionnaireMap* map,
                   const QuestionnaireUpload::Request& request) {
  std::string message = error.message();
  for (std::size_t at; (at = message.find(temp_path)) != std::string::npos;) {
    message.replace(at, temp_path.size(), request.file_name);
  }
  if (error.code() == StatusCode::kUnavailable) return Status::Unavailable(message);
  if (error.code() == StatusCode::kResourceExhausted) return Status::ResourceExhausted(message);  // 413
  if (map == nullptr && message.rfind("header:", 0) == 0) {
    return Status::InvalidInput(message + " (no questionnaire map in questionnaire.map_dir names " +
                                MapWanted(request) + ": ask an administrator to add one)");
  }
  return Status::InvalidInput(message);
}

}  // namespace

int RunImportQuestionnaire(Context& context, const Args& args) {
  auto batch = IntOption(args, "--batch", 500, 1, 100000);
  if (!batch) return kExitUsage;
  std::optional<q::Provider> provider;
  if (args.Has("--provider")) {
    provider = q::ParseProvider(args.Get("--provider"));
    if (!provider) {
      std::cerr << "minyi: --provider '" << args.Get("--provider") << "': expected wjx or txwj\n";
      return kExitUsage;
    }
  }
  if (args.Has("--town") && args.Has("--town-column")) {
    std::cerr << "minyi: give --town or --town-column, not both\n";
    return kExitUsage;
  }
  auto opened = context.OpenAll();
  if (!opened.ok()) return Fail(opened.status());
  const Resources& r = opened.value();
  std::optional<q::QuestionnaireMap> map;
  if (args.Has("--map")) {
    std::ifstream in(args.Get("--map"), std::ios::binary);
    if (!in) return Fail(Status::NotFound("cannot open " + args.Get("--map")));
    std::stringstream text;
    text << in.rdbuf();
    auto parsed = q::ParseQuestionnaireMap(text.str(), r.surveys);
    if (!parsed.ok()) return Fail(parsed.status().WithContext(args.Get("--map")));
    map = std::move(parsed).value();
  }
  auto keyer = KeyerFrom(context.config(), "");
  if (!keyer.ok()) return Fail(keyer.status());

  q::QuestionnaireImportOptions options;
  options.survey_id = args.Get("--survey");
  options.period = args.Get("--period");
  options.town = args.Get("--town");
  options.town_column = args.Get("--town-column");
  options.county = args.Get("--county");
  options.provider = provider;
  options.questionnaire_id = args.Get("--questionnaire-id");
  options.map = map ? &*map : nullptr;
  options.utc_offset_minutes = context.config().questionnaire.utc_offset_minutes;
  options.batch_size = static_cast<std::size_t>(*batch);

  int exit_code = kExitOk;
  for (const std::string& path : args.positionals) {
    const std::int64_t started = NowMillis();
    TrackingReviser reviser(*r.store);
    ProgressReporter progress = CliProgress("import questionnaire " + path, ProgressUnit::kRows);
    options.progress = progress.Callback();
    auto report = q::ImportQuestionnaireFile(path, *r.surveys, *r.areas, keyer.value(), reviser, options);
    if (report.ok()) progress.Update(report->rows);
    progress.Finish(report.ok());
    if (!report.ok()) {
      exit_code = Fail(report.status().WithContext(path));
      continue;
    }
    std::cout << TerminalSafe(q::FormatQuestionnaireReport(report.value(), path), LineBreaks::kKeep);
    ImportRun run = RunOf(report.value(), "import questionnaire", path, started);
    run.survey_id = reviser.survey();
    if (run.survey_id.empty())
      run.survey_id = !options.survey_id.empty() ? options.survey_id : map ? map->survey : "";
    run.area_code = reviser.area();
    if (run.area_code.empty()) run.area_code = !options.town.empty() ? options.town : map ? map->town : "";
    RecordImportRun(*r.store, run);
    if (report->rejected > 0 && exit_code == kExitOk) exit_code = kExitRejected;
  }
  return exit_code;
}

bool QuestionnaireEndpointsConfigured(const QuestionnaireConfig& config) {
  return !config.wjx_push_secret.empty() || !config.txwj_token.empty();
}

Result<std::unique_ptr<QuestionnaireUpload>> QuestionnaireUpload::Create(const Config& config,
                                                                         const Resources& resources) {
  auto maps = q::LoadQuestionnaireMaps(config.questionnaire.map_dir, resources.surveys);
  if (!maps.ok()) return maps.status().WithContext("questionnaire.map_dir");
  return std::unique_ptr<QuestionnaireUpload>(
      new QuestionnaireUpload(resources, std::move(maps).value(), config.questionnaire.utc_offset_minutes));
}

Result<std::string> QuestionnaireUpload::Import(std::string_view body,
                                                const collector::RespondentKeyer& keyer,
                                                const Request& request) const {
  const std::int64_t started = NowMillis();
  const bool by_area = request.town.empty();
  PrivateTempFile file;
  MINYI_RETURN_IF_ERROR(file.Write(body));
  auto chosen = ChooseMap(maps_, file.path(), request);
  if (!chosen.ok()) return chosen.status();
  const q::QuestionnaireMap* map = chosen.value();
  // An area upload places each row by the file's town column, which only a map can name.
  if (by_area && (map == nullptr || (map->town_question.empty() && map->town.empty()))) {
    return Status::InvalidInput(
        "area " + request.area +
        ": a county- or city-wide upload takes each row's town from the town column " +
        "named by the questionnaire map's \"town_question\", and " +
        (map == nullptr ? "no map in questionnaire.map_dir names " + MapWanted(request)
                        : "the map of " + MapWanted(request) + " names none") +
        ": upload into one town (town=CODE) or ask an administrator to add it");
  }

  q::QuestionnaireImportOptions options;
  options.survey_id = request.survey_id;
  options.period = request.period;
  options.town = request.town;  // a town upload: every row, whatever the map's town column says
  if (by_area) {
    options.county = !map->county.empty() ? map->county : request.area;
    options.refuse_town = request.refuse_town;
  }
  options.questionnaire_id = request.questionnaire_id;
  options.map = map;
  options.utc_offset_minutes = utc_offset_minutes_;
  options.reason = "questionnaire upload by " + request.actor;
  TrackingReviser reviser(*resources_.store);
  auto report = q::ImportQuestionnaireFile(file.path(), *resources_.surveys, *resources_.areas, keyer,
                                           reviser, options);
  if (!report.ok()) return UploadError(report.status(), file.path(), map, request);
  ImportRun run = RunOf(report.value(), "upload questionnaire", request.file_name, started);
  run.actor = request.actor;
  run.survey_id = request.survey_id;
  // The narrowest area holding every stored row; the town or area asked for when none was stored.
  run.area_code = !reviser.area().empty() ? reviser.area() : by_area ? request.area : request.town;
  RecordImportRun(*resources_.store, run);
  spdlog::info("questionnaire upload by {} into {}: {} stored, {} revisions, {} rejected", request.actor,
               by_area ? request.area : request.town, report->stored, report->revised, report->rejected);
  return q::QuestionnaireReportJson(report.value(), request.file_name);
}

Result<std::unique_ptr<QuestionnaireRuntime>> StartQuestionnaire(Context& context, const Resources& resources,
                                                                 const std::string& respondent_secret,
                                                                 http::Router& router) {
  const QuestionnaireConfig& c = context.config().questionnaire;
  if (!QuestionnaireEndpointsConfigured(c)) return std::unique_ptr<QuestionnaireRuntime>();
  if (!c.txwj_token.empty() && c.txwj_token.size() < 16) {
    return Status::InvalidInput(
        "questionnaire.txwj.token: use at least 16 characters (it is the webhook's only secret)");
  }
  auto runtime = std::make_unique<Runtime>();
  auto keyer = KeyerFrom(context.config(), respondent_secret);
  if (!keyer.ok()) return keyer.status();
  runtime->keyer = std::make_unique<collector::RespondentKeyer>(std::move(keyer).value());
  auto maps = q::LoadQuestionnaireMaps(c.map_dir, resources.surveys);
  if (!maps.ok()) return maps.status().WithContext("questionnaire.map_dir");
  for (const q::QuestionnaireMap& m : maps.value()) {
    if (!m.provider || m.id.empty() || m.survey.empty()) {
      return Status::InvalidInput("questionnaire.map_dir: every map needs provider, id and survey");
    }
  }
  q::EndpointOptions options;
  options.wjx_push_secret = c.wjx_push_secret;
  options.txwj_token = c.txwj_token;
  options.wjx_allow_from = c.wjx_allow_from;
  options.wjx_allow_revisions = c.wjx_allow_revisions;
  options.maps = std::move(maps).value();
  options.utc_offset_minutes = c.utc_offset_minutes;
  options.max_body_bytes = static_cast<std::size_t>(c.max_body_bytes);
  const std::size_t count = options.maps.size();
  runtime->endpoints = std::make_unique<q::QuestionnaireEndpoints>(
      *resources.surveys, *resources.areas, *runtime->keyer, *resources.store, std::move(options));
  runtime->endpoints->Register(router);
  spdlog::info("questionnaire endpoints: {}{}{} ({} questionnaire maps)",
               c.wjx_push_secret.empty() ? "" : "问卷星 push",
               !c.wjx_push_secret.empty() && !c.txwj_token.empty() ? ", " : "",
               c.txwj_token.empty() ? "" : "腾讯问卷 webhook", count);
  return std::unique_ptr<QuestionnaireRuntime>(std::move(runtime));
}

}  // namespace minyi::cli
