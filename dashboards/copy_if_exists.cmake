# cmake -DSRC=... -DDST=... -P copy_if_exists.cmake: copies SRC to DST when SRC exists (ECharts from
# npm into the build directory); otherwise says how to get it. Runs at every build, so installing the
# npm package later needs no re-configure.
if(EXISTS "${SRC}")
  file(COPY_FILE "${SRC}" "${DST}" ONLY_IF_DIFFERENT)
else()
  message(STATUS "ECharts not installed (npm ci in dashboards/web, or ./minyi.sh build): the dashboards show tables without charts")
endif()
