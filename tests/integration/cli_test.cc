// End-to-end tests of the `minyi` executable: help and configuration handling, the store commands,
// imports, demo data and the server, run as a user would run them.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/integration/minyi_process.h"

namespace minyi::testing {
namespace {

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

TEST(CliHelpTest, GlobalHelpListsEveryCommand) {
  RunResult r = RunMinyi({"--help"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* cmd : {"serve", "db migrate", "db status", "import responses", "import population",
                          "demo seed", "version", "config"}) {
    EXPECT_TRUE(Contains(r.out, std::string("  ") + cmd)) << cmd << "\n" << r.out;
  }
  EXPECT_TRUE(Contains(r.out, "--config FILE"));
  EXPECT_TRUE(Contains(r.out, "-D key=value"));
}

TEST(CliHelpTest, CommandHelpShowsItsOptions) {
  RunResult r = RunMinyi({"demo", "seed", "--help"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(Contains(r.out, "Usage: minyi demo seed"));
  EXPECT_TRUE(Contains(r.out, "--responses N"));
  EXPECT_TRUE(Contains(r.out, "--seed S"));
}

TEST(CliHelpTest, UsageErrorsExitWithTwoAndSayWhy) {
  struct Case {
    std::vector<std::string> args;
    std::string message;
  } cases[] = {
      {{"frobnicate"}, "unknown command 'frobnicate'"},
      {{"db"}, "minyi db migrate"},
      {{"-D", "store.bakend=mysql", "version"}, "store.bakend: unknown configuration key"},
      {{"-D", "store.backend=oracle", "version"}, "expected one of mysql, sqlite"},
      {{"-D", "http.port=70000", "version"}, "http.port"},
      {{"-D", "noequals", "version"}, "-D needs key=value"},
      {{"--config", "/nonexistent/minyi.properties", "version"}, "does not exist"},
      {{"demo", "seed", "--bogus"}, "unknown option --bogus"},
      {{"demo", "seed", "--responses"}, "--responses needs a value"},
      {{"import", "responses"}, "needs FILE"},
  };
  for (const auto& c : cases) {
    RunResult r = RunMinyi(c.args);
    EXPECT_EQ(r.exit_code, 2) << c.args[0];
    EXPECT_TRUE(Contains(r.err, c.message)) << "expected '" << c.message << "' in: " << r.err;
  }
}

TEST(CliConfigTest, LayersFileEnvironmentAndOverridesAndMasksSecrets) {
  TempDir dir;
  WriteFile(dir.File("minyi.properties"),
            "store.backend = mysql\nstore.mysql.password = hunter2\nhttp.port = 9000\nlog.level = warn\n");
  RunResult r = RunMinyi({"--config", dir.File("minyi.properties"), "-D", "http.port=9100", "config"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(Contains(r.out, "store.backend = mysql"));
  EXPECT_TRUE(Contains(r.out, "http.port = 9100"));  // -D beats the file
  EXPECT_TRUE(Contains(r.out, "log.level = warn"));
  EXPECT_TRUE(Contains(r.out, "store.mysql.password = ********"));
  EXPECT_FALSE(Contains(r.out, "hunter2"));
  EXPECT_TRUE(Contains(r.out, "store.sqlite.path = var/minyi.db"));  // untouched default

  WriteFile(dir.File("typo.properties"), "store.sqlite.pth = x.db\n");
  RunResult bad = RunMinyi({"--config", dir.File("typo.properties"), "config"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_TRUE(Contains(bad.err, "unknown key 'store.sqlite.pth'")) << bad.err;
}

TEST(CliVersionTest, PrintsCodeAndSchemaVersion) {
  RunResult r = RunMinyi({"version"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(Contains(r.out, "minyi 0."));
  EXPECT_TRUE(Contains(r.out, "schema version "));
}

}  // namespace
}  // namespace minyi::testing

namespace minyi::testing {
namespace {

TEST(CliConfigTest, SampleConfigurationStatesTheDefaults) {
  RunResult plain = RunMinyi({"config"});
  RunResult sample = RunMinyi({"--config", "conf/minyi.sample.properties", "config"});
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  ASSERT_EQ(sample.exit_code, 0) << sample.err;
  // The sample file adds only its "# from" line.
  EXPECT_EQ(sample.out.substr(sample.out.find('\n') + 1), plain.out);
}

}  // namespace
}  // namespace minyi::testing
