// The dashboards' activity views: channels, comments and their topics, invitations and response rates, and
// the data-quality view (unparsed SMS, rejected submissions, import runs).
#include <algorithm>
#include <map>

#include "core/privacy.h"
#include "dashboards/dashboard_api.h"
#include "dashboards/dashboard_json.h"
#include "dashboards/guard.h"

namespace minyi::dashboards {

using json::AreaJson;
using json::AreasAt;
using json::ChildLevel;
using json::Depth;
using json::Num;
using json::Str;

void Dashboard::RegisterActivity(Guard& guard) {
  const AreaRegistry& areas = *deps_.areas;
  Dashboard* self = this;
  guard.AddArea("/api/v1/channels", [self](const Caller&, const ScopedArea& scoped, http::Request&,
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
          out += (first_channel ? "" : ",") + Str(ch) + ":" +
                 std::to_string(it == y.channels.end() ? 0 : it->second);
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

  guard.AddArea("/api/v1/comments", [self, &areas](const Caller&, const ScopedArea& scoped,
                                                   http::Request& request, http::Response& response) {
    std::optional<Period> period;
    const std::string period_text = QueryParam(request, "period");
    if (!period_text.empty()) {
      auto p = Period::Parse(period_text);
      if (!p.ok()) return http::SendError(response, p.status().WithContext("period"));
      period = p.value();
    }
    auto body =
        self->CachedStat("comments|" + scoped.code() + "|" + period_text, [&]() -> Result<std::string> {
          constexpr std::int64_t kTopicBasis = 5000;  // newest comments the topic counts are taken over
          constexpr std::size_t kShown = 100;
          std::int64_t total = 0;
          auto answers = self->deps_.queries->ReadTextAnswers(
              self->survey_->id, self->options_.comment_question, scoped.code(), period, kTopicBasis, &total);
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
              for (std::size_t t : matched)
                topic_names += (topic_names.empty() ? "" : ",") + Str(topics[t].name);
              list += (shown ? "," : "") + std::string("{\"period\":") + Str(a.period.ToString()) +
                      ",\"town_code\":" + Str(a.town_code) + ",\"town_name\":" + Str(town ? town->name : "") +
                      ",\"text\":" + Str(masked) + ",\"topics\":[" + topic_names + "]}";
              ++shown;
            }
          }
          std::vector<std::size_t> order(topics.size());
          for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
          std::stable_sort(order.begin(), order.end(),
                           [&](std::size_t x, std::size_t y) { return counts[x] > counts[y]; });
          std::string topic_json;
          for (std::size_t i : order) {
            topic_json += (topic_json.empty() ? "" : ",") + std::string("{\"name\":") + Str(topics[i].name) +
                          ",\"count\":" + std::to_string(counts[i]) + "}";
          }
          return "{\"survey\":" + Str(self->survey_->id) + ",\"area\":" + AreaJson(scoped.area()) +
                 ",\"period\":" + (period ? Str(period->ToString()) : std::string("null")) +
                 ",\"total\":" + std::to_string(total) +
                 ",\"topic_basis\":" + std::to_string(answers->size()) + ",\"topics\":[" + topic_json +
                 "],\"comments\":[" + list + "]}";
        });
    if (!body.ok()) return http::SendError(response, body.status());
    http::SendJson(response, 200, body.value());
  });
}

void Dashboard::RegisterRates(Guard& guard) {
  const AreaRegistry& areas = *deps_.areas;
  Dashboard* self = this;
  guard.AddArea("/api/v1/response-rates", [self, &areas](const Caller&, const ScopedArea& scoped,
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
    const std::string key =
        "rates|" + scoped.code() + "|" + period->ToString() + "|" + std::string(AreaLevelName(level));
    auto body = self->CachedStat(key, [&]() -> Result<std::string> {
      const bool province_wide = area.level == AreaLevel::kProvince;
      auto counts =
          self->deps_.rates->CountInvitations(self->survey_->id, scoped.code(), *period, province_wide);
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
        auto it = std::lower_bound(
            rows.begin(), rows.end(), c.area_code,
            [](const Area* a, const std::string& code) { return a->code < code.substr(0, a->code.size()); });
        if (it != rows.end() && c.area_code.size() >= (*it)->code.size() &&
            c.area_code.compare(0, (*it)->code.size(), (*it)->code) == 0) {
          add(per_row[static_cast<std::size_t>(it - rows.begin())], c);
        } else {
          add(unplaced, c);
          any_unplaced = true;
        }
      }
      auto rate = [](std::int64_t part, std::int64_t whole) {
        return whole > 0 ? Num(double(part) / double(whole)) : std::string("null");
      };
      auto counts_json = [&](const InvitationCounts& c) {
        return "\"web\":{\"issued\":" + std::to_string(c.web_issued) +
               ",\"used\":" + std::to_string(c.web_used) + ",\"use_rate\":" + rate(c.web_used, c.web_issued) +
               "},\"sms\":{\"invited\":" + std::to_string(c.sms_invited) +
               ",\"sent\":" + std::to_string(c.sms_sent) + ",\"failed\":" + std::to_string(c.sms_failed) +
               ",\"delivered\":" + std::to_string(c.sms_delivered) +
               ",\"answered\":" + std::to_string(c.sms_answered) +
               ",\"partial\":" + std::to_string(c.sms_partial) +
               ",\"opted_out\":" + std::to_string(c.sms_opted_out) +
               ",\"open\":" + std::to_string(c.sms_open) + ",\"unparsed\":" + std::to_string(c.sms_unparsed) +
               ",\"answer_rate\":" + rate(c.sms_answered, c.sms_invited) +
               ",\"response_rate\":" + rate(c.sms_answered + c.sms_partial, c.sms_invited) + "}";
      };
      std::string out = "{\"survey\":" + Str(self->survey_->id) + ",\"area\":" + AreaJson(area) +
                        ",\"period\":" + Str(period->ToString()) + ",\"level\":" + Str(AreaLevelName(level)) +
                        ",\"total\":{" + counts_json(total) + "},\"rows\":[";
      for (std::size_t i = 0; i < rows.size(); ++i) {
        out += (i ? "," : "") + std::string("{\"code\":") + Str(rows[i]->code) +
               ",\"name\":" + Str(rows[i]->name) + ",\"level\":" + Str(AreaLevelName(rows[i]->level)) + "," +
               counts_json(per_row[i]) + "}";
      }
      out += "],\"unplaced\":" + (any_unplaced ? "{" + counts_json(unplaced) + "}" : std::string("null")) +
             ",\"as_of\":" + Str(FormatTimestampUtc(NowMillis())) + "}";
      return out;
    });
    if (!body.ok()) return http::SendError(response, body.status());
    http::SendJson(response, 200, body.value());
  });
}

void Dashboard::RegisterQuality(Guard& guard) {
  const AreaRegistry& areas = *deps_.areas;
  Dashboard* self = this;
  guard.AddArea("/api/v1/quality", [self, &areas](const Caller&, const ScopedArea& scoped,
                                                  http::Request& request, http::Response& response) {
    auto period = self->PeriodParam(request);
    if (!period.ok()) return http::SendError(response, period.status());
    const Area& area = scoped.area();
    auto body =
        self->CachedStat("quality|" + scoped.code() + "|" + period->ToString(), [&]() -> Result<std::string> {
          const bool province_wide = area.level == AreaLevel::kProvince;
          auto counts =
              self->deps_.rates->CountInvitations(self->survey_->id, scoped.code(), *period, province_wide);
          if (!counts.ok()) return counts.status();
          auto rejections =
              self->deps_.counters->Rejections(self->survey_->id, scoped.code(), *period, province_wide);
          if (!rejections.ok()) return rejections.status();
          auto runs = self->deps_.counters->ImportRuns(scoped.code(), province_wide, true, 50);
          if (!runs.ok()) return runs.status();
          // Unparsed SMS replies by the areas one level down (or the area itself for a town); replies of
          // conversations whose town is not known yet under "unplaced".
          const std::vector<const Area*> rows =
              AreasAt(areas, area, ChildLevel(area.level).value_or(area.level));
          std::map<std::string, std::int64_t> by_row;
          std::int64_t unparsed_total = 0, unparsed_unplaced = 0;
          for (const InvitationCounts& c : counts.value()) {
            if (c.sms_unparsed == 0) continue;
            unparsed_total += c.sms_unparsed;
            bool placed = false;
            for (const Area* a : rows) {
              if (c.area_code.size() >= a->code.size() &&
                  c.area_code.compare(0, a->code.size(), a->code) == 0) {
                by_row[a->code] += c.sms_unparsed;
                placed = true;
                break;
              }
            }
            if (!placed) unparsed_unplaced += c.sms_unparsed;
          }
          std::string out = "{\"survey\":" + Str(self->survey_->id) + ",\"area\":" + AreaJson(area) +
                            ",\"period\":" + Str(period->ToString()) +
                            ",\"unparsed_sms\":{\"total\":" + std::to_string(unparsed_total) +
                            ",\"unplaced\":" + std::to_string(unparsed_unplaced) + ",\"rows\":[";
          bool first = true;
          for (const Area* a : rows) {
            auto it = by_row.find(a->code);
            if (it == by_row.end()) continue;
            out += (first ? "" : ",") + std::string("{\"code\":") + Str(a->code) +
                   ",\"name\":" + Str(a->name) + ",\"count\":" + std::to_string(it->second) + "}";
            first = false;
          }
          std::int64_t rejected_total = 0;
          std::string reasons;
          for (const RejectionCount& r : rejections.value()) {
            rejected_total += r.count;
            reasons += (reasons.empty() ? "" : ",") + std::string("{\"channel\":") + Str(r.channel) +
                       ",\"reason\":" + Str(r.reason) + ",\"survey\":" + Str(r.survey_id) +
                       ",\"count\":" + std::to_string(r.count) +
                       ",\"last_at\":" + Str(FormatTimestampUtc(r.last_at_ms)) + "}";
          }
          out += "]},\"rejections\":{\"total\":" + std::to_string(rejected_total) + ",\"rows\":[" + reasons +
                 "]}";
          out += ",\"imports\":[";
          for (std::size_t i = 0; i < runs->size(); ++i) {
            const ImportRun& r = (*runs)[i];
            const Area* run_area = r.area_code.empty() ? nullptr : areas.Find(r.area_code);
            out += (i ? "," : "") + std::string("{\"at\":") + Str(FormatTimestampUtc(r.started_at_ms)) +
                   ",\"command\":" + Str(r.command) + ",\"actor\":" + Str(r.actor) +
                   ",\"file\":" + Str(r.file_name) + ",\"survey\":" + Str(r.survey_id) +
                   ",\"area\":" + (run_area ? AreaJson(*run_area) : std::string("null")) +
                   ",\"read\":" + std::to_string(r.rows_read) +
                   ",\"stored\":" + std::to_string(r.rows_stored) +
                   ",\"duplicates\":" + std::to_string(r.rows_duplicate) +
                   ",\"rejected\":" + std::to_string(r.rows_rejected) + "}";
          }
          out += "],\"as_of\":" + Str(FormatTimestampUtc(NowMillis())) + "}";
          return out;
        });
    if (!body.ok()) return http::SendError(response, body.status());
    http::SendJson(response, 200, body.value());
  });
}

}  // namespace minyi::dashboards
