// LoadConfig on files (the command-line handling is covered end to end by tests/integration/cli_test.cc).
#include "cli/config.h"

#include <Poco/File.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace minyi::cli {
namespace {

// A config file in the test's temporary directory, removed afterwards.
class ConfigFile {
 public:
  ConfigFile(const std::string& name, const std::string& text) : path_(testing::TempDir() + name) {
    std::ofstream(path_) << text;
  }
  ~ConfigFile() { std::remove(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Found by tests/fuzz/fuzz_config: a key with an empty component ("=1", "a..b = 1", a JSON "" member)
// made the unknown-key check recurse on the same prefix until the stack overflowed.
TEST(ConfigTest, EmptyKeyComponentIsAnUnknownKeyNotAStackOverflow) {
  struct Case {
    const char* name;
    const char* text;
    const char* key;
  };
  for (const Case& c :
       {Case{"empty.properties", "=1\n", "''"}, Case{"dots.properties", "http..port = 1\n", "'http.'"},
        Case{"empty.json", "{\"\": {\"x\": 1}}", "''"}, Case{"empty.ini", "[]\nport = 1\n", "unknown key"}}) {
    ConfigFile file(c.name, c.text);
    ConfigSources sources;
    sources.file = file.path();
    auto config = LoadConfig(sources);
    ASSERT_FALSE(config.ok()) << c.name;
    EXPECT_EQ(config.status().code(), StatusCode::kInvalidInput) << c.name;
    EXPECT_NE(config.status().message().find(c.key), std::string::npos)
        << c.name << ": " << config.status().message();
  }
}

TEST(ConfigTest, KnownKeysInEachFileFormatAreRead) {
  ConfigFile properties("ok.properties", "http.port = 9001\n");
  ConfigFile ini("ok.ini", "[http]\nport = 9002\n");
  ConfigFile json("ok.json", "{\"http\": {\"port\": 9003}}");
  int port = 9001;
  for (const ConfigFile* file : {&properties, &ini, &json}) {
    ConfigSources sources;
    sources.file = file->path();
    auto config = LoadConfig(sources);
    ASSERT_TRUE(config.ok()) << file->path() << ": " << config.status().message();
    EXPECT_EQ(config->http.port, port++);
  }
}

// Regression: HttpOptions said `threads = 16` while the documented default (ConfigDefaults, README,
// conf/minyi.sample.properties) is 256. The struct's initialisers are what a reader of config.h takes for
// the defaults: they must equal a configuration loaded from the defaults alone.
TEST(ConfigTest, HttpOptionsInitialisersAreTheDocumentedDefaults) {
  auto loaded = LoadConfig(ConfigSources{});
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  // Every field, in declaration order; gtest prints both tuples when they differ.
  auto fields = [](const HttpOptions& h) {
    return std::make_tuple(h.host, h.port, h.threads, h.max_queued, h.public_url, h.trust_forwarded_for,
                           h.bench_routes, h.header_timeout_s, h.body_min_bytes_per_s,
                           h.max_connections_per_address, h.connection_cap_exempt, h.drain_timeout_s);
  };
  const HttpOptions defaults;
  EXPECT_EQ(fields(defaults), fields(loaded->http));
}

// Issue #18: the binary found its data only through the source tree compiled into it. Installed as
// <prefix>/bin/minyi beside <prefix>/share/minyi, it reads data from there and keeps state in /var/lib/minyi
// ($STATE_DIRECTORY first); anywhere else it is a checkout build: the source tree, and var/.
TEST(ConfigTest, LayoutFollowsTheExecutablesInstallPrefix) {
  const std::string prefix = testing::TempDir() + "layout-prefix";
  const std::string share = prefix + "/share/minyi";
  Poco::File(share + "/conf/surveys").createDirectories();
  ::unsetenv("STATE_DIRECTORY");

  ConfigSources installed;
  installed.executable = prefix + "/bin/minyi";
  installed.checkout_dir = "/nonexistent/checkout";
  auto config = LoadConfig(installed);
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_TRUE(config->paths.installed);
  EXPECT_EQ(config->paths.data_dir, share);
  EXPECT_EQ(config->paths.surveys, share + "/conf/surveys");
  EXPECT_EQ(config->dashboard.web_dir, share + "/web");
  EXPECT_EQ(config->paths.state_dir, "/var/lib/minyi");
  EXPECT_EQ(config->store.sqlite.path, "/var/lib/minyi/minyi.db");
  EXPECT_EQ(config->sms.encryption_key_file, "/var/lib/minyi/sms_encryption.key");

  ::setenv("STATE_DIRECTORY", "/var/lib/minyi-test:/other", 1);  // systemd's StateDirectory=
  config = LoadConfig(installed);
  ::unsetenv("STATE_DIRECTORY");
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_EQ(config->store.sqlite.path, "/var/lib/minyi-test/minyi.db");

  installed.overrides = {{"paths.state_dir", "/srv/minyi"}, {"paths.data_dir", "/opt/minyi-data"}};
  config = LoadConfig(installed);
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_FALSE(config->paths.installed);
  EXPECT_EQ(config->store.sqlite.path, "/srv/minyi/minyi.db");
  EXPECT_EQ(config->dashboard.web_dir, "/opt/minyi-data/web");

  ConfigSources checkout;
  checkout.executable = "/nonexistent/build/cli/minyi";
  checkout.checkout_dir = share;  // stands for a source tree holding conf/surveys
  config = LoadConfig(checkout);
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_FALSE(config->paths.installed);
  EXPECT_EQ(config->paths.surveys, share + "/conf/surveys");
  EXPECT_EQ(config->dashboard.web_dir, "");  // the build directory's copy (dashboards::DefaultWebDir)
  EXPECT_EQ(config->store.sqlite.path, "var/minyi.db");
}

// The metrics and access-log keys: the struct initialisers are the documented defaults, and a bad value
// names its key.
TEST(ConfigTest, MetricsAndAccessLogKeys) {
  auto loaded = LoadConfig(ConfigSources{});
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  const MetricsOptions metrics;
  EXPECT_EQ(loaded->metrics.allow_from, metrics.allow_from);
  EXPECT_EQ(loaded->metrics.token_file, metrics.token_file);
  const LogOptions log;
  EXPECT_EQ(loaded->log.access_file, log.access_file);
  EXPECT_EQ(loaded->log.access_format, log.access_format);

  ConfigSources sources;
  sources.overrides = {{"metrics.allow_from", "10.0.0.0/8, 127.0.0.1"}, {"log.access_format", "json"}};
  auto set = LoadConfig(sources);
  ASSERT_TRUE(set.ok()) << set.status().message();
  EXPECT_EQ(set->metrics.allow_from, (std::vector<std::string>{"10.0.0.0/8", "127.0.0.1"}));
  EXPECT_EQ(set->log.access_format, "json");

  for (const auto& [key, value] : std::vector<std::pair<std::string, std::string>>{
           {"metrics.allow_from", "localhost"}, {"log.access_format", "xml"}}) {
    ConfigSources bad;
    bad.overrides = {{key, value}};
    auto refused = LoadConfig(bad);
    ASSERT_FALSE(refused.ok()) << key;
    EXPECT_NE(refused.status().message().find(key), std::string::npos) << refused.status().message();
  }
}

// sms.comment_window_hours (issue 16): the initialiser is the documented default, 0 turns remarks off,
// and a value outside 0..720 names the key.
TEST(ConfigTest, SmsCommentWindowKey) {
  auto loaded = LoadConfig(ConfigSources{});
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  EXPECT_EQ(loaded->sms.comment_window_hours, SmsConfig{}.comment_window_hours);
  EXPECT_EQ(loaded->sms.comment_window_hours, 24);
  ConfigSources off;
  off.overrides = {{"sms.comment_window_hours", "0"}};
  auto set = LoadConfig(off);
  ASSERT_TRUE(set.ok()) << set.status().message();
  EXPECT_EQ(set->sms.comment_window_hours, 0);
  for (const char* value : {"-1", "721", "soon"}) {
    ConfigSources bad;
    bad.overrides = {{"sms.comment_window_hours", value}};
    auto refused = LoadConfig(bad);
    ASSERT_FALSE(refused.ok()) << value;
    EXPECT_NE(refused.status().message().find("sms.comment_window_hours"), std::string::npos)
        << refused.status().message();
  }
}

TEST(ConfigTest, ClusterKeys) {
  auto loaded = LoadConfig(ConfigSources{});
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  EXPECT_EQ(loaded->cluster.lease_seconds, ClusterConfig{}.lease_seconds);
  EXPECT_EQ(loaded->cluster.lease_seconds, 15);
  EXPECT_EQ(loaded->cluster.migrate_wait_seconds, 120);
  // The default node name is this host and process: unique among servers on other hosts and this one.
  EXPECT_NE(loaded->cluster.node_name.find("-" + std::to_string(getpid())), std::string::npos)
      << loaded->cluster.node_name;
  ConfigSources named;
  named.overrides = {{"cluster.node_name", "node-1"}, {"cluster.lease_seconds", "2"}};
  auto set = LoadConfig(named);
  ASSERT_TRUE(set.ok()) << set.status().message();
  EXPECT_EQ(set->cluster.node_name, "node-1");
  EXPECT_EQ(set->cluster.lease_seconds, 2);
  for (const auto& [key, value] :
       std::vector<std::pair<std::string, std::string>>{{"cluster.lease_seconds", "1"},
                                                        {"cluster.lease_seconds", "3601"},
                                                        {"cluster.migrate_wait_seconds", "-1"},
                                                        {"cluster.node_name", std::string(129, 'n')}}) {
    ConfigSources bad;
    bad.overrides = {{key, value}};
    auto refused = LoadConfig(bad);
    ASSERT_FALSE(refused.ok()) << key << "=" << value;
    EXPECT_NE(refused.status().message().find(key), std::string::npos) << refused.status().message();
  }
}

}  // namespace
}  // namespace minyi::cli
