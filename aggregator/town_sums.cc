#include "aggregator/town_sums.h"

#include <algorithm>

#include "aggregator/period_data.h"

namespace minyi::aggregator {

void TownSums::Add(std::int64_t response_id, double d, std::string_view sex, std::string_view age,
                   const std::uint8_t* positive, const double* score, std::size_t index_count) {
  auto [it, inserted] = cells.try_emplace({std::string(sex), std::string(age)});
  CellSums& cell = it->second;
  if (inserted) {
    cell.first = respondents;
    cell.indices.resize(index_count);
  }
  ++respondents;
  last_response_id = std::max(last_response_id, response_id);
  response_id_sum += response_id;
  ++cell.respondents;
  if (!(d > 0)) return;  // carried in the counts only: every sum is d-weighted (README, zero base weights)
  const double d2 = d * d;
  ++cell.weighted;
  cell.d.Add(d);
  cell.d2.Add(d2);
  for (std::size_t k = 0; k < index_count; ++k) {
    CellIndexSums& s = cell.indices[k];
    if (positive[k] == kOutOfDomain) {
      s.out_d.Add(d);
      s.out_d2.Add(d2);
      continue;
    }
    const double v = score[k];
    ++s.n;
    s.n_positive += positive[k];
    s.d.Add(d);
    s.d_s.Add(d * v);
    s.d_s2.Add(d * v * v);
    if (positive[k] != 0) {
      s.d_y.Add(d);
      s.d2_y1.Add(d2);
    } else {
      s.d2_y0.Add(d2);
    }
    // West (1979): exact when every value is equal (the update is then 0).
    s.s_weight += d2;
    const double delta = v - s.s_mean;
    s.s_mean += delta * d2 / s.s_weight;
    s.s_m2 += d2 * delta * (v - s.s_mean);
    s.score_min = std::min(s.score_min, v);
    s.score_max = std::max(s.score_max, v);
  }
}

std::size_t TownSums::ApproximateBytes() const {
  std::size_t bytes = sizeof(TownSums) + code.size() + county.size() + city.size() + province.size();
  for (const auto& [key, cell] : cells) {
    // A map node: the key's strings, the cell and the tree links.
    bytes += 64 + key.first.capacity() + key.second.capacity() + sizeof(CellSums) +
             cell.indices.capacity() * sizeof(CellIndexSums);
  }
  return bytes;
}

}  // namespace minyi::aggregator
