# The small-area golden suites' generalized variance function (as aggregator/small_area.h SmallAreaGvf): gamma is
# the (n - 1)-weighted mean of se^2 / (p (1 - p) / n_eff) over towns with n >= 2, 0 < p < 1 and se > 0.
# Sourced by small_area/make_expected.R and small_area_binomial/make_expected.R.
gvf_gamma <- function(d) {
  g <- subset(d, n >= 2 & estimate > 0 & estimate < 1 & se > 0)
  sum((g$n - 1) * g$se^2 / (g$estimate * (1 - g$estimate) / g$n_eff)) / sum(g$n - 1)
}
