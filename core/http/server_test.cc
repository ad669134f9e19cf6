// http::Server against clients that misbehave (issue #13): slow and idle clients, ambiguous framing,
// and stopping with connections open. Raw sockets, so every byte on the wire is the test's choice.
#include "core/http/server.h"

#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/StreamCopier.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "tests/support/log_registry_first.h"

namespace minyi::http {
namespace {

using Clock = std::chrono::steady_clock;

// A client socket from `source` (any 127.0.0.0/8 address) to the server.
Poco::Net::StreamSocket Connect(Poco::UInt16 port, const std::string& source = "127.0.0.1") {
  Poco::Net::StreamSocket s(Poco::Net::SocketAddress::IPv4);
  s.impl()->bind(Poco::Net::SocketAddress(source, 0), false);
  s.connect(Poco::Net::SocketAddress("127.0.0.1", port));
  return s;
}

// Everything the server sends until it closes the connection or `within` passes; `closed` says which.
std::string ReadAll(Poco::Net::StreamSocket& s, std::chrono::milliseconds within, bool* closed = nullptr) {
  std::string all;
  char buffer[4096];
  const auto deadline = Clock::now() + within;
  if (closed != nullptr) *closed = false;
  while (Clock::now() < deadline) {
    const auto left = std::chrono::duration_cast<std::chrono::microseconds>(deadline - Clock::now()).count();
    if (!s.poll(Poco::Timespan(std::max<long>(1, static_cast<long>(left))), Poco::Net::Socket::SELECT_READ))
      break;
    int n = 0;
    try {
      n = s.receiveBytes(buffer, sizeof buffer);
    } catch (const Poco::Exception&) {
      n = 0;  // reset: closed too
    }
    if (n <= 0) {
      if (closed != nullptr) *closed = true;
      break;
    }
    all.append(buffer, static_cast<std::size_t>(n));
  }
  return all;
}

void Send(Poco::Net::StreamSocket& s, const std::string& bytes) {
  s.sendBytes(bytes.data(), static_cast<int>(bytes.size()));
}

// Sends `bytes` every `pace` (the client's pace, read in between) until the server closes the connection
// or `limit` passes; what the server sent meanwhile.
std::string Trickle(Poco::Net::StreamSocket& s, const std::string& bytes, std::chrono::milliseconds pace,
                    std::chrono::seconds limit, bool& closed) {
  const auto started = Clock::now();
  std::string got;
  closed = false;
  while (!closed && Clock::now() - started < limit) {
    try {
      Send(s, bytes);
    } catch (const Poco::Exception&) {
      closed = true;
      break;
    }
    got += ReadAll(s, pace, &closed);
  }
  return got;
}

int CountOf(const std::string& text, const std::string& what) {
  int n = 0;
  for (auto pos = text.find(what); pos != std::string::npos; pos = text.find(what, pos + 1)) ++n;
  return n;
}

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    router_.Add("GET", "/hello",
                [](Request&, Response& r, const PathParams&) { SendText(r, 200, "text/plain", "hi"); });
    router_.Add("POST", "/echo", [](Request& rq, Response& r, const PathParams&) {
      std::string body;
      if (!ReadBody(rq, r, 1 << 20, body)) return SendJson(r, 413, "{}");
      SendText(r, 200, "text/plain", "got " + body);
    });
    router_.Add("GET", "/wait", [this](Request&, Response& r, const PathParams&) {
      std::unique_lock<std::mutex> lock(mu_);
      entered_ = true;
      cv_.notify_all();
      cv_.wait_for(lock, std::chrono::seconds(5), [this] { return released_; });
      SendText(r, 200, "text/plain", "finished " + std::string(5000, 'f'));
    });
  }
  void TearDown() override {
    Release();
    if (server_) server_->StopAll(true);
    for (auto& s : clients_) s.close();
  }
  void Start(ServerOptions options) {
    socket_ = std::make_unique<Poco::Net::ServerSocket>(Poco::Net::SocketAddress("127.0.0.1", 0));
    port_ = socket_->address().port();
    server_ = std::make_unique<Server>(router_, *socket_, options);
    server_->Start();
  }
  void Release() {
    std::lock_guard<std::mutex> lock(mu_);
    released_ = true;
    cv_.notify_all();
  }
  bool WaitEntered() {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(5), [this] { return entered_; });
  }
  bool WaitConnections(int n) {
    const auto deadline = Clock::now() + std::chrono::seconds(5);
    while (server_->CurrentConnections() != n && Clock::now() < deadline) std::this_thread::yield();
    return server_->CurrentConnections() == n;
  }
  // GET /hello from `source` on a new connection: the answer, or "" when none came within `within`.
  std::string Hello(const std::string& source, std::chrono::milliseconds within) {
    Poco::Net::StreamSocket s = Connect(port_, source);
    Send(s, "GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    return ReadAll(s, within);
  }
  std::string Exchange(const std::string& bytes, bool* closed = nullptr) {
    Poco::Net::StreamSocket s = Connect(port_);
    Send(s, bytes);
    return ReadAll(s, std::chrono::seconds(3), closed);
  }

  Router router_;
  std::unique_ptr<Poco::Net::ServerSocket> socket_;
  Poco::UInt16 port_ = 0;
  std::unique_ptr<Server> server_;
  std::vector<Poco::Net::StreamSocket> clients_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool entered_ = false;
  bool released_ = false;
};

// --- slow and idle clients -------------------------------------------------------------------------

// Regression (issue #13): many connections sending their headers a byte at a time took every thread,
// and nobody else was answered. The per-address cap leaves threads for other addresses.
TEST_F(ServerTest, SlowHeaderClientsFromOneAddressLeaveThreadsForOthers) {
  ServerOptions options;
  options.threads = 4;
  options.max_connections_per_address = 2;
  options.header_timeout_s = 60;  // the cap alone must do it
  Start(options);
  for (int i = 0; i < 20; ++i) {
    clients_.push_back(Connect(port_));
    Send(clients_.back(), "GET /hello HTTP/1.1\r\n");
  }
  std::atomic<bool> done{false};
  std::thread dribble([&] {
    while (!done) {
      for (auto& s : clients_) {
        try {
          Send(s, "X");
        } catch (const Poco::Exception&) {
          // Refused by the cap: closed.
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the client's pace, not a wait
    }
  });
  const auto started = Clock::now();
  const std::string answer = Hello("127.0.0.2", std::chrono::seconds(3));
  done = true;
  dribble.join();
  EXPECT_EQ(answer.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << answer;
  EXPECT_LT(Clock::now() - started, std::chrono::seconds(2));
}

TEST_F(ServerTest, ConnectionsOverThePerAddressCapGet503UnlessExempt) {
  ServerOptions options;
  options.threads = 8;
  options.max_connections_per_address = 2;
  options.cap_exempt = {"127.0.0.3"};
  Start(options);
  for (int i = 0; i < 2; ++i) {  // two kept-alive connections, served once each: surely counted
    clients_.push_back(Connect(port_));
    Send(clients_.back(), "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
    ASSERT_NE(ReadAll(clients_.back(), std::chrono::milliseconds(500)).find("\r\n\r\nhi"), std::string::npos);
  }
  EXPECT_EQ(Hello("127.0.0.1", std::chrono::seconds(3)).rfind("HTTP/1.1 503 Service Unavailable\r\n", 0), 0u);
  EXPECT_EQ(Hello("127.0.0.2", std::chrono::seconds(3)).rfind("HTTP/1.1 200 OK\r\n", 0), 0u);
  for (int i = 0; i < 3; ++i) {
    clients_.push_back(Connect(port_, "127.0.0.3"));
    Send(clients_.back(), "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_EQ(ReadAll(clients_.back(), std::chrono::milliseconds(500)).rfind("HTTP/1.1 200 OK\r\n", 0), 0u)
        << i;
  }
  // A connection that ends gives its place back.
  clients_[0].close();
  ASSERT_TRUE(WaitConnections(4));
  EXPECT_EQ(Hello("127.0.0.1", std::chrono::seconds(3)).rfind("HTTP/1.1 200 OK\r\n", 0), 0u);
}

// Regression (issue #13): Poco's receive timeout is per recv(2); a client sending a header byte now and
// then kept its thread for ever.
TEST_F(ServerTest, HeaderBlockHasADeadlineHoweverSlowlyItTrickles) {
  ServerOptions options;
  options.header_timeout_s = 1;
  options.max_connections_per_address = 0;
  Start(options);
  Poco::Net::StreamSocket s = Connect(port_);
  const auto started = Clock::now();
  Send(s, "GET /hello HTTP/1.1\r\n");
  bool closed = false;
  Trickle(s, "X", std::chrono::milliseconds(200), std::chrono::seconds(5), closed);
  EXPECT_TRUE(closed);
  EXPECT_LT(Clock::now() - started, std::chrono::seconds(3));
}

TEST_F(ServerTest, BodyHasADeadlineThatScalesWithItsLength) {
  ServerOptions options;
  options.header_timeout_s = 1;
  options.body_min_bytes_per_s = 1000;
  options.max_connections_per_address = 0;
  Start(options);
  // 2000 bytes at >= 1000 B/s: due within 1 + 2 s. Sent briskly, it is served.
  EXPECT_EQ(Exchange("POST /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 2000\r\n\r\n" +
                     std::string(2000, 'b'))
                .rfind("HTTP/1.1 200 OK\r\n", 0),
            0u);
  // Trickled at 20 B/s, the connection is closed at the deadline.
  Poco::Net::StreamSocket s = Connect(port_);
  Send(s, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2000\r\n\r\n");
  const auto started = Clock::now();
  bool closed = false;
  const std::string got = Trickle(s, "bb", std::chrono::milliseconds(100), std::chrono::seconds(8), closed);
  EXPECT_TRUE(closed);
  EXPECT_EQ(got.find("200 OK"), std::string::npos);
  EXPECT_GT(Clock::now() - started, std::chrono::milliseconds(2500));
  EXPECT_LT(Clock::now() - started, std::chrono::milliseconds(4500));
}

// Regression (issue #13): idle kept-alive connections held every thread for keep_alive_timeout_s.
TEST_F(ServerTest, IdleKeptAliveConnectionsYieldWhenEveryThreadIsTaken) {
  ServerOptions options;
  options.threads = 2;
  options.max_connections_per_address = 0;
  Start(options);
  for (int i = 0; i < 2; ++i) {
    clients_.push_back(Connect(port_));
    Send(clients_.back(), "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
    ASSERT_NE(ReadAll(clients_.back(), std::chrono::milliseconds(500)).find("\r\n\r\nhi"), std::string::npos);
  }
  const auto started = Clock::now();
  EXPECT_EQ(Hello("127.0.0.1", std::chrono::seconds(3)).rfind("HTTP/1.1 200 OK\r\n", 0), 0u);
  EXPECT_LT(Clock::now() - started, std::chrono::seconds(2));
}

// --- framing -----------------------------------------------------------------------------------------

// Regression (issue #13): with two Content-Length headers Poco used the first, and the rest of the body
// was served as a second request (smuggling behind a proxy that used the last). Every ambiguous framing
// is refused with one 400 and the connection closed.
TEST_F(ServerTest, AmbiguousFramingIsA400AndTheConnectionCloses) {
  Start(ServerOptions{});
  const std::string smuggled = "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n";
  const struct {
    const char* name;
    std::string request;
  } cases[] = {
      {"two Content-Length", "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nContent-Length: " +
                                 std::to_string(smuggled.size()) + "\r\n\r\n" + smuggled},
      {"Content-Length and Transfer-Encoding",
       "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" +
           smuggled},
      {"Transfer-Encoding not chunked",
       "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
       "0\r\n\r\n" +
           smuggled},
      {"obsolete line folding", "GET /hello HTTP/1.1\r\nHost: x\r\nX-Note: a\r\n  Content-Length: 5\r\n\r\n"},
      {"obsolete line folding (tab)", "GET /hello HTTP/1.1\r\nHost: x\r\nX-Note: a\r\n\tb\r\n\r\n"},
      {"non-digit length", "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5x\r\n\r\nhello"},
      {"signed length", "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n\r\nhello"},
      {"negative length", "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n"},
      {"23-digit length",
       "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 12345678901234567890123\r\n\r\nhello"},
  };
  for (const auto& c : cases) {
    bool closed = false;
    const std::string answer = Exchange(c.request, &closed);
    EXPECT_EQ(answer.rfind("HTTP/1.1 400 Bad Request\r\n", 0), 0u) << c.name << ": " << answer;
    EXPECT_EQ(CountOf(answer, "HTTP/1.1 "), 1) << c.name << ": " << answer;
    EXPECT_TRUE(closed) << c.name;
  }
  // Unambiguous framing is served as before, pipelined request included.
  const std::string good = Exchange("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello" +
                                    smuggled + "GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(CountOf(good, "HTTP/1.1 200 OK"), 3) << good;
  EXPECT_NE(good.find("got hello"), std::string::npos);
}

TEST_F(ServerTest, BadPercentEncodingIsA400) {
  router_.Add("GET", "/assets/*",
              [](Request&, Response& r, const PathParams&) { SendText(r, 200, "text/plain", "a"); });
  router_.Add("GET", "/s/{survey}",
              [](Request&, Response& r, const PathParams&) { SendText(r, 200, "text/plain", "s"); });
  Start(ServerOptions{});
  for (const char* path : {"/assets/%zz", "/assets/%", "/s/%25zz"}) {
    const std::string answer =
        Exchange(std::string("GET ") + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    EXPECT_EQ(answer.rfind("HTTP/1.1 400 Bad Request\r\n", 0), 0u) << path << ": " << answer;
    EXPECT_NE(answer.find("malformed request path"), std::string::npos) << path;
  }
}

// --- stopping ----------------------------------------------------------------------------------------

// Regression (issue #13): after the stop the listening socket stayed open, so a new connection was
// accepted by the kernel and never answered.
TEST_F(ServerTest, NewConnectionsAreRefusedOnceStopped) {
  Start(ServerOptions{});
  server_->StopAll(false);
  EXPECT_THROW(Connect(port_), Poco::Net::ConnectionRefusedException);
}

// Regression (issue #13): a connection that had sent half a request held StopAll(false) (and so
// `minyi serve`) for the 60 s receive timeout.
TEST_F(ServerTest, DrainIsBoundedByItsTimeoutWithAHalfSentRequest) {
  ServerOptions options;
  options.header_timeout_s = 60;
  Start(options);
  clients_.push_back(Connect(port_));
  Send(clients_.back(), "GET /hello HTTP/1.1\r\nHo");
  ASSERT_TRUE(WaitConnections(1));
  const auto started = Clock::now();
  EXPECT_TRUE(server_->Drain(std::chrono::milliseconds(500)));
  EXPECT_LT(Clock::now() - started, std::chrono::milliseconds(1500));
  EXPECT_EQ(server_->CurrentConnections(), 0);
}

// Regression (issue #13): a request on a kept-alive connection that was being served when the stop came
// was answered with keep-alive and then cut off; it gets its whole answer with Connection: close.
TEST_F(ServerTest, RequestInFlightAtStopIsAnsweredWithConnectionClose) {
  Start(ServerOptions{});
  Poco::Net::HTTPClientSession session("127.0.0.1", port_);
  session.setKeepAlive(true);
  Poco::Net::HTTPRequest hello("GET", "/hello", Poco::Net::HTTPMessage::HTTP_1_1);
  session.sendRequest(hello);
  Poco::Net::HTTPResponse first;
  std::string body;
  Poco::StreamCopier::copyToString(session.receiveResponse(first), body);
  ASSERT_TRUE(first.getKeepAlive());
  Poco::Net::HTTPResponse second;
  std::thread client([&] {
    Poco::Net::HTTPRequest wait("GET", "/wait", Poco::Net::HTTPMessage::HTTP_1_1);
    session.sendRequest(wait);
    body.clear();
    Poco::StreamCopier::copyToString(session.receiveResponse(second), body);
  });
  ASSERT_TRUE(WaitEntered());
  const auto started = Clock::now();
  server_->StopAll(false);
  EXPECT_LT(Clock::now() - started, std::chrono::milliseconds(500));  // never waits for the handler
  Release();
  client.join();
  EXPECT_EQ(static_cast<int>(second.getStatus()), 200);
  EXPECT_FALSE(second.getKeepAlive());
  EXPECT_EQ(body, "finished " + std::string(5000, 'f'));
  EXPECT_TRUE(WaitConnections(0));
}

// A request sent on an idle kept-alive connection just before the stop is still answered (with
// Connection: close); an idle connection with nothing sent is closed.
TEST_F(ServerTest, RequestAlreadySentAtStopIsAnsweredIdleConnectionsClosed) {
  Start(ServerOptions{});
  Poco::Net::StreamSocket idle = Connect(port_);
  Poco::Net::StreamSocket busy = Connect(port_);
  for (auto* s : {&idle, &busy}) {
    Send(*s, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
    ASSERT_NE(ReadAll(*s, std::chrono::milliseconds(500)).find("\r\n\r\nhi"), std::string::npos);
  }
  ASSERT_TRUE(WaitConnections(2));
  // Pipelined: /wait, then /hello behind it, sent before the stop.
  Send(busy, "GET /wait HTTP/1.1\r\nHost: x\r\n\r\nGET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(WaitEntered());
  server_->StopAll(false);
  Release();
  bool closed = false;
  const std::string answer = ReadAll(busy, std::chrono::seconds(3), &closed);
  EXPECT_EQ(answer.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << answer;
  EXPECT_NE(answer.find("Connection: Close\r\n"), std::string::npos) << answer;
  EXPECT_NE(answer.find("finished " + std::string(5000, 'f')), std::string::npos);
  EXPECT_TRUE(closed);
  bool idle_closed = false;
  EXPECT_EQ(ReadAll(idle, std::chrono::seconds(3), &idle_closed), "");
  EXPECT_TRUE(idle_closed);
}

// Regression (issue #13, found by bench/drain.sh: a segfault in 1 of ~30 SIGTERM cycles under load): a
// connection Poco's dispatcher had taken from its queue just before the stop began was not counted yet,
// so Drain returned and `serve` destroyed the router while that connection went on to dispatch into it.
// Once Drain returns true no handler runs any more. Many short drains under connection churn, since
// the window is a few instructions wide.
TEST(ServerDrainTest, NoHandlerRunsAfterDrainReturned) {
  std::atomic<bool> drained{false};
  std::atomic<int> late{0};
  Router router;
  router.Add("GET", "/hello", [&](Request&, Response& r, const PathParams&) {
    if (drained) ++late;
    SendText(r, 200, "text/plain", "hi");
  });
  for (int round = 0; round < 60 && late == 0; ++round) {
    Poco::Net::ServerSocket socket(Poco::Net::SocketAddress("127.0.0.1", 0));
    const Poco::UInt16 port = socket.address().port();
    ServerOptions options;
    options.threads = 4;
    options.max_connections_per_address = 0;
    auto server = std::make_unique<Server>(router, socket, options);
    server->Start();
    drained = false;
    std::atomic<bool> stop{false};
    std::atomic<int> answered{0};
    std::vector<std::thread> clients;
    for (int t = 0; t < 8; ++t) {
      clients.emplace_back([&] {
        while (!stop) {
          try {
            Poco::Net::StreamSocket s = Connect(port);
            Send(s, "GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
            if (!ReadAll(s, std::chrono::milliseconds(500)).empty()) ++answered;
          } catch (const Poco::Exception&) {
            // refused once stopped
          }
        }
      });
    }
    const auto deadline = Clock::now() + std::chrono::seconds(5);
    while (answered < 20 && Clock::now() < deadline) std::this_thread::yield();
    const bool all_ended = server->Drain(std::chrono::seconds(2));
    drained = true;
    std::this_thread::sleep_for(std::chrono::milliseconds(30));  // a straggler would dispatch now
    stop = true;
    for (auto& c : clients) c.join();
    EXPECT_TRUE(all_ended) << "round " << round;
    server.reset();
  }
  EXPECT_EQ(late, 0) << "handlers ran after Drain had returned true";
}

// --- client address -------------------------------------------------------------------------------

// Regression (issue #13): X-Forwarded-For was read from the left, where the client writes what it likes
// (rotate it and the rate limit never triggered). The right-most entry is the one the proxy appended.
TEST_F(ServerTest, ClientAddressIsTheRightMostForwardedForEntry) {
  router_.Add("GET", "/who", [](Request& rq, Response& r, const PathParams&) {
    SendText(r, 200, "text/plain", "[" + ClientAddress(rq, true) + "|" + ClientAddress(rq, false) + "]");
  });
  Start(ServerOptions{});
  const struct {
    std::string headers;
    std::string expected;
  } cases[] = {
      {"X-Forwarded-For: 10.9.9.1, 203.0.113.7\r\n", "[203.0.113.7|127.0.0.1]"},
      {"X-Forwarded-For: 203.0.113.7\r\n", "[203.0.113.7|127.0.0.1]"},
      {"X-Forwarded-For: 10.9.9.1\r\nX-Forwarded-For: 198.51.100.2 , 203.0.113.8\r\n",
       "[203.0.113.8|127.0.0.1]"},
      {"X-Forwarded-For: 203.0.113.7, not-an-address\r\n", "[127.0.0.1|127.0.0.1]"},
      {"", "[127.0.0.1|127.0.0.1]"},
  };
  for (const auto& c : cases) {
    const std::string answer =
        Exchange("GET /who HTTP/1.1\r\nHost: x\r\n" + c.headers + "Connection: close\r\n\r\n");
    EXPECT_NE(answer.find(c.expected), std::string::npos) << c.headers << answer;
  }
}

}  // namespace
}  // namespace minyi::http
