// Estimates and their uncertainty as State → Update → Combine → Finalize (docs/methodology.md §4).
//
// Update (TownUpdate) makes one pass over a town's respondents and reduces them to a small AreaState
// per town. Combine adds states: a county, city or province is the Combine of its towns' states.
// Finalize turns a state into the published figures.
//
// Why the variance is mergeable although u_i depends on the area's own estimate θ = ŷ_A: for a
// respondent i of town h, with b_i = 1 if i is in the index's domain D (answered, w_i > 0) and
// a_i = b_i y_i,
//     z_i = w_i (u_i − x_iᵀB̂) = (α_i − θ β_i) / W_A,
//     α_i = w_i (a_i − x_iᵀB̂_a),  β_i = w_i (b_i − x_iᵀB̂_b),
// because B̂ is linear in u (B̂_a, B̂_b: the d-weighted least-squares fits of a and b on the town's
// calibration cells, R's qr.resid on √d·X; any generalised inverse gives the same fitted values).
// A stratum's contribution n_h/(n_h−1) [Σ z_i² − (Σ z_i)²/n_h] is therefore a quadratic in θ,
// (c0 + c1 θ + c2 θ²) / W_A², whose coefficients depend on the town alone:
//     c0 = f (Σα² − (Σα)²/n_h),  c1 = f (−2Σαβ + 2 Σα Σβ / n_h),  c2 = f (Σβ² − (Σβ)²/n_h),
// f = n_h/(n_h−1); a town with one respondent (lonely stratum, R's survey.lonely.psu = "adjust")
// enters with f = 1 and without the centring terms. Summing c0, c1, c2 over the towns of an area and
// evaluating at the area's θ gives R's V̂ for the area (svyciprop / svymean on subset(design, area)).
//
// Plain value types; not synchronised.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string_view>
#include <vector>

#include "aggregator/compensated_sum.h"
#include "aggregator/period_data.h"
#include "aggregator/weighting.h"

namespace minyi::aggregator {

// z = qnorm(0.975): the normal quantile of score intervals and of the change test.
inline constexpr double kZ975 = 1.959963984540054;

// q(θ) = c0 + c1 θ + c2 θ²: the summed stratum contributions to W² · V̂.
struct VarianceQuadratic {
  CompensatedSum c0;
  CompensatedSum c1;
  CompensatedSum c2;
  double At(double theta) const { return c0.value() + theta * (c1.value() + theta * c2.value()); }
  void Combine(const VarianceQuadratic& other) {
    c0.Combine(other.c0);
    c1.Combine(other.c1);
    c2.Combine(other.c2);
  }
};

// Sufficient statistics of one index over an area.
struct DomainState {
  std::int64_t n = 0;             // |D|: respondents who answered, with w > 0
  std::int64_t n_positive = 0;    // of them, answered in the positive set
  CompensatedSum sum_w;           // Σ_D w
  CompensatedSum sum_w2;          // Σ_D w²
  CompensatedSum sum_w_positive;  // Σ_D w y (share)
  CompensatedSum sum_w_score;     // Σ_D w s (score)
  CompensatedSum sum_w_score2;    // Σ_D w s² (deff)
  double score_min = std::numeric_limits<double>::infinity();
  double score_max = -std::numeric_limits<double>::infinity();
  VarianceQuadratic share_variance;
  VarianceQuadratic score_variance;

  void Combine(const DomainState& other);
};

// Sufficient statistics of an area (a town or a union of towns), all indices.
struct AreaState {
  std::int64_t respondents = 0;           // every respondent, zero weights included
  std::int64_t weighted_respondents = 0;  // with w > 0 (degrees of freedom)
  std::int64_t strata = 0;                // towns with at least one respondent with w > 0
  std::int64_t lonely_strata = 0;         // towns with a single respondent
  std::uint32_t weighting_mask = 0;       // bit (1 << Weighting) for each town's method
  std::uint64_t response_hash = 0;        // Σ (mod 2⁶⁴) of mixed town hashes: order-free, mergeable
  std::vector<DomainState> indices;       // one per IndexSpec

  void Combine(const AreaState& other);
};

// Update: one pass over town `town` of `data` with its weights (WeightTown must have run for it).
AreaState TownUpdate(const PeriodData& data, const PeriodWeights& weights, std::size_t town);

// Update from a town's cell sums (town_sums.h) and their weighting (WeightCells): the same state as
// TownUpdate on the respondents with w_i = d_i · m_g, to rounding (the expansion of each sum over the
// cells is in town_sums.h). Memory and time depend on the number of cells, not of respondents.
AreaState TownUpdateFromCells(const TownSums& sums, const CellWeights& weights, std::size_t index_count);

enum class CiMethod { kLogit, kExactNeff, kNone };
std::string_view CiMethodName(CiMethod method);  // "logit", "exact-neff", "none"

// The published figures of one index over one area. Undefined values are NaN.
struct Estimate {
  std::int64_t n = 0;
  double n_eff = std::numeric_limits<double>::quiet_NaN();
  double sum_w = 0;
  std::int64_t df = 0;
  double estimate = std::numeric_limits<double>::quiet_NaN();
  double se = std::numeric_limits<double>::quiet_NaN();
  double ci_low = std::numeric_limits<double>::quiet_NaN();
  double ci_high = std::numeric_limits<double>::quiet_NaN();
  CiMethod ci_method = CiMethod::kNone;
  double score = std::numeric_limits<double>::quiet_NaN();
  double score_se = std::numeric_limits<double>::quiet_NaN();
  double score_ci_low = std::numeric_limits<double>::quiet_NaN();
  double score_ci_high = std::numeric_limits<double>::quiet_NaN();
  double deff = std::numeric_limits<double>::quiet_NaN();  // of the score index (docs/methodology.md §4.8)
  bool low_n = true;
};

// Finalize: the figures of index `k` from an area state.
Estimate Finalize(const AreaState& state, std::size_t k, const IndexSpec& spec);

// t_{df, 0.975} by Boost.Math (accurate to a few ulps); NaN for df < 1.
double StudentT975(double df);

// Two-sided 95% Clopper–Pearson bounds at the effective size when p̂ is exactly 0 or 1
// (docs/methodology.md §4.7). p̂ = 1: [0.025^(1/n_eff), 1]; p̂ = 0: [0, 1 − 0.025^(1/n_eff)].
void ExactNeffInterval(bool all_positive, double n_eff, double* low, double* high);

// The logit ("xlogit") interval expit(logit p ± t_df · se / (p (1 − p))) for 0 < p < 1.
void LogitInterval(double p, double se, double df, double* low, double* high);

}  // namespace minyi::aggregator
