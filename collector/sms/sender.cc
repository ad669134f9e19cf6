#include "collector/sms/sender.h"

#include <Poco/Exception.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>
#include <Poco/URI.h>
#include <spdlog/spdlog.h>

#include <sstream>

#include "collector/sms/phone_privacy.h"

namespace minyi::collector::sms {
namespace {

std::string JsonString(const std::string& s) {
  std::ostringstream out;
  Poco::JSON::Object o;
  o.set("v", s);
  o.stringify(out);
  const std::string text = out.str();  // {"v":"..."}
  return text.substr(5, text.size() - 6);
}

}  // namespace

Result<std::unique_ptr<HttpSmsGateway>> HttpSmsGateway::Create(HttpGatewayOptions options) {
  try {
    Poco::URI uri(options.url);
    if (uri.getScheme() != "http" || uri.getHost().empty()) {
      return Status::InvalidInput("sms.gateway.url '" + options.url + "': expected http://host[:port]/path");
    }
  } catch (const Poco::Exception& e) {
    return Status::InvalidInput("sms.gateway.url '" + options.url + "': " + e.message());
  }
  return std::unique_ptr<HttpSmsGateway>(new HttpSmsGateway(std::move(options)));
}

Result<std::string> HttpSmsGateway::Send(const std::string& e164, const std::string& text) {
  try {
    Poco::URI uri(options_.url);
    Poco::Net::HTTPClientSession session(uri.getHost(), uri.getPort());
    session.setTimeout(Poco::Timespan(static_cast<long>(options_.timeout_ms) * 1000));
    const std::string body = "{\"to\":" + JsonString(e164) + ",\"text\":" + JsonString(text) + "}";
    Poco::Net::HTTPRequest request(Poco::Net::HTTPRequest::HTTP_POST, uri.getPathAndQuery().empty() ? "/" : uri.getPathAndQuery(),
                                   Poco::Net::HTTPMessage::HTTP_1_1);
    request.setContentType("application/json; charset=utf-8");
    request.setContentLength(static_cast<std::streamsize>(body.size()));
    if (!options_.token.empty()) request.set("Authorization", "Bearer " + options_.token);
    session.sendRequest(request) << body;
    Poco::Net::HTTPResponse response;
    std::istream& in = session.receiveResponse(response);
    std::string answer;
    Poco::StreamCopier::copyToString(in, answer);
    const int status = static_cast<int>(response.getStatus());
    if (status >= 200 && status < 300) {
      std::string ref;
      try {
        Poco::JSON::Parser parser;
        auto o = parser.parse(answer).extract<Poco::JSON::Object::Ptr>();
        if (o->has("id")) ref = o->get("id").toString();
      } catch (const Poco::Exception&) {
      }
      return ref;
    }
    const std::string reason = "gateway answered HTTP " + std::to_string(status);
    if (status == 429 || status >= 500) return Status::Unavailable(reason);
    return Status::InvalidInput(reason);
  } catch (const Poco::Exception& e) {
    return Status::Unavailable("gateway: " + e.displayText());
  }
}

OutboxSender::OutboxSender(SmsStore& store, SmsGateway& gateway, const PhoneCipher& cipher, SenderOptions options,
                           std::function<std::int64_t()> clock)
    : store_(store), gateway_(gateway), cipher_(cipher), options_(options), clock_(std::move(clock)) {}

OutboxSender::~OutboxSender() { Stop(); }

void OutboxSender::Pace() {
  if (options_.rate_per_second <= 0) return;
  const auto interval = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double>(1.0 / options_.rate_per_second));
  const auto now = std::chrono::steady_clock::now();
  if (next_send_ > now) std::this_thread::sleep_until(next_send_);
  next_send_ = std::max(now, next_send_) + interval;
}

Result<int> OutboxSender::SendDue() {
  if (fence_ && !fence_()) return 0;  // not the lease holder: read nothing
  auto due = store_.DueOutbox(clock_(), options_.batch);
  if (!due.ok()) return due.status();
  int sent = 0;
  for (SmsOutboxMessage& m : *due) {
    std::optional<LeaseFence> fence;
    if (fence_) {
      fence = fence_();
      if (!fence) break;  // the lease is not (or no longer) ours: another server sends
    }
    auto claimed = store_.ClaimOutbox(m, clock_() + options_.claim_ms, fence ? &*fence : nullptr);
    if (!claimed.ok()) return claimed.status();
    if (!*claimed) continue;  // another sender has it
    ++m.attempts;
    auto suppressed = store_.IsSuppressed(m.phone_key);
    if (!suppressed.ok()) return suppressed.status();
    auto phone = cipher_.Decrypt(m.phone_enc);
    Result<std::string> outcome = std::string();
    if (*suppressed) {
      outcome = Status::InvalidInput("the number opted out");
    } else if (!phone.ok()) {
      outcome = Status::InvalidInput("phone number unavailable: " + phone.status().message());
    } else {
      Pace();
      outcome = gateway_.Send(*phone, m.body);
    }
    if (outcome.ok()) {
      m.status = SmsOutboxStatus::kSent;
      m.sent_at_ms = clock_();
      m.gateway_ref = *outcome;
      m.last_error.clear();
      ++sent;
    } else {
      m.last_error = outcome.status().message();
      const bool retry = outcome.status().code() == StatusCode::kUnavailable && m.attempts < options_.max_attempts;
      if (retry) {
        m.next_attempt_at_ms = clock_() + (options_.backoff_ms << std::min(m.attempts - 1, 16));
      } else {
        m.status = SmsOutboxStatus::kFailed;
        spdlog::warn("sms: message {} to {} failed: {}", m.id, phone.ok() ? MaskPhone(*phone) : "****", m.last_error);
      }
    }
    MINYI_RETURN_IF_ERROR(store_.UpdateOutbox(m));
  }
  return sent;
}

void OutboxSender::Start(std::function<void()> also) {
  std::lock_guard<std::mutex> lock(mu_);
  if (thread_.joinable()) return;
  stop_ = false;
  thread_ = std::thread([this, also = std::move(also)] {
    std::unique_lock<std::mutex> guard(mu_);
    while (!stop_) {
      guard.unlock();
      auto sent = SendDue();
      if (!sent.ok()) spdlog::warn("sms: sender: {}", sent.status().ToString());
      if (also) also();
      guard.lock();
      if (sent.ok() && *sent > 0) continue;  // more may be due: no idle wait
      cv_.wait_for(guard, std::chrono::milliseconds(options_.poll_ms), [this] { return stop_; });
    }
  });
}

void OutboxSender::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

}  // namespace minyi::collector::sms
