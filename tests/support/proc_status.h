// Memory figures of a process from /proc/<pid>/status, for tests that bound what hostile input may
// cost (issue 13): VmRSS (now) and VmHWM (the peak). Linux only. Header-only.
#pragma once

#include <cstddef>
#include <fstream>
#include <string>

namespace minyi::testing {

// A field of /proc/<pid>/status in KiB ("VmHWM", "VmRSS"); `pid` "self" for this process; 0 when
// absent.
inline std::size_t ProcStatusKib(const std::string& key, const std::string& pid = "self") {
  std::ifstream in("/proc/" + pid + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key + ":", 0) == 0) return std::stoul(line.substr(key.size() + 1));
  }
  return 0;
}

// Resets this process's VmHWM to its current RSS (writing 5 to clear_refs); false when not allowed.
inline bool ResetPeakMemory() {
  std::ofstream out("/proc/self/clear_refs");
  out << "5";
  out.flush();
  return static_cast<bool>(out);
}

}  // namespace minyi::testing
