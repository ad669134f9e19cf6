// A spdlog sink that keeps a reserve of free disk space (issue 13): it passes lines to the file sink it
// wraps only while the file system holding the log keeps at least `min_free_bytes` free. On a full disk
// the log must not take the space an operator frees for the database: measured before this sink, with
// the log on the store's full tmpfs, the log took 20 KB of 256 KB freed within seconds. Lines below the
// reserve are dropped and counted; the first line written after space returns says how many were lost.
// Free space is read (statvfs) at most once a second, so a line costs a clock read, not a system call.
// The main log (cli/logging.cc) and the access log (telemetry.h) use it.
#pragma once

#include <spdlog/details/log_msg.h>
#include <spdlog/sinks/base_sink.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

namespace minyi::http {

// Free bytes for an unprivileged writer on the file system holding `path` (statvfs f_bavail), or
// nullopt when it cannot be read (then lines are written).
std::optional<std::uint64_t> FreeBytesAt(const std::string& path);

class FreeSpaceSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  using FreeBytes = std::function<std::optional<std::uint64_t>(const std::string&)>;
  // `dir`: the directory of the log file. `min_free_bytes` 0: never drop. `free_bytes` and `now` are
  // for tests.
  FreeSpaceSink(spdlog::sink_ptr inner, std::string dir, std::uint64_t min_free_bytes,
                FreeBytes free_bytes = FreeBytesAt,
                std::function<std::chrono::steady_clock::time_point()> now = std::chrono::steady_clock::now);

  std::uint64_t dropped() const;  // lines dropped since the last one written

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override;
  void flush_() override;
  // The logger's pattern and formatter belong to the wrapped sink, which formats the lines.
  void set_pattern_(const std::string& pattern) override;
  void set_formatter_(std::unique_ptr<spdlog::formatter> formatter) override;

 private:
  bool HasRoom();

  spdlog::sink_ptr inner_;
  const std::string dir_;
  const std::uint64_t min_free_bytes_;
  FreeBytes free_bytes_;
  std::function<std::chrono::steady_clock::time_point()> now_;
  std::chrono::steady_clock::time_point checked_at_{};
  bool room_ = true;
  bool checked_ = false;
  std::atomic<std::uint64_t> dropped_{0};
};

// The directory part of a log file's path ("." when it has none).
std::string LogDirectory(const std::string& file);

}  // namespace minyi::http
