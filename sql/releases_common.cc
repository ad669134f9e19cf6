#include "sql/releases_common.h"

#include <algorithm>

#include "sql/sql_store.h"
#include "sql/store_common.h"

namespace minyi::sql::releases {
namespace {

using db::Row;
using db::Tx;
using db::Value;
using db::Work;

constexpr std::size_t kManifestRowsPerInsert = 200;
constexpr std::size_t kMaxReasonChars = 255;
constexpr std::size_t kMaxTextChars = 191;

bool IsHex64(const std::string& s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

Status ValidateRecord(const ReleaseRecord& r) {
  if (r.survey_id.empty() || internal::Utf8Length(r.survey_id) > internal::kMaxSurveyIdChars) {
    return Status::InvalidInput("release: survey id must be 1 to 64 characters");
  }
  if (internal::Utf8Length(r.reason) > kMaxReasonChars) {
    return Status::InvalidInput("release: reason is longer than 255 characters");
  }
  for (const std::string* s : {&r.created_by, &r.definition_version, &r.code_version}) {
    if (internal::Utf8Length(*s) > kMaxTextChars) return Status::InvalidInput("release: a version or name is too long");
  }
  if (r.population_version.size() > 64) return Status::InvalidInput("release: population version too long");
  for (const std::string* h : {&r.manifest_hash, &r.content_hash, &r.id_salt}) {
    if (!h->empty() && !IsHex64(*h)) return Status::InvalidInput("release: hashes are 64 lower-case hex digits");
  }
  return Status::Ok();
}

constexpr const char* kColumns =
    "id, survey_id, period_year, period_quarter, revision, reason, created_by, frozen_at_ms, definition_version,"
    " code_version, population_version, response_count, manifest_hash, content_hash, id_salt";

ReleaseRecord FromRow(const Row& row, bool with_texts) {
  ReleaseRecord r;
  r.id = row.Int(0);
  r.survey_id = row.Text(1);
  r.period = {static_cast<int>(row.Int(2)), static_cast<int>(row.Int(3))};
  r.revision = static_cast<int>(row.Int(4));
  r.reason = row.Text(5);
  r.created_by = row.Text(6);
  r.frozen_at_ms = row.Int(7);
  r.definition_version = row.Text(8);
  r.code_version = row.Text(9);
  r.population_version = row.Text(10);
  r.response_count = row.Int(11);
  r.manifest_hash = row.Text(12);
  r.content_hash = row.Text(13);
  r.id_salt = row.Text(14);
  if (with_texts) {
    r.population_text = row.Text(15);
    r.indices_text = row.Text(16);
  }
  return r;
}

Result<std::string> StateOf(Tx& tx, std::int64_t release_id) {
  auto rows = tx.Query("SELECT state FROM releases WHERE id = ?", {release_id});
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return std::string();
  return rows->front().Text(0);
}

}  // namespace

Result<std::int64_t> Begin(db::Db& db, const ReleaseRecord& draft) {
  MINYI_RETURN_IF_ERROR(ValidateRecord(draft));
  std::int64_t id = 0;
  Status s = db.InTransaction("begin release", Work::kIdempotent, [&](Tx& tx) -> Status {
    auto inserted = tx.Execute(
        "INSERT INTO releases (survey_id, period_year, period_quarter, revision, state, reason, created_by,"
        " frozen_at_ms, definition_version, code_version, population_version, response_count, manifest_hash,"
        " content_hash, id_salt, population_text, indices_text) VALUES (?, ?, ?, NULL, 'building', ?, ?, ?, ?, ?, ?, 0,"
        " '', '', '', '', '')",
        {draft.survey_id, std::int64_t{draft.period.year}, std::int64_t{draft.period.quarter}, draft.reason,
         draft.created_by, draft.frozen_at_ms, draft.definition_version, draft.code_version,
         draft.population_version});
    if (!inserted.ok()) return inserted.status();
    auto last = tx.LastInsertId();
    if (!last.ok()) return last.status();
    id = last.value();
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return id;
}

Status AppendManifest(db::Db& db, std::int64_t release_id, const std::vector<ManifestEntry>& entries) {
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const ManifestEntry& e = entries[i];
    if (e.town_code.empty() || e.town_code.size() > internal::kMaxDemographicChars || e.response_id <= 0 ||
        !IsHex64(e.content_hash)) {
      return Status::InvalidInput("manifest entry " + std::to_string(i) +
                                  ": needs a town code, a positive response id and a 64-digit hex content hash");
    }
  }
  return db.InTransaction("append release manifest", Work::kIdempotent, [&](Tx& tx) -> Status {
    auto state = StateOf(tx, release_id);
    if (!state.ok()) return state.status();
    if (state.value() != "building") {
      return Status::Conflict("release " + std::to_string(release_id) + " is not being built");
    }
    for (std::size_t begin = 0; begin < entries.size(); begin += kManifestRowsPerInsert) {
      const std::size_t end = std::min(entries.size(), begin + kManifestRowsPerInsert);
      std::string sql = "INSERT INTO release_responses (release_id, town_code, response_id, content_hash) VALUES ";
      std::vector<Value> params;
      params.reserve((end - begin) * 4);
      for (std::size_t i = begin; i < end; ++i) {
        sql += i == begin ? "(?, ?, ?, ?)" : ", (?, ?, ?, ?)";
        params.emplace_back(release_id);
        params.emplace_back(entries[i].town_code);
        params.emplace_back(entries[i].response_id);
        params.emplace_back(entries[i].content_hash);
      }
      auto done = tx.Execute(sql, params);
      if (!done.ok()) {
        if (done.status().code() == StatusCode::kConflict) {
          return Status::InvalidInput("release manifest: a response is listed twice");
        }
        return done.status();
      }
    }
    return Status::Ok();
  });
}

Result<int> Finish(db::Db& db, const ReleaseRecord& record) {
  MINYI_RETURN_IF_ERROR(ValidateRecord(record));
  int revision = 0;
  Status s = db.InTransaction("finish release", Work::kIdempotent, [&](Tx& tx) -> Status {
    auto head = tx.Query("SELECT state, survey_id, period_year, period_quarter FROM releases WHERE id = ?", {record.id});
    if (!head.ok()) return head.status();
    if (head->empty() || head->front().Text(0) != "building") {
      return Status::Conflict("release " + std::to_string(record.id) + " is not being built");
    }
    const Row& h = head->front();
    auto count = tx.Query("SELECT COUNT(*) FROM release_responses WHERE release_id = ?", {record.id});
    if (!count.ok()) return count.status();
    if (count->front().Int(0) != record.response_count) {
      return Status::InvalidInput("release: response_count " + std::to_string(record.response_count) +
                                  " differs from the manifest's " + std::to_string(count->front().Int(0)) +
                                  " entries");
    }
    auto latest = tx.Query(
        "SELECT MAX(revision) FROM releases WHERE survey_id = ? AND period_year = ? AND period_quarter = ?"
        " AND state = 'frozen'",
        {h.Text(1), h.Int(2), h.Int(3)});
    if (!latest.ok()) return latest.status();
    revision = static_cast<int>(latest->front().Int(0)) + 1;
    if (revision >= 2 && record.reason.empty()) {
      return Status::InvalidInput("release: revision R" + std::to_string(revision) +
                                  " needs a reason (why the figures are frozen again)");
    }
    auto updated = tx.Execute(
        "UPDATE releases SET revision = ?, state = 'frozen', reason = ?, created_by = ?, frozen_at_ms = ?,"
        " definition_version = ?, code_version = ?, population_version = ?, response_count = ?, manifest_hash = ?,"
        " content_hash = ?, id_salt = ?, population_text = ?, indices_text = ? WHERE id = ? AND state = 'building'",
        {std::int64_t{revision}, record.reason, record.created_by, record.frozen_at_ms, record.definition_version,
         record.code_version, record.population_version, record.response_count, record.manifest_hash,
         record.content_hash, record.id_salt, record.population_text, record.indices_text, record.id});
    if (!updated.ok()) return updated.status();
    if (updated.value() != 1)
      return Status::Conflict("release " + std::to_string(record.id) + " changed meanwhile");
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return revision;
}

Status Abandon(db::Db& db, std::int64_t release_id) {
  return db.InTransaction("abandon release", Work::kIdempotent, [&](Tx& tx) -> Status {
    auto state = StateOf(tx, release_id);
    if (!state.ok()) return state.status();
    if (state.value().empty()) return Status::Ok();
    if (state.value() != "building") {
      return Status::Conflict("release " + std::to_string(release_id) + " is frozen and is never deleted");
    }
    auto a = tx.Execute("DELETE FROM release_responses WHERE release_id = ?", {release_id});
    if (!a.ok()) return a.status();
    auto b = tx.Execute("DELETE FROM releases WHERE id = ? AND state = 'building'", {release_id});
    return b.ok() ? Status::Ok() : b.status();
  });
}

Result<std::vector<ReleaseRecord>> List(db::Db& db, const std::string& survey_id) {
  std::vector<ReleaseRecord> out;
  Status s = db.InTransaction("list releases", Work::kIdempotent, [&](Tx& tx) -> Status {
    out.clear();  // a retried attempt starts afresh
    std::string sql = std::string("SELECT ") + kColumns + " FROM releases WHERE state = 'frozen'";
    std::vector<Value> params;
    if (!survey_id.empty()) {
      sql += " AND survey_id = ?";
      params.emplace_back(survey_id);
    }
    sql += " ORDER BY survey_id, period_year, period_quarter, revision";
    auto rows = tx.Query(sql, params);
    if (!rows.ok()) return rows.status();
    for (const Row& row : rows.value()) out.push_back(FromRow(row, false));
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return out;
}

Result<std::optional<ReleaseRecord>> Find(db::Db& db, const std::string& survey_id, const Period& period,
                                          int revision) {
  std::optional<ReleaseRecord> out;
  Status s = db.InTransaction("find release", Work::kIdempotent, [&](Tx& tx) -> Status {
    std::string sql = std::string("SELECT ") + kColumns +
                      ", population_text, indices_text FROM releases WHERE state = 'frozen' AND survey_id = ?"
                      " AND period_year = ? AND period_quarter = ?";
    std::vector<Value> params = {survey_id, std::int64_t{period.year}, std::int64_t{period.quarter}};
    if (revision > 0) {
      sql += " AND revision = ?";
      params.emplace_back(std::int64_t{revision});
    }
    sql += " ORDER BY revision DESC LIMIT 1";
    auto rows = tx.Query(sql, params);
    if (!rows.ok()) return rows.status();
    if (!rows->empty()) out = FromRow(rows->front(), true);
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return out;
}

Result<std::vector<ManifestEntry>> ManifestPage(db::Db& db, std::int64_t release_id, const ManifestKey& after,
                                                int limit) {
  std::vector<ManifestEntry> out;
  if (limit <= 0) return out;
  Status s = db.InTransaction("read release manifest", Work::kIdempotent, [&](Tx& tx) -> Status {
    out.clear();  // a retried attempt starts afresh
    // (town = ? AND id > ?) OR town > ?: two range seeks on the primary key.
    auto rows = tx.Query(
        "SELECT town_code, response_id, content_hash FROM release_responses WHERE release_id = ? AND"
        " ((town_code = ? AND response_id > ?) OR town_code > ?) ORDER BY town_code, response_id LIMIT ?",
        {release_id, after.town_code, after.response_id, after.town_code, std::int64_t{limit}});
    if (!rows.ok()) return rows.status();
    out.reserve(rows->size());
    for (const Row& row : rows.value()) out.push_back({row.Text(0), row.Int(1), row.Text(2)});
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return out;
}

}  // namespace minyi::sql::releases

namespace minyi::sql {

Result<std::int64_t> SqlStore::BeginRelease(const ReleaseRecord& draft) {
  return releases::Begin(SqlDb(), draft);
}
Status SqlStore::AppendManifest(std::int64_t release_id, const std::vector<ManifestEntry>& entries) {
  return releases::AppendManifest(SqlDb(), release_id, entries);
}
Result<int> SqlStore::FinishRelease(const ReleaseRecord& record) { return releases::Finish(SqlDb(), record); }
Status SqlStore::AbandonRelease(std::int64_t release_id) { return releases::Abandon(SqlDb(), release_id); }
Result<std::vector<ReleaseRecord>> SqlStore::ListReleases(const std::string& survey_id) {
  return releases::List(SqlDb(), survey_id);
}
Result<std::optional<ReleaseRecord>> SqlStore::FindRelease(const std::string& survey_id, const Period& period,
                                                           int revision) {
  return releases::Find(SqlDb(), survey_id, period, revision);
}
Result<std::vector<ManifestEntry>> SqlStore::ManifestPage(std::int64_t release_id, const ManifestKey& after,
                                                          int limit) {
  return releases::ManifestPage(SqlDb(), release_id, after, limit);
}

}  // namespace minyi::sql
