# MINYI_FUZZ=ON: the libFuzzer build (tests/fuzz, tests/README.md "Fuzzing"). Clang only. Every object is compiled
# with -fsanitize=fuzzer-no-link,address,undefined (coverage for libFuzzer, ASan, UBSan that aborts so a
# finding is a crash); the fuzz targets link -fsanitize=fuzzer. Only core, core/http and collector/ are
# built: the unit tests, benchmarks, the cli, sql, aggregator, dashboards and exports are skipped.
option(MINYI_FUZZ "Build the libFuzzer targets in tests/fuzz (clang only) instead of the rest of the tree" OFF)

if(MINYI_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "MINYI_FUZZ needs clang (CXX=clang++), not ${CMAKE_CXX_COMPILER_ID}")
  endif()
  set(MINYI_SANITIZERS address,undefined)
  add_compile_options(-fsanitize=fuzzer-no-link,${MINYI_SANITIZERS} -fno-sanitize-recover=undefined
                      -fno-omit-frame-pointer)
  add_link_options(-fsanitize=${MINYI_SANITIZERS})
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
endfunction()
