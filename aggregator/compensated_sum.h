// A mergeable compensated sum (Neumaier's improvement of Kahan summation): the running sum plus the
// low-order bits lost so far. Two partial sums combine without losing those bits, which is what makes
// town states mergeable into county, city and province states with results that do not depend (beyond
// ~1 ulp) on the order of combination.
//
// Reference: A. Neumaier (1974), "Rundungsfehleranalyse einiger Verfahren zur Summation endlicher
// Summen", ZAMM 54:39–51. Plain value type; not synchronised.
#pragma once

#include <cmath>

namespace minyi::aggregator {

class CompensatedSum {
 public:
  CompensatedSum() = default;
  explicit CompensatedSum(double value) : sum_(value) {}

  void Add(double x) {
    const double t = sum_ + x;
    if (std::fabs(sum_) >= std::fabs(x)) {
      compensation_ += (sum_ - t) + x;
    } else {
      compensation_ += (x - t) + sum_;
    }
    sum_ = t;
  }

  void Combine(const CompensatedSum& other) {
    Add(other.sum_);
    compensation_ += other.compensation_;
  }

  double value() const { return sum_ + compensation_; }

 private:
  double sum_ = 0;
  double compensation_ = 0;
};

}  // namespace minyi::aggregator
