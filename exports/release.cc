#include "exports/release.h"

#include <Poco/DigestEngine.h>
#include <Poco/SHA2Engine.h>

#include <algorithm>
#include <cctype>

#include "aggregator/aggregate.h"
#include "aggregator/period_reader.h"
#include "aggregator/town_model.h"
#include "core/analysis.h"
#include "core/population.h"
#include "exports/format.h"

namespace minyi::exports {
namespace {

constexpr std::size_t kManifestBatch = 10000;
constexpr std::string_view kBaselineKey = "#change_baseline\t";

// Reads the period's responses through ResponseSource::Scan (one pass, one snapshot where the backend
// offers one) and hands each to the aggregator as an AnalysisRow, recording the manifest on the way.
class FreezingSource final : public AnalysisSource {
 public:
  FreezingSource(ResponseSource& responses, ReleaseStore& releases, std::int64_t release_id,
                 const ProgressCallback& progress)
      : responses_(responses),
        releases_(releases),
        release_id_(release_id),
        progress_(progress),
        hash_(Poco::SHA2Engine::SHA_256) {}

  Status ScanAnalysis(const AnalysisQuery& query, const std::function<bool(const AnalysisRow&)>& visit) override {
    if (scanned_) return Status::Internal("freeze: the period was read twice");
    scanned_ = true;
    ResponseQuery rq;
    rq.survey_id = query.survey_id;
    rq.period = query.period;
    Status failure;
    std::string codes;
    MINYI_RETURN_IF_ERROR(responses_.Scan(rq, [&](const Response& r) {
      ManifestEntry entry{r.town_code, r.id, r.ContentHash()};
      const std::string line = entry.town_code + "\t" + std::to_string(entry.response_id) + "\t" + entry.content_hash + "\n";
      hash_.update(line.data(), static_cast<unsigned>(line.size()));
      batch_.push_back(std::move(entry));
      ++count_;
      if (batch_.size() >= kManifestBatch) {
        failure = Flush();
        if (!failure.ok()) return false;
      }
      codes = AnalysisCodes(r.answers);
      AnalysisRow row;
      row.response_id = r.id;
      row.town_code = r.town_code;
      row.weight = r.weight;
      row.codes = codes;
      return visit(row);
    }));
    MINYI_RETURN_IF_ERROR(failure);
    return Flush();
  }
  Result<std::vector<SurveyPeriod>> AnalysisPeriods() override { return Status::Internal("not used by a freeze"); }
  Result<std::vector<TownActivity>> TownActivitySince(std::int64_t) override {
    return Status::Internal("not used by a freeze");
  }

  std::int64_t count() const { return count_; }
  std::string ManifestHash() { return Poco::DigestEngine::digestToHex(hash_.digest()); }

 private:
  Status Flush() {
    if (batch_.empty()) return Status::Ok();
    Status s = releases_.AppendManifest(release_id_, batch_);
    batch_.clear();
    if (s.ok() && progress_) progress_(static_cast<std::uint64_t>(count_), 0);
    return s;
  }

  ResponseSource& responses_;
  ReleaseStore& releases_;
  std::int64_t release_id_;
  const ProgressCallback& progress_;
  Poco::SHA2Engine hash_;
  std::vector<ManifestEntry> batch_;
  std::int64_t count_ = 0;
  bool scanned_ = false;
};

Result<std::vector<IndexRow>> PreviousRows(const std::string& survey_id, const Period& previous,
                                           IndexSource& live, ReleaseStore& releases, std::string* baseline) {
  auto frozen = releases.FindRelease(survey_id, previous, 0);
  if (!frozen.ok()) return frozen.status();
  if (frozen->has_value()) {
    *baseline = "release " + (*frozen)->Label() + " of " + previous.ToString();
    return DecodeIndexRows((*frozen)->indices_text);
  }
  IndexQuery q;
  q.survey_id = survey_id;
  q.period = previous;
  auto rows = live.ReadIndexRows(q);
  if (!rows.ok()) return rows.status();
  *baseline = rows->empty() ? "none" : "live figures of " + previous.ToString() + " at freezing";
  return rows;
}

}  // namespace

std::optional<int> ParseReleaseSelector(const std::string& text) {
  if (text == "latest") return 0;
  std::string digits = text;
  if (!digits.empty() && (digits[0] == 'R' || digits[0] == 'r')) digits = digits.substr(1);
  if (digits.empty() || digits.size() > 6 ||
      !std::all_of(digits.begin(), digits.end(), [](unsigned char c) { return std::isdigit(c) != 0; })) {
    return std::nullopt;
  }
  const int n = std::stoi(digits);
  if (n <= 0) return std::nullopt;
  return n;
}

std::string ReleaseContentText(const ReleaseRecord& r) {
  return "minyi release 1\nsurvey\t" + r.survey_id + "\nperiod\t" + r.period.ToString() + "\nreason\t" + r.reason +
         "\ncreated_by\t" + r.created_by + "\nfrozen_at_ms\t" + std::to_string(r.frozen_at_ms) +
         "\ndefinition_version\t" + r.definition_version + "\ncode_version\t" + r.code_version +
         "\npopulation_version\t" + r.population_version + "\nresponse_count\t" + std::to_string(r.response_count) +
         "\nmanifest_hash\t" + r.manifest_hash + "\nid_salt\t" + r.id_salt + "\npopulation\n" + r.population_text +
         "indices\n" + r.indices_text;
}

std::string ChangeBaseline(const ReleaseRecord& record) {
  const std::string_view text = record.indices_text;
  if (text.substr(0, kBaselineKey.size()) != kBaselineKey) return "none";
  const std::size_t end = text.find('\n');
  return std::string(text.substr(kBaselineKey.size(), end - kBaselineKey.size()));
}

Result<FreezeResult> FreezeRelease(const FreezeOptions& options, ResponseSource& responses,
                                   PopulationSource& population, IndexSource& live_indices, ReleaseStore& releases,
                                   const SurveyCatalog& catalog, const AreaRegistry& areas) {
  auto def = catalog.Find(options.survey_id);
  if (!def) return Status::NotFound("no survey definition '" + options.survey_id + "'");
  auto latest = releases.FindRelease(options.survey_id, options.period, 0);
  if (!latest.ok()) return latest.status();
  if (latest->has_value() && options.reason.empty()) {
    return Status::InvalidInput("reason: required — " + options.survey_id + " " + options.period.ToString() +
                                " already has release " + (*latest)->Label() +
                                "; a new revision must say why it is made (late responses, corrected margins)");
  }
  auto cells = population.LoadPopulation(options.period.year);
  if (!cells.ok()) return cells.status();
  auto population_version = population.PopulationVersion(options.period.year);
  if (!population_version.ok()) return population_version.status();
  auto table = PopulationTable::FromCells(cells.value());
  if (!table.ok()) return table.status().WithContext("population margins of " + std::to_string(options.period.year));
  auto reader = aggregator::PeriodReader::Create(*def);
  if (!reader.ok()) return reader.status();

  ReleaseRecord record;
  record.survey_id = options.survey_id;
  record.period = options.period;
  record.reason = options.reason;
  record.created_by = options.created_by;
  record.frozen_at_ms = options.now_ms > 0 ? options.now_ms : NowMillis();
  record.definition_version = def->version;
  record.code_version = options.code_version;
  record.population_version = population_version.value();
  record.id_salt = options.id_salt.empty() ? RandomHex(32) : options.id_salt;
  auto begun = releases.BeginRelease(record);
  if (!begun.ok()) return begun.status();
  record.id = begun.value();

  FreezeResult result;
  Status status = [&]() -> Status {
    FreezingSource source(responses, releases, record.id, options.progress);
    auto read = reader->ReadPeriod(source, options.period, nullptr, table.value(), areas);
    if (!read.ok()) return read.status();
    if (source.count() == 0) {
      return Status::InvalidInput("no responses stored for " + options.survey_id + " " + options.period.ToString());
    }
    record.response_count = source.count();
    record.manifest_hash = source.ManifestHash();
    result.warnings = read->warnings;
    aggregator::PeriodOptions compute;
    compute.threads = 2;
    auto computed = aggregator::AggregatePeriod(read->data, compute);
    if (!computed.ok()) return computed.status();
    std::vector<IndexRow> rows = std::move(computed->rows);
    for (const std::string& w : computed->warnings) result.warnings.push_back(w);
    for (IndexRow& r : rows) {
      r.survey_id = options.survey_id;
      r.definition_version = def->version;
      r.population_version = record.population_version;
      r.code_version = options.code_version;
      r.computed_at_ms = record.frozen_at_ms;
    }
    std::string baseline = "none";
    const Period previous{options.period.year - 1, options.period.quarter};
    std::vector<IndexRow> previous_rows;
    if (previous.year >= 1990) {
      auto prev = PreviousRows(options.survey_id, previous, live_indices, releases, &baseline);
      if (!prev.ok()) return prev.status();
      previous_rows = std::move(prev).value();
      aggregator::ApplyChange(previous_rows, &rows);
    }
    // The model-based town figures are frozen with the direct ones, fitted on the frozen rows; the
    // previous-year covariate comes from the change's baseline.
    MINYI_RETURN_IF_ERROR(
        aggregator::ApplySmallAreaModel(previous_rows, &rows, areas).WithContext("small-area model"));
    result.index_rows = static_cast<std::int64_t>(rows.size());
    record.population_text = EncodePopulation(cells.value());
    record.indices_text = std::string(kBaselineKey) + baseline + "\n" + EncodeIndexRows(rows);
    return Status::Ok();
  }();
  if (status.ok() && latest->has_value()) {
    const ReleaseRecord& last = **latest;
    if (last.manifest_hash == record.manifest_hash && last.population_version == record.population_version &&
        last.definition_version == record.definition_version) {
      MINYI_RETURN_IF_ERROR(releases.AbandonRelease(record.id));
      result.release = last;
      result.unchanged = true;
      return result;
    }
  }
  if (status.ok()) {
    record.content_hash = Sha256Hex(ReleaseContentText(record));
    auto revision = releases.FinishRelease(record);
    if (revision.ok()) {
      record.revision = revision.value();
      result.release = record;
      return result;
    }
    status = revision.status();
  }
  const Status abandoned = releases.AbandonRelease(record.id);
  if (!abandoned.ok()) return status.WithContext("abandoning the unfinished release also failed: " + abandoned.ToString());
  return status;
}

Result<IndexFigures> LoadIndexFigures(const std::string& survey_id, const Period& period, int revision,
                                      IndexSource& live_indices, ReleaseStore& releases) {
  IndexFigures figures;
  figures.survey_id = survey_id;
  figures.period = period;
  if (revision >= 0) {
    auto found = releases.FindRelease(survey_id, period, revision);
    if (!found.ok()) return found.status();
    if (!found->has_value()) {
      return Status::NotFound("no release " + (revision > 0 ? "R" + std::to_string(revision) : std::string("at all")) +
                              " of " + survey_id + " " + period.ToString() + " (minyi release list)");
    }
    figures.frozen = true;
    figures.release = std::move(**found);
    std::string_view text = figures.release.indices_text;
    if (text.substr(0, kBaselineKey.size()) == kBaselineKey) text.remove_prefix(text.find('\n') + 1);
    auto rows = DecodeIndexRows(text);
    if (!rows.ok()) return rows.status();
    figures.rows = std::move(rows).value();
    return figures;
  }
  IndexQuery q;
  q.survey_id = survey_id;
  q.period = period;
  auto rows = live_indices.ReadIndexRows(q);
  if (!rows.ok()) return rows.status();
  if (rows->empty()) {
    return Status::NotFound("no computed figures for " + survey_id + " " + period.ToString() + " (run minyi aggregate)");
  }
  figures.rows = std::move(rows).value();
  return figures;
}

}  // namespace minyi::exports
