// Frozen annual releases (issue 8): the port through which exports/ keeps a release — the set of
// responses it covers (a manifest of ids and content hashes), the population margins and the index
// figures as they were when it was frozen — so that a published year can be exported again, byte for
// byte, however the live data changes afterwards.
//
// A release belongs to (survey, period) and has a revision number: R1 is the first freeze, R2, R3 ...
// later freezes (late responses, corrected margins), each with a reason. A frozen release never
// changes and is never deleted; every revision stays available.
//
// Freezing is done in steps so that memory does not grow with the number of responses: BeginRelease
// creates a release in state "building" (invisible to every reader), AppendManifest adds its responses
// in batches, FinishRelease assigns the revision number and freezes it in one transaction, and
// AbandonRelease removes a release that could not be finished. The store keeps the frozen figures and
// margins as text (`indices_text`, `population_text`) written by exports/: it never interprets them.
//
// Thread safety: implementations are safe to call from several threads at once.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/response.h"
#include "core/status.h"

namespace minyi {

struct ReleaseRecord {
  std::int64_t id = 0;     // assigned by BeginRelease
  std::string survey_id;
  Period period;
  int revision = 0;        // 1, 2, ...; assigned by FinishRelease (0 while building)
  std::string reason;      // why this revision was made; required from revision 2 on
  std::string created_by;  // the user or "cli:<login>" who froze it
  std::int64_t frozen_at_ms = 0;
  std::string definition_version;  // SurveyDefinition::version
  std::string code_version;        // the minyi version that computed the figures
  std::string population_version;  // PopulationSource::PopulationVersion of the year at freezing
  std::int64_t response_count = 0; // entries in the manifest
  std::string manifest_hash;       // hex SHA-256 over the manifest (exports/release.h defines the text)
  std::string content_hash;        // hex SHA-256 over everything frozen (manifest hash, versions, texts)
  // 64 hex digits, random at freezing: the key of the pseudonymous respondent ids in this release's
  // microdata (the same ids at every export of the release, unlinkable to other releases' ids).
  std::string id_salt;
  std::string population_text;     // the margin cells, canonical text (exports/)
  std::string indices_text;        // the index rows, canonical text (exports/)

  // "R1", "R2", ...
  std::string Label() const { return "R" + std::to_string(revision); }
};

// One response of a release: which stored response, and its content when frozen.
struct ManifestEntry {
  std::string town_code;
  std::int64_t response_id = 0;
  std::string content_hash;  // Response::ContentHash (64 hex digits)
};

// A position in manifest order (town, response id); the default is before the first entry.
struct ManifestKey {
  std::string town_code;
  std::int64_t response_id = 0;
};

class ReleaseStore {
 public:
  virtual ~ReleaseStore() = default;

  // Creates a release in state "building" from `draft` (survey, period, reason, created_by, versions;
  // the texts and hashes may still be empty). Returns its id. kInvalidInput for a missing survey id
  // or over-long fields.
  virtual Result<std::int64_t> BeginRelease(const ReleaseRecord& draft) = 0;

  // Adds entries to a building release's manifest, in one transaction. kInvalidInput for a malformed
  // entry or an entry already in the manifest; kConflict when the release is not building.
  virtual Status AppendManifest(std::int64_t release_id, const std::vector<ManifestEntry>& entries) = 0;

  // Freezes a building release: stores `record`'s fields (its id names the release; revision is
  // ignored) and gives it the next revision of its (survey, period), in one transaction. On OK
  // returns the revision. kInvalidInput when the revision would be 2 or more and `record.reason` is
  // empty, or when response_count differs from the manifest's size; kConflict when the release is not
  // building (already frozen or abandoned).
  virtual Result<int> FinishRelease(const ReleaseRecord& record) = 0;

  // Deletes a building release and its manifest. OK when it does not exist; kConflict when frozen.
  virtual Status AbandonRelease(std::int64_t release_id) = 0;

  // Frozen releases of a survey (every survey when empty), ordered by (survey, period, revision),
  // without population_text and indices_text.
  virtual Result<std::vector<ReleaseRecord>> ListReleases(const std::string& survey_id) = 0;

  // A frozen release with its texts; revision 0 = the latest. nullopt when there is none.
  virtual Result<std::optional<ReleaseRecord>> FindRelease(const std::string& survey_id, const Period& period,
                                                           int revision) = 0;

  // At most `limit` manifest entries after `after`, in (town, response id) order. Empty at the end.
  virtual Result<std::vector<ManifestEntry>> ManifestPage(std::int64_t release_id, const ManifestKey& after,
                                                          int limit) = 0;
};

}  // namespace minyi
