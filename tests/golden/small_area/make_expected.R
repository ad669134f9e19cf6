#!/usr/bin/env Rscript
# The small-area golden figures from R, written independently of the C++ code (docs/small_area.md):
#   Rscript make_expected.R [OUTDIR]     writes OUTDIR/fit.csv and OUTDIR/expected.csv (default: this folder)
# The Fay-Herriot REML fit is metafor::rma(yi, vi, mods, method = "REML"): beta, sigma2_u (tau2) and the
# EBLUPs (blup()) are the Fay-Herriot model's; the Prasad-Rao MSE for the REML estimator (Datta & Lahiri
# 2000) and the synthetic estimate of towns without respondents are written out below.
suppressPackageStartupMessages(library(metafor))
args <- commandArgs(trailingOnly = TRUE)
script_dir <- dirname(sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE)))
out_dir <- if (length(args) >= 1) args[1] else script_dir
d <- read.csv(file.path(script_dir, "data.csv"), stringsAsFactors = FALSE)

# Generalized variance function: gamma = (n-1)-weighted mean of se^2 / (p (1-p) / n_eff).
source(file.path(script_dir, "..", "small_area_gvf.R"))
gamma <- gvf_gamma(d)

asr <- function(p) asin(sqrt(p))
d$county_t <- asr(d$county_estimate)
d$prev_missing <- as.numeric(is.na(d$prev_estimate))
d$prev_t <- ifelse(is.na(d$prev_estimate), 0, asr(d$prev_estimate))
s <- d[d$n > 0, ]
s$yi <- asr(s$estimate)
s$vi <- gamma / (4 * s$n_eff)

fit <- rma(yi, vi, mods = ~ county_t + prev_t + prev_missing, data = s, method = "REML",
           control = list(threshold = 1e-13, maxiter = 10000))
a <- fit$tau2
beta <- as.vector(coef(fit))
X <- model.matrix(~ county_t + prev_t + prev_missing, data = s)
V_inv <- diag(1 / (a + s$vi))
M_inv <- solve(t(X) %*% V_inv %*% X)

# EBLUPs from metafor; MSE g1 + g2 + 2 g3 (Prasad & Rao 1990; Datta & Lahiri 2000 for REML).
theta <- blup(fit)$pred
B <- s$vi / (a + s$vi)
g1 <- a * B
g2 <- B^2 * rowSums((X %*% M_inv) * X)
var_a <- 2 / sum(1 / (a + s$vi)^2)
g3 <- s$vi^2 / (a + s$vi)^3 * var_a
mse <- g1 + g2 + 2 * g3

# Towns without respondents: synthetic x'beta, MSE sigma2_u + x' M_inv x.
e <- d[d$n == 0, ]
X0 <- model.matrix(~ county_t + prev_t + prev_missing, data = e)
theta0 <- as.vector(X0 %*% beta)
mse0 <- a + rowSums((X0 %*% M_inv) * X0)

out <- rbind(data.frame(town = s$town, method = "eblup", theta = theta, mse = mse, shrinkage = B),
             data.frame(town = e$town, method = "synthetic", theta = theta0, mse = mse0, shrinkage = NA))
clamp <- function(t) pmin(pmax(t, 0), pi / 2)
z <- qnorm(0.975)
out$theta <- clamp(out$theta)
out$estimate <- sin(out$theta)^2
out$se <- sqrt(out$mse) * sin(2 * out$theta)
out$ci_low <- sin(clamp(out$theta - z * sqrt(out$mse)))^2
out$ci_high <- sin(clamp(out$theta + z * sqrt(out$mse)))^2
out <- out[order(out$town), ]

fmt <- function(x) ifelse(is.na(x), "", sprintf("%.17g", x))
fit_rows <- data.frame(name = c("gvf_gamma", "sigma2u", "intercept", "county", "prev", "prev_missing"),
                       value = fmt(c(gamma, a, beta)))
write.csv(fit_rows, file.path(out_dir, "fit.csv"), row.names = FALSE, quote = FALSE)
for (col in c("theta", "mse", "shrinkage", "estimate", "se", "ci_low", "ci_high")) out[[col]] <- fmt(out[[col]])
write.csv(out, file.path(out_dir, "expected.csv"), row.names = FALSE, quote = FALSE)
