#include "dashboards/status_page.h"

#include <map>
#include <memory>
#include <set>

namespace minyi::dashboards {
namespace {

using http::HtmlEscape;
using http::JsonEscape;

std::string_view ChannelLabel(Channel c) {
  switch (c) {
    case Channel::kWeb: return "网页";
    case Channel::kSms: return "短信";
    case Channel::kWechat: return "微信群";
    case Channel::kImport: return "文件导入";
  }
  return "";
}

std::string Thousands(std::int64_t n) {
  std::string digits = std::to_string(n < 0 ? -n : n);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return n < 0 ? "-" + out : out;
}

constexpr const char* kStyle = R"(
body{font-family:"PingFang SC","Noto Sans CJK SC","Microsoft YaHei",sans-serif;margin:0;background:#f6f7f9;color:#1d2129;font-size:18px}
header{background:#b71c1c;color:#fff;padding:16px 24px}
header h1{margin:0;font-size:24px}
main{max-width:1100px;margin:0 auto;padding:16px}
section{background:#fff;border-radius:8px;padding:16px;margin-bottom:16px;box-shadow:0 1px 2px rgba(0,0,0,.08)}
table{border-collapse:collapse;width:100%}
.scroll{overflow-x:auto}
th,td{padding:8px 10px;white-space:nowrap;border-bottom:1px solid #e5e6eb;text-align:right}
th:first-child,td:first-child{text-align:left}
tfoot td{font-weight:bold}
.note{color:#86909c;font-size:15px}
@media (max-width:480px){body{font-size:17px}main{padding:8px}section{padding:12px}th,td{padding:6px 4px}}
.badge{display:inline-block;background:#fff3e0;color:#e65100;border-radius:4px;padding:2px 8px;font-size:15px}
)";

}  // namespace

std::string RenderStatusPage(const StatusSnapshot& snapshot, const SurveyCatalog& surveys) {
  std::string html;
  html.reserve(8192);
  html += "<!DOCTYPE html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">"
          "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
          "<title>民意 minyi · 运行状态</title><style>";
  html += kStyle;
  html += "</style></head><body><header><h1>民意 minyi · 运行状态</h1></header><main>";
  html += "<section><p>存储：" + HtmlEscape(snapshot.backend) + "，数据库结构版本 " +
          std::to_string(snapshot.schema_version) + "。</p>";
  if (!snapshot.data_note.empty()) {
    html += "<p><span class=\"badge\">" + HtmlEscape(snapshot.data_note) + "</span></p>";
  }
  html += "<p class=\"note\">统计时间 " + HtmlEscape(FormatTimestampLocal(snapshot.taken_at_ms)) +
          "（北京时间）。本页只显示回收数量，不含任何答卷内容。</p></section>";

  if (!snapshot.leases.empty()) {
    html +=
        "<section><h2>单例任务</h2>"
        "<p class=\"note\">多台服务器共用一个数据库时，每项任务只由持有其租约的服务器执行。</p>"
        "<div class=\"scroll\"><table><thead><tr><th scope=\"col\">任务</th><th scope=\"col\">服务器</th>"
        "<th scope=\"col\">持有自</th><th scope=\"col\">到期</th>"
        "<th scope=\"col\">令牌</th></tr></thead><tbody>";
    for (const LeaseInfo& l : snapshot.leases) {
      html += "<tr><td>" + HtmlEscape(l.name) + "</td><td>" +
              (l.live ? HtmlEscape(l.holder) : std::string("（无）")) + "</td><td>" +
              HtmlEscape(FormatTimestampLocal(l.acquired_at_ms)) + "</td><td>" +
              HtmlEscape(FormatTimestampLocal(l.expires_at_ms)) + "</td><td>" +
              std::to_string(l.fencing_token) + "</td></tr>";
    }
    html += "</tbody></table></div></section>";
  }

  // survey → year → channel → count (quarters are summed into their year).
  std::map<std::string, std::map<int, std::map<Channel, std::int64_t>>> table;
  std::set<Channel> channels;
  for (const auto& c : snapshot.counts) {
    table[c.survey_id][c.period.year][c.channel] += c.count;
    channels.insert(c.channel);
  }
  if (table.empty()) {
    html += "<section><p>尚无回收的答卷。运行 <code>minyi demo seed</code> 生成演示数据，或导入答卷。</p></section>";
  }
  for (const auto& [survey_id, years] : table) {
    auto def = surveys.Find(survey_id);
    html += "<section><h2>" + HtmlEscape(def ? def->title : survey_id) + "</h2>";
    html += "<p class=\"note\">问卷编号 " + HtmlEscape(survey_id) + "，按年度和渠道统计的有效答卷数</p>";
    html += "<div class=\"scroll\"><table><thead><tr><th scope=\"col\">年度</th>";
    for (Channel c : channels) html += "<th scope=\"col\">" + std::string(ChannelLabel(c)) + "</th>";
    html += "<th scope=\"col\">合计</th></tr></thead><tbody>";
    std::map<Channel, std::int64_t> column_totals;
    std::int64_t grand = 0;
    for (const auto& [year, by_channel] : years) {
      html += "<tr><td>" + std::to_string(year) + "</td>";
      std::int64_t row = 0;
      for (Channel c : channels) {
        auto it = by_channel.find(c);
        std::int64_t n = it == by_channel.end() ? 0 : it->second;
        html += "<td>" + Thousands(n) + "</td>";
        row += n;
        column_totals[c] += n;
      }
      grand += row;
      html += "<td>" + Thousands(row) + "</td></tr>";
    }
    html += "</tbody><tfoot><tr><td>合计</td>";
    for (Channel c : channels) html += "<td>" + Thousands(column_totals[c]) + "</td>";
    html += "<td>" + Thousands(grand) + "</td></tr></tfoot></table></div></section>";
  }
  html += "</main></body></html>";
  return html;
}

std::string RenderStatusJson(const StatusSnapshot& snapshot) {
  std::string json = "{\"backend\":\"" + JsonEscape(snapshot.backend) +
                     "\",\"schema_version\":" + std::to_string(snapshot.schema_version) + ",\"data_note\":\"" +
                     JsonEscape(snapshot.data_note) + "\",\"taken_at\":\"" +
                     FormatTimestampUtc(snapshot.taken_at_ms) + "\",\"counts\":[";
  bool first = true;
  for (const auto& c : snapshot.counts) {
    if (!first) json += ',';
    first = false;
    json += "{\"survey\":\"" + JsonEscape(c.survey_id) + "\",\"period\":\"" + c.period.ToString() +
            "\",\"channel\":\"" + std::string(ChannelName(c.channel)) + "\",\"responses\":" + std::to_string(c.count) +
            "}";
  }
  json += "],\"leases\":[";
  first = true;
  for (const LeaseInfo& l : snapshot.leases) {
    if (!first) json += ',';
    first = false;
    // holder is "" when the lease has expired or was released: nobody does the job right now.
    json += "{\"job\":\"" + JsonEscape(l.name) + "\",\"holder\":\"" + JsonEscape(l.live ? l.holder : "") +
            "\",\"last_holder\":\"" + JsonEscape(l.holder) +
            "\",\"fencing_token\":" + std::to_string(l.fencing_token) + ",\"since\":\"" +
            FormatTimestampUtc(l.acquired_at_ms) + "\",\"renewed\":\"" + FormatTimestampUtc(l.renewed_at_ms) +
            "\",\"expires\":\"" + FormatTimestampUtc(l.expires_at_ms) + "\"}";
  }
  json += "]}";
  return json;
}

void RegisterStatusRoutes(http::Router& router, const SurveyCatalog& surveys,
                          std::function<Result<StatusSnapshot>()> load, std::int64_t cache_ms,
                          std::function<Result<std::vector<LeaseInfo>>()> leases) {
  struct Cache {
    std::mutex mu;
    std::function<Result<StatusSnapshot>()> load;
    std::function<Result<std::vector<LeaseInfo>>()> load_leases;
    std::int64_t cache_ms = 0;
    std::shared_ptr<const StatusSnapshot> snapshot;
    std::int64_t leases_at_ms = 0;

    Result<std::shared_ptr<const StatusSnapshot>> Get() {
      std::lock_guard<std::mutex> lock(mu);
      const std::int64_t now = NowMillis();
      if (!snapshot || now - snapshot->taken_at_ms >= cache_ms) {
        auto loaded = load();
        if (!loaded.ok()) return loaded.status();
        loaded.value().taken_at_ms = now;
        if (snapshot) loaded.value().leases = snapshot->leases;
        snapshot = std::make_shared<const StatusSnapshot>(std::move(loaded).value());
        leases_at_ms = 0;
      }
      if (load_leases && now - leases_at_ms >= kLeaseCacheMs) {
        auto loaded = load_leases();
        if (!loaded.ok()) return loaded.status();
        auto fresh = std::make_shared<StatusSnapshot>(*snapshot);
        fresh->leases = std::move(loaded).value();
        snapshot = std::move(fresh);
        leases_at_ms = now;
      }
      return snapshot;
    }
  };
  auto cache = std::make_shared<Cache>();
  cache->load = std::move(load);
  cache->load_leases = std::move(leases);
  cache->cache_ms = cache_ms;

  router.Add("GET", "/", [cache, &surveys](http::Request&, http::Response& response, const http::PathParams&) {
    auto snapshot = cache->Get();
    if (!snapshot.ok()) return http::SendError(response, snapshot.status());
    http::SendText(response, 200, "text/html; charset=utf-8", RenderStatusPage(*snapshot.value(), surveys));
  });
  router.Add("GET", "/api/v1/status", [cache](http::Request&, http::Response& response, const http::PathParams&) {
    auto snapshot = cache->Get();
    if (!snapshot.ok()) return http::SendError(response, snapshot.status());
    http::SendJson(response, 200, RenderStatusJson(*snapshot.value()));
  });
}

}  // namespace minyi::dashboards
