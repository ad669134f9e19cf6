// The questionnaire half of the export upload of serve (POST /api/v1/imports/wechat,
// collector/wechat/upload_routes.h): one uploaded 问卷星/腾讯问卷 file imported with the maps of
// questionnaire.map_dir, and the import-run figures `minyi import questionnaire` shares with it. Written
// against ports only (ResponseReviser, CollectorCounters); the executable loads the maps and wires it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "collector/questionnaire/questionnaire_import.h"
#include "collector/questionnaire/questionnaire_map.h"
#include "collector/questionnaire_upload_port.h"
#include "core/areas.h"
#include "core/collector_counters.h"
#include "core/revisions.h"
#include "core/survey.h"

namespace minyi::collector::questionnaire {

using UploadRequest = QuestionnaireImport::Request;

// One import run for the data-quality view: a revision counts as stored (it changed what counts), a
// stale version as a duplicate (it changed nothing). Actor, survey and area are the caller's to set.
ImportRun ImportRunOf(const QuestionnaireImportReport& report, const std::string& command,
                      const std::string& file, std::int64_t started_ms);

// The map an upload uses: the one named by the questionnaire id, else the only one of the survey
// (and of the export's provider, when the header of the file at `path` shows it); nullptr when none
// fits (question titles are matched then). kInvalidInput naming the ids when several fit and the header
// was read (else the importer names the file's problem).
Result<const QuestionnaireMap*> ChooseMap(const std::vector<QuestionnaireMap>& maps, const std::string& path,
                                          const UploadRequest& request);

// An area upload (no town) places each row by the file's town column, which only a map can name:
// kInvalidInput saying so when `map` is null or names no town column (nor a town); Ok otherwise.
Status CheckAreaUpload(const QuestionnaireMap* map, const UploadRequest& request);

// The importer's error for the uploader: `temp_path` replaced by the upload's file name (the reader
// names it in "cannot open" only), and a header no map explains said so (when `map` is null).
// kUnavailable and kResourceExhausted keep their code; anything else is kInvalidInput.
Status UploadError(const Status& error, const std::string& temp_path, const QuestionnaireMap* map,
                   const UploadRequest& request);

// The port of the upload routes (collector/questionnaire_upload_port.h) with the maps read once when
// serve starts. Thread-safe (the maps are read only; the reviser and the counters must be).
class FileUpload final : public QuestionnaireImport {
 public:
  // Every reference must outlive this object.
  FileUpload(const SurveyCatalog& surveys, const AreaRegistry& areas, ResponseReviser& reviser,
             CollectorCounters& counters, std::vector<QuestionnaireMap> maps, int utc_offset_minutes)
      : surveys_(surveys),
        areas_(areas),
        reviser_(reviser),
        counters_(counters),
        maps_(std::move(maps)),
        utc_offset_minutes_(utc_offset_minutes) {}

  // Imports `body`, a file SniffQuestionnaireExport recognized, through a private temporary file
  // (removed before returning) with the town or area of the request and the map ChooseMap picks,
  // records the import run and returns the report as JSON (QuestionnaireReportJson). kInvalidInput
  // with a reason for a file that cannot be read, a header that names no survey question (saying
  // whether a map was found), several maps to choose from, or an area upload without a map that names
  // the town column; nothing is stored then. kResourceExhausted over a reader limit. kUnavailable when
  // the temporary file cannot be written or the store fails (batches committed before stay).
  Result<std::string> Import(std::string_view body, const RespondentKeyer& keyer,
                             const UploadRequest& request) const override;

 private:
  const SurveyCatalog& surveys_;
  const AreaRegistry& areas_;
  ResponseReviser& reviser_;
  CollectorCounters& counters_;
  std::vector<QuestionnaireMap> maps_;
  int utc_offset_minutes_;
};

}  // namespace minyi::collector::questionnaire
