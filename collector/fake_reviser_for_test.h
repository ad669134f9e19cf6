// An in-memory ResponseReviser for the importers' unit tests (collector/wechat, collector/questionnaire),
// following the contract in core/revisions.h (slot = channel + source_ref; duplicate by content hash
// against the current version and the log; newer-or-equal submitted time revises, older is stale; another
// town than the current version's, or a revision the policy forbids, is refused; Withdraw takes the
// answer's town slots too).
// Fault injection: SetFailing makes every StoreRevisions fail with kUnavailable. The SQL stores meet
// the same contract (sql/revisions_store_test.cc), and the importers are run against them on every
// backend in wechat_store_test.cc and questionnaire_store_test.cc. Thread-safe.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "core/revisions.h"

namespace minyi::collector {

class FakeReviser final : public ResponseReviser {
 public:
  using ResponseReviser::StoreRevisions;
  Status StoreRevisions(const std::vector<Response>& batch, std::string_view reason,
                        const RevisePolicy& policy, std::vector<ReviseResult>* results) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (fail_) return Status::Unavailable("fake store is down");
    results->clear();
    for (const Response& in : batch) {
      if (in.source_ref.empty() || in.survey_id.empty() || in.town_code.empty()) {
        return Status::InvalidInput("response lacks a required field");
      }
      Slot& slot = slots_[Key(in.channel, in.source_ref)];
      const std::string hash = in.ContentHash();
      ReviseResult r;
      bool seen = slot.has_current && slot.current.ContentHash() == hash;
      for (const RevisionRecord& rec : slot.log) seen = seen || rec.content_hash == hash;
      const bool same_as_current = slot.has_current && slot.current.ContentHash() == hash;
      if (slot.has_current && !same_as_current && slot.current.town_code != in.town_code) {
        r = {ReviseOutcome::kRefused, slot.current.id, Refusal::kOtherTown};
      } else if (seen) {
        r.outcome = ReviseOutcome::kDuplicate;
        r.response_id = slot.has_current ? slot.current.id : 0;
      } else if (slot.has_current && !policy.allow_revisions) {
        r = {ReviseOutcome::kRefused, slot.current.id, Refusal::kRevisionNotAllowed};
      } else if (!slot.has_current && slot.log.empty()) {
        slot.current = in;
        slot.current.id = ++next_id_;
        slot.has_current = true;
        r = {ReviseOutcome::kStored, slot.current.id};
      } else if (!slot.has_current || in.submitted_at_ms >= slot.current.submitted_at_ms) {
        if (slot.has_current) slot.log.push_back(Record(slot.current, "revised", reason));
        slot.current = in;
        slot.current.id = ++next_id_;
        slot.has_current = true;
        r = {ReviseOutcome::kRevised, slot.current.id};
      } else {
        slot.log.push_back(Record(in, "stale", reason));
        r = {ReviseOutcome::kStale, slot.current.id};
      }
      results->push_back(r);
    }
    return Status::Ok();
  }

  Result<WithdrawOutcome> Withdraw(Channel channel, std::string_view source_ref,
                                   std::string_view reason) override {
    std::lock_guard<std::mutex> lock(mu_);
    WithdrawOutcome outcome = WithdrawOutcome::kNotFound;
    for (auto& [key, slot] : slots_) {
      if (key.first != static_cast<int>(channel) || !IsSlotOfAnswer(key.second, source_ref)) continue;
      if (!slot.has_current) {
        if (outcome == WithdrawOutcome::kNotFound) outcome = WithdrawOutcome::kAlreadyGone;
        continue;
      }
      slot.log.push_back(Record(slot.current, "withdrawn", reason));
      slot.has_current = false;
      outcome = WithdrawOutcome::kWithdrawn;
    }
    return outcome;
  }

  Result<std::vector<RevisionRecord>> RevisionLog(Channel channel, std::string_view source_ref) override {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = slots_.find(Key(channel, source_ref));
    if (it == slots_.end()) return std::vector<RevisionRecord>{};
    return it->second.log;
  }

  Result<std::vector<RevisionActivity>> RevisionActivitySince(std::int64_t after_id) override {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<RevisionActivity> out;
    for (const auto& [key, slot] : slots_) {
      for (const RevisionRecord& rec : slot.log) {
        if (rec.id > after_id) out.push_back({rec.id, rec.survey_id, rec.period, rec.town_code});
      }
    }
    return out;
  }

  // Current responses by source_ref (withdrawn slots excluded).
  std::map<std::string, Response> Current() const {
    std::lock_guard<std::mutex> lock(mu_);
    std::map<std::string, Response> out;
    for (const auto& [key, slot] : slots_) {
      if (slot.has_current) out[key.second] = slot.current;
    }
    return out;
  }
  // The same by answer reference (core/revisions.h AnswerRefOf: the slot without its town).
  std::map<std::string, Response> CurrentByAnswer() const {
    std::map<std::string, Response> out;
    for (auto& [slot, r] : Current()) out[std::string(AnswerRefOf(slot))] = r;
    return out;
  }
  void SetFailing(bool fail) {
    std::lock_guard<std::mutex> lock(mu_);
    fail_ = fail;
  }

 private:
  struct Slot {
    bool has_current = false;
    Response current;
    std::vector<RevisionRecord> log;
  };
  static std::pair<int, std::string> Key(Channel channel, std::string_view ref) {
    return {static_cast<int>(channel), std::string(ref)};
  }
  RevisionRecord Record(const Response& r, std::string action, std::string_view reason) {
    RevisionRecord rec;
    rec.id = ++next_log_id_;
    rec.action = std::move(action);
    rec.response_id = rec.action == "stale" ? 0 : r.id;
    rec.content_hash = r.ContentHash();
    rec.survey_id = r.survey_id;
    rec.period = r.period;
    rec.town_code = r.town_code;
    rec.submitted_at_ms = r.submitted_at_ms;
    rec.reason = std::string(reason);
    rec.raw_payload = r.raw_payload;
    return rec;
  }

  mutable std::mutex mu_;
  std::map<std::pair<int, std::string>, Slot> slots_;
  std::int64_t next_id_ = 0;
  std::int64_t next_log_id_ = 0;
  bool fail_ = false;
};

}  // namespace minyi::collector
