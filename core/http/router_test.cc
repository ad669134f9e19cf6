#include "core/http/router.h"

#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/StreamCopier.h>
#include <gtest/gtest.h>

#include <memory>
#include <stdexcept>

namespace minyi::http {
namespace {

// The real Poco server on port 0 (after Poco's HTTPServerTest).
class RouterServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    router_.Add("GET", "/hello", [](Request&, Response& r, const PathParams&) { SendText(r, 200, "text/plain", "hi"); });
    router_.Add("GET", "/s/{survey}", [](Request&, Response& r, const PathParams& p) {
      SendText(r, 200, "text/plain", "survey=" + p.at("survey"));
    });
    router_.Add("GET", "/s/special", [](Request&, Response& r, const PathParams&) {
      SendText(r, 200, "text/plain", "literal wins");
    });
    router_.Add("POST", "/hello", [](Request&, Response& r, const PathParams&) { SendJson(r, 201, "{}"); });
    router_.Add("GET", "/files/*", [](Request&, Response& r, const PathParams& p) {
      SendText(r, 200, "text/plain", p.at("*"));
    });
    router_.Add("GET", "/boom", [](Request&, Response&, const PathParams&) {
      throw std::runtime_error("secret database password in message");
    });
    router_.Add("GET", "/boom-int", [](Request&, Response&, const PathParams&) { throw 42; });
    router_.Add("GET", "/conflict", [](Request&, Response& r, const PathParams&) {
      SendError(r, Status::Conflict("same key, different content"));
    });
    router_.Add("POST", "/limited", [](Request& rq, Response& r, const PathParams&) {
      std::string body;
      if (!ReadBody(rq, r, 1024, body)) return SendJson(r, 413, "{}");
      SendText(r, 200, "text/plain", std::to_string(body.size()));
    });
    socket_ = std::make_unique<Poco::Net::ServerSocket>(Poco::Net::SocketAddress("127.0.0.1", 0));
    server_ = std::make_unique<Poco::Net::HTTPServer>(router_.MakeFactory(), *socket_, new Poco::Net::HTTPServerParams);
    server_->start();
  }
  void TearDown() override { server_->stopAll(true); }

  struct Reply {
    int status;
    std::string body;
    Poco::Net::HTTPResponse headers;
  };
  Reply Call(const std::string& method, const std::string& path) {
    Poco::Net::HTTPClientSession session("127.0.0.1", socket_->address().port());
    Poco::Net::HTTPRequest request(method, path, Poco::Net::HTTPMessage::HTTP_1_1);
    request.setContentLength(0);
    session.sendRequest(request);
    Reply reply;
    std::istream& in = session.receiveResponse(reply.headers);
    Poco::StreamCopier::copyToString(in, reply.body);
    reply.status = static_cast<int>(reply.headers.getStatus());
    return reply;
  }

  Router router_;
  std::unique_ptr<Poco::Net::ServerSocket> socket_;
  std::unique_ptr<Poco::Net::HTTPServer> server_;
};

TEST_F(RouterServerTest, RoutesExactPathsAndParameters) {
  EXPECT_EQ(Call("GET", "/hello").body, "hi");
  EXPECT_EQ(Call("POST", "/hello").status, 201);
  EXPECT_EQ(Call("GET", "/s/jiangsu-safety?t=abc").body, "survey=jiangsu-safety");
  EXPECT_EQ(Call("GET", "/s/%E5%AE%89%E5%85%A8").body, "survey=安全");
  EXPECT_EQ(Call("GET", "/s/special").body, "literal wins");
  EXPECT_EQ(Call("GET", "/files/a/b/c.js").body, "a/b/c.js");
}

TEST_F(RouterServerTest, UnknownPathIsA404JsonNotA501) {
  Reply r = Call("GET", "/nope");
  EXPECT_EQ(r.status, 404);
  EXPECT_NE(r.body.find("\"not_found\""), std::string::npos);
}

TEST_F(RouterServerTest, WrongMethodIs405WithAllow) {
  Reply r = Call("DELETE", "/hello");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.headers.get("Allow"), "GET, POST");
}

TEST_F(RouterServerTest, EscapedExceptionsBecomeA500WithoutDetails) {
  Reply r = Call("GET", "/boom");
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.body.find("password"), std::string::npos);
  Reply r2 = Call("GET", "/boom-int");
  EXPECT_EQ(r2.status, 500);
  // The server keeps serving after both.
  EXPECT_EQ(Call("GET", "/hello").status, 200);
}

TEST_F(RouterServerTest, StatusCodesMapToHttp) {
  Reply r = Call("GET", "/conflict");
  EXPECT_EQ(r.status, 409);
  EXPECT_NE(r.body.find("same key, different content"), std::string::npos);
}

TEST_F(RouterServerTest, SecurityHeadersOnEveryResponse) {
  for (const char* path : {"/hello", "/nope", "/boom"}) {
    Reply r = Call("GET", path);
    EXPECT_EQ(r.headers.get("X-Content-Type-Options", ""), "nosniff") << path;
    EXPECT_EQ(r.headers.get("X-Frame-Options", ""), "DENY") << path;
    EXPECT_FALSE(r.headers.get("Content-Security-Policy", "").empty()) << path;
  }
}

// An over-long body is answered with the handler's 413, never a connection reset (the client is still
// writing when the handler decides): repeated, because the reset was a race.
TEST_F(RouterServerTest, OverLongBodiesGetTheAnswerNotAReset) {
  auto post = [&](const std::string& body, bool declare_length) {
    Poco::Net::HTTPClientSession session("127.0.0.1", socket_->address().port());
    Poco::Net::HTTPRequest request("POST", "/limited", Poco::Net::HTTPMessage::HTTP_1_1);
    if (declare_length) {
      request.setContentLength(static_cast<std::streamsize>(body.size()));
    } else {
      request.setChunkedTransferEncoding(true);
    }
    session.sendRequest(request) << body;
    Poco::Net::HTTPResponse response;
    std::istream& in = session.receiveResponse(response);
    std::string text;
    Poco::StreamCopier::copyToString(in, text);
    return std::make_pair(static_cast<int>(response.getStatus()), text);
  };
  EXPECT_EQ(post(std::string(1024, 'x'), true), std::make_pair(200, std::string("1024")));
  EXPECT_EQ(post(std::string(1024, 'x'), false), std::make_pair(200, std::string("1024")));
  EXPECT_EQ(post("", true), std::make_pair(200, std::string("0")));
  for (int i = 0; i < 50; ++i) {
    for (std::size_t size : {std::size_t{1025}, std::size_t{300000}}) {
      EXPECT_EQ(post(std::string(size, 'x'), true).first, 413) << size;
      EXPECT_EQ(post(std::string(size, 'x'), false).first, 413) << size;
    }
  }
}

TEST(EscapeTest, HtmlAndJson) {
  EXPECT_EQ(HtmlEscape("<a href=\"x\">'&'</a>"), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
  EXPECT_EQ(HtmlEscape("很安全"), "很安全");
  EXPECT_EQ(JsonEscape("a\"b\\c\n</script>\x01"), "a\\\"b\\\\c\\n\\u003c/script\\u003e\\u0001");
}

TEST(StatusMappingTest, EveryCodeHasAnHttpStatus) {
  EXPECT_EQ(HttpStatusFor(Status::InvalidInput("x")), 400);
  EXPECT_EQ(HttpStatusFor(Status::Unauthenticated("x")), 401);
  EXPECT_EQ(HttpStatusFor(Status::PermissionDenied("x")), 403);
  EXPECT_EQ(HttpStatusFor(Status::NotFound("x")), 404);
  EXPECT_EQ(HttpStatusFor(Status::Conflict("x")), 409);
  EXPECT_EQ(HttpStatusFor(Status::ResourceExhausted("x")), 429);
  EXPECT_EQ(HttpStatusFor(Status::Internal("x")), 500);
  EXPECT_EQ(HttpStatusFor(Status::Unavailable("x")), 503);
}

}  // namespace
}  // namespace minyi::http
