// An in-memory ResponseReviser following core/revisions.h, for the importer's tests (the SQL stores
// are tested against the same contract in sql/).
#pragma once

#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "core/revisions.h"

namespace minyi::collector::wechat {

class FakeReviser final : public ResponseReviser {
 public:
  Status StoreRevisions(const std::vector<Response>& batch, std::string_view reason,
                        std::vector<ReviseResult>* results) override {
    std::lock_guard<std::mutex> lock(mu_);
    results->clear();
    for (const Response& in : batch) {
      if (in.source_ref.empty() || in.survey_id.empty()) return Status::InvalidInput("missing field");
      Slot& slot = slots_[in.source_ref];
      const std::string hash = in.ContentHash();
      ReviseResult r;
      if (!slot.has_current && slot.hashes.empty()) {
        slot.current = in;
        slot.current.id = ++next_id_;
        slot.has_current = true;
        r.outcome = ReviseOutcome::kStored;
      } else if (slot.hashes.count(hash) != 0) {
        r.outcome = ReviseOutcome::kDuplicate;
      } else if (!slot.has_current || in.submitted_at_ms >= slot.current.submitted_at_ms) {
        if (slot.has_current) slot.log.push_back(Logged("revised", slot.current, reason));
        slot.current = in;
        slot.current.id = ++next_id_;
        slot.has_current = true;
        r.outcome = ReviseOutcome::kRevised;
      } else {
        slot.log.push_back(Logged("stale", in, reason));
        r.outcome = ReviseOutcome::kStale;
      }
      slot.hashes.insert(hash);
      r.response_id = slot.has_current ? slot.current.id : 0;
      results->push_back(r);
    }
    return Status::Ok();
  }

  Result<WithdrawOutcome> Withdraw(Channel, std::string_view source_ref, std::string_view reason) override {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = slots_.find(std::string(source_ref));
    if (it == slots_.end()) return WithdrawOutcome::kNotFound;
    if (!it->second.has_current) return WithdrawOutcome::kAlreadyGone;
    it->second.log.push_back(Logged("withdrawn", it->second.current, reason));
    it->second.has_current = false;
    return WithdrawOutcome::kWithdrawn;
  }

  Result<std::vector<RevisionRecord>> RevisionLog(Channel, std::string_view source_ref) override {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = slots_.find(std::string(source_ref));
    if (it == slots_.end()) return std::vector<RevisionRecord>{};
    return it->second.log;
  }

  Result<std::vector<RevisionActivity>> RevisionActivitySince(std::int64_t) override {
    return std::vector<RevisionActivity>{};
  }

  // The current responses, by source_ref.
  std::map<std::string, Response> Current() {
    std::lock_guard<std::mutex> lock(mu_);
    std::map<std::string, Response> out;
    for (const auto& [ref, slot] : slots_) {
      if (slot.has_current) out[ref] = slot.current;
    }
    return out;
  }

 private:
  struct Slot {
    bool has_current = false;
    Response current;
    std::set<std::string> hashes;
    std::vector<RevisionRecord> log;
  };
  RevisionRecord Logged(const char* action, const Response& r, std::string_view reason) {
    RevisionRecord rec;
    rec.id = ++next_log_;
    rec.action = action;
    rec.response_id = r.id;
    rec.content_hash = r.ContentHash();
    rec.survey_id = r.survey_id;
    rec.period = r.period;
    rec.town_code = r.town_code;
    rec.submitted_at_ms = r.submitted_at_ms;
    rec.reason = std::string(reason);
    rec.raw_payload = r.raw_payload;
    return rec;
  }
  std::mutex mu_;
  std::map<std::string, Slot> slots_;
  std::int64_t next_id_ = 0;
  std::int64_t next_log_ = 0;
};

}  // namespace minyi::collector::wechat
