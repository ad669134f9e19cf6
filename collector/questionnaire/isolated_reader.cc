#include "collector/questionnaire/isolated_reader.h"

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <thread>

namespace minyi::collector::questionnaire {
namespace {

// Hand-written: Poco::Process and posix_spawn start an executable, and a reader executable would have
// to be found beside `minyi`, each unit test binary and the fuzz target alike; fork without exec runs
// the reader that is already linked in. The child only reads the file and writes to the pipe (no
// logging, no locks of ours), and leaves with _exit. glibc's fork leaves malloc usable in the child;
// should the child still block on a lock another thread held at the fork (FreeXL's iconv loading a
// conversion module, say), the deadline kills it and the file is refused, not the server stalled.

using Clock = std::chrono::steady_clock;

constexpr char kRow = 'R';
constexpr char kError = 'E';
constexpr char kDone = 'D';

// The child's side: each record built in a buffer and written out whole.
class PipeWriter {
 public:
  explicit PipeWriter(int fd) : fd_(fd) {}
  void U32(std::uint32_t v) { buf_.append(reinterpret_cast<const char*>(&v), sizeof v); }
  void U64(std::uint64_t v) { buf_.append(reinterpret_cast<const char*>(&v), sizeof v); }
  void Byte(char c) { buf_.push_back(c); }
  void Text(const std::string& s) {
    U32(static_cast<std::uint32_t>(s.size()));
    buf_.append(s);
  }
  void Status(const minyi::Status& s) {
    U32(static_cast<std::uint32_t>(s.code()));
    Text(s.message());
  }
  // False when the parent stopped reading.
  bool Flush() {
    std::size_t off = 0;
    while (off < buf_.size()) {
      const ssize_t n = ::write(fd_, buf_.data() + off, buf_.size() - off);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      off += static_cast<std::size_t>(n);
    }
    buf_.clear();
    return true;
  }

 private:
  int fd_;
  std::string buf_;
};

[[noreturn]] void RunChild(const std::function<minyi::Status(const RowCallback&)>& read, int fd) {
  ::signal(SIGPIPE, SIG_IGN);
  // Keep only the pipe (as fd 3) and stdio: the server's sockets, and the write end of another
  // upload's pipe forked at the same moment, must not stay open in this child.
  if (fd != 3) {
    if (::dup2(fd, 3) < 0) ::_exit(3);
    fd = 3;
  }
  ::close_range(4, ~0U, 0);
  PipeWriter out(fd);
  bool writable = true;
  const minyi::Status s = read([&](const TableRow& row) -> minyi::Status {
    out.Byte(kRow);
    out.U64(row.number);
    out.U32(static_cast<std::uint32_t>(row.cells.size()));
    for (const std::string& cell : row.cells) out.Text(cell);
    out.Byte(row.error.ok() ? 0 : 1);
    if (!row.error.ok()) out.Status(row.error);
    // One write per row (a sheet has at most 65,536): a row given before a crash reaches the parent.
    writable = out.Flush();
    return writable ? minyi::Status::Ok() : minyi::Status::Unavailable("the parent stopped reading");
  });
  if (!writable) ::_exit(3);
  if (s.ok()) {
    out.Byte(kDone);
  } else {
    out.Byte(kError);
    out.Status(s);
  }
  ::_exit(out.Flush() ? 0 : 3);
}

// The parent's side: exact reads from the pipe within the deadline and the byte budget.
class PipeReader {
 public:
  PipeReader(int fd, Clock::time_point deadline, std::size_t max_bytes)
      : fd_(fd), deadline_(deadline), max_bytes_(max_bytes) {}

  enum class Outcome { kOk, kEof, kTimeout, kTooLarge };

  Outcome Exact(void* dst, std::size_t n) {
    if (n > max_bytes_ - std::min(max_bytes_, total_)) return Outcome::kTooLarge;
    char* p = static_cast<char*>(dst);
    while (n > 0) {
      if (pos_ == end_) {
        const Outcome filled = Fill();
        if (filled != Outcome::kOk) return filled;
      }
      const std::size_t take = std::min(n, end_ - pos_);
      std::memcpy(p, buf_ + pos_, take);
      pos_ += take;
      p += take;
      n -= take;
      total_ += take;
    }
    return Outcome::kOk;
  }
  Outcome U32(std::uint32_t& v) { return Exact(&v, sizeof v); }
  Outcome U64(std::uint64_t& v) { return Exact(&v, sizeof v); }
  Outcome Text(std::string& s) {
    std::uint32_t size = 0;
    if (const Outcome o = U32(size); o != Outcome::kOk) return o;
    if (size > max_bytes_ - std::min(max_bytes_, total_)) return Outcome::kTooLarge;
    s.resize(size);
    return size == 0 ? Outcome::kOk : Exact(s.data(), size);
  }
  Outcome ReadStatus(minyi::Status& s) {
    std::uint32_t code = 0;
    std::string message;
    if (const Outcome o = U32(code); o != Outcome::kOk) return o;
    if (const Outcome o = Text(message); o != Outcome::kOk) return o;
    s = minyi::Status(static_cast<StatusCode>(code), std::move(message));
    return Outcome::kOk;
  }

 private:
  Outcome Fill() {
    for (;;) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ - Clock::now()).count();
      if (left <= 0) return Outcome::kTimeout;
      pollfd pfd{fd_, POLLIN, 0};
      const int ready = ::poll(&pfd, 1, static_cast<int>(std::min<long long>(left, 1000)));
      if (ready < 0 && errno == EINTR) continue;
      if (ready <= 0) continue;  // re-checks the deadline
      const ssize_t n = ::read(fd_, buf_, sizeof buf_);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return Outcome::kEof;
      pos_ = 0;
      end_ = static_cast<std::size_t>(n);
      return Outcome::kOk;
    }
  }

  int fd_;
  Clock::time_point deadline_;
  std::size_t max_bytes_;
  std::size_t total_ = 0;
  char buf_[1 << 16];
  std::size_t pos_ = 0;
  std::size_t end_ = 0;
};

// Waits for the child until the deadline, then kills it. Returns the wait status.
int Reap(pid_t pid, Clock::time_point deadline, bool kill_now) {
  if (kill_now) ::kill(pid, SIGKILL);
  int status = 0;
  for (;;) {
    const pid_t r = ::waitpid(pid, &status, kill_now ? 0 : WNOHANG);
    if (r == pid) return status;
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return 0;  // not our child any more (reaped elsewhere)
    if (Clock::now() >= deadline) {
      ::kill(pid, SIGKILL);
      kill_now = true;
      continue;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

std::string HowItEnded(int status) {
  if (WIFSIGNALED(status)) return "the reader stopped on signal " + std::to_string(WTERMSIG(status));
  if (WIFEXITED(status)) return "the reader exited with status " + std::to_string(WEXITSTATUS(status));
  return "the reader stopped";
}

}  // namespace

Status ReadIsolated(const std::function<Status(const RowCallback& emit)>& read, const RowCallback& on_row,
                    const IsolationLimits& limits, const std::string& what) {
  int fds[2];
  if (::pipe(fds) != 0) return Status::Unavailable("cannot read " + what + ": pipe: " + std::strerror(errno));
  const pid_t pid = ::fork();
  if (pid < 0) {
    const int err = errno;
    ::close(fds[0]);
    ::close(fds[1]);
    return Status::Unavailable("cannot read " + what + ": fork: " + std::strerror(err));
  }
  if (pid == 0) {
    ::close(fds[0]);
    RunChild(read, fds[1]);
  }
  ::close(fds[1]);
  const Clock::time_point deadline = Clock::now() + std::chrono::seconds(limits.seconds);
  PipeReader in(fds[0], deadline, limits.max_bytes);
  using Outcome = PipeReader::Outcome;
  Status result;
  bool finished = false;  // an end record arrived: the child is leaving on its own
  Outcome failure = Outcome::kOk;
  for (;;) {
    char type = 0;
    Outcome o = in.Exact(&type, 1);
    if (o != Outcome::kOk) {
      failure = o;
      break;
    }
    if (type == kDone || type == kError) {
      if (type == kError && (o = in.ReadStatus(result)) != Outcome::kOk) {
        failure = o;
        break;
      }
      finished = true;
      break;
    }
    if (type != kRow) {
      failure = Outcome::kEof;  // a record we never write: the child's memory is not to be trusted
      break;
    }
    TableRow row;
    std::uint64_t number = 0;
    std::uint32_t cells = 0;
    char flagged = 0;
    if ((o = in.U64(number)) == Outcome::kOk && (o = in.U32(cells)) == Outcome::kOk) {
      row.number = static_cast<std::size_t>(number);
      for (std::uint32_t c = 0; c < cells && o == Outcome::kOk; ++c) {
        row.cells.emplace_back();
        o = in.Text(row.cells.back());
      }
    }
    if (o == Outcome::kOk) o = in.Exact(&flagged, 1);
    if (o == Outcome::kOk && flagged != 0) o = in.ReadStatus(row.error);
    if (o != Outcome::kOk) {
      failure = o;
      break;
    }
    result = on_row(row);
    if (!result.ok()) break;
  }
  const bool stop_now = !finished;
  const int status = Reap(pid, deadline + std::chrono::seconds(1), stop_now && failure != Outcome::kEof);
  ::close(fds[0]);
  if (finished || !result.ok()) return result;
  switch (failure) {
    case Outcome::kTimeout:
      return Status::ResourceExhausted(what + " took longer than " + std::to_string(limits.seconds) +
                                       " s to read (the limit for one file)");
    case Outcome::kTooLarge:
      return Status::ResourceExhausted(what + " gave more than " + std::to_string(limits.max_bytes >> 20) +
                                       " MiB of cells (the limit for one file)");
    default:
      return Status::InvalidInput(what + " could not be read (" + HowItEnded(status) +
                                  "): the file is damaged or not a questionnaire export");
  }
}

}  // namespace minyi::collector::questionnaire
