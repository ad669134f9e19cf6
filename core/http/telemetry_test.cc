#include "core/http/telemetry.h"

#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/StreamCopier.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "core/http/server.h"

namespace minyi::http {
namespace {

AccessLogEntry Entry() {
  AccessLogEntry e;
  e.time = std::chrono::system_clock::time_point(
      std::chrono::milliseconds(1764957600123));  // 2025-12-05T18:00:00.123Z
  e.client = "127.0.0.1";
  e.method = "GET";
  e.route = "/s/{survey}";
  e.status = 200;
  e.bytes = 1234;
  e.duration = std::chrono::microseconds(2345);
  return e;
}

TEST(AccessLogTest, TextLine) {
  EXPECT_EQ(FormatAccessLine(Entry(), AccessLogFormat::kText),
            "2025-12-05T18:00:00.123Z 127.0.0.1 GET /s/{survey} 200 1234 0.002345");
  AccessLogEntry e = Entry();
  e.route.clear();
  e.bytes = -1;
  e.method = "G\nET";  // a forged line stays on one line
  EXPECT_EQ(FormatAccessLine(e, AccessLogFormat::kText),
            "2025-12-05T18:00:00.123Z 127.0.0.1 " + LogSafe("G\nET") + " - 200 - 0.002345");
  EXPECT_EQ(FormatAccessLine(e, AccessLogFormat::kText).find('\n'), std::string::npos);
}

TEST(AccessLogTest, JsonLine) {
  EXPECT_EQ(
      FormatAccessLine(Entry(), AccessLogFormat::kJson),
      "{\"time\":\"2025-12-05T18:00:00.123Z\",\"client\":\"127.0.0.1\",\"method\":\"GET\",\"route\":\"/s/"
      "{survey}\",\"status\":200,\"bytes\":1234,\"duration_s\":0.002345}");
  AccessLogEntry e = Entry();
  e.route.clear();
  e.bytes = -1;
  e.method = "A\"B";
  EXPECT_EQ(
      FormatAccessLine(e, AccessLogFormat::kJson),
      "{\"time\":\"2025-12-05T18:00:00.123Z\",\"client\":\"127.0.0.1\",\"method\":\"A\\\"B\",\"route\":null,"
      "\"status\":200,\"bytes\":null,\"duration_s\":0.002345}");
}

TEST(AccessLogTest, LabelsAreBounded) {
  EXPECT_EQ(MethodLabel("GET"), "GET");
  EXPECT_EQ(MethodLabel("PROPFIND"), "OTHER");
  EXPECT_EQ(MethodLabel("get"), "OTHER");
  EXPECT_EQ(RouteLabel(""), "unmatched");
  EXPECT_EQ(RouteLabel("/s/{survey}"), "/s/{survey}");
}

// The router's observer under the real server: every request is counted under its pattern and logged
// once, without its query string, to a file created 0600.
TEST(TelemetryServerTest, CountsAndLogsEveryRequestByPattern) {
  char dir_template[] = "/tmp/minyi-telemetry-XXXXXX";
  ASSERT_NE(mkdtemp(dir_template), nullptr);
  const std::string log_path = std::string(dir_template) + "/access.log";

  metrics::Registry registry;
  HttpMetrics http_metrics(registry);
  auto log = AccessLog::Open(log_path, AccessLogFormat::kText, false);
  ASSERT_TRUE(log.ok()) << log.status().ToString();
  Router router;
  router.Add("GET", "/s/{survey}",
             [](Request&, Response& r, const PathParams&) { SendText(r, 200, "text/plain", "ok"); });
  router.Add("GET", "/boom", [](Request&, Response&, const PathParams&) { throw std::runtime_error("x"); });
  std::atomic<int> recorded{0};
  router.set_observer([&](const RequestRecord& record) {
    http_metrics.Record(record);
    log.value()->Record(record);
    ++recorded;
  });
  Poco::Net::ServerSocket socket(Poco::Net::SocketAddress("127.0.0.1", 0));
  ServerOptions options;
  options.threads = 4;
  Server server(router, socket, options);
  server.Start();
  auto get = [&](const std::string& path) {
    Poco::Net::HTTPClientSession session("127.0.0.1", socket.address().port());
    Poco::Net::HTTPRequest request("GET", path, Poco::Net::HTTPMessage::HTTP_1_1);
    session.sendRequest(request);
    Poco::Net::HTTPResponse response;
    std::istream& in = session.receiveResponse(response);
    std::ostringstream ignored;
    Poco::StreamCopier::copyStream(in, ignored);
    return static_cast<int>(response.getStatus());
  };
  EXPECT_EQ(get("/s/one?token=s3cret"), 200);
  EXPECT_EQ(get("/s/two"), 200);
  EXPECT_EQ(get("/nowhere/s3cret"), 404);
  EXPECT_EQ(get("/boom"), 500);
  // The observer runs on the worker after the response is sent, so the client can hold the last answer
  // before its request is counted: wait (bounded) for the four records, then stop.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (recorded.load() < 4 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  server.StopAll(true);
  log.value()->Flush();

  const std::string text = registry.Render();
  EXPECT_NE(text.find("minyi_http_requests_total{route=\"/s/{survey}\",method=\"GET\",status=\"200\"} 2\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("minyi_http_requests_total{route=\"unmatched\",method=\"GET\",status=\"404\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("minyi_http_requests_total{route=\"/boom\",method=\"GET\",status=\"500\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("minyi_http_request_duration_seconds_count{route=\"/s/{survey}\"} 2\n"),
            std::string::npos);
  EXPECT_EQ(text.find("s3cret"), std::string::npos);

  struct stat st {};
  ASSERT_EQ(stat(log_path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::ifstream in(log_path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  ASSERT_EQ(lines.size(), 4u);
  // A line is written after its response is sent, on the worker's thread, so the client may have
  // the next answer before the previous line is in the file: the lines are counted, not ordered.
  auto count = [&](const std::string& part) {
    return std::count_if(lines.begin(), lines.end(),
                         [&](const std::string& line) { return line.find(part) != std::string::npos; });
  };
  EXPECT_EQ(count(" 127.0.0.1 GET /s/{survey} 200 2 "), 2);
  EXPECT_EQ(count(" GET - 404 "), 1);
  EXPECT_EQ(count(" GET /boom 500 "), 1);
  for (const std::string& line : lines) EXPECT_EQ(line.find("s3cret"), std::string::npos) << line;
  std::remove(log_path.c_str());
  rmdir(dir_template);
}

}  // namespace
}  // namespace minyi::http
