// SQLite backend, on the sqlite3 C API directly rather than Poco::Data::SQLite, because the store
// needs three things that abstraction hides: extended result codes (to tell a unique-key hit from a
// CHECK failure, a busy database or an I/O error), explicit transaction control (BEGIN IMMEDIATE ...
// COMMIT around a whole batch: group commit, one fsync per batch) and prepared statements that stay
// prepared across calls and are only re-bound and reset on the per-row hot path.
#include "sql/sqlite_store.h"

#include <spdlog/spdlog.h>
#include <sqlite3.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <condition_variable>
#include <filesystem>
#include <limits>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <utility>

#include "core/repeat_limiter.h"
#include "core/text_arena.h"
#include "sql/sqlite_internal.h"
#include "sql/store_common.h"

namespace minyi::sql {

namespace {

using internal::ScanKey;

std::string ToUpper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

// SQLite's automatic checkpoint runs inside the commit that takes the WAL past wal_autocheckpoint (1,000
// pages): that commit copies the pages into the database file and fsyncs it before it returns, and a group
// commit's waiting requests wait for it too (issue 16: the SMS webhooks change conversation rows on pages
// all over the file, so every ~15th batch paused for a checkpoint of hundreds of pages). Here the writer's
// commits only signal (the WAL hook, which replaces the automatic checkpoint) and a thread of its own, on
// a connection of its own, runs PASSIVE checkpoints, which wait for no reader or writer. The writer still
// checkpoints in its commit when the WAL reaches kWriterFrames (the thread fell behind, or a reader held
// an old snapshot), so the WAL stays bounded.
class WalCheckpointer {
 public:
  static constexpr int kFrames = 1000;               // SQLite's default wal_autocheckpoint
  static constexpr int kWriterFrames = 8 * kFrames;  // 32 MiB of 4 KiB pages

  explicit WalCheckpointer(DbPtr db) : db_(std::move(db)), thread_([this] { Loop(); }) {}
  ~WalCheckpointer() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    cv_.notify_one();
    thread_.join();
  }
  WalCheckpointer(const WalCheckpointer&) = delete;
  WalCheckpointer& operator=(const WalCheckpointer&) = delete;

  // sqlite3_wal_hook: called by the writer after each commit with the WAL's size in frames.
  static int OnCommit(void* self, sqlite3* writer, const char* schema, int frames) {
    if (frames >= kWriterFrames) {
      sqlite3_wal_checkpoint_v2(writer, schema, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    } else if (frames >= kFrames) {
      auto* checkpointer = static_cast<WalCheckpointer*>(self);
      {
        std::lock_guard<std::mutex> lock(checkpointer->mu_);
        checkpointer->wanted_ = true;
      }
      checkpointer->cv_.notify_one();
    }
    return SQLITE_OK;
  }

 private:
  void Loop() {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      cv_.wait(lock, [this] { return stopping_ || wanted_; });
      if (stopping_) return;
      wanted_ = false;
      lock.unlock();
      // SQLITE_BUSY: another checkpoint runs (the writer's); the next commit signals again.
      const int rc =
          sqlite3_wal_checkpoint_v2(db_.get(), nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
      if (rc != SQLITE_OK && rc != SQLITE_BUSY) {
        // One line per 10 s at most: the writer's own checkpoint at kWriterFrames keeps the WAL bounded.
        if (const RepeatLimiter::Decision d = failure_log_.Admit(); d.pass) {
          spdlog::warn("sqlite: background WAL checkpoint failed: {} ({} more in the last 10 s)",
                       sqlite3_errmsg(db_.get()), d.suppressed);
        }
      }
      lock.lock();
    }
  }

  DbPtr db_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool wanted_ = false;
  bool stopping_ = false;
  RepeatLimiter failure_log_;
  std::thread thread_;  // last: started once every other member is built
};

SqliteStore::SqliteStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)), db_(MakeSqliteDb(*impl_)) {}

db::Db& SqliteStore::SqlDb() { return *db_; }

SqliteStore::~SqliteStore() {
  if (impl_ == nullptr) return;
  if (impl_->checkpointer) {
    sqlite3_wal_hook(impl_->db.get(), nullptr, nullptr);
    impl_->checkpointer.reset();
  }
  // Statements must be finalized before their connection closes.
  impl_->FinalizeStatements();
}

Result<std::unique_ptr<SqliteStore>> SqliteStore::Open(const SqliteOptions& options) {
  if (options.path.empty()) return Status::InvalidInput("sqlite: database path is empty");
  const std::string sync = ToUpper(options.synchronous);
  if (sync != "FULL" && sync != "NORMAL" && sync != "EXTRA") {
    return Status::InvalidInput("sqlite: synchronous must be FULL or NORMAL, not '" + options.synchronous + "'");
  }
  if (options.busy_timeout_ms < 0) return Status::InvalidInput("sqlite: busy_timeout_ms is negative");

  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->in_memory = options.path == ":memory:";
  if (!impl->in_memory) {
    const std::filesystem::path parent = std::filesystem::path(options.path).parent_path();
    std::error_code ec;
    if (!parent.empty()) std::filesystem::create_directories(parent, ec);
    if (ec) return Status::Unavailable("sqlite: cannot create directory " + parent.string() + ": " + ec.message());
  }
  auto db = OpenConnection(options.path, false, options.busy_timeout_ms);
  if (!db.ok()) return db.status();
  impl->db = std::move(db).value();
  sqlite3* h = impl->db.get();
  if (!impl->in_memory) MINYI_RETURN_IF_ERROR(Exec(h, "PRAGMA journal_mode = WAL"));
  MINYI_RETURN_IF_ERROR(Exec(h, ("PRAGMA synchronous = " + sync).c_str()));
  MINYI_RETURN_IF_ERROR(Exec(h, "PRAGMA foreign_keys = ON"));
  // 32 MiB of page cache (default 2 MiB): the unique and survey indexes of a growing file stay
  // in memory instead of being re-read on every append.
  MINYI_RETURN_IF_ERROR(Exec(h, "PRAGMA cache_size = -32768"));
  if (!impl->in_memory) {
    auto checkpoints = OpenConnection(options.path, false, options.busy_timeout_ms);
    if (!checkpoints.ok()) return checkpoints.status();
    MINYI_RETURN_IF_ERROR(Exec(checkpoints->get(), ("PRAGMA synchronous = " + sync).c_str()));
    impl->checkpointer = {new WalCheckpointer(std::move(checkpoints).value()),
                          [](WalCheckpointer* c) { delete c; }};
    sqlite3_wal_hook(h, &WalCheckpointer::OnCommit, impl->checkpointer.get());
  }
  return std::unique_ptr<SqliteStore>(new SqliteStore(std::move(impl)));
}

// ---------------------------------------------------------------------------------------------
// Responses

Status SqliteStore::Append(const std::vector<Response>& batch, std::vector<AppendResult>* results) {
  // Hashing is the costliest per-row work that needs no database: do it before taking any lock.
  std::vector<std::string> hashes;
  hashes.reserve(batch.size());
  for (const Response& r : batch) hashes.push_back(r.ContentHash());
  return AppendHashed(batch, hashes, results);
}

Status SqliteStore::AppendHashed(const std::vector<Response>& batch, const std::vector<std::string>& hashes,
                              std::vector<AppendResult>* results) {
  if (results == nullptr) return Status::Internal("Append: results is null");
  results->clear();
  if (hashes.size() != batch.size()) return Status::InvalidInput("AppendHashed: one hash per response expected");
  MINYI_RETURN_IF_ERROR(internal::ValidateBatch(batch));
  if (batch.empty()) return Status::Ok();

  std::vector<AppendResult> out(batch.size());
  {
    std::lock_guard<std::mutex> lock(impl_->write_mu);
    MINYI_RETURN_IF_ERROR(impl_->PrepareAppendStatements());
    auto tx = Transaction::Begin(impl_->db.get());
    if (!tx.ok()) return tx.status();
    impl_->pending_answers.clear();
    for (std::size_t i = 0; i < batch.size(); ++i) {
      MINYI_RETURN_IF_ERROR(impl_->AppendOne(batch[i], hashes[i], &out[i]));
    }
    MINYI_RETURN_IF_ERROR(impl_->FlushAnswers());
    MINYI_RETURN_IF_ERROR(AppendAnalysisRows(impl_->db.get(), impl_->insert_analysis, batch, out));
    MINYI_RETURN_IF_ERROR((*tx)->Commit());
  }
  *results = std::move(out);
  return Status::Ok();
}

namespace {

// The filter of a Scan; `r` is the responses table alias.
std::string ScanFilter(const ResponseQuery& q) {
  std::string where = "r.survey_id = :survey";
  if (q.period) where += " AND r.period_year = :year AND r.period_quarter = :quarter";
  if (q.town_code) where += " AND r.town_code = :town";
  return where;
}

// "(scan-order columns) <op> (:<prefix>y, ...)" over the columns the filter leaves free, so the
// planner walks the index (survey, year, quarter, town, rowid) in order without sorting.
std::string KeyBound(const ResponseQuery& q, const char* op, const std::string& prefix) {
  std::string columns, params;
  const auto add = [&](const char* column, const char* suffix) {
    columns += (columns.empty() ? "" : ", ") + std::string(column);
    params += (params.empty() ? ":" : ", :") + prefix + suffix;
  };
  if (!q.period) {
    add("r.period_year", "y");
    add("r.period_quarter", "q");
  }
  if (!q.town_code) add("r.town_code", "t");
  add("r.id", "i");
  return " AND (" + columns + ") " + op + " (" + params + ")";
}

void BindScanFilter(Stmt& s, const ResponseQuery& q) {
  s.Text(s.Param(":survey"), q.survey_id);
  if (q.period) {
    s.Int(s.Param(":year"), q.period->year);
    s.Int(s.Param(":quarter"), q.period->quarter);
  }
  if (q.town_code) s.Text(s.Param(":town"), *q.town_code);
}

// Binds the key's parts that KeyBound() used (an absent name has index 0 and is skipped).
void BindKey(Stmt& s, const char* prefix, const ScanKey& k) {
  const std::string p = std::string(":") + prefix;
  if (const int i = s.Param((p + "y").c_str()); i > 0) s.Int(i, k.year);
  if (const int i = s.Param((p + "q").c_str()); i > 0) s.Int(i, k.quarter);
  if (const int i = s.Param((p + "t").c_str()); i > 0) s.Text(i, k.town_code);
  if (const int i = s.Param((p + "i").c_str()); i > 0) s.Int(i, k.id);
}

// The text of a column as a view of SQLite's own buffer (valid until the next step).
std::string_view ColView(const Stmt& s, int i) {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s.raw(), i));
  return p == nullptr ? std::string_view()
                      : std::string_view(p, static_cast<std::size_t>(sqlite3_column_bytes(s.raw(), i)));
}

// The response columns of a scan, in the order ScanPage::AddRow reads them (`r`: the responses table).
// Only the columns the query asks for are read; the others are constants.
std::string ScanColumns(const ResponseQuery& q) {
  return std::string(
             "r.id, r.survey_id, r.period_year, r.period_quarter, r.town_code, r.channel, r.respondent_key,"
             " r.weight, r.completion, ") +
         (q.include_provenance ? "r.submitted_at_ms, r.received_at_ms, r.source_ref, " : "0, 0, '', ") +
         (q.include_raw_payload ? "r.raw_payload" : "''");
}

// One page of a scan: its responses and answers, every text in one buffer (offsets, since the buffer
// grows while the page loads). Reused from page to page.
struct ScanPage {
  using Text = TextArena::Ref;
  struct Row {
    std::int64_t id = 0;
    Period period;
    Text town;
    Channel channel = Channel::kImport;
    Text respondent_key;
    double weight = 1;
    Completion completion = Completion::kComplete;
    std::int64_t submitted_at_ms = 0;
    std::int64_t received_at_ms = 0;
    Text source_ref;
    Text raw_payload;
    std::size_t answers_begin = 0;  // [begin, end) in `answers`
    std::size_t answers_end = 0;
  };
  TextArena text;
  std::vector<Row> rows;
  std::vector<TextArena::AnswerRef> answers;
  std::vector<AnswerView> answer_views;
  std::vector<std::pair<std::int64_t, std::size_t>> by_id;  // (id, row), sorted

  void Clear() {
    text.clear();
    rows.clear();
    answers.clear();
    by_id.clear();
  }
  Text Add(const Stmt& s, int column) { return text.Add(ColView(s, column)); }
  // Appends the response of the current row of a statement selecting ScanColumns().
  Status AddRow(const Stmt& s) {
    Row r;
    r.id = s.ColInt(0);
    r.period = {s.ColInt32(2), s.ColInt32(3)};
    r.town = Add(s, 4);
    const auto channel = ParseChannel(ColView(s, 5));
    if (!channel)
      return Status::Internal("sqlite: response " + std::to_string(r.id) + " has an unknown channel");
    r.channel = *channel;
    r.respondent_key = Add(s, 6);
    r.weight = s.ColDouble(7);
    r.completion = ColView(s, 8) == "partial" ? Completion::kPartial : Completion::kComplete;
    r.submitted_at_ms = s.ColInt(9);
    r.received_at_ms = s.ColInt(10);
    r.source_ref = Add(s, 11);
    r.raw_payload = Add(s, 12);
    r.answers_begin = r.answers_end = answers.size();
    rows.push_back(r);
    return Status::Ok();
  }
  std::string_view View(Text t) const { return text.View(t); }
  void MakeAnswerViews() {
    answer_views.resize(answers.size());
    for (std::size_t i = 0; i < answers.size(); ++i)
      answer_views[i] = {View(answers[i].question), View(answers[i].value)};
  }
  ResponseView ViewOf(const Row& row, std::string_view survey_id) const {
    ResponseView v;
    v.id = row.id;
    v.survey_id = survey_id;  // the scan's filter is equality on it
    v.period = row.period;
    v.town_code = View(row.town);
    v.channel = row.channel;
    v.respondent_key = View(row.respondent_key);
    v.weight = row.weight;
    v.answers = answer_views.data() + row.answers_begin;
    v.answer_count = row.answers_end - row.answers_begin;
    v.completion = row.completion;
    v.submitted_at_ms = row.submitted_at_ms;
    v.received_at_ms = row.received_at_ms;
    v.source_ref = View(row.source_ref);
    v.raw_payload = View(row.raw_payload);
    return v;
  }
};

// The statements of one Scan, on one connection.
struct ScanStatements {
  Stmt page;     // the next page of responses after :a (exclusive)
  Stmt answers;  // the answers of responses in (:a, :b]

  static Result<ScanStatements> Prepare(sqlite3* db, const ResponseQuery& q) {
    const std::string filter = ScanFilter(q);
    const std::string page_sql = "SELECT " + ScanColumns(q) + " FROM responses r WHERE " + filter +
                                 KeyBound(q, ">", "a") +
                                 " ORDER BY r.period_year, r.period_quarter, r.town_code, r.id LIMIT :limit";
    const std::string answers_sql =
        "SELECT a.response_id, a.question_code, a.value FROM responses r"
        " JOIN response_answers a ON a.response_id = r.id WHERE " +
        filter + KeyBound(q, ">", "a") + KeyBound(q, "<=", "b") +
        // In the page's own order: the planner then walks the index and each response's answers by
        // primary key, with no sort of the page's answers (a temporary B-tree that took half the time
        // of this statement). An answer's values stay in ordinal order, as Response::answers needs.
        " ORDER BY r.period_year, r.period_quarter, r.town_code, r.id, a.question_code, a.ordinal";
    ScanStatements out;
    auto page = Stmt::Prepare(db, page_sql);
    if (!page.ok()) return page.status();
    auto answers = Stmt::Prepare(db, answers_sql);
    if (!answers.ok()) return answers.status();
    out.page = std::move(page).value();
    out.answers = std::move(answers).value();
    return out;
  }

  // Loads the page after `after` into `page` (its buffers are reused: no allocation per response once
  // they have grown). Texts are copied from sqlite3_column_text straight into the page's one buffer.
  Status LoadPage(const ResponseQuery& q, const ScanKey& after, ScanPage* out) {
    out->Clear();
    {
      ResetOnExit reset(page);
      BindScanFilter(page, q);
      BindKey(page, "a", after);
      page.Int(page.Param(":limit"), internal::kScanPageSize);
      int rc;
      while ((rc = page.Step()) == SQLITE_ROW) MINYI_RETURN_IF_ERROR(out->AddRow(page));
      if (rc != SQLITE_DONE) return SqliteError(page.db(), rc, "scan responses");
    }
    if (out->rows.empty()) return Status::Ok();
    // The answers come in the page's order, so the next answer's response is almost always the current
    // row or the next one; a sorted id index finds the others (and skips responses appended since the
    // page was read, which may fall inside the range).
    auto& by_id = out->by_id;
    for (std::size_t i = 0; i < out->rows.size(); ++i) by_id.emplace_back(out->rows[i].id, i);
    std::sort(by_id.begin(), by_id.end());
    const ScanPage::Row& last = out->rows.back();
    ResetOnExit reset(answers);
    BindScanFilter(answers, q);
    BindKey(answers, "a", after);
    // Named, not a temporary: Stmt::Text binds without copying, so the town code must outlive Step().
    const ScanKey last_key{last.period.year, last.period.quarter, std::string(out->View(last.town)), last.id};
    BindKey(answers, "b", last_key);
    std::size_t current = 0;
    std::size_t previous = out->rows.size();  // the row of the previous answer
    int rc;
    while ((rc = answers.Step()) == SQLITE_ROW) {
      const std::int64_t id = answers.ColInt(0);
      if (out->rows[current].id != id) {
        if (current + 1 < out->rows.size() && out->rows[current + 1].id == id) {
          ++current;
        } else {
          const auto it = std::lower_bound(by_id.begin(), by_id.end(), std::make_pair(id, std::size_t{0}));
          if (it == by_id.end() || it->first != id) continue;
          current = it->second;
        }
      }
      ScanPage::Row& row = out->rows[current];
      if (current != previous) {
        if (row.answers_end != row.answers_begin) {
          return Status::Internal("sqlite: the answers of response " + std::to_string(id) +
                                  " came out of order");
        }
        row.answers_begin = row.answers_end = out->answers.size();
        previous = current;
      }
      out->answers.push_back({out->Add(answers, 1), out->Add(answers, 2)});
      row.answers_end = out->answers.size();
    }
    if (rc != SQLITE_DONE) return SqliteError(answers.db(), rc, "scan answers");
    return Status::Ok();
  }
};

}  // namespace

// The scan's paging: one page of responses and their answers at a time (kScanPageSize), each page's
// views visited outside any lock. Scan and ScanViews share it.
Status SqliteStore::ScanPages(const ResponseQuery& query,
                              const std::function<bool(const ResponseView&)>& visit) {
  if (query.survey_id.empty()) return Status::InvalidInput("Scan: survey_id is required");
  ScanPage page;
  ScanKey after;
  // Visits the loaded page; false when `visit` stopped the scan. The next page's key is taken first.
  const auto visit_page = [&]() {
    const ScanPage::Row& last = page.rows.back();
    after = {last.period.year, last.period.quarter, std::string(page.View(last.town)), last.id};
    page.MakeAnswerViews();
    for (const ScanPage::Row& row : page.rows) {
      if (!visit(page.ViewOf(row, query.survey_id))) return false;
    }
    return true;
  };

  if (impl_->in_memory) {
    // One connection: load each page under the write mutex, visit with it released.
    std::optional<ScanStatements> stmts;
    Status status;
    for (;;) {
      {
        std::lock_guard<std::mutex> lock(impl_->write_mu);
        if (!stmts) {
          auto prepared = ScanStatements::Prepare(impl_->db.get(), query);
          if (!prepared.ok()) return prepared.status();
          stmts.emplace(std::move(prepared).value());
        }
        status = stmts->LoadPage(query, after, &page);
        if (!status.ok() || page.rows.empty()) {
          stmts.reset();
          return status;
        }
      }
      if (!visit_page()) {
        std::lock_guard<std::mutex> lock(impl_->write_mu);
        stmts.reset();
        return Status::Ok();
      }
    }
  }

  // File database: a read-only connection in one read transaction (one WAL snapshot).
  auto reader = impl_->AcquireReader();
  if (!reader.ok()) return reader.status();
  DbPtr db = std::move(reader).value();
  Status status;
  {
    auto stmts = ScanStatements::Prepare(db.get(), query);
    if (!stmts.ok()) return stmts.status();
    auto tx = Transaction::Begin(db.get(), "BEGIN");
    if (!tx.ok()) return tx.status();
    for (;;) {
      status = stmts->LoadPage(query, after, &page);
      if (!status.ok() || page.rows.empty() || !visit_page()) break;
    }
  }
  if (status.ok()) impl_->ReleaseReader(std::move(db));
  return status;
}

Status SqliteStore::Scan(const ResponseQuery& query, const std::function<bool(Response&)>& visit) {
  return ScanPages(query, [&](const ResponseView& v) {
    Response r = v.ToResponse();
    return visit(r);
  });
}

Status SqliteStore::ScanViews(const ResponseQuery& query,
                              const std::function<bool(const ResponseView&)>& visit) {
  return ScanPages(query, visit);
}

}  // namespace minyi::sql
