#include "aggregator/small_area_binomial.h"

#include <Eigen/Dense>
#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <limits>
#include <map>
#include <utility>

namespace minyi::aggregator {
namespace {

constexpr double kLogSqrt2Pi = 0.91893853320467274;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double Softplus(double x) { return x > 0 ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x)); }
double Expit(double x) { return x >= 0 ? 1 / (1 + std::exp(-x)) : std::exp(x) / (1 + std::exp(x)); }

// The binomial kernel x log p + (k − x) log(1 − p) at logit p = eta.
double Kernel(const BinomialTown& t, double eta) {
  // log p = −softplus(−η), log(1 − p) = −softplus(η) = −η − softplus(−η): one exp and one log1p.
  return -t.trials * Softplus(-eta) - (t.trials - t.successes) * eta;
}

double LogSumExp(const std::vector<double>& a) {
  double top = -std::numeric_limits<double>::infinity();
  for (double x : a) top = std::max(top, x);
  if (!std::isfinite(top)) return top;
  double sum = 0;
  for (double x : a) sum += std::exp(x - top);
  return top + std::log(sum);
}

// The probabilists' Gauss–Hermite rule (weight φ) by Golub & Welsch (1969): the nodes are the eigenvalues of
// the Jacobi matrix of the Hermite polynomials, the weights the squared first components of its eigenvectors.
// Computed with Eigen because Boost 1.74's quadrature has Gauss–Legendre and Gauss–Kronrod rules only.
// Stored for the adaptive form ∫ e^{g(x)} dx ≈ s Σ_j exp(lw_j + g(m + s z_j)),
// lw_j = log w_j + z_j²/2 + log √(2π).
struct HermiteRule {
  std::vector<double> z;
  std::vector<double> lw;
};

HermiteRule MakeRule(int nodes) {
  const int n = std::max(1, nodes);
  Eigen::MatrixXd jacobi = Eigen::MatrixXd::Zero(n, n);
  for (int i = 1; i < n; ++i) jacobi(i, i - 1) = jacobi(i - 1, i) = std::sqrt(static_cast<double>(i));
  const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> solver(jacobi);
  HermiteRule rule;
  for (int i = 0; i < n; ++i) {
    const double z = solver.eigenvalues()(i);
    const double w = solver.eigenvectors()(0, i) * solver.eigenvectors()(0, i);
    rule.z.push_back(z);
    rule.lw.push_back(std::log(w) + 0.5 * z * z + kLogSqrt2Pi);
  }
  return rule;
}

// Newton's method for the mode of a strictly concave function of one variable, given its first and second
// derivatives; steps bounded to 4 (standardised units), at most 60. Returns the mode and the second
// derivative at the last point evaluated (within 1e-10 of the mode).
template <typename Derivatives>
std::pair<double, double> Mode(double start, Derivatives derivatives) {
  double x = start;
  double curvature = -1;
  for (int iteration = 0; iteration < 60; ++iteration) {
    const auto [d1, d2] = derivatives(x);
    curvature = d2;
    const double step = std::clamp(-d1 / d2, -4.0, 4.0);
    x += step;
    if (std::abs(step) < 1e-10) break;
  }
  return {x, curvature};
}

// ∫ φ(u) f(X | μ + σ_u u) du for one town by adaptive Gauss–Hermite, with the posterior moments of u's
// functions that the county level needs: the score X − k p, its variance, the information k p (1 − p), and
// logit p itself.
struct Inner {
  double log_integral = 0;
  double score_mean = 0;
  double score_var = 0;
  double info_mean = 0;
  double eta_mean = 0;
  double eta_var = 0;
};

Inner IntegrateTown(const BinomialTown& t, double mu, double su, const HermiteRule& rule,
                    bool moments = true) {
  const double k = t.trials;
  const double x = t.successes;
  auto curvature = [&](double u) {
    const double p = Expit(mu + su * u);
    return std::pair{-u + su * (x - k * p), -1 - su * su * k * p * (1 - p)};
  };
  const auto [mode, d2] = Mode(0.0, curvature);
  const double scale = 1 / std::sqrt(-d2);
  const std::size_t q = rule.z.size();
  std::vector<double> log_terms(q);
  for (std::size_t j = 0; j < q; ++j) {
    const double u = mode + scale * rule.z[j];
    log_terms[j] = rule.lw[j] - 0.5 * u * u - kLogSqrt2Pi + Kernel(t, mu + su * u);
  }
  Inner out;
  out.log_integral = std::log(scale) + LogSumExp(log_terms);
  if (!moments) return out;
  const double top = *std::max_element(log_terms.begin(), log_terms.end());
  double total = 0, s1 = 0, s2 = 0, info = 0, e1 = 0, e2 = 0;
  for (std::size_t j = 0; j < q; ++j) {
    const double w = std::exp(log_terms[j] - top);
    const double eta = mu + su * (mode + scale * rule.z[j]);
    const double p = Expit(eta);
    const double score = x - k * p;
    total += w;
    s1 += w * score;
    s2 += w * score * score;
    info += w * k * p * (1 - p);
    e1 += w * eta;
    e2 += w * eta * eta;
  }
  out.score_mean = s1 / total;
  out.score_var = std::max(0.0, s2 / total - out.score_mean * out.score_mean);
  out.info_mean = info / total;
  out.eta_mean = e1 / total;
  out.eta_var = std::max(0.0, e2 / total - out.eta_mean * out.eta_mean);
  return out;
}

// A county's log integrand h(v) = log φ(v) + Σ_i log I_i(β + σ_v v) with its first two derivatives in v
// (d/dμ log I_i is the posterior mean of the score; d²/dμ² its variance minus the mean information).
struct CountyPoint {
  double h = 0;
  double d1 = 0;
  double d2 = 0;
};

// Without `derivatives` only h is computed (d1, d2 left at log φ's).
CountyPoint EvaluateCounty(const std::vector<const BinomialTown*>& towns, double v,
                           const BinomialParameters& th, const HermiteRule& rule,
                           std::vector<Inner>* inner = nullptr, bool derivatives = true) {
  CountyPoint out{-0.5 * v * v - kLogSqrt2Pi, -v, -1};
  const double mu = th.beta + th.sigma_v * v;
  for (const BinomialTown* t : towns) {
    const Inner in = IntegrateTown(*t, mu, th.sigma_u, rule, derivatives || inner != nullptr);
    out.h += in.log_integral;
    out.d1 += th.sigma_v * in.score_mean;
    out.d2 += th.sigma_v * th.sigma_v * (in.score_var - in.info_mean);
    if (inner != nullptr) inner->push_back(in);
  }
  return out;
}

// The mode v̂ and scale ŝ = 1 / √(−h''(v̂)) of a county's integrand (h is concave: a convolution of
// log-concave functions, Prékopa).
std::pair<double, double> CountyMode(const std::vector<const BinomialTown*>& towns,
                                     const BinomialParameters& th, const HermiteRule& rule,
                                     double start = 0) {
  const auto [mode, d2] = Mode(start, [&](double v) {
    const CountyPoint c = EvaluateCounty(towns, v, th, rule);
    return std::pair{c.d1, c.d2};
  });
  return {mode, 1 / std::sqrt(-d2)};
}

std::vector<std::vector<const BinomialTown*>> ByCounty(const std::vector<BinomialTown>& towns, int counties) {
  std::vector<std::vector<const BinomialTown*>> by(static_cast<std::size_t>(std::max(0, counties)));
  for (const BinomialTown& t : towns) {
    if (t.trials > 0 && t.county >= 0 && t.county < counties)
      by[static_cast<std::size_t>(t.county)].push_back(&t);
  }
  return by;
}

BinomialParameters Positive(BinomialParameters th) {
  th.sigma_v = std::abs(th.sigma_v);
  th.sigma_u = std::abs(th.sigma_u);
  return th;
}

// Nelder & Mead (1965) with the standard coefficients (reflection 1, expansion 2, contraction ½, shrink ½),
// minimising f over R³. Hand-written: Debian 12's Boost 1.74 has no multivariate optimiser and Eigen has
// none; three parameters and a smooth objective need nothing more. Stops when the simplex's values differ by
// less than `tolerance` (absolute) or after `max_evaluations`.
template <typename F>
std::array<double, 3> NelderMead(F f, std::array<double, 3> start, double step, double tolerance,
                                 int max_evaluations, int* evaluations) {
  using Point = std::array<double, 3>;
  std::array<Point, 4> simplex;
  std::array<double, 4> value{};
  for (std::size_t i = 0; i < 4; ++i) {
    simplex[i] = start;
    if (i > 0) simplex[i][i - 1] += step;
    value[i] = f(simplex[i]);
  }
  *evaluations += 4;
  auto along = [](const Point& a, const Point& b, double t) {  // a + t (b − a)
    Point p{};
    for (std::size_t j = 0; j < 3; ++j) p[j] = a[j] + t * (b[j] - a[j]);
    return p;
  };
  while (*evaluations < max_evaluations) {
    std::array<std::size_t, 4> order{0, 1, 2, 3};
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return value[a] < value[b]; });
    const std::size_t best = order[0], worst = order[3], second = order[2];
    if (std::abs(value[worst] - value[best]) < tolerance) break;
    Point centroid{};
    for (std::size_t i : {order[0], order[1], order[2]}) {
      for (std::size_t j = 0; j < 3; ++j) centroid[j] += simplex[i][j] / 3;
    }
    const Point reflected = along(centroid, simplex[worst], -1);
    const double fr = f(reflected);
    ++*evaluations;
    if (fr < value[best]) {
      const Point expanded = along(centroid, simplex[worst], -2);
      const double fe = f(expanded);
      ++*evaluations;
      simplex[worst] = fe < fr ? expanded : reflected;
      value[worst] = std::min(fe, fr);
    } else if (fr < value[second]) {
      simplex[worst] = reflected;
      value[worst] = fr;
    } else {
      const bool outside = fr < value[worst];
      const Point contracted = along(centroid, outside ? reflected : simplex[worst], 0.5);
      const double fc = f(contracted);
      ++*evaluations;
      if (fc < std::min(fr, value[worst])) {
        simplex[worst] = contracted;
        value[worst] = fc;
      } else {
        for (std::size_t i : {order[1], order[2], order[3]}) {
          simplex[i] = along(simplex[best], simplex[i], 0.5);
          value[i] = f(simplex[i]);
        }
        *evaluations += 3;
      }
    }
  }
  return simplex[static_cast<std::size_t>(std::min_element(value.begin(), value.end()) - value.begin())];
}

// One town's posterior of logit p as a density on a grid, summarised: mean and SD of p, 2.5% and 97.5%
// quantiles. `log_density` is evaluated at grid points spanning the posterior mean of logit p ± 8 SDs.
template <typename LogDensity>
SmallAreaEstimate Summarise(double eta_mean, double eta_sd, int points, LogDensity log_density) {
  SmallAreaEstimate out;
  out.method = SmallAreaMethod::kBinomialEb;
  out.interval = SmallAreaInterval::kPosterior;
  if (!(eta_sd > 1e-12)) {  // a point mass (σ_v = σ_u = 0)
    out.estimate = out.ci_low = out.ci_high = Expit(eta_mean);
    out.se = 0;
    return out;
  }
  const int g = std::max(21, points);
  const double low = eta_mean - 8 * eta_sd;
  const double step = 16 * eta_sd / (g - 1);
  std::vector<double> eta(static_cast<std::size_t>(g));
  std::vector<double> logd(static_cast<std::size_t>(g));
  for (std::size_t j = 0; j < eta.size(); ++j) {
    eta[j] = low + step * static_cast<double>(j);
    logd[j] = log_density(eta[j]);
  }
  const double top = *std::max_element(logd.begin(), logd.end());
  std::vector<double> cdf(eta.size(), 0.0);
  double m1 = 0, m2 = 0;
  for (std::size_t j = 0; j < eta.size(); ++j) {
    const double d = std::exp(logd[j] - top);
    const double w = (j == 0 || j + 1 == eta.size()) ? 0.5 : 1.0;  // trapezoid
    const double p = Expit(eta[j]);
    m1 += w * d * p;
    m2 += w * d * p * p;
    if (j > 0) cdf[j] = cdf[j - 1] + 0.5 * (d + std::exp(logd[j - 1] - top));
  }
  const double mass = cdf.back();
  const double mean = m1 / mass;
  out.estimate = mean;
  out.se = std::sqrt(std::max(0.0, m2 / mass - mean * mean));
  auto quantile = [&](double q) {
    const double target = q * mass;
    const std::size_t j =
        static_cast<std::size_t>(std::lower_bound(cdf.begin(), cdf.end(), target) - cdf.begin());
    if (j == 0) return Expit(eta.front());
    if (j >= cdf.size()) return Expit(eta.back());
    const double t = (target - cdf[j - 1]) / (cdf[j] - cdf[j - 1]);
    return Expit(eta[j - 1] + t * step);
  };
  out.ci_low = quantile(0.025);
  out.ci_high = quantile(0.975);
  return out;
}

// The posteriors of one county's towns (`members`: indices into `towns`, with and without respondents).
// The county effect is integrated on a uniform grid of v over v̂ ± 8 ŝ (trapezoid weights times the
// county's posterior density e^{h(v)}), fine enough that the town kernel N(μ_g, σ²_u) is sampled at a
// spacing of at most σ_u (the trapezoid rule is then accurate to ~e^{−2π²}); where σ_u is too small for
// that within 2001 points, σ_u is taken as 0 and logit p's posterior is the county's.
void CountyPosteriors(const std::vector<BinomialTown>& towns, const std::vector<std::size_t>& members,
                      const BinomialParameters& th, const BinomialOptions& options, const HermiteRule& rule,
                      std::vector<SmallAreaEstimate>* out) {
  std::vector<const BinomialTown*> sampled;
  for (std::size_t i : members) {
    if (towns[i].trials > 0) sampled.push_back(&towns[i]);
  }
  const auto [mode, scale] = CountyMode(sampled, th, rule);
  const double spread = 16 * th.sigma_v * scale;  // the μ range of the grid
  const bool flat_town = th.sigma_u * 2000 < spread;
  const int g = std::clamp(static_cast<int>(std::ceil(spread / std::max(th.sigma_u, 1e-300))) + 1, 33, 2001);
  std::vector<double> v(static_cast<std::size_t>(g));
  std::vector<double> log_weight(v.size());
  std::vector<std::vector<Inner>> inner(v.size());
  for (std::size_t j = 0; j < v.size(); ++j) {
    v[j] = mode + scale * (-8 + 16 * static_cast<double>(j) / (g - 1));
    log_weight[j] = EvaluateCounty(sampled, v[j], th, rule, &inner[j]).h +
                    ((j == 0 || j + 1 == v.size()) ? std::log(0.5) : 0.0);
  }
  const double norm = LogSumExp(log_weight);
  for (double& w : log_weight) w -= norm;
  std::size_t r = 0;  // index of the town among `sampled`
  for (std::size_t i : members) {
    const BinomialTown& t = towns[i];
    const bool has_data = t.trials > 0;
    double mean = 0, second = 0;
    for (std::size_t j = 0; j < v.size(); ++j) {
      const double mu = th.beta + th.sigma_v * v[j];
      const double m = has_data ? inner[j][r].eta_mean : mu;
      const double var = has_data ? inner[j][r].eta_var : th.sigma_u * th.sigma_u;
      const double w = std::exp(log_weight[j]);
      mean += w * m;
      second += w * (var + m * m);
    }
    const double sd = std::sqrt(std::max(0.0, second - mean * mean));
    auto log_density = [&](double eta) {
      if (flat_town) {  // σ_u ≈ 0: logit p = β + σ_v v, v from the county's posterior
        const double vv = (eta - th.beta) / th.sigma_v;
        return EvaluateCounty(sampled, vv, th, rule).h;
      }
      std::vector<double> terms;
      terms.reserve(v.size());
      for (std::size_t j = 0; j < v.size(); ++j) {
        const double z = (eta - th.beta - th.sigma_v * v[j]) / th.sigma_u;
        if (std::abs(z) > 10) continue;
        terms.push_back(log_weight[j] - 0.5 * z * z - (has_data ? inner[j][r].log_integral : 0.0));
      }
      return (has_data ? Kernel(t, eta) : 0.0) + LogSumExp(terms);
    };
    (*out)[i] = Summarise(mean, sd, options.grid_points, log_density);
    if (has_data) ++r;
  }
}

// The marginal log-likelihood; `modes` (one per county, or null) holds each county's last mode, where the
// search for the next one starts (the optimiser's steps are small: one or two Newton steps instead of five).
double LogLik(const std::vector<std::vector<const BinomialTown*>>& by_county,
              const BinomialParameters& parameters, const HermiteRule& rule, std::vector<double>* modes) {
  const BinomialParameters th = Positive(parameters);
  double total = 0;
  for (std::size_t c = 0; c < by_county.size(); ++c) {
    const auto& county = by_county[c];
    if (county.empty()) continue;
    const auto [mode, scale] = CountyMode(county, th, rule, modes != nullptr ? (*modes)[c] : 0.0);
    if (modes != nullptr) (*modes)[c] = std::isfinite(mode) ? mode : 0.0;
    std::vector<double> log_terms(rule.z.size());
    for (std::size_t j = 0; j < rule.z.size(); ++j) {
      log_terms[j] =
          rule.lw[j] + EvaluateCounty(county, mode + scale * rule.z[j], th, rule, nullptr, false).h;
    }
    total += std::log(scale) + LogSumExp(log_terms);
  }
  return total;
}

}  // namespace

double BinomialMarginalLogLik(const std::vector<BinomialTown>& towns, int counties,
                              const BinomialParameters& parameters, int nodes) {
  return LogLik(ByCounty(towns, counties), parameters, MakeRule(nodes), nullptr);
}

std::vector<SmallAreaEstimate> BinomialPosteriors(const std::vector<BinomialTown>& towns, int counties,
                                                  const BinomialParameters& parameters,
                                                  const BinomialOptions& options) {
  const HermiteRule rule = MakeRule(options.quadrature_nodes);
  const BinomialParameters th = Positive(parameters);
  std::vector<SmallAreaEstimate> out(towns.size());
  std::vector<std::vector<std::size_t>> members(static_cast<std::size_t>(std::max(0, counties)));
  std::vector<std::size_t> orphans;  // towns of no valid county: the prior
  for (std::size_t i = 0; i < towns.size(); ++i) {
    const int c = towns[i].county;
    if (c >= 0 && c < counties) {
      members[static_cast<std::size_t>(c)].push_back(i);
    } else {
      orphans.push_back(i);
    }
  }
  if (!orphans.empty()) members.push_back(orphans);
  for (const auto& county : members) {
    if (!county.empty()) CountyPosteriors(towns, county, th, options, rule, &out);
  }
  return out;
}

Result<BinomialFit> FitBinomialEb(const std::vector<SmallAreaTown>& towns,
                                  const std::vector<std::string>& county_of, const BinomialOptions& options) {
  if (county_of.size() != towns.size()) {
    return Status::InvalidInput("binomial small-area input: county_of has " +
                                std::to_string(county_of.size()) + " entries for " +
                                std::to_string(towns.size()) + " towns");
  }
  BinomialFit fit;
  std::map<std::string, int> county_index;
  std::vector<BinomialTown> data(towns.size());
  for (std::size_t i = 0; i < towns.size(); ++i) {
    const SmallAreaTown& t = towns[i];
    const std::string where = "binomial small-area input, town " + t.area_code + ": ";
    if (t.n < 0) return Status::InvalidInput(where + "n is negative");
    if (t.n > 0 && !(t.estimate >= 0 && t.estimate <= 1)) {
      return Status::InvalidInput(where + "estimate is not in [0, 1]");
    }
    if (t.n > 0 && (!(t.n_eff > 0) || t.n_eff > static_cast<double>(t.n) * (1 + 1e-9))) {
      return Status::InvalidInput(where + "n_eff is not in (0, n]");
    }
    data[i].county = county_index.emplace(county_of[i], static_cast<int>(county_index.size())).first->second;
    fit.towns += t.n > 0 ? 1 : 0;
  }
  auto not_used = [&](std::string reason) {
    fit.reason = std::move(reason);
    fit.towns_out = DirectTownFigures(towns);
    return fit;
  };
  if (fit.towns < options.min_towns) return not_used("fewer towns than min_towns");
  fit.gvf_gamma = SmallAreaGvf(towns);
  if (!std::isfinite(fit.gvf_gamma) || !(fit.gvf_gamma > 0))
    return not_used("no town to fit the variance function");
  double sum_k = 0, sum_x = 0;
  for (std::size_t i = 0; i < towns.size(); ++i) {
    if (towns[i].n == 0) continue;
    data[i].trials = towns[i].n_eff / fit.gvf_gamma;
    data[i].successes = towns[i].estimate * data[i].trials;
    sum_k += data[i].trials;
    sum_x += data[i].successes;
  }
  const int counties = static_cast<int>(county_index.size());
  const auto by_county = ByCounty(data, counties);
  const HermiteRule rule = MakeRule(options.quadrature_nodes);
  std::vector<double> modes(by_county.size(), 0.0);
  auto objective = [&](const std::array<double, 3>& p) {
    const double ll = LogLik(by_county, {p[0], p[1], p[2]}, rule, &modes);
    return std::isfinite(ll) ? -ll : std::numeric_limits<double>::max();
  };
  const double mean = std::clamp(sum_x / sum_k, 1e-3, 1 - 1e-3);
  std::array<double, 3> best{std::log(mean / (1 - mean)), 0.3, 0.3};
  // Restarted from its own optimum with a smaller simplex, as is usual against a premature stop.
  for (double step : {0.3, 0.03}) {
    best = NelderMead(objective, best, step, options.tolerance, options.max_evaluations, &fit.evaluations);
  }
  fit.parameters = Positive({best[0], best[1], best[2]});
  fit.loglik = BinomialMarginalLogLik(data, counties, fit.parameters, options.quadrature_nodes);
  if (!std::isfinite(fit.loglik)) return not_used("the binomial likelihood is not finite at its optimum");
  fit.used = true;
  fit.towns_out = BinomialPosteriors(data, counties, fit.parameters, options);
  return fit;
}

}  // namespace minyi::aggregator
