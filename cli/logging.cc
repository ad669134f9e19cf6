#include "cli/logging.h"

#include <spdlog/sinks/rotating_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <vector>

namespace minyi::cli {

Status SetupLogging(const LogOptions& options) {
  std::vector<spdlog::sink_ptr> sinks;
  sinks.push_back(std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
  if (!options.file.empty()) {
    try {
      sinks.push_back(std::make_shared<spdlog::sinks::rotating_file_sink_mt>(
          options.file, static_cast<std::size_t>(options.max_size_mb) * 1024 * 1024,
          static_cast<std::size_t>(options.max_files)));
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
