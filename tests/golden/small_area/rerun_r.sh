#!/bin/sh
# ctest small_area_golden_r: re-runs make_expected.R into a temporary folder and compares its figures with
# the committed fit.csv and expected.csv (relative or absolute difference at most 1e-9; the committed
# files are what the C++ golden test reads). R and metafor are installed by minyi.sh (deps), so a
# missing Rscript is a failure, not a skip.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
if ! command -v Rscript >/dev/null 2>&1; then
  echo "small_area_golden_r: Rscript not found; install r-base-core and r-cran-metafor (./minyi.sh deps)" >&2
  exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
Rscript "$here/make_expected.R" "$tmp"
Rscript -e '
args <- commandArgs(trailingOnly = TRUE)
bad <- 0
for (f in c("fit.csv", "expected.csv")) {
  a <- read.csv(file.path(args[1], f), stringsAsFactors = FALSE)
  b <- read.csv(file.path(args[2], f), stringsAsFactors = FALSE)
  if (!identical(dim(a), dim(b)) || !identical(names(a), names(b))) {
    cat(f, ": shape differs\n"); bad <- bad + 1; next
  }
  for (col in names(a)) {
    if (is.numeric(a[[col]])) {
      diff <- abs(a[[col]] - b[[col]]) > 1e-9 * pmax(1, abs(b[[col]]))
      diff[is.na(diff)] <- xor(is.na(a[[col]]), is.na(b[[col]]))[is.na(diff)]
    } else {
      diff <- a[[col]] != b[[col]]
    }
    for (i in which(diff)) { cat(f, "row", i, col, ": R gives", a[[col]][i], "committed", b[[col]][i], "\n"); bad <- bad + 1 }
  }
}
if (bad > 0) quit(status = 1)
cat("small_area_golden_r: R figures equal the committed golden files\n")
' "$tmp" "$here"
