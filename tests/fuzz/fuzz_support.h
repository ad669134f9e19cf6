// Shared by the libFuzzer targets of this folder: the area registry (data/) and the survey catalog
// (conf/surveys/) of the source tree, loaded once per process, and a temporary file for the parsers
// that only take a path.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <string_view>

#include "core/areas.h"
#include "core/survey.h"

namespace minyi::fuzz {

inline const AreaRegistry& Areas() {
  static const AreaRegistry* areas = [] {
    auto loaded = AreaRegistry::LoadDirectory(MINYI_SOURCE_DIR "/data");
    if (!loaded.ok()) {
      std::fprintf(stderr, "fuzz: cannot load areas: %s\n", loaded.status().message().c_str());
      std::abort();
    }
    return new AreaRegistry(std::move(loaded).value());
  }();
  return *areas;
}

// conf/surveys/ and the questionnaire fixtures' survey "quest-test" (tests/fixtures/questionnaire).
inline const SurveyCatalog& Surveys() {
  static const SurveyCatalog* catalog = [] {
    auto loaded = SurveyCatalog::LoadDirectory(MINYI_SOURCE_DIR "/conf/surveys");
    std::ifstream in(MINYI_SOURCE_DIR "/tests/fixtures/questionnaire/survey.json");
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto fixture = ParseSurveyDefinition(text);
    if (!loaded.ok() || !fixture.ok()) {
      std::fprintf(stderr, "fuzz: cannot load the surveys\n");
      std::abort();
    }
    loaded->Add(std::make_shared<const SurveyDefinition>(std::move(fixture).value()));
    return new SurveyCatalog(std::move(loaded).value());
  }();
  return *catalog;
}

inline const SurveyDefinition& Survey(std::string_view id) {
  const auto survey = Surveys().Find(id);
  if (survey == nullptr) std::abort();
  return *survey;  // the catalog lives as long as the process
}

// The default survey of the sample configuration.
inline const SurveyDefinition& DefaultSurvey() { return Survey("jiangsu-safety"); }

inline std::string_view AsText(const std::uint8_t* data, std::size_t size) {
  return std::string_view(reinterpret_cast<const char*>(data), size);
}

// A file in $TMPDIR holding the input, removed by the destructor; `suffix` gives the parser its
// extension (".xls", ".properties").
class TempFile {
 public:
  TempFile(std::string_view bytes, const std::string& suffix) {
    const char* dir = std::getenv("TMPDIR");
    path_ = std::string(dir != nullptr && *dir != '\0' ? dir : "/tmp") + "/minyi-fuzz-XXXXXX" + suffix;
    const int fd = mkstemps(path_.data(), static_cast<int>(suffix.size()));
    if (fd < 0) std::abort();
    std::size_t done = 0;
    while (done < bytes.size()) {
      const ssize_t n = write(fd, bytes.data() + done, bytes.size() - done);
      if (n <= 0) std::abort();
      done += static_cast<std::size_t>(n);
    }
    close(fd);
  }
  ~TempFile() { unlink(path_.c_str()); }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace minyi::fuzz
