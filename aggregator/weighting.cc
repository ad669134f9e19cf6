#include "aggregator/weighting.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <string>

#include "aggregator/compensated_sum.h"

namespace minyi::aggregator {
namespace {

// Cell markers while mapping respondents to a margin's cells.
constexpr int kZeroPopulationCell = -2;
constexpr int kUnlistedCell = -3;

std::string FormatNumber(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.10g", x);
  return buf;
}

// One margin of one town as raking sees it: the populated cells (listed cells with N > 0, then the
// unknown cell when total − Σ listed > 0) and each respondent's cell.
struct MarginCells {
  std::vector<double> population;  // per local cell
  std::vector<std::string> label;  // per local cell, for messages
  std::vector<int> of_respondent;  // per respondent of the town: local cell or a marker
};

// Builds the margin's cells; returns an error for inconsistent margins, and a fallback reason (non-empty
// `*reason`) when a respondent sits outside the populated cells.
Status BuildMargin(const PeriodData& data, const TownData& town, const std::vector<MarginCell>& listed,
                   const std::vector<std::int32_t>& codes, const std::vector<std::string>& dictionary,
                   std::string_view margin_name, MarginCells* cells, std::string* reason) {
  const double slack = 1e-9 * std::max(1.0, town.population.total);
  std::vector<int> local(dictionary.size(), kUnlistedCell);
  double listed_sum = 0;
  for (const MarginCell& cell : listed) {
    if (cell.code < 0 || static_cast<std::size_t>(cell.code) >= dictionary.size()) {
      return Status::InvalidInput("town " + town.code + ": " + std::string(margin_name) +
                                  " cell code out of range");
    }
    listed_sum += cell.population;
    if (cell.population > 0) {
      local[static_cast<std::size_t>(cell.code)] = static_cast<int>(cells->population.size());
      cells->population.push_back(cell.population);
      cells->label.push_back(std::string(margin_name) + " '" +
                             dictionary[static_cast<std::size_t>(cell.code)] + "'");
    } else {
      local[static_cast<std::size_t>(cell.code)] = kZeroPopulationCell;
    }
  }
  const double unknown = town.population.total - listed_sum;
  if (unknown < -slack) {
    return Status::InvalidInput("town " + town.code + ": " + std::string(margin_name) + " cells add up to " +
                                FormatNumber(listed_sum) + ", more than the town total " +
                                FormatNumber(town.population.total));
  }
  int unknown_cell = kZeroPopulationCell;
  if (unknown > slack) {
    unknown_cell = static_cast<int>(cells->population.size());
    cells->population.push_back(unknown);
    cells->label.push_back(std::string(margin_name) + " unknown");
  }
  cells->of_respondent.resize(town.end - town.begin);
  for (std::uint32_t i = town.begin; i < town.end; ++i) {
    const std::int32_t code = codes[i];
    const int cell = code == kBlankCode ? unknown_cell : local[static_cast<std::size_t>(code)];
    cells->of_respondent[i - town.begin] = cell;
    if (reason->empty() && cell == kZeroPopulationCell) {
      *reason = code == kBlankCode
                    ? "a respondent with a blank " + std::string(margin_name) + " but the unknown " +
                          std::string(margin_name) + " cell has population 0"
                    : "a respondent in " + std::string(margin_name) + " cell '" +
                          dictionary[static_cast<std::size_t>(code)] + "' which has population 0";
    } else if (reason->empty() && cell == kUnlistedCell) {
      *reason = "a respondent in " + std::string(margin_name) + " '" +
                dictionary[static_cast<std::size_t>(code)] + "' which is not listed in the margins";
    }
  }
  (void)data;
  return Status::Ok();
}

// Kish's effective size and weighting deff from n_weighted, sum_w, sum_w2 (NaN without weight).
void SetEffectiveSize(TownWeighting* tw) {
  tw->n_eff = std::numeric_limits<double>::quiet_NaN();
  tw->deff_w = std::numeric_limits<double>::quiet_NaN();
  if (tw->sum_w > 0) {
    tw->n_eff = tw->sum_w * tw->sum_w / tw->sum_w2;
    tw->deff_w = static_cast<double>(tw->n_weighted) * tw->sum_w2 / (tw->sum_w * tw->sum_w);
  }
}

void PostStratify(const PeriodData& data, const TownData& town, PeriodWeights* out, TownWeighting* tw) {
  CompensatedSum sum_d;
  for (std::uint32_t i = town.begin; i < town.end; ++i) sum_d.Add(data.base_weight[i]);
  const double total_d = sum_d.value();
  const double g = total_d > 0 ? town.population.total / total_d : 0.0;
  if (!(total_d > 0)) {
    if (!tw->note.empty()) tw->note += "; ";
    tw->note += "no respondent with a nonzero base weight: all weights are 0";
  }
  for (std::uint32_t i = town.begin; i < town.end; ++i) {
    out->w[i] = data.base_weight[i] * g;
    out->cell1[i] = 0;
    out->cell2[i] = -1;
  }
  tw->cells1 = 1;
  tw->cells2 = 0;
}

// Max relative margin error of the current weights over the populated cells of the given margins.
double MarginError(const PeriodWeights& out, const TownData& town,
                   const std::vector<const MarginCells*>& margins) {
  double error = 0;
  for (const MarginCells* m : margins) {
    std::vector<double> sums(m->population.size(), 0.0);
    for (std::uint32_t i = town.begin; i < town.end; ++i) {
      sums[static_cast<std::size_t>(m->of_respondent[i - town.begin])] += out.w[i];
    }
    for (std::size_t c = 0; c < sums.size(); ++c) {
      error = std::max(error, std::fabs(sums[c] - m->population[c]) / m->population[c]);
    }
  }
  return error;
}

// Multiplicative raking by IPF over cross-cell sums (docs/methodology.md §3.3): the weight of respondent i in
// cells (s, a) is d_i · r_s · c_a, so a sweep only touches the S × A cell totals, never the respondents.
// Deming & Stephan (1940); the fixed point is the raking calibration of Deville & Särndal (1992), the
// solution R's calibrate(calfun = "raking") finds by Newton–Raphson.
bool Rake(const PeriodData& data, const TownData& town, const MarginCells& m1, const MarginCells* m2,
          const WeightingOptions& options, PeriodWeights* out, TownWeighting* tw, std::string* reason) {
  const std::size_t s_cells = m1.population.size();
  const std::size_t a_cells = m2 ? m2->population.size() : 1;
  std::vector<double> cross(s_cells * a_cells, 0.0);
  for (std::uint32_t i = town.begin; i < town.end; ++i) {
    const std::size_t s = static_cast<std::size_t>(m1.of_respondent[i - town.begin]);
    const std::size_t a = m2 ? static_cast<std::size_t>(m2->of_respondent[i - town.begin]) : 0;
    cross[s * a_cells + a] += data.base_weight[i];
  }
  // Every populated cell needs weight to scale.
  for (std::size_t s = 0; s < s_cells; ++s) {
    double sum = 0;
    for (std::size_t a = 0; a < a_cells; ++a) sum += cross[s * a_cells + a];
    if (!(sum > 0)) {
      *reason = m1.label[s] + " (population " + FormatNumber(m1.population[s]) +
                ") has no respondent with a nonzero weight";
      return false;
    }
  }
  if (m2) {
    for (std::size_t a = 0; a < a_cells; ++a) {
      double sum = 0;
      for (std::size_t s = 0; s < s_cells; ++s) sum += cross[s * a_cells + a];
      if (!(sum > 0)) {
        *reason = m2->label[a] + " (population " + FormatNumber(m2->population[a]) +
                  ") has no respondent with a nonzero weight";
        return false;
      }
    }
  }
  std::vector<double> r(s_cells, 1.0);
  std::vector<double> c(a_cells, 1.0);
  double error = 0;
  int sweep = 0;
  bool converged = false;
  while (sweep < options.max_sweeps) {
    ++sweep;
    for (std::size_t s = 0; s < s_cells; ++s) {
      double sum = 0;
      for (std::size_t a = 0; a < a_cells; ++a) sum += cross[s * a_cells + a] * r[s] * c[a];
      r[s] *= m1.population[s] / sum;
    }
    if (m2) {
      for (std::size_t a = 0; a < a_cells; ++a) {
        double sum = 0;
        for (std::size_t s = 0; s < s_cells; ++s) sum += cross[s * a_cells + a] * r[s] * c[a];
        c[a] *= m2->population[a] / sum;
      }
    }
    error = 0;
    for (std::size_t s = 0; s < s_cells; ++s) {
      double sum = 0;
      for (std::size_t a = 0; a < a_cells; ++a) sum += cross[s * a_cells + a] * r[s] * c[a];
      error = std::max(error, std::fabs(sum - m1.population[s]) / m1.population[s]);
    }
    if (m2) {
      for (std::size_t a = 0; a < a_cells; ++a) {
        double sum = 0;
        for (std::size_t s = 0; s < s_cells; ++s) sum += cross[s * a_cells + a] * r[s] * c[a];
        error = std::max(error, std::fabs(sum - m2->population[a]) / m2->population[a]);
      }
    }
    if (error < options.tolerance) {
      converged = true;
      break;
    }
  }
  tw->sweeps = sweep;
  tw->margin_error = error;
  if (!converged) {
    *reason = "raking did not converge in " + std::to_string(options.max_sweeps) + " sweeps (margin error " +
              FormatNumber(error) + ")";
    return false;
  }
  for (std::uint32_t i = town.begin; i < town.end; ++i) {
    const std::size_t s = static_cast<std::size_t>(m1.of_respondent[i - town.begin]);
    const std::size_t a = m2 ? static_cast<std::size_t>(m2->of_respondent[i - town.begin]) : 0;
    out->w[i] = data.base_weight[i] * r[s] * c[a];
    out->cell1[i] = static_cast<std::int16_t>(s);
    out->cell2[i] = m2 ? static_cast<std::int16_t>(a) : std::int16_t{-1};
  }
  tw->cells1 = static_cast<int>(s_cells);
  tw->cells2 = m2 ? static_cast<int>(a_cells) : 0;
  return true;
}

// Trimming (our rule, docs/methodology.md §3.6): cap at k × the town's median nonzero weight, spread the
// excess over the untrimmed respondents in proportion to their weights, repeat until none exceeds the cap.
void Trim(const TownData& town, double k, PeriodWeights* out, TownWeighting* tw) {
  std::vector<double> nonzero;
  for (std::uint32_t i = town.begin; i < town.end; ++i) {
    if (out->w[i] > 0) nonzero.push_back(out->w[i]);
  }
  if (nonzero.size() < 2) return;
  const std::size_t mid = nonzero.size() / 2;
  std::nth_element(nonzero.begin(), nonzero.begin() + static_cast<std::ptrdiff_t>(mid), nonzero.end());
  double median = nonzero[mid];
  if (nonzero.size() % 2 == 0) {
    const double lower =
        *std::max_element(nonzero.begin(), nonzero.begin() + static_cast<std::ptrdiff_t>(mid));
    median = (lower + median) / 2;
  }
  const double cap = k * median;
  double total = 0;
  for (std::uint32_t i = town.begin; i < town.end; ++i) total += out->w[i];
  if (cap * static_cast<double>(nonzero.size()) <= total) {
    // No weights under the cap can keep the town total: the limit of the rule is equal weights.
    for (std::uint32_t i = town.begin; i < town.end; ++i) {
      if (out->w[i] > 0) out->w[i] = total / static_cast<double>(nonzero.size());
    }
    tw->trimmed = static_cast<std::int64_t>(nonzero.size());
    if (!tw->note.empty()) tw->note += "; ";
    tw->note += "trimming cap below the mean weight: weights equalised";
    return;
  }
  std::vector<char> capped(town.end - town.begin, 0);
  for (std::size_t round = 0; round <= nonzero.size(); ++round) {
    double excess = 0;
    for (std::uint32_t i = town.begin; i < town.end; ++i) {
      if (!capped[i - town.begin] && out->w[i] > cap) {
        excess += out->w[i] - cap;
        out->w[i] = cap;
        capped[i - town.begin] = 1;
        ++tw->trimmed;
      }
    }
    if (excess == 0) break;
    double free_sum = 0;
    for (std::uint32_t i = town.begin; i < town.end; ++i) {
      if (!capped[i - town.begin]) free_sum += out->w[i];
    }
    if (!(free_sum > 0)) break;  // every weight is capped: nothing left to carry the excess
    const double factor = 1.0 + excess / free_sum;
    for (std::uint32_t i = town.begin; i < town.end; ++i) {
      if (!capped[i - town.begin]) out->w[i] *= factor;
    }
  }
}

}  // namespace

std::string_view WeightingName(Weighting weighting) {
  switch (weighting) {
    case Weighting::kNone:
      return "none";
    case Weighting::kPostStrat:
      return "poststrat";
    case Weighting::kRaking:
      return "raking";
    case Weighting::kFallback:
      return "fallback";
  }
  return "none";
}

Status WeightingOptions::Validate() const {
  if (max_sweeps < 1) return Status::InvalidInput("weighting: max_sweeps must be at least 1");
  if (!(tolerance > 0)) return Status::InvalidInput("weighting: tolerance must be positive");
  if (!(trim_factor == 0 || trim_factor >= 1) || !std::isfinite(trim_factor)) {
    return Status::InvalidInput("weighting: trim_factor must be 0 (no trimming) or at least 1");
  }
  return Status::Ok();
}

void PrepareWeights(const PeriodData& data, PeriodWeights* out) {
  const std::size_t n = data.respondent_count();
  out->w.assign(n, 0.0);
  out->cell1.assign(n, -1);
  out->cell2.assign(n, -1);
  out->towns.assign(data.towns.size(), TownWeighting{});
}

Status WeightTown(const PeriodData& data, std::size_t town_index, const WeightingOptions& options,
                  PeriodWeights* out) {
  const TownData& town = data.towns[town_index];
  TownWeighting& tw = out->towns[town_index];
  tw = TownWeighting{};
  const TownPopulation& pop = town.population;
  if (!pop.has_total) {
    tw.method = Weighting::kNone;
    tw.note = "no population total: base weights used, not calibrated";
    for (std::uint32_t i = town.begin; i < town.end; ++i) out->w[i] = data.base_weight[i];
  } else {
    const bool use_sex = options.rake && !pop.sex.empty();
    const bool use_age = options.rake && !pop.age.empty();
    bool raked = false;
    if (use_sex || use_age) {
      std::string reason;
      MarginCells sex_cells;
      MarginCells age_cells;
      if (use_sex) {
        MINYI_RETURN_IF_ERROR(
            BuildMargin(data, town, pop.sex, data.sex, data.sex_codes, "sex", &sex_cells, &reason));
      }
      if (use_age) {
        MINYI_RETURN_IF_ERROR(
            BuildMargin(data, town, pop.age, data.age, data.age_codes, "age band", &age_cells, &reason));
      }
      if (sex_cells.population.size() > 32000 || age_cells.population.size() > 32000) {
        return Status::InvalidInput("town " + town.code + ": too many margin cells");
      }
      if (reason.empty() && town.end == town.begin) reason = "no respondents";
      if (reason.empty()) {
        const MarginCells& first = use_sex ? sex_cells : age_cells;
        const MarginCells* second = use_sex && use_age ? &age_cells : nullptr;
        raked = Rake(data, town, first, second, options, out, &tw, &reason);
      }
      if (raked) {
        tw.method = Weighting::kRaking;
        if (options.trim_factor > 0) {
          Trim(town, options.trim_factor, out, &tw);
          std::vector<const MarginCells*> margins;
          if (use_sex) margins.push_back(&sex_cells);
          if (use_age) margins.push_back(&age_cells);
          tw.margin_error = MarginError(*out, town, margins);
        }
      } else {
        tw.method = Weighting::kFallback;
        tw.note = "cannot rake: " + reason;
        tw.sweeps = 0;
        tw.margin_error = 0;
      }
    } else {
      tw.method = Weighting::kPostStrat;
    }
    if (!raked) {
      PostStratify(data, town, out, &tw);
      if (options.trim_factor > 0) Trim(town, options.trim_factor, out, &tw);
    }
  }
  if (tw.method == Weighting::kNone && options.trim_factor > 0) Trim(town, options.trim_factor, out, &tw);
  if (tw.method == Weighting::kNone) {
    tw.cells1 = 0;
    tw.cells2 = 0;
    for (std::uint32_t i = town.begin; i < town.end; ++i) {
      out->cell1[i] = -1;
      out->cell2[i] = -1;
    }
  }

  // Compensated sums, not Boost.Accumulators' sum_kahan, which drops its final correction (estimate.cc).
  CompensatedSum sum_w;
  CompensatedSum sum_w2;
  std::int64_t n_weighted = 0;
  for (std::uint32_t i = town.begin; i < town.end; ++i) {
    const double w = out->w[i];
    if (w > 0) {
      ++n_weighted;
      sum_w.Add(w);
      sum_w2.Add(w * w);
    }
  }
  tw.n = static_cast<std::int64_t>(town.end - town.begin);
  tw.n_weighted = n_weighted;
  tw.sum_w = sum_w.value();
  tw.sum_w2 = sum_w2.value();
  SetEffectiveSize(&tw);
  return Status::Ok();
}

Status WeightCells(const TownSums& sums, const TownMargins* margins, const WeightingOptions& options,
                   CellWeights* out) {
  if (options.trim_factor > 0)
    return Status::InvalidInput("town " + sums.code + ": cell weighting cannot trim");
  out->cells.clear();
  for (const auto& [key, cell] : sums.cells) out->cells.push_back(&cell);
  std::sort(out->cells.begin(), out->cells.end(),
            [](const CellSums* a, const CellSums* b) { return a->first < b->first; });
  // The cells as the respondents of a one-town PeriodData, so that WeightTown decides (one
  // implementation of the weighting rules): the unit of a cell carries the cell's Σd, and raking's
  // cross sums, post-stratification's Σd and the fallback checks only ever sum or test those.
  std::map<const CellSums*, const std::pair<std::string, std::string>*> keys;  // cell → its (sex, age) codes
  for (const auto& [key, cell] : sums.cells) keys[&cell] = &key;
  PeriodData units;
  auto code_id = [](std::vector<std::string>* dictionary, const std::string& code) -> std::int32_t {
    if (code.empty()) return kBlankCode;
    const auto it = std::find(dictionary->begin(), dictionary->end(), code);
    if (it != dictionary->end()) return static_cast<std::int32_t>(it - dictionary->begin());
    dictionary->push_back(code);
    return static_cast<std::int32_t>(dictionary->size() - 1);
  };
  TownData town;
  town.code = sums.code;
  for (const CellSums* cell : out->cells) {
    const auto& [sex, age] = *keys.at(cell);
    units.base_weight.push_back(cell->d.value());
    units.sex.push_back(code_id(&units.sex_codes, sex));
    units.age.push_back(code_id(&units.age_codes, age));
  }
  town.end = static_cast<std::uint32_t>(units.base_weight.size());
  if (margins != nullptr) {
    town.population.has_total = margins->has_total;
    town.population.total = margins->total;
    for (const auto& [code, n] : margins->by_sex)
      town.population.sex.push_back({code_id(&units.sex_codes, code), n});
    for (const auto& [code, n] : margins->by_age_band) {
      town.population.age.push_back({code_id(&units.age_codes, code), n});
    }
  }
  units.towns.push_back(std::move(town));
  PeriodWeights weights;
  PrepareWeights(units, &weights);
  MINYI_RETURN_IF_ERROR(WeightTown(units, 0, options, &weights));

  out->town = std::move(weights.towns[0]);
  out->cell1 = std::move(weights.cell1);
  out->cell2 = std::move(weights.cell2);
  out->multiplier.assign(out->cells.size(), 0.0);
  TownWeighting& tw = out->town;
  CompensatedSum sum_w;
  CompensatedSum sum_w2;
  tw.n_weighted = 0;
  for (std::size_t g = 0; g < out->cells.size(); ++g) {
    const double d = units.base_weight[g];
    // w of the unit is Σd · m (as (Σd · r) · c when raked); a cell without weight has no multiplier to
    // recover.
    const double m = d > 0 ? weights.w[g] / d : 0.0;
    out->multiplier[g] = m;
    if (!(m > 0)) continue;
    tw.n_weighted += out->cells[g]->weighted;
    sum_w.Add(m * d);
    sum_w2.Add(m * m * out->cells[g]->d2.value());
  }
  tw.n = sums.respondents;
  tw.sum_w = sum_w.value();
  tw.sum_w2 = sum_w2.value();
  SetEffectiveSize(&tw);
  return Status::Ok();
}

Result<PeriodWeights> WeightPeriod(const PeriodData& data, const WeightingOptions& options) {
  MINYI_RETURN_IF_ERROR(options.Validate());
  PeriodWeights out;
  PrepareWeights(data, &out);
  for (std::size_t t = 0; t < data.towns.size(); ++t) {
    MINYI_RETURN_IF_ERROR(WeightTown(data, t, options, &out));
  }
  return out;
}

}  // namespace minyi::aggregator
