#!/usr/bin/env python3
"""Fails when the product code holds more repeated regions than tests/arch/README.md records.

Usage: check_duplicates.py SOURCE_DIR

Runs jscpd (npm, tests/arch/package.json; installed by ./minyi.sh with `npm ci`) over the C++ product
sources (the folders of include_graph.txt; tests, bench and fuzz excluded), prints the report, and
compares its number of clones with the line "Repeated regions: N" of tests/arch/README.md. More than N
fails (a change added a copy: remove it); fewer passes and asks for the new, lower number to be recorded.
Exit status 0 when at or below the record, 1 above it, 2 when jscpd or the record is missing.
"""
import json
import os
import re
import subprocess
import sys
import tempfile

FOLDERS = ["core", "sql", "collector", "aggregator", "exports", "dashboards", "cli"]
RECORD = re.compile(r"^Repeated regions: (\d+)\s*$", re.M)


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    root = os.path.abspath(argv[1])
    here = os.path.join(root, "tests", "arch")
    jscpd = os.path.join(here, "node_modules", ".bin", "jscpd")
    if not os.path.exists(jscpd):
        print(f"{jscpd} is missing: run `npm ci` in tests/arch (./minyi.sh does)", file=sys.stderr)
        return 2
    with open(os.path.join(here, "README.md"), encoding="utf-8") as f:
        record = RECORD.search(f.read())
    if not record:
        print("tests/arch/README.md has no line 'Repeated regions: N'", file=sys.stderr)
        return 2
    recorded = int(record.group(1))
    with tempfile.TemporaryDirectory() as out:
        # --min-lines/--min-tokens: jscpd's defaults (5 lines, 50 tokens), written out so an upgrade
        # of jscpd cannot move the count.
        command = [jscpd, "--format", "cpp", "--formats-exts", "cpp:cc,h", "--min-lines", "5", "--min-tokens",
                   "50", "--ignore", "**/*_test.cc,**/*_for_test.h,**/node_modules/**", "--reporters",
                   "json,consoleFull", "--output", out] + FOLDERS
        run = subprocess.run(command, cwd=root, capture_output=True, text=True)
        print(run.stdout)
        report = os.path.join(out, "jscpd-report.json")
        if run.returncode != 0 or not os.path.exists(report):
            print(run.stderr, file=sys.stderr)
            print(f"jscpd failed (exit {run.returncode})", file=sys.stderr)
            return 2
        with open(report, encoding="utf-8") as f:
            clones = json.load(f)["statistics"]["total"]["clones"]
    if clones > recorded:
        print(f"{clones} repeated regions, more than the {recorded} recorded in tests/arch/README.md: "
              "the change repeats code (the list above says where)")
        return 1
    if clones < recorded:
        print(f"{clones} repeated regions, fewer than the {recorded} recorded: record {clones} in "
              "tests/arch/README.md")
    else:
        print(f"{clones} repeated regions, as recorded")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
