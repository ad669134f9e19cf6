#include "collector/questionnaire/file_upload.h"

#include <Poco/Path.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <optional>

#include "collector/import_runs.h"
#include "collector/questionnaire/table_reader.h"

namespace minyi::collector::questionnaire {
namespace {

// A file only this process can read, removed when it goes out of scope. mkstemp rather than
// Poco::TemporaryFile, which only makes up a name: mkstemp creates the file, mode 0600, without a race.
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

// The words naming the map looked for, for messages: "survey 'S'" or "survey 'S' with id ID".
std::string MapWanted(const UploadRequest& request) {
  return "survey '" + request.survey_id + "'" +
         (request.questionnaire_id.empty() ? "" : " with id " + request.questionnaire_id);
}

}  // namespace

ImportRun ImportRunOf(const QuestionnaireImportReport& report, const std::string& command,
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

Result<const QuestionnaireMap*> ChooseMap(const std::vector<QuestionnaireMap>& maps, const std::string& path,
                                          const UploadRequest& request) {
  // The provider by the header (FreeXL reads .xls from a path only, hence after writing the file).
  std::optional<Provider> provider;
  bool header_read = false;
  (void)ReadTableFile(path, [&](const TableRow& header) {
    header_read = true;
    if (header.error.ok()) provider = DetectProvider(header.cells);
    return Status::ResourceExhausted("only the header is read");  // stops the reader (discarded)
  });
  std::vector<const QuestionnaireMap*> candidates;
  for (const QuestionnaireMap& m : maps) {
    if (m.survey != request.survey_id) continue;
    if (!request.questionnaire_id.empty()) {
      if (m.id == request.questionnaire_id) candidates.push_back(&m);
    } else if (!provider || !m.provider || m.provider == provider) {
      candidates.push_back(&m);
    }
  }
  if (candidates.size() > 1 && header_read) {
    std::string ids;
    for (const QuestionnaireMap* m : candidates) ids += (ids.empty() ? "" : ", ") + m->id;
    return Status::InvalidInput("several questionnaire maps of survey '" + request.survey_id +
                                "' fit this file (ids " + ids + "): give the questionnaire id");
  }
  return candidates.empty() ? nullptr : candidates.front();
}

Status CheckAreaUpload(const QuestionnaireMap* map, const UploadRequest& request) {
  if (map != nullptr && (!map->town_question.empty() || !map->town.empty())) return Status::Ok();
  return Status::InvalidInput("area " + request.area +
                              ": a county- or city-wide upload takes each row's town from the town column " +
                              "named by the questionnaire map's \"town_question\", and " +
                              (map == nullptr ? "no map in questionnaire.map_dir names " + MapWanted(request)
                                              : "the map of " + MapWanted(request) + " names none") +
                              ": upload into one town (town=CODE) or ask an administrator to add it");
}

Status UploadError(const Status& error, const std::string& temp_path, const QuestionnaireMap* map,
                   const UploadRequest& request) {
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

Result<std::string> FileUpload::Import(std::string_view body, const RespondentKeyer& keyer,
                                       const UploadRequest& request) const {
  const std::int64_t started = NowMillis();
  const bool by_area = request.town.empty();
  PrivateTempFile file;
  MINYI_RETURN_IF_ERROR(file.Write(body));
  auto chosen = ChooseMap(maps_, file.path(), request);
  if (!chosen.ok()) return chosen.status();
  const QuestionnaireMap* map = chosen.value();
  if (by_area) MINYI_RETURN_IF_ERROR(CheckAreaUpload(map, request));

  QuestionnaireImportOptions options;
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
  TrackingReviser reviser(reviser_);
  auto report = ImportQuestionnaireFile(file.path(), surveys_, areas_, keyer, reviser, options);
  if (!report.ok()) return UploadError(report.status(), file.path(), map, request);
  ImportRun run = ImportRunOf(report.value(), "upload questionnaire", request.file_name, started);
  run.actor = request.actor;
  run.survey_id = request.survey_id;
  // The narrowest area holding every stored row; the town or area asked for when none was stored.
  run.area_code = !reviser.area().empty() ? reviser.area() : by_area ? request.area : request.town;
  RecordImportRun(counters_, run);
  spdlog::info("questionnaire upload by {} into {}: {} stored, {} revisions, {} rejected", request.actor,
               by_area ? request.area : request.town, report->stored, report->revised, report->rejected);
  return QuestionnaireReportJson(report.value(), request.file_name);
}

}  // namespace minyi::collector::questionnaire
