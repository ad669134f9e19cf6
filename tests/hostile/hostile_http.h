// The HTTP channels of the hostile input catalogue: a router's routes served on 127.0.0.1 (port 0) in
// process, and a client that sends one request and reads the whole answer (bounded by a 30 s timeout).
#pragma once

#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/StreamCopier.h>

#include <map>
#include <memory>
#include <string>

#include "core/http/router.h"

namespace minyi::hostile {

struct HttpAnswer {
  int status = 0;
  std::string body;
};

class LocalServer {
 public:
  // `router` must outlive the server.
  void Start(http::Router& router) {
    socket_.bind(Poco::Net::SocketAddress("127.0.0.1", 0), true);
    socket_.listen();
    server_ = std::make_unique<Poco::Net::HTTPServer>(router.MakeFactory(), socket_,
                                                      new Poco::Net::HTTPServerParams);
    server_->start();
  }
  ~LocalServer() { Stop(); }
  void Stop() {
    if (server_) server_->stopAll(true);
    server_.reset();
  }
  Poco::UInt16 port() const { return socket_.address().port(); }

  HttpAnswer Post(const std::string& path, const std::string& content_type, const std::string& body,
                  const std::map<std::string, std::string>& headers = {}) const {
    return Send(Poco::Net::HTTPRequest::HTTP_POST, path, content_type, body, headers);
  }
  HttpAnswer Send(const std::string& method, const std::string& path, const std::string& content_type,
                  const std::string& body, const std::map<std::string, std::string>& headers = {}) const {
    Poco::Net::HTTPClientSession session("127.0.0.1", port());
    session.setTimeout(Poco::Timespan(30, 0));
    Poco::Net::HTTPRequest request(method, path, Poco::Net::HTTPMessage::HTTP_1_1);
    request.setHost("127.0.0.1", port());
    request.setContentType(content_type);
    request.setContentLength(static_cast<std::streamsize>(body.size()));
    for (const auto& [name, value] : headers) request.set(name, value);
    session.sendRequest(request) << body;
    Poco::Net::HTTPResponse response;
    std::istream& in = session.receiveResponse(response);
    HttpAnswer a;
    a.status = static_cast<int>(response.getStatus());
    Poco::StreamCopier::copyToString(in, a.body);
    return a;
  }

 private:
  Poco::Net::ServerSocket socket_;
  std::unique_ptr<Poco::Net::HTTPServer> server_;
};

}  // namespace minyi::hostile
