// Configuration, read once at start-up into typed option structs (after leveldb's options.h and
// Poco's LayeredConfiguration). Layers, lowest priority first:
//   1. built-in defaults (kDefaults in config.cc; documented in README "Configuration"),
//   2. the file named by --config (or $MINYI_CONFIG): .properties, .ini or .json,
//   3. secrets from the environment (MINYI_MYSQL_PASSWORD → store.mysql.password),
//   4. -D key=value overrides on the command line.
// Unknown keys in a file or -D are an error (a typo must not silently fall back to a default).
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/status.h"
#include "sql/store.h"

namespace minyi::cli {

struct HttpOptions {
  std::string host = "127.0.0.1";
  int port = 8080;  // 0 = any free port (tests); the bound port is logged
  int threads = 256;  // connection threads: clients served at once
  int max_queued = 512;
  std::string public_url = "http://127.0.0.1:8080";  // base of invitation links
  bool trust_forwarded_for = false;      // rate-limit pages by X-Forwarded-For (behind a trusted proxy)
  bool bench_routes = false;             // POST /bench/echo, the benchmarks' ceiling
  int header_timeout_s = 10;             // a request's header block must arrive within this
  int body_min_bytes_per_s = 1024;       // a body's deadline: header_timeout_s + length / this
  int max_connections_per_address = 32;  // per TCP peer address; 0 = no cap
  // Peer addresses not capped (a reverse proxy).
  std::vector<std::string> connection_cap_exempt = {"127.0.0.1", "::1"};
  int drain_timeout_s = 10;  // on SIGTERM: requests in flight may take this long, then cut
};

// True when `public_url` is an https:// URL (scheme compared case-insensitively): the site is served
// over TLS, so every cookie it sets (the survey pages' and the dashboards' session) gets "Secure".
bool PublicUrlIsHttps(const HttpOptions& http);

// The web collector (collector/web_service.h): periods, secret, group commit, API and page limits.
struct CollectorOptions {
  std::string open_periods;           // "2025, 2025Q2"; empty: the current year (UTC+8)
  std::string respondent_key_secret;  // from MINYI_RESPONDENT_KEY_SECRET; never logged or stored
  std::string secret_file;            // read the secret from here (created, 0600, when missing)
  int group_commit_max_batch = 512;
  int group_commit_max_wait_us = 0;
  int group_commit_max_queue = 10000;
  int group_commit_commit_timeout_ms = 5000;  // a request waits this long for its commit, then 503
  int api_max_body_bytes = 1048576;
  int api_max_json_depth = 8;
  int api_max_batch = 500;
  int api_key_cache_seconds = 30;
  int web_max_form_bytes = 65536;
  int web_rate_per_minute = 60;
  int web_rate_burst = 20;
  std::string web_invitation_only;     // survey ids (comma-separated) whose pages need an invitation
  int web_max_responses_per_town = 0;  // web responses per survey, period and town; 0: no cap
  std::string privacy_controller;
  std::string privacy_purpose;
  std::string privacy_retention;
};

struct LogOptions {
  std::string level = "info";  // trace, debug, info, warn, error, off
  std::string file;            // empty: console only; else also a rotating file
  int max_size_mb = 50;
  int max_files = 5;
  // The log files (log.file, access_file) stop writing while their file system has less than this
  // free (issue 13: the database gets the space an operator frees); dropped lines are counted and the
  // count logged when space returns. 0: never stop.
  int min_free_mb = 64;
  // The access log of `serve` (core/http/telemetry.h): one line per request. Empty: none; "-": stderr;
  // else this file (created 0600, appended to).
  std::string access_file;
  std::string access_format = "text";  // text or json (JSON lines)
};

// GET /metrics (Prometheus text format). Denied unless the client's address is in allow_from or the
// request carries "Authorization: Bearer <the token in token_file>".
struct MetricsOptions {
  std::vector<std::string> allow_from = {"127.0.0.0/8"};  // IPv4 addresses / CIDR blocks; empty: none
  std::string token_file;  // a file holding the scrape token (at least 16 characters); empty: no token
};

// Where read-only data and state live (README "Deploy"). LoadConfig resolves the relative data paths
// (paths.surveys, paths.areas, dashboard.topics, questionnaire.map_dir) against data_dir, and the state
// files' defaults (store.sqlite.path, sms.encryption_key_file) are inside state_dir.
struct PathOptions {
  std::string surveys = "conf/surveys";  // survey definitions (*.json)
  std::string areas = "data";            // division code CSVs
  std::string data_dir;    // paths.data_dir, else <exe>/../share/minyi when installed, else the checkout
  std::string state_dir;   // paths.state_dir, else $STATE_DIRECTORY, else /var/lib/minyi installed, else var
  bool installed = false;  // data_dir is the install prefix's share/minyi (found next to the executable)
};

// The officials' dashboards and their access control (dashboards/dashboard_api.h, access_service.h).
struct DashboardConfig {
  std::string survey = "jiangsu-safety";  // the survey whose indices the dashboards show
  std::string web_dir;                    // pages and ECharts; empty: the copy in the build directory
  std::string topics = "conf/topics.json";
  int refresh_ms = 5000;                  // how often newly published figures are looked for
  int session_ttl_minutes = 480;
  bool secure_cookie = false;               // "Secure" on the session cookie (also when public_url is https)
  int login_max_failures_per_account = 5;   // per 15 minutes
  int login_max_failures_per_address = 20;  // per 15 minutes
};

// Incremental aggregation inside `serve` (aggregator/live.h).
struct AggregatorConfig {
  int interval_ms = 2000;    // how often new responses are looked for; 0: no live aggregation
  int reconcile_ms = 60000;  // how often every town's response count is checked
  int threads = 2;           // towns weighted in parallel
};

// Several `serve` on one database (issue 15): the leases of the singleton jobs (core/lease_keeper.h).
struct ClusterConfig {
  std::string node_name;           // this server's name as a lease holder; default "<hostname>-<pid>"
  int lease_seconds = 15;          // lease period: a dead holder's jobs are taken over within about this long
  int migrate_wait_seconds = 120;  // how long migrating waits for another server's migration
};

// Questionnaire exports and endpoints (collector/questionnaire/, cli/cmd_questionnaire.cc).
struct QuestionnaireConfig {
  std::string map_dir = "conf/questionnaires";  // questionnaire maps (*.json): live endpoints, upload
  std::vector<std::string> wjx_allow_from;  // IPv4 addresses / CIDR blocks 问卷星 may push from; empty: any
  bool wjx_allow_revisions = false;  // a push with other answers for a stored answer id revises it (else 409)
  std::string wjx_push_secret;  // 问卷星 push secret (MINYI_WJX_PUSH_SECRET); empty: no 问卷星 endpoint
  std::string txwj_token;       // 腾讯问卷 webhook path token (MINYI_TXWJ_WEBHOOK_TOKEN); empty: no endpoint
  int utc_offset_minutes = 480; // exported/pushed times are local time at this offset
  int max_body_bytes = 1048576;
};

// The SMS channel (collector/sms/, cli/cmd_sms.cc).
struct SmsConfig {
  std::string encryption_key;  // MINYI_SMS_ENCRYPTION_KEY (base64, 32 bytes); never logged
  std::string encryption_key_file = "var/sms_encryption.key";
  int conversation_ttl_hours = 48;
  int comment_window_hours = 24;  // a remark this long after the last answer becomes the comment; 0: never
  int max_reasks = 1;         // re-asks after a reply that is not understood
  // Webhook messages share transactions (collector.group_commit.*); false: each in its own.
  bool group_commit = true;
  int retention_days = 30;    // phone numbers in rosters, outbox and conversations
  int max_body_bytes = 1048576;
  std::string gateway_url;    // empty: no sending
  std::string gateway_token;  // MINYI_SMS_GATEWAY_TOKEN
  int gateway_rate_per_second = 10;
  int gateway_max_attempts = 5;
  int gateway_timeout_ms = 5000;
  struct Inbound {  // aliyun, tencent, huawei webhooks: shared token and sender addresses allowed
    std::string token;
    std::vector<std::string> allow_from;
  };
  std::map<std::string, Inbound> inbound;
  std::string twilio_auth_token;
  std::string twilio_url;  // the public URL Twilio signs
  std::string generic_secret;
};

// WeChat group exports (collector/wechat/, cli/cmd_wechat.cc).
struct WechatConfig {
  int utc_offset_minutes = 480;           // chat times are local time at this offset
  std::vector<std::string> grid_workers;  // wxids or names whose messages are prompts, never answers
  long long max_upload_bytes = 67108864;  // the upload page's limit
};

struct ConfigSources {
  std::string file;                                            // --config
  std::vector<std::pair<std::string, std::string>> overrides;  // -D key=value, in order
  // The running executable (main: /proc/self/exe) and the source tree it was built from: when
  // <executable's dir>/../share/minyi holds the data (conf/surveys), the binary is installed and never
  // looks into checkout_dir; otherwise relative data paths are looked up in checkout_dir.
  std::string executable;
  std::string checkout_dir;
};

struct Config {
  sql::StoreOptions store;
  HttpOptions http;
  CollectorOptions collector;
  LogOptions log;
  MetricsOptions metrics;
  PathOptions paths;
  DashboardConfig dashboard;
  AggregatorConfig aggregator;
  ClusterConfig cluster;
  QuestionnaireConfig questionnaire;
  SmsConfig sms;
  WechatConfig wechat;
  std::string config_file;  // the file read, empty when none
  ConfigSources sources;    // what it was loaded from: `serve` loads it again on SIGHUP
  std::vector<std::pair<std::string, std::string>> effective;  // every key's resolved value, in key order
};

// Builds the configuration. kInvalidInput names the bad key, value or file.
Result<Config> LoadConfig(const ConfigSources& sources);

// Every known key with its default value, for `minyi config` and the README.
std::vector<std::pair<std::string, std::string>> ConfigDefaults();

// The effective configuration as key = value lines, secrets masked.
std::string DescribeConfig(const Config& config);

// "a, b,,c" → {"a", "b", "c"}: comma-separated items, trimmed, empty ones dropped.
std::vector<std::string> CommaList(const std::string& text);

}  // namespace minyi::cli
