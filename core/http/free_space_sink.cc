#include "core/http/free_space_sink.h"

#include <sys/statvfs.h>

#include <utility>

namespace minyi::http {

std::optional<std::uint64_t> FreeBytesAt(const std::string& path) {
  struct statvfs st {};
  if (::statvfs(path.c_str(), &st) != 0) return std::nullopt;
  return static_cast<std::uint64_t>(st.f_bavail) * static_cast<std::uint64_t>(st.f_frsize);
}

std::string LogDirectory(const std::string& file) {
  const auto slash = file.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : file.substr(0, slash);
}

FreeSpaceSink::FreeSpaceSink(spdlog::sink_ptr inner, std::string dir, std::uint64_t min_free_bytes,
                             FreeBytes free_bytes, std::function<std::chrono::steady_clock::time_point()> now)
    : inner_(std::move(inner)),
      dir_(std::move(dir)),
      min_free_bytes_(min_free_bytes),
      free_bytes_(std::move(free_bytes)),
      now_(std::move(now)) {}

std::uint64_t FreeSpaceSink::dropped() const { return dropped_.load(); }

bool FreeSpaceSink::HasRoom() {
  if (min_free_bytes_ == 0) return true;
  const auto now = now_();
  if (!checked_ || now - checked_at_ >= std::chrono::seconds(1)) {
    const std::optional<std::uint64_t> free = free_bytes_(dir_);
    room_ = !free.has_value() || *free >= min_free_bytes_;
    checked_at_ = now;
    checked_ = true;
  }
  return room_;
}

void FreeSpaceSink::sink_it_(const spdlog::details::log_msg& msg) {
  if (!HasRoom()) {
    ++dropped_;
    return;
  }
  if (dropped_ > 0) {
    const std::string note = "log: " + std::to_string(dropped_.load()) + " lines were dropped while " + dir_ +
                             " had less than " + std::to_string(min_free_bytes_ / (1024 * 1024)) +
                             " MB free (log.min_free_mb)";
    inner_->log(
        spdlog::details::log_msg(msg.time, spdlog::source_loc{}, msg.logger_name, spdlog::level::warn, note));
    dropped_ = 0;
  }
  inner_->log(msg);
}

void FreeSpaceSink::flush_() { inner_->flush(); }

void FreeSpaceSink::set_pattern_(const std::string& pattern) { inner_->set_pattern(pattern); }

void FreeSpaceSink::set_formatter_(std::unique_ptr<spdlog::formatter> formatter) {
  inner_->set_formatter(std::move(formatter));
}

}  // namespace minyi::http
