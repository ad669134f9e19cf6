#include "aggregator/aggregate.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <thread>
#include <tuple>

namespace minyi::aggregator {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::string WeightingLabel(std::uint32_t mask) {
  for (Weighting method :
       {Weighting::kNone, Weighting::kPostStrat, Weighting::kRaking, Weighting::kFallback}) {
    if (mask == (1U << static_cast<unsigned>(method))) return std::string(WeightingName(method));
  }
  return mask == 0 ? "none" : "mixed";
}

void AppendRows(const Period& period, const std::vector<IndexSpec>& indices, const std::string& level,
                const std::string& code, const AreaState& state, std::vector<IndexRow>* rows) {
  for (std::size_t k = 0; k < indices.size(); ++k) {
    const Estimate e = Finalize(state, k, indices[k]);
    IndexRow row;
    row.period = period;
    row.level = level;
    row.area_code = code;
    row.index_id = indices[k].id;
    row.n = e.n;
    row.n_eff = e.n_eff;
    row.sum_w = e.sum_w;
    row.estimate = e.estimate;
    row.se = e.se;
    row.ci_low = e.ci_low;
    row.ci_high = e.ci_high;
    row.ci_method = std::string(CiMethodName(e.ci_method));
    row.score = e.score;
    row.score_se = e.score_se;
    row.score_ci_low = e.score_ci_low;
    row.score_ci_high = e.score_ci_high;
    row.deff = e.deff;
    row.low_n = e.low_n;
    row.weighting = WeightingLabel(state.weighting_mask);
    row.change = kNaN;
    row.change_se = kNaN;
    row.change_significant = false;
    row.response_count = state.respondents;
    row.response_hash = HashHex(state.response_hash);
    rows->push_back(std::move(row));
  }
}

}  // namespace

std::string HashHex(std::uint64_t hash) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(hash));
  return buf;
}

Result<std::vector<TownResult>> ComputeTowns(const PeriodData& data, const PeriodOptions& options) {
  MINYI_RETURN_IF_ERROR(data.Validate());
  MINYI_RETURN_IF_ERROR(options.weighting.Validate());
  if (options.threads < 1 || options.threads > 64) {
    return Status::InvalidInput("aggregation: threads must be between 1 and 64");
  }
  const std::size_t town_count = data.towns.size();
  PeriodWeights weights;
  PrepareWeights(data, &weights);
  std::vector<TownResult> towns(town_count);
  std::vector<Status> town_status(town_count);

  // Towns are independent: thread j handles towns j, j + T, j + 2T, ... and writes only their slots.
  const bool by_cells = options.weighting.trim_factor == 0;
  auto work = [&](std::size_t first, std::size_t step) {
    for (std::size_t t = first; t < town_count; t += step) {
      if (by_cells) {
        TownMargins margins;
        const TownSums sums = TownSumsFromData(data, t, &margins);
        Result<TownResult> town = ComputeTownFromSums(sums, &margins, options.weighting, data.index_count());
        town_status[t] = town.status();
        if (town.ok()) {
          towns[t].state = std::move(town->state);
          weights.towns[t] = std::move(town->weighting);
        }
        continue;
      }
      town_status[t] = WeightTown(data, t, options.weighting, &weights);
      if (town_status[t].ok()) towns[t].state = TownUpdate(data, weights, t);
    }
  };
  const std::size_t threads =
      std::min<std::size_t>(static_cast<std::size_t>(options.threads), std::max<std::size_t>(town_count, 1));
  if (threads <= 1) {
    work(0, 1);
  } else {
    std::vector<std::thread> pool;
    for (std::size_t j = 1; j < threads; ++j) pool.emplace_back(work, j, threads);
    work(0, threads);
    for (std::thread& th : pool) th.join();
  }
  for (const Status& s : town_status) MINYI_RETURN_IF_ERROR(s);
  for (std::size_t t = 0; t < town_count; ++t) {
    const TownData& town = data.towns[t];
    towns[t].code = town.code;
    towns[t].county = town.county;
    towns[t].city = town.city;
    towns[t].province = town.province;
    towns[t].response_id_sum = town.response_id_sum;
    towns[t].weighting = std::move(weights.towns[t]);
  }
  return towns;
}

Result<TownResult> ComputeTownFromSums(const TownSums& sums, const TownMargins* margins,
                                       const WeightingOptions& options, std::size_t index_count) {
  CellWeights weights;
  MINYI_RETURN_IF_ERROR(WeightCells(sums, margins, options, &weights));
  TownResult town;
  town.code = sums.code;
  town.county = sums.county;
  town.city = sums.city;
  town.province = sums.province;
  town.response_id_sum = sums.response_id_sum;
  town.state = TownUpdateFromCells(sums, weights, index_count);
  town.weighting = std::move(weights.town);
  return town;
}

TownSums TownSumsFromData(const PeriodData& data, std::size_t t, TownMargins* margins) {
  const TownData& town = data.towns[t];
  TownSums sums;
  sums.code = town.code;
  sums.county = town.county;
  sums.city = town.city;
  sums.province = town.province;
  sums.response_hash = town.response_hash;
  sums.response_id_sum = town.response_id_sum;
  auto code = [](const std::vector<std::string>& dictionary, std::int32_t id) -> std::string_view {
    return id == kBlankCode ? std::string_view() : std::string_view(dictionary[static_cast<std::size_t>(id)]);
  };
  const std::size_t k_count = data.index_count();
  for (std::uint32_t i = town.begin; i < town.end; ++i) {
    sums.Add(0, data.base_weight[i], code(data.sex_codes, data.sex[i]), code(data.age_codes, data.age[i]),
             data.positive.data() + i * k_count, data.score.data() + i * k_count, k_count);
  }
  *margins = TownMargins{};
  margins->town_code = town.code;
  margins->has_total = town.population.has_total;
  margins->total = town.population.total;
  for (const MarginCell& c : town.population.sex)
    margins->by_sex[std::string(code(data.sex_codes, c.code))] = c.population;
  for (const MarginCell& c : town.population.age) {
    margins->by_age_band[std::string(code(data.age_codes, c.code))] = c.population;
  }
  return sums;
}

PeriodResult AssemblePeriod(const Period& period, const std::vector<IndexSpec>& indices,
                            const std::vector<TownResult>& towns) {
  PeriodResult result;
  result.period = period;
  const std::string period_text = period.ToString();
  for (const TownResult& town : towns) {
    const TownWeighting& tw = town.weighting;
    result.towns.push_back(tw);
    if (tw.method == Weighting::kFallback) {
      ++result.fallback_towns;
      if (tw.note.find("did not converge") != std::string::npos) ++result.nonconverged_towns;
      result.warnings.push_back(period_text + " town " + town.code + ": fallback to post-stratification, " +
                                tw.note);
    } else if (!tw.note.empty()) {
      result.warnings.push_back(period_text + " town " + town.code + ": " + tw.note);
    }
    if (tw.n == 1) {
      ++result.lonely_strata;
      result.warnings.push_back(period_text + " town " + town.code +
                                ": a single respondent (lonely stratum, adds its z² uncentred)");
    }
  }

  // Combine in town-code order (towns are sorted), so roll-ups are reproducible to the bit.
  std::map<std::string, AreaState> counties;
  std::map<std::string, AreaState> cities;
  std::map<std::string, AreaState> provinces;
  for (const TownResult& town : towns) {
    counties[town.county].Combine(town.state);
    cities[town.city].Combine(town.state);
    provinces[town.province].Combine(town.state);
  }

  for (const TownResult& town : towns)
    AppendRows(period, indices, "town", town.code, town.state, &result.rows);
  for (const auto& [code, state] : counties) AppendRows(period, indices, "county", code, state, &result.rows);
  for (const auto& [code, state] : cities) AppendRows(period, indices, "city", code, state, &result.rows);
  for (const auto& [code, state] : provinces)
    AppendRows(period, indices, "province", code, state, &result.rows);
  return result;
}

Result<PeriodResult> AggregatePeriod(const PeriodData& data, const PeriodOptions& options) {
  Result<std::vector<TownResult>> towns = ComputeTowns(data, options);
  if (!towns.ok()) return towns.status();
  return AssemblePeriod(data.period, data.indices, *towns);
}

void ApplyChange(const std::vector<IndexRow>& previous, std::vector<IndexRow>* current) {
  std::map<std::tuple<std::string, std::string, std::string>, const IndexRow*> by_key;
  for (const IndexRow& row : previous) by_key[{row.level, row.area_code, row.index_id}] = &row;
  for (IndexRow& row : *current) {
    const auto it = by_key.find({row.level, row.area_code, row.index_id});
    if (it == by_key.end()) continue;
    const IndexRow& prev = *it->second;
    double now = row.estimate, before = prev.estimate, se_now = row.se, se_before = prev.se;
    if (!std::isfinite(now) || !std::isfinite(before)) {
      now = row.score;
      before = prev.score;
      se_now = row.score_se;
      se_before = prev.score_se;
    }
    if (!std::isfinite(now) || !std::isfinite(before) || !std::isfinite(se_now) || !std::isfinite(se_before))
      continue;
    row.change = now - before;
    row.change_se = std::sqrt(se_now * se_now + se_before * se_before);
    row.change_significant =
        row.change != 0 && (row.change_se == 0 || std::fabs(row.change) / row.change_se > kZ975);
  }
}

}  // namespace minyi::aggregator
