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
// What an outsider controls is bounded (Poco's receive timeout is per recv(2), so a client sending a
// byte every few seconds would hold a thread for ever):
//   - a request's header block must arrive within header_timeout_s of the request's start (for a new
//     connection: of its accept), its body within header_timeout_s + length / body_min_bytes_per_s
//     (a chunked body: the bytes received so far count as the length). A reaper thread shuts down the
//     socket of a connection blocked receiving its request past that deadline; a handler computing or
//     writing its answer is never cut;
//   - at most max_connections_per_address connections per TCP peer address (0 = no cap; addresses in
//     cap_exempt are not capped, e.g. a reverse proxy, whose address is the peer of every request
//     behind it); a connection over the cap is answered 503 and closed;
//   - when a connection waits for a thread (the pool is exhausted), idle kept-alive connections are
//     closed at once;
//   - framing that a proxy in front could read differently is refused with 400 and the connection
//     closed (core/http/framing.h).
//
// Stopping: StopAll(false) closes the listening socket (new connections are refused at once), closes
// idle connections, answers a request already received (Connection: close) and lets requests in flight
// finish; Drain bounds the whole.
//
// Thread safety: Start, StopAll and the accessors may be called from any one controlling thread.
#pragma once

#include <Poco/Net/ServerSocket.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/http/router.h"

namespace Poco::Net {
class TCPServer;
}

namespace minyi::http {

struct ServerOptions {
  int threads = 256;                     // connections served at once (one thread each)
  int max_queued = 1024;                 // accepted connections waiting for a thread
  int keep_alive_timeout_s = 15;         // an idle kept-alive connection is closed after this
  int request_timeout_s = 60;            // one recv(2) of a request may stall this long
  int header_timeout_s = 10;             // a request's whole header block must arrive within this
  int body_min_bytes_per_s = 1024;       // ... and its body at least this fast (after header_timeout_s)
  int max_connections_per_address = 32;  // per TCP peer address; 0 = no cap
  std::vector<std::string> cap_exempt;   // peer addresses (e.g. "127.0.0.1") the cap does not apply to
  std::string server_name;               // the Server header, when not empty (none by default)
};

class Server {
 public:
  // `socket` is bound and listening. `router` must outlive the server.
  Server(const Router& router, const Poco::Net::ServerSocket& socket, const ServerOptions& options);
  ~Server();  // StopAll(true) if still running
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  void Start();
  // Stops accepting: the listening socket is closed, so new connections are refused. Idle connections
  // are closed; a request already received or in flight is finished, answered with Connection: close
  // and its connection closed (abort_current = false), or every socket is shut down at once (true).
  // Never blocks on a connection; returns without waiting for connection threads (see Drain).
  void StopAll(bool abort_current);
  // StopAll(false), then waits up to `timeout` for the connections to end; those still open are shut
  // down (StopAll(true)) and given one more second. True when every connection ended: from then on no
  // handler runs (a connection that reaches a thread later is closed unserved), so the router may go.
  bool Drain(std::chrono::milliseconds timeout);
  // Connections being served (their threads still running).
  int CurrentConnections() const;

  struct Shared;  // state shared with the connection threads (outlives the server if need be)

 private:
  void Reap();  // the reaper thread: deadlines and idle connections under pressure
  // Once stopped: waits up to `timeout` until no connection is being served, then closes the server to
  // connections that start later. True when it closed.
  bool WaitIdle(std::chrono::milliseconds timeout);

  std::shared_ptr<Shared> shared_;
  Poco::Net::ServerSocket socket_;  // closed by StopAll
  std::unique_ptr<Poco::Net::TCPServer> tcp_;
  std::thread reaper_;
};

}  // namespace minyi::http
