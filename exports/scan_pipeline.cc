#include "exports/scan_pipeline.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/text_arena.h"

namespace minyi::exports {
namespace {

// Responses copied out of the scan's views: their texts back to back in one reused buffer (no allocation
// per response once the buffers have grown), turned back into views by the visiting thread.
class Page {
 public:
  void Add(const ResponseView& r) {
    Row row;
    row.view = r;  // the numbers; the texts are the arena's, below
    row.survey_id = text_.Add(r.survey_id);
    row.town_code = text_.Add(r.town_code);
    row.respondent_key = text_.Add(r.respondent_key);
    row.source_ref = text_.Add(r.source_ref);
    row.raw_payload = text_.Add(r.raw_payload);
    row.answers_begin = answers_.size();
    for (std::size_t i = 0; i < r.answer_count; ++i)
      answers_.push_back({text_.Add(r.answers[i].question), text_.Add(r.answers[i].value)});
    rows_.push_back(row);
  }
  bool Full(const ScanPipelineLimits& limits) const {
    return rows_.size() >= limits.page_rows || text_.size() >= limits.page_bytes;
  }
  bool empty() const { return rows_.empty(); }
  void clear() {
    rows_.clear();
    answers_.clear();
    text_.clear();
  }
  // Visits the page's responses in order; false when `visit` stopped.
  bool Visit(const std::function<bool(const ResponseView&)>& visit) {
    answer_views_.resize(answers_.size());
    for (std::size_t i = 0; i < answers_.size(); ++i)
      answer_views_[i] = {text_.View(answers_[i].question), text_.View(answers_[i].value)};
    for (std::size_t i = 0; i < rows_.size(); ++i) {
      const Row& row = rows_[i];
      ResponseView v = row.view;
      v.survey_id = text_.View(row.survey_id);
      v.town_code = text_.View(row.town_code);
      v.respondent_key = text_.View(row.respondent_key);
      v.source_ref = text_.View(row.source_ref);
      v.raw_payload = text_.View(row.raw_payload);
      const std::size_t end = i + 1 < rows_.size() ? rows_[i + 1].answers_begin : answers_.size();
      v.answers = answer_views_.data() + row.answers_begin;
      v.answer_count = end - row.answers_begin;
      if (!visit(v)) return false;
    }
    return true;
  }

 private:
  struct Row {
    ResponseView view;  // its views point into the scan's buffers: only the numbers are read
    TextArena::Ref survey_id, town_code, respondent_key, source_ref, raw_payload;
    std::size_t answers_begin = 0;
  };
  TextArena text_;
  std::vector<Row> rows_;
  std::vector<TextArena::AnswerRef> answers_;
  std::vector<AnswerView> answer_views_;
};

// The one place the two threads meet: free pages go to the scan, filled pages to the visitor, both
// under `mu_`. Nothing else is shared.
class Handoff {
 public:
  explicit Handoff(std::size_t pages) {
    for (std::size_t i = 0; i < std::max<std::size_t>(pages, 2); ++i) {
      pages_.push_back(std::make_unique<Page>());
      free_.push_back(pages_.back().get());
    }
  }

  // Scan side: an empty page to fill; nullptr once the visitor has stopped.
  Page* TakeFree() {
    std::unique_lock<std::mutex> lock(mu_);
    changed_.wait(lock, [&] { return stopped_ || !free_.empty(); });
    if (stopped_) return nullptr;
    Page* page = free_.back();
    free_.pop_back();
    return page;
  }
  // Scan side: a filled page for the visitor.
  void PutFull(Page* page) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      full_.push_back(page);
    }
    changed_.notify_all();
  }
  // Scan side, last: the scan's status (after its last page, if any, was put).
  void Finish(Status status) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      scan_status_ = std::move(status);
      scan_done_ = true;
    }
    changed_.notify_all();
  }

  // Visitor side: the next filled page, or nullptr when the scan has finished and every page was taken.
  Page* TakeFull() {
    std::unique_lock<std::mutex> lock(mu_);
    changed_.wait(lock, [&] { return scan_done_ || !full_.empty(); });
    if (full_.empty()) return nullptr;
    Page* page = full_.front();
    full_.pop_front();
    return page;
  }
  // Visitor side: a visited page back to the scan.
  void PutFree(Page* page) {
    page->clear();
    {
      std::lock_guard<std::mutex> lock(mu_);
      free_.push_back(page);
    }
    changed_.notify_all();
  }
  // Visitor side: the scan may stop (at its next page).
  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopped_ = true;
    }
    changed_.notify_all();
  }
  // Visitor side, after TakeFull returned nullptr.
  Status scan_status() {
    std::lock_guard<std::mutex> lock(mu_);
    return scan_status_;
  }

 private:
  std::mutex mu_;
  std::condition_variable changed_;
  std::vector<std::unique_ptr<Page>> pages_;  // owns every page; the lists below point into it
  std::vector<Page*> free_;
  std::deque<Page*> full_;
  bool stopped_ = false;
  bool scan_done_ = false;
  Status scan_status_;
};

// The scan's thread: fills pages and hands them over. Every exception is caught here (one escaping a
// thread would end the process) and becomes the scan's status, with its message.
void RunScan(ResponseSource& source, const ResponseQuery& query, const ScanPipelineLimits& limits,
             Handoff& handoff) {
  Page* page = handoff.TakeFree();
  if (page == nullptr) {
    handoff.Finish(Status::Ok());
    return;
  }
  Status status;
  try {
    status = source.ScanViews(query, [&](const ResponseView& r) {
      page->Add(r);
      if (!page->Full(limits)) return true;
      handoff.PutFull(page);
      page = handoff.TakeFree();
      return page != nullptr;
    });
  } catch (const std::exception& e) {
    status = Status::Internal(std::string("the store's scan failed: ") + e.what());
  } catch (...) {
    status = Status::Internal("the store's scan failed: an exception of unknown type");
  }
  // The responses read before a failure are visited too, as they would be without the pipeline.
  if (page != nullptr && !page->empty()) handoff.PutFull(page);
  handoff.Finish(std::move(status));
}

// Stops and joins the scan's thread on every way out of PipelinedScanViews, exceptions included.
class JoinOnExit {
 public:
  JoinOnExit(Handoff& handoff, std::thread& thread) : handoff_(handoff), thread_(thread) {}
  ~JoinOnExit() {
    handoff_.Stop();
    thread_.join();
  }
  JoinOnExit(const JoinOnExit&) = delete;
  JoinOnExit& operator=(const JoinOnExit&) = delete;

 private:
  Handoff& handoff_;
  std::thread& thread_;
};

}  // namespace

Status PipelinedScanViews(ResponseSource& source, const ResponseQuery& query,
                          const std::function<bool(const ResponseView&)>& visit,
                          const ScanPipelineLimits& limits) {
  Handoff handoff(limits.pages);
  std::thread scan([&] { RunScan(source, query, limits, handoff); });
  JoinOnExit join(handoff, scan);
  while (Page* page = handoff.TakeFull()) {
    if (!page->Visit(visit)) return Status::Ok();
    handoff.PutFree(page);
  }
  return handoff.scan_status();
}

}  // namespace minyi::exports
