// The SMS roster CSV (collector/sms/sms_service.h SmsService::ImportRoster): phone numbers and towns,
// into a store that keeps nothing but the roster rows' count.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <sstream>
#include <string>

#include "collector/fake_store_for_test.h"
#include "collector/sms/sms_service.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

using minyi::Result;
using minyi::Status;

// Only the roster is used by ImportRoster; every other call fails as an unavailable store would.
class RosterOnlyStore : public minyi::SmsStore {
 public:
  std::size_t rows = 0;
  Status UpsertRoster(const std::vector<minyi::SmsRosterEntry>& entries) override {
    rows += entries.size();
    return Status::Ok();
  }
  Result<minyi::SmsInbound> InsertInbound(const minyi::SmsInbound&, bool*) override { return Unused(); }
  Result<std::optional<minyi::SmsInbound>> FindInbound(const std::string&, const std::string&) override {
    return Unused();
  }
  Status UpdateInbound(const minyi::SmsInbound&) override { return Unused(); }
  Result<std::vector<minyi::SmsInboundCount>> CountInbound() override { return Unused(); }
  Result<std::optional<minyi::SmsConversation>> FindOpenConversation(const std::string&) override {
    return Unused();
  }
  Result<std::optional<minyi::SmsConversation>> FindLatestConversation(const std::string&) override {
    return Unused();
  }
  Result<std::optional<minyi::SmsConversation>> FindConversation(const std::string&, const minyi::Period&,
                                                                 const std::string&) override {
    return Unused();
  }
  Result<std::int64_t> CreateConversation(const minyi::SmsConversation&) override { return Unused(); }
  Status UpdateConversation(const minyi::SmsConversation&) override { return Unused(); }
  Status RecordInbound(const minyi::SmsInbound&, const minyi::SmsConversation*, const minyi::SmsConversation*,
                       const std::vector<minyi::SmsOutboxMessage>&) override {
    return Unused();
  }
  Result<std::vector<minyi::SmsConversation>> ExpiredConversations(std::int64_t, int) override {
    return Unused();
  }
  Status EnqueueOutbox(const std::vector<minyi::SmsOutboxMessage>&) override { return Unused(); }
  Result<std::vector<minyi::SmsOutboxMessage>> DueOutbox(std::int64_t, int) override { return Unused(); }
  Result<bool> ClaimOutbox(const minyi::SmsOutboxMessage&, std::int64_t, const minyi::LeaseFence*) override {
    return Unused();
  }
  Status UpdateOutbox(const minyi::SmsOutboxMessage&) override { return Unused(); }
  Result<std::vector<std::pair<std::string, std::int64_t>>> CountOutbox() override { return Unused(); }
  Status AddSuppression(const std::string&, std::int64_t, const std::string&) override { return Unused(); }
  Result<bool> IsSuppressed(const std::string&) override { return Unused(); }
  Result<std::optional<minyi::SmsRosterEntry>> FindRosterEntry(const std::string&,
                                                               const std::string&) override {
    return Unused();
  }
  Result<std::vector<minyi::SmsRosterEntry>> RosterEntries(const std::string&, const std::string&) override {
    return Unused();
  }
  Result<minyi::SmsPurgeCounts> PurgeSurvey(const std::string&) override { return Unused(); }
  Result<minyi::SmsPurgeCounts> PurgeBefore(std::int64_t) override { return Unused(); }
  Status InTransaction(const std::string&, const std::function<Status(minyi::SmsTransaction&)>&) override {
    return Unused();
  }

 private:
  static Status Unused() { return Status::Unavailable("not used by the roster import"); }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace sms = minyi::collector::sms;
  static const auto keyer = minyi::collector::RespondentKeyer::Create("fuzz-respondent-key-secret").value();
  static const auto cipher = sms::PhoneCipher::FromKey({});
  RosterOnlyStore store;
  minyi::collector::FakeStore responses;
  sms::SmsService::Deps deps;
  deps.sms = &store;
  deps.responses = &responses;
  deps.surveys = &minyi::fuzz::Surveys();
  deps.areas = &minyi::fuzz::Areas();
  deps.keyer = &keyer;
  deps.cipher = &cipher;
  sms::SmsService service(deps, sms::SmsServiceOptions{}, [] { return std::int64_t{1780000000000}; });
  std::istringstream in(std::string(minyi::fuzz::AsText(data, size)));
  auto report = service.ImportRoster(in, "jiangsu-safety");
  if (report.ok() && static_cast<std::size_t>(report->stored) != store.rows) __builtin_trap();
  return 0;
}
