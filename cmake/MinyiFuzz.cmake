# MINYI_FUZZ=ON: the libFuzzer targets (tests/fuzz, tests/README.md "Fuzzing"). Clang only. Every object is
# compiled with -fsanitize=fuzzer-no-link (coverage for libFuzzer) and ASan + UBSan that aborts, so a
# finding is a crash (cmake/MinyiSanitize.cmake); the fuzz targets link -fsanitize=fuzzer.
# - With MINYI_SANITIZE=address,undefined (preset asan, what CI uses): the whole tree and its tests are
#   built too, so one build directory serves the sanitized test run and the fuzz targets.
# - Alone (MINYI_FUZZ_ONLY): only core, core/http and collector/ are built; the tests, benchmarks, the
#   cli, sql, aggregator, dashboards and exports are skipped.
option(MINYI_FUZZ "Build the libFuzzer targets in tests/fuzz (clang only)" OFF)

set(MINYI_FUZZ_ONLY OFF)
if(MINYI_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "MINYI_FUZZ needs clang (CXX=clang++), not ${CMAKE_CXX_COMPILER_ID}")
  endif()
  if(NOT MINYI_SANITIZE)
    set(MINYI_FUZZ_ONLY ON)
    set(MINYI_SANITIZE address,undefined)
  elseif(NOT MINYI_SANITIZE STREQUAL "address,undefined")
    message(FATAL_ERROR "MINYI_FUZZ goes with MINYI_SANITIZE=address,undefined, not '${MINYI_SANITIZE}'")
  endif()
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()

# minyi_add_fuzz_target(<name> LIBS ... [SOURCES ...]): tests/fuzz/fuzz_<name>.cc linked with libFuzzer.
function(minyi_add_fuzz_target name)
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBS" ${ARGN})
  add_executable(fuzz_${name} fuzz_${name}.cc ${ARG_SOURCES})
  minyi_target_warnings(fuzz_${name})
  target_link_libraries(fuzz_${name} PRIVATE ${ARG_LIBS})
  target_include_directories(fuzz_${name} PRIVATE "${PROJECT_SOURCE_DIR}")
  target_compile_definitions(fuzz_${name} PRIVATE MINYI_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
  target_link_options(fuzz_${name} PRIVATE -fsanitize=fuzzer)
  add_dependencies(minyi_fuzz_targets fuzz_${name})
endfunction()
