// The repository's own area registry (data/) and survey catalog (conf/surveys/), loaded once per test
// process, for unit tests that need real division codes and the shipped surveys. A file that cannot be
// loaded ends the process with its reason (nothing a test could check would be meaningful without it).
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>

#include "core/areas.h"
#include "core/survey.h"

namespace minyi::testsupport {

template <typename T>
T LoadedOrExit(Result<T> loaded, const char* what) {
  if (!loaded.ok()) {
    std::fprintf(stderr, "%s: %s\n", what, loaded.status().ToString().c_str());
    std::exit(2);
  }
  return std::move(loaded).value();
}

inline const AreaRegistry& RepoAreas() {
  static const AreaRegistry areas =
      LoadedOrExit(AreaRegistry::LoadDirectory(std::string(MINYI_SOURCE_DIR) + "/data"), "data/");
  return areas;
}

inline const SurveyCatalog& RepoSurveys() {
  static const SurveyCatalog surveys = LoadedOrExit(
      SurveyCatalog::LoadDirectory(std::string(MINYI_SOURCE_DIR) + "/conf/surveys"), "conf/surveys/");
  return surveys;
}

}  // namespace minyi::testsupport
