#include "collector/wechat/read_ahead.h"

#include <algorithm>
#include <iterator>
#include <utility>

namespace minyi::collector::wechat {

namespace {

// The bytes a message's buffers hold (their capacities: Reset keeps them for the next message).
std::size_t HeldBytes(const ChatMessage& m) {
  std::size_t n = m.local_time.capacity() + m.sender_name.capacity() + m.sender_wxid.capacity() +
                  m.group_name.capacity() + m.room_id.capacity() + m.text.capacity() +
                  m.quoted_name.capacity() + m.quoted_text.capacity() + m.quoted_wxid.capacity() +
                  m.server_id.capacity() + m.solitaire_creator.capacity();
  for (const SolitaireEntryInfo& e : m.solitaire) n += sizeof e + e.wxid.capacity();
  return n;
}

}  // namespace

ReadAhead::ReadAhead(ChatReader& reader, std::size_t batches, std::size_t batch_messages)
    : reader_(reader), batch_messages_(std::max<std::size_t>(1, batch_messages)) {
  for (std::size_t i = 0; i < std::max<std::size_t>(2, batches); ++i)
    free_.push_back(std::make_unique<Batch>());
  thread_ = std::thread(&ReadAhead::Read, this);
}

ReadAhead::~ReadAhead() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  changed_.notify_all();
  thread_.join();
}

void ReadAhead::Read() {
  for (;;) {
    std::unique_ptr<Batch> b;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      changed_.wait(lock, [this] { return stop_ || !free_.empty(); });
      if (stop_) return;
      b = std::move(free_.front());
      free_.pop_front();
    }
    std::size_t bytes = 0;
    try {
      while (b->size < batch_messages_ && bytes < kBatchTextBytes) {
        if (b->size == b->messages.size()) b->messages.emplace_back();
        ChatMessage& m = b->messages[b->size];
        const bool got = reader_.Next(&m, &b->issues);
        b->issue_ends.push_back(b->issues.size());
        if (!got) {
          b->last = true;
          break;
        }
        ++b->size;
        bytes += m.text.size() + m.quoted_text.size();
      }
    } catch (...) {
      b->error = std::current_exception();
      b->last = true;
    }
    const bool last = b->last;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      full_.push_back(std::move(b));
    }
    changed_.notify_all();
    if (last) return;
  }
}

void ReadAhead::Recycle(Batch& batch) {
  for (std::size_t i = 0; i < batch.size; ++i) {
    if (HeldBytes(batch.messages[i]) > kMaxKeptSlotBytes) batch.messages[i] = ChatMessage();
  }
  batch.size = 0;
  batch.issues.clear();
  batch.issue_ends.clear();
  batch.last = false;
  batch.error = nullptr;
}

bool ReadAhead::Next(ChatMessage** message, std::vector<ReaderIssue>* issues) {
  if (done_) return false;
  for (;;) {
    if (current_ != nullptr) {
      Batch& b = *current_;
      const bool at_message = at_ < b.size;
      if (!at_message && b.last && b.error != nullptr) {
        done_ = true;
        std::rethrow_exception(b.error);  // (the issues of the call that threw are lost, as without us)
      }
      if (at_message || b.last) {
        const std::size_t end = b.issue_ends[at_];
        std::move(b.issues.begin() + static_cast<std::ptrdiff_t>(issues_taken_),
                  b.issues.begin() + static_cast<std::ptrdiff_t>(end), std::back_inserter(*issues));
        issues_taken_ = end;
        if (!at_message) {
          done_ = true;
          return false;
        }
        *message = &b.messages[at_++];
        return true;
      }
      Recycle(b);
    }
    std::unique_ptr<Batch> next;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      if (current_ != nullptr) free_.push_back(std::move(current_));
      changed_.wait(lock, [this] { return !full_.empty(); });
      next = std::move(full_.front());
      full_.pop_front();
    }
    changed_.notify_all();
    current_ = std::move(next);
    at_ = 0;
    issues_taken_ = 0;
  }
}

}  // namespace minyi::collector::wechat
