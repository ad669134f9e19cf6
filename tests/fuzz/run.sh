#!/usr/bin/env bash
# tests/fuzz/run.sh BUILD_DIR SECONDS [NAME...] — runs each libFuzzer target of a MINYI_FUZZ=ON build
# (all of BUILD_DIR/tests/fuzz/fuzz_*, or the NAMEs given: "json", "csv", ...) for SECONDS, one after
# the other, on a temporary copy of its seed corpus (tests/fuzz/corpus/NAME; the committed corpus never
# grows), with its dictionary (tests/fuzz/NAME.dict) when there is one. Prints, per target, the
# executions per second and libFuzzer's coverage (cov: edges, ft: features) from its final stats.
# Fails when any target crashes, leaks, times out (-timeout=10 s per input) or exceeds 2 GB of RSS;
# the input that did it is saved as BUILD_DIR/fuzz-artifacts/NAME/crash-* (or leak-*, timeout-*,
# oom-*), the log as BUILD_DIR/fuzz-logs/NAME.log. Reproduce with BUILD_DIR/tests/fuzz/fuzz_NAME FILE.
set -euo pipefail

if [ $# -lt 2 ]; then
  sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
fi
build_dir=$(cd "$1" && pwd)
seconds=$2
shift 2
here=$(cd "$(dirname "$0")" && pwd)

names=("$@")
if [ ${#names[@]} -eq 0 ]; then
  for bin in "$build_dir"/tests/fuzz/fuzz_*; do
    [ -x "$bin" ] || continue
    name=$(basename "$bin" | sed 's/^fuzz_//')
    # A target with an open finding that is not ours to fix (tests/fuzz/known_failures: "NAME reason")
    # is left out of the default run, loudly; name it explicitly to run it.
    known=$(awk -v n="$name" '$1 == n { $1 = ""; print substr($0, 2) }' "$here/known_failures" 2>/dev/null || true)
    if [ -n "$known" ]; then
      echo "run.sh: NOT RUN: $name: $known" >&2
      continue
    fi
    names+=("$name")
  done
fi
if [ ${#names[@]} -eq 0 ]; then
  echo "run.sh: no fuzz targets in $build_dir/tests/fuzz (configure with -DMINYI_FUZZ=ON and build)" >&2
  exit 2
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/minyi-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$build_dir/fuzz-logs"

failed=()
printf '%-22s %10s %8s %8s %8s %s\n' target "execs/s" runs cov ft result
for name in "${names[@]}"; do
  bin="$build_dir/tests/fuzz/fuzz_$name"
  if [ ! -x "$bin" ]; then
    echo "run.sh: $bin not built" >&2
    failed+=("$name")
    continue
  fi
  corpus="$work/$name"
  mkdir -p "$corpus"
  if [ -d "$here/corpus/$name" ]; then cp -R "$here/corpus/$name/." "$corpus/"; fi
  artifacts="$build_dir/fuzz-artifacts/$name"
  mkdir -p "$artifacts"
  args=(-max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1
        -artifact_prefix="$artifacts/")
  if [ -f "$here/$name.dict" ]; then args+=(-dict="$here/$name.dict"); fi
  log="$build_dir/fuzz-logs/$name.log"
  status=0
  # The targets write temporary files (config, .xls) into TMPDIR: keep them in the work directory.
  TMPDIR="$work" UBSAN_OPTIONS=print_stacktrace=1 LSAN_OPTIONS="suppressions=$here/../sanitize/lsan.supp" "$bin" "${args[@]}" "$corpus" >"$log" 2>&1 || status=$?
  execs=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' "$log" | tail -n 1)
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' "$log" | tail -n 1)
  result=ok
  if [ "$status" -ne 0 ]; then
    result="FAILED (exit $status; log $log; input in $artifacts/)"
    failed+=("$name")
  fi
  printf '%-22s %10s %8s %8s %8s %s\n' "$name" "${execs:--}" "${runs:--}" "${cov:--}" "${ft:--}" "$result"
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "run.sh: failed: ${failed[*]}" >&2
  for name in "${failed[@]}"; do
    log="$build_dir/fuzz-logs/$name.log"
    [ -f "$log" ] && { echo "---- $name:" >&2; grep -m 1 -A 30 -E '^==[0-9]+==|runtime error|Deadly signal|out-of-memory|timeout' "$log" >&2 || tail -n 30 "$log" >&2; }
  done
  exit 1
fi
