// `minyi demo seed`: a deterministic SYNTHETIC data set for demos, dashboards and benchmarks.
//
// Every figure is invented. Responses carry source_ref "demo-<seed>-<n>" and a raw payload that says
// {"synthetic":true,...}; nothing in it describes real people or real towns' opinions — only the town
// codes are real (the 1,487 towns of the area registry).
//
// What it generates (years first_year..last_year, annual periods):
//  - population margins per town and year: a total (lognormal spread, streets larger than towns,
//    clamped to 8k..250k, scaled so the province holds about 85 million), slow yearly drift, and sex
//    and age-band cells that add up exactly to the total (so raking's "unknown" cells are empty);
//  - `responses` responses, spread over towns and years with varying sample sizes (some town-years
//    below 30, i.e. low_n), channels web / sms / wechat with web's share rising over the years;
//  - respondents skewed older and more female than the population, so weighting matters;
//  - per-town levels of the indices: the security positive share typically 95–99.5%, grid
//    satisfaction lower and more varied, a slow upward trend, ≈1.5% of towns dropping noticeably in one
//    year, ≈1.5% "no answer" options, and a short comment (from a fixed list of invented, generic
//    remarks; never names or phone numbers) on a few percent of responses;
//  - respondent keys: random hex, never phone numbers.
//
// Deterministic: the same options, definition and registry give the same responses (same content
// hashes) on every platform — it uses its own PRNG (splitmix64 / xoshiro256**) and only IEEE
// arithmetic (no std::*_distribution, no libm transcendental functions) for every draw.
// Re-seeding with the same seed is idempotent (every response comes back as a duplicate).
//
// The definition must have single-choice questions for each plain index (options best first, at most
// one missing option), and `sex` (male, female — the first two non-missing options) and `age_band`
// (youngest first) questions; a text question `comment` is optional.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include "core/areas.h"
#include "core/ports.h"
#include "core/status.h"
#include "core/survey.h"

namespace minyi::collector {

struct DemoOptions {
  std::uint64_t seed = 20250101;
  std::size_t responses = 1000000;
  int first_year = 2019;
  int last_year = 2025;
  std::size_t batch_size = 5000;  // responses per ResponseSink::Append
};

struct DemoSummary {
  std::size_t responses_stored = 0;
  std::size_t duplicates = 0;  // already there (re-seeding)
  std::size_t conflicts = 0;   // already there with other content (a different generator version)
  std::size_t towns = 0;
  int years = 0;
  std::size_t population_cells = 0;
};

// (responses written so far, responses in total); called after every batch.
using DemoProgress = std::function<void(std::size_t done, std::size_t total)>;

// Writes the population margins, then the responses. kInvalidInput when the definition lacks what is
// described above or the options are out of range (years 1990..2100, first ≤ last); a sink error is
// returned as it is (re-running is safe).
Result<DemoSummary> SeedDemo(const DemoOptions& options, const SurveyDefinition& survey, const AreaRegistry& areas,
                             ResponseSink& responses, PopulationSink& population, const DemoProgress& progress = {});

// Calls `visit` for every demo response in generation order without storing anything (for benchmarks
// and tests); stops early when `visit` returns false. Same validation as SeedDemo.
Status GenerateDemoResponses(const DemoOptions& options, const SurveyDefinition& survey, const AreaRegistry& areas,
                             const std::function<bool(const Response&)>& visit);

// The demo population margins (every cell of every town and year).
Result<std::vector<PopulationCell>> GenerateDemoPopulation(const DemoOptions& options, const SurveyDefinition& survey,
                                                           const AreaRegistry& areas);

}  // namespace minyi::collector
