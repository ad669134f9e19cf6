#include "tests/integration/minyi_process.h"

#include <Poco/Exception.h>
#include <Poco/File.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/PipeStream.h>
#include <Poco/StreamCopier.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace minyi::testing {
namespace {

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The exit code a sanitizer report gives a process of the sanitizer presets (exitcode=23 in
// cmake/MinyiSanitize.cmake; minyi's own codes are 0-3, cli/command.h).
constexpr int kSanitizerExitCode = 23;

// A report (a race under TSan, a leak under ASan) ends serve with kSanitizerExitCode, often only at its
// shutdown: it fails the running test, also when only the destructor stopped the server and no test
// looked at the exit code.
int FailOnSanitizerExit(pid_t pid, int code, const std::string& log) {
  if (code == kSanitizerExitCode) {
    ADD_FAILURE() << "minyi serve (pid " << pid << ") exited with " << kSanitizerExitCode
                  << ", a sanitizer's report (on this test's stderr, which serve inherits); its log:\n"
                  << log;
  }
  return code;
}

}  // namespace

std::string MinyiPath() { return std::string(MINYI_BINARY_DIR) + "/cli/minyi"; }

std::vector<std::string> WithTestState(const std::vector<std::string>& args) {
  static const TempDir state;  // this test process's, removed at exit
  std::vector<std::string> all = {"-D", "paths.state_dir=" + state.path()};
  all.insert(all.end(), args.begin(), args.end());
  return all;
}

RunResult RunMinyi(const std::vector<std::string>& args, const std::string& stdin_text) {
  Poco::Pipe in_pipe, out_pipe, err_pipe;
  Poco::ProcessHandle handle = Poco::Process::launch(MinyiPath(), WithTestState(args), MINYI_SOURCE_DIR,
                                                     &in_pipe, &out_pipe, &err_pipe);
  {
    Poco::PipeOutputStream in(in_pipe);
    in << stdin_text;
    in.close();
  }
  RunResult result;
  // Drain stderr on a thread so neither pipe can fill up and block the child.
  std::thread err_reader([&] {
    Poco::PipeInputStream err(err_pipe);
    Poco::StreamCopier::copyToString(err, result.err);
  });
  Poco::PipeInputStream out(out_pipe);
  Poco::StreamCopier::copyToString(out, result.out);
  err_reader.join();
  result.exit_code = handle.wait();
  return result;
}

std::string TestPassword(const std::string& user) {
  return "pw-" + std::string(user.rbegin(), user.rend()) + "-Kq7";
}

RunResult AddUser(const std::vector<std::string>& global, const std::vector<std::string>& spec,
                  const std::string& password) {
  std::vector<std::string> args = global;
  args.insert(args.end(), {"user", "add"});
  args.insert(args.end(), spec.begin(), spec.end());
  args.push_back("--password-stdin");
  return RunMinyi(args, password + "\n");
}

TempDir::TempDir() {
  char pattern[] = "/tmp/minyi-test-XXXXXX";
  if (mkdtemp(pattern) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = pattern;
}

TempDir::~TempDir() {
  try {
    Poco::File(path_).remove(true);
  } catch (...) {
  }
}

void WriteFile(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary);
  out << content;
}

ServerProcess::ServerProcess(const std::vector<std::string>& global_args, int port) {
  char pattern[] = "/tmp/minyi-serve-XXXXXX";
  if (mkdtemp(pattern) == nullptr) throw std::runtime_error("mkdtemp failed");
  dir_ = pattern;
  log_path_ = dir_ + "/serve.log";
  const std::string port_file = dir_ + "/port";
  // A private respondent-key secret file (serve refuses to start without a secret); the caller's -D
  // options come later and win.
  std::vector<std::string> args = {"-D", "collector.secret_file=" + dir_ + "/respondent.secret"};
  args.insert(args.end(), global_args.begin(), global_args.end());
  args.insert(args.end(), {"-D", "http.port=" + std::to_string(port), "-D", "log.file=" + log_path_, "serve",
                           "--port-file", port_file, "--routes-file", routes_file()});
  handle_ = std::make_unique<Poco::ProcessHandle>(
      Poco::Process::launch(MinyiPath(), WithTestState(args), MINYI_SOURCE_DIR, nullptr, nullptr, nullptr));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    std::string text = ReadAll(port_file);
    if (!text.empty() && text.back() == '\n') {
      port_ = std::stoi(text);
      return;
    }
    // tryWait reaps a server that exited (isRunning would see its zombie as running until the deadline).
    if (const int code = handle_->tryWait(); code != -1) {
      exit_code_ = code;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

int ServerProcess::pid() const { return handle_ ? static_cast<int>(handle_->id()) : 0; }

int ServerProcess::Stop() {
  if (stopped_) return 0;
  stopped_ = true;
  if (exit_code_) {  // exited while starting, already reaped
    log_ = ReadAll(log_path_);
    return *exit_code_;
  }
  const pid_t pid = handle_->id();
  if (!Poco::Process::isRunning(*handle_)) {
    log_ = ReadAll(log_path_);
    return FailOnSanitizerExit(pid, handle_->wait(), log_);
  }
  ::kill(pid, SIGTERM);
  const auto sent = std::chrono::steady_clock::now();
  const auto deadline = sent + stop_bound_;
  // tryWait reaps the exited server (isRunning sees its zombie as running until the deadline, so every
  // stop took the whole bound).
  int code = -1;
  while ((code = handle_->tryWait()) == -1 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  stop_time_ = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - sent);
  if (code == -1) {
    ::kill(pid, SIGKILL);
    code = handle_->wait();
    log_ = ReadAll(log_path_);
    // A slow shutdown is a failure of the test that started the server, also when only the destructor
    // stopped it.
    ADD_FAILURE() << "minyi serve (pid " << pid << ") did not exit within " << stop_bound_.count()
                  << " ms of SIGTERM and was killed; its log:\n"
                  << log_;
    return code;
  }
  log_ = ReadAll(log_path_);
  return FailOnSanitizerExit(pid, code, log_);
}

void ServerProcess::Kill() {
  if (stopped_) return;
  stopped_ = true;
  if (!exit_code_) {
    ::kill(handle_->id(), SIGKILL);
    handle_->wait();
  }
  log_ = ReadAll(log_path_);
}

ServerProcess::~ServerProcess() {
  try {
    Stop();
    Poco::File(dir_).remove(true);
  } catch (...) {
  }
}

std::map<std::string, std::string> LeaseHolders(int port) {
  std::map<std::string, std::string> out;
  const HttpReply reply = HttpGet(port, "/api/v1/status");
  if (reply.status != 200) return out;
  try {
    auto o = Poco::JSON::Parser().parse(reply.body).extract<Poco::JSON::Object::Ptr>();
    auto leases = o->getArray("leases");
    for (std::size_t i = 0; leases && i < leases->size(); ++i) {
      auto l = leases->getObject(static_cast<unsigned>(i));
      out[l->getValue<std::string>("job")] = l->getValue<std::string>("holder");
    }
  } catch (const Poco::Exception&) {
    out.clear();
  }
  return out;
}

long long WaitForLeaseHolder(int port, const std::string& holder, const std::vector<std::string>& jobs,
                             long long limit_ms) {
  const auto start = std::chrono::steady_clock::now();
  const auto elapsed = [&] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start)
        .count();
  };
  while (elapsed() < limit_ms) {
    std::map<std::string, std::string> holders = LeaseHolders(port);
    if (std::all_of(jobs.begin(), jobs.end(),
                    [&](const std::string& job) { return holders[job] == holder; })) {
      return elapsed();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return -1;
}

HttpReply HttpGet(int port, const std::string& path) {
  Poco::Net::HTTPClientSession session("127.0.0.1", static_cast<Poco::UInt16>(port));
  Poco::Net::HTTPRequest request(Poco::Net::HTTPRequest::HTTP_GET, path, Poco::Net::HTTPMessage::HTTP_1_1);
  session.sendRequest(request);
  Poco::Net::HTTPResponse response;
  std::istream& in = session.receiveResponse(response);
  HttpReply reply;
  Poco::StreamCopier::copyToString(in, reply.body);
  reply.status = static_cast<int>(response.getStatus());
  for (const auto& [k, v] : response) reply.headers[k] = v;
  return reply;
}

}  // namespace minyi::testing
