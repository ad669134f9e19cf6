#!/usr/bin/env python3
"""Writes data.csv, the fixed data set of the binomial small-area golden test (small_area_binomial_golden_test):
26 towns in 5 counties (one county without any respondent), shares near 0.9 (logit level 2.5, county effects
spread from -1.2 to 1.2 so that the county variance is clearly positive, town effects of SD 0.7), n from 0 to 80
with a Kish design effect of 1 to 1.2, the direct share of whole
respondents and the binomial design SE times a factor around 1.1 (so the GVF's gamma is not 1)."""
import csv
import math
import random

rng = random.Random(26)
rows = []
for c, v in enumerate([-1.2, -0.4, 0.4, 1.2, 0.0]):
    for i in range(6 if c < 4 else 2):
        code = f"T{c}{i:02d}"
        p = 1 / (1 + math.exp(-(2.5 + v + rng.gauss(0, 0.7))))
        n = 0 if (i == 0 or c == 4) else rng.choice([1, 3, 8, 20, 40, 80])
        if n == 0:
            rows.append([code, f"C{c}", 0, "", "", ""])
            continue
        yes = sum(1 for _ in range(n) if rng.random() < p)
        est = yes / n
        n_eff = n / (1.0 + 0.2 * rng.random())
        se = math.sqrt(est * (1 - est) / n_eff) * (1.0 + 0.2 * rng.random()) if n > 1 else 0.0
        rows.append([code, f"C{c}", n, f"{n_eff:.6f}", f"{est:.10f}", f"{se:.10f}"])
with open("data.csv", "w", newline="") as f:
    w = csv.writer(f, lineterminator="\n")
    w.writerow(["town", "county", "n", "n_eff", "estimate", "se"])
    w.writerows(rows)
