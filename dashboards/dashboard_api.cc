#include "dashboards/dashboard_api.h"

#include <Poco/DirectoryIterator.h>
#include <Poco/File.h>
#include <Poco/Path.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include "dashboards/guard.h"

namespace minyi::dashboards {
namespace {

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
  if (ends(".txt")) return "text/plain; charset=utf-8";
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
  // The boundaries (vendor/map-CODE.js, from npm; dashboards/copy_maps.cmake): only those of the
  // registry's provinces and cities, each registering its GeoJSON with ECharts.
  std::set<std::string> map_areas;
  for (const Area* town : deps.areas->Towns()) {
    for (const Area* a = deps.areas->Parent(town->code); a != nullptr; a = deps.areas->Parent(a->code)) {
      if (a->level == AreaLevel::kCity || a->level == AreaLevel::kProvince) map_areas.insert(a->code);
    }
  }
  for (const std::string& code : map_areas) names.push_back("vendor/map-" + code + ".js");
  for (const std::string& name : names) {
    auto body = ReadWholeFile(dir + "/" + name);
    if (!body.ok()) {
      spdlog::warn("dashboard: {} (charts or maps are shown as tables only)", body.status().ToString());
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
  auto guard = std::make_shared<Guard>(*deps_.access, router);
  RegisterPages(router);
  RegisterSession(router, *guard);
  RegisterIndices(*guard);
  RegisterTrend(guard);
  RegisterActivity(*guard);
  RegisterRates(*guard);
  RegisterQuality(*guard);
  RegisterAdmin(*guard);
  guards_ = guard;
}

// The pages and assets (no data in them; the data comes from the guarded API).
void Dashboard::RegisterPages(http::Router& router) {
  Dashboard* self = this;
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
    const bool vendor = name == "echarts.min.js" || name.rfind("map-", 0) == 0;
    auto it = self->files_.find(vendor ? "vendor/" + name : name);
    if (it == self->files_.end() || name.find(".html") != std::string::npos) {
      return http::SendError(response, Status::NotFound("no such asset"));
    }
    response.set("Cache-Control", "private, max-age=300");
    http::SendText(response, 200, it->second.content_type, it->second.body);
  });

}

}  // namespace minyi::dashboards
