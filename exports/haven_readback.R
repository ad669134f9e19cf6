# Tests only (exports_test): reads a .sav or .dta file with R's haven, a reader independent of the
# ReadStat writer the exports use, and prints what it found, one tab-separated record per line:
#   names <name>...            the variables in order
#   labels <label>...          their variable labels ("" when none)
#   value_labels <var> <code>=<label>...   for `security` and `channel`
#   row <value>...             every observation; numbers with 15 significant digits, missing as ""
suppressMessages(library(haven))
path <- commandArgs(trailingOnly = TRUE)[1]
# user_na = TRUE: keep the values declared user-missing (9 = 说不清) instead of reading them as NA.
d <- if (grepl("\\.sav$", path)) read_sav(path, user_na = TRUE) else read_dta(path)
line <- function(...) cat(paste(c(...), collapse = "\t"), "\n", sep = "")
line("names", names(d))
line("labels", vapply(d, function(x) { l <- attr(x, "label", exact = TRUE); if (is.null(l)) "" else l }, ""))
for (v in c("security", "channel")) {
  vl <- attr(d[[v]], "labels", exact = TRUE)
  line("value_labels", v, paste0(format(unname(vl), digits = 15), "=", names(vl)))
}
# as.vector(unclass()): the plain value (is.na on a labelled SPSS value is TRUE for user-missing codes).
cell <- function(y) {
  z <- as.vector(unclass(y))
  if (is.na(z)) "" else if (is.numeric(z)) format(z, digits = 15) else as.character(z)
}
for (i in seq_len(nrow(d))) line("row", vapply(d, function(x) cell(x[[i]]), ""))
