// spdlog set-up for the executable: console (stderr) and an optional rotating file, one level.
#pragma once

#include "cli/config.h"
#include "core/status.h"

namespace minyi::cli {

// Installs the default logger. Libraries log through spdlog's default logger.
Status SetupLogging(const LogOptions& options);

}  // namespace minyi::cli
