#include "dashboards/dashboard_api.h"

#include <Poco/DirectoryIterator.h>
#include <Poco/File.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Path.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>

#include "core/csv_cell.h"
#include "core/privacy.h"
#include "dashboards/guard.h"

namespace minyi::dashboards {
namespace {

using http::JsonEscape;

std::string Num(double v) {
  if (!std::isfinite(v)) return "null";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.10g", v);
  return buf;
}

std::string Str(std::string_view s) { return "\"" + JsonEscape(s) + "\""; }

int Depth(AreaLevel level) {
  switch (level) {
    case AreaLevel::kProvince: return 0;
    case AreaLevel::kCity: return 1;
    case AreaLevel::kCounty: return 2;
    case AreaLevel::kTown: return 3;
  }
  return 3;
}

std::string AreaJson(const Area& a) {
  return "{\"code\":" + Str(a.code) + ",\"name\":" + Str(a.name) + ",\"level\":" + Str(AreaLevelName(a.level)) + "}";
}

// Where a town row's model-based figure (issue 14, IndexRow model_*, docs/small_area.md) is shown: never
// (trend), where it is needed (the direct figure is suppressed for this viewer or its 95% interval is wider
// than kWideInterval), or beside every direct one (`model=both`).
enum class ModelView { kNever, kWhereNeeded, kBoth };
// 10 percentage points: wider than the differences between towns that officials compare (issue 14: the
// median town's interval is 7 points for 群众安全感 and 13 for 网格工作满意率 in the demo).
constexpr double kWideInterval = 0.10;

// The "model" member of a VALUE ("" when not shown). Only model-based figures (eblup, synthetic): with
// method "direct" the model is not used and the figure would repeat the direct one, suppressed or not.
std::string ModelJson(const IndexRow& r, bool suppressed, ModelView view) {
  if (view == ModelView::kNever || (r.model_method != "eblup" && r.model_method != "synthetic")) return "";
  const bool wide = !(r.ci_high - r.ci_low <= kWideInterval);  // also when there is no direct interval
  const char* reason = suppressed ? "suppressed" : wide ? "wide" : "requested";
  if (view == ModelView::kWhereNeeded && !suppressed && !wide) return "";
  return ",\"model\":{\"label\":\"模型估计\",\"method\":" + Str(r.model_method) +
         ",\"estimate\":" + Num(r.model_estimate) + ",\"se\":" + Num(r.model_se) + ",\"ci\":[" +
         Num(r.model_ci_low) + "," + Num(r.model_ci_high) + "],\"reason\":\"" + reason + "\"}";
}

std::string CsvNum(double v, bool suppressed) { return suppressed || !std::isfinite(v) ? "" : Num(v); }

// The model columns of indices.csv, each followed by a comma: the model-based figure of every town row that
// has one (eblup, synthetic), as `model=both` shows them; empty otherwise.
std::string ModelCsv(const IndexRow& r) {
  if (r.model_method != "eblup" && r.model_method != "synthetic") return ",,,,,";
  return CsvNum(r.model_estimate, false) + "," + CsvNum(r.model_se, false) + "," +
         CsvNum(r.model_ci_low, false) + "," + CsvNum(r.model_ci_high, false) + "," + r.model_method + ",";
}

// One figure as JSON; values nulled when suppressed for this viewer.
std::string ValueJson(const IndexRow* r, bool sees_low_n, ModelView model = ModelView::kNever) {
  if (r == nullptr) return "null";
  const bool suppressed = r->low_n && !sees_low_n;
  auto v = [&](double x) { return suppressed ? std::string("null") : Num(x); };
  std::string out = "{\"estimate\":" + v(r->estimate) + ",\"se\":" + v(r->se) + ",\"ci\":[" + v(r->ci_low) + "," +
                    v(r->ci_high) + "],\"score\":" + v(r->score) + ",\"score_ci\":[" + v(r->score_ci_low) + "," +
                    v(r->score_ci_high) + "],\"n\":" + std::to_string(r->n) + ",\"n_eff\":" + v(r->n_eff) +
                    ",\"deff\":" + v(r->deff) + ",\"low_n\":" + (r->low_n ? "true" : "false") +
                    ",\"suppressed\":" + (suppressed ? "true" : "false") + ",\"change\":" + v(r->change) +
                    ",\"change_se\":" + v(r->change_se) + ",\"change_significant\":" +
                    (!suppressed && r->change_significant ? "true" : "false") +
                    ",\"ci_method\":" + Str(r->ci_method) + ",\"weighting\":" + Str(r->weighting) + "}";
  const std::string model_json = ModelJson(*r, suppressed, model);
  if (!model_json.empty()) out.insert(out.size() - 1, model_json);  // inside the closing brace
  return out;
}

// Areas at `level` inside `area` (the area itself when it is at that level), ordered by code.
std::vector<const Area*> AreasAt(const AreaRegistry& registry, const Area& area, AreaLevel level) {
  std::vector<const Area*> out;
  if (area.level == level) return {&area};
  std::vector<const Area*> frontier = {&area};
  while (!frontier.empty()) {
    std::vector<const Area*> next;
    for (const Area* a : frontier) {
      for (const Area* c : registry.Children(a->code)) {
        if (c->level == level) {
          out.push_back(c);
        } else if (Depth(c->level) < Depth(level)) {
          next.push_back(c);
        }
      }
    }
    frontier = std::move(next);
  }
  std::sort(out.begin(), out.end(), [](const Area* a, const Area* b) { return a->code < b->code; });
  return out;
}

std::optional<AreaLevel> ChildLevel(AreaLevel level) {
  switch (level) {
    case AreaLevel::kProvince: return AreaLevel::kCity;
    case AreaLevel::kCity: return AreaLevel::kCounty;
    case AreaLevel::kCounty: return AreaLevel::kTown;
    case AreaLevel::kTown: return std::nullopt;
  }
  return std::nullopt;
}

const char* ContentTypeFor(const std::string& name) {
  auto ends = [&](const char* ext) {
    const std::string e(ext);
    return name.size() >= e.size() && name.compare(name.size() - e.size(), e.size(), e) == 0;
  };
  if (ends(".html")) return "text/html; charset=utf-8";
  if (ends(".js")) return "text/javascript; charset=utf-8";
  if (ends(".css")) return "text/css; charset=utf-8";
  if (ends(".svg")) return "image/svg+xml";
  if (ends(".png")) return "image/png";
  if (ends(".ico")) return "image/x-icon";
  return nullptr;
}

Result<std::string> ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound("cannot read " + path);
  std::ostringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

}  // namespace

std::string DefaultWebDir() { return MINYI_DASHBOARD_WEB_DIR; }

// ---------------------------------------------------------------------------------------------
// IndexSnapshot / IndexCache

std::string IndexSnapshot::Key(const std::string& area, const Period& period, const std::string& index) {
  return area + "|" + period.ToString() + "|" + index;
}

const IndexRow* IndexSnapshot::Find(const std::string& area, const Period& period, const std::string& index) const {
  auto it = rows.find(Key(area, period, index));
  return it == rows.end() ? nullptr : &it->second;
}

IndexCache::IndexCache(IndexSource& source, std::string survey_id, std::int64_t refresh_ms, Clock now)
    : source_(source), survey_id_(std::move(survey_id)), refresh_ms_(refresh_ms),
      now_(now ? std::move(now) : Clock(NowMillis)) {}

Result<std::string> IndexCache::Signature() {
  IndexQuery q;
  q.survey_id = survey_id_;
  q.level = "province";
  auto rows = source_.ReadIndexRows(q);
  if (!rows.ok()) return rows.status();
  std::int64_t newest = 0;
  for (const auto& r : rows.value()) newest = std::max(newest, r.computed_at_ms);
  return std::to_string(rows->size()) + ":" + std::to_string(newest);
}

Status IndexCache::Reload(std::string signature) {
  IndexQuery q;
  q.survey_id = survey_id_;
  auto rows = source_.ReadIndexRows(q);
  if (!rows.ok()) return rows.status();
  auto snapshot = std::make_shared<IndexSnapshot>();
  snapshot->signature = std::move(signature);
  std::set<Period> periods;
  snapshot->rows.reserve(rows->size());
  for (auto& r : rows.value()) {
    periods.insert(r.period);
    snapshot->computed_at_ms = std::max(snapshot->computed_at_ms, r.computed_at_ms);
    std::string key = IndexSnapshot::Key(r.area_code, r.period, r.index_id);
    snapshot->rows.emplace(std::move(key), std::move(r));
  }
  snapshot->periods.assign(periods.begin(), periods.end());
  std::lock_guard<std::mutex> lock(snapshot_mu_);
  snapshot_ = std::move(snapshot);
  return Status::Ok();
}

Result<std::shared_ptr<const IndexSnapshot>> IndexCache::Get() {
  std::shared_ptr<const IndexSnapshot> current;
  {
    std::lock_guard<std::mutex> lock(snapshot_mu_);
    current = snapshot_;
  }
  const std::int64_t now = now_();
  if (current && now - checked_at_ms_.load() < refresh_ms_) return current;
  std::unique_lock<std::mutex> loading(load_mu_, std::defer_lock);
  if (current) {
    if (!loading.try_lock()) return current;  // someone else is checking; use what we have
  } else {
    loading.lock();
    std::lock_guard<std::mutex> lock(snapshot_mu_);
    if (snapshot_) return snapshot_;  // loaded while we waited
  }
  checked_at_ms_ = now;
  auto signature = Signature();
  if (!signature.ok()) {
    if (current) {
      spdlog::warn("dashboard: checking for new figures failed: {}", signature.status().ToString());
      return current;
    }
    return signature.status();
  }
  if (!current || signature.value() != current->signature) {
    Status s = Reload(signature.value());
    if (!s.ok()) {
      if (current) {
        spdlog::warn("dashboard: reloading figures failed: {}", s.ToString());
        return current;
      }
      return s;
    }
    spdlog::info("dashboard: loaded published figures ({})", signature.value());
  }
  std::lock_guard<std::mutex> lock(snapshot_mu_);
  return snapshot_;
}

// ---------------------------------------------------------------------------------------------
// Dashboard

Dashboard::Dashboard(DashboardDeps deps, DashboardOptions options)
    : deps_(deps), options_(std::move(options)), cache_(*deps.indices, options_.survey_id, options_.refresh_ms) {}

Result<std::unique_ptr<Dashboard>> Dashboard::Create(DashboardDeps deps, DashboardOptions options) {
  if (deps.access == nullptr || deps.indices == nullptr || deps.queries == nullptr || deps.areas == nullptr ||
      deps.surveys == nullptr || deps.topics == nullptr || deps.counters == nullptr || deps.rates == nullptr) {
    return Status::Internal("dashboard: missing dependency");
  }
  std::unique_ptr<Dashboard> d(new Dashboard(deps, std::move(options)));
  d->survey_ = deps.surveys->Find(d->options_.survey_id);
  if (!d->survey_) return Status::NotFound("dashboard.survey: no survey '" + d->options_.survey_id + "'");
  // The pages: every file of web_dir (not recursive) with a known type, and vendor/echarts.min.js.
  const std::string dir = d->options_.web_dir;
  if (dir.empty() || !Poco::File(dir).exists()) {
    return Status::NotFound("dashboard.web_dir: directory '" + dir + "' not found");
  }
  std::vector<std::string> names;
  for (Poco::DirectoryIterator it(dir), end; it != end; ++it) {
    if (it->isFile() && ContentTypeFor(it.name()) != nullptr) names.push_back(it.name());
  }
  names.push_back("vendor/echarts.min.js");
  for (const std::string& name : names) {
    auto body = ReadWholeFile(dir + "/" + name);
    if (!body.ok()) {
      spdlog::warn("dashboard: {} (charts are shown as tables only)", body.status().ToString());
      continue;
    }
    d->files_[name] = StaticFile{ContentTypeFor(name), std::move(body).value()};
  }
  return d;
}

std::shared_ptr<const std::string> Dashboard::Rendered(const std::shared_ptr<const IndexSnapshot>& snapshot,
                                                       const std::string& key,
                                                       const std::function<std::string()>& render) {
  {
    std::lock_guard<std::mutex> lock(render_mu_);
    if (render_for_ == snapshot) {
      auto it = rendered_.find(key);
      if (it != rendered_.end()) return it->second;
    }
  }
  auto body = std::make_shared<const std::string>(render());
  std::lock_guard<std::mutex> lock(render_mu_);
  if (render_for_ != snapshot) {
    // A newer (or first) snapshot: drop everything rendered from the old one.
    rendered_.clear();
    render_for_ = snapshot;
  }
  if (rendered_.size() >= 20000) rendered_.clear();
  rendered_[key] = body;
  return body;
}

Result<std::string> Dashboard::CachedStat(const std::string& key, const std::function<Result<std::string>()>& make) {
  const std::int64_t now = NowMillis();
  {
    std::lock_guard<std::mutex> lock(stats_mu_);
    auto it = stats_.find(key);
    if (it != stats_.end() && now - it->second.at_ms < options_.stats_cache_ms) return it->second.body;
  }
  auto body = make();
  if (!body.ok()) return body.status();
  std::lock_guard<std::mutex> lock(stats_mu_);
  if (stats_.size() > 2000) stats_.clear();
  stats_[key] = CachedJson{body.value(), now};
  return body;
}

Result<Period> Dashboard::PeriodParam(const http::Request& request) {
  const std::string text = QueryParam(request, "period");
  if (!text.empty()) {
    auto p = Period::Parse(text);
    if (!p.ok()) return p.status().WithContext("period");
    return p.value();
  }
  auto snapshot = cache_.Get();
  if (snapshot.ok() && !snapshot.value()->periods.empty()) return snapshot.value()->periods.back();
  return Period{std::stoi(FormatTimestampLocal(NowMillis(), 480).substr(0, 4)), 0};
}

void Dashboard::Register(http::Router& router) {
  AccessService& access = *deps_.access;
  const AreaRegistry& areas = *deps_.areas;
  auto guard = std::make_shared<Guard>(access, router);
  Dashboard* self = this;

  // --- pages and assets (no data in them; the data comes from the guarded API)
  auto page = [self](const std::string& file) {
    return [self, file](http::Request&, http::Response& response, const http::PathParams&) {
      auto it = self->files_.find(file);
      if (it == self->files_.end()) return http::SendError(response, Status::NotFound("page not installed: " + file));
      http::SendText(response, 200, it->second.content_type, it->second.body);
    };
  };
  router.Add("GET", "/login", page("login.html"));
  router.Add("GET", "/dashboard", page("dashboard.html"));
  router.Add("GET", "/admin", page("admin.html"));
  router.Add("GET", "/assets/{file}", [self](http::Request&, http::Response& response, const http::PathParams& p) {
    const std::string& name = p.at("file");
    auto it = self->files_.find(name == "echarts.min.js" ? "vendor/echarts.min.js" : name);
    if (it == self->files_.end() || name.find(".html") != std::string::npos) {
      return http::SendError(response, Status::NotFound("no such asset"));
    }
    response.set("Cache-Control", "private, max-age=300");
    http::SendText(response, 200, it->second.content_type, it->second.body);
  });

  // --- session
  router.Add("POST", "/api/v1/login", [&access](http::Request& request, http::Response& response,
                                                 const http::PathParams&) {
    // JSON only: a cross-site form cannot send application/json without a CORS preflight.
    if (request.getContentType().rfind("application/json", 0) != 0) {
      return http::SendJson(response, 415,
                            "{\"error\":{\"code\":\"unsupported_media_type\",\"message\":\"application/json expected\"}}");
    }
    std::string body;
    if (!http::ReadBody(request, response, 4096, body)) {
      return http::SendError(response, Status::InvalidInput("body: at most 4096 bytes"));
    }
    std::string username, password;
    try {
      Poco::JSON::Parser parser;
      auto obj = parser.parse(body).extract<Poco::JSON::Object::Ptr>();
      username = obj->optValue<std::string>("username", "");
      password = obj->optValue<std::string>("password", "");
    } catch (const std::exception&) {
      return http::SendError(response, Status::InvalidInput("body: a JSON object {\"username\",\"password\"} expected"));
    }
    if (username.empty()) return http::SendError(response, Status::InvalidInput("username: required"));
    if (password.empty()) return http::SendError(response, Status::InvalidInput("password: required"));
    std::int64_t retry_after = 0;
    auto login = access.Login(username, password, RemoteAddress(request), &retry_after);
    if (!login.ok()) {
      if (login.status().code() == StatusCode::kResourceExhausted) response.set("Retry-After", std::to_string(retry_after));
      return http::SendError(response, login.status());
    }
    const Principal& p = login->principal;
    response.add("Set-Cookie", access.SessionCookie(login->session_id));
    http::SendJson(response, 200,
                   "{\"username\":" + Str(p.user.username) + ",\"role\":" + Str(RoleName(p.user.role)) +
                       ",\"csrf_token\":" + Str(p.session.csrf_token) + ",\"expires_at_ms\":" +
                       std::to_string(p.session.expires_at_ms) + "}");
  });
  guard->Add("POST", "/api/v1/logout", Need::kSignedIn,
             [&access](const Caller& c, http::Request&, http::Response& response, const http::PathParams&) {
               Status s = access.Logout(c.principal, c.session_id, c.remote);
               if (!s.ok()) return http::SendError(response, s);
               response.add("Set-Cookie", access.ExpiredCookie());
               http::SendJson(response, 200, "{\"status\":\"logged_out\"}");
             });
  guard->Add("GET", "/api/v1/me", Need::kSignedIn,
             [&areas](const Caller& c, http::Request&, http::Response& response, const http::PathParams&) {
               const User& u = c.principal.user;
               std::string home;
               for (const std::string& code : HomeAreas(u, areas)) {
                 if (const Area* a = areas.Find(code)) home += (home.empty() ? "" : ",") + AreaJson(*a);
               }
               http::SendJson(response, 200,
                              "{\"username\":" + Str(u.username) + ",\"role\":" + Str(RoleName(u.role)) +
                                  ",\"role_label\":" + Str(RoleLabel(u.role)) + ",\"csrf_token\":" +
                                  Str(c.principal.session.csrf_token) + ",\"expires_at_ms\":" +
                                  std::to_string(c.principal.session.expires_at_ms) + ",\"sees_low_n\":" +
                                  (SeesLowN(u.role) ? "true" : "false") + ",\"may_view_dashboards\":" +
                                  (MayViewDashboards(u.role) ? "true" : "false") + ",\"home\":[" + home + "]}");
             });

  // --- figures
  struct IndicesRequest {
    std::shared_ptr<const IndexSnapshot> snapshot;
    Period period;
    AreaLevel level = AreaLevel::kTown;
  };
  // Parses period and level for /indices and /indices.csv; the Status is the client's error.
  auto parse_indices = [self](const ScopedArea& scoped, http::Request& request) -> Result<IndicesRequest> {
    IndicesRequest out;
    auto snapshot = self->cache_.Get();
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
  };

  guard->AddArea("/api/v1/indices", [self, parse_indices, &areas](const Caller& c, const ScopedArea& scoped,
                                                                  http::Request& request, http::Response& response) {
    auto req = parse_indices(scoped, request);
    if (!req.ok()) return http::SendError(response, req.status());
    const bool sees = SeesLowN(c.principal.user.role);
    const std::string model_text = QueryParam(request, "model");
    if (!model_text.empty() && model_text != "both") {
      return http::SendError(response, Status::InvalidInput("model: 'both' expected (or leave it out)"));
    }
    const ModelView model = model_text.empty() ? ModelView::kWhereNeeded : ModelView::kBoth;
    const IndexSnapshot& snap = *req->snapshot;
    const auto& indices = self->survey_->indices;
    std::string out;
    out.reserve(1024);
    out += "{\"survey\":" + Str(self->survey_->id) + ",\"area\":" + AreaJson(scoped.area()) + ",\"path\":[";
    std::vector<const Area*> path;
    for (const Area* a = &scoped.area(); a != nullptr; a = areas.Parent(a->code)) path.push_back(a);
    for (auto it = path.rbegin(); it != path.rend(); ++it) {
      if (it != path.rbegin()) out += ",";
      out += "{\"code\":" + Str((*it)->code) + ",\"name\":" + Str((*it)->name) + ",\"level\":" +
             Str(AreaLevelName((*it)->level)) + ",\"in_scope\":" +
             (InScope(c.principal.user, areas, (*it)->code) ? "true" : "false") + "}";
    }
    // Everything after the caller-specific path is the same for every caller with the same low-n
    // view: rendered once per snapshot and reused (the hot path of the benchmark).
    const std::string key = "i|" + scoped.code() + "|" + req->period.ToString() + "|" +
                            std::string(AreaLevelName(req->level)) + (sees ? "|s" : "|p") +
                            (model == ModelView::kBoth ? "|m" : "");
    auto cached = self->Rendered(req->snapshot, key, [&]() {
      std::string rest;
      // The areas one level down: looked up only when the answer is rendered, not per request.
      const std::vector<const Area*> rows = AreasAt(areas, scoped.area(), req->level);
      rest.reserve(1024 + rows.size() * 700);
      rest += "],\"period\":" + Str(req->period.ToString()) + ",\"periods\":[";
      for (std::size_t i = 0; i < snap.periods.size(); ++i) rest += (i ? "," : "") + Str(snap.periods[i].ToString());
      rest += "],\"level\":" + Str(AreaLevelName(req->level)) + ",\"computed_at\":" +
             (snap.computed_at_ms > 0 ? Str(FormatTimestampUtc(snap.computed_at_ms)) : std::string("null")) +
             ",\"computed_at_ms\":" + std::to_string(snap.computed_at_ms) + ",\"sees_low_n\":" +
             (sees ? "true" : "false") + ",\"indices\":[";
      for (std::size_t i = 0; i < indices.size(); ++i) {
        rest += (i ? "," : "") + std::string("{\"id\":") + Str(indices[i].id) + ",\"name\":" + Str(indices[i].name) +
               ",\"min_n\":" + std::to_string(indices[i].min_n) + "}";
      }
      rest += "],\"summary\":{";
      for (std::size_t i = 0; i < indices.size(); ++i) {
        rest += (i ? "," : "") + Str(indices[i].id) + ":" +
                ValueJson(snap.Find(scoped.code(), req->period, indices[i].id), sees, model);
      }
      rest += "},\"rows\":[";
      for (std::size_t r = 0; r < rows.size(); ++r) {
        const Area* a = rows[r];
        rest += (r ? "," : "") + std::string("{\"code\":") + Str(a->code) + ",\"name\":" + Str(a->name) +
               ",\"level\":" + Str(AreaLevelName(a->level)) + ",\"values\":{";
        for (std::size_t i = 0; i < indices.size(); ++i) {
          rest += (i ? "," : "") + Str(indices[i].id) + ":" +
                  ValueJson(snap.Find(a->code, req->period, indices[i].id), sees, model);
        }
        rest += "}}";
      }
      rest += "]}";
      return rest;
    });
    out += *cached;
    http::SendJson(response, 200, out);
  });

  guard->AddArea("/api/v1/indices.csv", [self, parse_indices, &access, &areas](const Caller& c, const ScopedArea& scoped,
                                                                       http::Request& request, http::Response& response) {
    auto req = parse_indices(scoped, request);
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
    event.detail = "indices.csv period=" + req->period.ToString() + " level=" + std::string(AreaLevelName(req->level));
    access.Audit(event);
    response.set("Content-Disposition", "attachment; filename=\"indices-" + scoped.code() + "-" +
                                            req->period.ToString() + ".csv\"");
    http::SendText(response, 200, "text/csv; charset=utf-8", "\xEF\xBB\xBF" + out);
  });

  guard->AddArea("/api/v1/trend", [self, guard](const Caller& c, const ScopedArea& scoped, http::Request& request,
                                                http::Response& response) {
    auto snapshot = self->cache_.Get();
    if (!snapshot.ok()) return http::SendError(response, snapshot.status());
    const IndexSnapshot& snap = *snapshot.value();
    const bool sees = SeesLowN(c.principal.user.role);
    std::vector<const IndexDefinition*> indices;
    const std::string index_id = QueryParam(request, "index");
    if (index_id.empty()) {
      for (const auto& d : self->survey_->indices) indices.push_back(&d);
    } else {
      const IndexDefinition* d = self->survey_->FindIndex(index_id);
      if (d == nullptr) return http::SendError(response, Status::InvalidInput("index: unknown index '" + index_id + "'"));
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
      if (series_areas.size() >= 8) return http::SendError(response, Status::InvalidInput("compare: at most 7 areas"));
      series_areas.push_back(&other->area());
    }
    std::string key = "t|" + std::string(sees ? "s|" : "p|") + index_id;
    for (const Area* a : series_areas) key += "|" + a->code;
    auto cached = self->Rendered(snapshot.value(), key, [&]() {
      std::string out = "{\"survey\":" + Str(self->survey_->id) + ",\"area\":" + AreaJson(scoped.area()) +
                        ",\"computed_at\":" +
                        (snap.computed_at_ms > 0 ? Str(FormatTimestampUtc(snap.computed_at_ms)) : std::string("null")) +
                        ",\"sees_low_n\":" + (sees ? "true" : "false") + ",\"periods\":[";
      for (std::size_t i = 0; i < snap.periods.size(); ++i) out += (i ? "," : "") + Str(snap.periods[i].ToString());
      out += "],\"indices\":[";
      for (std::size_t i = 0; i < indices.size(); ++i) {
        out += (i ? "," : "") + std::string("{\"id\":") + Str(indices[i]->id) + ",\"name\":" + Str(indices[i]->name) + "}";
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
            std::string v = ValueJson(r, sees);
            out += (first_point ? "" : ",") + std::string("{\"period\":") + Str(p.ToString()) + "," + v.substr(1);
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

  guard->AddArea("/api/v1/channels", [self](const Caller&, const ScopedArea& scoped, http::Request&,
                                            http::Response& response) {
    auto body = self->CachedStat("channels|" + scoped.code(), [&]() -> Result<std::string> {
      auto counts = self->deps_.queries->CountByChannel(self->survey_->id, scoped.code());
      if (!counts.ok()) return counts.status();
      struct Year {
        std::int64_t total = 0, partial = 0;
        std::map<std::string, std::int64_t> channels;
      };
      std::map<Period, Year> years;
      for (const auto& cc : counts.value()) {
        Year& y = years[cc.period];
        y.total += cc.count;
        if (cc.completion == Completion::kPartial) y.partial += cc.count;
        y.channels[std::string(ChannelName(cc.channel))] += cc.count;
      }
      std::string out = "{\"survey\":" + Str(self->survey_->id) + ",\"area\":" + AreaJson(scoped.area()) +
                        ",\"channels\":[\"web\",\"sms\",\"wechat\",\"import\"],\"years\":[";
      bool first = true;
      for (const auto& [period, y] : years) {
        out += (first ? "" : ",") + std::string("{\"period\":") + Str(period.ToString()) +
               ",\"total\":" + std::to_string(y.total) + ",\"partial\":" + std::to_string(y.partial) +
               ",\"by_channel\":{";
        first = false;
        bool first_channel = true;
        for (const char* ch : {"web", "sms", "wechat", "import"}) {
          auto it = y.channels.find(ch);
          out += (first_channel ? "" : ",") + Str(ch) + ":" + std::to_string(it == y.channels.end() ? 0 : it->second);
          first_channel = false;
        }
        out += "}}";
      }
      out += "],\"as_of\":" + Str(FormatTimestampUtc(NowMillis())) + "}";
      return out;
    });
    if (!body.ok()) return http::SendError(response, body.status());
    http::SendJson(response, 200, body.value());
  });

  guard->AddArea("/api/v1/comments", [self, &areas](const Caller&, const ScopedArea& scoped, http::Request& request,
                                                    http::Response& response) {
    std::optional<Period> period;
    const std::string period_text = QueryParam(request, "period");
    if (!period_text.empty()) {
      auto p = Period::Parse(period_text);
      if (!p.ok()) return http::SendError(response, p.status().WithContext("period"));
      period = p.value();
    }
    auto body = self->CachedStat("comments|" + scoped.code() + "|" + period_text, [&]() -> Result<std::string> {
      constexpr std::int64_t kTopicBasis = 5000;  // newest comments the topic counts are taken over
      constexpr std::size_t kShown = 100;
      std::int64_t total = 0;
      auto answers = self->deps_.queries->ReadTextAnswers(self->survey_->id, self->options_.comment_question,
                                                          scoped.code(), period, kTopicBasis, &total);
      if (!answers.ok()) return answers.status();
      const auto& topics = self->deps_.topics->topics();
      std::vector<std::int64_t> counts(topics.size(), 0);
      std::string list;
      std::size_t shown = 0;
      for (const auto& a : answers.value()) {
        const std::string masked = MaskPersonalInfo(a.text);
        const auto matched = self->deps_.topics->Match(masked);
        for (std::size_t t : matched) ++counts[t];
        if (shown < kShown) {
          const Area* town = areas.Find(a.town_code);
          std::string topic_names;
          for (std::size_t t : matched) topic_names += (topic_names.empty() ? "" : ",") + Str(topics[t].name);
          list += (shown ? "," : "") + std::string("{\"period\":") + Str(a.period.ToString()) +
                  ",\"town_code\":" + Str(a.town_code) + ",\"town_name\":" + Str(town ? town->name : "") +
                  ",\"text\":" + Str(masked) + ",\"topics\":[" + topic_names + "]}";
          ++shown;
        }
      }
      std::vector<std::size_t> order(topics.size());
      for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
      std::stable_sort(order.begin(), order.end(), [&](std::size_t x, std::size_t y) { return counts[x] > counts[y]; });
      std::string topic_json;
      for (std::size_t i : order) {
        topic_json += (topic_json.empty() ? "" : ",") + std::string("{\"name\":") + Str(topics[i].name) +
                      ",\"count\":" + std::to_string(counts[i]) + "}";
      }
      return "{\"survey\":" + Str(self->survey_->id) + ",\"area\":" + AreaJson(scoped.area()) + ",\"period\":" +
             (period ? Str(period->ToString()) : std::string("null")) + ",\"total\":" + std::to_string(total) +
             ",\"topic_basis\":" + std::to_string(answers->size()) + ",\"topics\":[" + topic_json +
             "],\"comments\":[" + list + "]}";
    });
    if (!body.ok()) return http::SendError(response, body.status());
    http::SendJson(response, 200, body.value());
  });

  // --- invitations and response rates; what the collectors refused
  guard->AddArea("/api/v1/response-rates", [self, &areas](const Caller&, const ScopedArea& scoped,
                                                          http::Request& request, http::Response& response) {
    auto period = self->PeriodParam(request);
    if (!period.ok()) return http::SendError(response, period.status());
    const Area& area = scoped.area();
    AreaLevel level = ChildLevel(area.level).value_or(area.level);
    const std::string level_text = QueryParam(request, "level");
    if (!level_text.empty()) {
      auto parsed = ParseAreaLevel(level_text);
      if (!parsed || Depth(*parsed) < Depth(area.level)) {
        return http::SendError(response, Status::InvalidInput("level: the area's own level or one below it"));
      }
      level = *parsed;
    }
    const std::string key = "rates|" + scoped.code() + "|" + period->ToString() + "|" + std::string(AreaLevelName(level));
    auto body = self->CachedStat(key, [&]() -> Result<std::string> {
      const bool province_wide = area.level == AreaLevel::kProvince;
      auto counts = self->deps_.rates->CountInvitations(self->survey_->id, scoped.code(), *period, province_wide);
      if (!counts.ok()) return counts.status();
      const std::vector<const Area*> rows = AreasAt(areas, area, level);
      std::vector<InvitationCounts> per_row(rows.size());
      InvitationCounts total, unplaced;
      bool any_unplaced = false;
      auto add = [](InvitationCounts& into, const InvitationCounts& c) {
        into.web_issued += c.web_issued;
        into.web_used += c.web_used;
        into.sms_invited += c.sms_invited;
        into.sms_sent += c.sms_sent;
        into.sms_failed += c.sms_failed;
        into.sms_delivered += c.sms_delivered;
        into.sms_answered += c.sms_answered;
        into.sms_partial += c.sms_partial;
        into.sms_opted_out += c.sms_opted_out;
        into.sms_open += c.sms_open;
        into.sms_unparsed += c.sms_unparsed;
      };
      for (const InvitationCounts& c : counts.value()) {
        add(total, c);
        // The row whose code starts the counted code; codes shorter than the rows' (an SMS town not
        // known yet, a token without a town) are not attributable to one of them.
        auto it = std::lower_bound(rows.begin(), rows.end(), c.area_code,
                                   [](const Area* a, const std::string& code) { return a->code < code.substr(0, a->code.size()); });
        if (it != rows.end() && c.area_code.size() >= (*it)->code.size() &&
            c.area_code.compare(0, (*it)->code.size(), (*it)->code) == 0) {
          add(per_row[static_cast<std::size_t>(it - rows.begin())], c);
        } else {
          add(unplaced, c);
          any_unplaced = true;
        }
      }
      auto rate = [](std::int64_t part, std::int64_t whole) { return whole > 0 ? Num(double(part) / double(whole)) : std::string("null"); };
      auto counts_json = [&](const InvitationCounts& c) {
        return "\"web\":{\"issued\":" + std::to_string(c.web_issued) + ",\"used\":" + std::to_string(c.web_used) +
               ",\"use_rate\":" + rate(c.web_used, c.web_issued) + "},\"sms\":{\"invited\":" +
               std::to_string(c.sms_invited) + ",\"sent\":" + std::to_string(c.sms_sent) + ",\"failed\":" +
               std::to_string(c.sms_failed) + ",\"delivered\":" + std::to_string(c.sms_delivered) + ",\"answered\":" +
               std::to_string(c.sms_answered) + ",\"partial\":" + std::to_string(c.sms_partial) + ",\"opted_out\":" +
               std::to_string(c.sms_opted_out) + ",\"open\":" + std::to_string(c.sms_open) + ",\"unparsed\":" +
               std::to_string(c.sms_unparsed) + ",\"answer_rate\":" + rate(c.sms_answered, c.sms_invited) +
               ",\"response_rate\":" + rate(c.sms_answered + c.sms_partial, c.sms_invited) + "}";
      };
      std::string out = "{\"survey\":" + Str(self->survey_->id) + ",\"area\":" + AreaJson(area) + ",\"period\":" +
                        Str(period->ToString()) + ",\"level\":" + Str(AreaLevelName(level)) + ",\"total\":{" +
                        counts_json(total) + "},\"rows\":[";
      for (std::size_t i = 0; i < rows.size(); ++i) {
        out += (i ? "," : "") + std::string("{\"code\":") + Str(rows[i]->code) + ",\"name\":" + Str(rows[i]->name) +
               ",\"level\":" + Str(AreaLevelName(rows[i]->level)) + "," + counts_json(per_row[i]) + "}";
      }
      out += "],\"unplaced\":" + (any_unplaced ? "{" + counts_json(unplaced) + "}" : std::string("null")) +
             ",\"as_of\":" + Str(FormatTimestampUtc(NowMillis())) + "}";
      return out;
    });
    if (!body.ok()) return http::SendError(response, body.status());
    http::SendJson(response, 200, body.value());
  });

  guard->AddArea("/api/v1/quality", [self, &areas](const Caller&, const ScopedArea& scoped, http::Request& request,
                                                   http::Response& response) {
    auto period = self->PeriodParam(request);
    if (!period.ok()) return http::SendError(response, period.status());
    const Area& area = scoped.area();
    auto body = self->CachedStat("quality|" + scoped.code() + "|" + period->ToString(), [&]() -> Result<std::string> {
      const bool province_wide = area.level == AreaLevel::kProvince;
      auto counts = self->deps_.rates->CountInvitations(self->survey_->id, scoped.code(), *period, province_wide);
      if (!counts.ok()) return counts.status();
      auto rejections = self->deps_.counters->Rejections(self->survey_->id, scoped.code(), *period, province_wide);
      if (!rejections.ok()) return rejections.status();
      auto runs = self->deps_.counters->ImportRuns(scoped.code(), province_wide, true, 50);
      if (!runs.ok()) return runs.status();
      // Unparsed SMS replies by the areas one level down (or the area itself for a town); replies of
      // conversations whose town is not known yet under "unplaced".
      const std::vector<const Area*> rows = AreasAt(areas, area, ChildLevel(area.level).value_or(area.level));
      std::map<std::string, std::int64_t> by_row;
      std::int64_t unparsed_total = 0, unparsed_unplaced = 0;
      for (const InvitationCounts& c : counts.value()) {
        if (c.sms_unparsed == 0) continue;
        unparsed_total += c.sms_unparsed;
        bool placed = false;
        for (const Area* a : rows) {
          if (c.area_code.size() >= a->code.size() && c.area_code.compare(0, a->code.size(), a->code) == 0) {
            by_row[a->code] += c.sms_unparsed;
            placed = true;
            break;
          }
        }
        if (!placed) unparsed_unplaced += c.sms_unparsed;
      }
      std::string out = "{\"survey\":" + Str(self->survey_->id) + ",\"area\":" + AreaJson(area) + ",\"period\":" +
                        Str(period->ToString()) + ",\"unparsed_sms\":{\"total\":" + std::to_string(unparsed_total) +
                        ",\"unplaced\":" + std::to_string(unparsed_unplaced) + ",\"rows\":[";
      bool first = true;
      for (const Area* a : rows) {
        auto it = by_row.find(a->code);
        if (it == by_row.end()) continue;
        out += (first ? "" : ",") + std::string("{\"code\":") + Str(a->code) + ",\"name\":" + Str(a->name) +
               ",\"count\":" + std::to_string(it->second) + "}";
        first = false;
      }
      std::int64_t rejected_total = 0;
      std::string reasons;
      for (const RejectionCount& r : rejections.value()) {
        rejected_total += r.count;
        reasons += (reasons.empty() ? "" : ",") + std::string("{\"channel\":") + Str(r.channel) + ",\"reason\":" +
                   Str(r.reason) + ",\"survey\":" + Str(r.survey_id) + ",\"count\":" + std::to_string(r.count) +
                   ",\"last_at\":" + Str(FormatTimestampUtc(r.last_at_ms)) + "}";
      }
      out += "]},\"rejections\":{\"total\":" + std::to_string(rejected_total) + ",\"rows\":[" + reasons + "]}";
      out += ",\"imports\":[";
      for (std::size_t i = 0; i < runs->size(); ++i) {
        const ImportRun& r = (*runs)[i];
        const Area* run_area = r.area_code.empty() ? nullptr : areas.Find(r.area_code);
        out += (i ? "," : "") + std::string("{\"at\":") + Str(FormatTimestampUtc(r.started_at_ms)) +
               ",\"command\":" + Str(r.command) + ",\"actor\":" + Str(r.actor) + ",\"file\":" + Str(r.file_name) +
               ",\"survey\":" + Str(r.survey_id) + ",\"area\":" +
               (run_area ? AreaJson(*run_area) : std::string("null")) + ",\"read\":" + std::to_string(r.rows_read) +
               ",\"stored\":" + std::to_string(r.rows_stored) + ",\"duplicates\":" +
               std::to_string(r.rows_duplicate) + ",\"rejected\":" + std::to_string(r.rows_rejected) + "}";
      }
      out += "],\"as_of\":" + Str(FormatTimestampUtc(NowMillis())) + "}";
      return out;
    });
    if (!body.ok()) return http::SendError(response, body.status());
    http::SendJson(response, 200, body.value());
  });

  // --- administration
  auto user_json = [&areas](const User& u) {
    std::string a;
    for (const std::string& code : u.areas) {
      const Area* area = areas.Find(code);
      a += (a.empty() ? "" : ",") + std::string("{\"code\":") + Str(code) + ",\"name\":" +
           Str(area ? areas.FullName(code) : "") + "}";
    }
    return "{\"username\":" + Str(u.username) + ",\"role\":" + Str(RoleName(u.role)) + ",\"role_label\":" +
           Str(RoleLabel(u.role)) + ",\"areas\":[" + a + "],\"disabled\":" + (u.disabled ? "true" : "false") +
           ",\"created_at\":" + Str(FormatTimestampUtc(u.created_at_ms)) + "}";
  };
  guard->Add("GET", "/api/v1/users", Need::kAdmin,
             [&access, user_json](const Caller&, http::Request&, http::Response& response, const http::PathParams&) {
               auto users = access.ListUsers();
               if (!users.ok()) return http::SendError(response, users.status());
               std::string out = "{\"users\":[";
               for (std::size_t i = 0; i < users->size(); ++i) out += (i ? "," : "") + user_json((*users)[i]);
               http::SendJson(response, 200, out + "]}");
             });
  guard->Add("POST", "/api/v1/users", Need::kAdmin,
             [&access](const Caller& c, http::Request& request, http::Response& response, const http::PathParams&) {
               std::string body;
               if (!http::ReadBody(request, response, 8192, body)) {
                 return http::SendError(response, Status::InvalidInput("body: at most 8192 bytes"));
               }
               User user;
               std::string password;
               try {
                 Poco::JSON::Parser parser;
                 auto obj = parser.parse(body).extract<Poco::JSON::Object::Ptr>();
                 user.username = obj->optValue<std::string>("username", "");
                 auto role = ParseRole(obj->optValue<std::string>("role", ""));
                 if (!role) {
                   return http::SendError(response,
                                          Status::InvalidInput("role: admin, statistician, official or grid_worker"));
                 }
                 user.role = *role;
                 if (auto list = obj->getArray("areas")) {
                   for (unsigned i = 0; i < list->size(); ++i) user.areas.push_back(list->getElement<std::string>(i));
                 }
                 password = obj->optValue<std::string>("password", "");
               } catch (const std::exception&) {
                 return http::SendError(response, Status::InvalidInput("body: a JSON object expected"));
               }
               const std::string name = user.username;
               Status s = access.CreateUser(std::move(user), password, c.principal.user.username, c.remote);
               if (!s.ok()) return http::SendError(response, s);
               http::SendJson(response, 201, "{\"username\":" + Str(name) + ",\"status\":\"created\"}");
             });
  for (const bool disable : {true, false}) {
    guard->Add("POST", disable ? "/api/v1/users/{name}/disable" : "/api/v1/users/{name}/enable", Need::kAdmin,
               [&access, disable](const Caller& c, http::Request&, http::Response& response,
                                  const http::PathParams& p) {
                 const std::string& name = p.at("name");
                 if (disable && name == c.principal.user.username) {
                   return http::SendError(response, Status::InvalidInput("不能停用自己的账号"));
                 }
                 Status s = access.SetDisabled(name, disable, c.principal.user.username, c.remote);
                 if (!s.ok()) return http::SendError(response, s);
                 http::SendJson(response, 200,
                                "{\"username\":" + Str(name) + ",\"disabled\":" + (disable ? "true" : "false") + "}");
               });
  }
  guard->Add("GET", "/api/v1/audit", Need::kAdmin,
             [&access](const Caller&, http::Request& request, http::Response& response, const http::PathParams&) {
               std::int64_t limit = 200;
               const std::string text = QueryParam(request, "limit");
               if (!text.empty()) {
                 char* end = nullptr;
                 limit = std::strtoll(text.c_str(), &end, 10);
                 if (end == text.c_str() || *end != '\0' || limit < 1 || limit > 10000) {
                   return http::SendError(response, Status::InvalidInput("limit: 1..10000"));
                 }
               }
               auto events = access.ListAudit(limit);
               if (!events.ok()) return http::SendError(response, events.status());
               std::string out = "{\"events\":[";
               for (std::size_t i = 0; i < events->size(); ++i) {
                 const AuditEvent& e = (*events)[i];
                 out += (i ? "," : "") + std::string("{\"at\":") + Str(FormatTimestampUtc(e.at_ms)) +
                        ",\"username\":" + Str(e.username) + ",\"action\":" + Str(e.action) +
                        ",\"area_code\":" + Str(e.area_code) + ",\"remote_address\":" + Str(e.remote_address) +
                        ",\"detail\":" + Str(e.detail) + "}";
               }
               http::SendJson(response, 200, out + "]}");
             });
  guards_ = guard;
}

}  // namespace minyi::dashboards
