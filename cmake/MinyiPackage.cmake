# Install rules and the Debian package (README "Deploy"). `./minyi.sh package` builds
# build/package/minyi_<version>_amd64.deb with CPack's DEB generator:
#   /usr/bin/minyi, its man page, /usr/share/minyi/{conf/surveys,conf/topics.json,data,web} (the binary finds
#   them from its own location: cli/config.h PathOptions), /etc/minyi/minyi.properties (a conffile, every key
#   commented out), /lib/systemd/system/minyi.service, and maintainer scripts that create the `minyi` user.
# The package's dependencies are computed from the binary's shared libraries (dpkg-shlibdeps).
include(GNUInstallDirs)
# `cmake --install` and cpack install what is built and never build `all` first (the suite, the
# benchmarks): ./minyi.sh package and the package test build `minyi` and `minyi_package_files` themselves.
set(CMAKE_SKIP_INSTALL_ALL_DEPENDENCY ON)

set(MINYI_SHARE "${CMAKE_INSTALL_DATADIR}/minyi")
install(TARGETS minyi RUNTIME DESTINATION "${CMAKE_INSTALL_BINDIR}")
install(DIRECTORY "${PROJECT_SOURCE_DIR}/conf/surveys" DESTINATION "${MINYI_SHARE}/conf"
        FILES_MATCHING PATTERN "*.json")
install(FILES "${PROJECT_SOURCE_DIR}/conf/topics.json" DESTINATION "${MINYI_SHARE}/conf")
if(EXISTS "${PROJECT_SOURCE_DIR}/conf/questionnaires")
  install(DIRECTORY "${PROJECT_SOURCE_DIR}/conf/questionnaires" DESTINATION "${MINYI_SHARE}/conf"
          FILES_MATCHING PATTERN "*.json")
endif()
install(DIRECTORY "${PROJECT_SOURCE_DIR}/data/" DESTINATION "${MINYI_SHARE}/data" FILES_MATCHING PATTERN "*.csv")
# The pages as the build copied them (dashboards/CMakeLists.txt), ECharts in vendor/ included.
install(DIRECTORY "${MINYI_DASHBOARD_WEB_DIR}/" DESTINATION "${MINYI_SHARE}/web")
# A package without ECharts would serve dashboards without charts, one without the boundaries
# (dashboards/copy_maps.cmake) a map view without maps: refuse to install either.
install(CODE "
  foreach(_asset echarts.min.js map-32.js map-3213.js)
    if(NOT EXISTS \"${MINYI_DASHBOARD_WEB_DIR}/vendor/\${_asset}\")
      message(FATAL_ERROR \"${MINYI_DASHBOARD_WEB_DIR}/vendor/\${_asset} is missing: run npm ci in dashboards/web (./minyi.sh build) first\")
    endif()
  endforeach()")

# /etc/minyi/minyi.properties: conf/minyi.sample.properties with every setting commented out, so that
# the defaults (and the installed layout's directories) apply until the operator sets a key.
file(READ "${PROJECT_SOURCE_DIR}/conf/minyi.sample.properties" _sample)
string(REGEX REPLACE "(^|\n)([a-z][a-z0-9_.]* *=)" "\\1#\\2" _commented "${_sample}")
set(_etc_header "# /etc/minyi/minyi.properties: read by minyi.service (and `minyi --config`).\n# Every line is commented out: the defaults apply. Uncomment and change what you need;\n# `sudo systemctl reload minyi` re-reads log.level, other keys need `systemctl restart minyi`.\n#\n")
file(WRITE "${PROJECT_BINARY_DIR}/package/etc/minyi.properties" "${_etc_header}${_commented}")
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${PROJECT_SOURCE_DIR}/conf/minyi.sample.properties")
install(FILES "${PROJECT_BINARY_DIR}/package/etc/minyi.properties" DESTINATION /etc/minyi
        PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ)
install(FILES "${PROJECT_SOURCE_DIR}/deploy/minyi.service" DESTINATION /lib/systemd/system)

# The man page, from `minyi --help` (help2man) and the Debian changelog of this native package.
find_program(MINYI_HELP2MAN help2man)
find_program(MINYI_GZIP gzip)
set(_man "${PROJECT_BINARY_DIR}/package/minyi.1")
add_custom_command(OUTPUT "${_man}.gz"
  COMMAND "${CMAKE_COMMAND}" -E env "HELP2MAN=${MINYI_HELP2MAN}" sh -c "test -x \"$HELP2MAN\" || { echo 'help2man is missing (apt install help2man)' >&2; exit 1; }"
  COMMAND "${MINYI_HELP2MAN}" --no-info --no-discard-stderr --section 1
          --name "public-satisfaction survey collector and index aggregator" --output "${_man}" "$<TARGET_FILE:minyi>"
  COMMAND "${MINYI_GZIP}" -9nf "${_man}"
  DEPENDS minyi VERBATIM)
# The organisation that builds the package names itself here (-DMINYI_PACKAGE_MAINTAINER=...); the
# default's .invalid domain (RFC 2606) says that nobody has yet.
set(MINYI_PACKAGE_MAINTAINER "minyi maintainers <minyi@minyi.invalid>" CACHE STRING "Maintainer field of the .deb")
string(TIMESTAMP _date "%a, %d %b %Y %H:%M:%S +0000" UTC)
file(WRITE "${PROJECT_BINARY_DIR}/package/changelog"
     "minyi (${PROJECT_VERSION}) unstable; urgency=medium\n\n  * Built from the minyi source tree with ./minyi.sh package.\n\n -- ${MINYI_PACKAGE_MAINTAINER}  ${_date}\n")
add_custom_command(OUTPUT "${PROJECT_BINARY_DIR}/package/changelog.gz"
  COMMAND "${MINYI_GZIP}" -9nkf "${PROJECT_BINARY_DIR}/package/changelog"
  DEPENDS "${PROJECT_BINARY_DIR}/package/changelog" VERBATIM)
add_custom_target(minyi_package_files DEPENDS "${_man}.gz" "${PROJECT_BINARY_DIR}/package/changelog.gz")
install(FILES "${_man}.gz" DESTINATION "${CMAKE_INSTALL_MANDIR}/man1")
install(FILES "${PROJECT_SOURCE_DIR}/deploy/copyright" "${PROJECT_BINARY_DIR}/package/changelog.gz"
        DESTINATION "${CMAKE_INSTALL_DOCDIR}")

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME minyi)
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGE_DIRECTORY "${PROJECT_BINARY_DIR}/package")
# The absolute destinations (/etc, /lib/systemd) go into the package, never into this machine's /etc.
set(CPACK_SET_DESTDIR ON)
set(CPACK_INSTALL_PREFIX /usr)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${MINYI_PACKAGE_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_SECTION web)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# The synopsis; the extended description follows it in the control file.
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "public-satisfaction survey collector and index aggregator")
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION "minyi collects residents' answers to public-satisfaction surveys by SMS, web
forms, WeChat group exports and questionnaire-platform files, computes indices
by town and shows them to officials on dashboards. The package runs it as the
systemd service minyi.service with an embedded SQLite store in /var/lib/minyi
(or a MariaDB server).")
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    "${PROJECT_SOURCE_DIR}/deploy/postinst;${PROJECT_SOURCE_DIR}/deploy/prerm;${PROJECT_SOURCE_DIR}/deploy/postrm;${PROJECT_SOURCE_DIR}/deploy/conffiles")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)
include(CPack)
