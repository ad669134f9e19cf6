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

# minyi_add_test(<name> SOURCES ... LIBS ... [LABELS ...] [TIMEOUT s] [WHOLE]): a GoogleTest executable
# registered with CTest. By default each test case is its own CTest test (gtest_discover_tests). WHOLE
# registers the binary as a single CTest test instead: for suites that share an expensive fixture (a
# private MariaDB server per process), which would otherwise be started once per test case.
# The label `threads` marks the tests that run minyi's own concurrent code (the HTTP server, the group
# commit, the lease keeper, live aggregation, `minyi serve` under parallel clients): the ThreadSanitizer
# selection (./minyi.sh tsan: `ctest -L threads` in build-tsan). Their executables, and with them the
# minyi binary of the integration tests, are the dependencies of the target minyi_threads_tests.
add_custom_target(minyi_threads_tests)
function(minyi_add_test name)
  if(MINYI_FUZZ_ONLY)  # the fuzz-only build skips the tests (cmake/MinyiFuzz.cmake)
    return()
  endif()
  cmake_parse_arguments(ARG "WHOLE" "TIMEOUT" "SOURCES;LIBS;LABELS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  if("threads" IN_LIST ARG_LABELS)
    add_dependencies(minyi_threads_tests ${name})
  endif()
  minyi_target_warnings(${name})
  target_link_libraries(${name} PRIVATE ${ARG_LIBS} GTest::gtest GTest::gtest_main GTest::gmock)
  target_compile_definitions(${name} PRIVATE
    MINYI_SOURCE_DIR="${PROJECT_SOURCE_DIR}" MINYI_BINARY_DIR="${PROJECT_BINARY_DIR}")
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 600)
  endif()
  math(EXPR ARG_TIMEOUT "${ARG_TIMEOUT} * ${MINYI_TEST_TIMEOUT_SCALE}")  # cmake/MinyiSanitize.cmake
  if(ARG_WHOLE)
    add_test(NAME ${name} COMMAND ${name})
    set_tests_properties(${name} PROPERTIES LABELS "${ARG_LABELS}" TIMEOUT ${ARG_TIMEOUT})
  else()
    # Labels are set by a script CTest runs after the discovered tests are added, on the list of their
    # names (TEST_LIST): gtest_discover_tests (CMake 3.25) flattens a list-valued property, so PROPERTIES
    # LABELS "integration;web" gave the label "integration" and a property named "web", and
    # `ctest -L web` missed those tests.
    gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60 TEST_LIST ${name}_TESTS PROPERTIES TIMEOUT ${ARG_TIMEOUT})
    set(labels_file "${CMAKE_CURRENT_BINARY_DIR}/${name}_labels.cmake")
    file(WRITE "${labels_file}"
         "if(${name}_TESTS)\n  set_tests_properties(\${${name}_TESTS} PROPERTIES LABELS \"${ARG_LABELS}\")\nendif()\n")
    set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES "${labels_file}")
  endif()
endfunction()
