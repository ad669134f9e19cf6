# MINYI_SANITIZE=address,undefined | thread: every object of the tree compiled and linked with those
# sanitizers (tests/README.md "Sanitizers"; CMakePresets.json: presets asan and tsan). UBSan and ASan
# abort on the first finding (-fno-sanitize-recover=all), so a finding fails the test that triggered it; frame
# pointers stay for readable stacks. Suppressions (tests/sanitize/*.supp) are only for faults inside
# third-party libraries, each with its reason; the environment that uses them is set by CTest below.
set(MINYI_SANITIZE "" CACHE STRING "Sanitizers for the whole tree: address,undefined or thread (empty: none)")
set_property(CACHE MINYI_SANITIZE PROPERTY STRINGS "" "address,undefined" "thread")

if(MINYI_SANITIZE)
  if(NOT MINYI_SANITIZE MATCHES "^(address,undefined|thread)$")
    message(FATAL_ERROR "MINYI_SANITIZE must be address,undefined or thread, not '${MINYI_SANITIZE}'")
  endif()
  add_compile_options(-fsanitize=${MINYI_SANITIZE} -fno-sanitize-recover=all -fno-omit-frame-pointer)
  add_link_options(-fsanitize=${MINYI_SANITIZE})
endif()

# MINYI_TEST_TIMEOUT_SCALE multiplies the CTest TIMEOUT of every minyi_add_test (cmake/MinyiWarnings.cmake),
# so a test that only runs slower under a sanitizer does not fail on its time limit while the normal build
# keeps the tight one. 3 under ThreadSanitizer: dashboard_test (TIMEOUT 300) took 202 s in one run of the
# tsan selection and was killed at 300 s in the next, on 2 cores loaded by other builds. 1 under ASan +
# UBSan, where the whole suite keeps its limits (the asan preset, CI).
if(MINYI_SANITIZE STREQUAL "thread")
  set(MINYI_TEST_TIMEOUT_SCALE 3)
else()
  set(MINYI_TEST_TIMEOUT_SCALE 1)
endif()

# The sanitizer runtime options of every test (and of the minyi processes a test starts, which inherit
# them): CTest reads build-dir/minyi_sanitize_env.cmake before the tests (TEST_INCLUDE_FILES) and sets
# them in its own environment, unless they are set already. A property ENVIRONMENT would not do:
# gtest_discover_tests flattens a list-valued property. exitcode=23 (distinct from a failed test's 1)
# says in the log that a sanitizer, not an assertion, failed the test.
set(MINYI_SANITIZE_SUPP_DIR "${PROJECT_SOURCE_DIR}/tests/sanitize")
if(MINYI_SANITIZE STREQUAL "thread")
  set(minyi_sanitize_env
    TSAN_OPTIONS "halt_on_error=1:exitcode=23:second_deadlock_stack=1:suppressions=${MINYI_SANITIZE_SUPP_DIR}/tsan.supp")
elseif(MINYI_SANITIZE)
  set(minyi_sanitize_env
    ASAN_OPTIONS "halt_on_error=1:exitcode=23:detect_leaks=1:strict_string_checks=1:check_initialization_order=1:detect_stack_use_after_return=1"
    UBSAN_OPTIONS "halt_on_error=1:print_stacktrace=1:exitcode=23"
    LSAN_OPTIONS "suppressions=${MINYI_SANITIZE_SUPP_DIR}/lsan.supp")
endif()
if(MINYI_SANITIZE)
  set(minyi_env_script "")
  while(minyi_sanitize_env)
    list(POP_FRONT minyi_sanitize_env var value)
    string(APPEND minyi_env_script "if(NOT DEFINED ENV{${var}})\n  set(ENV{${var}} \"${value}\")\nendif()\n")
  endwhile()
  file(WRITE "${PROJECT_BINARY_DIR}/minyi_sanitize_env.cmake" "${minyi_env_script}")
  set_property(DIRECTORY "${PROJECT_SOURCE_DIR}" APPEND PROPERTY TEST_INCLUDE_FILES
               "${PROJECT_BINARY_DIR}/minyi_sanitize_env.cmake")
endif()
