// The HTTP server of `minyi serve`: Poco's TCPServer (thread pool, accept queue, one thread per
// connection while it is in use) with a connection loop of our own in place of Poco's
// HTTPServerConnection, so that the hot path costs fewer system calls:
//
//   - waiting for the next request on a kept-alive connection is one poll(2); Poco 1.11 creates,
//     fills and closes an epoll set for every wait (four calls);
//   - a response sent with SendText/SendJson/SendError goes out in one send(2), status line, headers
//     and body together; Poco's sendBuffer passes the body through the session's 4 KB buffer (a
//     13 KB dashboard answer was four sends).
//
// Everything else is Poco's: HTTPServerRequestImpl parses the request (its limits included),
// HTTPServerResponseImpl serves streamed and file responses, and the Router's handlers see the same
// Request/Response types as under Poco's HTTPServer (which the Router still supports, e.g. in tests).
//
// Thread safety: Start, StopAll and the accessors may be called from any one controlling thread.
#pragma once

#include <Poco/Net/ServerSocket.h>

#include <memory>
#include <string>

#include "core/http/router.h"

namespace Poco::Net {
class TCPServer;
}

namespace minyi::http {

struct ServerOptions {
  int threads = 256;                  // connections served at once (one thread each)
  int max_queued = 1024;              // accepted connections waiting for a thread
  int keep_alive_timeout_s = 15;      // an idle kept-alive connection is closed after this
  int request_timeout_s = 60;         // reading a request (and its body) may stall this long
  std::string server_name;            // the Server header, when not empty (none by default)
};

class Server {
 public:
  // `socket` is bound and listening. `router` must outlive the server.
  Server(const Router& router, const Poco::Net::ServerSocket& socket, const ServerOptions& options);
  ~Server();  // StopAll(true) if still running
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  void Start();
  // Stops accepting. Idle connections are closed; a request in flight is finished and its
  // connection closed after the response (abort_current = false), or its socket is shut down at
  // once (true). Returns without waiting for connection threads: see CurrentConnections().
  void StopAll(bool abort_current);
  // Connections being served (their threads still running).
  int CurrentConnections() const;

  struct Shared;  // state shared with the connection threads (outlives the server if need be)

 private:
  std::shared_ptr<Shared> shared_;
  std::unique_ptr<Poco::Net::TCPServer> tcp_;
};

}  // namespace minyi::http
