#include "core/http/server.h"

#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequestImpl.h>
#include <Poco/Net/HTTPServerResponseImpl.h>
#include <Poco/Net/HTTPServerSession.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/TCPServer.h>
#include <Poco/Net/TCPServerConnection.h>
#include <Poco/Net/TCPServerConnectionFactory.h>
#include <Poco/Timestamp.h>
#include <poll.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <cerrno>
#include <istream>
#include <mutex>
#include <set>

namespace minyi::http {

class Connection;

struct Server::Shared {
  const Router* router = nullptr;
  Poco::Net::HTTPServerParams::Ptr params;
  std::string server_name;
  std::atomic<bool> stopped{false};
  std::mutex mu;                      // guards connections
  std::set<Connection*> connections;  // registered for the lifetime of their run()
};

namespace {

// Exposes the session's count of bytes read ahead (a pipelined next request needs no wait).
class Session final : public Poco::Net::HTTPServerSession {
 public:
  Session(const Poco::Net::StreamSocket& socket, Poco::Net::HTTPServerParams::Ptr params)
      : Poco::Net::HTTPServerSession(socket, params) {}
  using Poco::Net::HTTPSession::buffered;
};

// True when `fd` has something to read (or was closed or failed: the read that follows says which)
// within `timeout`.
bool Readable(int fd, const Poco::Timespan& timeout) {
  pollfd p{fd, POLLIN, 0};
  const int ms = static_cast<int>(timeout.totalMilliseconds());
  for (;;) {
    const int rc = ::poll(&p, 1, ms);
    if (rc >= 0) return rc > 0;
    if (errno != EINTR) return false;
  }
}

// A handler may answer without reading the request body (a 401 before the upload, say). The rest of
// a small body is read and dropped so the connection can serve its next request; false when more than
// kMaxSkip was left (the connection is then closed after the answer).
bool SkipUnreadBody(Poco::Net::HTTPServerRequest& request) {
  constexpr std::streamsize kMaxSkip = 64 * 1024;
  const bool has_body = request.getChunkedTransferEncoding() ||
                        (request.hasContentLength() && request.getContentLength64() > 0);
  if (!has_body) return true;
  std::istream& in = request.stream();
  if (!in) return in.eof();
  in.ignore(kMaxSkip);
  return in.eof() || in.peek() == std::char_traits<char>::eof();
}

void SendErrorResponse(Poco::Net::HTTPServerSession& session, Poco::Net::HTTPResponse::HTTPStatus status) {
  Poco::Net::HTTPServerResponseImpl response(session);
  response.setVersion(Poco::Net::HTTPMessage::HTTP_1_1);
  response.setStatusAndReason(status);
  response.setKeepAlive(false);
  response.send();
  session.setKeepAlive(false);
}

}  // namespace

// One kept-alive connection: the request loop of Poco's HTTPServerConnection (1.11) with a poll(2)
// wait and the one-write response path.
class Connection final : public Poco::Net::TCPServerConnection {
 public:
  Connection(const Poco::Net::StreamSocket& socket, std::shared_ptr<Server::Shared> shared)
      : Poco::Net::TCPServerConnection(socket), shared_(std::move(shared)) {}

  void run() override {
    {
      std::lock_guard<std::mutex> lock(shared_->mu);
      shared_->connections.insert(this);
      if (shared_->stopped) stopped_ = true;  // accepted just before StopAll: not served
    }
    try {
      if (!stopped_) Serve();
    } catch (const Poco::Exception& e) {
      spdlog::debug("http connection ended: {}", e.displayText());
    } catch (const std::exception& e) {
      spdlog::debug("http connection ended: {}", e.what());
    }
    std::lock_guard<std::mutex> lock(shared_->mu);
    shared_->connections.erase(this);
  }

  // Called by StopAll with Shared::mu held, so the connection is still registered (alive).
  void OnServerStopped(bool abort_current) {
    stopped_ = true;
    if (abort_current) {
      ShutdownQuietly();
    } else {
      // Waits for a request in flight: its response is sent before the socket is shut down.
      std::lock_guard<std::mutex> lock(request_mu_);
      ShutdownQuietly();
    }
  }

 private:
  void ShutdownQuietly() {
    try {
      socket().shutdown();
    } catch (...) {
      // Already closed by the peer: nothing left to shut down.
    }
  }

  // HTTPServerSession::hasMoreRequests, with one poll(2) in place of Poco's per-wait epoll set.
  bool MoreRequests(Session& session) {
    if (!socket().impl()->initialized()) return false;
    if (first_request_) {
      first_request_ = false;
      --remaining_requests_;
      return Readable(socket().impl()->sockfd(), shared_->params->getTimeout());
    }
    if (remaining_requests_ != 0 && session.getKeepAlive()) {
      if (remaining_requests_ > 0) --remaining_requests_;
      return session.buffered() > 0 ||
             Readable(socket().impl()->sockfd(), shared_->params->getKeepAliveTimeout());
    }
    return false;
  }

  void Serve() {
    Poco::Net::HTTPServerParams::Ptr params = shared_->params;
    Session session(socket(), params);
    remaining_requests_ = params->getMaxKeepAliveRequests();
    while (!stopped_ && MoreRequests(session)) {
      try {
        std::lock_guard<std::mutex> lock(request_mu_);
        if (stopped_) break;
        Poco::Net::HTTPServerResponseImpl response(session);
        Poco::Net::HTTPServerRequestImpl request(response, session, params);
        const bool can_keep_alive = remaining_requests_ != 0;
        response.setDate(Poco::Timestamp());
        response.setVersion(request.getVersion());
        response.setKeepAlive(params->getKeepAlive() && request.getKeepAlive() && can_keep_alive);
        if (!shared_->server_name.empty()) response.set("Server", shared_->server_name);
        try {
          if (request.getExpectContinue() && response.getStatus() == Poco::Net::HTTPResponse::HTTP_OK) {
            response.sendContinue();
          }
          ScopedDirectSend direct(response, socket(), request.getMethod() == Poco::Net::HTTPRequest::HTTP_HEAD);
          shared_->router->Dispatch(request, response);
          if (!Sent(response)) SendText(response, 500, "application/json", "{\"error\":{\"code\":\"internal\"}}");
          const bool body_read = SkipUnreadBody(request);
          session.setKeepAlive(params->getKeepAlive() && response.getKeepAlive() && can_keep_alive && body_read);
        } catch (const Poco::Exception&) {
          if (!Sent(response)) {
            try {
              SendErrorResponse(session, Poco::Net::HTTPResponse::HTTP_INTERNAL_SERVER_ERROR);
            } catch (...) {
              // The connection is gone; nothing more to say on it.
            }
          }
          throw;
        }
      } catch (const Poco::Net::NoMessageException&) {
        break;  // the client closed the connection between requests
      } catch (const Poco::Net::MessageException&) {
        SendErrorResponse(session, Poco::Net::HTTPResponse::HTTP_BAD_REQUEST);
      }
    }
  }

  std::shared_ptr<Server::Shared> shared_;
  std::mutex request_mu_;  // held while a request is served
  std::atomic<bool> stopped_{false};
  bool first_request_ = true;
  int remaining_requests_ = 0;
};

namespace {

class ConnectionFactory final : public Poco::Net::TCPServerConnectionFactory {
 public:
  explicit ConnectionFactory(std::shared_ptr<Server::Shared> shared) : shared_(std::move(shared)) {}
  Poco::Net::TCPServerConnection* createConnection(const Poco::Net::StreamSocket& socket) override {
    return new Connection(socket, shared_);
  }

 private:
  std::shared_ptr<Server::Shared> shared_;
};

}  // namespace

Server::Server(const Router& router, const Poco::Net::ServerSocket& socket, const ServerOptions& options)
    : shared_(std::make_shared<Shared>()) {
  shared_->router = &router;
  shared_->server_name = options.server_name;
  Poco::Net::HTTPServerParams::Ptr params = new Poco::Net::HTTPServerParams;
  params->setMaxThreads(options.threads);
  params->setMaxQueued(options.max_queued);
  params->setKeepAlive(true);
  params->setKeepAliveTimeout(Poco::Timespan(options.keep_alive_timeout_s, 0));
  params->setTimeout(Poco::Timespan(options.request_timeout_s, 0));
  shared_->params = params;
  tcp_ = std::make_unique<Poco::Net::TCPServer>(new ConnectionFactory(shared_), socket, params);
}

Server::~Server() {
  if (!shared_->stopped) StopAll(true);
}

void Server::Start() { tcp_->start(); }

void Server::StopAll(bool abort_current) {
  tcp_->stop();  // no new connections; those queued for a thread are dropped
  shared_->stopped = true;
  std::lock_guard<std::mutex> lock(shared_->mu);
  for (Connection* c : shared_->connections) c->OnServerStopped(abort_current);
}

int Server::CurrentConnections() const { return tcp_->currentConnections(); }

}  // namespace minyi::http
