// Simulation study of the small-area model (issue 14; docs/small_area.md, bench/RESULTS.md "Small-area
// estimation"): a synthetic population with known true town shares over the 1,487 towns of data/, repeated
// samples of R responses a year, the direct estimates and the Fay–Herriot model of aggregator/small_area.h,
// and, over towns with 1 ≤ n < 50, the RMSE of both against the truth and the coverage of both 95% intervals
// (towns without respondents: the synthetic estimate's). The model's published interval is the parametric
// bootstrap's (covFH); covPR is the Prasad–Rao interval sin²(θ̂ ± z √mse) of the same fits. "fit ms" is
// the CPU time of one FitFayHerriot call (1,487 towns, bootstrap included).
//
//   small_area_bench [responses per year ...] [--reps N] [--seed S] [--no-prev] [--prev-min-n K] [--no-me]
//   [--boot B] [--adjr] [--anscombe] [--calibrate R] [--random-rounding] [--county-me] [--binomial]
//   (default: 10000 50000, 200 reps, B = SmallAreaOptions' default)
//
// --no-prev leaves out the previous-year covariate; --prev-min-n K takes the previous-year figure only from
// towns with at least K respondents that year (the others enter as missing: the indicator column), to measure
// dropping the covariate where its sampling noise dominates; --no-me fits the plain model, without the
// covariate's sampling error in the linking variance (SmallAreaOptions::measurement_error); --boot 0
// publishes the Prasad–Rao intervals; --adjr fits σ̂²ᵤ by the adjusted likelihood where REML's is 0
// (SmallAreaOptions::adjusted_reml_fallback; the last column then counts such fits in brackets); --anscombe,
// --calibrate R, --random-rounding and --county-me are the variants measured and not adopted
// (SmallAreaOptions::anscombe_input, bootstrap_calibration, bootstrap_random_rounding,
// county_measurement_error; the county share's n_eff is Kish's over its towns). --binomial fits the binomial
// logit-normal model of aggregator/small_area_binomial.h instead (intercept, county and town effects; its
// intervals are the posterior quantiles, so covPR repeats covFH; the arcsine diagnostics use asin √p̃).
// The line ends with
// diagnostics of the modelled towns with n < 50 on the arcsine scale: the estimate's mean error (bias) and
// RMSE against the truth, where the interval's centre lies from θ̂, its half-width / 1.96, and how many
// intervals end at 1 with their coverage. Where the model is not used for a sample (σ̂²ᵤ = 0, ...) the
// figure published is the direct one, and so is what the model-based columns count for that sample.
//
// Population, after the demo generator (collector/demo.cc): per town a logit level of each index,
//   security: 3.66 + 0.45 z (≈ 97.5%),   grid: 1.99 + 0.6 z (≈ 88%),   z = √0.5 z_county + √0.5 z_town,
// the previous year's level the same minus a trend of 0.05 and a town change N(0, 0.1²); town population
// lognormal (clamped to 8k..250k). Sampling: each response falls in a town with probability ∝ √population
// times a lognormal town factor (σ 0.8: sample sizes vary as in the demo), gets a lognormal base weight
// (σ 0.5, Kish deff ≈ 1.3) and a Bernoulli answer at the town's true share; the weights are scaled to the
// town population (post-stratification on the total, as the aggregator does without margins). Direct figures
// are the aggregator's for such a town: Hájek share, linearised variance n/(n−1) Σ (w (y − p̂))² / W², Kish
// n_eff, the logit interval with t_{n−1} (the exact-neff bound when p̂ ∈ {0, 1}: estimate.h); county direct
// shares over the county's respondents. The previous year is sampled the same way. std::mt19937_64 and std
// distributions: figures are reproducible on one standard library, not bit for bit across platforms.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "aggregator/estimate.h"
#include "aggregator/small_area.h"
#include "aggregator/small_area_binomial.h"
#include "core/areas.h"

namespace {

using minyi::aggregator::SmallAreaMethod;
using minyi::aggregator::SmallAreaTown;

struct IndexModel {
  const char* name;
  double level;
  double spread;
};
constexpr IndexModel kIndices[] = {{"security", 3.66, 0.45}, {"grid", 1.99, 0.6}};

double Expit(double x) { return 1 / (1 + std::exp(-x)); }

struct Population {
  std::vector<std::string> towns;
  std::vector<std::size_t> county;  // index into counties
  std::size_t counties = 0;
  std::vector<double> size;       // population
  std::vector<double> selection;  // relative chance of a response
};

struct TownTruth {
  std::vector<double> now;
  std::vector<double> before;
};

struct DirectFigures {
  std::vector<SmallAreaTown> towns;  // n, n_eff, estimate, se, county_estimate (prev filled by the caller)
  std::vector<double> ci_low;
  std::vector<double> ci_high;
};

// One year's sample of `responses` respondents and the direct figures of every town.
DirectFigures SampleYear(const Population& pop, const std::vector<double>& truth, std::size_t responses,
                         std::mt19937_64& rng) {
  const std::size_t m = pop.towns.size();
  std::discrete_distribution<std::size_t> pick(pop.selection.begin(), pop.selection.end());
  std::lognormal_distribution<double> base_weight(0.0, 0.5);
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  std::vector<std::vector<std::pair<double, int>>> sample(m);
  for (std::size_t r = 0; r < responses; ++r) {
    const std::size_t t = pick(rng);
    sample[t].emplace_back(base_weight(rng), uniform(rng) < truth[t] ? 1 : 0);
  }
  DirectFigures out;
  out.towns.resize(m);
  out.ci_low.assign(m, NAN);
  out.ci_high.assign(m, NAN);
  std::vector<double> county_w(pop.counties, 0.0);
  std::vector<double> county_wy(pop.counties, 0.0);
  std::vector<double> county_w2_over_neff(pop.counties, 0.0);
  for (std::size_t t = 0; t < m; ++t) {
    SmallAreaTown& town = out.towns[t];
    town.area_code = pop.towns[t];
    town.n = static_cast<std::int64_t>(sample[t].size());
    if (town.n == 0) continue;
    double sw = 0, sw2 = 0, swy = 0;
    for (const auto& [w, y] : sample[t]) sw += w, sw2 += w * w, swy += w * y;
    const double p = swy / sw;
    double sum_sq = 0;
    for (const auto& [w, y] : sample[t]) sum_sq += (w * (y - p)) * (w * (y - p));
    const double n = static_cast<double>(town.n);
    town.estimate = p;
    town.n_eff = sw * sw / sw2;
    town.se = town.n > 1 ? std::sqrt(n / (n - 1) * sum_sq / (sw * sw)) : 0.0;
    const std::int64_t positives =
        std::count_if(sample[t].begin(), sample[t].end(), [](auto& s) { return s.second; });
    if (positives == 0 || positives == town.n) {
      minyi::aggregator::ExactNeffInterval(positives == town.n, town.n_eff, &out.ci_low[t], &out.ci_high[t]);
    } else {
      minyi::aggregator::LogitInterval(p, town.se, n - 1, &out.ci_low[t], &out.ci_high[t]);
    }
    county_w[pop.county[t]] += pop.size[t];  // weights scaled to the town's population
    county_wy[pop.county[t]] += pop.size[t] * p;
    county_w2_over_neff[pop.county[t]] += pop.size[t] * pop.size[t] / town.n_eff;
  }
  for (std::size_t t = 0; t < m; ++t) {
    const std::size_t c = pop.county[t];
    if (county_w[c] > 0) out.towns[t].county_estimate = county_wy[c] / county_w[c];
    // The county share's effective size: its variance Σ (W_t / W)² p (1 − p) / n_eff,t as p (1 − p) / n_eff.
    if (county_w[c] > 0) out.towns[t].county_n_eff = county_w[c] * county_w[c] / county_w2_over_neff[c];
  }
  return out;
}

struct Tally {
  double sq_direct = 0, sq_model = 0;
  long cover_direct = 0, cover_model = 0, cover_pr = 0, count = 0;
  double sq_synthetic = 0;
  long cover_synthetic = 0, synthetic_count = 0;
  long fits = 0, not_used = 0, adjusted = 0;
  double sigma2u = 0;
  double fit_seconds = 0;  // CPU
  // Modelled towns with 1 ≤ n < 50, on the arcsine scale: the published estimate's error θ̂ − θ, and
  // the bootstrap interval's centre's offset from θ̂ (the bias it corrects for).
  double error_sum = 0, error_sq_sum = 0, centre_shift_sum = 0, half_width_sum = 0;
  long modelled = 0;
  long at_one = 0, at_one_covered = 0, inside_covered = 0;  // modelled intervals whose upper end is 1
  double beta = 0, sigma_v = 0, sigma_u = 0, evaluations = 0;  // of the binomial model's fits (--binomial)
};

// The Prasad–Rao interval sin²(clamp(θ̂ ± z √mse, 0, π/2)) of a modelled town holds p (sin² is monotone on
// [0, π/2], so compare on the arcsine scale).
bool PrasadRaoCovers(const minyi::aggregator::SmallAreaEstimate& e, double p) {
  return std::abs(std::asin(std::sqrt(p)) - e.theta) <= minyi::aggregator::kZ975 * std::sqrt(e.mse);
}

// The binomial model's fit in the shape of a Fay–Herriot one (used, reason, σ̂²ᵤ := σ̂²_u on the logit scale,
// towns_out), its parameters summed into the tally.
minyi::Result<minyi::aggregator::SmallAreaFit> FitBinomial(const std::vector<SmallAreaTown>& towns,
                                                           const std::vector<std::string>& county_of,
                                                           Tally* tally) {
  auto binomial = minyi::aggregator::FitBinomialEb(towns, county_of);
  if (!binomial.ok()) return binomial.status();
  minyi::aggregator::SmallAreaFit fit;
  fit.used = binomial->used;
  fit.reason = binomial->reason;
  fit.sigma2u = binomial->parameters.sigma_u * binomial->parameters.sigma_u;
  fit.towns_out = std::move(binomial->towns_out);
  if (fit.used) {
    tally->beta += binomial->parameters.beta;
    tally->sigma_v += binomial->parameters.sigma_v;
    tally->sigma_u += binomial->parameters.sigma_u;
    tally->evaluations += binomial->evaluations;
  }
  return fit;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::size_t> sizes;
  int reps = 200;
  std::uint64_t seed = 14;
  bool use_prev = true;
  std::int64_t prev_min_n = 1;  // --prev-min-n: the previous-year figure only from towns with n ≥ K then
  minyi::aggregator::SmallAreaOptions options;
  bool binomial = false;  // --binomial: the binomial logit-normal model of small_area_binomial.h instead
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--binomial") {
      binomial = true;
    } else if (arg == "--reps" && i + 1 < argc) {
      reps = std::atoi(argv[++i]);
    } else if (arg == "--boot" && i + 1 < argc) {
      options.bootstrap_replicates = std::atoi(argv[++i]);
    } else if (arg == "--no-prev") {
      use_prev = false;
    } else if (arg == "--adjr") {
      options.adjusted_reml_fallback = true;
    } else if (arg == "--calibrate" && i + 1 < argc) {
      options.bootstrap_calibration = std::atoi(argv[++i]);
    } else if (arg == "--county-me") {
      options.county_measurement_error = true;
    } else if (arg == "--random-rounding") {
      options.bootstrap_random_rounding = true;
    } else if (arg == "--anscombe") {
      options.anscombe_input = true;
    } else if (arg == "--no-me") {
      options.measurement_error = false;
    } else if (arg == "--prev-min-n" && i + 1 < argc) {
      prev_min_n = std::max<std::int64_t>(1, std::atoll(argv[++i]));
    } else if (arg == "--seed" && i + 1 < argc) {
      seed = std::strtoull(argv[++i], nullptr, 10);
    } else {
      sizes.push_back(std::strtoull(arg.c_str(), nullptr, 10));
    }
  }
  if (sizes.empty()) sizes = {10000, 50000};

  auto registry = minyi::AreaRegistry::LoadDirectory(std::string(MINYI_SOURCE_DIR) + "/data");
  if (!registry.ok()) {
    std::fprintf(stderr, "small_area_bench: %s\n", registry.status().message().c_str());
    return 1;
  }
  Population pop;
  std::map<std::string, std::size_t> county_index;
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  for (const minyi::Area* town : registry->Towns()) {
    pop.towns.push_back(town->code);
    const auto [it, added] = county_index.emplace(town->parent_code, county_index.size());
    pop.county.push_back(it->second);
    pop.size.push_back(std::clamp(30000 * std::exp(0.8 * normal(rng)), 8000.0, 250000.0));
    pop.selection.push_back(std::sqrt(pop.size.back()) * std::exp(0.8 * normal(rng)));
  }
  pop.counties = county_index.size();
  const std::size_t m = pop.towns.size();
  std::vector<std::string> county_of;
  for (std::size_t c : pop.county) county_of.push_back(std::to_string(c));

  std::printf("towns %zu, counties %zu, reps %d, seed %llu, bootstrap B %d, previous year %s (n >= %lld)%s\n",
              m, pop.counties, reps, static_cast<unsigned long long>(seed), options.bootstrap_replicates,
              use_prev ? "used" : "not used", static_cast<long long>(prev_min_n),
              options.measurement_error ? ", its measurement error in the model" : "");
  if (options.adjusted_reml_fallback) std::printf("adjusted REML (Li-Lahiri) where REML's sigma2u is 0\n");
  if (binomial) {
    std::printf(
        "binomial logit-normal model (county and town effects; posterior intervals; covPR = covFH;"
        " mean s2u = sigma_u^2)\n");
  }
  std::printf("%-8s %7s | %9s %9s %6s | %8s | %8s %8s %8s | %8s %8s | %9s | %7s | %s\n", "index", "R/year",
              "towns<50", "RMSEdir", "RMSEfh", "change", "covDir", "covFH", "covPR", "synth n", "RMSEsyn",
              "covSyn", "fit ms", "mean s2u (not used)");
  for (const IndexModel& index : kIndices) {
    // The population's true shares (fixed across repetitions).
    std::vector<double> county_z(pop.counties);
    for (double& z : county_z) z = normal(rng);
    TownTruth truth;
    for (std::size_t t = 0; t < m; ++t) {
      const double z = std::sqrt(0.5) * county_z[pop.county[t]] + std::sqrt(0.5) * normal(rng);
      const double level = index.level + index.spread * z;
      truth.now.push_back(Expit(level));
      truth.before.push_back(Expit(level - 0.05 + 0.1 * normal(rng)));
    }
    for (std::size_t responses : sizes) {
      Tally tally;
      for (int rep = 0; rep < reps; ++rep) {
        const DirectFigures before = SampleYear(pop, truth.before, responses, rng);
        DirectFigures now = SampleYear(pop, truth.now, responses, rng);
        for (std::size_t t = 0; t < m; ++t) {
          if (before.towns[t].n >= prev_min_n && use_prev) {
            now.towns[t].prev_estimate = before.towns[t].estimate;
            now.towns[t].prev_n_eff = before.towns[t].n_eff;
          }
        }
        const std::clock_t started = std::clock();
        auto fit = binomial ? FitBinomial(now.towns, county_of, &tally)
                            : minyi::aggregator::FitFayHerriot(now.towns, options);
        tally.fit_seconds += static_cast<double>(std::clock() - started) / CLOCKS_PER_SEC;
        if (!fit.ok()) {
          std::fprintf(stderr, "small_area_bench: %s\n", fit.status().message().c_str());
          return 1;
        }
        ++tally.fits;
        if (!fit->used) {
          if (tally.not_used == 0) {
            std::fprintf(stderr, "%s %zu: model not used: %s\n", index.name, responses, fit->reason.c_str());
          }
          ++tally.not_used;
        } else {
          tally.sigma2u += fit->sigma2u;
          tally.adjusted += fit->sigma2u_method == "adjr" ? 1 : 0;
        }
        for (std::size_t t = 0; t < m; ++t) {
          const auto& town = now.towns[t];
          const auto& e = fit->towns_out[t];
          const double p = truth.now[t];
          if (town.n == 0) {
            if (e.method != SmallAreaMethod::kSynthetic && e.method != SmallAreaMethod::kBinomialEb) continue;
            ++tally.synthetic_count;
            tally.sq_synthetic += (e.estimate - p) * (e.estimate - p);
            tally.cover_synthetic += e.ci_low <= p && p <= e.ci_high;
            continue;
          }
          if (town.n >= 50) continue;
          ++tally.count;
          tally.sq_direct += (town.estimate - p) * (town.estimate - p);
          tally.cover_direct += now.ci_low[t] <= p && p <= now.ci_high[t];
          // When the model is not used the published figure is the direct one, with its interval.
          const bool direct = e.method == SmallAreaMethod::kDirect;
          const double low = direct ? now.ci_low[t] : e.ci_low;
          const double high = direct ? now.ci_high[t] : e.ci_high;
          tally.sq_model += (e.estimate - p) * (e.estimate - p);
          tally.cover_model += low <= p && p <= high;
          tally.cover_pr += direct || binomial ? low <= p && p <= high : PrasadRaoCovers(e, p);
          if (!direct) {
            ++tally.modelled;
            const double theta = std::asin(std::sqrt(e.estimate));  // θ̂ (sin²θ̂ for the Fay–Herriot model)
            const double error = theta - std::asin(std::sqrt(p));
            const double low_theta = std::asin(std::sqrt(e.ci_low));
            const double high_theta = std::asin(std::sqrt(e.ci_high));
            tally.error_sum += error;
            tally.error_sq_sum += error * error;
            tally.centre_shift_sum += theta - 0.5 * (low_theta + high_theta);
            tally.half_width_sum += 0.5 * (high_theta - low_theta);
            const bool covers = e.ci_low <= p && p <= e.ci_high;
            if (e.ci_high >= 1 - 1e-12) {
              ++tally.at_one;
              tally.at_one_covered += covers;
            } else {
              tally.inside_covered += covers;
            }
          }
        }
      }
      const double used = static_cast<double>(std::max(1L, tally.fits - tally.not_used));
      const double modelled = static_cast<double>(std::max(1L, tally.modelled));
      const double fits = static_cast<double>(tally.fits);
      const double rmse_direct = std::sqrt(tally.sq_direct / static_cast<double>(tally.count));
      const double rmse_model = std::sqrt(tally.sq_model / static_cast<double>(tally.count));
      std::printf(
          "%-8s %7zu | %9.1f %9.4f %6.4f | %+7.1f%% | %7.1f%% %7.1f%% %7.1f%% | %8.1f %8.4f | %8.1f%% | "
          "%7.1f | %.3g "
          "(%ld) [adjr %ld] | asin scale: bias %+.4f rmse %.4f, interval centre theta%+.4f half-width/1.96 "
          "%.4f | upper end 1: %.1f%% of intervals, coverage %.1f%% (others %.1f%%)\n",
          index.name, responses, static_cast<double>(tally.count) / fits, rmse_direct, rmse_model,
          100 * (rmse_model / rmse_direct - 1),
          100.0 * static_cast<double>(tally.cover_direct) / static_cast<double>(tally.count),
          100.0 * static_cast<double>(tally.cover_model) / static_cast<double>(tally.count),
          100.0 * static_cast<double>(tally.cover_pr) / static_cast<double>(tally.count),
          static_cast<double>(tally.synthetic_count) / used,
          std::sqrt(tally.sq_synthetic / static_cast<double>(std::max(1L, tally.synthetic_count))),
          100.0 * static_cast<double>(tally.cover_synthetic) /
              static_cast<double>(std::max(1L, tally.synthetic_count)),
          1000 * tally.fit_seconds / fits, tally.sigma2u / used, tally.not_used, tally.adjusted,
          tally.error_sum / modelled, std::sqrt(tally.error_sq_sum / modelled),
          -tally.centre_shift_sum / modelled, tally.half_width_sum / modelled / minyi::aggregator::kZ975,
          100.0 * static_cast<double>(tally.at_one) / modelled,
          100.0 * static_cast<double>(tally.at_one_covered) / static_cast<double>(std::max(1L, tally.at_one)),
          100.0 * static_cast<double>(tally.inside_covered) /
              static_cast<double>(std::max(1L, tally.modelled - tally.at_one)));
      if (binomial) {
        std::printf(
            "  binomial: mean beta %.3f sigma_v %.3f sigma_u %.3f, %.0f likelihood evaluations a fit\n",
            tally.beta / used, tally.sigma_v / used, tally.sigma_u / used, tally.evaluations / used);
      }
      std::fflush(stdout);
    }
  }
  return 0;
}
