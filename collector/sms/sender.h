// Delivery of the SMS outbox: a pluggable gateway, an HTTP gateway client (Poco HTTPClientSession),
// and the sender that drains due messages at a bounded rate with retries and back-off.
//
// The HTTP gateway protocol (a thin JSON relay in front of the operator's SMS API):
//   POST <url>  Authorization: Bearer <token>  {"to":"+8613812345678","text":"..."}
//   2xx → sent (a JSON "id" in the answer is kept as the gateway reference);
//   429, 5xx, timeouts, refused connections → retried later; other 4xx → failed for good.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "collector/sms/phone_privacy.h"
#include "core/lease_ports.h"
#include "core/sms_ports.h"
#include "core/status.h"

namespace minyi::collector::sms {

class SmsGateway {
 public:
  virtual ~SmsGateway() = default;
  // Sends one segment. Returns the gateway's reference on success; kUnavailable for failures worth
  // retrying, kInvalidInput for permanent ones. Must be safe to call from the sender thread.
  virtual Result<std::string> Send(const std::string& e164, const std::string& text) = 0;
};

struct HttpGatewayOptions {
  std::string url;    // http://host:port/path (https when Poco was built with NetSSL; not used here)
  std::string token;  // bearer token; empty = no Authorization header
  int timeout_ms = 5000;
};

class HttpSmsGateway final : public SmsGateway {
 public:
  // kInvalidInput when the URL is not an http:// URL with a host.
  static Result<std::unique_ptr<HttpSmsGateway>> Create(HttpGatewayOptions options);
  Result<std::string> Send(const std::string& e164, const std::string& text) override;

 private:
  explicit HttpSmsGateway(HttpGatewayOptions options) : options_(std::move(options)) {}
  HttpGatewayOptions options_;
};

struct SenderOptions {
  double rate_per_second = 10;   // at most this many gateway calls per second
  int max_attempts = 5;          // then the message is marked failed
  std::int64_t backoff_ms = 2000;  // first retry delay; doubled per attempt
  int batch = 100;               // messages read per pass
  int poll_ms = 500;             // idle wait of the background thread
  // How long a claimed message stays with its sender (SmsStore::ClaimOutbox): a sender that dies
  // between its claim and recording the attempt leaves the message to be sent again after this.
  std::int64_t claim_ms = 60000;
};

class OutboxSender {
 public:
  OutboxSender(SmsStore& store, SmsGateway& gateway, const PhoneCipher& cipher, SenderOptions options,
               std::function<std::int64_t()> clock = NowMillis);
  ~OutboxSender();
  OutboxSender(const OutboxSender&) = delete;
  OutboxSender& operator=(const OutboxSender&) = delete;

  // One pass over the due messages (rate-limited). Returns how many were sent. Opted-out numbers are
  // never sent to (their messages are marked failed).
  Result<int> SendDue();

  // With several servers on one database: SendDue() sends only while `fence` answers the fence of
  // the sender's lease (core/lease_keeper.h Held), asked again before each message, and each claim
  // checks that fencing token in the database. Without it (one process), claims are not fenced.
  // Call before Start().
  void set_fence(std::function<std::optional<LeaseFence>()> fence) { fence_ = std::move(fence); }

  // A background thread calling SendDue() and then `also` (e.g. conversation expiry) every poll_ms
  // until Stop(). Start() twice is a no-op.
  void Start(std::function<void()> also = nullptr);
  void Stop();

 private:
  void Pace();

  SmsStore& store_;
  SmsGateway& gateway_;
  const PhoneCipher& cipher_;
  SenderOptions options_;
  std::function<std::int64_t()> clock_;
  std::function<std::optional<LeaseFence>()> fence_;
  std::chrono::steady_clock::time_point next_send_ = std::chrono::steady_clock::now();

  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace minyi::collector::sms
