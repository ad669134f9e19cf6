#!/usr/bin/env python3
"""Writes the golden input data sets (responses.csv, population.csv per folder). Deterministic.

Answer codes: security 1..5 = 很安全/安全/基本安全/不太安全/很不安全, 6 = 说不清 (missing);
grid 1..5 = 满意/比较满意/一般/不太满意/不满意, 6 = 不了解 (missing).
Positive sets: security {1,2,3}; grid {1,2}. Scores: 100/75/50/25/0 for codes 1..5.
"""
import csv
import os
import random

HERE = os.path.dirname(os.path.abspath(__file__))


def town_parents(town):
    return town[:6], town[:4]


def write(name, rows, pop):
    d = os.path.join(HERE, name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "responses.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["id", "town", "county", "city", "d0", "sex", "age_band", "security", "grid"])
        for i, r in enumerate(rows, 1):
            county, city = town_parents(r["town"])
            w.writerow([i, r["town"], county, city, r["d0"], r.get("sex", ""), r.get("age", ""), r["security"], r["grid"]])
    with open(os.path.join(d, "population.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["town", "sex", "age_band", "N"])
        for p in pop:
            w.writerow(p)


def answer(rng, probs):
    x = rng.random()
    acc = 0.0
    for code, p in enumerate(probs, 1):
        acc += p
        if x < acc:
            return code
    return len(probs)


SEC = [0.35, 0.3, 0.2, 0.08, 0.04, 0.03]
GRID = [0.3, 0.25, 0.2, 0.1, 0.05, 0.1]


def poststrat():
    rng = random.Random(20240101)
    rows, pop = [], []

    def town(code, n, total, sec=SEC, grid=GRID, zero=0.0):
        pop.append([code, "", "", total])
        for _ in range(n):
            d0 = 0 if rng.random() < zero else round(0.5 + 2.5 * rng.random(), 3)
            rows.append({"town": code, "d0": d0, "security": answer(rng, sec), "grid": answer(rng, grid)})

    town("320102001", 25, 41000)
    town("320102002", 1, 9000)                                   # lonely stratum
    town("320102003", 12, 23000, sec=[0.5, 0.3, 0.15, 0, 0, 0.05])  # security 100% positive
    town("320105001", 30, 52000, zero=0.15)                      # zero base weights
    town("320105002", 8, 12000, sec=[0.2, 0.2, 0.1, 0.1, 0, 0.4], grid=[0.2, 0.1, 0.1, 0.1, 0, 0.5])
    town("320812001", 40, 61000)
    town("320812002", 15, 30500)
    town("320813001", 5, 8000, grid=[0.6, 0.4, 0, 0, 0, 0])      # grid 100% positive
    town("320813002", 3, 7000, grid=[0, 0, 0.3, 0.4, 0.3, 0])    # grid 0% positive
    write("poststrat", rows, pop)


def raking():
    rng = random.Random(20240202)
    rows, pop = [], []

    def add(code, n, sexes, ages, d=None, sec=SEC, grid=GRID, cells=None):
        for _ in range(n):
            if cells:
                s, a = rng.choice(cells)
            else:
                s, a = rng.choice(sexes), rng.choice(ages)
            d0 = d if d is not None else round(0.8 + 1.5 * rng.random(), 3)
            rows.append({"town": code, "d0": d0, "sex": s, "age": a, "security": answer(rng, sec), "grid": answer(rng, grid)})

    full = lambda t, total, m, f, a1, a2, a3: pop.extend([[t, "", "", total], [t, "m", "", m], [t, "f", "", f],
                                                          [t, "", "a1", a1], [t, "", "a2", a2], [t, "", "a3", a3]])
    full("320812001", 40000, 19500, 20500, 12000, 15000, 13000)
    add("320812001", 60, ["m", "f"], ["a1", "a2", "a3"])
    # Strongly associated sex and age in the sample: IPF needs many sweeps.
    full("320812002", 30000, 15000, 15000, 10000, 10000, 10000)
    add("320812002", 40, None, None, cells=[("m", "a1")] * 12 + [("f", "a3")] * 12 + [("m", "a2")] * 3 +
        [("f", "a2")] * 3 + [("m", "a3")] + [("f", "a1")])
    # Blank sex answers: the unknown sex cell (total − listed = 1500).
    pop.extend([["320812003", "", "", 25000], ["320812003", "m", "", 12000], ["320812003", "f", "", 11500],
                ["320812003", "", "a1", 8000], ["320812003", "", "a2", 9000], ["320812003", "", "a3", 8000]])
    add("320812003", 27, ["m", "f"], ["a1", "a2", "a3"])
    add("320812003", 3, [""], ["a1", "a2", "a3"])
    # Fallback: age band a3 has population but no respondent.
    full("320813001", 20000, 9800, 10200, 6000, 7000, 7000)
    add("320813001", 25, ["m", "f"], ["a1", "a2"])
    # Only the town total: post-stratified.
    pop.append(["320813002", "", "", 15000])
    add("320813002", 20, ["m", "f"], ["a1", "a2", "a3"])
    # Only the town total, one respondent: lonely stratum.
    pop.append(["320813003", "", "", 5000])
    add("320813003", 1, ["m"], ["a2"])
    # Only a sex margin.
    pop.extend([["320813004", "", "", 18000], ["320813004", "m", "", 8800], ["320813004", "f", "", 9200]])
    add("320813004", 15, ["m", "f"], ["a1", "a2", "a3"])
    # Fallback: a respondent in an age band with population 0.
    pop.extend([["320813005", "", "", 10000], ["320813005", "m", "", 5000], ["320813005", "f", "", 5000],
                ["320813005", "", "a1", 5000], ["320813005", "", "a2", 5000], ["320813005", "", "a3", 0]])
    add("320813005", 12, ["m", "f"], ["a1", "a2", "a3"])
    write("raking", rows, pop)


def single():
    # Every town of county 320812 has one respondent: df = 0 for the county.
    rows = [
        {"town": "320812001", "d0": 1, "security": 1, "grid": 2},
        {"town": "320812002", "d0": 2, "security": 4, "grid": 3},
        {"town": "320812003", "d0": 1, "security": 2, "grid": 6},
        {"town": "320812004", "d0": 1, "security": 6, "grid": 1},
        {"town": "320813001", "d0": 1, "security": 3, "grid": 4},
        {"town": "320813001", "d0": 1.5, "security": 5, "grid": 2},
        {"town": "320813001", "d0": 1, "security": 1, "grid": 5},
    ]
    pop = [["320812001", "", "", 3000], ["320812002", "", "", 4000], ["320812003", "", "", 5000],
           ["320812004", "", "", 2000], ["320813001", "", "", 9000]]
    write("single", rows, pop)


if __name__ == "__main__":
    poststrat()
    raking()
    single()
