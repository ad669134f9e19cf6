#include "aggregator/run.h"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <unordered_map>

#include "core/population.h"

namespace minyi::aggregator {
namespace {

struct OptionInfo {
  std::string code;
  bool missing = true;
  bool positive = false;
  double score = 0;
};

struct ItemPlan {
  std::string question;
  double weight = 1;
  std::vector<OptionInfo> options;
};

struct IndexPlan {
  IndexSpec spec;
  std::vector<ItemPlan> items;
};

const OptionInfo* FindOption(const ItemPlan& item, const std::string& code) {
  for (const OptionInfo& o : item.options) {
    if (o.code == code) return &o;
  }
  return nullptr;
}

Result<std::vector<IndexPlan>> PlanIndices(const SurveyDefinition& def) {
  std::vector<IndexPlan> plans;
  for (const IndexDefinition& index : def.indices) {
    IndexPlan plan;
    plan.spec.id = index.id;
    plan.spec.min_n = index.min_n;
    plan.spec.has_share = index.items.size() == 1 && !index.positive.empty();
    double weight_sum = 0;
    for (const IndexItem& item : index.items) weight_sum += item.weight;
    if (index.items.empty() || !(weight_sum > 0)) {
      return Status::InvalidInput("survey " + def.id + " index " + index.id + ": no items with positive weight");
    }
    for (const IndexItem& item : index.items) {
      const Question* q = def.FindQuestion(item.question);
      if (q == nullptr) {
        return Status::InvalidInput("survey " + def.id + " index " + index.id + ": item '" + item.question +
                                    "' is not a question");
      }
      ItemPlan ip;
      ip.question = item.question;
      ip.weight = item.weight / weight_sum;
      for (const Option& option : q->options) {
        OptionInfo info;
        info.code = option.code;
        const std::optional<double> score = def.Score(*q, option.code);
        info.missing = option.missing || !score.has_value();
        info.score = score.value_or(0);
        for (const std::string& p : index.positive) info.positive = info.positive || p == option.code;
        ip.options.push_back(info);
      }
      plan.items.push_back(std::move(ip));
    }
    plans.push_back(std::move(plan));
  }
  return plans;
}

// FNV-1a 64 (Fowler–Noll–Vo): cheap, deterministic, good enough to tell two response sets apart.
class Fnv64 {
 public:
  void Bytes(const void* data, std::size_t size) {
    const unsigned char* p = static_cast<const unsigned char*>(data);
    for (std::size_t i = 0; i < size; ++i) {
      h_ ^= p[i];
      h_ *= 0x100000001b3ULL;
    }
  }
  void Text(const std::string& s) {
    Bytes(s.data(), s.size());
    const unsigned char sep = 0x1f;
    Bytes(&sep, 1);
  }
  std::uint64_t value() const { return h_; }

 private:
  std::uint64_t h_ = 0xcbf29ce484222325ULL;
};

const std::string* FirstAnswer(const Response& r, const std::string& question) {
  const auto it = r.answers.find(question);
  if (it == r.answers.end() || it->second.empty()) return nullptr;
  return &it->second.front();
}

std::int32_t CodeId(std::unordered_map<std::string, std::int32_t>* ids, std::vector<std::string>* dictionary,
                    const std::string& code) {
  if (code.empty()) return kBlankCode;
  const auto it = ids->find(code);
  if (it != ids->end()) return it->second;
  const auto id = static_cast<std::int32_t>(dictionary->size());
  dictionary->push_back(code);
  ids->emplace(code, id);
  return id;
}

// Builds one PeriodData at a time from the scan.
class PeriodBuilder {
 public:
  PeriodBuilder(const std::vector<IndexPlan>& plans, const SurveyDefinition& def)
      : plans_(plans), has_sex_(def.FindQuestion(kSexQuestion) != nullptr),
        has_age_(def.FindQuestion(kAgeBandQuestion) != nullptr) {}

  void Start(const Period& period) {
    data_ = PeriodData{};
    data_.period = period;
    for (const IndexPlan& p : plans_) data_.indices.push_back(p.spec);
    sex_ids_.clear();
    age_ids_.clear();
    town_hash_ = Fnv64{};
    unknown_codes_ = 0;
    started_ = true;
  }
  bool started() const { return started_; }
  const Period& period() const { return data_.period; }

  Status Add(const Response& r) {
    if (!std::isfinite(r.weight) || r.weight < 0) {
      return Status::InvalidInput("response " + std::to_string(r.id) + ": base weight must be finite and >= 0");
    }
    if (data_.towns.empty() || data_.towns.back().code != r.town_code) {
      if (!data_.towns.empty() && r.town_code < data_.towns.back().code) {
        return Status::InvalidInput("responses of " + data_.period.ToString() + " are not ordered by town at response " +
                                    std::to_string(r.id));
      }
      CloseTown();
      TownData town;
      town.code = r.town_code;
      town.begin = static_cast<std::uint32_t>(data_.base_weight.size());
      town.end = town.begin;
      data_.towns.push_back(std::move(town));
    }
    Fnv64& h = town_hash_;
    h.Bytes(&r.id, sizeof r.id);
    std::uint64_t weight_bits = 0;
    std::memcpy(&weight_bits, &r.weight, sizeof weight_bits);
    h.Bytes(&weight_bits, sizeof weight_bits);
    const std::string* sex = has_sex_ ? FirstAnswer(r, std::string(kSexQuestion)) : nullptr;
    const std::string* age = has_age_ ? FirstAnswer(r, std::string(kAgeBandQuestion)) : nullptr;
    h.Text(sex ? *sex : std::string());
    h.Text(age ? *age : std::string());
    positive_.clear();
    score_.clear();
    for (const IndexPlan& plan : plans_) {
      bool in_domain = true;
      bool positive = false;
      double score = 0;
      for (const ItemPlan& item : plan.items) {
        const std::string* code = FirstAnswer(r, item.question);
        h.Text(code ? *code : std::string());
        const OptionInfo* o = code ? FindOption(item, *code) : nullptr;
        if (code && !o) ++unknown_codes_;
        if (!o || o->missing) {
          in_domain = false;
          continue;
        }
        positive = o->positive;
        score += item.weight * o->score;
      }
      positive_.push_back(in_domain ? static_cast<std::uint8_t>(positive && plan.spec.has_share) : kOutOfDomain);
      score_.push_back(in_domain ? score : 0.0);
    }
    data_.AddRespondent(r.weight, sex ? CodeId(&sex_ids_, &data_.sex_codes, *sex) : kBlankCode,
                        age ? CodeId(&age_ids_, &data_.age_codes, *age) : kBlankCode, positive_, score_);
    return Status::Ok();
  }

  // Finishes the period: parents and population margins. Returns the data (the builder is then empty).
  Result<PeriodData> Finish(const PopulationTable& table, const AreaRegistry& areas, std::vector<std::string>* warnings) {
    CloseTown();
    started_ = false;
    const std::string period_text = data_.period.ToString();
    if (unknown_codes_ > 0) {
      warnings->push_back(period_text + ": " + std::to_string(unknown_codes_) +
                          " answers with option codes the question does not have (treated as missing)");
    }
    for (TownData& town : data_.towns) {
      const Area* area = areas.Find(town.code);
      const Area* county = area ? areas.Parent(town.code) : nullptr;
      const Area* city = county ? areas.Parent(county->code) : nullptr;
      const Area* province = city ? areas.Parent(city->code) : nullptr;
      if (area && area->level == AreaLevel::kTown && county && city && province) {
        town.county = county->code;
        town.city = city->code;
        town.province = province->code;
      } else {
        warnings->push_back(period_text + " town " + town.code +
                            ": not in the area registry; rolled up by its code prefixes");
        town.county = town.code.substr(0, 6);
        town.city = town.code.substr(0, 4);
        town.province = town.code.substr(0, 2);
      }
      const TownMargins* m = table.Find(data_.period.year, town.code);
      if (m == nullptr) continue;
      town.population.has_total = m->has_total;
      town.population.total = m->total;
      for (const auto& [code, n] : m->by_sex) {
        town.population.sex.push_back(MarginCell{CodeId(&sex_ids_, &data_.sex_codes, code), n});
      }
      for (const auto& [code, n] : m->by_age_band) {
        town.population.age.push_back(MarginCell{CodeId(&age_ids_, &data_.age_codes, code), n});
      }
    }
    return std::move(data_);
  }

 private:
  void CloseTown() {
    if (!data_.towns.empty() && data_.towns.back().response_hash == 0) {
      data_.towns.back().response_hash = town_hash_.value();
    }
    town_hash_ = Fnv64{};
  }

  const std::vector<IndexPlan>& plans_;
  bool has_sex_;
  bool has_age_;
  PeriodData data_;
  std::unordered_map<std::string, std::int32_t> sex_ids_;
  std::unordered_map<std::string, std::int32_t> age_ids_;
  Fnv64 town_hash_;
  std::int64_t unknown_codes_ = 0;
  bool started_ = false;
  std::vector<std::uint8_t> positive_;
  std::vector<double> score_;
};

struct PeriodRun {
  std::vector<IndexRow> rows;
  PeriodResult result;
  std::int64_t responses = 0;
};

class Runner {
 public:
  Runner(const AggregationOptions& options, PopulationSource& population, const SurveyDefinition& def,
         const std::vector<IndexPlan>& plans, const AreaRegistry& areas)
      : options_(options), population_(population), def_(def), plans_(plans), areas_(areas) {}

  // Scans `query` and computes every period in it; `done` receives each period's rows.
  Status Scan(ResponseSource& source, const ResponseQuery& query,
              const std::function<Status(PeriodRun&&)>& done) {
    PeriodBuilder builder(plans_, def_);
    Status failure;
    std::int64_t count = 0;
    auto flush = [&]() -> Status {
      Result<PeriodRun> run = Finish(&builder, count);
      count = 0;
      if (!run.ok()) return run.status();
      return done(std::move(run).value());
    };
    Status scan = source.Scan(query, [&](const Response& r) {
      if (!builder.started() || builder.period() != r.period) {
        if (builder.started()) {
          if (r.period < builder.period()) {
            failure = Status::InvalidInput("responses are not ordered by period at response " + std::to_string(r.id));
            return false;
          }
          failure = flush();
          if (!failure.ok()) return false;
        }
        builder.Start(r.period);
      }
      ++count;
      failure = builder.Add(r);
      return failure.ok();
    });
    MINYI_RETURN_IF_ERROR(scan);
    MINYI_RETURN_IF_ERROR(failure);
    if (builder.started()) MINYI_RETURN_IF_ERROR(flush());
    return Status::Ok();
  }

  std::vector<std::string>& warnings() { return warnings_; }

 private:
  Result<PeriodRun> Finish(PeriodBuilder* builder, std::int64_t count) {
    const int year = builder->period().year;
    auto cached = tables_.find(year);
    if (cached == tables_.end()) {
      Result<std::vector<PopulationCell>> cells = population_.LoadPopulation(year);
      if (!cells.ok()) return cells.status();
      Result<PopulationTable> table = PopulationTable::FromCells(*cells);
      if (!table.ok()) return table.status().WithContext("population " + std::to_string(year));
      Result<std::string> version = population_.PopulationVersion(year);
      if (!version.ok()) return version.status();
      cached = tables_.emplace(year, std::make_pair(std::move(table).value(), std::move(version).value())).first;
    }
    Result<PeriodData> data = builder->Finish(cached->second.first, areas_, &warnings_);
    if (!data.ok()) return data.status();
    Result<PeriodResult> result = AggregatePeriod(*data, options_.compute);
    if (!result.ok()) return result.status().WithContext(data->period.ToString());
    PeriodRun run;
    run.responses = count;
    run.rows = std::move(result->rows);
    for (IndexRow& row : run.rows) {
      row.survey_id = def_.id;
      row.definition_version = def_.version;
      row.population_version = cached->second.second;
      row.code_version = options_.code_version;
    }
    run.result = std::move(result).value();
    return run;
  }

  const AggregationOptions& options_;
  PopulationSource& population_;
  const SurveyDefinition& def_;
  const std::vector<IndexPlan>& plans_;
  const AreaRegistry& areas_;
  std::map<int, std::pair<PopulationTable, std::string>> tables_;
  std::vector<std::string> warnings_;
};

void Csv(std::ostream& out, double x) {
  if (std::isnan(x)) return;
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", x);
  out << buf;
}

void CsvText(std::ostream& out, const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) {
    out << s;
    return;
  }
  out << '"';
  for (char c : s) {
    if (c == '"') out << '"';
    out << c;
  }
  out << '"';
}

}  // namespace

Result<AggregationSummary> RunAggregation(const AggregationOptions& options, ResponseSource& responses,
                                          PopulationSource& population, const SurveyCatalog& catalog,
                                          const AreaRegistry& areas, IndexSink& sink) {
  if (options.survey_id.empty()) return Status::InvalidInput("aggregate: a survey id is required");
  const std::shared_ptr<const SurveyDefinition> def = catalog.Find(options.survey_id);
  if (!def) return Status::NotFound("survey '" + options.survey_id + "' is not defined");
  Result<std::vector<IndexPlan>> plans = PlanIndices(*def);
  if (!plans.ok()) return plans.status();
  MINYI_RETURN_IF_ERROR(options.compute.weighting.Validate());
  const std::int64_t computed_at = options.computed_at_ms != 0 ? options.computed_at_ms : NowMillis();

  Runner runner(options, population, *def, *plans, areas);
  AggregationSummary summary;
  std::map<Period, std::vector<IndexRow>> previous;  // rows by period, for the year-over-year change

  // With a single period, its year-earlier period is computed (not written) for the change.
  if (options.period) {
    ResponseQuery query;
    query.survey_id = options.survey_id;
    query.period = Period{options.period->year - 1, options.period->quarter};
    MINYI_RETURN_IF_ERROR(runner.Scan(responses, query, [&](PeriodRun&& run) {
      previous[run.result.period] = std::move(run.rows);
      return Status::Ok();
    }));
  }
  ResponseQuery query;
  query.survey_id = options.survey_id;
  query.period = options.period;
  const Status scanned = runner.Scan(responses, query, [&](PeriodRun&& run) -> Status {
    const Period period = run.result.period;
    const auto prev = previous.find(Period{period.year - 1, period.quarter});
    if (prev != previous.end()) ApplyChange(prev->second, &run.rows);
    for (IndexRow& row : run.rows) row.computed_at_ms = computed_at;
    if (options.write) MINYI_RETURN_IF_ERROR(sink.WriteIndexRows(run.rows).WithContext(period.ToString()));
    summary.periods.push_back(period);
    summary.responses += run.responses;
    summary.towns += static_cast<std::int64_t>(run.result.towns.size());
    for (const TownWeighting& tw : run.result.towns) {
      if (tw.method == Weighting::kNone) ++summary.unweighted_towns;
    }
    summary.fallback_towns += run.result.fallback_towns;
    summary.lonely_strata += run.result.lonely_strata;
    summary.rows += static_cast<std::int64_t>(run.rows.size());
    for (std::string& w : run.result.warnings) summary.warnings.push_back(std::move(w));
    summary.index_rows.insert(summary.index_rows.end(), run.rows.begin(), run.rows.end());
    previous[period] = std::move(run.rows);
    // Only the year-earlier period is ever needed again.
    for (auto it = previous.begin(); it != previous.end();) {
      it = it->first.year < period.year - 1 ? previous.erase(it) : std::next(it);
    }
    return Status::Ok();
  });
  MINYI_RETURN_IF_ERROR(scanned);
  summary.warnings.insert(summary.warnings.begin(), runner.warnings().begin(), runner.warnings().end());
  return summary;
}

Status WriteIndexCsv(const std::vector<IndexRow>& rows, std::ostream& out) {
  out << "period,level,area,index,n,n_eff,estimate,se,ci_low,ci_high,ci_method,score,score_se,score_ci_low,"
         "score_ci_high,deff,low_n,weighting\n";
  for (const IndexRow& r : rows) {
    out << r.period.ToString() << ',' << r.level << ',';
    CsvText(out, r.area_code);
    out << ',';
    CsvText(out, r.index_id);
    out << ',' << r.n << ',';
    for (double x : {r.n_eff, r.estimate, r.se, r.ci_low, r.ci_high}) {
      Csv(out, x);
      out << ',';
    }
    out << r.ci_method << ',';
    for (double x : {r.score, r.score_se, r.score_ci_low, r.score_ci_high, r.deff}) {
      Csv(out, x);
      out << ',';
    }
    out << (r.low_n ? "true" : "false") << ',' << r.weighting << '\n';
  }
  if (!out) return Status::Unavailable("writing the index CSV failed");
  return Status::Ok();
}

}  // namespace minyi::aggregator
