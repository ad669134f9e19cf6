#include "cli/config.h"

#include <Poco/AutoPtr.h>
#include <Poco/Exception.h>
#include <Poco/File.h>
#include <Poco/Net/IPAddress.h>
#include <Poco/Path.h>
#include <Poco/StringTokenizer.h>
#include <Poco/Util/AbstractConfiguration.h>
#include <Poco/Util/IniFileConfiguration.h>
#include <Poco/Util/JSONConfiguration.h>
#include <Poco/Util/LayeredConfiguration.h>
#include <Poco/Util/MapConfiguration.h>
#include <Poco/Util/PropertyFileConfiguration.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <set>

#include "collector/common/address_allow.h"

namespace minyi::cli {
namespace {

using Poco::AutoPtr;
using Poco::Util::AbstractConfiguration;

const std::vector<std::pair<std::string, std::string>>& Defaults() {
  static const std::vector<std::pair<std::string, std::string>> kDefaults = {
      {"store.backend", "sqlite"},
      {"store.sqlite.path", "${paths.state_dir}/minyi.db"},
      {"store.sqlite.synchronous", "FULL"},
      {"store.sqlite.busy_timeout_ms", "5000"},
      {"store.mysql.host", "127.0.0.1"},
      {"store.mysql.port", "3306"},
      {"store.mysql.socket", ""},
      {"store.mysql.user", "minyi"},
      {"store.mysql.password", ""},
      {"store.mysql.database", "minyi"},
      {"store.mysql.pool_size", "8"},
      {"store.mysql.create_database", "false"},
      {"store.mysql.connect_timeout_seconds", "5"},
      {"store.mysql.read_timeout_seconds", "30"},
      {"store.mysql.write_timeout_seconds", "30"},
      {"store.mysql.pool_wait_ms", "5000"},
      {"store.health_timeout_ms", "2000"},
      {"aggregator.interval_ms", "2000"},
      {"aggregator.reconcile_ms", "60000"},
      {"aggregator.threads", "2"},
      {"cluster.node_name", ""},
      {"cluster.lease_seconds", "15"},
      {"cluster.migrate_wait_seconds", "120"},
      {"http.host", "127.0.0.1"},
      {"http.port", "8080"},
      {"http.threads", "256"},
      {"http.max_queued", "512"},
      {"http.public_url", "http://127.0.0.1:8080"},
      {"http.trust_forwarded_for", "false"},
      {"http.bench_routes", "false"},
      {"http.header_timeout_s", "10"},
      {"http.body_min_bytes_per_s", "1024"},
      {"http.max_connections_per_address", "32"},
      {"http.connection_cap_exempt", "127.0.0.1, ::1"},
      {"http.drain_timeout_s", "10"},
      {"collector.open_periods", ""},
      {"collector.respondent_key_secret", ""},
      {"collector.secret_file", ""},
      {"collector.group_commit.max_batch", "512"},
      {"collector.group_commit.max_wait_us", "0"},
      {"collector.group_commit.max_queue", "10000"},
      {"collector.group_commit.commit_timeout_ms", "5000"},
      {"questionnaire.map_dir", "conf/questionnaires"},
      {"questionnaire.wjx.push_secret", ""},
      {"questionnaire.wjx.allow_from", ""},
      {"questionnaire.wjx.allow_revisions", "false"},
      {"questionnaire.txwj.token", ""},
      {"questionnaire.utc_offset_minutes", "480"},
      {"questionnaire.max_body_bytes", "1048576"},
      {"api.max_body_bytes", "1048576"},
      {"api.max_json_depth", "8"},
      {"api.max_batch", "500"},
      {"api.key_cache_seconds", "30"},
      {"web.max_form_bytes", "65536"},
      {"web.rate_limit.per_minute", "60"},
      {"web.rate_limit.burst", "20"},
      {"web.invitation_only", ""},
      {"web.max_responses_per_town", "0"},
      {"web.privacy.controller", "本次调查的组织单位（平安建设工作主管部门）"},
      {"web.privacy.purpose", "了解群众安全感和对网格工作的满意度，只用于统计分析和改进工作，不用于其他目的"},
      {"web.privacy.retention", "调查结束后保存 3 年，到期删除；统计结果只以汇总形式公布"},
      {"sms.encryption_key", ""},
      {"sms.encryption_key_file", "${paths.state_dir}/sms_encryption.key"},
      {"sms.conversation_ttl_hours", "48"},
      {"sms.comment_window_hours", "24"},
      {"sms.max_reasks", "1"},
      {"sms.group_commit", "true"},
      {"sms.retention_days", "30"},
      {"sms.max_body_bytes", "1048576"},
      {"sms.gateway.url", ""},
      {"sms.gateway.token", ""},
      {"sms.gateway.rate_per_second", "10"},
      {"sms.gateway.max_attempts", "5"},
      {"sms.gateway.timeout_ms", "5000"},
      {"sms.aliyun.token", ""},
      {"sms.aliyun.allow_from", ""},
      {"sms.tencent.token", ""},
      {"sms.tencent.allow_from", ""},
      {"sms.huawei.token", ""},
      {"sms.huawei.allow_from", ""},
      {"sms.twilio.auth_token", ""},
      {"sms.twilio.url", ""},
      {"sms.generic.secret", ""},
      {"wechat.utc_offset_minutes", "480"},
      {"wechat.grid_workers", ""},
      {"wechat.max_upload_bytes", "67108864"},
      {"log.level", "info"},
      {"log.file", ""},
      {"log.max_size_mb", "50"},
      {"log.max_files", "5"},
      {"log.min_free_mb", "64"},
      {"paths.data_dir", ""},
      {"paths.state_dir", ""},
      {"log.access_file", ""},
      {"log.access_format", "text"},
      {"metrics.allow_from", "127.0.0.0/8"},
      {"metrics.token_file", ""},
      {"paths.surveys", "conf/surveys"},
      {"paths.areas", "data"},
      {"dashboard.survey", "jiangsu-safety"},
      {"dashboard.web_dir", ""},
      {"dashboard.topics", "conf/topics.json"},
      {"dashboard.refresh_ms", "5000"},
      {"dashboard.session_ttl_minutes", "480"},
      {"dashboard.secure_cookie", "false"},
      {"dashboard.login_max_failures_per_account", "5"},
      {"dashboard.login_max_failures_per_address", "20"},
  };
  return kDefaults;
}

// Environment variables that supply secrets, so they never need to be in a file.
const std::vector<std::pair<std::string, std::string>>& SecretEnv() {
  static const std::vector<std::pair<std::string, std::string>> kEnv = {
      {"MINYI_MYSQL_PASSWORD", "store.mysql.password"},
      {"MINYI_RESPONDENT_KEY_SECRET", "collector.respondent_key_secret"},
      {"MINYI_SMS_ENCRYPTION_KEY", "sms.encryption_key"},
      {"MINYI_SMS_GATEWAY_TOKEN", "sms.gateway.token"},
      {"MINYI_WJX_PUSH_SECRET", "questionnaire.wjx.push_secret"},
      {"MINYI_TXWJ_WEBHOOK_TOKEN", "questionnaire.txwj.token"},
  };
  return kEnv;
}

bool IsSecret(const std::string& key) {
  return key.find("password") != std::string::npos || key.find("_secret") != std::string::npos ||
         key.find("token") != std::string::npos || key == "sms.encryption_key" || key == "sms.generic.secret";
}

void CollectKeys(const AbstractConfiguration& config, const std::string& prefix, std::vector<std::string>& out) {
  AbstractConfiguration::Keys keys;
  config.keys(prefix, keys);
  if (keys.empty() && !prefix.empty()) {
    out.push_back(prefix);
    return;
  }
  for (const auto& k : keys) {
    // An empty component ("=1", "a..b = 1", a JSON "" member) is returned again for the same prefix:
    // report the key so far (an unknown key) instead of recursing until the stack overflows.
    if (k.empty()) {
      out.push_back(prefix.empty() ? std::string() : prefix + ".");
      continue;
    }
    CollectKeys(config, prefix.empty() ? k : prefix + "." + k, out);
  }
}

Status ReadInt64(const AbstractConfiguration& c, const std::string& key, long long min, long long max, long long& out) {
  const std::string text = c.getString(key);
  try {
    std::size_t used = 0;
    const long long v = std::stoll(text, &used);
    if (used != text.size() || v < min || v > max) throw std::out_of_range(key);
    out = v;
    return Status::Ok();
  } catch (const std::exception&) {
    return Status::InvalidInput(key + " = '" + text + "': expected a whole number from " + std::to_string(min) +
                                " to " + std::to_string(max));
  }
}

Status ReadInt(const AbstractConfiguration& c, const std::string& key, int min, int max, int& out) {
  long long v = 0;
  MINYI_RETURN_IF_ERROR(ReadInt64(c, key, min, max, v));
  out = static_cast<int>(v);
  return Status::Ok();
}

// A comma-separated list of IP addresses ("" = none), each checked.
Status ReadAddressList(const AbstractConfiguration& c, const std::string& key,
                       std::vector<std::string>& out) {
  out.clear();
  const std::string text = c.getString(key);
  Poco::StringTokenizer items(text, ",",
                              Poco::StringTokenizer::TOK_TRIM | Poco::StringTokenizer::TOK_IGNORE_EMPTY);
  for (const std::string& item : items) {
    Poco::Net::IPAddress address;
    if (!Poco::Net::IPAddress::tryParse(item, address)) {
      return Status::InvalidInput(key + ": '" + item + "' is not an IP address");
    }
    out.push_back(address.toString());
  }
  return Status::Ok();
}

Status ReadBool(const AbstractConfiguration& c, const std::string& key, bool& out) {
  const std::string text = c.getString(key);
  if (text == "true" || text == "1" || text == "yes" || text == "on") {
    out = true;
  } else if (text == "false" || text == "0" || text == "no" || text == "off" || text.empty()) {
    out = false;
  } else {
    return Status::InvalidInput(key + " = '" + text + "': expected true or false");
  }
  return Status::Ok();
}

// Each entry must be an IPv4 address or CIDR block. Checked with the matcher that will use the list
// (collector/common/address_allow.h AddressAllowed), so that what is accepted here is what it understands:
// the address must match itself as a /32 (it is IPv4) and the entry (its prefix length is usable).
Status CheckAllowList(const std::string& key, const std::vector<std::string>& entries) {
  for (const std::string& entry : entries) {
    const std::string address = entry.substr(0, entry.find('/'));
    if (!collector::AddressAllowed(address, {address + "/32"}) ||
        !collector::AddressAllowed(address, {entry})) {
      return Status::InvalidInput(key + " = '" + entry + "': not an IPv4 address or CIDR block (10.0.0.0/8)");
    }
  }
  return Status::Ok();
}

Status ReadChoice(const AbstractConfiguration& c, const std::string& key, const std::set<std::string>& allowed,
                  std::string& out) {
  out = c.getString(key);
  if (allowed.count(out) == 0) {
    std::string list;
    for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
    return Status::InvalidInput(key + " = '" + out + "': expected one of " + list);
  }
  return Status::Ok();
}

Result<AutoPtr<AbstractConfiguration>> ReadFile(const std::string& file) {
  if (!Poco::File(file).exists()) return Status::InvalidInput("config file " + file + " does not exist");
  const std::string ext = Poco::Path(file).getExtension();
  try {
    if (ext == "properties" || ext == "conf") {
      return AutoPtr<AbstractConfiguration>(new Poco::Util::PropertyFileConfiguration(file));
    }
    if (ext == "ini") return AutoPtr<AbstractConfiguration>(new Poco::Util::IniFileConfiguration(file));
    if (ext == "json") return AutoPtr<AbstractConfiguration>(new Poco::Util::JSONConfiguration(file));
  } catch (const Poco::Exception& e) {
    return Status::InvalidInput("config file " + file + ": " + e.displayText());
  }
  return Status::InvalidInput("config file " + file + ": use a .properties, .ini or .json file");
}

// The directories of PathOptions (README "Deploy" says how they are chosen), from the configured
// paths.data_dir and paths.state_dir (empty: chosen here) and where the executable is.
PathOptions ResolveLayout(const AbstractConfiguration& c, const ConfigSources& sources) {
  PathOptions paths;
  std::string installed_data;
  if (!sources.executable.empty()) {
    Poco::Path share(sources.executable);  // <prefix>/bin/minyi → <prefix>/share/minyi/
    share.makeParent();
    share.popDirectory();
    share.pushDirectory("share");
    share.pushDirectory("minyi");
    if (Poco::File(share.toString() + "conf/surveys").exists()) installed_data = share.toString();
  }
  paths.data_dir = c.getString("paths.data_dir");
  if (paths.data_dir.empty()) {
    paths.installed = !installed_data.empty();
    paths.data_dir = paths.installed ? installed_data : sources.checkout_dir;
  }
  if (paths.data_dir.size() > 1 && paths.data_dir.back() == '/') paths.data_dir.pop_back();
  paths.state_dir = c.getString("paths.state_dir");
  if (paths.state_dir.empty()) {
    // systemd's StateDirectory= sets $STATE_DIRECTORY (a colon-separated list when it names several).
    const char* systemd = std::getenv("STATE_DIRECTORY");
    if (systemd != nullptr && *systemd != '\0') {
      paths.state_dir = std::string(systemd).substr(0, std::string(systemd).find(':'));
    } else {
      paths.state_dir = paths.installed ? "/var/lib/minyi" : "var";
    }
  }
  return paths;
}

// A relative data path that does not exist from the working directory is looked up in data_dir.
std::string ResolveDataPath(const std::string& path, const std::string& data_dir) {
  if (path.empty() || data_dir.empty() || Poco::Path(path).isAbsolute() || Poco::File(path).exists())
    return path;
  Poco::Path in_data(data_dir + "/");
  in_data.append(Poco::Path(path));
  const std::string candidate = in_data.toString();
  return Poco::File(candidate).exists() ? candidate : path;
}

// The configuration's layers, the first named taking precedence: -D overrides, secrets from the environment
// (SecretEnv), the file (sources.file, else $MINYI_CONFIG), the defaults; above them the chosen
// directories, which replace the empty defaults. A key in the file or the overrides that has no default
// is an error. Sets config.sources, config.config_file and config.paths; `own_data_dir` says whether
// the pages are in the data directory's web/ (installed, or paths.data_dir given).
Result<AutoPtr<Poco::Util::LayeredConfiguration>> LayerSources(const ConfigSources& sources, Config& config,
                                                               bool& own_data_dir) {
  std::set<std::string> known;
  AutoPtr<Poco::Util::MapConfiguration> defaults(new Poco::Util::MapConfiguration);
  for (const auto& [k, v] : Defaults()) {
    defaults->setString(k, v);
    known.insert(k);
  }
  AutoPtr<Poco::Util::LayeredConfiguration> layered(new Poco::Util::LayeredConfiguration);
  // Poco: a LOWER priority value takes precedence.
  layered->add(defaults, 40);

  config.sources = sources;
  std::string file = sources.file;
  if (file.empty()) {
    if (const char* env = std::getenv("MINYI_CONFIG"); env != nullptr) file = env;
  }
  if (!file.empty()) {
    auto loaded = ReadFile(file);
    if (!loaded.ok()) return loaded.status();
    std::vector<std::string> keys;
    CollectKeys(**loaded, "", keys);
    for (const auto& k : keys) {
      if (known.count(k) == 0) return Status::InvalidInput("config file " + file + ": unknown key '" + k + "'");
    }
    layered->add(loaded.value(), 30);
    config.config_file = file;
  }

  AutoPtr<Poco::Util::MapConfiguration> env(new Poco::Util::MapConfiguration);
  for (const auto& [var, key] : SecretEnv()) {
    if (const char* value = std::getenv(var.c_str()); value != nullptr) env->setString(key, value);
  }
  layered->add(env, 20);

  AutoPtr<Poco::Util::MapConfiguration> overrides(new Poco::Util::MapConfiguration);
  for (const auto& [k, v] : sources.overrides) {
    if (known.count(k) == 0) return Status::InvalidInput("-D " + k + ": unknown configuration key");
    overrides->setString(k, v);
  }
  layered->add(overrides, 10);

  // The chosen directories replace the empty defaults (and are what ${paths.state_dir} expands to).
  AutoPtr<Poco::Util::MapConfiguration> layout(new Poco::Util::MapConfiguration);
  try {
    config.paths = ResolveLayout(*layered, sources);
    own_data_dir = config.paths.installed || !layered->getString("paths.data_dir").empty();
  } catch (const Poco::Exception& e) {
    return Status::InvalidInput("configuration: " + e.displayText());
  }
  layout->setString("paths.data_dir", config.paths.data_dir);
  layout->setString("paths.state_dir", config.paths.state_dir);
  layered->add(layout, 5);
  return layered;
}

// store.*: the backend and its connection.
Status ReadStore(const AbstractConfiguration& c, Config& config) {
  MINYI_RETURN_IF_ERROR(ReadChoice(c, "store.backend", {"sqlite", "mysql"}, config.store.backend));
  config.store.sqlite.path = c.getString("store.sqlite.path");
  if (config.store.sqlite.path.empty()) return Status::InvalidInput("store.sqlite.path must not be empty");
  MINYI_RETURN_IF_ERROR(ReadChoice(c, "store.sqlite.synchronous", {"FULL", "NORMAL", "EXTRA"},
                                   config.store.sqlite.synchronous));
  MINYI_RETURN_IF_ERROR(
      ReadInt(c, "store.sqlite.busy_timeout_ms", 0, 600000, config.store.sqlite.busy_timeout_ms));
  config.store.mysql.host = c.getString("store.mysql.host");
  MINYI_RETURN_IF_ERROR(ReadInt(c, "store.mysql.port", 1, 65535, config.store.mysql.port));
  config.store.mysql.socket = c.getString("store.mysql.socket");
  config.store.mysql.user = c.getString("store.mysql.user");
  config.store.mysql.password = c.getString("store.mysql.password");
  config.store.mysql.database = c.getString("store.mysql.database");
  MINYI_RETURN_IF_ERROR(ReadInt(c, "store.mysql.pool_size", 1, 256, config.store.mysql.pool_size));
  MINYI_RETURN_IF_ERROR(ReadBool(c, "store.mysql.create_database", config.store.mysql.create_database));
  {
    sql::MysqlOptions& m = config.store.mysql;
    MINYI_RETURN_IF_ERROR(
        ReadInt(c, "store.mysql.connect_timeout_seconds", 1, 3600, m.connect_timeout_seconds));
    MINYI_RETURN_IF_ERROR(ReadInt(c, "store.mysql.read_timeout_seconds", 1, 86400, m.read_timeout_seconds));
    MINYI_RETURN_IF_ERROR(ReadInt(c, "store.mysql.write_timeout_seconds", 1, 86400, m.write_timeout_seconds));
    MINYI_RETURN_IF_ERROR(ReadInt(c, "store.mysql.pool_wait_ms", 1, 3600000, m.pool_wait_ms));
  }
  MINYI_RETURN_IF_ERROR(ReadInt(c, "store.health_timeout_ms", 50, 60000, config.store.health_timeout_ms));
  return Status::Ok();
}

// aggregator.* and cluster.*: live aggregation and the leases of the singleton jobs.
Status ReadAggregatorAndCluster(const AbstractConfiguration& c, Config& config) {
  MINYI_RETURN_IF_ERROR(ReadInt(c, "aggregator.interval_ms", 0, 86400000, config.aggregator.interval_ms));
  MINYI_RETURN_IF_ERROR(ReadInt(c, "aggregator.reconcile_ms", 10, 86400000, config.aggregator.reconcile_ms));
  MINYI_RETURN_IF_ERROR(ReadInt(c, "aggregator.threads", 1, 64, config.aggregator.threads));
  config.cluster.node_name = c.getString("cluster.node_name");
  if (config.cluster.node_name.empty()) {
    char host[256] = {};
    if (gethostname(host, sizeof host - 1) != 0 || host[0] == '\0') {
      std::snprintf(host, sizeof host, "minyi");
    }
    config.cluster.node_name = std::string(host) + "-" + std::to_string(static_cast<long long>(getpid()));
  }
  if (config.cluster.node_name.size() > 128) {
    return Status::InvalidInput("cluster.node_name is longer than 128 bytes");
  }
  // At least 2 s, so that renewing every third of it leaves the database time to answer.
  MINYI_RETURN_IF_ERROR(ReadInt(c, "cluster.lease_seconds", 2, 3600, config.cluster.lease_seconds));
  MINYI_RETURN_IF_ERROR(
      ReadInt(c, "cluster.migrate_wait_seconds", 0, 86400, config.cluster.migrate_wait_seconds));
  return Status::Ok();
}

// http.*: the listener and its limits.
Status ReadHttp(const AbstractConfiguration& c, Config& config) {
  config.http.host = c.getString("http.host");
  MINYI_RETURN_IF_ERROR(ReadInt(c, "http.port", 0, 65535, config.http.port));
  MINYI_RETURN_IF_ERROR(ReadInt(c, "http.threads", 1, 1024, config.http.threads));
  MINYI_RETURN_IF_ERROR(ReadInt(c, "http.max_queued", 1, 100000, config.http.max_queued));
  config.http.public_url = c.getString("http.public_url");
  MINYI_RETURN_IF_ERROR(ReadBool(c, "http.trust_forwarded_for", config.http.trust_forwarded_for));
  MINYI_RETURN_IF_ERROR(ReadBool(c, "http.bench_routes", config.http.bench_routes));
  MINYI_RETURN_IF_ERROR(ReadInt(c, "http.header_timeout_s", 1, 3600, config.http.header_timeout_s));
  MINYI_RETURN_IF_ERROR(
      ReadInt(c, "http.body_min_bytes_per_s", 1, 1 << 30, config.http.body_min_bytes_per_s));
  MINYI_RETURN_IF_ERROR(
      ReadInt(c, "http.max_connections_per_address", 0, 100000, config.http.max_connections_per_address));
  MINYI_RETURN_IF_ERROR(ReadAddressList(c, "http.connection_cap_exempt", config.http.connection_cap_exempt));
  MINYI_RETURN_IF_ERROR(ReadInt(c, "http.drain_timeout_s", 0, 3600, config.http.drain_timeout_s));
  return Status::Ok();
}

// collector.*, api.* and web.*: the web collector.
Status ReadCollector(const AbstractConfiguration& c, Config& config) {
  CollectorOptions& o = config.collector;
  o.open_periods = c.getString("collector.open_periods");
  o.respondent_key_secret = c.getString("collector.respondent_key_secret");
  o.secret_file = c.getString("collector.secret_file");
  MINYI_RETURN_IF_ERROR(ReadInt(c, "collector.group_commit.max_batch", 1, 100000, o.group_commit_max_batch));
  MINYI_RETURN_IF_ERROR(
      ReadInt(c, "collector.group_commit.max_wait_us", 0, 1000000, o.group_commit_max_wait_us));
  MINYI_RETURN_IF_ERROR(
      ReadInt(c, "collector.group_commit.max_queue", 1, 10000000, o.group_commit_max_queue));
  MINYI_RETURN_IF_ERROR(
      ReadInt(c, "collector.group_commit.commit_timeout_ms", 1, 3600000, o.group_commit_commit_timeout_ms));
  MINYI_RETURN_IF_ERROR(ReadInt(c, "api.max_body_bytes", 1024, 1 << 30, o.api_max_body_bytes));
  MINYI_RETURN_IF_ERROR(ReadInt(c, "api.max_json_depth", 2, 1000, o.api_max_json_depth));
  MINYI_RETURN_IF_ERROR(ReadInt(c, "api.max_batch", 1, 100000, o.api_max_batch));
  MINYI_RETURN_IF_ERROR(ReadInt(c, "api.key_cache_seconds", 0, 86400, o.api_key_cache_seconds));
  MINYI_RETURN_IF_ERROR(ReadInt(c, "web.max_form_bytes", 1024, 1 << 30, o.web_max_form_bytes));
  MINYI_RETURN_IF_ERROR(ReadInt(c, "web.rate_limit.per_minute", 0, 1000000, o.web_rate_per_minute));
  MINYI_RETURN_IF_ERROR(ReadInt(c, "web.rate_limit.burst", 1, 1000000, o.web_rate_burst));
  o.web_invitation_only = c.getString("web.invitation_only");
  MINYI_RETURN_IF_ERROR(ReadInt(c, "web.max_responses_per_town", 0, 100000000, o.web_max_responses_per_town));
  o.privacy_controller = c.getString("web.privacy.controller");
  o.privacy_purpose = c.getString("web.privacy.purpose");
  o.privacy_retention = c.getString("web.privacy.retention");
  return Status::Ok();
}

// questionnaire.*: the 问卷星 push and 腾讯问卷 webhook, and the column maps.
Status ReadQuestionnaire(const AbstractConfiguration& c, Config& config) {
  QuestionnaireConfig& q = config.questionnaire;
  q.map_dir = ResolveDataPath(c.getString("questionnaire.map_dir"), config.paths.data_dir);
  q.wjx_push_secret = c.getString("questionnaire.wjx.push_secret");
  q.txwj_token = c.getString("questionnaire.txwj.token");
  q.wjx_allow_from = CommaList(c.getString("questionnaire.wjx.allow_from"));
  MINYI_RETURN_IF_ERROR(CheckAllowList("questionnaire.wjx.allow_from", q.wjx_allow_from));
  MINYI_RETURN_IF_ERROR(ReadBool(c, "questionnaire.wjx.allow_revisions", q.wjx_allow_revisions));
  MINYI_RETURN_IF_ERROR(ReadInt(c, "questionnaire.utc_offset_minutes", -720, 840, q.utc_offset_minutes));
  MINYI_RETURN_IF_ERROR(ReadInt(c, "questionnaire.max_body_bytes", 1024, 1 << 30, q.max_body_bytes));
  return Status::Ok();
}

// sms.*: the conversation, the gateway and the inbound providers.
Status ReadSms(const AbstractConfiguration& c, Config& config) {
  SmsConfig& m = config.sms;
  m.encryption_key = c.getString("sms.encryption_key");
  m.encryption_key_file = c.getString("sms.encryption_key_file");
  MINYI_RETURN_IF_ERROR(ReadInt(c, "sms.conversation_ttl_hours", 1, 24 * 365, m.conversation_ttl_hours));
  MINYI_RETURN_IF_ERROR(ReadInt(c, "sms.comment_window_hours", 0, 24 * 30, m.comment_window_hours));
  MINYI_RETURN_IF_ERROR(ReadInt(c, "sms.max_reasks", 0, 5, m.max_reasks));
  MINYI_RETURN_IF_ERROR(ReadBool(c, "sms.group_commit", m.group_commit));
  MINYI_RETURN_IF_ERROR(ReadInt(c, "sms.retention_days", 1, 36500, m.retention_days));
  MINYI_RETURN_IF_ERROR(ReadInt(c, "sms.max_body_bytes", 1024, 1 << 30, m.max_body_bytes));
  m.gateway_url = c.getString("sms.gateway.url");
  m.gateway_token = c.getString("sms.gateway.token");
  MINYI_RETURN_IF_ERROR(ReadInt(c, "sms.gateway.rate_per_second", 1, 10000, m.gateway_rate_per_second));
  MINYI_RETURN_IF_ERROR(ReadInt(c, "sms.gateway.max_attempts", 1, 100, m.gateway_max_attempts));
  MINYI_RETURN_IF_ERROR(ReadInt(c, "sms.gateway.timeout_ms", 100, 600000, m.gateway_timeout_ms));
  for (const std::string provider : {"aliyun", "tencent", "huawei"}) {
    m.inbound[provider].token = c.getString("sms." + provider + ".token");
    m.inbound[provider].allow_from = CommaList(c.getString("sms." + provider + ".allow_from"));
  }
  m.twilio_auth_token = c.getString("sms.twilio.auth_token");
  m.twilio_url = c.getString("sms.twilio.url");
  m.generic_secret = c.getString("sms.generic.secret");
  return Status::Ok();
}

}  // namespace

std::vector<std::pair<std::string, std::string>> ConfigDefaults() { return Defaults(); }

bool PublicUrlIsHttps(const HttpOptions& http) {
  return Poco::icompare(http.public_url.substr(0, 8), "https://") == 0;
}

Result<Config> LoadConfig(const ConfigSources& sources) {
  Config config;
  bool own_data_dir = false;  // installed, or paths.data_dir given: the pages are in its web/
  auto layered = LayerSources(sources, config, own_data_dir);
  if (!layered.ok()) return layered.status();
  const AbstractConfiguration& c = *layered.value();
  try {
    MINYI_RETURN_IF_ERROR(ReadStore(c, config));
    MINYI_RETURN_IF_ERROR(ReadAggregatorAndCluster(c, config));
    MINYI_RETURN_IF_ERROR(ReadHttp(c, config));
    MINYI_RETURN_IF_ERROR(ReadCollector(c, config));
    MINYI_RETURN_IF_ERROR(ReadQuestionnaire(c, config));
    MINYI_RETURN_IF_ERROR(ReadSms(c, config));
    {
      WechatConfig& w = config.wechat;
      MINYI_RETURN_IF_ERROR(ReadInt(c, "wechat.utc_offset_minutes", -720, 840, w.utc_offset_minutes));
      w.grid_workers = CommaList(c.getString("wechat.grid_workers"));
      MINYI_RETURN_IF_ERROR(ReadInt64(c, "wechat.max_upload_bytes", 1024, 1LL << 31, w.max_upload_bytes));
    }
    MINYI_RETURN_IF_ERROR(
        ReadChoice(c, "log.level", {"trace", "debug", "info", "warn", "error", "off"}, config.log.level));
    config.log.file = c.getString("log.file");
    MINYI_RETURN_IF_ERROR(ReadInt(c, "log.max_size_mb", 1, 100000, config.log.max_size_mb));
    MINYI_RETURN_IF_ERROR(ReadInt(c, "log.max_files", 1, 1000, config.log.max_files));
    MINYI_RETURN_IF_ERROR(ReadInt(c, "log.min_free_mb", 0, 1 << 20, config.log.min_free_mb));
    config.log.access_file = c.getString("log.access_file");
    MINYI_RETURN_IF_ERROR(ReadChoice(c, "log.access_format", {"text", "json"}, config.log.access_format));
    config.metrics.allow_from = CommaList(c.getString("metrics.allow_from"));
    MINYI_RETURN_IF_ERROR(CheckAllowList("metrics.allow_from", config.metrics.allow_from));
    config.metrics.token_file = c.getString("metrics.token_file");
    config.paths.surveys = ResolveDataPath(c.getString("paths.surveys"), config.paths.data_dir);
    config.paths.areas = ResolveDataPath(c.getString("paths.areas"), config.paths.data_dir);
    {
      DashboardConfig& d = config.dashboard;
      d.survey = c.getString("dashboard.survey");
      d.web_dir = c.getString("dashboard.web_dir");
      // Empty in a checkout: the copy in the build directory (dashboards::DefaultWebDir()).
      if (d.web_dir.empty() && own_data_dir) d.web_dir = config.paths.data_dir + "/web";
      d.web_dir = ResolveDataPath(d.web_dir, config.paths.data_dir);
      d.topics = ResolveDataPath(c.getString("dashboard.topics"), config.paths.data_dir);
      MINYI_RETURN_IF_ERROR(ReadInt(c, "dashboard.refresh_ms", 100, 3600000, d.refresh_ms));
      MINYI_RETURN_IF_ERROR(ReadInt(c, "dashboard.session_ttl_minutes", 5, 43200, d.session_ttl_minutes));
      MINYI_RETURN_IF_ERROR(ReadBool(c, "dashboard.secure_cookie", d.secure_cookie));
      MINYI_RETURN_IF_ERROR(
          ReadInt(c, "dashboard.login_max_failures_per_account", 1, 1000, d.login_max_failures_per_account));
      MINYI_RETURN_IF_ERROR(
          ReadInt(c, "dashboard.login_max_failures_per_address", 1, 100000, d.login_max_failures_per_address));
    }
    for (const auto& [key, unused] : Defaults()) config.effective.emplace_back(key, c.getString(key));
  } catch (const Poco::Exception& e) {
    return Status::InvalidInput("configuration: " + e.displayText());
  }
  return config;
}

std::string DescribeConfig(const Config& config) {
  std::string out;
  for (const auto& [key, value] : config.effective) {
    out += key + " = " + (IsSecret(key) && !value.empty() ? std::string("********") : value) + "\n";
  }
  return out;
}

std::vector<std::string> CommaList(const std::string& text) {
  std::vector<std::string> out;
  std::string item;
  for (char c : text + ",") {
    if (c == ',') {
      const auto first = item.find_first_not_of(' ');
      if (first != std::string::npos) out.push_back(item.substr(first, item.find_last_not_of(' ') - first + 1));
      item.clear();
    } else {
      item.push_back(c);
    }
  }
  return out;
}

}  // namespace minyi::cli
