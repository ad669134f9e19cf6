// Whole conversations end to end on loopback: a roster import, invitations delivered by the outbox
// sender to a fake gateway (a Poco server on 127.0.0.1, port 0), replies posted to the real webhook
// routes, responses stored in a store of each backend (SQLite in memory, and a database of its own on this
// process's private MariaDB); retries, bad signatures, malformed bodies, re-asks, opt-outs and expiry.
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/StreamCopier.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "collector/sms/sender.h"
#include "collector/sms/sms_routes.h"
#include "collector/sms/sms_service.h"
#include "core/text/unicode_text.h"
#include "sql/lease_store.h"
#include "sql/sms_store.h"
#include "sql/store.h"
#include "tests/support/store_backends.h"

namespace minyi::collector::sms {

using text::Utf16Length;
namespace {

constexpr const char* kSurvey = "jiangsu-safety";
constexpr const char* kAliyunToken = "ali-token-0123456789";
constexpr const char* kGenericSecret = "generic-secret-0123456789";

// The fake SMS gateway: records what it is asked to send; fails the first `fail_first` calls with 503.
struct FakeGateway {
  struct Sent {
    std::string to;
    std::string text;
  };
  std::mutex mu;
  std::vector<Sent> sent;
  int calls = 0;
  int fail_first = 0;
  std::string last_authorization;

  std::vector<std::string> TextsTo(const std::string& to) {
    std::lock_guard<std::mutex> lock(mu);
    std::vector<std::string> out;
    for (const Sent& s : sent) {
      if (s.to == to) out.push_back(s.text);
    }
    return out;
  }
};

class GatewayHandler : public Poco::Net::HTTPRequestHandler {
 public:
  explicit GatewayHandler(FakeGateway& g) : g_(g) {}
  void handleRequest(Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response) override {
    std::string body;
    Poco::StreamCopier::copyToString(request.stream(), body);
    std::lock_guard<std::mutex> lock(g_.mu);
    ++g_.calls;
    g_.last_authorization = request.get("Authorization", "");
    if (g_.calls <= g_.fail_first) {
      response.setStatus(Poco::Net::HTTPResponse::HTTP_SERVICE_UNAVAILABLE);
      response.send() << "busy";
      return;
    }
    Poco::JSON::Parser parser;
    auto o = parser.parse(body).extract<Poco::JSON::Object::Ptr>();
    g_.sent.push_back({o->getValue<std::string>("to"), o->getValue<std::string>("text")});
    response.setContentType("application/json");
    response.send() << "{\"id\":\"gw-" << g_.calls << "\"}";
  }

 private:
  FakeGateway& g_;
};

class GatewayFactory : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  explicit GatewayFactory(FakeGateway& g) : g_(g) {}
  Poco::Net::HTTPRequestHandler* createRequestHandler(const Poco::Net::HTTPServerRequest&) override {
    return new GatewayHandler(g_);
  }

 private:
  FakeGateway& g_;
};

struct Posted {
  int status = 0;
  std::string body;
};

Posted Post(unsigned port, const std::string& path, const std::string& content_type, const std::string& body,
            const std::vector<std::pair<std::string, std::string>>& headers = {}) {
  Poco::Net::HTTPClientSession session("127.0.0.1", static_cast<Poco::UInt16>(port));
  Poco::Net::HTTPRequest request(Poco::Net::HTTPRequest::HTTP_POST, path, Poco::Net::HTTPMessage::HTTP_1_1);
  request.setContentType(content_type);
  request.setContentLength(static_cast<std::streamsize>(body.size()));
  for (const auto& [k, v] : headers) request.set(k, v);
  session.sendRequest(request) << body;
  Poco::Net::HTTPResponse response;
  std::istream& in = session.receiveResponse(response);
  Posted out;
  out.status = static_cast<int>(response.getStatus());
  Poco::StreamCopier::copyToString(in, out.body);
  return out;
}

class ConversationTest : public ::testing::TestWithParam<testsupport::StoreBackend> {
 protected:
  void SetUp() override {
    databases_ = std::make_unique<testsupport::TestDatabases>(GetParam());
    auto store = databases_->OpenFresh();  // migrated
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(store).value();
    auto sms = sql::OpenSmsStore(*store_);
    ASSERT_TRUE(sms.ok()) << sms.status();
    sms_ = std::move(sms).value();
    auto surveys = SurveyCatalog::LoadDirectory(std::string(MINYI_SOURCE_DIR) + "/conf/surveys");
    ASSERT_TRUE(surveys.ok()) << surveys.status();
    surveys_ = std::move(surveys).value();
    auto areas = AreaRegistry::LoadDirectory(std::string(MINYI_SOURCE_DIR) + "/data");
    ASSERT_TRUE(areas.ok()) << areas.status();
    areas_ = std::move(areas).value();
    auto keyer = RespondentKeyer::Create("test-secret-0123456789");
    ASSERT_TRUE(keyer.ok());
    keyer_ = std::make_unique<RespondentKeyer>(*keyer);
    std::array<unsigned char, 32> key{};
    key[5] = 42;
    cipher_ = std::make_unique<PhoneCipher>(PhoneCipher::FromKey(key));
    SmsService::Deps deps{sms_.get(),   store_.get(),  &surveys_,   &areas_,
                          keyer_.get(), cipher_.get(), store_.get()};
    service_ = std::make_unique<SmsService>(deps, SmsServiceOptions{}, [this] { return now_.load(); });
    service_->StartGroupCommit(GroupCommitOptions{});  // as `minyi serve` runs it (sms.group_commit)

    // The fake gateway and the sender.
    gateway_socket_.bind(Poco::Net::SocketAddress("127.0.0.1", 0), true);
    gateway_socket_.listen();
    gateway_server_ = std::make_unique<Poco::Net::HTTPServer>(new GatewayFactory(fake_), gateway_socket_,
                                                              new Poco::Net::HTTPServerParams);
    gateway_server_->start();
    auto http = HttpSmsGateway::Create(
        {"http://127.0.0.1:" + std::to_string(gateway_socket_.address().port()) + "/send", "gw-token", 5000});
    ASSERT_TRUE(http.ok()) << http.status();
    http_gateway_ = std::move(http).value();
    SenderOptions so;
    so.rate_per_second = 1000;
    so.backoff_ms = 0;
    sender_ = std::make_unique<OutboxSender>(*sms_, *http_gateway_, *cipher_, so, [this] { return now_.load(); });

    // The webhook server.
    SmsRouteOptions ro;
    ro.auth["aliyun"].token = kAliyunToken;
    ro.auth["generic"].secret = kGenericSecret;
    inbound_ = &registry_.AddCounter("minyi_sms_inbound_total", "test", {"provider", "status"});
    ro.inbound = inbound_;
    RegisterSmsRoutes(router_, *service_, ro);
    webhook_socket_.bind(Poco::Net::SocketAddress("127.0.0.1", 0), true);
    webhook_socket_.listen();
    webhook_server_ = std::make_unique<Poco::Net::HTTPServer>(router_.MakeFactory(), webhook_socket_,
                                                              new Poco::Net::HTTPServerParams);
    webhook_server_->start();
    port_ = webhook_socket_.address().port();
  }

  void TearDown() override {
    if (webhook_server_) webhook_server_->stopAll(true);
    if (gateway_server_) gateway_server_->stopAll(true);
  }

  void SendAll() {
    for (int pass = 0; pass < 5; ++pass) {
      auto sent = sender_->SendDue();
      ASSERT_TRUE(sent.ok()) << sent.status();
    }
  }

  Posted Aliyun(const std::string& phone, const std::string& text, const std::string& id) {
    const std::string body = "[{\"phone_number\":\"" + phone + "\",\"send_time\":\"2025-05-12 09:01:33\",\"content\":\"" +
                             text + "\",\"sign_name\":\"幸福里社区\",\"dest_code\":\"1234\",\"sequence_id\":" + id + "}]";
    return Post(port_, std::string("/api/v1/sms/aliyun/") + kAliyunToken, "application/json", body);
  }

  std::vector<Response> Stored() {
    std::vector<Response> out;
    ResponseQuery q;
    q.survey_id = kSurvey;
    EXPECT_TRUE(store_->Scan(q, [&](const Response& r) {
      out.push_back(r);
      return true;
    }).ok());
    return out;
  }

  std::int64_t InboundCount() {
    auto counts = sms_->CountInbound();
    EXPECT_TRUE(counts.ok());
    std::int64_t n = 0;
    for (const auto& c : *counts) n += c.count;
    return n;
  }

  std::atomic<std::int64_t> now_{1746000000000};
  // Declared first, so destroyed last: its databases are removed after every store on them is closed.
  std::unique_ptr<testsupport::TestDatabases> databases_;
  std::unique_ptr<sql::Store> store_;
  std::unique_ptr<SmsStore> sms_;
  SurveyCatalog surveys_;
  AreaRegistry areas_;
  std::unique_ptr<RespondentKeyer> keyer_;
  std::unique_ptr<PhoneCipher> cipher_;
  std::unique_ptr<SmsService> service_;
  FakeGateway fake_;
  Poco::Net::ServerSocket gateway_socket_;
  std::unique_ptr<Poco::Net::HTTPServer> gateway_server_;
  std::unique_ptr<HttpSmsGateway> http_gateway_;
  std::unique_ptr<OutboxSender> sender_;
  metrics::Registry registry_;
  metrics::CounterFamily* inbound_ = nullptr;
  http::Router router_;
  Poco::Net::ServerSocket webhook_socket_;
  std::unique_ptr<Poco::Net::HTTPServer> webhook_server_;
  unsigned port_ = 0;
};

TEST_P(ConversationTest, FullConversationsThroughTheFakeGateway) {
  std::istringstream roster(
      "phone,town\n"
      "13812345678,320812001\n"      // town known
      "+86 139-1234-5678,320812\n"   // county only: the town is asked
      "13712345678,320812002\n"
      "not-a-phone,320812001\n"
      "13612345678,999999999\n");
  auto imported = service_->ImportRoster(roster, kSurvey);
  ASSERT_TRUE(imported.ok()) << imported.status();
  EXPECT_EQ(imported->stored, 3);
  ASSERT_EQ(imported->rejected.size(), 2u);
  EXPECT_NE(imported->rejected[0].find("line 5"), std::string::npos);
  EXPECT_EQ(imported->rejected[0].find("not-a-phone"), std::string::npos);  // masked

  auto invited = service_->Invite(kSurvey, Period{2025, 0}, "");
  ASSERT_TRUE(invited.ok()) << invited.status();
  EXPECT_EQ(invited->queued, 3);
  auto again = service_->Invite(kSurvey, Period{2025, 0}, "");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->existing, 3);

  fake_.fail_first = 1;  // the gateway is busy once: the message is retried, not lost
  SendAll();
  EXPECT_EQ(fake_.last_authorization, "Bearer gw-token");
  const std::vector<std::string> a = fake_.TextsTo("+8613812345678");
  ASSERT_GE(a.size(), 2u);
  std::string all_a;
  for (const std::string& text : a) all_a += text;
  EXPECT_NE(all_a.find("回复TD退订"), std::string::npos);  // the invitation (split: the title is long)
  EXPECT_NE(all_a.find("1很安全"), std::string::npos);     // question 1 with its options
  for (const std::string& text : a) EXPECT_LE(Utf16Length(text), 70u) << text;
  EXPECT_NE(fake_.TextsTo("+8613912345678").back().find("乡镇"), std::string::npos);

  // Resident A answers question by question; the gateway retries one delivery.
  Posted p = Aliyun("13812345678", "1", "1001");
  EXPECT_EQ(p.status, 200);
  EXPECT_EQ(p.body, "{\"code\":0,\"msg\":\"接收成功\"}");
  const std::int64_t before_retry = InboundCount();
  Posted retry = Aliyun("13812345678", "1", "1001");
  EXPECT_EQ(retry.status, 200);
  EXPECT_EQ(retry.body, p.body);
  EXPECT_EQ(InboundCount(), before_retry);
  SendAll();
  EXPECT_NE(fake_.TextsTo("+8613812345678").back().find("网格员"), std::string::npos);
  ASSERT_EQ(Aliyun("13812345678", "很满意", "1002").status, 200);
  ASSERT_EQ(Aliyun("13812345678", "女 3", "1003").status, 200);  // sex and age band in one message
  SendAll();
  EXPECT_EQ(fake_.TextsTo("+8613812345678").back(), ThanksInvitingCommentText(24));

  // Resident B names the town first, then answers everything in one message.
  ASSERT_EQ(Aliyun("13912345678", "清江", "2001").status, 200);
  ASSERT_EQ(Aliyun("13912345678", "1 2 1 3", "2002").status, 200);
  SendAll();
  EXPECT_EQ(fake_.TextsTo("+8613912345678").back(), ThanksInvitingCommentText(24));

  const std::vector<Response> stored = Stored();
  ASSERT_EQ(stored.size(), 2u);
  for (const Response& r : stored) {
    EXPECT_EQ(r.channel, Channel::kSms);
    EXPECT_EQ(r.completion, Completion::kComplete);
    EXPECT_EQ(r.respondent_key.size(), 64u);
    EXPECT_EQ(r.raw_payload.find("138"), std::string::npos);
  }
  const Response& ra = stored[0].town_code == "320812001" ? stored[0] : stored[1];
  const Response& rb = stored[0].town_code == "320812001" ? stored[1] : stored[0];
  EXPECT_EQ(ra.answers.at("security"), std::vector<std::string>{"1"});
  EXPECT_EQ(ra.answers.at("grid"), std::vector<std::string>{"1"});
  EXPECT_EQ(ra.answers.at("sex"), std::vector<std::string>{"2"});
  EXPECT_EQ(ra.answers.at("age_band"), std::vector<std::string>{"40-49"});
  EXPECT_EQ(rb.town_code, "320812002");  // 清江 → 清江街道 within county 320812
  EXPECT_EQ(rb.answers.at("age_band"), std::vector<std::string>{"40-49"});

  // Resident C: an unparseable reply gets one re-ask, the next is kept as unparsed, then TD.
  ASSERT_EQ(Aliyun("13712345678", "谢谢", "3001").status, 200);
  SendAll();
  EXPECT_NE(fake_.TextsTo("+8613712345678").back().find("没能看懂"), std::string::npos);
  const std::size_t texts_before = fake_.TextsTo("+8613712345678").size();
  ASSERT_EQ(Aliyun("13712345678", "嗯嗯", "3002").status, 200);
  SendAll();
  EXPECT_EQ(fake_.TextsTo("+8613712345678").size(), texts_before);  // no second re-ask
  ASSERT_EQ(Aliyun("13712345678", "TD", "3003").status, 200);
  auto counts = sms_->CountInbound();
  ASSERT_TRUE(counts.ok());
  std::map<std::string, std::int64_t> by_status;
  for (const auto& c : *counts) by_status[c.status] += c.count;
  EXPECT_EQ(by_status["reasked"], 1);
  EXPECT_EQ(by_status["unparsed"], 1);
  EXPECT_EQ(by_status["optout"], 1);
  auto next_year = service_->Invite(kSurvey, Period{2026, 0}, "320812002");
  ASSERT_TRUE(next_year.ok());
  EXPECT_EQ(next_year->suppressed, 1);  // never messaged again
  EXPECT_EQ(next_year->queued, 0);
  EXPECT_EQ(Stored().size(), 2u);
}

// Issue 16: many phones posting at once through the webhook route, their messages sharing transactions
// (the group commit). Every message of every phone is posted three times: twice in one request (a retry
// within a batch) and once alone (a retry in another batch, before or after); the requests of all phones
// run on 16 threads in a shuffled order, so one phone's messages may share a batch. Each message must be
// taken exactly once, each conversation must end complete with all four answers, and each next question
// and the thanks must be queued exactly once. The fourth reply completes the conversation, which stores the
// response: handled on its own after its batch, with any later message of its phone.
TEST_P(ConversationTest, ManyPhonesAtOnceShareTransactionsAndEveryMessageCountsOnce) {
  constexpr int kPhones = 40;
  constexpr int kReplies = 4;  // the survey's four choice questions, each answered "1"
  std::string csv = "phone,town\n";
  for (int p = 0; p < kPhones; ++p) csv += std::to_string(13800000000LL + p) + ",320812001\n";
  std::istringstream roster(csv);
  ASSERT_TRUE(service_->ImportRoster(roster, kSurvey).ok());
  auto invited = service_->Invite(kSurvey, Period{2025, 0}, "");
  ASSERT_TRUE(invited.ok() && invited->queued == kPhones);

  auto item = [](int p, int r) {
    return "{\"phone_number\":\"" + std::to_string(13800000000LL + p) +
           "\",\"send_time\":\"2025-05-12 09:01:33\",\"content\":\"1\",\"sequence_id\":\"m" +
           std::to_string(p) + "-" + std::to_string(r) + "\"}";
  };
  std::vector<std::string> bodies;
  for (int p = 0; p < kPhones; ++p) {
    for (int r = 0; r < kReplies; ++r) {
      bodies.push_back("[" + item(p, r) + "," + item(p, r) + "]");
      bodies.push_back("[" + item(p, r) + "]");
    }
  }
  std::shuffle(bodies.begin(), bodies.end(), std::mt19937(16));
  std::atomic<std::size_t> next{0};
  std::atomic<int> acknowledged{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 16; ++t) {
    threads.emplace_back([&] {
      for (std::size_t i = next++; i < bodies.size(); i = next++) {
        const Posted posted =
            Post(port_, std::string("/api/v1/sms/aliyun/") + kAliyunToken, "application/json", bodies[i]);
        if (posted.status == 200) ++acknowledged;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(acknowledged.load(), static_cast<int>(bodies.size()));

  metrics::CounterFamily& inbound = *inbound_;
  EXPECT_EQ(inbound.With({"aliyun", "answered"}).Value(), static_cast<std::uint64_t>(kPhones * kReplies));
  EXPECT_EQ(inbound.With({"aliyun", "duplicate"}).Value(),
            static_cast<std::uint64_t>(2 * kPhones * kReplies));
  auto counts = sms_->CountInbound();
  ASSERT_TRUE(counts.ok());
  ASSERT_EQ(counts->size(), 1u);
  EXPECT_EQ(counts->front().status, "answered");
  EXPECT_EQ(counts->front().count, kPhones * kReplies);

  auto outbox = sms_->DueOutbox(now_.load(), 100000);
  ASSERT_TRUE(outbox.ok());
  for (int p = 0; p < kPhones; ++p) {
    const std::string key = keyer_->KeyFor("+86" + std::to_string(13800000000LL + p));
    auto c = sms_->FindLatestConversation(key);
    ASSERT_TRUE(c.ok() && c->has_value());
    EXPECT_EQ((*c)->state, SmsConversationState::kComplete) << "phone " << p;
    EXPECT_EQ((*c)->step, kReplies);
    std::map<std::string, int> texts;  // the question number ("2/4") or the thanks, queued after a reply
    for (const SmsOutboxMessage& m : *outbox) {
      if (m.phone_key == key) ++texts[m.body.substr(0, 3) == "感" ? "thanks" : m.body.substr(0, 3)];
    }
    EXPECT_EQ(texts["2/4"], 1) << "phone " << p;
    EXPECT_EQ(texts["3/4"], 1) << "phone " << p;
    EXPECT_EQ(texts["4/4"], 1) << "phone " << p;
    EXPECT_EQ(texts["thanks"], 1) << "phone " << p;
  }
  const std::vector<Response> stored = Stored();
  ASSERT_EQ(stored.size(), static_cast<std::size_t>(kPhones));
  for (const Response& r : stored) {
    EXPECT_EQ(r.completion, Completion::kComplete);
    EXPECT_EQ(r.answers.size(), static_cast<std::size_t>(kReplies));
    EXPECT_EQ(r.answers.at("security"), std::vector<std::string>{"1"});
  }
  const GroupCommitStats stats = service_->group_commit_stats();
  EXPECT_EQ(stats.responses, static_cast<std::uint64_t>(3 * kPhones * kReplies));
  EXPECT_LT(stats.batches, stats.responses) << "messages must share transactions";
}

// Issue 16: a batch runs without a savepoint per message. A message that fails after it began to write (an
// opt-out whose suppression is written before its ledger row is refused: no provider) makes the batch run
// again with savepoints, so that its writes alone are undone and the messages beside it are kept.
TEST_P(ConversationTest, AMessageFailingAfterItsWritesIsUndoneAloneInItsBatch) {
  std::istringstream roster(
      "phone,town\n13812345678,320812001\n13912345678,320812001\n13712345678,320812001\n");
  ASSERT_TRUE(service_->ImportRoster(roster, kSurvey).ok());
  ASSERT_TRUE(service_->Invite(kSurvey, Period{2025, 0}, "").ok());
  auto message = [](const std::string& provider, const std::string& ref, const std::string& phone,
                    const std::string& text) {
    return InboundSms{provider, ref, phone, text, 1746000000000};
  };
  const std::vector<Result<SmsService::InboundResult>> handled = service_->HandleInboundAll(
      {message("aliyun", "x-1", "13812345678", "1"), message("", "x-2", "13912345678", "退订"),
       message("aliyun", "x-3", "13712345678", "1")});
  ASSERT_EQ(handled.size(), 3u);
  ASSERT_TRUE(handled[0].ok()) << handled[0].status();
  EXPECT_EQ(handled[0]->status, "answered");
  EXPECT_EQ(handled[1].status().code(), StatusCode::kInvalidInput) << handled[1].status();
  ASSERT_TRUE(handled[2].ok()) << handled[2].status();
  EXPECT_EQ(handled[2]->status, "answered");
  EXPECT_EQ(service_->group_commit_stats().batches, 1u) << "the three messages shared one batch";

  auto suppressed = sms_->IsSuppressed(keyer_->KeyFor("+8613912345678"));
  ASSERT_TRUE(suppressed.ok());
  EXPECT_FALSE(*suppressed) << "the failed message's suppression was undone with it";
  for (const char* phone : {"+8613812345678", "+8613712345678"}) {
    auto c = sms_->FindOpenConversation(keyer_->KeyFor(phone));
    ASSERT_TRUE(c.ok() && c->has_value());
    EXPECT_EQ((*c)->step, 1) << phone << ": its neighbour's failure kept its step";
  }
  auto refused = sms_->FindOpenConversation(keyer_->KeyFor("+8613912345678"));
  ASSERT_TRUE(refused.ok() && refused->has_value());
  EXPECT_EQ((*refused)->step, 0);
  EXPECT_EQ(InboundCount(), 2);
}

TEST_P(ConversationTest, ExpiryStoresAPartialResponse) {
  std::istringstream roster("phone,town\n13812345678,320812001\n");
  ASSERT_TRUE(service_->ImportRoster(roster, kSurvey).ok());
  ASSERT_TRUE(service_->Invite(kSurvey, Period{2025, 0}, "320812001").ok());
  ASSERT_EQ(Aliyun("13812345678", "2", "1").status, 200);
  now_ += 47LL * 3600 * 1000;
  auto none = service_->ExpireDue();
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, 0);
  now_ += 2LL * 3600 * 1000;
  auto closed = service_->ExpireDue();
  ASSERT_TRUE(closed.ok()) << closed.status();
  EXPECT_EQ(*closed, 1);
  const std::vector<Response> stored = Stored();
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(stored[0].completion, Completion::kPartial);
  EXPECT_EQ(stored[0].answers.at("security"), std::vector<std::string>{"2"});
  // A late reply finds no open conversation.
  ASSERT_EQ(Aliyun("13812345678", "1", "2").status, 200);
  EXPECT_EQ(Stored().size(), 1u);
}

// Issue 15: with several servers, the sender sends only while it holds the sender lease, and each claim
// checks the lease's fencing token in the database: a stale token (another server took over) sends nothing.
TEST_P(ConversationTest, TheSenderSendsOnlyUnderItsLease) {
  std::istringstream roster("phone,town\n13812345678,320812001\n");
  ASSERT_TRUE(service_->ImportRoster(roster, kSurvey).ok());
  ASSERT_TRUE(service_->Invite(kSurvey, Period{2025, 0}, "320812001").ok());
  std::optional<LeaseFence> fence;
  sender_->set_fence([&fence] { return fence; });
  auto none = sender_->SendDue();
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_EQ(*none, 0) << "no lease, nothing sent";
  const std::unique_ptr<LeaseStore> leases = sql::OpenLeaseStore(*store_);
  auto grant = leases->TryAcquire(leases::kSmsSender, "server-a", 60000);
  ASSERT_TRUE(grant.ok() && grant->held);
  fence = LeaseFence{leases::kSmsSender, "server-a", grant->token + 1};
  auto stale = sender_->SendDue();
  ASSERT_TRUE(stale.ok()) << stale.status();
  EXPECT_EQ(*stale, 0) << "a fencing token the database does not hold claims nothing";
  EXPECT_TRUE(fake_.TextsTo("+8613812345678").empty());
  fence->token = grant->token;
  SendAll();
  EXPECT_FALSE(fake_.TextsTo("+8613812345678").empty()) << "the holder sends";
}

// Issue 16: a remark after the last answer, through the generic webhook. Within the window (24 h by
// default) it becomes the response's comment, a revision with the number masked; a second remark is
// added to it; after the window, or once another survey's conversation started, it is no_conversation.
TEST_P(ConversationTest, RemarkAfterTheLastAnswerBecomesTheComment) {
  std::istringstream roster("phone,town\n13812345678,320812001\n13912345678,320812001\n");
  ASSERT_TRUE(service_->ImportRoster(roster, kSurvey).ok());
  ASSERT_TRUE(service_->Invite(kSurvey, Period{2025, 0}, "").ok());
  int id = 0;
  auto generic = [&](const std::string& phone, const std::string& text) {
    const std::string body = "{\"id\":\"g-" + std::to_string(++id) + "\",\"from\":\"" + phone +
                             "\",\"to\":\"1069\",\"text\":\"" + text + "\",\"time\":\"2025-05-12 09:00:00\"}";
    return Post(port_, "/api/v1/sms/generic", "application/json", body,
                {{"X-Minyi-Signature", "sha256=" + GenericSignature(kGenericSecret, body)}});
  };
  auto status_of_last = [&] {
    std::map<std::string, std::int64_t> by_status;
    auto counts = sms_->CountInbound();
    EXPECT_TRUE(counts.ok());
    for (const auto& c : *counts) by_status[c.status] += c.count;
    return by_status;
  };
  ASSERT_EQ(generic("13812345678", "1 2 1 3").status, 200);
  SendAll();
  EXPECT_EQ(fake_.TextsTo("+8613812345678").back(), ThanksInvitingCommentText(24));
  ASSERT_EQ(Stored().size(), 1u);
  const std::int64_t first_id = Stored()[0].id;

  now_ += 3LL * 3600 * 1000;
  ASSERT_EQ(generic("13812345678", "路灯坏了希望修一下，电话13812345678").status, 200);
  EXPECT_EQ(status_of_last()["comment"], 1);
  std::vector<Response> stored = Stored();
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_NE(stored[0].id, first_id);  // a revision: the new version has a new id
  EXPECT_EQ(stored[0].answers.at("comment"), std::vector<std::string>{"路灯坏了希望修一下，电话138****5678"});
  EXPECT_EQ(stored[0].answers.at("security"), std::vector<std::string>{"1"});
  EXPECT_EQ(stored[0].completion, Completion::kComplete);
  auto log = store_->RevisionLog(Channel::kSms, stored[0].source_ref);
  ASSERT_TRUE(log.ok()) << log.status();
  ASSERT_EQ(log->size(), 1u);
  EXPECT_EQ((*log)[0].action, "revised");
  EXPECT_EQ((*log)[0].answers_json.find("comment"), std::string::npos);

  ASSERT_EQ(generic("13812345678", "还有\\n垃圾没人清理").status, 200);  // a line break in the remark
  EXPECT_EQ(Stored()[0].answers.at("comment"),
            std::vector<std::string>{"路灯坏了希望修一下，电话138****5678；还有 垃圾没人清理"});

  // The same remark again (sent twice) adds nothing.
  ASSERT_EQ(generic("13812345678", "还有\\n垃圾没人清理").status, 200);
  EXPECT_EQ(Stored()[0].answers.at("comment"),
            std::vector<std::string>{"路灯坏了希望修一下，电话138****5678；还有 垃圾没人清理"});

  // After the window: no_conversation, nothing changes.
  now_ += 22LL * 3600 * 1000;
  ASSERT_EQ(generic("13812345678", "再说一句").status, 200);
  EXPECT_EQ(status_of_last()["no_conversation"], 1);
  EXPECT_EQ(Stored()[0].answers.at("comment").front().find("再说一句"), std::string::npos);

  // Another survey's conversation started for the phone (here: the next period): a remark after it
  // belongs to no completed conversation and is not attached to the old one.
  ASSERT_EQ(generic("13912345678", "1 2 1 3").status, 200);
  ASSERT_TRUE(service_->Invite(kSurvey, Period{2026, 0}, "").ok());
  ASSERT_EQ(generic("13912345678", "TD").status, 200);  // opts out of the new one: none is open
  ASSERT_EQ(generic("13912345678", "网格员很好").status, 200);
  EXPECT_EQ(status_of_last()["no_conversation"], 2);
  const std::string other = keyer_->KeyFor("+8613912345678");
  for (const Response& r : Stored()) {
    EXPECT_EQ(r.answers.count("comment"), r.respondent_key == other ? 0u : 1u) << r.source_ref;
  }
}

TEST_P(ConversationTest, UnauthenticatedAndMalformedRequestsChangeNothing) {
  const std::string body = R"([{"phone_number":"13812345678","content":"1","sequence_id":1}])";
  EXPECT_EQ(Post(port_, "/api/v1/sms/aliyun", "application/json", body).status, 401);
  EXPECT_EQ(Post(port_, "/api/v1/sms/aliyun/wrong-token", "application/json", body).status, 401);
  EXPECT_EQ(Post(port_, "/api/v1/sms/tencent", "application/json", "{}").status, 404);  // not enabled
  Posted malformed = Post(port_, std::string("/api/v1/sms/aliyun/") + kAliyunToken, "application/json", "[{");
  EXPECT_EQ(malformed.status, 400);
  EXPECT_NE(malformed.body.find("not valid JSON"), std::string::npos);
  Posted bad_phone = Post(port_, std::string("/api/v1/sms/aliyun/") + kAliyunToken, "application/json",
                          R"([{"phone_number":"12","content":"1","sequence_id":1}])");
  EXPECT_EQ(bad_phone.status, 400);
  Posted too_large = Post(port_, std::string("/api/v1/sms/aliyun/") + kAliyunToken, "application/json",
                          std::string(SmsRouteOptions{}.max_body_bytes + 1, ' '));
  EXPECT_EQ(too_large.status, 413);

  const std::string generic = R"({"id":"g-1","from":"13812345678","to":"1069","text":"1","time":"2025-05-12 09:00:00"})";
  EXPECT_EQ(Post(port_, "/api/v1/sms/generic", "application/json", generic, {{"X-Minyi-Signature", "00"}}).status, 401);
  EXPECT_EQ(InboundCount(), 0);
  Posted ok = Post(port_, "/api/v1/sms/generic", "application/json", generic,
                   {{"X-Minyi-Signature", "sha256=" + GenericSignature(kGenericSecret, generic)}});
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(ok.body, "{\"status\":\"ok\"}");
  EXPECT_EQ(InboundCount(), 1);  // stored as no_conversation: the number was never invited
}

TEST_P(ConversationTest, RepliesCsvImportUsesTheSamePipelineAndDedupe) {
  std::istringstream roster("phone,town\n13812345678,320812001\n");
  ASSERT_TRUE(service_->ImportRoster(roster, kSurvey).ok());
  ASSERT_TRUE(service_->Invite(kSurvey, Period{2025, 0}, "").ok());
  const std::string csv =
      "sequence_id,phone_number,content,send_time\n"
      "11,13812345678,2,2025-05-12 09:02:00\n"
      "10,13812345678,1,2025-05-12 09:01:00\n"   // older: handled first
      "12,bad,1,2025-05-12 09:03:00\n"
      "13,13812345678,1,not-a-time\n";
  std::istringstream first(csv);
  std::vector<std::pair<std::uint64_t, std::uint64_t>> progress;
  auto report = service_->ImportRepliesCsv(
      first, "aliyun", [&](std::uint64_t done, std::uint64_t total) { progress.emplace_back(done, total); });
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->stored, 2);
  EXPECT_EQ(report->rejected.size(), 2u);
  // The progress (issue 18): before each of the file's 3 messages (the row without a time is none), and at
  // the end.
  EXPECT_EQ(progress, (std::vector<std::pair<std::uint64_t, std::uint64_t>>{{0, 3}, {1, 3}, {2, 3}, {3, 3}}));
  // A webhook delivery of the same message later is a duplicate.
  Posted p = Aliyun("13812345678", "1", "10");
  EXPECT_EQ(p.status, 200);
  std::istringstream second(csv);
  auto again = service_->ImportRepliesCsv(second, "aliyun");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->stored, 0);
  EXPECT_EQ(again->duplicates, 2);
  auto c = sms_->FindConversation(kSurvey, Period{2025, 0}, keyer_->KeyFor("+8613812345678"));
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(c->has_value());
  EXPECT_EQ(AnswersToJson(AnswersFromJson((*c)->answers_json)), "{\"grid\":[\"2\"],\"security\":[\"1\"]}");
}

INSTANTIATE_TEST_SUITE_P(Backends, ConversationTest,
                         ::testing::Values(testsupport::StoreBackend::kSqliteMemory,
                                           testsupport::StoreBackend::kMariaDb),
                         testsupport::StoreBackendParamName);

TEST(SmsTextTest, QuestionsFitOneSegmentOrAreSplitDeliberately) {
  auto surveys = SurveyCatalog::LoadDirectory(std::string(MINYI_SOURCE_DIR) + "/conf/surveys");
  ASSERT_TRUE(surveys.ok());
  auto survey = surveys->Find(kSurvey);
  ASSERT_NE(survey, nullptr);
  for (const Question& q : survey->questions) {
    if (q.type == QuestionType::kText) continue;
    for (const std::string& text : {QuestionText(q, 1, 4), ReaskText(q)}) {
      const std::vector<std::string> parts = SplitSegments(text);
      ASSERT_FALSE(parts.empty());
      std::string joined;
      for (const std::string& part : parts) {
        EXPECT_LE(Utf16Length(part), parts.size() == 1 ? 70u : 67u) << part;
        joined += part;
      }
      std::string compact = text;
      compact.erase(std::remove(compact.begin(), compact.end(), ' '), compact.end());
      joined.erase(std::remove(joined.begin(), joined.end(), ' '), joined.end());
      EXPECT_EQ(joined, compact);  // nothing lost at the cuts
    }
  }
  EXPECT_EQ(SplitSegments(ThanksText()).size(), 1u);
  EXPECT_EQ(SplitSegments(ThanksInvitingCommentText(24)).size(), 1u);
  const std::vector<std::string> long_parts = SplitSegments(std::string(150, 'x'));
  for (const std::string& part : long_parts) EXPECT_LE(Utf16Length(part), 67u);
}

}  // namespace
}  // namespace minyi::collector::sms
