# R `survey` side of bench/aggregate_bench.sh: post-stratification on town totals for one period,
# then per town the share of the positive set (svyciprop, xlogit) and the score index (svymean) of
# both indices, and the province figures. Prints the elapsed seconds of the estimation (reading the
# CSV files excluded). Usage: Rscript aggregate_bench.R responses.csv population.csv [max_towns]
suppressMessages(library(survey))
options(survey.lonely.psu = "adjust")
args <- commandArgs(trailingOnly = TRUE)
resp <- read.csv(args[1], colClasses = c(town = "character"))
pop <- read.csv(args[2], colClasses = c(town = "character"))
if (length(args) >= 3) {
  keep <- head(sort(unique(resp$town)), as.integer(args[3]))
  resp <- resp[resp$town %in% keep, ]
}
pop <- pop[pop$town %in% unique(resp$town), ]
score <- function(x) ifelse(x %in% 1:5, (5 - x) * 25, NA)
resp$sec_pos <- ifelse(resp$security %in% 1:5, as.numeric(resp$security %in% 1:3), NA)
resp$grid_pos <- ifelse(resp$grid %in% 1:5, as.numeric(resp$grid %in% 1:2), NA)
resp$sec_score <- score(resp$security)
resp$grid_score <- score(resp$grid)
t <- system.time({
  d <- svydesign(ids = ~1, strata = ~town, weights = ~weight, data = resp)
  dp <- postStratify(d, ~town, data.frame(town = pop$town, Freq = pop$population))
  a <- svyby(~sec_pos, ~town, dp, svyciprop, method = "xlogit", vartype = c("se", "ci"), na.rm = TRUE)
  b <- svyby(~grid_pos, ~town, dp, svyciprop, method = "xlogit", vartype = c("se", "ci"), na.rm = TRUE)
  s1 <- svyby(~sec_score, ~town, dp, svymean, na.rm = TRUE, deff = TRUE)
  s2 <- svyby(~grid_score, ~town, dp, svymean, na.rm = TRUE, deff = TRUE)
  p1 <- svyciprop(~sec_pos, dp, method = "xlogit", na.rm = TRUE)
  p2 <- svyciprop(~grid_pos, dp, method = "xlogit", na.rm = TRUE)
})
cat(sprintf("R rows %d towns %d elapsed %.3f\n", nrow(resp), length(unique(resp$town)), t[["elapsed"]]))
