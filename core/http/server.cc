#include "core/http/server.h"

#include <Poco/Exception.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequestImpl.h>
#include <Poco/Net/HTTPServerResponseImpl.h>
#include <Poco/Net/HTTPServerSession.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/StreamSocketImpl.h>
#include <Poco/Net/TCPServer.h>
#include <Poco/Net/TCPServerConnection.h>
#include <Poco/Net/TCPServerConnectionFactory.h>
#include <Poco/Timestamp.h>
#include <fcntl.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <istream>
#include <map>
#include <mutex>
#include <set>

#include "core/http/framing.h"

namespace minyi::http {

class Connection;
using Clock = std::chrono::steady_clock;

struct Server::Shared {
  ~Shared() {
    if (stop_pipe[0] >= 0) ::close(stop_pipe[0]);
    if (stop_pipe[1] >= 0) ::close(stop_pipe[1]);
  }
  const Router* router = nullptr;
  Poco::Net::HTTPServerParams::Ptr params;
  ServerOptions options;
  std::atomic<bool> stopped{false};
  // Readable once StopAll was called: every connection waiting for a request polls it too, so a stop
  // wakes them all without a per-connection timer.
  int stop_pipe[2] = {-1, -1};
  std::mutex mu;                      // guards connections, per_address and closed
  std::set<Connection*> connections;  // registered for the lifetime of their run()
  // Set (by Server::WaitIdle) once the server stopped and no connection is registered: the router may
  // be gone, so a connection that starts later closes without serving anything.
  bool closed = false;
  std::map<std::string, int> per_address;
  std::condition_variable reaper_cv;  // with mu: wakes the reaper to end
  bool reaper_stop = false;
};

namespace {

// Beyond this much, a header block is refused (431) rather than recorded for the framing checks.
constexpr std::size_t kMaxHeaderBlock = 64 * 1024;

// What the reaper needs to know about one connection, and the raw bytes of its current header block.
// Every member is guarded by mu.
struct Watch {
  enum class Phase { kWaiting, kHeaders, kBody, kHandler };
  std::mutex mu;
  Phase phase = Phase::kWaiting;
  bool kept_alive = false;         // served a request already (kWaiting is then an idle kept-alive wait)
  bool in_recv = false;            // blocked in recv(2) on the request
  bool timed_out = false;          // the reaper shut the socket down
  Clock::time_point start;         // of the header block, or of the body
  std::int64_t body_length = 0;    // declared (0 when chunked)
  std::int64_t body_received = 0;  // bytes received in kBody
  bool recording = false;
  std::string head;       // the raw header block while recording (at most kMaxHeaderBlock + one recv)
  std::string last_recv;  // the bytes of the last recv(2): the session's read-ahead comes from there

  Clock::time_point DeadlineLocked(const ServerOptions& o) const {
    auto deadline = start + std::chrono::seconds(o.header_timeout_s);
    if (phase == Phase::kBody) {
      // At most a day more: a declared length of up to 18 digits must not overflow the clock.
      const std::int64_t length = std::max(body_length, body_received);
      const std::int64_t rate = std::max(1, o.body_min_bytes_per_s);
      deadline += length / rate >= 86400 ? std::chrono::milliseconds(86400 * 1000LL)
                                         : std::chrono::milliseconds(length * 1000 / rate);
    }
    return deadline;
  }
};

// The session's socket: every recv(2) of the connection goes through receiveBytes, so the deadline is
// checked before each one, the reaper knows when the thread is blocked receiving, and the header bytes
// are recorded for the framing checks. (Poco's HTTPSession::receive is not virtual; the socket impl's
// receiveBytes is the one hook that sees every byte Poco's parser reads.) It owns a dup of the
// accepted descriptor.
class WatchedSocketImpl final : public Poco::Net::StreamSocketImpl {
 public:
  WatchedSocketImpl(poco_socket_t fd, Watch& watch, const ServerOptions& options)
      : Poco::Net::StreamSocketImpl(fd), watch_(watch), options_(options) {}
  using Poco::Net::StreamSocketImpl::receiveBytes;

  int receiveBytes(void* buffer, int length, int flags) override {
    {
      std::lock_guard<std::mutex> lock(watch_.mu);
      if (watch_.timed_out ||
          ((watch_.phase == Watch::Phase::kHeaders || watch_.phase == Watch::Phase::kBody) &&
           Clock::now() > watch_.DeadlineLocked(options_))) {
        watch_.timed_out = true;
        ::shutdown(sockfd(), SHUT_RDWR);  // as the reaper would: no answer to a request cut short
        throw Poco::TimeoutException("request not received in time");
      }
      watch_.in_recv = true;
    }
    int n = 0;
    try {
      n = Poco::Net::StreamSocketImpl::receiveBytes(buffer, length, flags);
    } catch (...) {
      std::lock_guard<std::mutex> lock(watch_.mu);
      watch_.in_recv = false;
      throw;
    }
    std::lock_guard<std::mutex> lock(watch_.mu);
    watch_.in_recv = false;
    if (watch_.timed_out) throw Poco::TimeoutException("request not received in time");
    if (n > 0) {
      const auto* bytes = static_cast<const char*>(buffer);
      watch_.last_recv.assign(bytes, static_cast<std::size_t>(n));
      if (watch_.recording && watch_.head.size() <= kMaxHeaderBlock)
        watch_.head.append(bytes, static_cast<std::size_t>(n));
      if (watch_.phase == Watch::Phase::kBody) watch_.body_received += n;
    }
    return n;
  }

 private:
  Watch& watch_;
  const ServerOptions& options_;
};

// Exposes the session's count of bytes read ahead (a pipelined next request needs no wait).
class Session final : public Poco::Net::HTTPServerSession {
 public:
  Session(const Poco::Net::StreamSocket& socket, Poco::Net::HTTPServerParams::Ptr params)
      : Poco::Net::HTTPServerSession(socket, params) {}
  using Poco::Net::HTTPSession::buffered;
};

enum class Wait { kData, kStopped, kTimeout };

// Waits until `fd` has something to read (or was closed or failed: the read that follows says which),
// the server stops (`stop_fd` readable) or `ms` pass.
Wait WaitReadable(int fd, int stop_fd, int ms) {
  pollfd p[2] = {{fd, POLLIN, 0}, {stop_fd, POLLIN, 0}};
  for (;;) {
    const int rc = ::poll(p, 2, std::max(0, ms));
    if (rc > 0) return p[0].revents != 0 ? Wait::kData : Wait::kStopped;
    if (rc == 0) return Wait::kTimeout;
    if (errno != EINTR) return Wait::kTimeout;
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

void ShutdownFd(int fd) { ::shutdown(fd, SHUT_RDWR); }

}  // namespace

// One kept-alive connection: the request loop of Poco's HTTPServerConnection (1.11) with a poll(2)
// wait, the one-write response path, deadlines and framing checks.
class Connection final : public Poco::Net::TCPServerConnection {
 public:
  Connection(const Poco::Net::StreamSocket& socket, std::shared_ptr<Server::Shared> shared)
      : Poco::Net::TCPServerConnection(socket), shared_(std::move(shared)) {}

  void run() override {
    watch_.start = Clock::now();  // a new connection's first header block is due header_timeout_s from now
    std::string address;
    try {
      address = socket().peerAddress().host().toString();
    } catch (const Poco::Exception&) {
      return;  // the peer is gone already
    }
    const Admission admission = Register(address);
    if (admission == Admission::kClosed) return;
    if (admission == Admission::kOverCap) {
      spdlog::debug("http: refused a connection from {}: over http.max_connections_per_address", address);
      static constexpr char kBusy[] =
          "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
      ::send(fd(), kBusy, sizeof kBusy - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
      return;
    }
    try {
      Serve();
    } catch (const Poco::Exception& e) {
      spdlog::debug("http connection ended: {}", e.displayText());
    } catch (const std::exception& e) {
      spdlog::debug("http connection ended: {}", e.what());
    }
    std::lock_guard<std::mutex> lock(shared_->mu);
    shared_->connections.erase(this);
    if (counted_ && --shared_->per_address[address] <= 0) shared_->per_address.erase(address);
  }

  // Called by the reaper with Shared::mu held, so the connection is still registered (alive).
  void Reap(Clock::time_point now, bool pool_exhausted) {
    std::lock_guard<std::mutex> lock(watch_.mu);
    const bool reading = watch_.phase == Watch::Phase::kHeaders || watch_.phase == Watch::Phase::kBody;
    if (reading && watch_.in_recv && now > watch_.DeadlineLocked(shared_->options)) {
      watch_.timed_out = true;
      ShutdownFd(fd());
    } else if (pool_exhausted && watch_.phase == Watch::Phase::kWaiting && watch_.kept_alive) {
      watch_.timed_out = true;
      ShutdownFd(fd());
    }
  }

  // Called by StopAll(true) with Shared::mu held.
  void Abort() { ShutdownFd(fd()); }

 private:
  int fd() { return socket().impl()->sockfd(); }

  enum class Admission { kServe, kOverCap, kClosed };
  Admission Register(const std::string& address) {
    const ServerOptions& o = shared_->options;
    std::lock_guard<std::mutex> lock(shared_->mu);
    // Poco's dispatcher counts a connection only once its thread has started it: one taken from the
    // queue just before the stop can start after Drain saw none left.
    if (shared_->closed) return Admission::kClosed;
    const bool exempt = std::find(o.cap_exempt.begin(), o.cap_exempt.end(), address) != o.cap_exempt.end();
    if (o.max_connections_per_address > 0 && !exempt) {
      int& count = shared_->per_address[address];
      if (count >= o.max_connections_per_address) return Admission::kOverCap;
      ++count;
      counted_ = true;
    }
    shared_->connections.insert(this);
    return Admission::kServe;
  }

  void SetPhase(Watch::Phase phase) {
    std::lock_guard<std::mutex> lock(watch_.mu);
    watch_.phase = phase;
  }

  // HTTPServerSession::hasMoreRequests, with one poll(2) (socket and stop pipe) in place of Poco's
  // per-wait epoll set. Once the server stops, only a request already received is served.
  bool MoreRequests(Session& session) {
    const Poco::Net::HTTPServerParams& params = *shared_->params;
    int wait_ms = 0;
    if (first_request_) {
      first_request_ = false;
      --remaining_requests_;
      wait_ms = static_cast<int>(
          std::chrono::duration_cast<std::chrono::milliseconds>(
              watch_.start + std::chrono::seconds(shared_->options.header_timeout_s) - Clock::now())
              .count());
    } else {
      if (remaining_requests_ == 0 || !session.getKeepAlive()) return false;
      if (remaining_requests_ > 0) --remaining_requests_;
      {
        std::lock_guard<std::mutex> lock(watch_.mu);
        watch_.phase = Watch::Phase::kWaiting;
        watch_.kept_alive = true;
      }
      if (session.buffered() > 0) return true;
      wait_ms = static_cast<int>(params.getKeepAliveTimeout().totalMilliseconds());
    }
    if (shared_->stopped) wait_ms = 0;
    switch (WaitReadable(fd(), shared_->stop_pipe[0], wait_ms)) {
      case Wait::kData:
        return true;
      case Wait::kTimeout:
        return false;
      case Wait::kStopped:
        return WaitReadable(fd(), -1, 0) == Wait::kData;
    }
    return false;
  }

  // Starts a request: its header block is due header_timeout_s from now (a first request: from the
  // accept) and recorded from the session's read-ahead on.
  void BeginHeaders(Session& session) {
    std::lock_guard<std::mutex> lock(watch_.mu);
    if (watch_.kept_alive) watch_.start = Clock::now();
    watch_.phase = Watch::Phase::kHeaders;
    watch_.recording = true;
    const auto ahead = static_cast<std::size_t>(session.buffered());
    watch_.head.assign(watch_.last_recv, watch_.last_recv.size() - std::min(ahead, watch_.last_recv.size()),
                       std::string::npos);
  }

  // The header block is parsed: the framing problem if any ("" when none); the body's deadline starts.
  std::string EndHeaders(const Poco::Net::HTTPServerRequest& request, bool& too_large) {
    std::lock_guard<std::mutex> lock(watch_.mu);
    watch_.recording = false;
    too_large = watch_.head.size() > kMaxHeaderBlock;
    std::string problem = too_large ? std::string("header block too large") : FramingProblem(watch_.head);
    watch_.head.clear();
    const bool chunked = request.getChunkedTransferEncoding();
    const std::int64_t length = request.hasContentLength() ? request.getContentLength64() : 0;
    watch_.phase = chunked || length > 0 ? Watch::Phase::kBody : Watch::Phase::kHandler;
    watch_.start = Clock::now();
    watch_.body_length = chunked ? 0 : length;
    watch_.body_received = 0;
    return problem;
  }

  void Serve() {
    Poco::Net::HTTPServerParams::Ptr params = shared_->params;
    Poco::Net::StreamSocket watched(
        new WatchedSocketImpl(::fcntl(fd(), F_DUPFD_CLOEXEC, 0), watch_, shared_->options));
    Session session(watched, params);
    remaining_requests_ = params->getMaxKeepAliveRequests();
    while (MoreRequests(session)) {
      BeginHeaders(session);
      Poco::Net::HTTPServerResponseImpl response(session);
      std::unique_ptr<Poco::Net::HTTPServerRequestImpl> request;
      try {
        request = std::make_unique<Poco::Net::HTTPServerRequestImpl>(response, session, params);
      } catch (const Poco::Net::NoMessageException&) {
        break;  // the client closed the connection between requests
      } catch (const Poco::Net::MessageException& e) {
        return Refuse(session, Poco::Net::HTTPResponse::HTTP_BAD_REQUEST, e.displayText());
      } catch (const Poco::SyntaxException& e) {
        // An unparsable Content-Length (Poco's NumberParser throws from the request's constructor).
        return Refuse(session, Poco::Net::HTTPResponse::HTTP_BAD_REQUEST, e.displayText());
      }
      // A body cut short (deadline, reset) throws from the handler's reads instead of looking like
      // its end: std::istream would otherwise swallow the exception and report end of input.
      request->stream().exceptions(std::ios::badbit);
      bool too_large = false;
      const std::string problem = EndHeaders(*request, too_large);
      if (!problem.empty()) {
        return Refuse(session,
                      too_large ? Poco::Net::HTTPResponse::HTTP_REQUEST_HEADER_FIELDS_TOO_LARGE
                                : Poco::Net::HTTPResponse::HTTP_BAD_REQUEST,
                      problem);
      }
      if (!ServeOne(session, *request, response)) break;
    }
  }

  void Refuse(Session& session, Poco::Net::HTTPResponse::HTTPStatus status, const std::string& why) {
    spdlog::debug("http: refused a request: {}", LogSafe(why));
    SendErrorResponse(session, status);
  }

  // Serves a parsed request; false when the connection is to close.
  bool ServeOne(Session& session, Poco::Net::HTTPServerRequestImpl& request,
                Poco::Net::HTTPServerResponseImpl& response) {
    const Poco::Net::HTTPServerParams& params = *shared_->params;
    const bool can_keep_alive = remaining_requests_ != 0 && !shared_->stopped;
    response.setDate(Poco::Timestamp());
    response.setVersion(request.getVersion());
    response.setKeepAlive(params.getKeepAlive() && request.getKeepAlive() && can_keep_alive);
    if (!shared_->options.server_name.empty()) response.set("Server", shared_->options.server_name);
    try {
      if (request.getExpectContinue() && response.getStatus() == Poco::Net::HTTPResponse::HTTP_OK) {
        response.sendContinue();
      }
      ScopedDirectSend direct(response, socket(), request.getMethod() == Poco::Net::HTTPRequest::HTTP_HEAD,
                              &shared_->stopped);
      shared_->router->Dispatch(request, response);
      if (!Sent(response))
        SendText(response, 500, "application/json", ErrorJson("internal", "internal error"));
      SetPhase(Watch::Phase::kHandler);
      const bool body_read = SkipUnreadBody(request);
      const bool keep_alive = params.getKeepAlive() && response.getKeepAlive() && can_keep_alive &&
                              body_read && !shared_->stopped;
      session.setKeepAlive(keep_alive);
      return keep_alive;
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
  }

  std::shared_ptr<Server::Shared> shared_;
  Watch watch_;
  bool counted_ = false;  // counted in Shared::per_address
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
    : shared_(std::make_shared<Shared>()), socket_(socket) {
  shared_->router = &router;
  shared_->options = options;
  if (::pipe2(shared_->stop_pipe, O_CLOEXEC) != 0)
    throw Poco::IOException("pipe2 for the server's stop signal");
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
  if (!WaitIdle(std::chrono::seconds(5))) {
    spdlog::error("http: connections still running as the server is destroyed");
  }
  {
    std::lock_guard<std::mutex> lock(shared_->mu);
    shared_->reaper_stop = true;
  }
  shared_->reaper_cv.notify_all();
  if (reaper_.joinable()) reaper_.join();
}

void Server::Start() {
  tcp_->start();
  reaper_ = std::thread([this] { Reap(); });
}

void Server::Reap() {
  std::unique_lock<std::mutex> lock(shared_->mu);
  while (!shared_->reaper_stop) {
    shared_->reaper_cv.wait_for(lock, std::chrono::milliseconds(100));
    // A connection waits for a thread: every thread is taken.
    const bool pool_exhausted = tcp_->queuedConnections() > 0 &&
                                static_cast<int>(shared_->connections.size()) >= shared_->options.threads;
    const auto now = Clock::now();
    for (Connection* c : shared_->connections) c->Reap(now, pool_exhausted);
  }
}

void Server::StopAll(bool abort_current) {
  if (!shared_->stopped.exchange(true)) {
    tcp_->stop();  // no new connections; those queued for a thread are dropped
    try {
      socket_.close();  // refused from now on, not left in the kernel's backlog unanswered
    } catch (const Poco::Exception&) {
      // Already closed.
    }
    const char one = 1;
    if (::write(shared_->stop_pipe[1], &one, 1) != 1)
      spdlog::warn("http: could not signal the stop to connections");
  }
  if (abort_current) {
    std::lock_guard<std::mutex> lock(shared_->mu);
    for (Connection* c : shared_->connections) c->Abort();
  }
}

bool Server::WaitIdle(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(shared_->mu);
      if (shared_->connections.empty()) {
        shared_->closed = true;
        return true;
      }
    }
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

bool Server::Drain(std::chrono::milliseconds timeout) {
  StopAll(false);
  if (WaitIdle(timeout)) return true;
  spdlog::warn("http: {} connections still open after {} ms; closing them", CurrentConnections(),
               timeout.count());
  StopAll(true);
  return WaitIdle(std::chrono::seconds(1));
}

int Server::CurrentConnections() const { return tcp_->currentConnections(); }

}  // namespace minyi::http
