// Dashboard downloads of the statisticians' exports (issue 8), registered through the Guard
// (dashboards/guard.h), so session, role and area scope are checked on the server for every request:
//
//   GET /api/v1/export/indices?area=CODE&period=Y&format=csv|xlsx|json[&release=R1|latest][&edition=E]
//       the area and every area below it. Statisticians choose the edition (default internal);
//       every other role gets the public edition only (edition=internal is 403) within its scope.
//   GET /api/v1/export/microdata?period=Y&format=csv|sav|dta|xlsx[&release=R1|latest]
//       statisticians only (403 for everyone else): the whole province's weighted microdata.
//   GET /api/v1/releases  every frozen release of the dashboard survey (any dashboard role).
//
// Without `release` the live figures are exported (marked as not frozen in the file). Every download
// is written to the audit log (action "export"). Files are produced in a temporary directory and
// streamed, then deleted.
#pragma once

#include <memory>
#include <string>

#include "core/areas.h"
#include "core/http/router.h"
#include "core/ports.h"
#include "core/release_ports.h"
#include "core/survey.h"
#include "dashboards/access_service.h"

namespace minyi::dashboards {

struct ExportRouteDeps {
  AccessService* access = nullptr;
  IndexSource* indices = nullptr;
  ReleaseStore* releases = nullptr;
  ResponseSource* responses = nullptr;
  PopulationSource* population = nullptr;
  const SurveyCatalog* surveys = nullptr;
  const AreaRegistry* areas = nullptr;
  std::string survey_id = "jiangsu-safety";
};

class Guard;

// Holds the guard the routes go through: keep it (and every pointer of the deps) alive as long as the
// router.
class ExportRoutes {
 public:
  // Registers the routes. kInvalidInput when a dependency is missing or the survey is unknown.
  static Result<std::unique_ptr<ExportRoutes>> Register(http::Router& router, const ExportRouteDeps& deps);
  ~ExportRoutes();

 private:
  ExportRoutes() = default;
  std::unique_ptr<Guard> guard_;
};

}  // namespace minyi::dashboards
