#include "cli/logging.h"

#include <fcntl.h>
#include <spdlog/sinks/rotating_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <memory>
#include <vector>

#include "core/http/free_space_sink.h"

namespace minyi::cli {

Status SetupLogging(const LogOptions& options) {
  std::vector<spdlog::sink_ptr> sinks;
  sinks.push_back(std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
  if (!options.file.empty()) {
    try {
      // spdlog opens its files with fopen (mode 0666 less the umask, so usually 0644): before each open
      // (the first and every rotation) the file is created 0600 if missing, and made 0600 if not.
      spdlog::file_event_handlers owner_only;
      owner_only.before_open = [](const spdlog::filename_t& name) {
        const int fd = ::open(name.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        if (fd >= 0) {
          ::fchmod(fd, 0600);
          ::close(fd);
        }
      };
      sinks.push_back(std::make_shared<http::FreeSpaceSink>(
          std::make_shared<spdlog::sinks::rotating_file_sink_st>(
              options.file, static_cast<std::size_t>(options.max_size_mb) * 1024 * 1024,
              static_cast<std::size_t>(options.max_files), false, owner_only),
          http::LogDirectory(options.file), static_cast<std::uint64_t>(options.min_free_mb) << 20));
    } catch (const spdlog::spdlog_ex& e) {
      return Status::InvalidInput("log.file " + options.file + ": " + e.what());
    }
  }
  auto logger = std::make_shared<spdlog::logger>("minyi", sinks.begin(), sinks.end());
  logger->set_level(spdlog::level::from_str(options.level));
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %^%l%$ [%t] %v");
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(logger);
  return Status::Ok();
}

}  // namespace minyi::cli
