#include "sql/mysql_store.h"

#include <cppconn/connection.h>
#include <cppconn/datatype.h>
#include <cppconn/exception.h>
#include <cppconn/prepared_statement.h>
#include <cppconn/resultset.h>
#include <cppconn/statement.h>
#include <mysql_driver.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <limits>
#include <map>
#include <mutex>
#include <numeric>
#include <thread>
#include <tuple>
#include <unordered_map>
#include <utility>

#include "sql/mysql_internal.h"
#include "sql/store_common.h"

namespace minyi::sql {

namespace {

using internal::ScanKey;

}  // namespace

MysqlStore::MysqlStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)), db_(MakeMysqlDb(*impl_)) {}

db::Db& MysqlStore::SqlDb() { return *db_; }

MysqlStore::~MysqlStore() = default;

Result<std::unique_ptr<MysqlStore>> MysqlStore::Open(const MysqlOptions& options) {
  if (!ValidDatabaseName(options.database)) {
    return Status::InvalidInput("mysql: database name '" + options.database + "' is not [A-Za-z0-9_]{1,64}");
  }
  if (options.pool_size < 1) return Status::InvalidInput("mysql: pool_size must be at least 1");
  if (options.connect_timeout_seconds < 1 || options.read_timeout_seconds < 1 ||
      options.write_timeout_seconds < 1) {
    return Status::InvalidInput("mysql: connect, read and write timeouts must be at least 1 s");
  }
  if (options.pool_wait_ms < 1) return Status::InvalidInput("mysql: pool_wait_ms must be at least 1");
  if (options.socket.empty() && (options.port <= 0 || options.port > 65535)) {
    return Status::InvalidInput("mysql: port " + std::to_string(options.port) + " is out of range");
  }
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  if (options.create_database) {
    auto bootstrap = impl->Connect(false);
    if (!bootstrap.ok()) return bootstrap.status();
    try {
      // The name is validated above; identifiers cannot be bound as parameters.
      (*bootstrap)->Execute("CREATE DATABASE IF NOT EXISTS `" + options.database +
                            "` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin");
    } catch (const ::sql::SQLException& e) {
      return FromException(e, "create database " + options.database);
    }
  }
  // One connection now, so that a wrong address, login or database fails Open, not the first use.
  auto first = impl->Acquire();
  if (!first.ok()) return first.status();
  impl->Release(std::move(first).value());
  return std::unique_ptr<MysqlStore>(new MysqlStore(std::move(impl)));
}

// ---------------------------------------------------------------------------------------------
// Responses

namespace {

// Inserts the answers of the response just inserted on this session: LAST_INSERT_ID() is its id
// (inserting answers assigns no auto-increment value, so it stays put across these statements).
void InsertAnswers(PooledConn& pc, const Response& r) {
  std::vector<std::tuple<const std::string*, int, const std::string*>> rows;
  for (const auto& [question, values] : r.answers) {
    for (std::size_t j = 0; j < values.size(); ++j) rows.emplace_back(&question, static_cast<int>(j), &values[j]);
  }
  for (std::size_t start = 0; start < rows.size(); start += kAnswerRowsPerInsert) {
    const std::size_t n = std::min(kAnswerRowsPerInsert, rows.size() - start);
    ::sql::PreparedStatement& ps = pc.Prepared(
        pc.insert_answers[n], "INSERT INTO response_answers (response_id, question_code, ordinal, value) VALUES " +
                                  Placeholders(n, "(LAST_INSERT_ID(), ?, ?, ?)"));
    std::uint32_t p = 1;
    for (std::size_t k = start; k < start + n; ++k) {
      ps.setString(p++, *std::get<0>(rows[k]));
      ps.setInt(p++, std::get<1>(rows[k]));
      ps.setString(p++, *std::get<2>(rows[k]));
    }
    ps.executeUpdate();
  }
}

}  // namespace

namespace {

constexpr std::size_t kResponseRowsPerInsert = 64;  // rows per multi-row response INSERT (fast path)

// "web\x1f<source_ref>": one map key per unique key (channel names contain no \x1f).
std::string RefKey(std::string_view channel, const std::string& source_ref) {
  std::string key(channel);
  key.push_back('\x1f');
  key += source_ref;
  return key;
}

// id and content hash of the stored rows among `positions`, by RefKey; one statement per channel
// and kIdChunk refs (the list is padded by repeating its first entry, so one prepared statement
// serves every chunk).
std::unordered_map<std::string, std::pair<std::int64_t, std::string>> LookUpRefs(
    PooledConn& pc, const std::vector<Response>& batch, const std::vector<std::size_t>& positions) {
  std::unordered_map<std::string, std::pair<std::int64_t, std::string>> found;
  ::sql::PreparedStatement& ps = pc.Prepared(
      pc.select_ids, "SELECT source_ref, id, content_hash FROM responses WHERE channel = ? AND source_ref IN (" +
                         Placeholders(kIdChunk, "?") + ")");
  for (Channel channel : AllChannels()) {
    std::vector<std::size_t> of_channel;
    for (std::size_t i : positions) {
      if (batch[i].channel == channel) of_channel.push_back(i);
    }
    const std::string name(ChannelName(channel));
    for (std::size_t start = 0; start < of_channel.size(); start += kIdChunk) {
      ps.setString(1, name);
      for (std::size_t k = 0; k < kIdChunk; ++k) {
        const std::size_t pos = start + k < of_channel.size() ? start + k : start;
        ps.setString(static_cast<std::uint32_t>(k + 2), batch[of_channel[pos]].source_ref);
      }
      std::unique_ptr<::sql::ResultSet> rs(ps.executeQuery());
      while (rs->next()) found[RefKey(name, Str(rs->getString(1)))] = {rs->getInt64(2), Str(rs->getString(3))};
    }
  }
  return found;
}

// A multi-row statement cached on the connection by row count (a handful of sizes in practice).
::sql::PreparedStatement& MultiRow(PooledConn& pc, std::map<std::size_t, std::unique_ptr<::sql::PreparedStatement>>& cache,
                                   const std::string& head, const char* row, std::size_t n) {
  auto it = cache.find(n);
  if (it != cache.end() && it->second) return *it->second;
  if (it == cache.end() && cache.size() >= 8) cache.clear();
  // Through PooledConn::Prepared, which fills an empty slot: a prepare that throws (on Galera, any
  // statement of a transaction another node's write aborted fails with 1213) leaves the slot empty,
  // and the retry prepares again. MultiRow used to return an empty slot it had made before a failed
  // prepare, and the retry dereferenced it (minyi crashed in galera_test's batched case).
  return pc.Prepared(cache[n], head + Placeholders(n, row));
}

// The fast path, a few round trips per batch: read which refs exist, insert the new ones with
// multi-row INSERTs, read their ids, insert all answers with multi-row INSERTs. A response stored
// by another transaction between the read and the insert makes the INSERT fail with 1062
// (duplicate key), which the caller answers by rolling back and taking the per-row path.
Status AppendBatched(PooledConn& pc, const std::vector<Response>& batch, const std::vector<std::string>& hashes,
                     const std::vector<std::size_t>& order, std::vector<AppendResult>& out) {
  const auto existing = LookUpRefs(pc, batch, order);
  std::vector<std::size_t> fresh;    // positions to insert, in key order
  std::vector<std::size_t> repeats;  // later occurrences of a fresh ref inside this batch
  std::unordered_map<std::string, std::size_t> first_of;
  for (std::size_t i : order) {
    const std::string key = RefKey(ChannelName(batch[i].channel), batch[i].source_ref);
    if (const auto it = existing.find(key); it != existing.end()) {
      out[i] = {it->second.second == hashes[i] ? AppendOutcome::kDuplicate : AppendOutcome::kConflict, it->second.first};
    } else if (first_of.count(key) != 0) {
      repeats.push_back(i);
    } else {
      first_of.emplace(key, i);
      fresh.push_back(i);
    }
  }
  for (std::size_t start = 0; start < fresh.size(); start += kResponseRowsPerInsert) {
    const std::size_t n = std::min(kResponseRowsPerInsert, fresh.size() - start);
    ::sql::PreparedStatement& ps = MultiRow(
        pc, pc.insert_responses,
        "INSERT INTO responses (survey_id, period_year, period_quarter, town_code, channel, respondent_key, weight,"
        " completion, submitted_at_ms, received_at_ms, source_ref, content_hash, raw_payload) VALUES ",
        "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", n);
    std::uint32_t p = 1;
    for (std::size_t k = start; k < start + n; ++k) {
      const Response& r = batch[fresh[k]];
      ps.setString(p++, r.survey_id);
      ps.setInt(p++, r.period.year);
      ps.setInt(p++, r.period.quarter);
      ps.setString(p++, r.town_code);
      ps.setString(p++, std::string(ChannelName(r.channel)));
      ps.setString(p++, r.respondent_key);
      ps.setDouble(p++, r.weight);
      ps.setString(p++, std::string(CompletionName(r.completion)));
      ps.setInt64(p++, r.submitted_at_ms);
      ps.setInt64(p++, r.received_at_ms);
      ps.setString(p++, r.source_ref);
      ps.setString(p++, hashes[fresh[k]]);
      ps.setString(p++, r.raw_payload);
    }
    ps.executeUpdate();
  }
  const auto inserted = LookUpRefs(pc, batch, fresh);
  for (std::size_t i : fresh) {
    const auto it = inserted.find(RefKey(ChannelName(batch[i].channel), batch[i].source_ref));
    if (it == inserted.end()) return Status::Internal("mysql: stored row " + batch[i].source_ref + " not found");
    out[i] = {AppendOutcome::kStored, it->second.first};
  }
  for (std::size_t i : repeats) {
    const std::size_t first = first_of.at(RefKey(ChannelName(batch[i].channel), batch[i].source_ref));
    out[i] = {hashes[i] == hashes[first] ? AppendOutcome::kDuplicate : AppendOutcome::kConflict, out[first].response_id};
  }
  struct AnswerRow {
    std::int64_t id;
    const std::string* question;
    int ordinal;
    const std::string* value;
  };
  std::vector<AnswerRow> rows;
  for (std::size_t i : fresh) {
    for (const auto& [question, values] : batch[i].answers) {
      for (std::size_t j = 0; j < values.size(); ++j) {
        rows.push_back({out[i].response_id, &question, static_cast<int>(j), &values[j]});
      }
    }
  }
  for (std::size_t start = 0; start < rows.size(); start += 4 * kAnswerRowsPerInsert) {
    const std::size_t n = std::min(4 * kAnswerRowsPerInsert, rows.size() - start);
    ::sql::PreparedStatement& ps =
        MultiRow(pc, pc.insert_answer_rows,
                 "INSERT INTO response_answers (response_id, question_code, ordinal, value) VALUES ", "(?, ?, ?, ?)", n);
    std::uint32_t p = 1;
    for (std::size_t k = start; k < start + n; ++k) {
      ps.setInt64(p++, rows[k].id);
      ps.setString(p++, *rows[k].question);
      ps.setInt(p++, rows[k].ordinal);
      ps.setString(p++, *rows[k].value);
    }
    ps.executeUpdate();
  }
  return Status::Ok();
}

}  // namespace

// The per-row path: each insert lets the unique key decide, so it is correct whatever other
// transactions do meanwhile.
Status AppendPerRow(PooledConn& pc, const std::vector<Response>& batch, const std::vector<std::string>& hashes,
                    const std::vector<std::size_t>& order, std::vector<AppendResult>& out) {
  ::sql::PreparedStatement& insert = pc.Prepared(pc.insert_response, kInsertResponseSql);
  ::sql::PreparedStatement& existing = pc.Prepared(pc.select_existing, kSelectExistingSql);
  std::vector<std::size_t> stored;  // input positions of the rows this batch inserted
  for (std::size_t i : order) {
    const Response& r = batch[i];
    insert.setString(1, r.survey_id);
    insert.setInt(2, r.period.year);
    insert.setInt(3, r.period.quarter);
    insert.setString(4, r.town_code);
    insert.setString(5, std::string(ChannelName(r.channel)));
    insert.setString(6, r.respondent_key);
    insert.setDouble(7, r.weight);
    insert.setString(8, std::string(CompletionName(r.completion)));
    insert.setInt64(9, r.submitted_at_ms);
    insert.setInt64(10, r.received_at_ms);
    insert.setString(11, r.source_ref);
    insert.setString(12, hashes[i]);
    insert.setString(13, r.raw_payload);
    // Affected rows: 1 inserted, 0 when the unique key already held the row (no-op update; the
    // connection does not set CLIENT_FOUND_ROWS).
    if (insert.executeUpdate() == 1) {
      InsertAnswers(pc, r);
      out[i].outcome = AppendOutcome::kStored;
      stored.push_back(i);
      continue;
    }
    existing.setString(1, std::string(ChannelName(r.channel)));
    existing.setString(2, r.source_ref);
    std::unique_ptr<::sql::ResultSet> rs(existing.executeQuery());
    if (!rs->next()) return Status::Internal("mysql: duplicate key for " + r.source_ref + " but no row found");
    out[i].response_id = rs->getInt64(1);
    out[i].outcome = Str(rs->getString(2)) == hashes[i] ? AppendOutcome::kDuplicate : AppendOutcome::kConflict;
  }
  const auto ids = LookUpRefs(pc, batch, stored);
  for (std::size_t i : stored) {
    const auto it = ids.find(RefKey(ChannelName(batch[i].channel), batch[i].source_ref));
    if (it == ids.end()) return Status::Internal("mysql: stored row " + batch[i].source_ref + " not found");
    out[i].response_id = it->second.first;
  }
  return Status::Ok();
}

Status MysqlStore::Append(const std::vector<Response>& batch, std::vector<AppendResult>* results) {
  // Hashing is the costliest per-row work that needs no database: do it before taking any lock.
  std::vector<std::string> hashes;
  hashes.reserve(batch.size());
  for (const Response& r : batch) hashes.push_back(r.ContentHash());
  return AppendHashed(batch, hashes, results);
}

Status MysqlStore::AppendHashed(const std::vector<Response>& batch, const std::vector<std::string>& hashes,
                              std::vector<AppendResult>* results) {
  if (results == nullptr) return Status::Internal("Append: results is null");
  results->clear();
  if (hashes.size() != batch.size()) return Status::InvalidInput("AppendHashed: one hash per response expected");
  MINYI_RETURN_IF_ERROR(internal::ValidateBatch(batch));
  if (batch.empty()) return Status::Ok();
  // Insert in key order so concurrent batches lock unique-index entries in the same order (fewer
  // deadlocks); the stable sort keeps the input order of repeats, so the first one is stored.
  std::vector<std::size_t> order(batch.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return std::forward_as_tuple(ChannelName(batch[a].channel), batch[a].source_ref) <
           std::forward_as_tuple(ChannelName(batch[b].channel), batch[b].source_ref);
  });

  std::vector<AppendResult> out(batch.size());
  // Idempotent: an attempt rolled back wrote nothing, and the next one sets every entry of `out` again.
  Status s = impl_->Run("append", Work::kIdempotent, [&](PooledConn& pc) -> Status {
    pc.conn->setAutoCommit(false);
    // Two responses or fewer: the per-row path needs no more round trips than the batched one.
    bool batched = batch.size() > 2;
    try {
      if (batched) MINYI_RETURN_IF_ERROR(AppendBatched(pc, batch, hashes, order, out));
    } catch (const ::sql::SQLException& e) {
      if (e.getErrorCode() != 1062) throw;
      spdlog::debug("mysql: a concurrent append stored a ref of this batch; appending it row by row");
      // Another transaction stored one of our refs after we looked: start over row by row.
      pc.Rollback();
      batched = false;
    }
    if (!batched) MINYI_RETURN_IF_ERROR(AppendPerRow(pc, batch, hashes, order, out));
    MINYI_RETURN_IF_ERROR(AppendAnalysisRows(pc, batch, out));
    Commit(pc);
    return Status::Ok();
  });
  if (!s.ok()) return s;
  *results = std::move(out);
  return Status::Ok();
}

namespace {

// The filter of a Scan, with the keyset bound written out (the row-constructor form is not
// optimized as a range on every server version).
std::string ScanFilter(const ResponseQuery& q) {
  std::string where = "r.survey_id = ?";
  if (q.period) where += " AND r.period_year = ? AND r.period_quarter = ?";
  if (q.town_code) where += " AND r.town_code = ?";
  return where;
}
constexpr const char* kAfter =
    " AND (r.period_year > ? OR (r.period_year = ? AND (r.period_quarter > ? OR (r.period_quarter = ? AND"
    " (r.town_code > ? OR (r.town_code = ? AND r.id > ?))))))";
constexpr const char* kUpTo =
    " AND (r.period_year < ? OR (r.period_year = ? AND (r.period_quarter < ? OR (r.period_quarter = ? AND"
    " (r.town_code < ? OR (r.town_code = ? AND r.id <= ?))))))";

std::uint32_t BindFilter(::sql::PreparedStatement& ps, const ResponseQuery& q) {
  std::uint32_t p = 1;
  ps.setString(p++, q.survey_id);
  if (q.period) {
    ps.setInt(p++, q.period->year);
    ps.setInt(p++, q.period->quarter);
  }
  if (q.town_code) ps.setString(p++, *q.town_code);
  return p;
}

std::uint32_t BindKey(::sql::PreparedStatement& ps, std::uint32_t p, const ScanKey& k) {
  ps.setInt(p++, k.year);
  ps.setInt(p++, k.year);
  ps.setInt(p++, k.quarter);
  ps.setInt(p++, k.quarter);
  ps.setString(p++, k.town_code);
  ps.setString(p++, k.town_code);
  ps.setInt64(p++, k.id);
  return p;
}

Status LoadPage(PooledConn& pc, const ResponseQuery& q, const ScanKey& after, std::vector<Response>* rows) {
  rows->clear();
  const std::string filter = ScanFilter(q);
  std::unique_ptr<::sql::PreparedStatement> page(pc.conn->prepareStatement(
      "SELECT r.id, r.survey_id, r.period_year, r.period_quarter, r.town_code, r.channel, r.respondent_key,"
      " r.weight, r.completion, " +
      std::string(q.include_provenance ? "r.submitted_at_ms, r.received_at_ms, r.source_ref, "
                                       : "0, 0, '', ") +
      (q.include_raw_payload ? "r.raw_payload" : "''") + " FROM responses r WHERE " + filter + kAfter +
      " ORDER BY r.period_year, r.period_quarter, r.town_code, r.id LIMIT ?"));
  std::uint32_t p = BindKey(*page, BindFilter(*page, q), after);
  page->setInt(p, internal::kScanPageSize);
  {
    std::unique_ptr<::sql::ResultSet> rs(page->executeQuery());
    while (rs->next()) {
      Response r;
      r.id = rs->getInt64(1);
      r.survey_id = Str(rs->getString(2));
      r.period = {rs->getInt(3), rs->getInt(4)};
      r.town_code = Str(rs->getString(5));
      const auto channel = ParseChannel(Str(rs->getString(6)));
      if (!channel) return Status::Internal("mysql: response " + std::to_string(r.id) + " has an unknown channel");
      r.channel = *channel;
      r.respondent_key = Str(rs->getString(7));
      r.weight = GetDouble(*rs, 8);
      r.completion = Str(rs->getString(9)) == "partial" ? Completion::kPartial : Completion::kComplete;
      r.submitted_at_ms = rs->getInt64(10);
      r.received_at_ms = rs->getInt64(11);
      r.source_ref = Str(rs->getString(12));
      r.raw_payload = Str(rs->getString(13));
      rows->push_back(std::move(r));
    }
  }
  if (rows->empty()) return Status::Ok();
  std::unordered_map<std::int64_t, std::size_t> by_id;
  by_id.reserve(rows->size());
  for (std::size_t i = 0; i < rows->size(); ++i) by_id.emplace((*rows)[i].id, i);
  const Response& last = rows->back();
  std::unique_ptr<::sql::PreparedStatement> answers(pc.conn->prepareStatement(
      "SELECT a.response_id, a.question_code, a.value FROM responses r JOIN response_answers a"
      " ON a.response_id = r.id WHERE " + filter + kAfter + kUpTo +
      " ORDER BY a.response_id, a.question_code, a.ordinal"));
  p = BindKey(*answers, BindFilter(*answers, q), after);
  BindKey(*answers, p, ScanKey{last.period.year, last.period.quarter, last.town_code, last.id});
  std::unique_ptr<::sql::ResultSet> rs(answers->executeQuery());
  while (rs->next()) {
    // Rows appended since the page was read may fall in the range: not in by_id, skipped.
    const auto it = by_id.find(rs->getInt64(1));
    if (it != by_id.end()) (*rows)[it->second].answers[Str(rs->getString(2))].push_back(Str(rs->getString(3)));
  }
  return Status::Ok();
}

}  // namespace

Status MysqlStore::Scan(const ResponseQuery& query, const std::function<bool(Response&)>& visit) {
  if (query.survey_id.empty()) return Status::InvalidInput("Scan: survey_id is required");
  std::vector<Response> rows;
  ScanKey after;
  for (;;) {
    // The connection goes back to the pool before visiting, so `visit` may use the store.
    MINYI_RETURN_IF_ERROR(impl_->Run("scan", Work::kIdempotent,
                                     [&](PooledConn& pc) { return LoadPage(pc, query, after, &rows); }));
    if (rows.empty()) return Status::Ok();
    const Response& last = rows.back();  // the next page's key, taken before `visit` may move from it
    after = {last.period.year, last.period.quarter, last.town_code, last.id};
    for (Response& r : rows) {
      if (!visit(r)) return Status::Ok();
    }
  }
}

}  // namespace minyi::sql
