#include "core/http/free_space_sink.h"

#include <gtest/gtest.h>
#include <spdlog/logger.h>
#include <spdlog/sinks/ostream_sink.h>

#include <sstream>

namespace minyi::http {
namespace {

// A log on a file system whose free space the test sets, with a clock the test moves.
struct Fixture {
  std::ostringstream out;
  std::uint64_t free = 100ull << 20;
  std::chrono::steady_clock::time_point now{};
  std::shared_ptr<FreeSpaceSink> sink;
  std::shared_ptr<spdlog::logger> logger;

  Fixture() {
    sink = std::make_shared<FreeSpaceSink>(
        std::make_shared<spdlog::sinks::ostream_sink_st>(out), "/var/log/minyi", 64ull << 20,
        [this](const std::string& dir) -> std::optional<std::uint64_t> {
          EXPECT_EQ(dir, "/var/log/minyi");
          return free;
        },
        [this] { return now; });
    logger = std::make_shared<spdlog::logger>("t", sink);
    logger->set_pattern("%l %v");
  }
};

TEST(FreeSpaceSinkTest, DropsAndCountsLinesBelowTheReserveAndSaysSoWhenSpaceReturns) {
  Fixture f;
  f.logger->info("one");
  f.free = 10ull << 20;  // below 64 MB: not seen until the next check, a second later
  f.logger->info("two");
  f.now += std::chrono::seconds(1);
  f.logger->info("three");
  f.logger->warn("four");
  EXPECT_EQ(f.sink->dropped(), 2u);
  f.free = 200ull << 20;
  f.logger->info("five");  // still the last check's answer
  f.now += std::chrono::seconds(1);
  f.logger->info("six");
  EXPECT_EQ(f.sink->dropped(), 0u);
  EXPECT_EQ(
      f.out.str(),
      "info one\ninfo two\n"
      "warning log: 3 lines were dropped while /var/log/minyi had less than 64 MB free (log.min_free_mb)\n"
      "info six\n");
}

TEST(FreeSpaceSinkTest, AnUnreadableFileSystemOrNoReserveNeverDrops) {
  std::ostringstream out;
  auto unreadable = std::make_shared<FreeSpaceSink>(
      std::make_shared<spdlog::sinks::ostream_sink_st>(out), "/nowhere", 64ull << 20,
      [](const std::string&) { return std::optional<std::uint64_t>(); });
  auto none =
      std::make_shared<FreeSpaceSink>(std::make_shared<spdlog::sinks::ostream_sink_st>(out), "/full", 0,
                                      [](const std::string&) { return std::optional<std::uint64_t>(0); });
  spdlog::logger logger("t", {unreadable, none});
  logger.set_pattern("%v");
  logger.info("kept");
  EXPECT_EQ(out.str(), "kept\nkept\n");
}

TEST(FreeSpaceSinkTest, LogDirectoryOfAFile) {
  EXPECT_EQ(LogDirectory("/var/log/minyi/minyi.log"), "/var/log/minyi");
  EXPECT_EQ(LogDirectory("minyi.log"), ".");
  EXPECT_EQ(LogDirectory("/minyi.log"), "/");
  EXPECT_TRUE(FreeBytesAt("/").has_value());
  EXPECT_FALSE(FreeBytesAt("/no/such/dir/anywhere").has_value());
}

}  // namespace
}  // namespace minyi::http
