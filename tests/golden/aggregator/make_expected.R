#!/usr/bin/env Rscript
# Expected figures for the aggregator golden tests, computed with R's survey package (4.1-1) following
# docs/methodology.md §7.2: post-stratified or raked designs (ids = ~1, strata = ~town, weights = ~d0),
# svyciprop(method = "xlogit", na.rm = TRUE) for shares, svymean(na.rm = TRUE, deff = TRUE) for scores,
# subset() for every area, options(survey.lonely.psu = "adjust").
#
# Run from this folder:  Rscript make_expected.R   (writes <set>/expected.csv for every data set)
# Needs r-base-core, r-cran-survey, r-cran-mass. The C++ tests only read the committed CSVs.
suppressMessages(library(survey))
options(survey.lonely.psu = "adjust", warn = -1)

indices <- list(
  security = list(positive = c(1, 2, 3), missing = 6),
  grid = list(positive = c(1, 2), missing = 6)
)
score_of <- function(code) (5 - code) * 25  # 100/75/50/25/0

key <- function(x) ifelse(x == "", ".unknown", x)  # the unknown cell of a margin (blank answers)
fmt <- function(x) ifelse(is.na(x), "", sprintf("%.17g", x))

# docs/methodology.md §3.4: which towns can be raked. IPF (one sweep = sex cells, then age cells) is run here
# only to decide convergence within 100 sweeps; the weights themselves come from calibrate().
decide <- function(resp, pop) {
  out <- list()
  for (t in sort(unique(resp$town))) {
    p <- pop[pop$town == t, ]
    total <- p$N[p$sex == "" & p$age_band == ""]
    r <- resp[resp$town == t, ]
    margins <- list()
    for (m in c("sex", "age_band")) {
      listed <- p[p[[m]] != "", ]
      if (nrow(listed) == 0) next
      cells <- setNames(listed$N, listed[[m]])
      unknown <- total - sum(cells)
      cells[[".unknown"]] <- max(unknown, 0)
      margins[[m]] <- cells
    }
    method <- if (length(margins) == 0) "poststrat" else "raking"
    if (method == "raking") {
      for (m in names(margins)) {
        cells <- margins[[m]]
        codes <- key(r[[m]])
        if (!all(codes %in% names(cells)) || any(cells[codes] <= 0)) method <- "fallback"
        for (c in names(cells)[cells > 0]) if (sum(r$d0[codes == c]) <= 0) method <- "fallback"
      }
    }
    if (method == "raking") {
      w <- r$d0
      converged <- FALSE
      for (sweep in 1:100) {
        for (m in names(margins)) {
          cells <- margins[[m]]
          for (c in names(cells)[cells > 0]) {
            i <- key(r[[m]]) == c
            w[i] <- w[i] * cells[[c]] / sum(w[i])
          }
        }
        err <- 0
        for (m in names(margins)) {
          cells <- margins[[m]]
          for (c in names(cells)[cells > 0]) err <- max(err, abs(sum(w[key(r[[m]]) == c]) - cells[[c]]) / cells[[c]])
        }
        if (err < 1e-10) { converged <- TRUE; break }
      }
      if (!converged) method <- "fallback"
    }
    out[[t]] <- list(method = method, margins = margins, total = total)
  }
  out
}

estimate_area <- function(design, keep, resp, index) {
  # n, n_eff over the domain D: answered, in the area, nonzero weight.
  w <- weights(design)
  y <- resp[[paste0("pos_", index)]]
  s <- resp[[paste0("score_", index)]]
  D <- keep & !is.na(y) & w > 0
  n <- sum(D)
  res <- list(n = n, n_eff = NA, estimate = NA, se = NA, ci_low = NA, ci_high = NA, ci_method = "none",
              score = NA, score_se = NA, score_ci_low = NA, score_ci_high = NA, deff = NA)
  if (n == 0) return(res)
  res$n_eff <- sum(w[D])^2 / sum(w[D]^2)
  sub <- subset(design, keep)
  df <- degf(sub)
  npos <- sum(y[D] == 1)
  f <- as.formula(paste0("~pos_", index))
  if (npos == n || npos == 0) {
    # Decided by counts (docs/methodology.md §4.7): exact 0 or 1 with the Clopper–Pearson interval at n_eff.
    b <- 0.025^(1 / res$n_eff)
    res$estimate <- if (npos == n) 1 else 0
    res$se <- 0
    res$ci_low <- if (npos == n) b else 0
    res$ci_high <- if (npos == n) 1 else 1 - b
    res$ci_method <- "exact-neff"
  } else {
    ci <- svyciprop(f, sub, method = "xlogit", na.rm = TRUE)
    res$estimate <- as.numeric(coef(ci))
    res$se <- sqrt(as.numeric(attr(ci, "var")))
    if (df > 0) {
      res$ci_low <- as.numeric(attr(ci, "ci")[1])
      res$ci_high <- as.numeric(attr(ci, "ci")[2])
      res$ci_method <- "logit"
    }
  }
  fs <- as.formula(paste0("~score_", index))
  m <- svymean(fs, sub, na.rm = TRUE, deff = TRUE)
  res$score <- as.numeric(coef(m))
  res$score_se <- as.numeric(SE(m))
  cm <- confint(m)
  res$score_ci_low <- cm[1, 1]
  res$score_ci_high <- cm[1, 2]
  # All scores equal: R's deff is 0/0 noise; the contract says undefined.
  if (length(unique(s[D])) > 1) res$deff <- as.numeric(deff(m))
  res
}

run <- function(dir) {
  resp <- read.csv(file.path(dir, "responses.csv"), colClasses = "character")
  pop <- read.csv(file.path(dir, "population.csv"), colClasses = "character")
  pop$N <- as.numeric(pop$N)
  resp$d0 <- as.numeric(resp$d0)
  resp$province <- substr(resp$town, 1, 2)
  for (k in names(indices)) {
    code <- as.integer(resp[[k]])
    miss <- code == indices[[k]]$missing
    resp[[paste0("pos_", k)]] <- ifelse(miss, NA, as.numeric(code %in% indices[[k]]$positive))
    resp[[paste0("score_", k)]] <- ifelse(miss, NA, score_of(code))
  }
  d <- svydesign(ids = ~1, strata = ~town, weights = ~d0, data = resp)
  decisions <- decide(resp, pop)
  totals <- pop[pop$sex == "" & pop$age_band == "", ]
  if (all(sapply(decisions, function(x) x$method == "poststrat"))) {
    design <- postStratify(d, ~town, data.frame(town = totals$town, Freq = totals$N))
  } else {
    ts <- ta <- character(nrow(resp))
    cellN <- c()
    for (t in names(decisions)) {
      dec <- decisions[[t]]
      i <- resp$town == t
      all_level <- paste(t, "all")
      if (dec$method == "raking" && !is.null(dec$margins$sex)) {
        ts[i] <- paste(t, "sex", key(resp$sex[i]))
        for (c in names(dec$margins$sex)) cellN[paste(t, "sex", c)] <- dec$margins$sex[[c]]
      } else {
        ts[i] <- all_level
      }
      if (dec$method == "raking" && !is.null(dec$margins$age_band)) {
        ta[i] <- paste(t, "age", key(resp$age_band[i]))
        for (c in names(dec$margins$age_band)) cellN[paste(t, "age", c)] <- dec$margins$age_band[[c]]
      } else {
        ta[i] <- all_level
      }
      cellN[all_level] <- dec$total
    }
    resp$town_sex <- factor(ts)
    resp$town_age <- factor(ta)
    d <- svydesign(ids = ~1, strata = ~town, weights = ~d0, data = resp)
    lv_s <- levels(resp$town_sex)
    lv_a <- levels(resp$town_age)
    population <- c(`(Intercept)` = sum(totals$N[totals$town %in% names(decisions)]),
                    setNames(cellN[lv_s[-1]], paste0("town_sex", lv_s[-1])),
                    setNames(cellN[lv_a[-1]], paste0("town_age", lv_a[-1])))
    design <- calibrate(d, ~town_sex + town_age, population = population, calfun = "raking",
                        epsilon = 1e-12, maxit = 200)
  }
  areas <- list()
  for (t in sort(unique(resp$town))) areas[[length(areas) + 1]] <- list("town", t, resp$town == t)
  for (c in sort(unique(resp$county))) areas[[length(areas) + 1]] <- list("county", c, resp$county == c)
  for (c in sort(unique(resp$city))) areas[[length(areas) + 1]] <- list("city", c, resp$city == c)
  for (c in sort(unique(resp$province))) areas[[length(areas) + 1]] <- list("province", c, resp$province == c)
  lines <- "level,area,index,n,n_eff,estimate,se,ci_low,ci_high,ci_method,score,score_se,score_ci_low,score_ci_high,deff,weighting"
  for (a in areas) {
    towns_in <- sort(unique(resp$town[a[[3]]]))
    methods <- unique(sapply(towns_in, function(t) decisions[[t]]$method))
    weighting <- if (length(methods) == 1) methods else "mixed"
    for (k in names(indices)) {
      r <- estimate_area(design, a[[3]], resp, k)
      lines <- c(lines, paste(a[[1]], a[[2]], k, r$n, fmt(r$n_eff), fmt(r$estimate), fmt(r$se), fmt(r$ci_low),
                              fmt(r$ci_high), r$ci_method, fmt(r$score), fmt(r$score_se), fmt(r$score_ci_low),
                              fmt(r$score_ci_high), fmt(r$deff), weighting, sep = ","))
    }
  }
  writeLines(lines, file.path(dir, "expected.csv"))
  cat(dir, ": ", length(lines) - 1, " rows; weighting ", paste(sapply(decisions, `[[`, "method"), collapse = " "), "\n", sep = "")
}

for (dir in c("poststrat", "raking", "single")) run(dir)
