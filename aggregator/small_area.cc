#include "aggregator/small_area.h"

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <map>
#include <optional>
#include <random>
#include <utility>

#include "aggregator/estimate.h"

namespace minyi::aggregator {
namespace {

constexpr double kHalfPi = 1.5707963267948966;

using Eigen::Index;
using Eigen::MatrixXd;
using Eigen::VectorXd;

double ArcsineRoot(double p) { return std::asin(std::sqrt(std::clamp(p, 0.0, 1.0))); }
// The model's input y_i and its sampling variance ψ_i for a share p̂ with k = n_eff / γ̂ effective trials
// (the GVF): asin √p̂ and 1 / (4k) = γ̂ / (4 n_eff); with SmallAreaOptions::anscombe_input Anscombe's
// asin √((k p̂ + 3/8) / (k + 3/4)) and 1 / (4k + 2).
double InputTheta(double p, double k, bool anscombe) {
  return anscombe ? std::asin(std::sqrt((k * std::clamp(p, 0.0, 1.0) + 0.375) / (k + 0.75))) : ArcsineRoot(p);
}
double InputPsi(double n_eff, double gamma, bool anscombe) {
  return anscombe ? 1 / (4 * n_eff / gamma + 2) : gamma / (4 * n_eff);
}
double SineSquared(double theta) {
  const double s = std::sin(std::clamp(theta, 0.0, kHalfPi));
  return s * s;
}

// Everything of the REML problem at one σ²ᵤ = a (V = diag(a + ψ) is diagonal, so no m × m matrix is
// formed: P's traces come from p × p products).
struct RemlAt {
  MatrixXd m_inv;  // (XᵀV⁻¹X)⁻¹
  VectorXd beta;
  double score = 0;        // ∂ℓ_R/∂a = −½ tr P + ½ yᵀP²y
  double information = 0;  // ½ tr P²
  double loglik = 0;       // ℓ_R(a) without −½ (m − p) log 2π
  bool ok = false;
};

RemlAt EvaluateReml(const MatrixXd& x, const VectorXd& y, const VectorXd& psi, double a,
                    bool with_loglik = true) {
  RemlAt out;
  // One pass for XᵀWX, XᵀW²X, XᵀW³X and XᵀWy (W = V⁻¹): hand-written because p ≤ 4 and m ≈ 1,500, where
  // Eigen's general matrix products spend most of their time packing (the bootstrap calls this thousands
  // of times per fit).
  const Index m = x.rows();
  const Index p = x.cols();
  MatrixXd xwx = MatrixXd::Zero(p, p);
  MatrixXd xw2x = MatrixXd::Zero(p, p);
  MatrixXd xw3x = MatrixXd::Zero(p, p);
  VectorXd xwy = VectorXd::Zero(p);
  double sum_w = 0;
  double sum_w2 = 0;
  for (Index i = 0; i < m; ++i) {
    const double w = 1 / (psi(i) + a);
    const double w2 = w * w;
    sum_w += w;
    sum_w2 += w2;
    for (Index j = 0; j < p; ++j) {
      const double xij = x(i, j);
      xwy(j) += w * xij * y(i);
      for (Index k = 0; k <= j; ++k) {
        const double xx = xij * x(i, k);
        xwx(j, k) += w * xx;
        xw2x(j, k) += w2 * xx;
        xw3x(j, k) += w2 * w * xx;
      }
    }
  }
  xwx = xwx.selfadjointView<Eigen::Lower>();
  xw2x = xw2x.selfadjointView<Eigen::Lower>();
  xw3x = xw3x.selfadjointView<Eigen::Lower>();
  Eigen::LDLT<MatrixXd> ldlt(xwx);
  if (ldlt.info() != Eigen::Success || !ldlt.isPositive()) return out;
  out.m_inv = ldlt.solve(MatrixXd::Identity(p, p));
  out.beta = out.m_inv * xwy;
  double py2 = 0;
  double rwr = 0;
  for (Index i = 0; i < m; ++i) {
    const double w = 1 / (psi(i) + a);
    const double r = y(i) - x.row(i).dot(out.beta);
    py2 += (w * r) * (w * r);
    rwr += w * r * r;
  }
  const MatrixXd q = out.m_inv * xw2x;
  const double trace_p = sum_w - q.trace();
  const double trace_p2 = sum_w2 - 2 * (out.m_inv * xw3x).trace() + (q * q).trace();
  out.score = -0.5 * trace_p + 0.5 * py2;
  out.information = 0.5 * trace_p2;
  if (with_loglik) {
    out.loglik = -0.5 * (psi.array() + a).log().sum() - 0.5 * std::log(ldlt.vectorD().prod()) - 0.5 * rwr;
  }
  out.ok = std::isfinite(out.score) && std::isfinite(out.information) && out.information > 0;
  return out;
}

// σ̂²ᵤ by Fisher scoring, truncated at 0 (as metafor::rma(method = "REML")), from `start`, or from a
// moment value when `start` is negative. Returns false when it does not converge.
bool FisherScoring(const MatrixXd& x, const VectorXd& y, const VectorXd& psi, const SmallAreaOptions& options,
                   double start, double* a, int* iterations) {
  if (start >= 0) {
    *a = start;
  } else {
    const MatrixXd ols = x.colPivHouseholderQr().solve(y);
    const VectorXd r = y - x * ols;
    const double m = static_cast<double>(x.rows());
    const double p = static_cast<double>(x.cols());
    *a = std::max(0.0, r.squaredNorm() / (m - p) - psi.mean());
  }
  for (*iterations = 1; *iterations <= options.max_iterations; ++*iterations) {
    const RemlAt at = EvaluateReml(x, y, psi, *a, false);
    if (!at.ok) return false;
    const double next = std::max(0.0, *a + at.score / at.information);
    const bool done = std::abs(next - *a) <= options.tolerance * std::max(1.0, *a);
    *a = next;
    if (done) return true;
  }
  return false;
}

// The fallback when Fisher scoring fails: golden-section search of ℓ_R over [0, 10 var(y) + max ψ]
// (ℓ_R is smooth in a; the bracket holds every plausible σ²ᵤ). Returns false when ℓ_R cannot be
// evaluated there.
bool GoldenSection(const MatrixXd& x, const VectorXd& y, const VectorXd& psi, double* a) {
  const double var_y = (y.array() - y.mean()).square().sum() / static_cast<double>(y.size() - 1);
  double lo = 0;
  double hi = 10 * var_y + psi.maxCoeff();
  const double ratio = 0.6180339887498949;
  auto f = [&](double v) {
    const RemlAt at = EvaluateReml(x, y, psi, v);
    return at.ok ? at.loglik : -std::numeric_limits<double>::infinity();
  };
  double c = hi - ratio * (hi - lo);
  double d = lo + ratio * (hi - lo);
  double fc = f(c);
  double fd = f(d);
  for (int i = 0; i < 200 && hi - lo > 1e-14 * std::max(1.0, hi); ++i) {
    if (fc >= fd) {
      hi = d, d = c, fd = fc;
      c = hi - ratio * (hi - lo), fc = f(c);
    } else {
      lo = c, c = d, fc = fd;
      d = lo + ratio * (hi - lo), fd = f(d);
    }
  }
  *a = 0.5 * (lo + hi);
  if (f(0) >= f(*a)) *a = 0;  // the maximum is on the boundary
  return std::isfinite(f(*a));
}

// The adjusted residual likelihood of Li & Lahiri (2010): σ̂²ᵤ maximises ℓ_R(a) + log a, which tends to −∞ at
// a = 0, so the maximiser is positive. Newton steps with the expected information of ℓ_R plus 1/a² (the
// adjustment's), from the moment value or ψ̄ / 100, halving toward 0 where a step would leave (0, ∞).
// Returns false when it does not converge.
bool AdjustedScoring(const MatrixXd& x, const VectorXd& y, const VectorXd& psi,
                     const SmallAreaOptions& options, double* a, int* iterations) {
  const MatrixXd ols = x.colPivHouseholderQr().solve(y);
  const double moment = (y - x * ols).squaredNorm() / static_cast<double>(x.rows() - x.cols()) - psi.mean();
  *a = std::max(moment, psi.mean() / 100);
  for (*iterations = 1; *iterations <= options.max_iterations; ++*iterations) {
    const RemlAt at = EvaluateReml(x, y, psi, *a, false);
    if (!at.ok) return false;
    double next = *a + (at.score + 1 / *a) / (at.information + 1 / (*a * *a));
    if (!(next > 0)) next = *a / 2;
    const bool done = std::abs(next - *a) <= options.tolerance * std::max(1.0, *a);
    *a = next;
    if (done) return true;
  }
  return false;
}

// σ̂²ᵤ by the fit's rule: REML (Fisher scoring from `start`, golden section when it fails); where its
// maximum is at 0 and options.adjusted_reml_fallback, the adjusted likelihood's (*adjusted = true).
// Returns false when neither converges.
bool EstimateSigma2u(const MatrixXd& x, const VectorXd& y, const VectorXd& psi,
                     const SmallAreaOptions& options, double start, double* a, int* iterations,
                     bool* adjusted) {
  *adjusted = false;
  if (!FisherScoring(x, y, psi, options, start, a, iterations) && !GoldenSection(x, y, psi, a)) return false;
  if (*a > 0 || !options.adjusted_reml_fallback) return true;
  *adjusted = true;
  return AdjustedScoring(x, y, psi, options, a, iterations);
}

}  // namespace

std::vector<SmallAreaEstimate> DirectTownFigures(const std::vector<SmallAreaTown>& towns) {
  std::vector<SmallAreaEstimate> out(towns.size());
  for (std::size_t i = 0; i < towns.size(); ++i) {
    if (towns[i].n == 0) continue;
    out[i].method = SmallAreaMethod::kDirect;
    out[i].estimate = towns[i].estimate;
    out[i].se = towns[i].se;
  }
  return out;
}

double SmallAreaGvf(const std::vector<SmallAreaTown>& towns) {
  double num = 0;
  double den = 0;
  for (const SmallAreaTown& t : towns) {
    if (t.n < 2 || !(t.estimate > 0 && t.estimate < 1) || !(t.se > 0) || !std::isfinite(t.se)) continue;
    const double binomial = t.estimate * (1 - t.estimate) / t.n_eff;
    const double weight = static_cast<double>(t.n - 1);
    num += weight * t.se * t.se / binomial;
    den += weight;
  }
  return den > 0 ? num / den : std::numeric_limits<double>::quiet_NaN();
}

namespace {

Status ValidateTowns(const std::vector<SmallAreaTown>& towns) {
  for (const SmallAreaTown& t : towns) {
    const std::string where = "small-area input, town " + t.area_code + ": ";
    if (t.n < 0) return Status::InvalidInput(where + "n is negative");
    if (t.n == 0) continue;
    if (!(t.estimate >= 0 && t.estimate <= 1))
      return Status::InvalidInput(where + "estimate is not in [0, 1]");
    if (t.se < 0) return Status::InvalidInput(where + "se is negative");
    if (!(t.n_eff > 0) || t.n_eff > static_cast<double>(t.n) * (1 + 1e-9)) {
      return Status::InvalidInput(where + "n_eff is not in (0, n]");
    }
    if (!(t.county_estimate >= 0 && t.county_estimate <= 1)) {
      return Status::InvalidInput(where + "county_estimate is not in [0, 1]");
    }
    if (!std::isnan(t.prev_estimate) && !(t.prev_estimate >= 0 && t.prev_estimate <= 1)) {
      return Status::InvalidInput(where + "prev_estimate is not in [0, 1]");
    }
  }
  return Status::Ok();
}

// Row of the full design (intercept, county, prev, prev_missing); false when the town lacks the county
// figure, or lacks a previous-year figure while the fit has no prev_missing column.
bool DesignRow(const SmallAreaTown& t, const std::vector<int>& kept, bool has_missing_column, VectorXd* row) {
  if (std::isnan(t.county_estimate)) return false;
  const bool missing = std::isnan(t.prev_estimate);
  if (missing && !has_missing_column && std::find(kept.begin(), kept.end(), 2) != kept.end()) return false;
  const double full[4] = {1.0, ArcsineRoot(t.county_estimate), missing ? 0.0 : ArcsineRoot(t.prev_estimate),
                          missing ? 1.0 : 0.0};
  row->resize(static_cast<Index>(kept.size()));
  for (std::size_t j = 0; j < kept.size(); ++j) (*row)(static_cast<Index>(j)) = full[kept[j]];
  return true;
}

SmallAreaFit NotUsed(const std::vector<SmallAreaTown>& towns, SmallAreaFit fit, std::string reason) {
  fit.used = false;
  fit.reason = std::move(reason);
  fit.towns_out = DirectTownFigures(towns);
  return fit;
}

void SetBackTransformed(double theta, double mse, SmallAreaEstimate* out) {
  out->theta = std::clamp(theta, 0.0, kHalfPi);
  out->mse = mse;
  const double root = std::sqrt(mse);
  out->estimate = SineSquared(out->theta);
  out->se = root * std::sin(2 * out->theta);
  out->ci_low = SineSquared(out->theta - kZ975 * root);
  out->ci_high = SineSquared(out->theta + kZ975 * root);
}

// A uniform in (0, 1) from mt19937_64's raw output, whose sequence the standard fixes (the std
// distributions are implementation-defined: the bootstrap must give the same figures everywhere).
double Uniform01(std::mt19937_64& rng) {
  return (static_cast<double>(rng() >> 11) + 0.5) / 9007199254740992.0;
}

// A standard normal by the Box–Muller transform (hand-written for the same reason as Uniform01).
double StandardNormal(std::mt19937_64& rng) {
  return std::sqrt(-2 * std::log(Uniform01(rng))) * std::cos(2 * 3.141592653589793 * Uniform01(rng));
}

// A Binomial(k, p) draw by inversion of the CDF, counting the rarer outcome (expected cost k·min(p, 1 − p)
// steps); beyond 30 expected rare outcomes the normal approximation on the arcsine scale is used.
double BinomialShare(std::mt19937_64& rng, int k, double p) {
  const bool flip = p > 0.5;
  const double r = flip ? 1 - p : p;
  if (r <= 0) return flip ? 1.0 : 0.0;
  const double kd = static_cast<double>(k);
  if (kd * r > 30) return SineSquared(ArcsineRoot(p) + StandardNormal(rng) / (2 * std::sqrt(kd)));
  double u = Uniform01(rng);
  double f = std::pow(1 - r, kd);
  int x = 0;
  while (u > f && x < k) {
    u -= f;
    f *= (kd - x) / (x + 1) * r / (1 - r);
    ++x;
  }
  const double share = static_cast<double>(x) / kd;
  return flip ? 1 - share : share;
}

// FNV-1a over the bytes of the inputs that determine the fit, so that equal inputs give equal bootstrap
// figures (published indices must be reproducible).
std::uint64_t InputHash(const std::vector<SmallAreaTown>& towns, int replicates) {
  std::uint64_t h = 14695981039346656037ULL;
  auto mix = [&h](const void* data, std::size_t size) {
    const auto* bytes = static_cast<const unsigned char*>(data);
    for (std::size_t i = 0; i < size; ++i) h = (h ^ bytes[i]) * 1099511628211ULL;
  };
  mix(&replicates, sizeof replicates);
  for (const SmallAreaTown& t : towns) {
    const double values[5] = {t.n_eff, t.estimate, t.se, t.county_estimate, t.prev_estimate};
    mix(&t.n, sizeof t.n);
    for (double v : values) mix(&v, sizeof v);
    if (!std::isnan(t.prev_n_eff)) mix(&t.prev_n_eff, sizeof t.prev_n_eff);  // inputs without it: as before
  }
  return h;
}

// The EBLUP (or synthetic) errors θ̂*_j − θ*_j of the parametric bootstrap, one row per replicate, one
// column per modelled town: the towns with respondents (rows of x) then those without (rows of
// `synthetic_rows`). Replicates whose REML fit fails are left out.
// `extra` (sampled towns, then towns without respondents) is each town's added linking variance (the
// covariate's measurement error; 0 without it).
MatrixXd BootstrapErrors(const MatrixXd& x, const MatrixXd& synthetic_rows, const VectorXd& psi,
                         const VectorXd& extra, const std::vector<int>& trials, const VectorXd& k_eff,
                         const VectorXd& beta, double a, const SmallAreaOptions& options, std::uint64_t seed,
                         VectorXd* mean_beta = nullptr, double* mean_a = nullptr) {
  std::mt19937_64 rng(seed);
  if (mean_beta != nullptr) *mean_beta = VectorXd::Zero(beta.size());
  if (mean_a != nullptr) *mean_a = 0;
  // σ̂²ᵤ* to 1e-8 (about 1e-5 of the σ̂²ᵤ we see) rather than 1e-12: it halves the steps, and the errors move
  // by less than the Monte Carlo noise of B replicates.
  SmallAreaOptions replicate_options = options;
  replicate_options.tolerance = std::max(options.tolerance, 1e-8);
  const Index m = x.rows();
  const Index s = synthetic_rows.rows();
  MatrixXd errors(options.bootstrap_replicates, m + s);
  const VectorXd mean_sampled = x * beta;
  const VectorXd mean_synthetic = synthetic_rows * beta;
  const VectorXd psi_total = psi + extra.head(m);
  VectorXd truth(m + s);
  VectorXd y(m);
  Index done = 0;
  for (int b = 0; b < options.bootstrap_replicates; ++b) {
    for (Index j = 0; j < m + s; ++j) {
      truth(j) = std::clamp(
          (j < m ? mean_sampled(j) : mean_synthetic(j - m)) + std::sqrt(a + extra(j)) * StandardNormal(rng),
          0.0, kHalfPi);
    }
    for (Index j = 0; j < m; ++j) {
      int k = trials[static_cast<std::size_t>(j)];
      if (options.bootstrap_random_rounding) {  // ⌊k⌋ or ⌈k⌉, with mean n_eff / γ̂
        const double whole = std::floor(k_eff(j));
        k = std::max(1, static_cast<int>(whole) + (Uniform01(rng) < k_eff(j) - whole ? 1 : 0));
      }
      y(j) = InputTheta(BinomialShare(rng, k, SineSquared(truth(j))), k_eff(j), options.anscombe_input);
    }
    double a_star = 0;
    int iterations = 0;
    bool adjusted = false;  // the replicate's σ̂²ᵤ* by the fit's rule, the adjusted fallback included
    if (!EstimateSigma2u(x, y, psi_total, replicate_options, a, &a_star, &iterations, &adjusted)) continue;
    const RemlAt at = EvaluateReml(x, y, psi_total, a_star);
    if (!at.ok) continue;
    if (mean_beta != nullptr) *mean_beta += at.beta;
    if (mean_a != nullptr) *mean_a += a_star;
    const VectorXd fitted = x * at.beta;
    for (Index j = 0; j < m; ++j) {
      const double shrinkage = psi(j) / (a_star + psi_total(j));
      errors(done, j) = std::clamp(y(j) - shrinkage * (y(j) - fitted(j)), 0.0, kHalfPi) - truth(j);
    }
    const VectorXd synthetic = synthetic_rows * at.beta;
    for (Index j = 0; j < s; ++j) errors(done, m + j) = std::clamp(synthetic(j), 0.0, kHalfPi) - truth(m + j);
    ++done;
  }
  if (mean_beta != nullptr && done > 0) *mean_beta /= static_cast<double>(done);
  if (mean_a != nullptr && done > 0) *mean_a /= static_cast<double>(done);
  return errors.topRows(done);
}

// The q-quantile of the sorted `v`, interpolated between order statistics (R's type 7).
double Quantile(const std::vector<double>& v, double q) {
  const double h = (static_cast<double>(v.size()) - 1) * q;
  const auto lo = static_cast<std::size_t>(std::floor(h));
  const std::size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (h - static_cast<double>(lo)) * (v[hi] - v[lo]);
}

// Replaces the Prasad–Rao SE and interval of `out` by the bootstrap ones from its column of errors
// d_b = θ̂*_b − θ*_b: the basic bootstrap interval [θ̂ − d_(0.975), θ̂ − d_(0.025)] and the SE from the
// bootstrap MSE, mean d².
void SetBootstrapInterval(const VectorXd& errors, SmallAreaEstimate* out) {
  std::vector<double> d(errors.data(), errors.data() + errors.size());
  std::sort(d.begin(), d.end());
  out->mse_bootstrap = errors.squaredNorm() / static_cast<double>(d.size());
  out->se = std::sqrt(out->mse_bootstrap) * std::sin(2 * out->theta);
  out->ci_low = SineSquared(out->theta - Quantile(d, 0.975));
  out->ci_high = SineSquared(out->theta - Quantile(d, 0.025));
  out->interval = SmallAreaInterval::kBootstrap;
}

// The model's inputs for the towns with respondents (`sampled`, in that order) and its design X.
struct Design {
  MatrixXd x;
  VectorXd y;
  VectorXd psi;
  VectorXd k_eff;         // the share's effective trials under the GVF, n_eff / γ̂
  std::vector<int> kept;  // X's columns in the full design (intercept, county, prev, prev_missing)
  bool has_missing_column = false;
};

// The full design, then the columns a rank-revealing QR keeps (in their original order; their names go to
// fit.columns).
Design BuildDesign(const std::vector<SmallAreaTown>& towns, const std::vector<std::size_t>& sampled,
                   bool any_prev, bool any_missing, const SmallAreaOptions& options, SmallAreaFit& fit) {
  std::vector<int> candidates = {0, 1};
  if (any_prev) candidates.push_back(2);
  if (any_prev && any_missing) candidates.push_back(3);
  const Index m = static_cast<Index>(sampled.size());
  MatrixXd full(m, static_cast<Index>(candidates.size()));
  VectorXd y(m);
  VectorXd psi(m);
  VectorXd k_eff(m);  // the share's effective trials under the GVF, n_eff / γ̂
  for (Index r = 0; r < m; ++r) {
    const SmallAreaTown& t = towns[sampled[static_cast<std::size_t>(r)]];
    VectorXd row;
    DesignRow(t, candidates, true, &row);
    full.row(r) = row.transpose();
    k_eff(r) = t.n_eff / fit.gvf_gamma;
    y(r) = InputTheta(t.estimate, k_eff(r), options.anscombe_input);
    psi(r) = InputPsi(t.n_eff, fit.gvf_gamma, options.anscombe_input);
  }
  Eigen::ColPivHouseholderQR<MatrixXd> qr(full);
  qr.setThreshold(1e-10);
  std::vector<int> kept;
  for (Index j = 0; j < qr.rank(); ++j)
    kept.push_back(candidates[static_cast<std::size_t>(qr.colsPermutation().indices()(j))]);
  std::sort(kept.begin(), kept.end());
  static const char* const kNames[4] = {"intercept", "county", "prev", "prev_missing"};
  for (int c : kept) fit.columns.emplace_back(kNames[c]);
  const bool has_missing_column = std::find(kept.begin(), kept.end(), 3) != kept.end();
  MatrixXd x(m, static_cast<Index>(kept.size()));
  for (std::size_t j = 0; j < kept.size(); ++j) {
    const auto at = std::find(candidates.begin(), candidates.end(), kept[j]) - candidates.begin();
    x.col(static_cast<Index>(j)) = full.col(static_cast<Index>(at));
  }
  return Design{std::move(x),     std::move(y),    std::move(psi),
                std::move(k_eff), std::move(kept), has_missing_column};
}

// The covariate's measurement error (options.measurement_error): each town's linking variance gains
// β̂²_prev C_i, C_i = γ̂ / (4 prev_n_eff,i); β̂ and σ̂²ᵤ refitted with it, a few fixed-point steps. Updates
// a, at and adjusted and fills extra_of (one per town, sized and zeroed by the caller; left 0 without it).
// Returns why the model is not used when a refit fails (with fit.sigma2u where σ̂²ᵤ is 0), nullopt otherwise.
std::optional<std::string> ApplyMeasurementError(const std::vector<SmallAreaTown>& towns,
                                                 const std::vector<std::size_t>& sampled,
                                                 const Design& design, const SmallAreaOptions& options,
                                                 SmallAreaFit& fit, double& a, RemlAt& at, bool& adjusted,
                                                 std::vector<double>& extra_of) {
  const MatrixXd& x = design.x;
  const VectorXd& y = design.y;
  const VectorXd& psi = design.psi;
  const std::vector<int>& kept = design.kept;
  const Index m = static_cast<Index>(sampled.size());
  const auto prev_at = std::find(kept.begin(), kept.end(), 2);
  const bool any_known = std::any_of(towns.begin(), towns.end(), [](const SmallAreaTown& t) {
    return !std::isnan(t.prev_estimate) && t.prev_n_eff > 0;
  });
  // The county share's sampling error too, with SmallAreaOptions::county_measurement_error (a variant
  // measured and not adopted): β̂²_county γ̂ / (4 county_n_eff,i) in the same fixed point.
  const auto county_at = std::find(kept.begin(), kept.end(), 1);
  const bool county_me =
      options.county_measurement_error && county_at != kept.end() &&
      std::any_of(towns.begin(), towns.end(), [](const SmallAreaTown& t) { return t.county_n_eff > 0; });
  const bool prev_me = options.measurement_error && prev_at != kept.end() && any_known;
  if (prev_me || county_me) {  // else the plain model, unchanged
    const auto prev_column = static_cast<Index>(prev_at - kept.begin());
    const auto county_column = static_cast<Index>(county_at - kept.begin());
    VectorXd extra(m);
    // Fixed point in β̂_prev: it converges in a few steps (the term is small beside ψ_i + σ̂²ᵤ for most towns).
    bool converged = false;
    for (int step = 0; step < options.max_iterations && !converged; ++step) {
      const double slope = prev_me ? at.beta(prev_column) : 0.0;
      const double slope2 = slope * slope;
      const double county_slope = county_me ? at.beta(county_column) : 0.0;
      for (std::size_t i = 0; i < towns.size(); ++i) {
        const SmallAreaTown& t = towns[i];
        extra_of[i] = !prev_me || std::isnan(t.prev_estimate) || !(t.prev_n_eff > 0)
                          ? 0.0
                          : slope2 * fit.gvf_gamma / (4 * t.prev_n_eff);
        if (county_me && t.county_n_eff > 0) {
          extra_of[i] += county_slope * county_slope * fit.gvf_gamma / (4 * t.county_n_eff);
        }
      }
      for (Index r = 0; r < m; ++r) extra(r) = extra_of[sampled[static_cast<std::size_t>(r)]];
      int steps = 0;
      if (!EstimateSigma2u(x, y, psi + extra, options, a, &a, &steps, &adjusted)) {
        return "REML with the covariate's measurement error did not converge";
      }
      if (!(a > 0)) {  // the previous-year figures' noise explains the differences between towns
        fit.sigma2u = a;
        return "REML estimate of sigma2u is 0";
      }
      at = EvaluateReml(x, y, psi + extra, a);
      if (!at.ok) return "REML did not converge";
      converged =
          (!prev_me || std::abs(at.beta(prev_column) - slope) <= 1e-12 * std::max(1.0, std::abs(slope))) &&
          (!county_me ||
           std::abs(at.beta(county_column) - county_slope) <= 1e-12 * std::max(1.0, std::abs(county_slope)));
    }
    if (!converged) {
      return "the measurement-error fixed point did not converge";
    }
  }
  return std::nullopt;
}

// Parametric bootstrap (docs/small_area.md, "Intervals"): the trials of each town's binomial draw are
// its effective size for the share, n_eff / γ̂ (the GVF's variance), at least 1. Replaces the modelled
// towns' Prasad–Rao se and interval in fit.towns_out unless too few replicates could be fitted.
// `extra_sampled` / `extra_of`: the added linking variance of the sampled towns / of every town;
// `synthetic_towns` / `synthetic_rows`: the modelled towns without respondents and their design rows.
void ApplyBootstrap(const std::vector<SmallAreaTown>& towns, const std::vector<std::size_t>& sampled,
                    const Design& design, const RemlAt& at, double a, const VectorXd& extra_sampled,
                    const std::vector<double>& extra_of, const std::vector<std::size_t>& synthetic_towns,
                    const std::vector<VectorXd>& synthetic_rows, const SmallAreaOptions& options,
                    SmallAreaFit& fit) {
  const MatrixXd& x = design.x;
  const VectorXd& psi = design.psi;
  const VectorXd& k_eff = design.k_eff;
  const Index m = static_cast<Index>(sampled.size());
  std::vector<int> trials;
  for (std::size_t i : sampled) {
    trials.push_back(static_cast<int>(std::max(1.0, std::round(towns[i].n_eff / fit.gvf_gamma))));
  }
  MatrixXd synthetic_x(static_cast<Index>(synthetic_rows.size()), x.cols());
  for (std::size_t j = 0; j < synthetic_rows.size(); ++j) {
    synthetic_x.row(static_cast<Index>(j)) = synthetic_rows[j].transpose();
  }
  fit.bootstrap_seed = InputHash(towns, options.bootstrap_replicates);
  VectorXd extra_all(m + static_cast<Index>(synthetic_towns.size()));
  extra_all.head(m) = extra_sampled;
  for (std::size_t j = 0; j < synthetic_towns.size(); ++j)
    extra_all(m + static_cast<Index>(j)) = extra_of[synthetic_towns[j]];
  // Calibration of the bootstrap world's β (SmallAreaOptions::bootstrap_calibration): β̃ such that the
  // replicates' mean β̂* equals the fit's β̂, by the same replicates (common random numbers) each round.
  // With a negative option, σ²ᵤ too (the world's σ̃²ᵤ scaled by σ̂²ᵤ / mean σ̂²ᵤ*).
  VectorXd beta_world = at.beta;
  double a_world = a;
  for (int round = 0; round < std::abs(options.bootstrap_calibration); ++round) {
    VectorXd mean_beta;
    double mean_a = 0;
    BootstrapErrors(x, synthetic_x, psi, extra_all, trials, k_eff, beta_world, a_world, options,
                    fit.bootstrap_seed, &mean_beta, &mean_a);
    beta_world += at.beta - mean_beta;
    if (options.bootstrap_calibration < 0 && mean_a > 0) a_world *= a / mean_a;
  }
  const MatrixXd errors = BootstrapErrors(x, synthetic_x, psi, extra_all, trials, k_eff, beta_world, a_world,
                                          options, fit.bootstrap_seed);
  fit.bootstrap_replicates = static_cast<int>(errors.rows());
  if (errors.rows() < std::max(20, options.bootstrap_replicates / 2)) return;  // Prasad–Rao kept
  for (Index r = 0; r < m; ++r) {
    SetBootstrapInterval(errors.col(r), &fit.towns_out[sampled[static_cast<std::size_t>(r)]]);
  }
  for (std::size_t j = 0; j < synthetic_towns.size(); ++j) {
    SetBootstrapInterval(errors.col(m + static_cast<Index>(j)), &fit.towns_out[synthetic_towns[j]]);
  }
}
}  // namespace

std::string_view SmallAreaMethodName(SmallAreaMethod method) {
  switch (method) {
    case SmallAreaMethod::kEblup:
      return "eblup";
    case SmallAreaMethod::kSynthetic:
      return "synthetic";
    case SmallAreaMethod::kDirect:
      return "direct";
    case SmallAreaMethod::kBinomialEb:
      return "binomial_eb";
    case SmallAreaMethod::kNone:
      break;
  }
  return "none";
}

Result<SmallAreaFit> FitFayHerriot(const std::vector<SmallAreaTown>& towns, const SmallAreaOptions& options) {
  MINYI_RETURN_IF_ERROR(ValidateTowns(towns));
  SmallAreaFit fit;
  std::vector<std::size_t> sampled;
  bool any_prev = false;
  bool any_missing = false;
  for (std::size_t i = 0; i < towns.size(); ++i) {
    if (towns[i].n == 0) continue;
    sampled.push_back(i);
    (std::isnan(towns[i].prev_estimate) ? any_missing : any_prev) = true;
  }
  fit.towns = static_cast<int>(sampled.size());
  if (fit.towns < options.min_towns) return NotUsed(towns, std::move(fit), "fewer towns than min_towns");
  fit.gvf_gamma = SmallAreaGvf(towns);
  if (!std::isfinite(fit.gvf_gamma) || !(fit.gvf_gamma > 0)) {
    return NotUsed(towns, std::move(fit), "no town to fit the variance function");
  }

  const Design design = BuildDesign(towns, sampled, any_prev, any_missing, options, fit);
  const Index m = static_cast<Index>(sampled.size());
  const MatrixXd& x = design.x;
  const VectorXd& y = design.y;
  const VectorXd& psi = design.psi;
  const std::vector<int>& kept = design.kept;
  const bool has_missing_column = design.has_missing_column;
  if (m < x.cols() + 10) return NotUsed(towns, std::move(fit), "fewer towns than columns + 10");

  double a = 0;
  bool adjusted = false;
  if (!EstimateSigma2u(x, y, psi, options, -1, &a, &fit.iterations, &adjusted)) {
    return NotUsed(towns, std::move(fit),
                   adjusted ? "adjusted REML did not converge" : "REML did not converge");
  }
  if (!(a > 0)) {
    fit.sigma2u = a;
    return NotUsed(towns, std::move(fit), "REML estimate of sigma2u is 0");
  }
  RemlAt at = EvaluateReml(x, y, psi, a);
  if (!at.ok) return NotUsed(towns, std::move(fit), "REML did not converge");
  // The covariate's (and optionally the county share's) measurement error: 0 per town without it.
  std::vector<double> extra_of(towns.size(), 0.0);
  const std::optional<std::string> not_used =
      ApplyMeasurementError(towns, sampled, design, options, fit, a, at, adjusted, extra_of);
  if (not_used) return NotUsed(towns, std::move(fit), *not_used);
  fit.sigma2u = a;
  fit.sigma2u_method = adjusted ? "adjr" : "reml";
  fit.used = true;
  fit.beta.assign(at.beta.data(), at.beta.data() + at.beta.size());
  fit.restricted_loglik = at.loglik;

  // Prasad–Rao MSE for REML (Datta & Lahiri 2000): g3's V̄(σ̂²ᵤ) = 2 / Σ (σ̂²ᵤ + ψ_j)⁻².
  VectorXd extra_sampled(m);
  for (Index r = 0; r < m; ++r) extra_sampled(r) = extra_of[sampled[static_cast<std::size_t>(r)]];
  const double var_a = 2 / (psi.array() + extra_sampled.array() + a).square().inverse().sum();
  // With the adjusted likelihood, Li & Lahiri (2010): the O(1/m) bias of σ̂²ᵤ, (1/σ̂²ᵤ) · V̄(σ̂²ᵤ), enters
  // the MSE as − B_i² · bias (second-order unbiased; as emdi's fh(method = "amrl")).
  const double bias_a = adjusted ? var_a / a : 0.0;
  fit.towns_out.assign(towns.size(), SmallAreaEstimate{});
  std::vector<std::size_t> synthetic_towns;
  std::vector<VectorXd> synthetic_rows;
  for (std::size_t i = 0; i < towns.size(); ++i) {
    const SmallAreaTown& t = towns[i];
    SmallAreaEstimate& out = fit.towns_out[i];
    VectorXd row;
    if (!DesignRow(t, kept, has_missing_column, &row)) continue;  // kNone
    const double synthetic = row.dot(at.beta);
    const double leverage = row.dot(at.m_inv * row);
    const double linking = a + extra_of[i];  // σ̂²ᵤ (+ β̂²_prev C_i with the measurement error)
    if (t.n == 0) {
      out.method = SmallAreaMethod::kSynthetic;
      SetBackTransformed(synthetic, linking + leverage, &out);
      synthetic_towns.push_back(i);
      synthetic_rows.push_back(row);
      continue;
    }
    out.method = SmallAreaMethod::kEblup;
    out.direct_theta = InputTheta(t.estimate, t.n_eff / fit.gvf_gamma, options.anscombe_input);
    out.psi = InputPsi(t.n_eff, fit.gvf_gamma, options.anscombe_input);
    out.shrinkage = out.psi / (linking + out.psi);
    out.std_residual = (out.direct_theta - synthetic) / std::sqrt(linking + out.psi);
    const double g1 = linking * out.shrinkage;
    const double g2 = out.shrinkage * out.shrinkage * leverage;
    const double g3 = out.psi * out.psi / std::pow(linking + out.psi, 3) * var_a;
    // Where the correction exceeds the Prasad–Rao terms (σ̂²ᵤ small beside ψ_i: its O(1/m) expansion does
    // not hold), the uncorrected g1 + g2 + 2 g3 is kept rather than a negative MSE.
    const double prasad_rao = g1 + g2 + 2 * g3;
    const double corrected = prasad_rao - out.shrinkage * out.shrinkage * bias_a;
    SetBackTransformed(out.direct_theta - out.shrinkage * (out.direct_theta - synthetic),
                       corrected > 0 ? corrected : prasad_rao, &out);
  }
  if (options.bootstrap_replicates <= 0) return fit;
  ApplyBootstrap(towns, sampled, design, at, a, extra_sampled, extra_of, synthetic_towns, synthetic_rows,
                 options, fit);
  return fit;
}

std::vector<SmallAreaTown> SmallAreaTownsFromRows(const std::vector<IndexRow>& rows,
                                                  const std::vector<IndexRow>& previous,
                                                  const std::vector<std::string>& town_codes,
                                                  const std::vector<std::string>& county_of) {
  std::map<std::string, const IndexRow*> town_rows;
  std::map<std::string, double> county_share;
  for (const IndexRow& r : rows) {
    if (r.level == "town") town_rows[r.area_code] = &r;
    if (r.level == "county" && r.n > 0) county_share[r.area_code] = r.estimate;
  }
  std::map<std::string, const IndexRow*> previous_share;
  for (const IndexRow& r : previous) {
    if (r.level == "town" && r.n > 0 && !std::isnan(r.estimate)) previous_share[r.area_code] = &r;
  }
  std::vector<SmallAreaTown> towns;
  towns.reserve(town_codes.size());
  for (std::size_t i = 0; i < town_codes.size(); ++i) {
    SmallAreaTown t;
    t.area_code = town_codes[i];
    if (const auto c = county_share.find(county_of[i]); c != county_share.end())
      t.county_estimate = c->second;
    if (const auto p = previous_share.find(t.area_code); p != previous_share.end()) {
      t.prev_estimate = p->second->estimate;
      t.prev_n_eff = p->second->n_eff;
    }
    if (const auto r = town_rows.find(t.area_code);
        r != town_rows.end() && r->second->n > 0 && !std::isnan(r->second->estimate)) {
      t.n = r->second->n;
      t.n_eff = r->second->n_eff;
      t.estimate = r->second->estimate;
      t.se = r->second->se;
    }
    towns.push_back(std::move(t));
  }
  return towns;
}

}  // namespace minyi::aggregator
