// GET /metrics and the access log of `minyi serve`, end to end (issue 18, "Watching it"): the exposition
// parses, the request counters move by exactly the requests made (under their route patterns), a client
// outside metrics.allow_from is refused unless it sends the scrape token, and the access log holds one
// line per request and never a query string.
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/StreamCopier.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "collector/sms/webhook.h"
#include "tests/integration/minyi_process.h"
#include "tests/integration/web_http.h"

namespace minyi::testing {
namespace {

constexpr const char* kToken = "scrape-token-0123456789abcdef";

struct Reply {
  int status = 0;
  std::string body;
};

// A GET from `source` (a 127.0.0.0/8 address bound as the client's), with optional extra headers.
Reply GetFrom(const std::string& source, int port, const std::string& path,
              const std::map<std::string, std::string>& headers = {}) {
  Poco::Net::StreamSocket socket(Poco::Net::SocketAddress::IPv4);
  socket.impl()->bind(Poco::Net::SocketAddress(source, 0), true);
  socket.connect(Poco::Net::SocketAddress("127.0.0.1", static_cast<Poco::UInt16>(port)));
  Poco::Net::HTTPClientSession session(socket);
  Poco::Net::HTTPRequest request("GET", path, Poco::Net::HTTPMessage::HTTP_1_1);
  request.setHost("127.0.0.1");
  for (const auto& [name, value] : headers) request.set(name, value);
  session.sendRequest(request);
  Poco::Net::HTTPResponse response;
  std::istream& in = session.receiveResponse(response);
  Reply reply;
  reply.status = static_cast<int>(response.getStatus());
  std::ostringstream body;
  Poco::StreamCopier::copyStream(in, body);
  reply.body = body.str();
  return reply;
}

// Series (name with labels, as written) → value; fails the test on a line that is not a comment or
// `series value` (the text format 0.0.4), and returns the metric names that have a TYPE line.
std::map<std::string, double> Parse(const std::string& text, std::map<std::string, std::string>* types) {
  static const std::regex kSample(
      R"(^([a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*\})?) ([-+0-9.eE]+|\+Inf|NaN)$)");
  static const std::regex kType(R"(^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram)$)");
  std::map<std::string, double> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    std::smatch m;
    if (std::regex_match(line, m, kType)) {
      (*types)[m[1]] = m[2];
    } else if (line.rfind("# HELP ", 0) == 0) {
      continue;
    } else if (std::regex_match(line, m, kSample)) {
      out[m[1]] = std::stod(m[5]);
    } else {
      ADD_FAILURE() << "not a line of the text format: " << line;
    }
  }
  return out;
}

double Value(const std::map<std::string, double>& series, const std::string& key) {
  auto it = series.find(key);
  return it == series.end() ? 0 : it->second;
}

TEST(MetricsEndpointTest, ExpositionCountsRequestsRefusesStrangersAndTheAccessLogHasNoQueries) {
  TempDir dir;
  WriteFile(dir.File("token"), std::string(kToken) + "\n");
  const std::string access_log = dir.File("access.log");
  ServerProcess server({"-D", "store.sqlite.path=" + dir.File("minyi.db"), "-D",
                        "collector.secret_file=" + dir.File("secret"), "-D", "log.level=warn", "-D",
                        "metrics.allow_from=127.0.0.1", "-D", "metrics.token_file=" + dir.File("token"), "-D",
                        "log.access_file=" + access_log});
  ASSERT_TRUE(server.started()) << server.log();
  const int port = server.port();
  int requests = 0;

  std::map<std::string, std::string> types;
  const Reply first = GetFrom("127.0.0.1", port, "/metrics");
  ++requests;
  ASSERT_EQ(first.status, 200) << first.body;
  const auto before = Parse(first.body, &types);
  for (const char* name : {"minyi_http_requests_total", "minyi_store_errors_total",
                           "minyi_login_failures_total", "minyi_login_throttled_total"}) {
    EXPECT_EQ(types[name], "counter") << name;
  }
  for (const char* name : {"minyi_http_request_duration_seconds", "minyi_group_commit_batch_size"}) {
    EXPECT_EQ(types[name], "histogram") << name;
  }
  for (const char* name : {"minyi_group_commit_queue_depth", "minyi_live_aggregation_lag_seconds"}) {
    EXPECT_EQ(types[name], "gauge") << name;
    EXPECT_TRUE(before.count(name)) << name;
  }

  const std::string healthz = R"(minyi_http_requests_total{route="/healthz",method="GET",status="200"})";
  const std::string unmatched = R"(minyi_http_requests_total{route="unmatched",method="GET",status="404"})";
  const std::string scrapes = R"(minyi_http_requests_total{route="/metrics",method="GET",status="200"})";
  const std::string refused = R"(minyi_http_requests_total{route="/metrics",method="GET",status="403"})";
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(GetFrom("127.0.0.1", port, "/healthz").status, 200);
    ++requests;
  }
  EXPECT_EQ(GetFrom("127.0.0.1", port, "/healthz?token=QUERYSECRET").status, 200);
  ++requests;
  EXPECT_EQ(GetFrom("127.0.0.1", port, "/no/such/QUERYSECRET").status, 404);
  ++requests;
  // Outside metrics.allow_from: refused, unless the scrape token comes along.
  EXPECT_EQ(GetFrom("127.0.0.2", port, "/metrics").status, 403);
  EXPECT_EQ(
      GetFrom("127.0.0.2", port, "/metrics", {{"Authorization", "Bearer wrong-token-0123456789"}}).status,
      403);
  EXPECT_EQ(
      GetFrom("127.0.0.2", port, "/metrics", {{"Authorization", std::string("Bearer ") + kToken}}).status,
      200);
  requests += 3;

  // A request is counted after its answer was sent, on its worker's thread, so any of them (not only
  // the last: the threads run in any order) may not be counted yet when the client has its answer:
  // scrape until every count is there (deadline 10 s), then compare exactly.
  int scrapes_made = 2;  // the first one and the one with the token
  Reply second;
  std::map<std::string, double> after;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  do {
    second = GetFrom("127.0.0.1", port, "/metrics");
    ++requests;
    ASSERT_EQ(second.status, 200);
    after = Parse(second.body, &types);
    if (Value(after, refused) - Value(before, refused) == 2 &&
        Value(after, scrapes) - Value(before, scrapes) >= 2 && Value(after, healthz) - Value(before, healthz) == 4 &&
        Value(after, unmatched) - Value(before, unmatched) == 1 &&
        Value(after, R"(minyi_http_request_duration_seconds_count{route="/healthz"})") == 4) {
      break;
    }
    ++scrapes_made;
  } while (std::chrono::steady_clock::now() < deadline);
  EXPECT_EQ(Value(after, healthz) - Value(before, healthz), 4);
  EXPECT_EQ(Value(after, unmatched) - Value(before, unmatched), 1);
  EXPECT_EQ(Value(after, refused) - Value(before, refused), 2);
  EXPECT_GE(Value(after, scrapes) - Value(before, scrapes), 2);
  EXPECT_LE(Value(after, scrapes) - Value(before, scrapes), scrapes_made);
  EXPECT_EQ(Value(after, R"(minyi_http_request_duration_seconds_count{route="/healthz"})"), 4);
  EXPECT_EQ(second.body.find("QUERYSECRET"), std::string::npos);
  EXPECT_EQ(second.body.find("/no/such"), std::string::npos) << "raw paths never become labels";

  EXPECT_EQ(server.Stop(), 0);
  struct stat st {};
  ASSERT_EQ(stat(access_log.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::ifstream in(access_log);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  EXPECT_EQ(static_cast<int>(lines.size()), requests);
  int healthz_lines = 0;
  for (const std::string& line : lines) {
    EXPECT_EQ(line.find("QUERYSECRET"), std::string::npos) << line;
    EXPECT_EQ(line.find('?'), std::string::npos) << line;
    if (line.find(" 127.0.0.1 GET /healthz 200 ") != std::string::npos) ++healthz_lines;
  }
  EXPECT_EQ(healthz_lines, 4);
  EXPECT_EQ(std::count_if(lines.begin(), lines.end(),
                          [](const std::string& l) {
                            return l.find(" 127.0.0.2 GET /metrics 403 ") != std::string::npos;
                          }),
            2);
}

// SMS on /metrics (issue 18): every message of an authenticated webhook is counted by provider and by
// what became of it, and the outbox's pending messages are shown.
TEST(MetricsEndpointTest, SmsInboundIsCountedByProviderAndStatusAndTheOutboxDepthShown) {
  TempDir dir;
  constexpr const char* kSecret = "metrics-generic-secret-0123456789";
  ServerProcess server({"-D", "store.sqlite.path=" + dir.File("minyi.db"), "-D",
                        "collector.secret_file=" + dir.File("secret"), "-D", "log.level=warn", "-D",
                        "sms.encryption_key_file=" + dir.File("sms.key"), "-D",
                        std::string("sms.generic.secret=") + kSecret});
  ASSERT_TRUE(server.started()) << server.log();
  auto deliver = [&](const std::string& id, const std::string& from) {
    const std::string body = "{\"id\":\"" + id + "\",\"from\":\"" + from +
                             "\",\"to\":\"1069\",\"text\":\"1\",\"time\":\"2025-05-12 09:00:00\"}";
    return HttpCall(server.port(), "POST", "/api/v1/sms/generic", body,
                    {{"Content-Type", "application/json"},
                     {"X-Minyi-Signature", "sha256=" + collector::sms::GenericSignature(kSecret, body)}})
        .status;
  };
  EXPECT_EQ(deliver("m-1", "13812345678"), 200);  // no conversation for this phone
  EXPECT_EQ(deliver("m-1", "13812345678"), 200);  // the gateway's retry
  EXPECT_EQ(deliver("m-2", "12345"), 400);        // not a phone number
  // A request that fails authentication is not a message: not counted.
  EXPECT_EQ(HttpCall(server.port(), "POST", "/api/v1/sms/generic", "{}", {{"X-Minyi-Signature", "sha256=00"}})
                .status,
            401);

  std::map<std::string, std::string> types;
  const Reply scrape = GetFrom("127.0.0.1", server.port(), "/metrics");
  ASSERT_EQ(scrape.status, 200);
  const auto values = Parse(scrape.body, &types);
  EXPECT_EQ(types["minyi_sms_inbound_total"], "counter");
  EXPECT_EQ(Value(values, R"(minyi_sms_inbound_total{provider="generic",status="no_conversation"})"), 1);
  EXPECT_EQ(Value(values, R"(minyi_sms_inbound_total{provider="generic",status="duplicate"})"), 1);
  EXPECT_EQ(Value(values, R"(minyi_sms_inbound_total{provider="generic",status="rejected"})"), 1);
  EXPECT_EQ(types["minyi_sms_outbox_pending"], "gauge");
  EXPECT_EQ(values.count("minyi_sms_outbox_pending"), 1u) << scrape.body;
  EXPECT_EQ(Value(values, "minyi_sms_outbox_pending"), 0);
}

}  // namespace
}  // namespace minyi::testing
