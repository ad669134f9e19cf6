// Model-based town estimates: an area-level Fay–Herriot model per index and period over the towns
// (issue 14; the method, its choices and its references are in docs/small_area.md).
//
// For town i with a direct share p̂_i (the aggregator's Hájek estimate) the model works on the
// arcsine-square-root scale, y_i = asin(√p̂_i):
//     y_i = θ_i + e_i,   e_i ~ N(0, ψ_i)          (sampling model; ψ_i known)
//     θ_i = x_iᵀβ + u_i, u_i ~ N(0, σ²ᵤ)          (linking model)
// ψ_i = γ̂ / (4 n_eff,i) comes from a generalized variance function (GVF) fitted over the towns: the
// share's design variance is taken as γ · p(1 − p) / n_eff, γ̂ the (n − 1)-weighted mean over towns of
// the ratio of the direct design variance to p̂(1 − p̂)/n_eff,i. So towns with p̂ ∈ {0, 1} or a tiny n keep a
// sensible sampling variance, and the arcsine scale keeps every estimate and interval inside [0, 1].
// x_i = (1, asin √(county share), asin √(previous-year town share) or 0, 1 if that is missing): the
// last two columns only when some towns have a previous-year figure (the indicator only when some lack
// it); linearly dependent columns are dropped (rank-revealing QR). The previous-year share is itself a
// sampled figure: its sampling variance C_i = γ̂ / (4 prev_n_eff,i) adds β̂²_prev C_i to the town's linking
// variance (Ybarra & Lohr 2008; SmallAreaOptions::measurement_error), wherever σ²ᵤ appears below.
// σ²ᵤ: REML by Fisher scoring; a negative or failed solution falls back as FitFayHerriot says.
// Towns with respondents get the EBLUP θ̂_i = y_i − B_i (y_i − x_iᵀβ̂), B_i = ψ_i / (σ̂²ᵤ + ψ_i), with
// the Prasad–Rao MSE for the REML estimator (Datta & Lahiri 2000): g1 + g2 + 2 g3. Towns without
// respondents (n = 0) get the synthetic x_iᵀβ̂ with MSE σ̂²ᵤ + x_iᵀ(XᵀV⁻¹X)⁻¹x_i. Back-transformed: p = sin²θ.
// The published interval and SE come from a parametric bootstrap of the EBLUP's error with binomial
// sampling errors (B = options.bootstrap_replicates, seeded by a hash of the inputs): the basic bootstrap
// interval sin²(θ̂ − d_(0.975)), sin²(θ̂ − d_(0.025)) and SE √MSE_boot · sin 2θ̂ (delta method). With B = 0
// they come from the Prasad–Rao MSE: sin²(clamp(θ̂ ± z √MSE, 0, π/2)), √MSE · sin 2θ̂.
//
// Linear algebra by Eigen. Pure functions on value types; thread-safe.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "core/areas.h"
#include "core/ports.h"
#include "core/status.h"

namespace minyi::aggregator {

// One town of one index and period. A town without respondents has n = 0 (estimate, se ignored).
struct SmallAreaTown {
  std::string area_code;
  std::int64_t n = 0;
  double n_eff = 0;
  double estimate = std::numeric_limits<double>::quiet_NaN();         // direct share p̂ ∈ [0, 1]
  double se = std::numeric_limits<double>::quiet_NaN();               // its design SE (NaN when undefined)
  double county_estimate = std::numeric_limits<double>::quiet_NaN();  // the county's direct share
  double prev_estimate =
      std::numeric_limits<double>::quiet_NaN();  // the town's previous-year share, NaN if none
  // The previous-year share's effective size (its sampling variance on the arcsine scale is γ̂ / (4 n_eff));
  // NaN when unknown (no measurement-error term). See SmallAreaOptions::measurement_error.
  double prev_n_eff = std::numeric_limits<double>::quiet_NaN();
  // The county share's effective size (SmallAreaOptions::county_measurement_error only); NaN when unknown.
  double county_n_eff = std::numeric_limits<double>::quiet_NaN();
};

enum class SmallAreaMethod {
  kEblup,       // model-based: the EBLUP of a town with respondents
  kSynthetic,   // model-based: a town without respondents, x_iᵀβ̂
  kDirect,      // the model is not used for this index and period (see SmallAreaFit::reason)
  kNone,        // no figure: no respondents and no covariates (a county without any respondent)
  kBinomialEb,  // model-based: the binomial logit-normal model's posterior mean (small_area_binomial.h)
};
// "eblup", "synthetic", "direct", "none", "binomial_eb"
std::string_view SmallAreaMethodName(SmallAreaMethod method);

// Where a model-based town's published SE and interval come from.
enum class SmallAreaInterval {
  kPrasadRao,  // θ̂ ± z √mse (the Prasad–Rao MSE), back-transformed
  kBootstrap,  // the parametric bootstrap (docs/small_area.md, "Intervals: parametric bootstrap")
  kPosterior,  // posterior SD and 2.5 / 97.5% quantiles (small_area_binomial.h)
};

struct SmallAreaEstimate {
  SmallAreaMethod method = SmallAreaMethod::kNone;
  double estimate = std::numeric_limits<double>::quiet_NaN();  // share: sin²θ̂ (direct p̂ when kDirect)
  double se = std::numeric_limits<double>::quiet_NaN();  // √MSE · sin 2θ̂, MSE by `interval` (or direct SE)
  double ci_low = std::numeric_limits<double>::quiet_NaN();    // 95%, back-transformed (NaN when kDirect)
  double ci_high = std::numeric_limits<double>::quiet_NaN();
  // On the transformed scale (NaN when not modelled):
  double theta = std::numeric_limits<double>::quiet_NaN();         // θ̂_i (EBLUP or synthetic)
  double mse = std::numeric_limits<double>::quiet_NaN();           // its Prasad–Rao MSE
  double direct_theta = std::numeric_limits<double>::quiet_NaN();  // y_i
  double psi = std::numeric_limits<double>::quiet_NaN();           // ψ_i from the GVF
  double shrinkage = std::numeric_limits<double>::quiet_NaN();     // B_i = ψ_i / (σ̂²ᵤ + ψ_i)
  double std_residual = std::numeric_limits<double>::quiet_NaN();  // (y_i − x_iᵀβ̂) / √(σ̂²ᵤ + ψ_i)
  SmallAreaInterval interval = SmallAreaInterval::kPrasadRao;      // of se, ci_low, ci_high (modelled towns)
  double mse_bootstrap = std::numeric_limits<double>::quiet_NaN();  // bootstrap MSE of θ̂_i (kBootstrap)
};

struct SmallAreaOptions {
  int min_towns = 15;        // towns with respondents needed, and at least 10 more than columns of X
  int max_iterations = 100;  // Fisher scoring steps
  double tolerance = 1e-12;  // |Δσ²ᵤ| ≤ tolerance · max(1, σ²ᵤ) stops
  int bootstrap_replicates = 200;  // B of the parametric bootstrap; 0: Prasad–Rao SE and intervals
  // The previous-year covariate's sampling error enters each town's linking variance as in Ybarra & Lohr
  // (2008): σ²ᵤ + β̂²_prev C_i, C_i = γ̂ / (4 prev_n_eff,i) (0 where prev_n_eff is unknown: the plain model).
  // false: the plain Fay–Herriot model (bench/small_area_bench --no-me).
  bool measurement_error = true;
  // When REML's maximum is at σ²ᵤ = 0: true fits σ̂²ᵤ by the adjusted residual likelihood of Li & Lahiri
  // (2010), the maximiser of σ²ᵤ · L_R(σ²ᵤ), always positive (fit.sigma2u_method "adjr"; the MSE gets their
  // bias term, and the bootstrap replicates use the same rule); false: the model is not used there.
  // Off by default: at 10k responses it does not meet issue 14's coverage goal (bench/RESULTS.md).
  bool adjusted_reml_fallback = false;
  // Variants measured in the simulation study for 群众安全感 at 10k responses a year and not adopted
  // (docs/small_area.md, "Simulation study"; bench/small_area_bench --anscombe, --calibrate R,
  // --random-rounding). Each off by default; off, the fit is the same bit for bit.
  // The towns' input on Anscombe's bias-reduced arcsine scale, y_i = asin √((k p̂ + 3/8) / (k + 3/4)) with
  // ψ_i = 1 / (4k + 2), k = n_eff / γ̂ (also in the bootstrap's draws); false: asin √p̂ and γ̂ / (4 n_eff).
  bool anscombe_input = false;
  // R > 0: R rounds of calibrating the bootstrap world's β so that its replicates' mean β̂* equals the fit's
  // β̂ (β̃ += β̂ − mean β̂*, the same replicates each round); R < 0: |R| rounds, σ²ᵤ too (σ̃²ᵤ scaled by
  // σ̂²ᵤ / mean σ̂²ᵤ*). The intervals then come from the calibrated world; the estimates are unchanged.
  int bootstrap_calibration = 0;
  // The bootstrap's binomial trials: n_eff / γ̂ rounded at random (down or up, with that mean) in each
  // replicate; false: rounded to the nearest integer, at least 1.
  bool bootstrap_random_rounding = false;
  // The county share's sampling error in the linking variance as the previous year's (Ybarra & Lohr):
  // + β̂²_county γ̂ / (4 county_n_eff,i) where SmallAreaTown::county_n_eff is known.
  bool county_measurement_error = false;
};

struct SmallAreaFit {
  bool used = false;   // false: every town keeps its direct figure (method kDirect)
  std::string reason;  // why not used ("" when used)
  int towns = 0;       // towns with respondents in the fit
  double gvf_gamma = std::numeric_limits<double>::quiet_NaN();  // γ̂ (1 for simple random sampling)
  std::vector<std::string>
      columns;               // names of X's kept columns: "intercept", "county", "prev", "prev_missing"
  std::vector<double> beta;  // β̂ (same order)
  double sigma2u = std::numeric_limits<double>::quiet_NaN();  // σ̂²ᵤ
  // How σ̂²ᵤ was estimated: "reml", or "adjr" (REML's maximum was at 0 and
  // SmallAreaOptions::adjusted_reml_fallback took the maximiser of σ²ᵤ · L_R(σ²ᵤ) instead).
  std::string sigma2u_method = "reml";
  int iterations = 0;
  double restricted_loglik = std::numeric_limits<double>::quiet_NaN();  // at σ̂²ᵤ, without the constant
  int bootstrap_replicates = 0;      // replicates whose REML fit succeeded (0: no bootstrap)
  std::uint64_t bootstrap_seed = 0;  // mt19937_64 seed: FNV-1a hash of the inputs and B
  std::vector<SmallAreaEstimate> towns_out;                             // one per input town, same order
};

// Fits the model over `towns` (one index, one period). The model is not used (used = false, every town
// kDirect, towns without respondents kNone) when fewer than options.min_towns towns have respondents
// or fewer than columns + 10; when the GVF has no town to fit (no town with n ≥ 2 and 0 < p̂ < 1 and a
// positive design variance); when REML puts σ̂²ᵤ at 0 (the covariates explain every difference between
// towns, and the EBLUP would be the synthetic estimate with an MSE that ignores that σ²ᵤ may be
// positive), unless options.adjusted_reml_fallback; or when Fisher scoring does not converge and the REML
// likelihood has no interior maximum on a bracketing search (docs/small_area.md, "When the model is not
// used"). When the model is used and options.bootstrap_replicates > 0, the modelled towns' se and interval
// come from the parametric bootstrap (interval kBootstrap; mse stays the Prasad–Rao MSE), unless fewer than
// max(20, B/2) replicates could be fitted (then Prasad–Rao). Deterministic: equal inputs give equal figures.
// kInvalidInput names the town of an estimate outside [0, 1], a negative se or n_eff, or an n_eff
// above n when n > 0.
Result<SmallAreaFit> FitFayHerriot(const std::vector<SmallAreaTown>& towns,
                                   const SmallAreaOptions& options = {});

// Every town's figure where a model is not used: kDirect with the direct share and SE (no interval), kNone
// for a town without respondents.
std::vector<SmallAreaEstimate> DirectTownFigures(const std::vector<SmallAreaTown>& towns);

// γ̂ of the generalized variance function V(p̂_i) ≈ γ p̂_i (1 − p̂_i) / n_eff,i: the (n − 1)-weighted mean of
// v̂_i / (p̂_i (1 − p̂_i) / n_eff,i) over towns with n ≥ 2, 0 < p̂ < 1 and a positive se; NaN when none has.
double SmallAreaGvf(const std::vector<SmallAreaTown>& towns);

// The model's inputs from aggregated rows: the town rows of one (survey, period, index) in `rows`, their
// county's direct share from the county rows, and the previous-year share from `previous` (rows of the
// period a year earlier; may be empty). Towns of `town_codes` without a row enter with n = 0.
// `county_of` maps a town code to its county code.
std::vector<SmallAreaTown> SmallAreaTownsFromRows(const std::vector<IndexRow>& rows,
                                                  const std::vector<IndexRow>& previous,
                                                  const std::vector<std::string>& town_codes,
                                                  const std::vector<std::string>& county_of);

// Model-based figures for the rows of one survey's aggregation (AggregationSummary::index_rows): one fit
// per (period, index) over the registry's towns, with the county rows of that period and index as the
// county covariate and the town rows of the year-earlier period (same quarter) as the previous-year
// covariate when `rows` holds them (with `minyi aggregate --period Y` they are absent and the column is
// dropped). Returns one estimate per row, parallel to `rows`: kNone for rows that are not towns and for
// indices without a share (composites). Errors: kInvalidInput from FitFayHerriot, with the period and index.
Result<std::vector<SmallAreaEstimate>> ModelTownRows(const std::vector<IndexRow>& rows,
                                                     const AreaRegistry& areas,
                                                     const SmallAreaOptions& options = {});

}  // namespace minyi::aggregator
