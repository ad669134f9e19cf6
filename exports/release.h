// Annual releases (issue 8): freezing a period's figures so that they can be published and exported
// again, byte for byte, whatever happens to the live data afterwards.
//
// A freeze reads every stored response of (survey, period) once, in (town, id) order, and from that one
// read both writes the manifest (response id and content hash of every response) and recomputes the
// indices through the aggregator (aggregator/period_reader.h + aggregate.h) — so the frozen figures are
// computed on exactly the frozen responses, with the year's population margins as they were at
// freezing (copied into the release), the definition's version and this build's code version. The
// weighting uses the aggregator's default options (raking on the sex / age-band margins, no
// trimming). The year-over-year change is taken against the latest frozen release of the previous
// period when there is one, else against the live figures of that period at freezing; the release
// records which ("change_baseline").
//
// Hashes: the manifest hash is SHA-256 over the lines "<town>\t<response id>\t<content hash>\n" in
// (town, id) order; the content hash is SHA-256 over a text holding every frozen field (see
// ReleaseContentText). Freezing when nothing changed since the latest revision (same manifest,
// margins and definition version) creates nothing and reports the latest revision.
//
// Thread safety: the functions are stateless; the ports are thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/areas.h"
#include "core/ports.h"
#include "core/progress.h"
#include "core/release_ports.h"
#include "core/status.h"
#include "core/survey.h"

namespace minyi::exports {

// A release selector as given on the command line: "R2", "r2", "2" → 2; "latest" → 0. nullopt for
// anything else.
std::optional<int> ParseReleaseSelector(const std::string& text);

struct FreezeOptions {
  std::string survey_id;
  Period period;
  std::string reason;        // required when the period already has a release
  std::string created_by;    // recorded: "cli:<user>" or a dashboard username
  std::string code_version;  // this build's version (cli/version.h)
  std::int64_t now_ms = 0;   // freezing time; 0 = now
  std::string id_salt;       // the respondent ids' salt; empty = random (tests fix it to compare files)
  // (responses read so far, 0: the total is not known) after every 10,000 responses and at the end of the
  // read; may be empty.
  ProgressCallback progress;
};

struct FreezeResult {
  ReleaseRecord release;  // the new release, or the latest one when `unchanged`
  bool unchanged = false;
  std::int64_t index_rows = 0;
  std::vector<std::string> warnings;  // from the aggregator (fallback towns, unknown codes, ...)
};

// Errors: kNotFound for an unknown survey; kInvalidInput when the period has no responses, the
// margins are inconsistent, or a reason is missing for a second revision; source and store failures
// are passed through. Nothing is left behind on failure (the building release is abandoned).
Result<FreezeResult> FreezeRelease(const FreezeOptions& options, ResponseSource& responses,
                                   PopulationSource& population, IndexSource& live_indices, ReleaseStore& releases,
                                   const SurveyCatalog& catalog, const AreaRegistry& areas);

// The text the content hash is computed over (every field of the record except id, revision and the
// hash itself).
std::string ReleaseContentText(const ReleaseRecord& record);

// "change_baseline" recorded in a release's indices text: "release R1 of 2024", "live figures of 2024
// at freezing" or "none".
std::string ChangeBaseline(const ReleaseRecord& record);

// Index figures of one (survey, period): a frozen release's or the live ones.
struct IndexFigures {
  std::string survey_id;
  Period period;
  bool frozen = false;
  ReleaseRecord release;       // when frozen (with its texts)
  std::vector<IndexRow> rows;  // ordered by (level, area, index) as stored
};

// revision < 0: the live figures (IndexSource); 0: the latest release; n: release Rn.
// kNotFound when there is no such release or no figures at all.
Result<IndexFigures> LoadIndexFigures(const std::string& survey_id, const Period& period, int revision,
                                      IndexSource& live_indices, ReleaseStore& releases);

}  // namespace minyi::exports
