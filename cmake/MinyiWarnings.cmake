# minyi_target_warnings(<target>): the project's warning set, applied to every target we build.
# MINYI_WERROR=ON turns warnings into errors (CI may use it; off by default so a newer compiler
# does not break a user's build).
option(MINYI_WERROR "Treat compiler warnings as errors" OFF)

function(minyi_target_warnings target)
  target_compile_options(${target} PRIVATE
    -Wall -Wextra -Wpedantic -Wconversion -Wsign-conversion -Wshadow
    -Wnon-virtual-dtor -Woverloaded-virtual -Wimplicit-fallthrough)
  if(MINYI_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()

# minyi_add_test(<name> SOURCES ... LIBS ... [LABELS ...] [TIMEOUT <seconds>]): a GoogleTest
# executable registered with CTest (TIMEOUT: per test case, default CTest's).
function(minyi_add_test name)
  cmake_parse_arguments(ARG "" "TIMEOUT" "SOURCES;LIBS;LABELS" ${ARGN})
  set(extra_properties "")
  if(ARG_TIMEOUT)
    set(extra_properties TIMEOUT ${ARG_TIMEOUT})
  endif()
  add_executable(${name} ${ARG_SOURCES})
  minyi_target_warnings(${name})
  target_link_libraries(${name} PRIVATE ${ARG_LIBS} GTest::gtest GTest::gtest_main GTest::gmock)
  target_compile_definitions(${name} PRIVATE
    MINYI_SOURCE_DIR="${PROJECT_SOURCE_DIR}" MINYI_BINARY_DIR="${PROJECT_BINARY_DIR}")
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60 PROPERTIES LABELS "${ARG_LABELS}" ${extra_properties})
endfunction()
