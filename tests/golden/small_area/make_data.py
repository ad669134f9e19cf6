#!/usr/bin/env python3
"""Writes data.csv, the fixed town-level data set of the small-area golden test (run once; committed).

70 towns in 6 counties, one index: each town's respondents are drawn with a lognormal base weight and a
true share around 0.9 (a county effect and a town effect on the arcsine scale); the direct share is the
Hajek ratio and its variance the linearised one, n/(n-1) sum (w (y - p))^2 / W^2, as the aggregator
computes for a post-stratified town. County shares are the Hajek ratio over the county's respondents;
the previous-year share is drawn the same way with other respondents (missing for every fifth town).
Edge cases kept on purpose: towns with n = 1, shares of exactly 1 (design variance 0), two towns without
respondents (one with a previous-year share, one without)."""
import math
import random

rng = random.Random(20261205)
rows = []
county_resp = {}


def sample(theta, n):
    p = math.sin(theta) ** 2
    resp = []
    for _ in range(n):
        w = math.exp(rng.gauss(0, 0.5))
        resp.append((w, 1 if rng.random() < p else 0))
    return resp


def hajek(resp):
    sw = sum(w for w, _ in resp)
    p = sum(w * y for w, y in resp) / sw
    n = len(resp)
    var = 0.0
    if n > 1:
        var = n / (n - 1) * sum((w * (y - p)) ** 2 for w, y in resp) / sw ** 2
    neff = sw ** 2 / sum(w * w for w, _ in resp)
    return p, math.sqrt(var), neff


for i in range(70):
    county = "c%d" % (i % 6)
    theta = 1.22 + 0.04 * (i % 6) + rng.gauss(0, 0.07)
    n = [0, 1, 3, 8, 15, 25, 40, 70, 120, 200][i % 10] if i not in (13, 27) else 0
    if i in (13, 27):
        n = 0
    resp = sample(theta, n)
    county_resp.setdefault(county, []).extend(resp)
    prev = ""
    if i % 5 != 0:
        p_prev, _, _ = hajek(sample(theta + 0.01, 30 + i))
        prev = repr(p_prev)
    if n > 0:
        p, se, neff = hajek(resp)
        rows.append([("t%02d" % i), county, n, repr(neff), repr(p), repr(se), prev])
    else:
        rows.append([("t%02d" % i), county, 0, "", "", "", prev])

county_p = {c: hajek(r)[0] for c, r in county_resp.items()}
with open("data.csv", "w") as out:
    out.write("town,county,n,n_eff,estimate,se,county_estimate,prev_estimate\n")
    for r in rows:
        out.write(",".join(str(v) for v in r[:6] + [repr(county_p[r[1]]), r[6]]) + "\n")
