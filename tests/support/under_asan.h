// MINYI_UNDER_ASAN is 1 in a build with AddressSanitizer (the asan preset), else 0: tests that bound a
// process's peak memory allow for ASan's shadow memory and its quarantine of freed blocks (256 MiB by
// default) there. gcc defines __SANITIZE_ADDRESS__, clang answers __has_feature(address_sanitizer).
#pragma once

#if defined(__SANITIZE_ADDRESS__)
#define MINYI_UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MINYI_UNDER_ASAN 1
#endif
#endif
#ifndef MINYI_UNDER_ASAN
#define MINYI_UNDER_ASAN 0
#endif
