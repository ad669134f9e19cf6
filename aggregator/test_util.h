// Small builders shared by the aggregator's unit tests.
#pragma once

#include <string>
#include <vector>

#include "aggregator/period_data.h"

namespace minyi::aggregator::testing {

// A period with one index ("security", positive = answer 1) and sex codes {"m","f"}, age codes
// {"a1","a2","a3"}.
inline PeriodData OneIndexPeriod() {
  PeriodData data;
  data.period = Period{2024, 0};
  data.indices = {IndexSpec{"security", 30, true}};
  data.sex_codes = {"m", "f"};
  data.age_codes = {"a1", "a2", "a3"};
  return data;
}

// Starts a new town (respondents added after this call belong to it).
inline TownData& AddTown(PeriodData* data, const std::string& code, double total = 0, bool has_total = true) {
  TownData town;
  town.code = code;
  town.county = code.substr(0, 6);
  town.city = code.substr(0, 4);
  town.province = code.substr(0, 2);
  town.population.has_total = has_total;
  town.population.total = total;
  town.begin = static_cast<std::uint32_t>(data->base_weight.size());
  town.end = town.begin;
  data->towns.push_back(town);
  return data->towns.back();
}

// A respondent of the one-index period: y = 1, 0 or -1 (missing); score 100·y unless given.
inline void Add(PeriodData* data, double d, int y, std::int32_t sex = kBlankCode, std::int32_t age = kBlankCode,
                double score = -1) {
  const std::uint8_t pos = y < 0 ? kOutOfDomain : static_cast<std::uint8_t>(y);
  data->AddRespondent(d, sex, age, {pos}, {score >= 0 ? score : (y > 0 ? 100.0 : 0.0)});
}

}  // namespace minyi::aggregator::testing
