// The dashboards' figures: GET /api/v1/indices, /api/v1/indices.csv and /api/v1/trend, from the index
// snapshot.
#include <algorithm>

#include "core/csv_cell.h"
#include "dashboards/dashboard_api.h"
#include "dashboards/dashboard_json.h"
#include "dashboards/guard.h"

namespace minyi::dashboards {

using json::AreaJson;
using json::AreasAt;
using json::ChildLevel;
using json::CsvNum;
using json::Depth;
using json::ModelCsv;
using json::ModelView;
using json::Str;
using json::ValueJson;
using json::VsParentJson;

namespace {

// The `model` parameter of /api/v1/indices and /api/v1/trend: absent, the model-based town figure where
// needed (direct suppressed or wide); "both", beside every direct one.
Result<ModelView> ParseModelView(http::Request& request) {
  const std::string text = QueryParam(request, "model");
  if (!text.empty() && text != "both")
    return Status::InvalidInput("model: 'both' expected (or leave it out)");
  return text.empty() ? ModelView::kWhereNeeded : ModelView::kBoth;
}

// One area's figure of one index as JSON, with its test against `parent`'s figure (vs_parent, inside the
// value's closing brace) when `parent` is given.
std::string ValueWithVsParent(const IndexRow* row, const Area* parent, const IndexSnapshot& snap,
                              const Period& period, const std::string& index, bool sees, ModelView model) {
  std::string value = ValueJson(row, sees, model);
  if (parent != nullptr)
    value.insert(value.size() - 1, VsParentJson(row, snap.Find(parent->code, period, index), sees));
  return value;
}

}  // namespace

Result<Dashboard::IndicesRequest> Dashboard::ParseIndicesRequest(const ScopedArea& scoped,
                                                                 http::Request& request) {
  IndicesRequest out;
  auto snapshot = cache_.Get();
  if (!snapshot.ok()) return snapshot.status();
  out.snapshot = std::move(snapshot).value();
  const std::string period_text = QueryParam(request, "period");
  if (period_text.empty()) {
    if (out.snapshot->periods.empty()) return Status::NotFound("尚无计算结果：请先运行 minyi aggregate");
    out.period = out.snapshot->periods.back();
  } else {
    auto period = Period::Parse(period_text);
    if (!period.ok()) return period.status().WithContext("period");
    if (!std::binary_search(out.snapshot->periods.begin(), out.snapshot->periods.end(), period.value())) {
      return Status::NotFound("period: no figures for " + period_text);
    }
    out.period = period.value();
  }
  const std::string level_text = QueryParam(request, "level");
  const Area& area = scoped.area();
  if (level_text.empty()) {
    out.level = ChildLevel(area.level).value_or(area.level);
  } else {
    auto level = ParseAreaLevel(level_text);
    if (!level) return Status::InvalidInput("level: town, county, city or province expected");
    if (Depth(*level) < Depth(area.level)) {
      return Status::InvalidInput("level: must be the area's own level or below it");
    }
    out.level = *level;
  }
  return out;
}

void Dashboard::RegisterIndices(Guard& guard) {
  AccessService& access = *deps_.access;
  const AreaRegistry& areas = *deps_.areas;
  Dashboard* self = this;
  guard.AddArea("/api/v1/indices", [self, &areas](const Caller& c, const ScopedArea& scoped,
                                                  http::Request& request, http::Response& response) {
    auto req = self->ParseIndicesRequest(scoped, request);
    if (!req.ok()) return http::SendError(response, req.status());
    const bool sees = SeesLowN(c.principal.user.role);
    auto model_view = ParseModelView(request);
    if (!model_view.ok()) return http::SendError(response, model_view.status());
    const ModelView model = *model_view;
    const IndexSnapshot& snap = *req->snapshot;
    const auto& indices = self->survey_->indices;
    std::string out;
    out.reserve(1024);
    out += "{\"survey\":" + Str(self->survey_->id) + ",\"area\":" + AreaJson(scoped.area()) + ",\"path\":[";
    std::vector<const Area*> path;
    for (const Area* a = &scoped.area(); a != nullptr; a = areas.Parent(a->code)) path.push_back(a);
    for (auto it = path.rbegin(); it != path.rend(); ++it) {
      if (it != path.rbegin()) out += ",";
      out += "{\"code\":" + Str((*it)->code) + ",\"name\":" + Str((*it)->name) +
             ",\"level\":" + Str(AreaLevelName((*it)->level)) +
             ",\"in_scope\":" + (InScope(c.principal.user, areas, (*it)->code) ? "true" : "false") + "}";
    }
    // The area's own figures against its parent's (vs_parent in "summary", as on the rows) only when the
    // caller may see the parent: its diff and se would give away the parent's figure.
    const Area* summary_parent = areas.Parent(scoped.code());
    if (summary_parent != nullptr && !InScope(c.principal.user, areas, summary_parent->code)) {
      summary_parent = nullptr;
    }
    // Everything after the caller-specific path is the same for every caller with the same low-n
    // view and the same view of the parent: rendered once per snapshot and reused (the hot path of the
    // benchmark).
    const std::string key = "i|" + scoped.code() + "|" + req->period.ToString() + "|" +
                            std::string(AreaLevelName(req->level)) + (sees ? "|s" : "|p") +
                            (model == ModelView::kBoth ? "|m" : "") + (summary_parent ? "|v" : "");
    auto cached = self->Rendered(req->snapshot, key, [&]() {
      std::string rest;
      // The areas one level down: looked up only when the answer is rendered, not per request.
      const std::vector<const Area*> rows = AreasAt(areas, scoped.area(), req->level);
      rest.reserve(1024 + rows.size() * 700);
      rest += "],\"period\":" + Str(req->period.ToString()) + ",\"periods\":[";
      for (std::size_t i = 0; i < snap.periods.size(); ++i)
        rest += (i ? "," : "") + Str(snap.periods[i].ToString());
      rest += "],\"level\":" + Str(AreaLevelName(req->level)) + ",\"computed_at\":" +
              (snap.computed_at_ms > 0 ? Str(FormatTimestampUtc(snap.computed_at_ms)) : std::string("null")) +
              ",\"computed_at_ms\":" + std::to_string(snap.computed_at_ms) +
              ",\"sees_low_n\":" + (sees ? "true" : "false") + ",\"indices\":[";
      for (std::size_t i = 0; i < indices.size(); ++i) {
        rest += (i ? "," : "") + std::string("{\"id\":") + Str(indices[i].id) +
                ",\"name\":" + Str(indices[i].name) + ",\"min_n\":" + std::to_string(indices[i].min_n) + "}";
      }
      rest += "],\"summary\":{";
      for (std::size_t i = 0; i < indices.size(); ++i) {
        const IndexRow* row = snap.Find(scoped.code(), req->period, indices[i].id);
        rest += (i ? "," : "") + Str(indices[i].id) + ":" +
                ValueWithVsParent(row, summary_parent, snap, req->period, indices[i].id, sees, model);
      }
      rest += "},\"rows\":[";
      for (std::size_t r = 0; r < rows.size(); ++r) {
        const Area* a = rows[r];
        rest += (r ? "," : "") + std::string("{\"code\":") + Str(a->code) + ",\"name\":" + Str(a->name) +
                ",\"level\":" + Str(AreaLevelName(a->level)) + ",\"values\":{";
        const Area* parent = areas.Parent(a->code);
        for (std::size_t i = 0; i < indices.size(); ++i) {
          const IndexRow* row = snap.Find(a->code, req->period, indices[i].id);
          rest += (i ? "," : "") + Str(indices[i].id) + ":" +
                  ValueWithVsParent(row, parent, snap, req->period, indices[i].id, sees, model);
        }
        rest += "}}";
      }
      rest += "]}";
      return rest;
    });
    out += *cached;
    http::SendJson(response, 200, out);
  });

  guard.AddArea("/api/v1/indices.csv", [self, &access, &areas](const Caller& c, const ScopedArea& scoped,
                                                               http::Request& request,
                                                               http::Response& response) {
    auto req = self->ParseIndicesRequest(scoped, request);
    if (!req.ok()) return http::SendError(response, req.status());
    const bool sees = SeesLowN(c.principal.user.role);
    std::string out =
        "area_code,area_name,level,period,index,estimate,se,ci_low,ci_high,n,n_eff,low_n,suppressed,change,"
        "change_se,change_significant,model_estimate,model_se,model_ci_low,model_ci_high,model_method,"
        "computed_at\n";
    std::vector<const Area*> areas_out = {&scoped.area()};
    for (const Area* a : AreasAt(areas, scoped.area(), req->level)) {
      if (a != &scoped.area()) areas_out.push_back(a);
    }
    for (const Area* a : areas_out) {
      for (const auto& index : self->survey_->indices) {
        const IndexRow* r = req->snapshot->Find(a->code, req->period, index.id);
        if (r == nullptr) continue;
        const bool suppressed = r->low_n && !sees;
        out += CsvText(a->code) + "," + CsvText(a->name) + "," + std::string(AreaLevelName(a->level)) + "," +
               req->period.ToString() + "," + CsvText(index.id) + "," + CsvNum(r->estimate, suppressed) +
               "," + CsvNum(r->se, suppressed) + "," + CsvNum(r->ci_low, suppressed) + "," +
               CsvNum(r->ci_high, suppressed) + "," + std::to_string(r->n) + "," +
               CsvNum(r->n_eff, suppressed) + "," + (r->low_n ? "1" : "0") + "," + (suppressed ? "1" : "0") +
               "," + CsvNum(r->change, suppressed) + "," + CsvNum(r->change_se, suppressed) + "," +
               (!suppressed && r->change_significant ? "1" : "0") + "," + ModelCsv(*r) +
               FormatTimestampUtc(r->computed_at_ms) + "\n";
      }
    }
    AuditEvent event;
    event.username = c.principal.user.username;
    event.action = "export";
    event.area_code = scoped.code();
    event.remote_address = c.remote;
    event.detail =
        "indices.csv period=" + req->period.ToString() + " level=" + std::string(AreaLevelName(req->level));
    access.Audit(event);
    response.set("Content-Disposition",
                 "attachment; filename=\"indices-" + scoped.code() + "-" + req->period.ToString() + ".csv\"");
    http::SendText(response, 200, "text/csv; charset=utf-8", "\xEF\xBB\xBF" + out);
  });
}

void Dashboard::RegisterTrend(const std::shared_ptr<Guard>& guard) {
  Dashboard* self = this;
  guard->AddArea("/api/v1/trend", [self, guard](const Caller& c, const ScopedArea& scoped,
                                                http::Request& request, http::Response& response) {
    auto snapshot = self->cache_.Get();
    if (!snapshot.ok()) return http::SendError(response, snapshot.status());
    const IndexSnapshot& snap = *snapshot.value();
    const bool sees = SeesLowN(c.principal.user.role);
    // The model-based town figure as in the town table (/api/v1/indices): where the direct one is
    // suppressed or wide, beside every direct one with model=both.
    auto model = ParseModelView(request);
    if (!model.ok()) return http::SendError(response, model.status());
    std::vector<const IndexDefinition*> indices;
    const std::string index_id = QueryParam(request, "index");
    if (index_id.empty()) {
      for (const auto& d : self->survey_->indices) indices.push_back(&d);
    } else {
      const IndexDefinition* d = self->survey_->FindIndex(index_id);
      if (d == nullptr)
        return http::SendError(response, Status::InvalidInput("index: unknown index '" + index_id + "'"));
      indices.push_back(d);
    }
    std::vector<const Area*> series_areas = {&scoped.area()};
    const std::string compare = QueryParam(request, "compare");
    std::size_t pos = 0;
    while (pos < compare.size()) {
      std::size_t end = compare.find(',', pos);
      if (end == std::string::npos) end = compare.size();
      const std::string code = compare.substr(pos, end - pos);
      pos = end + 1;
      if (code.empty() || code == scoped.code()) continue;
      auto other = guard->Authorize(c, code);
      if (!other.ok()) return http::SendError(response, other.status().WithContext("compare"));
      if (series_areas.size() >= 8)
        return http::SendError(response, Status::InvalidInput("compare: at most 7 areas"));
      series_areas.push_back(&other->area());
    }
    std::string key =
        "t|" + std::string(sees ? "s|" : "p|") + (*model == ModelView::kBoth ? "m|" : "") + index_id;
    for (const Area* a : series_areas) key += "|" + a->code;
    auto cached = self->Rendered(snapshot.value(), key, [&]() {
      std::string out =
          "{\"survey\":" + Str(self->survey_->id) + ",\"area\":" + AreaJson(scoped.area()) +
          ",\"computed_at\":" +
          (snap.computed_at_ms > 0 ? Str(FormatTimestampUtc(snap.computed_at_ms)) : std::string("null")) +
          ",\"sees_low_n\":" + (sees ? "true" : "false") + ",\"periods\":[";
      for (std::size_t i = 0; i < snap.periods.size(); ++i)
        out += (i ? "," : "") + Str(snap.periods[i].ToString());
      out += "],\"indices\":[";
      for (std::size_t i = 0; i < indices.size(); ++i) {
        out += (i ? "," : "") + std::string("{\"id\":") + Str(indices[i]->id) +
               ",\"name\":" + Str(indices[i]->name) + "}";
      }
      out += "],\"series\":[";
      bool first = true;
      for (const Area* a : series_areas) {
        for (const IndexDefinition* d : indices) {
          out += (first ? "" : ",") + std::string("{\"area\":") + AreaJson(*a) + ",\"index\":" + Str(d->id) +
                 ",\"points\":[";
          first = false;
          bool first_point = true;
          for (const Period& p : snap.periods) {
            const IndexRow* r = snap.Find(a->code, p, d->id);
            if (r == nullptr) continue;
            std::string v = ValueJson(r, sees, *model);
            out += (first_point ? "" : ",") + std::string("{\"period\":") + Str(p.ToString()) + "," +
                   v.substr(1);
            first_point = false;
          }
          out += "]}";
        }
      }
      out += "]}";
      return out;
    });
    http::SendJson(response, 200, *cached);
  });
}

}  // namespace minyi::dashboards
