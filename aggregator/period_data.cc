#include "aggregator/period_data.h"

#include <cmath>

#include "core/population.h"

namespace minyi::aggregator {

void PeriodData::AddRespondent(double d, std::int32_t sex_code, std::int32_t age_code,
                               const std::vector<std::uint8_t>& positive_values,
                               const std::vector<double>& score_values) {
  base_weight.push_back(d);
  sex.push_back(sex_code);
  age.push_back(age_code);
  positive.insert(positive.end(), positive_values.begin(), positive_values.end());
  score.insert(score.end(), score_values.begin(), score_values.end());
  if (!towns.empty()) towns.back().end = static_cast<std::uint32_t>(base_weight.size());
}

Status PeriodData::Validate() const {
  const std::size_t n = base_weight.size();
  const std::size_t k = indices.size();
  if (n > 0xffffffffULL) return Status::InvalidInput("period data: more than 2^32 respondents");
  if (sex.size() != n || age.size() != n || positive.size() != n * k || score.size() != n * k) {
    return Status::InvalidInput("period data: respondent arrays of different lengths");
  }
  std::uint32_t expected_begin = 0;
  for (std::size_t t = 0; t < towns.size(); ++t) {
    const TownData& town = towns[t];
    if (t > 0 && !(towns[t - 1].code < town.code)) {
      return Status::InvalidInput("period data: towns not in ascending code order at " + town.code);
    }
    if (town.begin != expected_begin || town.end < town.begin || town.end > n) {
      return Status::InvalidInput("period data: town " + town.code + " has a bad respondent range");
    }
    expected_begin = town.end;
    const TownPopulation& pop = town.population;
    if (Status figure = ValidatePopulationFigure(pop.total, AreaLevel::kTown); !figure.ok()) {
      return Status::InvalidInput("period data: town " + town.code +
                                  " has a bad population total: " + figure.message());
    }
    for (const auto* cells : {&pop.sex, &pop.age}) {
      const std::size_t dict = cells == &pop.sex ? sex_codes.size() : age_codes.size();
      for (const MarginCell& cell : *cells) {
        Status figure = ValidatePopulationFigure(cell.population, AreaLevel::kTown);
        if (cell.code < 0 || static_cast<std::size_t>(cell.code) >= dict || !figure.ok()) {
          return Status::InvalidInput("period data: town " + town.code + " has a bad margin cell" +
                                      (figure.ok() ? std::string() : ": " + figure.message()));
        }
      }
    }
    if ((!pop.sex.empty() || !pop.age.empty()) && !pop.has_total) {
      return Status::InvalidInput("period data: town " + town.code + " has margins but no total");
    }
  }
  if (expected_begin != n) return Status::InvalidInput("period data: respondents outside every town");
  for (std::size_t i = 0; i < n; ++i) {
    if (!std::isfinite(base_weight[i]) || base_weight[i] < 0 ||
        base_weight[i] > MaxPopulation(AreaLevel::kTown)) {
      return Status::InvalidInput("period data: respondent " + std::to_string(i) + " has a bad base weight");
    }
    if (sex[i] < kBlankCode || (sex[i] >= 0 && static_cast<std::size_t>(sex[i]) >= sex_codes.size()) ||
        age[i] < kBlankCode || (age[i] >= 0 && static_cast<std::size_t>(age[i]) >= age_codes.size())) {
      return Status::InvalidInput("period data: respondent " + std::to_string(i) + " has a bad sex/age code");
    }
    for (std::size_t j = 0; j < k; ++j) {
      const std::uint8_t y = positive[i * k + j];
      if (y != kOutOfDomain && (y > 1 || !std::isfinite(score[i * k + j]))) {
        return Status::InvalidInput("period data: respondent " + std::to_string(i) + " has a bad outcome");
      }
    }
  }
  return Status::Ok();
}

}  // namespace minyi::aggregator
