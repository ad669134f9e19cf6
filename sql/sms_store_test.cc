// The SMS tables (sql/sms_store.h) on every backend: SQLite in memory, SQLite in a file and a private
// MariaDB server (started once for this binary; MINYI_TEST_MYSQL_SOCKET selects an existing one).
#include "sql/sms_store.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "sql/db.h"
#include "sql/lease_store.h"
#include "tests/support/store_backends.h"

namespace minyi::sql {
namespace {

using testsupport::StoreBackend;
using Backend = testsupport::StoreBackend;

class SmsStoreTest : public testsupport::FreshStoreTest {
 protected:
  void SetUp() override {
    FreshStoreTest::SetUp();
    if (HasFatalFailure()) return;
    auto sms = OpenSmsStore(*store_);
    ASSERT_TRUE(sms.ok()) << sms.status();
    sms_ = std::move(sms).value();
  }

  void TearDown() override {
    sms_.reset();
    FreshStoreTest::TearDown();
  }

  static SmsInbound Inbound(const std::string& ref, const std::string& text) {
    SmsInbound m;
    m.provider = "aliyun";
    m.message_ref = ref;
    m.phone_key = "key-a";
    m.text = text;
    m.sent_at_ms = 1715475693000;
    m.received_at_ms = 1715475694000;
    return m;
  }

  static SmsConversation Conversation(const std::string& phone_key) {
    SmsConversation c;
    c.survey_id = "jiangsu-safety";
    c.period = Period{2025, 0};
    c.phone_key = phone_key;
    c.phone_enc = "ciphertext-" + phone_key;
    c.county_code = "320812";
    c.answers_json = "{}";
    c.started_at_ms = 1000;
    c.updated_at_ms = 1000;
    c.expires_at_ms = 5000;
    return c;
  }

  std::unique_ptr<SmsStore> sms_;
};

TEST_P(SmsStoreTest, InboundIsStoredOncePerProviderAndMessageRef) {
  bool inserted = false;
  auto first = sms_->InsertInbound(Inbound("1234567890", "1"), &inserted);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_TRUE(inserted);
  EXPECT_GT(first->id, 0);
  EXPECT_EQ(first->status, "received");

  auto again = sms_->InsertInbound(Inbound("1234567890", "1"), &inserted);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_FALSE(inserted);
  EXPECT_EQ(again->id, first->id);

  SmsInbound other = Inbound("1234567890", "2");
  other.provider = "tencent";  // the same id from another gateway is another message
  auto third = sms_->InsertInbound(other, &inserted);
  ASSERT_TRUE(third.ok());
  EXPECT_TRUE(inserted);
  EXPECT_NE(third->id, first->id);

  SmsInbound update = *first;
  update.status = "unparsed";
  update.detail = "no answer found";
  update.survey_id = "jiangsu-safety";
  update.period = Period{2025, 0};
  update.conversation_id = 7;
  ASSERT_TRUE(sms_->UpdateInbound(update).ok());
  auto counts = sms_->CountInbound();
  ASSERT_TRUE(counts.ok()) << counts.status();
  ASSERT_EQ(counts->size(), 2u);
  EXPECT_EQ((*counts)[1].survey_id, "jiangsu-safety");
  EXPECT_EQ((*counts)[1].status, "unparsed");
  EXPECT_EQ((*counts)[1].count, 1);
  EXPECT_EQ((*counts)[0].status, "received");

  auto reread = sms_->InsertInbound(Inbound("1234567890", "1"), &inserted);
  ASSERT_TRUE(reread.ok());
  EXPECT_EQ(reread->status, "unparsed");
  EXPECT_EQ(reread->detail, "no answer found");
  EXPECT_EQ(reread->conversation_id, 7);
  EXPECT_EQ(reread->period, (Period{2025, 0}));
}

TEST_P(SmsStoreTest, InboundRejectsEmptyKeys) {
  EXPECT_EQ(sms_->InsertInbound(Inbound("", "1"), nullptr).status().code(), StatusCode::kInvalidInput);
}

TEST_P(SmsStoreTest, ConcurrentRetriesOfOneMessageStoreOneRow) {
  std::vector<std::thread> threads;
  std::mutex mu;
  int inserted_count = 0;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      bool inserted = false;
      auto r = sms_->InsertInbound(Inbound("retry-1", "满意"), &inserted);
      std::lock_guard<std::mutex> lock(mu);
      EXPECT_TRUE(r.ok()) << r.status();
      if (inserted) ++inserted_count;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(inserted_count, 1);
}

TEST_P(SmsStoreTest, ConversationsAreUniquePerSurveyPeriodAndPhone) {
  auto id = sms_->CreateConversation(Conversation("key-a"));
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(sms_->CreateConversation(Conversation("key-a")).status().code(), StatusCode::kConflict);
  SmsConversation next_year = Conversation("key-a");
  next_year.period = Period{2026, 0};
  ASSERT_TRUE(sms_->CreateConversation(next_year).ok());

  auto found = sms_->FindConversation("jiangsu-safety", Period{2025, 0}, "key-a");
  ASSERT_TRUE(found.ok());
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->id, *id);
  EXPECT_EQ((*found)->phone_enc, "ciphertext-key-a");
  EXPECT_EQ((*found)->county_code, "320812");
  EXPECT_EQ((*found)->state, SmsConversationState::kOpen);

  SmsConversation c = **found;
  c.step = 2;
  c.reasks = 1;
  c.unparsed = 1;
  c.town_code = "320812007";
  c.answers_json = "{\"security\":[\"1\"]}";
  c.updated_at_ms = 9000;  // the most recently updated open conversation is found first
  c.expires_at_ms = 20000;
  ASSERT_TRUE(sms_->UpdateConversation(c).ok());
  auto open = sms_->FindOpenConversation("key-a");
  ASSERT_TRUE(open.ok());
  ASSERT_TRUE(open->has_value());
  EXPECT_EQ((*open)->id, *id);
  EXPECT_EQ((*open)->step, 2);
  EXPECT_EQ((*open)->reasks, 1);
  EXPECT_EQ((*open)->unparsed, 1);
  EXPECT_EQ((*open)->town_code, "320812007");
  EXPECT_EQ((*open)->answers_json, "{\"security\":[\"1\"]}");

  auto expired = sms_->ExpiredConversations(6000, 10);
  ASSERT_TRUE(expired.ok());
  ASSERT_EQ(expired->size(), 1u);  // the 2026 one (expires 5000); the 2025 one now expires at 20000
  EXPECT_EQ((*expired)[0].period.year, 2026);

  c.state = SmsConversationState::kComplete;
  ASSERT_TRUE(sms_->UpdateConversation(c).ok());
  auto none = sms_->FindOpenConversation("key-b");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
}

// Issue 15: the outcome of one inbound message is written only over the conversation it was computed
// from, and only once per message; otherwise kConflict and nothing of it is written (no outbox row).
TEST_P(SmsStoreTest, RecordInboundWritesOnlyOverTheStateItWasComputedFrom) {
  auto id = sms_->CreateConversation(Conversation("key-a"));
  ASSERT_TRUE(id.ok()) << id.status();
  auto read = sms_->FindOpenConversation("key-a");
  ASSERT_TRUE(read.ok() && read->has_value());
  const SmsConversation before = **read;
  bool inserted = false;
  auto first = sms_->InsertInbound(Inbound("rec-1", "1"), &inserted);
  auto second = sms_->InsertInbound(Inbound("rec-2", "2"), &inserted);
  ASSERT_TRUE(first.ok() && second.ok());
  auto outbox_rows = [&] {
    std::int64_t n = 0;
    auto counts = sms_->CountOutbox();
    EXPECT_TRUE(counts.ok());
    for (const auto& [status, count] : *counts) n += count;
    return n;
  };
  SmsOutboxMessage question;
  question.conversation_id = *id;
  question.phone_key = "key-a";
  question.body = "next question";

  // Two servers computed from the same conversation: the first outcome is written...
  SmsConversation a = before, b = before;
  a.step = 1;
  a.updated_at_ms = before.updated_at_ms + 10;
  b.step = 1;
  b.answers_json = "{\"security\":[\"2\"]}";
  SmsInbound outcome_a = *first, outcome_b = *second;
  outcome_a.status = outcome_b.status = "answered";
  outcome_a.conversation_id = outcome_b.conversation_id = *id;
  ASSERT_TRUE(sms_->RecordInbound(outcome_a, &before, &a, {question}).ok());
  EXPECT_EQ(outbox_rows(), 1);
  // ...the second, computed from what is no longer stored, is refused and writes nothing.
  EXPECT_EQ(sms_->RecordInbound(outcome_b, &before, &b, {question}).code(), StatusCode::kConflict);
  EXPECT_EQ(outbox_rows(), 1);
  auto reread = sms_->InsertInbound(Inbound("rec-2", "2"), &inserted);
  ASSERT_TRUE(reread.ok());
  EXPECT_EQ(reread->status, "received") << "the refused outcome was not written";
  // The same message handled twice (from the new state): the second time it is refused.
  SmsConversation a2 = a;
  a2.step = 2;
  EXPECT_EQ(sms_->RecordInbound(outcome_a, &a, &a2, {question}).code(), StatusCode::kConflict);
  EXPECT_EQ(outbox_rows(), 1);
  // Computed again from the stored state, the second message is taken.
  b.step = 2;
  EXPECT_TRUE(sms_->RecordInbound(outcome_b, &a, &b, {question}).ok());
  auto now = sms_->FindOpenConversation("key-a");
  ASSERT_TRUE(now.ok() && now->has_value());
  EXPECT_EQ((*now)->step, 2);
  EXPECT_EQ(outbox_rows(), 2);
}

// Issue 16: a message is written to the ledger once, with its final status (RecordInbound of a row
// not stored yet), not inserted "received" and updated; a second outcome for the same message id is
// refused and writes nothing.
TEST_P(SmsStoreTest, InboundIsRecordedWithItsFinalStatusOnce) {
  auto id = sms_->CreateConversation(Conversation("key-a"));
  ASSERT_TRUE(id.ok()) << id.status();
  auto read = sms_->FindOpenConversation("key-a");
  ASSERT_TRUE(read.ok() && read->has_value());
  const SmsConversation before = **read;
  auto absent = sms_->FindInbound("aliyun", "final-1");
  ASSERT_TRUE(absent.ok()) << absent.status();
  EXPECT_FALSE(absent->has_value());
  SmsOutboxMessage question;
  question.conversation_id = *id;
  question.phone_key = "key-a";
  question.body = "next question";
  SmsInbound outcome = Inbound("final-1", "1");
  outcome.status = "answered";
  outcome.detail = "security=1";
  outcome.survey_id = before.survey_id;
  outcome.period = before.period;
  outcome.conversation_id = *id;
  SmsConversation after = before;
  after.step = 1;
  after.updated_at_ms = before.updated_at_ms + 10;
  after.expires_at_ms = before.expires_at_ms + 10;
  ASSERT_TRUE(sms_->RecordInbound(outcome, &before, &after, {question}).ok());
  auto stored = sms_->FindInbound("aliyun", "final-1");
  ASSERT_TRUE(stored.ok() && stored->has_value());
  EXPECT_GT((*stored)->id, 0);
  EXPECT_EQ((*stored)->status, "answered");
  EXPECT_EQ((*stored)->detail, "security=1");
  EXPECT_EQ((*stored)->text, "1");
  EXPECT_EQ((*stored)->conversation_id, *id);
  EXPECT_EQ((*stored)->period, before.period);

  // The same message id again (another server, from the same state it read): refused, nothing written.
  SmsConversation again = after;
  again.step = 2;
  again.updated_at_ms = after.updated_at_ms + 10;
  EXPECT_EQ(sms_->RecordInbound(outcome, &after, &again, {question}).code(), StatusCode::kConflict);
  auto now = sms_->FindOpenConversation("key-a");
  ASSERT_TRUE(now.ok() && now->has_value());
  EXPECT_EQ((*now)->step, 1);
  EXPECT_EQ((*now)->expires_at_ms, after.expires_at_ms);
  auto outbox = sms_->CountOutbox();
  ASSERT_TRUE(outbox.ok());
  ASSERT_EQ(outbox->size(), 1u);
  EXPECT_EQ(outbox->front().second, 1);
  bool inserted = true;
  auto ledger = sms_->InsertInbound(Inbound("final-1", "1"), &inserted);
  ASSERT_TRUE(ledger.ok());
  EXPECT_FALSE(inserted);
  EXPECT_EQ(ledger->status, "answered");
}

// Issue 16 (migration 013): steps move a conversation's expiry without touching the indexed expiry
// check; the expirer still finds exactly the conversations due, refiling those whose expiry moved on,
// past any number of them (pages of `limit`), and rows without a check time (a version-12 server's).
TEST_P(SmsStoreTest, ExpiryFollowsTheStepsThroughTheLazyExpiryCheck) {
  std::vector<SmsConversation> read;
  for (const char* key : {"key-a", "key-b", "key-c", "key-d"}) {
    SmsConversation c = Conversation(key);
    c.expires_at_ms = std::string(key) == "key-c" ? 6000 : 5000;
    auto id = sms_->CreateConversation(c);
    ASSERT_TRUE(id.ok()) << id.status();
    auto open = sms_->FindOpenConversation(key);
    ASSERT_TRUE(open.ok() && open->has_value());
    read.push_back(**open);
  }
  // a and b answer: their expiry moves to 50000 (a step); c and d stay at 6000 and 5000.
  for (int i = 0; i < 2; ++i) {
    SmsConversation after = read[static_cast<std::size_t>(i)];
    after.step = 1;
    after.updated_at_ms = 2000;
    after.expires_at_ms = 50000;
    SmsInbound outcome = Inbound("exp-" + std::to_string(i), "1");
    outcome.phone_key = after.phone_key;
    outcome.status = "answered";
    outcome.conversation_id = after.id;
    ASSERT_TRUE(sms_->RecordInbound(outcome, &read[static_cast<std::size_t>(i)], &after, {}).ok());
  }
  // d as a server of version 12 writes it: no expiry check time.
  ASSERT_TRUE(store_->SqlDb()
                  .InTransaction("old server's row", db::Work::kIdempotent,
                                 [&](db::Tx& tx) -> Status {
                                   auto changed = tx.Execute(
                                       "UPDATE sms_conversations SET expiry_check_at_ms = 0 WHERE id = ?",
                                       {read[3].id});
                                   return changed.ok() ? Status::Ok() : changed.status();
                                 })
                  .ok());

  auto due = sms_->ExpiredConversations(5500, 10);
  ASSERT_TRUE(due.ok()) << due.status();
  ASSERT_EQ(due->size(), 1u);
  EXPECT_EQ((*due)[0].phone_key, "key-d");
  EXPECT_EQ((*due)[0].expires_at_ms, 5000);
  SmsConversation closed = (*due)[0];
  closed.state = SmsConversationState::kExpired;
  ASSERT_TRUE(sms_->UpdateConversation(closed).ok());
  // a and b come before c in the check order but are not due: passed one page of 1 at a time.
  due = sms_->ExpiredConversations(7000, 1);
  ASSERT_TRUE(due.ok()) << due.status();
  ASSERT_EQ(due->size(), 1u);
  EXPECT_EQ((*due)[0].phone_key, "key-c");
  EXPECT_EQ((*due)[0].expires_at_ms, 6000);
  closed = (*due)[0];
  closed.state = SmsConversationState::kExpired;
  ASSERT_TRUE(sms_->UpdateConversation(closed).ok());
  due = sms_->ExpiredConversations(49999, 10);
  ASSERT_TRUE(due.ok());
  EXPECT_TRUE(due->empty());
  due = sms_->ExpiredConversations(50000, 10);
  ASSERT_TRUE(due.ok());
  ASSERT_EQ(due->size(), 2u);
  EXPECT_EQ((*due)[0].phone_key, "key-a");
  EXPECT_EQ((*due)[1].phone_key, "key-b");
  EXPECT_EQ((*due)[0].step, 1);
}

// Issue 16 (group commit of the webhooks): the work of many messages in one transaction. A step that
// fails inside it (Isolated) is undone alone, its neighbours kept; a failing transaction keeps nothing.
TEST_P(SmsStoreTest, OneTransactionForManyMessagesUndoesOnlyTheFailedStep) {
  auto id = sms_->CreateConversation(Conversation("key-a"));
  ASSERT_TRUE(id.ok()) << id.status();
  SmsOutboxMessage question;
  question.conversation_id = *id;
  question.phone_key = "key-a";
  question.body = "next question";
  auto handle = [&](SmsTransaction& tx, const std::string& ref) -> Status {
    bool inserted = false;
    auto row = tx.InsertInbound(Inbound(ref, "1"), &inserted);
    if (!row.ok()) return row.status();
    auto open = tx.FindOpenConversation("key-a");  // sees the earlier steps of the same transaction
    if (!open.ok()) return open.status();
    if (!open->has_value()) return Status::NotFound("no open conversation");
    SmsConversation after = **open;
    ++after.step;
    after.updated_at_ms += 1;
    SmsInbound outcome = *row;
    outcome.status = "answered";
    outcome.conversation_id = *id;
    return tx.RecordInbound(outcome, &**open, &after, {question});
  };
  Status second_step;
  const Status committed = sms_->InTransaction("batch", [&](SmsTransaction& tx) -> Status {
    MINYI_RETURN_IF_ERROR(tx.Isolated([&] { return handle(tx, "b-1"); }));
    second_step = tx.Isolated([&]() -> Status {
      MINYI_RETURN_IF_ERROR(handle(tx, "b-2"));  // written, then undone by the failure after it
      return Status::InvalidInput("this message fails after its writes");
    });
    return tx.Isolated([&] { return handle(tx, "b-3"); });
  });
  ASSERT_TRUE(committed.ok()) << committed;
  EXPECT_EQ(second_step.code(), StatusCode::kInvalidInput);
  auto now = sms_->FindOpenConversation("key-a");
  ASSERT_TRUE(now.ok() && now->has_value());
  EXPECT_EQ((*now)->step, 2) << "steps 1 and 3 kept, step 2 undone";
  bool inserted = false;
  auto undone = sms_->InsertInbound(Inbound("b-2", "1"), &inserted);
  ASSERT_TRUE(undone.ok());
  EXPECT_TRUE(inserted) << "the failed step's ledger row was undone";
  auto kept = sms_->InsertInbound(Inbound("b-3", "1"), &inserted);
  ASSERT_TRUE(kept.ok());
  EXPECT_FALSE(inserted);
  EXPECT_EQ(kept->status, "answered");
  auto outbox = sms_->CountOutbox();
  ASSERT_TRUE(outbox.ok());
  ASSERT_EQ(outbox->size(), 1u);
  EXPECT_EQ(outbox->front().second, 2);

  // A transaction that fails keeps none of its steps.
  const Status failed = sms_->InTransaction("batch", [&](SmsTransaction& tx) -> Status {
    MINYI_RETURN_IF_ERROR(tx.Isolated([&] { return handle(tx, "c-1"); }));
    return Status::Unavailable("the batch fails");
  });
  EXPECT_EQ(failed.code(), StatusCode::kUnavailable);
  auto after_failure = sms_->FindOpenConversation("key-a");
  ASSERT_TRUE(after_failure.ok() && after_failure->has_value());
  EXPECT_EQ((*after_failure)->step, 2);
  auto rolled_back = sms_->InsertInbound(Inbound("c-1", "1"), &inserted);
  ASSERT_TRUE(rolled_back.ok());
  EXPECT_TRUE(inserted);
}

// Issue 16 (the SMS batch without savepoints): Unguarded runs a step in the transaction without a savepoint
// and tells whether it began to write, so that the caller knows a failed step left nothing to undo (then the
// transaction's other steps are kept) or must roll the whole transaction back.
TEST_P(SmsStoreTest, UnguardedStepsTellWhetherTheyWrote) {
  auto id = sms_->CreateConversation(Conversation("key-a"));
  ASSERT_TRUE(id.ok()) << id.status();
  bool first_wrote = false, read_wrote = true, failed_wrote = true, late_wrote = false;
  Status failed_early, failed_late;
  const Status committed = sms_->InTransaction("batch", [&](SmsTransaction& tx) -> Status {
    MINYI_RETURN_IF_ERROR(tx.Unguarded(
        [&]() -> Status {
          bool inserted = false;
          auto row = tx.InsertInbound(Inbound("u-1", "1"), &inserted);
          return row.ok() ? Status::Ok() : row.status();
        },
        &first_wrote));
    MINYI_RETURN_IF_ERROR(tx.Unguarded(
        [&]() -> Status {
          auto open = tx.FindOpenConversation("key-a");
          return open.ok() ? Status::Ok() : open.status();
        },
        &read_wrote));
    failed_early = tx.Unguarded(
        [&]() -> Status {
          auto found = tx.FindInbound("aliyun", "u-2");
          if (!found.ok()) return found.status();
          return Status::InvalidInput("this message fails before writing");
        },
        &failed_wrote);
    failed_late = tx.Unguarded(
        [&]() -> Status {
          MINYI_RETURN_IF_ERROR(tx.AddSuppression("key-z", 1, "test"));
          return Status::InvalidInput("this message fails after writing");
        },
        &late_wrote);
    return Status::Ok();
  });
  ASSERT_TRUE(committed.ok()) << committed;
  EXPECT_TRUE(first_wrote);
  EXPECT_FALSE(read_wrote) << "reads are not writes";
  EXPECT_EQ(failed_early.code(), StatusCode::kInvalidInput);
  EXPECT_FALSE(failed_wrote) << "failed before any write: nothing to undo";
  EXPECT_EQ(failed_late.code(), StatusCode::kInvalidInput);
  EXPECT_TRUE(late_wrote) << "failed after a write: only the whole transaction can undo it";
  auto kept = sms_->FindInbound("aliyun", "u-1");
  ASSERT_TRUE(kept.ok());
  EXPECT_TRUE(kept->has_value()) << "the steps of a committed transaction are kept";
}

// Issue 16: the conversation that started last, whatever its state (a remark after the last answer goes
// to it only if it is complete).
TEST_P(SmsStoreTest, LatestConversationIsTheOneThatStartedLast) {
  auto none = sms_->FindLatestConversation("key-a");
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_FALSE(none->has_value());
  SmsConversation first = Conversation("key-a");
  first.state = SmsConversationState::kComplete;
  first.updated_at_ms = 9000;  // updated after the second one started: the start decides
  auto first_id = sms_->CreateConversation(first);
  ASSERT_TRUE(first_id.ok()) << first_id.status();
  auto only = sms_->FindLatestConversation("key-a");
  ASSERT_TRUE(only.ok() && only->has_value());
  EXPECT_EQ((*only)->id, *first_id);
  EXPECT_EQ((*only)->state, SmsConversationState::kComplete);
  SmsConversation second = Conversation("key-a");
  second.period = Period{2026, 0};
  second.started_at_ms = 2000;
  second.state = SmsConversationState::kOptedOut;
  auto second_id = sms_->CreateConversation(second);
  ASSERT_TRUE(second_id.ok()) << second_id.status();
  ASSERT_TRUE(sms_->CreateConversation(Conversation("key-b")).ok());
  auto latest = sms_->FindLatestConversation("key-a");
  ASSERT_TRUE(latest.ok() && latest->has_value());
  EXPECT_EQ((*latest)->id, *second_id);
  EXPECT_EQ((*latest)->state, SmsConversationState::kOptedOut);
}

TEST_P(SmsStoreTest, OutboxDueOrderAndUpdates) {
  std::vector<SmsOutboxMessage> messages;
  for (int i = 0; i < 3; ++i) {
    SmsOutboxMessage m;
    m.survey_id = "jiangsu-safety";
    m.phone_key = "key-" + std::to_string(i);
    m.phone_enc = "enc";
    m.body = "问题 " + std::to_string(i);
    m.created_at_ms = 100;
    m.next_attempt_at_ms = i == 2 ? 5000 : 100;
    messages.push_back(m);
  }
  ASSERT_TRUE(sms_->EnqueueOutbox(messages).ok());
  auto due = sms_->DueOutbox(1000, 10);
  ASSERT_TRUE(due.ok()) << due.status();
  ASSERT_EQ(due->size(), 2u);
  EXPECT_EQ((*due)[0].body, "问题 0");
  EXPECT_LT((*due)[0].id, (*due)[1].id);

  SmsOutboxMessage sent = (*due)[0];
  sent.status = SmsOutboxStatus::kSent;
  sent.attempts = 1;
  sent.sent_at_ms = 1001;
  sent.gateway_ref = "gw-1";
  ASSERT_TRUE(sms_->UpdateOutbox(sent).ok());
  SmsOutboxMessage retry = (*due)[1];
  retry.attempts = 1;
  retry.next_attempt_at_ms = 3000;
  retry.last_error = "HTTP 503";
  ASSERT_TRUE(sms_->UpdateOutbox(retry).ok());

  auto later = sms_->DueOutbox(1000, 10);
  ASSERT_TRUE(later.ok());
  EXPECT_TRUE(later->empty());
  auto at_6000 = sms_->DueOutbox(6000, 1);
  ASSERT_TRUE(at_6000.ok());
  ASSERT_EQ(at_6000->size(), 1u);
  EXPECT_EQ((*at_6000)[0].last_error, "HTTP 503");
  EXPECT_EQ((*at_6000)[0].attempts, 1);

  auto counts = sms_->CountOutbox();
  ASSERT_TRUE(counts.ok());
  ASSERT_EQ(counts->size(), 2u);
  EXPECT_EQ((*counts)[0], (std::pair<std::string, std::int64_t>{"pending", 2}));
  EXPECT_EQ((*counts)[1], (std::pair<std::string, std::int64_t>{"sent", 1}));
}

TEST_P(SmsStoreTest, AnOutboxMessageIsClaimedByOneSenderOnly) {
  SmsOutboxMessage m;
  m.survey_id = "jiangsu-safety";
  m.phone_key = "key-0";
  m.phone_enc = "enc";
  m.body = "问题";
  m.created_at_ms = 100;
  m.next_attempt_at_ms = 100;
  ASSERT_TRUE(sms_->EnqueueOutbox({m, m, m}).ok());
  auto due = sms_->DueOutbox(1000, 10);
  ASSERT_TRUE(due.ok()) << due.status();
  ASSERT_EQ(due->size(), 3u);

  // Two senders that read the same due row: one claim wins, whichever thread runs first.
  Result<bool> claims[2] = {false, false};
  testsupport::RunAtOnce(2, [&](int i) { claims[i] = sms_->ClaimOutbox((*due)[0], 61000, nullptr); });
  ASSERT_TRUE(claims[0].ok()) << claims[0].status();
  ASSERT_TRUE(claims[1].ok()) << claims[1].status();
  EXPECT_NE(*claims[0], *claims[1]) << "exactly one sender claims the message";
  auto still_due = sms_->DueOutbox(1000, 10);
  ASSERT_TRUE(still_due.ok());
  EXPECT_EQ(still_due->size(), 2u) << "a claimed message is not due until its claim ends";
  auto after_claim = sms_->DueOutbox(61000, 10);
  ASSERT_TRUE(after_claim.ok());
  EXPECT_EQ(after_claim->size(), 3u) << "an unfinished claim ends (its sender may have died)";

  // Under a lease: the claim checks the fencing token in the same statement.
  std::unique_ptr<LeaseStore> leases = OpenLeaseStore(*store_);
  auto a = leases->TryAcquire("sms_sender", "server-a", 60000);
  ASSERT_TRUE(a.ok() && a->held);
  const LeaseFence fence{"sms_sender", "server-a", a->token};
  const LeaseFence stale{"sms_sender", "server-a", a->token + 1};
  const LeaseFence other{"sms_sender", "server-b", a->token};
  auto by_stale = sms_->ClaimOutbox((*due)[1], 61000, &stale);
  ASSERT_TRUE(by_stale.ok()) << by_stale.status();
  EXPECT_FALSE(*by_stale) << "a wrong fencing token claims nothing";
  auto by_other = sms_->ClaimOutbox((*due)[1], 61000, &other);
  ASSERT_TRUE(by_other.ok());
  EXPECT_FALSE(*by_other) << "a server without the lease claims nothing";
  auto by_holder = sms_->ClaimOutbox((*due)[1], 61000, &fence);
  ASSERT_TRUE(by_holder.ok()) << by_holder.status();
  EXPECT_TRUE(*by_holder);
  // Once released, the former holder's fence claims nothing.
  ASSERT_TRUE(leases->Release(fence).ok());
  auto after_release = sms_->ClaimOutbox((*due)[2], 61000, &fence);
  ASSERT_TRUE(after_release.ok());
  EXPECT_FALSE(*after_release) << "an ended lease claims nothing";
}

TEST_P(SmsStoreTest, SuppressionIsIdempotent) {
  auto before = sms_->IsSuppressed("key-a");
  ASSERT_TRUE(before.ok());
  EXPECT_FALSE(*before);
  ASSERT_TRUE(sms_->AddSuppression("key-a", 10, "TD").ok());
  ASSERT_TRUE(sms_->AddSuppression("key-a", 20, "退订").ok());
  auto after = sms_->IsSuppressed("key-a");
  ASSERT_TRUE(after.ok());
  EXPECT_TRUE(*after);
}

TEST_P(SmsStoreTest, RosterUpsertLookupAndPrefix) {
  ASSERT_TRUE(sms_->UpsertRoster({{"s1", "k1", "e1", "320812007", 1},
                                  {"s1", "k2", "e2", "320812", 1},
                                  {"s1", "k3", "e3", "320102001", 1},
                                  {"s2", "k1", "e1", "320812007", 1}})
                  .ok());
  ASSERT_TRUE(sms_->UpsertRoster({{"s1", "k1", "e1b", "320812008", 2}}).ok());
  auto one = sms_->FindRosterEntry("s1", "k1");
  ASSERT_TRUE(one.ok());
  ASSERT_TRUE(one->has_value());
  EXPECT_EQ((*one)->area_code, "320812008");
  EXPECT_EQ((*one)->phone_enc, "e1b");
  auto county = sms_->RosterEntries("s1", "320812");
  ASSERT_TRUE(county.ok());
  ASSERT_EQ(county->size(), 2u);
  EXPECT_EQ((*county)[0].phone_key, "k1");
  auto all = sms_->RosterEntries("s1", "");
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 3u);
}

TEST_P(SmsStoreTest, PurgeErasesPhonesButKeepsCounts) {
  ASSERT_TRUE(sms_->UpsertRoster({{"jiangsu-safety", "k1", "e1", "320812007", 1}, {"other", "k1", "e1", "320812007", 1}})
                  .ok());
  auto id = sms_->CreateConversation(Conversation("k1"));
  ASSERT_TRUE(id.ok());
  SmsOutboxMessage m;
  m.survey_id = "jiangsu-safety";
  m.phone_key = "k1";
  m.phone_enc = "e1";
  m.body = "谢谢";
  ASSERT_TRUE(sms_->EnqueueOutbox({m}).ok());

  auto purged = sms_->PurgeSurvey("jiangsu-safety");
  ASSERT_TRUE(purged.ok()) << purged.status();
  EXPECT_EQ(purged->roster_rows, 1);
  EXPECT_EQ(purged->outbox_rows, 1);
  EXPECT_EQ(purged->conversations, 1);
  auto c = sms_->FindConversation("jiangsu-safety", Period{2025, 0}, "k1");
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(c->has_value());
  EXPECT_EQ((*c)->phone_enc, "");
  auto other = sms_->RosterEntries("other", "");
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(other->size(), 1u);

  // Retention by age: ended conversations and delivered messages only.
  SmsConversation ended = Conversation("k2");
  ended.state = SmsConversationState::kComplete;
  ASSERT_TRUE(sms_->CreateConversation(ended).ok());
  ASSERT_TRUE(sms_->CreateConversation(Conversation("k3")).ok());  // open: kept
  SmsOutboxMessage sent = m;
  sent.status = SmsOutboxStatus::kSent;
  ASSERT_TRUE(sms_->EnqueueOutbox({sent, m}).ok());
  auto old = sms_->PurgeBefore(5000);
  ASSERT_TRUE(old.ok()) << old.status();
  EXPECT_EQ(old->outbox_rows, 1);
  EXPECT_EQ(old->conversations, 1);
}

INSTANTIATE_TEST_SUITE_P(Backends, SmsStoreTest,
                         ::testing::ValuesIn(testsupport::AllStoreBackends()),
                         testsupport::StoreBackendParamName);

}  // namespace
}  // namespace minyi::sql
