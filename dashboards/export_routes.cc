#include "dashboards/export_routes.h"

#include <Poco/File.h>
#include <Poco/Path.h>
#include <Poco/TemporaryFile.h>
#include <spdlog/spdlog.h>

#include <memory>

#include "dashboards/guard.h"
#include "exports/index_export.h"
#include "exports/microdata.h"
#include "exports/release.h"

namespace minyi::dashboards {
namespace {

// A temporary directory removed when the request is done.
class TempDir {
 public:
  TempDir() : path_(Poco::TemporaryFile::tempName()) { Poco::File(path_).createDirectories(); }
  ~TempDir() {
    try {
      Poco::File(path_).remove(true);
    } catch (const Poco::Exception& e) {
      spdlog::warn("export: could not remove {}: {}", path_, e.displayText());
    }
  }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

Result<int> ReleaseParam(const http::Request& request) {
  const std::string text = QueryParam(request, "release");
  if (text.empty()) return -1;
  auto r = exports::ParseReleaseSelector(text);
  if (!r) return Status::InvalidInput("release: expected R1, R2, ... or latest");
  return *r;
}

Result<Period> PeriodParam(const http::Request& request) {
  const std::string text = QueryParam(request, "period");
  if (text.empty()) return Status::InvalidInput("period: required");
  auto p = Period::Parse(text);
  if (!p.ok()) return p.status().WithContext("period");
  return p;
}

void SendFile(http::Response& response, const std::string& path, const std::string& mime, const std::string& name) {
  response.set("Content-Disposition", "attachment; filename=\"" + name + "\"");
  response.set("Cache-Control", "no-store");
  try {
    response.sendFile(path, mime);
  } catch (const Poco::Exception& e) {
    spdlog::warn("export: sending {} failed: {}", name, e.displayText());
  }
}

std::string JsonText(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) < 0x20) continue;
    out += c;
  }
  return out + "\"";
}

}  // namespace

ExportRoutes::~ExportRoutes() = default;

Result<std::unique_ptr<ExportRoutes>> ExportRoutes::Register(http::Router& router, const ExportRouteDeps& deps) {
  if (deps.access == nullptr || deps.indices == nullptr || deps.releases == nullptr || deps.responses == nullptr ||
      deps.population == nullptr || deps.surveys == nullptr || deps.areas == nullptr) {
    return Status::InvalidInput("export routes: a dependency is missing");
  }
  auto survey = deps.surveys->Find(deps.survey_id);
  if (!survey) return Status::InvalidInput("export routes: unknown survey '" + deps.survey_id + "'");
  std::unique_ptr<ExportRoutes> routes(new ExportRoutes());
  routes->guard_ = std::make_unique<Guard>(*deps.access, router);
  Guard* guard = routes->guard_.get();
  const ExportRouteDeps d = deps;

  guard->AddArea("/api/v1/export/indices", [d, survey](const Caller& c, const ScopedArea& scoped,
                                                       http::Request& request, http::Response& response) {
    auto period = PeriodParam(request);
    if (!period.ok()) return http::SendError(response, period.status());
    auto release = ReleaseParam(request);
    if (!release.ok()) return http::SendError(response, release.status());
    const auto format = exports::ParseIndexFormat(QueryParam(request, "format").empty() ? "csv" : QueryParam(request, "format"));
    if (!format) return http::SendError(response, Status::InvalidInput("format: expected csv, xlsx or json"));
    const bool statistician = SeesLowN(c.principal.user.role);
    const std::string edition_text = QueryParam(request, "edition");
    auto edition = exports::ParseEdition(edition_text.empty() ? (statistician ? "internal" : "public") : edition_text);
    if (!edition) return http::SendError(response, Status::InvalidInput("edition: expected public or internal"));
    if (*edition == exports::Edition::kInternal && !statistician) {
      return http::SendError(response, Status::PermissionDenied("内部版（含样本不足的数据）仅限统计人员下载"));
    }
    auto figures = exports::LoadIndexFigures(d.survey_id, period.value(), release.value(), *d.indices, *d.releases);
    if (!figures.ok()) return http::SendError(response, figures.status());
    exports::IndexExportOptions options;
    options.format = *format;
    options.edition = *edition;
    options.scope = {scoped.code()};
    TempDir dir;
    const std::string ext(exports::IndexFormatExtension(*format));
    const std::string path = dir.File("indices." + ext);
    std::int64_t rows = 0;
    Status written = exports::WriteIndexExport(figures.value(), *survey, *d.areas, options, path, &rows);
    if (!written.ok()) return http::SendError(response, written);
    const std::string label = figures->frozen ? figures->release.Label() : "live";
    AuditEvent event;
    event.username = c.principal.user.username;
    event.action = "export";
    event.area_code = scoped.code();
    event.remote_address = c.remote;
    event.detail = "indices period=" + period->ToString() + " release=" + label + " format=" + ext + " edition=" +
                   std::string(exports::EditionName(*edition)) + " rows=" + std::to_string(rows);
    d.access->Audit(event);
    SendFile(response, path, std::string(exports::IndexFormatMime(*format)),
             "indices-" + scoped.code() + "-" + period->ToString() + "-" + label + "." + ext);
  });

  guard->Add("GET", "/api/v1/export/microdata", Need::kDashboard,
             [d](const Caller& c, http::Request& request, http::Response& response, const http::PathParams&) {
               if (c.principal.user.role != Role::kStatistician) {
                 return http::SendError(response, Status::PermissionDenied("微观数据仅限统计人员下载"));
               }
               auto period = PeriodParam(request);
               if (!period.ok()) return http::SendError(response, period.status());
               auto release = ReleaseParam(request);
               if (!release.ok()) return http::SendError(response, release.status());
               const std::string format_text = QueryParam(request, "format").empty() ? "csv" : QueryParam(request, "format");
               const auto format = exports::ParseMicrodataFormat(format_text);
               if (!format) return http::SendError(response, Status::InvalidInput("format: expected csv, sav, dta or xlsx"));
               TempDir dir;
               exports::MicrodataRequest req;
               req.survey_id = d.survey_id;
               req.periods = {period.value()};
               req.release = release.value();
               req.format = *format;
               req.path = dir.File("microdata." + format_text);
               exports::MicrodataSources sources;
               sources.responses = d.responses;
               sources.population = d.population;
               sources.releases = d.releases;
               sources.catalog = d.surveys;
               sources.areas = d.areas;
               auto summary = exports::ExportMicrodata(req, sources);
               if (!summary.ok()) return http::SendError(response, summary.status());
               AuditEvent event;
               event.username = c.principal.user.username;
               event.action = "export";
               event.area_code = "32";
               event.remote_address = c.remote;
               event.detail = "microdata period=" + period->ToString() + " release=" + summary->release_label +
                              " format=" + format_text + " rows=" + std::to_string(summary->rows);
               d.access->Audit(event);
               const char* mime = *format == exports::MicrodataFormat::kCsv ? "text/csv; charset=utf-8"
                                  : *format == exports::MicrodataFormat::kXlsx
                                      ? "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
                                      : "application/octet-stream";
               SendFile(response, req.path, mime,
                        "microdata-" + period->ToString() + "-" + summary->release_label + "." + format_text);
             });

  guard->Add("GET", "/api/v1/releases", Need::kDashboard,
             [d](const Caller&, http::Request&, http::Response& response, const http::PathParams&) {
               auto list = d.releases->ListReleases(d.survey_id);
               if (!list.ok()) return http::SendError(response, list.status());
               std::string out = "{\"survey\":" + JsonText(d.survey_id) + ",\"releases\":[";
               for (std::size_t i = 0; i < list->size(); ++i) {
                 const ReleaseRecord& r = (*list)[i];
                 out += (i ? "," : "") + std::string("{\"period\":") + JsonText(r.period.ToString()) +
                        ",\"release\":" + JsonText(r.Label()) + ",\"frozen_at\":" +
                        JsonText(FormatTimestampUtc(r.frozen_at_ms)) + ",\"responses\":" +
                        std::to_string(r.response_count) + ",\"content_hash\":" + JsonText(r.content_hash) +
                        ",\"reason\":" + JsonText(r.reason) + "}";
               }
               http::SendJson(response, 200, out + "]}");
             });
  return routes;
}

}  // namespace minyi::dashboards
