#include "aggregator/small_area.h"

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <map>
#include <utility>

#include "aggregator/estimate.h"

namespace minyi::aggregator {
namespace {

constexpr double kHalfPi = 1.5707963267948966;

using Eigen::Index;
using Eigen::MatrixXd;
using Eigen::VectorXd;

double ArcsineRoot(double p) { return std::asin(std::sqrt(std::clamp(p, 0.0, 1.0))); }
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

RemlAt EvaluateReml(const MatrixXd& x, const VectorXd& y, const VectorXd& psi, double a) {
  RemlAt out;
  const VectorXd w = (psi.array() + a).inverse().matrix();
  const MatrixXd wx = w.asDiagonal() * x;
  const MatrixXd m = x.transpose() * wx;
  Eigen::LDLT<MatrixXd> ldlt(m);
  if (ldlt.info() != Eigen::Success || !ldlt.isPositive()) return out;
  out.m_inv = ldlt.solve(MatrixXd::Identity(m.rows(), m.cols()));
  out.beta = out.m_inv * (wx.transpose() * y);
  const VectorXd r = y - x * out.beta;
  const VectorXd w2 = w.array().square().matrix();
  const MatrixXd xw2x = x.transpose() * w2.asDiagonal() * x;
  const MatrixXd xw3x = x.transpose() * (w2.array() * w.array()).matrix().asDiagonal() * x;
  const MatrixXd q = out.m_inv * xw2x;
  const double trace_p = w.sum() - q.trace();
  const double trace_p2 = w2.sum() - 2 * (out.m_inv * xw3x).trace() + (q * q).trace();
  const double py2 = (w.array() * r.array()).square().sum();
  out.score = -0.5 * trace_p + 0.5 * py2;
  out.information = 0.5 * trace_p2;
  out.loglik = -0.5 * (psi.array() + a).log().sum() - 0.5 * std::log(ldlt.vectorD().prod()) -
               0.5 * (r.array().square() * w.array()).sum();
  out.ok = std::isfinite(out.score) && std::isfinite(out.information) && out.information > 0;
  return out;
}

// σ̂²ᵤ by Fisher scoring from a moment start, truncated at 0 (as metafor::rma(method = "REML")).
// Returns false when it does not converge.
bool FisherScoring(const MatrixXd& x, const VectorXd& y, const VectorXd& psi, const SmallAreaOptions& options,
                   double* a, int* iterations) {
  const MatrixXd ols = x.colPivHouseholderQr().solve(y);
  const VectorXd r = y - x * ols;
  const double m = static_cast<double>(x.rows());
  const double p = static_cast<double>(x.cols());
  *a = std::max(0.0, r.squaredNorm() / (m - p) - psi.mean());
  for (*iterations = 1; *iterations <= options.max_iterations; ++*iterations) {
    const RemlAt at = EvaluateReml(x, y, psi, *a);
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

// The (n − 1)-weighted mean of v̂_i / (p̂_i (1 − p̂_i) / n_eff,i) over towns where it is defined.
double FitGvf(const std::vector<SmallAreaTown>& towns) {
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
  fit.towns_out.assign(towns.size(), SmallAreaEstimate{});
  for (std::size_t i = 0; i < towns.size(); ++i) {
    if (towns[i].n == 0) continue;
    fit.towns_out[i].method = SmallAreaMethod::kDirect;
    fit.towns_out[i].estimate = towns[i].estimate;
    fit.towns_out[i].se = towns[i].se;
  }
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

}  // namespace

std::string_view SmallAreaMethodName(SmallAreaMethod method) {
  switch (method) {
    case SmallAreaMethod::kEblup:
      return "eblup";
    case SmallAreaMethod::kSynthetic:
      return "synthetic";
    case SmallAreaMethod::kDirect:
      return "direct";
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
  fit.gvf_gamma = FitGvf(towns);
  if (!std::isfinite(fit.gvf_gamma) || !(fit.gvf_gamma > 0)) {
    return NotUsed(towns, std::move(fit), "no town to fit the variance function");
  }

  // The full design, then the columns a rank-revealing QR keeps (in their original order).
  std::vector<int> candidates = {0, 1};
  if (any_prev) candidates.push_back(2);
  if (any_prev && any_missing) candidates.push_back(3);
  const Index m = static_cast<Index>(sampled.size());
  MatrixXd full(m, static_cast<Index>(candidates.size()));
  VectorXd y(m);
  VectorXd psi(m);
  for (Index r = 0; r < m; ++r) {
    const SmallAreaTown& t = towns[sampled[static_cast<std::size_t>(r)]];
    VectorXd row;
    DesignRow(t, candidates, true, &row);
    full.row(r) = row.transpose();
    y(r) = ArcsineRoot(t.estimate);
    psi(r) = fit.gvf_gamma / (4 * t.n_eff);
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
  if (m < x.cols() + 10) return NotUsed(towns, std::move(fit), "fewer towns than columns + 10");

  double a = 0;
  if (!FisherScoring(x, y, psi, options, &a, &fit.iterations) && !GoldenSection(x, y, psi, &a)) {
    return NotUsed(towns, std::move(fit), "REML did not converge");
  }
  fit.sigma2u = a;
  if (!(a > 0)) return NotUsed(towns, std::move(fit), "REML estimate of sigma2u is 0");
  const RemlAt at = EvaluateReml(x, y, psi, a);
  if (!at.ok) return NotUsed(towns, std::move(fit), "REML did not converge");
  fit.used = true;
  fit.beta.assign(at.beta.data(), at.beta.data() + at.beta.size());
  fit.restricted_loglik = at.loglik;

  // Prasad–Rao MSE for REML (Datta & Lahiri 2000): g3's V̄(σ̂²ᵤ) = 2 / Σ (σ̂²ᵤ + ψ_j)⁻².
  const double var_a = 2 / (psi.array() + a).square().inverse().sum();
  fit.towns_out.assign(towns.size(), SmallAreaEstimate{});
  for (std::size_t i = 0; i < towns.size(); ++i) {
    const SmallAreaTown& t = towns[i];
    SmallAreaEstimate& out = fit.towns_out[i];
    VectorXd row;
    if (!DesignRow(t, kept, has_missing_column, &row)) continue;  // kNone
    const double synthetic = row.dot(at.beta);
    const double leverage = row.dot(at.m_inv * row);
    if (t.n == 0) {
      out.method = SmallAreaMethod::kSynthetic;
      SetBackTransformed(synthetic, a + leverage, &out);
      continue;
    }
    out.method = SmallAreaMethod::kEblup;
    out.direct_theta = ArcsineRoot(t.estimate);
    out.psi = fit.gvf_gamma / (4 * t.n_eff);
    out.shrinkage = out.psi / (a + out.psi);
    out.std_residual = (out.direct_theta - synthetic) / std::sqrt(a + out.psi);
    const double g1 = a * out.shrinkage;
    const double g2 = out.shrinkage * out.shrinkage * leverage;
    const double g3 = out.psi * out.psi / std::pow(a + out.psi, 3) * var_a;
    SetBackTransformed(out.direct_theta - out.shrinkage * (out.direct_theta - synthetic), g1 + g2 + 2 * g3,
                       &out);
  }
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
  std::map<std::string, double> previous_share;
  for (const IndexRow& r : previous) {
    if (r.level == "town" && r.n > 0 && !std::isnan(r.estimate)) previous_share[r.area_code] = r.estimate;
  }
  std::vector<SmallAreaTown> towns;
  towns.reserve(town_codes.size());
  for (std::size_t i = 0; i < town_codes.size(); ++i) {
    SmallAreaTown t;
    t.area_code = town_codes[i];
    if (const auto c = county_share.find(county_of[i]); c != county_share.end())
      t.county_estimate = c->second;
    if (const auto p = previous_share.find(t.area_code); p != previous_share.end())
      t.prev_estimate = p->second;
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
