#!/usr/bin/env Rscript
# The binomial small-area golden figures from R, written independently of the C++ code
# (aggregator/small_area_binomial.h; docs/small_area.md, "Binomial logit-normal model"):
#   Rscript make_expected.R [OUTDIR]     writes OUTDIR/fit.csv and OUTDIR/expected.csv (default: this folder)
# The two-level marginal likelihood by nested integrate() (adaptive Gauss-Kronrod, relative tolerance 1e-10;
# the C++ code uses adaptive Gauss-Hermite), maximised by nlminb over (beta, sigma_v,
# sigma_u) unconstrained (the likelihood is even in each sigma: the estimates are |sigma|) with a
# central-difference gradient (step 1e-3: nlminb's own forward differences of step ~1e-8 would amplify the
# integrals' 1e-10 error), and the posterior mean and SD of p for a few towns by the same nested integrals.
args <- commandArgs(trailingOnly = TRUE)
script_dir <- dirname(sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE)))
out_dir <- if (length(args) >= 1) args[1] else script_dir
d <- read.csv(file.path(script_dir, "data.csv"), stringsAsFactors = FALSE)

# Generalized variance function (as small_area.h): k = n_eff / gamma effective trials, x = p k successes.
source(file.path(script_dir, "..", "small_area_gvf.R"))
gamma <- gvf_gamma(d)
d$k <- ifelse(d$n > 0, d$n_eff / gamma, 0)
d$x <- ifelse(d$n > 0, d$estimate * d$k, 0)

tol <- 1e-10
integral <- function(f) integrate(f, -12, 12, rel.tol = tol, abs.tol = 0, subdivisions = 2000L)$value
# Binomial kernel x log p + (k - x) log(1 - p) at logit p = eta.
kern <- function(eta, x, k) x * plogis(eta, log.p = TRUE) + (k - x) * plogis(eta, lower.tail = FALSE, log.p = TRUE)
# For each mu: the integral over u of phi(u) f(x | mu + su u) h(mu + su u).
inner <- function(mu, su, x, k, h = function(eta) 1) {
  sapply(mu, function(m) integral(function(u) dnorm(u) * exp(kern(m + su * u, x, k)) * h(m + su * u)))
}
# For each v: the product over the county's towns (other than `skip`) of their inner integrals.
county_product <- function(v, th, rows, skip = "") {
  out <- dnorm(v)
  for (r in seq_len(nrow(rows))) {
    if (rows$n[r] > 0 && rows$town[r] != skip) out <- out * inner(th[1] + th[2] * v, th[3], rows$x[r], rows$k[r])
  }
  out
}
counties <- split(d, d$county)
loglik <- function(th) {
  sum(sapply(counties, function(rows) if (any(rows$n > 0)) log(integral(function(v) county_product(v, th, rows))) else 0))
}
objective <- function(th) -loglik(th)
gradient <- function(th) {
  sapply(1:3, function(j) {
    e <- replace(numeric(3), j, 1e-3)
    (objective(th + e) - objective(th - e)) / 2e-3
  })
}
opt <- nlminb(c(3, 0.5, 0.5), objective, gradient,
              control = list(rel.tol = 1e-15, x.tol = 1e-12, eval.max = 500, iter.max = 300))
th <- c(opt$par[1], abs(opt$par[2:3]))
fit <- data.frame(gamma = gamma, beta = th[1], sigma_v = th[2], sigma_u = th[3], loglik = -opt$objective,
                  convergence = opt$convergence, message = gsub(",", ";", opt$message))

# Posterior mean and SD of p: E[h] = int phi(v) prod_{j != i} I_j(v) int phi(u) f_i(u, v) h du dv / same with h = 1
# (f_i = 1 for a town without respondents).
posterior <- function(town) {
  row <- d[d$town == town, ]
  rows <- d[d$county == row$county, ]
  moment <- function(h) integral(function(v) {
    county_product(v, th, rows, skip = town) * inner(th[1] + th[2] * v, th[3], row$x, row$k, h)
  })
  mass <- moment(function(eta) 1)
  mean <- moment(plogis) / mass
  second <- moment(function(eta) plogis(eta)^2) / mass
  data.frame(town = town, estimate = mean, se = sqrt(second - mean^2))
}
expected <- do.call(rbind, lapply(c("T000", "T001", "T002", "T104", "T205", "T300"), posterior))
write.csv(format(fit, digits = 15), file.path(out_dir, "fit.csv"), row.names = FALSE, quote = FALSE)
write.csv(format(expected, digits = 15), file.path(out_dir, "expected.csv"), row.names = FALSE, quote = FALSE)
