// Model-based town shares from a two-level binomial logit-normal model, fitted by empirical Bayes (issue 14;
// docs/small_area.md, "Binomial logit-normal model"). Measured beside the arcsine Fay–Herriot model of
// small_area.h for the cells where that model's normal approximation fails (shares near 1, a few respondents
// per town); not used by the aggregator (bench/small_area_bench --binomial).
//
// Town i of county c with respondents enters with k_i = n_eff,i / γ̂ effective trials (γ̂ the GVF of
// SmallAreaGvf, so k_i p (1 − p) is the GVF's variance of the share: non-integer k allowed) and
// X_i = p̂_i k_i successes, p̂_i the weighted direct share: a pseudo-likelihood that carries the design
// through n_eff and γ̂ (the binomial kernel X log p + (k − X) log(1 − p), without the binomial coefficient,
// which does not depend on the parameters). The model:
//     X_i | p_i ~ Binomial(k_i, p_i),   logit p_i = β + v_c + u_i,   v_c ~ N(0, σ²_v),   u_i ~ N(0, σ²_u).
// (β, σ_v, σ_u) maximise the marginal likelihood Π_c ∫ φ(v) Π_{i∈c} ∫ φ(u) f(X_i | β + σ_v v + σ_u u) du dv,
// each integral by adaptive Gauss–Hermite quadrature (centred at the integrand's mode, scaled by its
// curvature: Liu & Pierce 1994, Biometrika 81:624–629; lme4's nAGQ), maximised by Nelder–Mead over
// (β, σ_v, σ_u) ∈ R³ (the likelihood is even in each σ, so σ = 0 is an interior point, not a boundary).
// A town's figure is its posterior given its county's data at the fitted parameters: the posterior mean of
// p_i, its posterior SD as the SE (the empirical-Bayes SD: it ignores the uncertainty of the fitted
// parameters) and the 2.5% and 97.5% posterior quantiles as the 95% interval, from the posterior density of
// logit p_i on a grid. Towns without respondents get their county's posterior (a county without respondents:
// the prior). Every figure is inside [0, 1] by construction.
//
// Pure functions on value types; thread-safe.
#pragma once

#include <string>
#include <vector>

#include "aggregator/small_area.h"
#include "core/status.h"

namespace minyi::aggregator {

// One town's binomial data: k effective trials, x successes (0 ≤ x ≤ k), its county's index; k = 0 for a
// town without respondents.
struct BinomialTown {
  double trials = 0;
  double successes = 0;
  int county = 0;
};

struct BinomialParameters {
  double beta = 0;
  double sigma_v = 0;  // ≥ 0
  double sigma_u = 0;  // ≥ 0
};

struct BinomialOptions {
  int min_towns = 15;          // towns with respondents needed (as SmallAreaOptions::min_towns)
  int quadrature_nodes = 12;   // adaptive Gauss–Hermite nodes per level
  int max_evaluations = 4000;  // of the likelihood, by Nelder–Mead
  double tolerance = 1e-9;     // Nelder–Mead stops when the simplex's log-likelihoods differ by less
  int grid_points = 401;       // of the posterior density of logit p per town (±8 posterior SDs)
};

// The marginal log-likelihood (binomial kernel) of the towns at `parameters`, by adaptive Gauss–Hermite
// quadrature with `nodes` nodes per level. Towns with trials = 0 contribute nothing.
double BinomialMarginalLogLik(const std::vector<BinomialTown>& towns, int counties,
                              const BinomialParameters& parameters, int nodes);

// The posterior of each town's p at `parameters`: estimate (mean), se (SD), ci_low / ci_high (2.5% and
// 97.5% quantiles), method kBinomialEb, interval kPosterior. Every town gets one, with or without
// respondents.
std::vector<SmallAreaEstimate> BinomialPosteriors(const std::vector<BinomialTown>& towns, int counties,
                                                  const BinomialParameters& parameters,
                                                  const BinomialOptions& options = {});

struct BinomialFit {
  bool used = false;   // false: every town keeps its direct figure (kDirect; towns without respondents kNone)
  std::string reason;  // why not used ("" when used)
  int towns = 0;       // towns with respondents
  double gvf_gamma = 0;
  BinomialParameters parameters;
  double loglik = 0;  // the maximised marginal log-likelihood (binomial kernel)
  int evaluations = 0;
  std::vector<SmallAreaEstimate> towns_out;  // one per input town, same order
};

// Fits the model over `towns` (one index, one period); `county_of[i]` names town i's county. Not used when
// fewer than options.min_towns towns have respondents, when the GVF has no town to fit, or when the
// likelihood is not finite at the optimum. kInvalidInput names the town of an estimate outside [0, 1], an
// n_eff outside (0, n], or a county_of of another length than towns.
Result<BinomialFit> FitBinomialEb(const std::vector<SmallAreaTown>& towns,
                                  const std::vector<std::string>& county_of,
                                  const BinomialOptions& options = {});

}  // namespace minyi::aggregator
