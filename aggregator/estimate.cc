#include "aggregator/estimate.h"

#include <algorithm>
#include <boost/math/distributions/students_t.hpp>
#include <cmath>

namespace minyi::aggregator {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Solves M θ = r for a symmetric positive semi-definite M by Cholesky factorisation with diagonal
// pivoting (Higham, "Accuracy and Stability of Numerical Algorithms", §10.3). A column whose remaining
// pivot falls below 1e-12 of its own diagonal is linearly dependent on the chosen ones (sex and age
// indicators both sum to the town indicator) and is dropped: θ is 0 there. The result is a
// generalised-inverse solution, and the fitted values Xθ are the unique projection, as R's
// qr.resid(qr(√d X), √d u) gives with its pivoting.
class PsdSolver {
 public:
  explicit PsdSolver(std::vector<double> m, std::size_t p) : p_(p), a_(std::move(m)), perm_(p) {
    for (std::size_t i = 0; i < p_; ++i) perm_[i] = i;
    std::vector<double> orig(p_);
    for (std::size_t i = 0; i < p_; ++i) orig[i] = a_[i * p_ + i];
    for (std::size_t k = 0; k < p_; ++k) {
      std::size_t best = p_;
      double best_ratio = 0;
      for (std::size_t i = k; i < p_; ++i) {
        const double o = orig[perm_[i]];
        const double ratio = o > 0 ? a_[i * p_ + i] / o : 0.0;
        if (ratio > 1e-12 && ratio > best_ratio) {
          best_ratio = ratio;
          best = i;
        }
      }
      if (best == p_) break;
      Swap(k, best);
      const double pivot = std::sqrt(a_[k * p_ + k]);
      a_[k * p_ + k] = pivot;
      for (std::size_t i = k + 1; i < p_; ++i) a_[i * p_ + k] /= pivot;
      for (std::size_t i = k + 1; i < p_; ++i) {
        for (std::size_t j = k + 1; j <= i; ++j) {
          a_[i * p_ + j] -= a_[i * p_ + k] * a_[j * p_ + k];
          a_[j * p_ + i] = a_[i * p_ + j];
        }
      }
      rank_ = k + 1;
    }
  }

  // θ for right-hand side r (size p).
  void Solve(const double* r, double* theta) const {
    std::vector<double> y(rank_);
    for (std::size_t i = 0; i < rank_; ++i) {
      double s = r[perm_[i]];
      for (std::size_t j = 0; j < i; ++j) s -= a_[i * p_ + j] * y[j];
      y[i] = s / a_[i * p_ + i];
    }
    for (std::size_t i = rank_; i-- > 0;) {
      double s = y[i];
      for (std::size_t j = i + 1; j < rank_; ++j) s -= a_[j * p_ + i] * y[j];
      y[i] = s / a_[i * p_ + i];
    }
    for (std::size_t i = 0; i < p_; ++i) theta[i] = 0;
    for (std::size_t i = 0; i < rank_; ++i) theta[perm_[i]] = y[i];
  }

  std::size_t rank() const { return rank_; }

 private:
  void Swap(std::size_t x, std::size_t y) {
    if (x == y) return;
    for (std::size_t j = 0; j < p_; ++j) std::swap(a_[x * p_ + j], a_[y * p_ + j]);
    for (std::size_t i = 0; i < p_; ++i) std::swap(a_[i * p_ + x], a_[i * p_ + y]);
    std::swap(perm_[x], perm_[y]);
  }

  std::size_t p_;
  std::vector<double> a_;
  std::vector<std::size_t> perm_;
  std::size_t rank_ = 0;
};

// splitmix64's finaliser (Steele, Lea & Flood 2014): spreads a town's hash before the order-free sum.
std::uint64_t Mix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

std::uint64_t Fnv1a(std::string_view s) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ULL;
  }
  return h;
}

double Expit(double x) {
  if (x >= 0) return 1.0 / (1.0 + std::exp(-x));
  const double e = std::exp(x);
  return e / (1.0 + e);
}

// The calibration cross cells of a town: c1 cells of factor 1 times max(c2, 1) of factor 2.
struct CalibrationCells {
  explicit CalibrationCells(const TownWeighting& tw)
      : c1(static_cast<std::size_t>(tw.cells1)),
        c2(static_cast<std::size_t>(tw.cells2)),
        a_stride(std::max<std::size_t>(c2, 1)),
        cells(c1 * a_stride) {}
  std::size_t Of(std::int16_t cell1, std::int16_t cell2) const {
    return static_cast<std::size_t>(cell1) * a_stride + (c2 > 0 ? static_cast<std::size_t>(cell2) : 0);
  }
  std::size_t c1;
  std::size_t c2;
  std::size_t a_stride;
  std::size_t cells;
};

// The fitted values x_iᵀB̂ of every right-hand side at every calibration cell, [j * cells + cell]:
// B̂ solves the d-weighted normal equations of the town's calibration cells (c1 cells of factor 1,
// c2 of factor 2, cells = c1 · max(c2, 1) cross cells) from the cross cells' Σd (`d_sum`) and, per
// right-hand side j, Σ d·u (`r_sum`, [j * cells + cell]).
std::vector<double> FittedValues(const std::vector<double>& d_sum, const std::vector<double>& r_sum,
                                 std::size_t c1, std::size_t c2, std::size_t rhs_count) {
  const std::size_t a_stride = std::max<std::size_t>(c2, 1);
  const std::size_t cells = c1 * a_stride;
  std::vector<double> fitted(rhs_count * cells, 0.0);
  const std::size_t p = c1 + c2;
  std::vector<double> m(p * p, 0.0);
  for (std::size_t s = 0; s < c1; ++s) {
    for (std::size_t a = 0; a < a_stride; ++a) {
      const double v = d_sum[s * a_stride + a];
      m[s * p + s] += v;
      if (c2 > 0) {
        m[(c1 + a) * p + (c1 + a)] += v;
        m[s * p + (c1 + a)] += v;
        m[(c1 + a) * p + s] += v;
      }
    }
  }
  const PsdSolver solver(std::move(m), p);
  std::vector<double> rhs(p);
  std::vector<double> theta(p);
  for (std::size_t j = 0; j < rhs_count; ++j) {
    std::fill(rhs.begin(), rhs.end(), 0.0);
    const double* r = &r_sum[j * cells];
    for (std::size_t s = 0; s < c1; ++s) {
      for (std::size_t a = 0; a < a_stride; ++a) {
        rhs[s] += r[s * a_stride + a];
        if (c2 > 0) rhs[c1 + a] += r[s * a_stride + a];
      }
    }
    solver.Solve(rhs.data(), theta.data());
    for (std::size_t s = 0; s < c1; ++s) {
      for (std::size_t a = 0; a < a_stride; ++a) {
        fitted[j * cells + s * a_stride + a] = theta[s] + (c2 > 0 ? theta[c1 + a] : 0.0);
      }
    }
  }
  return fitted;
}

// Index k's fitted values of b, a = b·y and a = b·s at calibration cell c (0 without calibration).
struct Fitted3 {
  double b = 0;
  double y = 0;
  double s = 0;
};
Fitted3 FittedAt(const std::vector<double>& fitted, std::size_t cells, std::size_t k, std::size_t c) {
  if (cells == 0) return {};
  return {fitted[(3 * k) * cells + c], fitted[(3 * k + 1) * cells + c], fitted[(3 * k + 2) * cells + c]};
}

// The stratum's quadratic from its sums of α, β (see estimate.h).
void AddStratumQuadratic(double n_h, double s_a, double s_aa, double s_ab, double s_b, double s_bb,
                         VarianceQuadratic* q) {
  if (n_h > 1) {
    const double f = n_h / (n_h - 1);
    q->c0.Add(f * (s_aa - s_a * s_a / n_h));
    q->c1.Add(f * (-2 * s_ab + 2 * s_a * s_b / n_h));
    q->c2.Add(f * (s_bb - s_b * s_b / n_h));
  } else {
    q->c0.Add(s_aa);
    q->c1.Add(-2 * s_ab);
    q->c2.Add(s_bb);
  }
}

// Per index of one town: the α/β sums of the variance quadratic and the domain sums, then the counts.
constexpr std::size_t kSums = 13;
enum : std::size_t { kB, kBB, kA1, kA1A1, kA1B, kA2, kA2A2, kA2B, kW, kW2, kWY, kWS, kWS2 };
struct TownSumsOfIndices {
  explicit TownSumsOfIndices(std::size_t k_count)
      : sums(kSums * k_count),
        n(k_count, 0),
        n_positive(k_count, 0),
        score_min(k_count, std::numeric_limits<double>::infinity()),
        score_max(k_count, -std::numeric_limits<double>::infinity()) {}
  // Compensated (Neumaier) sums, not Boost.Accumulators' sum_kahan: that one returns its running sum
  // without the final correction and loses an addend larger than the sum so far, and a town state
  // must hand its correction on to the roll-ups (compensated_sum.h).
  std::vector<CompensatedSum> sums;  // [k * kSums + which]
  std::vector<std::int64_t> n;
  std::vector<std::int64_t> n_positive;
  std::vector<double> score_min;
  std::vector<double> score_max;
};

// The town's AreaState from its sums (the end of Update).
AreaState FinishTown(const TownSumsOfIndices& t, std::int64_t respondents, std::int64_t weighted,
                     Weighting method, std::uint64_t response_hash, std::string_view code) {
  const std::size_t k_count = t.n.size();
  AreaState state;
  state.respondents = respondents;
  state.weighted_respondents = weighted;
  state.strata = weighted > 0 ? 1 : 0;
  state.lonely_strata = state.respondents == 1 ? 1 : 0;
  state.weighting_mask = 1U << static_cast<unsigned>(method);
  state.response_hash = Mix64(response_hash ^ Fnv1a(code));
  state.indices.resize(k_count);
  const double n_h = static_cast<double>(state.respondents);
  for (std::size_t k = 0; k < k_count; ++k) {
    const CompensatedSum* acc_k = &t.sums[k * kSums];
    auto v = [&](std::size_t which) { return acc_k[which].value(); };
    DomainState& ds = state.indices[k];
    ds.n = t.n[k];
    ds.n_positive = t.n_positive[k];
    ds.sum_w = acc_k[kW];
    ds.sum_w2 = acc_k[kW2];
    ds.sum_w_positive = acc_k[kWY];
    ds.sum_w_score = acc_k[kWS];
    ds.sum_w_score2 = acc_k[kWS2];
    ds.score_min = t.score_min[k];
    ds.score_max = t.score_max[k];
    AddStratumQuadratic(n_h, v(kA1), v(kA1A1), v(kA1B), v(kB), v(kBB), &ds.share_variance);
    AddStratumQuadratic(n_h, v(kA2), v(kA2A2), v(kA2B), v(kB), v(kBB), &ds.score_variance);
  }
  return state;
}

}  // namespace

void DomainState::Combine(const DomainState& other) {
  n += other.n;
  n_positive += other.n_positive;
  sum_w.Combine(other.sum_w);
  sum_w2.Combine(other.sum_w2);
  sum_w_positive.Combine(other.sum_w_positive);
  sum_w_score.Combine(other.sum_w_score);
  sum_w_score2.Combine(other.sum_w_score2);
  score_min = std::min(score_min, other.score_min);
  score_max = std::max(score_max, other.score_max);
  share_variance.Combine(other.share_variance);
  score_variance.Combine(other.score_variance);
}

void AreaState::Combine(const AreaState& other) {
  respondents += other.respondents;
  weighted_respondents += other.weighted_respondents;
  strata += other.strata;
  lonely_strata += other.lonely_strata;
  weighting_mask |= other.weighting_mask;
  response_hash += other.response_hash;
  if (indices.size() < other.indices.size()) indices.resize(other.indices.size());
  for (std::size_t k = 0; k < other.indices.size(); ++k) indices[k].Combine(other.indices[k]);
}

AreaState TownUpdate(const PeriodData& data, const PeriodWeights& weights, std::size_t town_index) {
  const TownData& town = data.towns[town_index];
  const TownWeighting& tw = weights.towns[town_index];
  const std::size_t k_count = data.index_count();
  const CalibrationCells geometry(tw);
  const std::size_t cells = geometry.cells;
  const std::size_t rhs_count = 3 * k_count;  // per index: b (domain), a = b·y (share), a = b·s (score)
  const std::uint8_t* positive = data.positive.data();
  const double* score = data.score.data();
  const double* w = weights.w.data();
  auto cell_of = [&](std::uint32_t i) { return geometry.Of(weights.cell1[i], weights.cell2[i]); };

  // Fitted values x_iᵀB̂ per calibration cell and right-hand side (B̂ from the base weights d_i).
  std::vector<double> fitted;
  if (cells > 0) {
    std::vector<double> d_sum(cells, 0.0);
    std::vector<double> r_sum(rhs_count * cells, 0.0);
    for (std::uint32_t i = town.begin; i < town.end; ++i) {
      const std::size_t c = cell_of(i);
      const double d = data.base_weight[i];
      d_sum[c] += d;
      if (d == 0 || !(w[i] > 0)) continue;
      for (std::size_t k = 0; k < k_count; ++k) {
        const std::uint8_t y = positive[i * k_count + k];
        if (y == kOutOfDomain) continue;
        r_sum[(3 * k) * cells + c] += d;
        r_sum[(3 * k + 1) * cells + c] += d * y;
        r_sum[(3 * k + 2) * cells + c] += d * score[i * k_count + k];
      }
    }
    fitted = FittedValues(d_sum, r_sum, geometry.c1, geometry.c2, rhs_count);
  }

  // One pass: the α/β sums of the variance quadratic and the domain sums (compensated).
  TownSumsOfIndices t(k_count);
  std::vector<CompensatedSum>& sums = t.sums;
  std::vector<std::int64_t>& n = t.n;
  std::vector<std::int64_t>& n_positive = t.n_positive;
  std::vector<double>& score_min = t.score_min;
  std::vector<double>& score_max = t.score_max;
  std::int64_t weighted = 0;
  for (std::uint32_t i = town.begin; i < town.end; ++i) {
    const double wi = w[i];
    if (!(wi > 0)) continue;  // z_i = 0 and outside every domain; still counted in n_h below
    ++weighted;
    const std::size_t c = cells > 0 ? cell_of(i) : 0;
    for (std::size_t k = 0; k < k_count; ++k) {
      const std::uint8_t y = positive[i * k_count + k];
      const bool in_domain = y != kOutOfDomain;
      const double b = in_domain ? 1.0 : 0.0;
      const double a1 = in_domain ? static_cast<double>(y) : 0.0;
      const double s = in_domain ? score[i * k_count + k] : 0.0;
      const auto [fb, fa1, fa2] = FittedAt(fitted, cells, k, c);
      const double beta = wi * (b - fb);
      const double alpha1 = wi * (a1 - fa1);
      const double alpha2 = wi * (s - fa2);
      CompensatedSum* acc_k = &sums[k * kSums];
      acc_k[kB].Add(beta);
      acc_k[kBB].Add(beta * beta);
      acc_k[kA1].Add(alpha1);
      acc_k[kA1A1].Add(alpha1 * alpha1);
      acc_k[kA1B].Add(alpha1 * beta);
      acc_k[kA2].Add(alpha2);
      acc_k[kA2A2].Add(alpha2 * alpha2);
      acc_k[kA2B].Add(alpha2 * beta);
      if (in_domain) {
        ++n[k];
        n_positive[k] += y;
        acc_k[kW].Add(wi);
        acc_k[kW2].Add(wi * wi);
        acc_k[kWY].Add(wi * a1);
        acc_k[kWS].Add(wi * s);
        acc_k[kWS2].Add(wi * s * s);
        score_min[k] = std::min(score_min[k], s);
        score_max[k] = std::max(score_max[k], s);
      }
    }
  }

  return FinishTown(t, static_cast<std::int64_t>(town.end - town.begin), weighted, tw.method,
                    town.response_hash, town.code);
}

AreaState TownUpdateFromCells(const TownSums& sums, const CellWeights& weights, std::size_t k_count) {
  const TownWeighting& tw = weights.town;
  const CalibrationCells geometry(tw);
  const std::size_t cells = geometry.cells;
  const std::size_t rhs_count = 3 * k_count;
  const std::size_t g_count = weights.cells.size();
  auto cell_of = [&](std::size_t g) { return geometry.Of(weights.cell1[g], weights.cell2[g]); };

  std::vector<double> fitted;
  if (cells > 0) {
    std::vector<double> d_sum(cells, 0.0);
    std::vector<double> r_sum(rhs_count * cells, 0.0);
    for (std::size_t g = 0; g < g_count; ++g) {
      const CellSums& cell = *weights.cells[g];
      const std::size_t c = cell_of(g);
      d_sum[c] += cell.d.value();
      if (!(weights.multiplier[g] > 0)) continue;
      for (std::size_t k = 0; k < k_count; ++k) {
        const CellIndexSums& x = cell.indices[k];
        r_sum[(3 * k) * cells + c] += x.d.value();
        r_sum[(3 * k + 1) * cells + c] += x.d_y.value();
        r_sum[(3 * k + 2) * cells + c] += x.d_s.value();
      }
    }
    fitted = FittedValues(d_sum, r_sum, geometry.c1, geometry.c2, rhs_count);
  }

  // The sums of TownUpdate, cell by cell and class by class (town_sums.h).
  TownSumsOfIndices t(k_count);
  std::int64_t weighted = 0;
  for (std::size_t g = 0; g < g_count; ++g) {
    const CellSums& cell = *weights.cells[g];
    const double m = weights.multiplier[g];
    if (!(m > 0) || cell.weighted == 0) continue;
    weighted += cell.weighted;
    const double m2 = m * m;
    const std::size_t c = cells > 0 ? cell_of(g) : 0;
    for (std::size_t k = 0; k < k_count; ++k) {
      const CellIndexSums& x = cell.indices[k];
      const auto [fb, fy, fs] = FittedAt(fitted, cells, k, c);
      const double in_d = x.d.value();
      const double y0 = x.d2_y0.value();
      const double y1 = x.d2_y1.value();
      const double out_d = x.out_d.value();
      const double out_d2 = x.out_d2.value();
      const double rb = 1 - fb;  // b − f_b in the domain; −f_b outside
      CompensatedSum* acc_k = &t.sums[k * kSums];
      acc_k[kB].Add(m * (rb * in_d - fb * out_d));
      acc_k[kBB].Add(m2 * (rb * rb * (y0 + y1) + fb * fb * out_d2));
      acc_k[kA1].Add(m * (x.d_y.value() - fy * in_d - fy * out_d));
      acc_k[kA1A1].Add(m2 * ((1 - fy) * (1 - fy) * y1 + fy * fy * y0 + fy * fy * out_d2));
      acc_k[kA1B].Add(m2 * ((1 - fy) * rb * y1 - fy * rb * y0 + fy * fb * out_d2));
      const double mean_residual = x.s_mean - fs;
      acc_k[kA2].Add(m * (x.d_s.value() - fs * in_d - fs * out_d));
      acc_k[kA2A2].Add(m2 * (x.s_m2 + x.s_weight * mean_residual * mean_residual + fs * fs * out_d2));
      acc_k[kA2B].Add(m2 * (rb * x.s_weight * mean_residual + fs * fb * out_d2));
      if (x.n > 0) {
        t.n[k] += x.n;
        t.n_positive[k] += x.n_positive;
        acc_k[kW].Add(m * in_d);
        acc_k[kW2].Add(m2 * (y0 + y1));
        acc_k[kWY].Add(m * x.d_y.value());
        acc_k[kWS].Add(m * x.d_s.value());
        acc_k[kWS2].Add(m * x.d_s2.value());
        t.score_min[k] = std::min(t.score_min[k], x.score_min);
        t.score_max[k] = std::max(t.score_max[k], x.score_max);
      }
    }
  }
  return FinishTown(t, sums.respondents, weighted, tw.method, sums.response_hash, sums.code);
}

std::string_view CiMethodName(CiMethod method) {
  switch (method) {
    case CiMethod::kLogit:
      return "logit";
    case CiMethod::kExactNeff:
      return "exact-neff";
    case CiMethod::kNone:
      return "none";
  }
  return "none";
}

double StudentT975(double df) {
  if (!(df >= 1) || !std::isfinite(df)) return kNaN;
  const boost::math::students_t_distribution<double> dist(df);
  return boost::math::quantile(dist, 0.975);
}

void ExactNeffInterval(bool all_positive, double n_eff, double* low, double* high) {
  const double bound = std::pow(0.025, 1.0 / n_eff);
  if (all_positive) {
    *low = bound;
    *high = 1.0;
  } else {
    *low = 0.0;
    *high = 1.0 - bound;
  }
}

void LogitInterval(double p, double se, double df, double* low, double* high) {
  const double eta = std::log(p / (1 - p));
  const double half = StudentT975(df) * se / (p * (1 - p));
  *low = Expit(eta - half);
  *high = Expit(eta + half);
}

Estimate Finalize(const AreaState& state, std::size_t k, const IndexSpec& spec) {
  Estimate e;
  const DomainState& ds = state.indices[k];
  e.n = ds.n;
  e.low_n = ds.n < spec.min_n;
  e.df = state.weighted_respondents - state.strata;
  const double w = ds.sum_w.value();
  e.sum_w = w;
  if (ds.n == 0 || !(w > 0)) return e;
  e.n_eff = w * w / ds.sum_w2.value();
  const double w2 = w * w;

  if (spec.has_share) {
    if (ds.n_positive == ds.n || ds.n_positive == 0) {
      // Decided by counts, never by the computed ratio (docs/methodology.md §4.7).
      const bool all = ds.n_positive == ds.n;
      e.estimate = all ? 1.0 : 0.0;
      e.se = 0.0;
      ExactNeffInterval(all, e.n_eff, &e.ci_low, &e.ci_high);
      e.ci_method = CiMethod::kExactNeff;
    } else {
      const double p = ds.sum_w_positive.value() / w;
      e.estimate = p;
      e.se = std::sqrt(std::max(0.0, ds.share_variance.At(p)) / w2);
      if (e.df > 0) {
        LogitInterval(p, e.se, static_cast<double>(e.df), &e.ci_low, &e.ci_high);
        e.ci_method = CiMethod::kLogit;
      }
    }
  }

  if (ds.score_min == ds.score_max) {
    // Every answer has the same score: the mean is exact and has no variance; deff is undefined.
    e.score = ds.score_min;
    e.score_se = 0.0;
    e.score_ci_low = e.score;
    e.score_ci_high = e.score;
  } else {
    const double m = ds.sum_w_score.value() / w;
    e.score = m;
    const double v = std::max(0.0, ds.score_variance.At(m)) / w2;
    e.score_se = std::sqrt(v);
    e.score_ci_low = m - kZ975 * e.score_se;
    e.score_ci_high = m + kZ975 * e.score_se;
    // R svymean(deff = TRUE): V̂ / ((1 − n/N̂) S_w² / n), S_w² = n/(n−1) Σ w (y − ŷ)² / Σ w; NA when N̂ < n.
    const double nd = static_cast<double>(ds.n);
    if (ds.n > 1 && w >= nd) {
      const double ss = std::max(0.0, ds.sum_w_score2.value() - m * ds.sum_w_score.value());
      const double s2 = nd / (nd - 1) * ss / w;
      const double v_srs = (1 - nd / w) * s2 / nd;
      if (v_srs > 0) e.deff = v / v_srs;
    }
  }
  return e;
}

}  // namespace minyi::aggregator
