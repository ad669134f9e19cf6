// An in-memory store for collector unit tests: the ResponseSink idempotency contract of core/ports.h
// (one transaction per batch, (channel, source_ref) identity, duplicate vs conflict by content hash)
// and population cells keyed by (year, town, sex, age_band). Fault injection: fail_append_call /
// fail_upsert_call make the n-th call (0-based) fail with kUnavailable and commit nothing.
#pragma once

#include <map>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "core/ports.h"

namespace minyi::collector {

class FakeStore : public ResponseSink, public PopulationSource, public PopulationSink {
 public:
  Status Append(const std::vector<Response>& batch, std::vector<AppendResult>* results) override {
    batch_sizes.push_back(batch.size());
    if (static_cast<int>(batch_sizes.size()) - 1 == fail_append_call) return Status::Unavailable("disk full");
    std::map<std::pair<Channel, std::string>, std::pair<std::int64_t, std::string>> added;
    std::vector<Response> new_rows;
    results->clear();
    for (const Response& r : batch) {
      if (r.survey_id.empty() || r.town_code.empty() || r.source_ref.empty() || r.respondent_key.empty()) {
        return Status::InvalidInput("response lacks a required field");
      }
      const auto key = std::make_pair(r.channel, r.source_ref);
      const std::string hash = r.ContentHash();
      const std::pair<std::int64_t, std::string>* existing = nullptr;
      if (auto it = keys_.find(key); it != keys_.end()) {
        existing = &it->second;
      } else if (auto jt = added.find(key); jt != added.end()) {
        existing = &jt->second;
      }
      if (existing != nullptr) {
        results->push_back(
            {existing->second == hash ? AppendOutcome::kDuplicate : AppendOutcome::kConflict, existing->first});
        continue;
      }
      const std::int64_t id = static_cast<std::int64_t>(rows.size() + new_rows.size()) + 1;
      added.emplace(key, std::make_pair(id, hash));
      new_rows.push_back(r);
      new_rows.back().id = id;
      results->push_back({AppendOutcome::kStored, id});
    }
    keys_.insert(added.begin(), added.end());
    rows.insert(rows.end(), new_rows.begin(), new_rows.end());
    return Status::Ok();
  }

  Result<std::vector<PopulationCell>> LoadPopulation(int year) override {
    if (fail_load) return Status::Unavailable("cannot read");
    std::vector<PopulationCell> out;
    for (const auto& [key, value] : cells) {
      if (std::get<0>(key) == year) out.push_back({year, std::get<1>(key), std::get<2>(key), std::get<3>(key), value});
    }
    return out;
  }
  Result<std::string> PopulationVersion(int year) override { return std::to_string(year); }

  Status UpsertPopulation(const std::vector<PopulationCell>& batch) override {
    ++upsert_calls;
    if (upsert_calls - 1 == fail_upsert_call) return Status::Unavailable("disk full");
    for (const PopulationCell& c : batch) cells[{c.year, c.town_code, c.sex, c.age_band}] = c.population;
    return Status::Ok();
  }

  std::vector<Response> rows;
  std::vector<std::size_t> batch_sizes;
  int fail_append_call = -1;
  std::map<std::tuple<int, std::string, std::string, std::string>, double> cells;
  int upsert_calls = 0;
  int fail_upsert_call = -1;
  bool fail_load = false;

 private:
  std::map<std::pair<Channel, std::string>, std::pair<std::int64_t, std::string>> keys_;
};

}  // namespace minyi::collector
