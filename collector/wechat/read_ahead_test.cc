// ReadAhead (read_ahead.h): the reader's messages and issues, in order, from a thread of its own; the
// reader's exception in its place; no thread left running when the caller leaves early.
#include "collector/wechat/read_ahead.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <vector>

namespace minyi::collector::wechat {
namespace {

// Message i (1-based) has line i and text "m<i>"; every third comes with two issues, and the end with
// one. Throws instead of returning message `throw_at` (0: never); never ends when `messages` is 0.
class CountingReader final : public ChatReader {
 public:
  CountingReader(std::size_t messages, std::size_t throw_at) : messages_(messages), throw_at_(throw_at) {}
  bool Next(ChatMessage* m, std::vector<ReaderIssue>* issues) override {
    const std::size_t i = ++calls_;
    if (i == throw_at_) throw std::runtime_error("read error at " + std::to_string(i));
    if (messages_ != 0 && i > messages_) {
      issues->push_back({i, "at the end", ""});
      return false;
    }
    if (i % 3 == 0) {
      issues->push_back({i, "first before m" + std::to_string(i), ""});
      issues->push_back({i, "second before m" + std::to_string(i), ""});
    }
    m->line = i;
    m->text = "m" + std::to_string(i);
    if (i % 5 == 0) m->text.append(8 * 1024, 'x');  // a slot that is freed when its batch comes back
    return true;
  }
  ChatFormat format() const override { return ChatFormat::kWeChatMsgTxt; }
  std::size_t calls() const { return calls_.load(); }

 private:
  std::size_t messages_;
  std::size_t throw_at_;
  std::atomic<std::size_t> calls_{0};
};

// What a caller's loop sees: "issue <line> <reason>" and "message <line> <text's first bytes>".
std::vector<std::string> Direct(ChatReader& reader) {
  std::vector<std::string> out;
  ChatMessage m;
  std::vector<ReaderIssue> issues;
  for (;;) {
    const bool got = reader.Next(&m, &issues);
    for (const ReaderIssue& i : issues) out.push_back("issue " + std::to_string(i.line) + " " + i.reason);
    issues.clear();
    if (!got) return out;
    out.push_back("message " + std::to_string(m.line) + " " + m.text.substr(0, 8));
  }
}

std::vector<std::string> Ahead(ChatReader& reader, std::size_t batches, std::size_t messages) {
  std::vector<std::string> out;
  ReadAhead ahead(reader, batches, messages);
  ChatMessage* m = nullptr;
  std::vector<ReaderIssue> issues;
  for (;;) {
    const bool got = ahead.Next(&m, &issues);
    for (const ReaderIssue& i : issues) out.push_back("issue " + std::to_string(i.line) + " " + i.reason);
    issues.clear();
    if (!got) break;
    out.push_back("message " + std::to_string(m->line) + " " + m->text.substr(0, 8));
  }
  EXPECT_FALSE(ahead.Next(&m, &issues));  // and stays at the end
  EXPECT_TRUE(issues.empty());
  return out;
}

TEST(ReadAheadTest, HandsOutTheReadersMessagesAndIssuesInOrderWhateverTheBatches) {
  CountingReader direct(1000, 0);
  const std::vector<std::string> want = Direct(direct);
  ASSERT_EQ(want.size(), 1000u + 2 * 333 + 1);
  for (const auto& [batches, messages] :
       {std::pair<std::size_t, std::size_t>{2, 1}, {2, 2}, {3, 7}, {4, 512}, {4, 1000}, {2, 5000}, {0, 0}}) {
    CountingReader reader(1000, 0);
    EXPECT_EQ(Ahead(reader, batches, messages), want) << batches << " x " << messages;
  }
  CountingReader one(1, 0), one_direct(1, 0);  // one message, then the end
  EXPECT_EQ(Ahead(one, 2, 1), Direct(one_direct));
}

TEST(ReadAheadTest, RethrowsTheReadersErrorAfterTheMessagesBeforeIt) {
  for (const std::size_t messages : {std::size_t{1}, std::size_t{4}, std::size_t{512}}) {
    CountingReader reader(1000, 100);
    ReadAhead ahead(reader, 2, messages);
    ChatMessage* m = nullptr;
    std::vector<ReaderIssue> issues;
    std::size_t seen = 0;
    try {
      while (ahead.Next(&m, &issues)) {
        EXPECT_EQ(m->line, ++seen);
      }
      ADD_FAILURE() << "no exception";
    } catch (const std::runtime_error& e) {
      EXPECT_EQ(std::string(e.what()), "read error at 100");
    }
    EXPECT_EQ(seen, 99u) << messages;
    EXPECT_EQ(issues.size(), 2u * 33);  // the issues of messages 3, 6, ... 99
    EXPECT_FALSE(ahead.Next(&m, &issues));
  }
}

// The caller stops early (an exception of its own, say): the destructor stops the reading thread,
// which has read at most the batches it may hold (memory bound), and joins it.
TEST(ReadAheadTest, StopsAndJoinsWhenTheCallerLeavesEarlyAndNeverReadsMoreThanItsBatches) {
  CountingReader endless(0, 0);
  {
    ReadAhead ahead(endless, 3, 4);
    ChatMessage* m = nullptr;
    std::vector<ReaderIssue> issues;
    for (int i = 0; i < 5; ++i) ASSERT_TRUE(ahead.Next(&m, &issues));
  }
  const std::size_t read = endless.calls();
  // Two batches taken by the caller, three more filled at most (one more Next call per batch cannot
  // happen: a batch ends at its count).
  EXPECT_LE(read, (2u + 3u) * 4u);
  EXPECT_GE(read, 5u);
  CountingReader unread(0, 0);
  { ReadAhead ahead(unread, 2, 1); }  // destroyed before a message was asked for
  EXPECT_LE(unread.calls(), 2u);
}

}  // namespace
}  // namespace minyi::collector::wechat
