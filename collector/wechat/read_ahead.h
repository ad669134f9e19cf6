// A chat reader run on a thread of its own (issue 16): reading the file, decoding it and framing its
// messages (the reader's Next) is about half of a chat import's work and recognising them
// (WechatImporter::Handle) the other half, so on a machine with two cores the two run side by side.
// ReadAhead hands out the reader's messages, and the issues it met on the way, exactly as the reader
// does (same messages, same order, each issue with the message it came with): a caller's loop over
// ReadAhead::Next reads like its loop over ChatReader::Next.
//
// Between the two threads there are at most `batches` batches of messages (the reading thread fills
// one while the caller reads another; the rest wait in the queue). A batch is handed over when it holds
// `batch_messages` messages or kBatchTextBytes of text, so the text in flight is at most
// batches × (kBatchTextBytes + one message of ChatReader's max_message_bytes), and a message slot whose
// buffers grew beyond kMaxKeptSlotBytes is freed when its batch comes back, so the slots keep at most
// batches × batch_messages × kMaxKeptSlotBytes: with the defaults (4 batches of 512 messages, ReaderOptions'
// 1 MiB messages) at most 5 MiB of text in flight and 8 MiB of kept buffers, about 1 MiB for ordinary chat.
// Memory stays flat in the file size, as it does with the reader alone.
//
// The reader (and the stream it reads) belongs to the reading thread from construction until Next
// returns false or throws, or until the ReadAhead is destroyed: only then may the caller look at the
// reader or its stream again (truncated(), the decoder's counts). An exception the reader throws is
// rethrown by Next in its place, after the messages before it. The destructor stops the reading thread
// and joins it (also when the caller leaves early by an exception of its own): no thread outlives it.
// All state the two threads share is guarded by one mutex and its condition variable.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "collector/wechat/chat_reader.h"

namespace minyi::collector::wechat {

class ReadAhead {
 public:
  static constexpr std::size_t kBatchTextBytes = 256 * 1024;
  static constexpr std::size_t kMaxKeptSlotBytes = 4 * 1024;

  // batches ≥ 2 and batch_messages ≥ 1 (smaller values are raised to them).
  ReadAhead(ChatReader& reader, std::size_t batches = 4, std::size_t batch_messages = 512);
  ~ReadAhead();
  ReadAhead(const ReadAhead&) = delete;
  ReadAhead& operator=(const ReadAhead&) = delete;

  // The next message (valid until the next call), with the issues the reader met before it appended to
  // `issues`. False at the end (the last issues appended); rethrows what the reader threw.
  bool Next(ChatMessage** message, std::vector<ReaderIssue>* issues);

 private:
  struct Batch {
    std::vector<ChatMessage> messages;  // [0, size) hold messages
    std::size_t size = 0;
    std::vector<ReaderIssue> issues;
    std::vector<std::size_t> issue_ends;  // issues[.., issue_ends[i]) came with messages[i]; then the end's
    bool last = false;                    // the reader returned false (or threw) after these messages
    std::exception_ptr error;             // what it threw, with `last`
  };
  void Read();  // the reading thread
  // Frees the buffers of slots that grew beyond kMaxKeptSlotBytes and empties the batch.
  static void Recycle(Batch& batch);

  ChatReader& reader_;
  const std::size_t batch_messages_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<std::unique_ptr<Batch>> full_;  // filled, in file order
  std::deque<std::unique_ptr<Batch>> free_;  // to be filled
  bool stop_ = false;                        // the caller is gone: stop reading
  std::unique_ptr<Batch> current_;           // the caller's batch
  std::size_t at_ = 0;                       // next message of current_
  std::size_t issues_taken_ = 0;             // issues of current_ handed out
  bool done_ = false;                        // Next returned false (or threw)
  std::thread thread_;                       // last: started when everything above is ready
};

}  // namespace minyi::collector::wechat
