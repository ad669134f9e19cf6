// The port between the export upload of serve (collector/wechat/upload_routes.h) and the questionnaire
// importer that serves its questionnaire half (collector/questionnaire/file_upload.h). It lives here, in
// collector/, because the channel folders may not include one another (tests/arch/include_graph.txt).
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "collector/common/crypto.h"
#include "core/status.h"

namespace minyi::collector {

// The questionnaire half of the upload: imports one 问卷星/腾讯问卷 export with the maps of
// questionnaire.map_dir (implemented by collector::questionnaire::FileUpload). Thread-safe.
class QuestionnaireImport {
 public:
  struct Request {
    std::string survey_id;  // required
    std::string period;     // "2026", "2026Q2"
    // Exactly one of town and area (the caller has checked that it may upload there). town: every
    // row goes to this town, whatever the file says. area: a county, city or province code; each
    // row's town comes from the map's town column (town_question), looked up within the map's
    // county, else within the area.
    std::string town;
    std::string area;
    // With `area`: why the uploader may not place a row in this town ("" when it may); such a row is
    // rejected with the reason and its row number, every other row is stored.
    std::function<std::string(const std::string& town_code)> refuse_town;
    std::string questionnaire_id;  // optional: picks the map among several, and names the slots
    std::string file_name;         // the upload's file name (report and import run)
    std::string actor;             // the signed-in user (import run, revision reason)
  };

  virtual ~QuestionnaireImport() = default;

  // Imports `body`, records the import run and returns the report as JSON. kInvalidInput with a reason
  // for a file that cannot be used (nothing stored), kResourceExhausted over a reader limit, kUnavailable
  // when the store fails (batches committed before stay).
  virtual Result<std::string> Import(std::string_view body, const RespondentKeyer& keyer,
                                     const Request& request) const = 0;
};

}  // namespace minyi::collector
