#include "collector/demo.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <utility>
#include <vector>

#include "core/hex.h"

namespace minyi::collector {
namespace {

// ---------------------------------------------------------------------------------------------
// Portable randomness: splitmix64 to seed, xoshiro256** to draw (Blackman & Vigna), and draws built
// from IEEE-exact arithmetic only, so every platform produces the same data.

std::uint64_t SplitMix64(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

std::uint64_t Mix(std::uint64_t a, std::uint64_t b) {
  std::uint64_t state = a ^ (b * 0xD6E8FEB86659FD93ULL);
  SplitMix64(state);
  return SplitMix64(state);
}

class Rng {
 public:
  explicit Rng(std::uint64_t seed) {
    for (auto& word : s_) word = SplitMix64(seed);
  }

  std::uint64_t Next() {
    const std::uint64_t result = Rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = Rotl(s_[3], 45);
    return result;
  }
  // Uniform in [0, 1) with 53 random bits.
  double Uniform() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }
  // Approximately standard normal: the Irwin–Hall sum of 12 uniforms (bounded at ±6; plenty for
  // synthetic spreads, and exact arithmetic).
  double Normal() {
    double sum = 0;
    for (int i = 0; i < 12; ++i) sum += Uniform();
    return sum - 6.0;
  }
  bool Chance(double p) { return Uniform() < p; }
  // Uniform integer in [0, n); n > 0.
  std::size_t Below(std::size_t n) { return static_cast<std::size_t>((Next() >> 32) * n >> 32); }

 private:
  static std::uint64_t Rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  std::array<std::uint64_t, 4> s_{};
};

// e^x from basic arithmetic (range reduction by ln 2, Taylor series, exact scaling by 2^n), so the
// result does not depend on the platform's libm. Relative error ~1e-15 over the range used here.
double DetExp(double x) {
  constexpr double kLn2 = 0.6931471805599453;
  const double n = std::floor(x / kLn2 + 0.5);
  const double r = x - n * kLn2;
  double term = 1.0;
  double sum = 1.0;
  for (int k = 1; k < 22; ++k) {
    term *= r / k;
    sum += term;
  }
  return std::ldexp(sum, static_cast<int>(n));
}

double Logistic(double x) { return 1.0 / (1.0 + DetExp(-x)); }

double Round(double x) { return std::floor(x + 0.5); }

// Index of a draw from unnormalised weights.
std::size_t Pick(Rng& rng, const std::vector<double>& weights) {
  double total = 0;
  for (double w : weights) total += w;
  double u = rng.Uniform() * total;
  for (std::size_t i = 0; i + 1 < weights.size(); ++i) {
    if (u < weights[i]) return i;
    u -= weights[i];
  }
  return weights.size() - 1;
}

// Splits an integer total over shares so the parts are integers adding up exactly to the total.
std::vector<double> Apportion(double total, const std::vector<double>& shares) {
  double share_sum = 0;
  for (double s : shares) share_sum += s;
  std::vector<double> parts;
  double cumulative = 0;
  double previous = 0;
  for (double s : shares) {
    cumulative += s;
    const double upto = Round(total * cumulative / share_sum);
    parts.push_back(upto - previous);
    previous = upto;
  }
  parts.back() += total - previous;
  return parts;
}

// Invented, generic remarks (no names, no phone numbers, no real places).
const std::vector<std::string>& Comments() {
  static const std::vector<std::string> kComments = {
      "夜间照明不够，小区后面那条路很黑，希望加装路灯。",
      "电动车乱停乱放，楼道里充电很危险。",
      "晚上广场舞噪音太大，影响休息。",
      "网格员很负责，经常上门走访，点赞。",
      "希望网格员多来小区看看，平时很少见到。",
      "路口车速太快，建议增设减速带。",
      "小区监控有几个坏了，希望尽快修好。",
      "反映的问题处理得很及时，满意。",
      "外来人员进出小区没有登记，有点担心。",
      "电信诈骗宣传很有用，老人们都知道了。",
      "垃圾分类做得不错，环境比以前好多了。",
      "希望多组织一些平安知识讲座。",
      "夜里有人在河边钓鱼，安全隐患大。",
      "网格员换得太勤，不知道该找谁。",
      "楼下商铺油烟和噪音扰民。",
      "巡逻比以前多了，晚上出门放心。",
      "电动车被偷过一次，希望加强车棚管理。",
      "学校门口上下学时段交通秩序有待改善。",
  };
  return kComments;
}

// ---------------------------------------------------------------------------------------------
// The survey shape the generator needs, taken from the definition.

struct IndexPlan {
  const Question* question = nullptr;
  std::vector<std::string> positive;  // codes, best first
  std::vector<std::string> negative;  // non-missing codes outside the positive set, best first
  std::string missing;                // code of the no-answer option; empty if none
};

struct Plan {
  std::vector<IndexPlan> indices;
  std::string male, female;
  std::vector<std::string> age_bands;     // youngest first
  const Question* comment = nullptr;      // optional text question
  std::vector<const Question*> other_required;  // answered at random
};

std::vector<std::string> NonMissing(const Question& q) {
  std::vector<std::string> codes;
  for (const Option& o : q.options) {
    if (!o.missing) codes.push_back(o.code);
  }
  return codes;
}

Result<Plan> MakePlan(const SurveyDefinition& survey) {
  Plan plan;
  std::vector<std::string> used;
  for (const IndexDefinition& index : survey.indices) {
    if (index.IsComposite() || index.items.empty()) continue;
    const Question* q = survey.FindQuestion(index.items.front().question);
    if (q == nullptr || q->type != QuestionType::kSingle) {
      return Status::InvalidInput("demo: index " + index.id + " needs a single-choice question");
    }
    if (std::find(used.begin(), used.end(), q->code) != used.end()) continue;
    used.push_back(q->code);
    IndexPlan ip;
    ip.question = q;
    for (const Option& o : q->options) {
      if (o.missing) {
        if (ip.missing.empty()) ip.missing = o.code;
      } else if (std::find(index.positive.begin(), index.positive.end(), o.code) != index.positive.end()) {
        ip.positive.push_back(o.code);
      } else {
        ip.negative.push_back(o.code);
      }
    }
    if (ip.positive.empty()) return Status::InvalidInput("demo: index " + index.id + " has no positive option");
    plan.indices.push_back(std::move(ip));
  }
  if (plan.indices.empty()) return Status::InvalidInput("demo: survey " + survey.id + " has no plain index");

  const Question* sex = survey.FindQuestion(kSexQuestion);
  const Question* age = survey.FindQuestion(kAgeBandQuestion);
  if (sex == nullptr || NonMissing(*sex).size() < 2) {
    return Status::InvalidInput("demo: survey " + survey.id + " needs a `sex` question with two options");
  }
  if (age == nullptr || NonMissing(*age).empty()) {
    return Status::InvalidInput("demo: survey " + survey.id + " needs an `age_band` question");
  }
  plan.male = NonMissing(*sex)[0];
  plan.female = NonMissing(*sex)[1];
  plan.age_bands = NonMissing(*age);
  used.push_back(sex->code);
  used.push_back(age->code);
  const Question* comment = survey.FindQuestion("comment");
  if (comment != nullptr && comment->type == QuestionType::kText) {
    plan.comment = comment;
    used.push_back(comment->code);
  }
  for (const Question& q : survey.questions) {
    if (q.required && std::find(used.begin(), used.end(), q.code) == used.end()) plan.other_required.push_back(&q);
  }
  return plan;
}

// ---------------------------------------------------------------------------------------------
// Towns: stable characteristics, then per-year figures.

constexpr double kProvincePopulation = 85e6;
constexpr double kMinTown = 8000;
constexpr double kMaxTown = 250000;

struct TownModel {
  std::string code;
  std::uint64_t code_number = 0;
  double base_population = 0;  // first year
  double growth = 0;           // per year
  double male_share = 0.5;
  std::vector<double> age_weights;  // unnormalised, first year
  double older_drift = 0;           // yearly growth of the oldest band's weight
  std::vector<double> levels;       // per index, logit of the positive share in the first year
  int drop_year = 0;                // 0: none
  double drop = 0;                  // logit drop in that year
  double propensity = 1;            // relative number of responses
};

std::uint64_t CodeNumber(const std::string& code) {
  std::uint64_t n = 0;
  for (char c : code) n = n * 10 + static_cast<std::uint64_t>(c >= '0' && c <= '9' ? c - '0' : 0);
  return n;
}

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::vector<TownModel> MakeTowns(const DemoOptions& options, const Plan& plan, const AreaRegistry& areas) {
  std::vector<TownModel> towns;
  double raw_total = 0;
  const std::size_t bands = plan.age_bands.size();
  for (const Area* area : areas.Towns()) {
    TownModel t;
    t.code = area->code;
    t.code_number = CodeNumber(area->code);
    const bool street = EndsWith(area->name, "街道");
    Rng rng(Mix(options.seed, t.code_number));
    t.base_population = DetExp((street ? 0.45 : 0.0) + 0.6 * rng.Normal());
    raw_total += t.base_population;
    t.growth = (street ? 0.010 : -0.002) + 0.006 * rng.Normal();
    t.male_share = 0.505 + 0.008 * rng.Normal();
    for (std::size_t j = 0; j < bands; ++j) {
      double w = (j + 1 == bands && bands > 1) ? 1.6 : 1.0;
      if (j + 1 == bands && bands > 1) w *= street ? 0.85 : 1.2;
      t.age_weights.push_back(w * DetExp(0.15 * rng.Normal()));
    }
    t.older_drift = 0.015 + 0.005 * rng.Normal();
    const double z = rng.Normal();
    for (std::size_t k = 0; k < plan.indices.size(); ++k) {
      if (k == 0) {
        t.levels.push_back(3.66 + 0.45 * z);  // logit 0.975: security-like, high and tight
      } else {
        t.levels.push_back(1.99 + 0.6 * (0.5 * z + 0.866 * rng.Normal()));  // logit 0.88: grid-like
      }
    }
    const int years = options.last_year - options.first_year + 1;
    if (rng.Chance(0.015) && years > 1) {
      t.drop_year = options.first_year + 1 + static_cast<int>(rng.Below(static_cast<std::size_t>(years - 1)));
      t.drop = 1.2 + 0.6 * rng.Uniform();
    }
    t.propensity = DetExp(0.55 * rng.Normal());
    towns.push_back(std::move(t));
  }
  const double scale = raw_total > 0 ? kProvincePopulation / raw_total : 0;
  for (TownModel& t : towns) {
    t.base_population = Round(std::min(kMaxTown, std::max(kMinTown, t.base_population * scale)));
  }
  return towns;
}

struct TownYear {
  double total = 0;
  double male = 0, female = 0;
  std::vector<double> age;  // per band
};

TownYear Figures(const TownModel& t, int year_index) {
  TownYear f;
  double population = t.base_population;
  for (int i = 0; i < year_index; ++i) population *= 1.0 + t.growth;
  f.total = Round(population);
  f.male = Round(f.total * t.male_share);
  f.female = f.total - f.male;
  std::vector<double> weights = t.age_weights;
  double older = 1.0;
  for (int i = 0; i < year_index; ++i) older *= 1.0 + t.older_drift;
  if (weights.size() > 1) weights.back() *= older;
  f.age = Apportion(f.total, weights);
  return f;
}

Status CheckOptions(const DemoOptions& options, const AreaRegistry& areas) {
  if (options.first_year < 1990 || options.last_year > 2100 || options.first_year > options.last_year) {
    return Status::InvalidInput("demo: years must lie in 1990..2100 with first <= last");
  }
  if (areas.Towns().empty()) return Status::InvalidInput("demo: the area registry has no towns");
  return Status::Ok();
}

}  // namespace

Result<std::vector<PopulationCell>> GenerateDemoPopulation(const DemoOptions& options, const SurveyDefinition& survey,
                                                           const AreaRegistry& areas) {
  MINYI_RETURN_IF_ERROR(CheckOptions(options, areas));
  Result<Plan> plan = MakePlan(survey);
  if (!plan.ok()) return plan.status();
  const std::vector<TownModel> towns = MakeTowns(options, *plan, areas);
  std::vector<PopulationCell> cells;
  for (int year = options.first_year; year <= options.last_year; ++year) {
    for (const TownModel& t : towns) {
      const TownYear f = Figures(t, year - options.first_year);
      cells.push_back({year, t.code, "", "", f.total});
      for (std::size_t j = 0; j < plan->age_bands.size(); ++j) {
        cells.push_back({year, t.code, "", plan->age_bands[j], f.age[j]});
      }
      cells.push_back({year, t.code, plan->male, "", f.male});
      cells.push_back({year, t.code, plan->female, "", f.female});
    }
  }
  return cells;
}

Status GenerateDemoResponses(const DemoOptions& options, const SurveyDefinition& survey, const AreaRegistry& areas,
                             const std::function<bool(const Response&)>& visit) {
  MINYI_RETURN_IF_ERROR(CheckOptions(options, areas));
  Result<Plan> planned = MakePlan(survey);
  if (!planned.ok()) return planned.status();
  const Plan& plan = *planned;
  const std::vector<TownModel> towns = MakeTowns(options, plan, areas);
  const int years = options.last_year - options.first_year + 1;
  const std::size_t bands = plan.age_bands.size();

  // Sample sizes: propensity × a rising yearly volume × town-year noise, apportioned exactly.
  std::vector<double> shares;
  shares.reserve(towns.size() * static_cast<std::size_t>(years));
  for (int y = 0; y < years; ++y) {
    for (const TownModel& t : towns) {
      Rng rng(Mix(Mix(options.seed ^ 0x5A3B1E, t.code_number), static_cast<std::uint64_t>(y)));
      shares.push_back(t.propensity * (1.0 + 0.08 * y) * DetExp(0.25 * rng.Normal()));
    }
  }
  const std::vector<double> sizes =
      options.responses == 0 ? std::vector<double>(shares.size(), 0.0)
                             : Apportion(static_cast<double>(options.responses), shares);

  const std::string payload_prefix =
      "{\"synthetic\":true,\"generator\":\"minyi demo seed\",\"seed\":" + std::to_string(options.seed) + ",\"n\":";
  const std::string ref_prefix = "demo-" + std::to_string(options.seed) + "-";
  const std::vector<std::string>& comments = Comments();

  std::size_t n = 0;
  std::size_t slot = 0;
  Response r;
  r.survey_id = survey.id;
  r.weight = 1.0;
  r.completion = Completion::kComplete;
  for (int y = 0; y < years; ++y) {
    const int year = options.first_year + y;
    const Result<std::int64_t> year_start = ParseTimestamp(std::to_string(year) + "-01-01 00:00:00");
    if (!year_start.ok()) return year_start.status();
    // Channel mix: web grows from 35% (2019) to 75% (2025) at the expense of SMS and WeChat groups.
    const double f = std::min(1.0, std::max(0.0, (year - 2019) / 6.0));
    const std::vector<double> channel_weights = {0.35 + 0.40 * f, 0.45 - 0.30 * f, 0.20 - 0.10 * f};
    const std::array<Channel, 3> channels = {Channel::kWeb, Channel::kSms, Channel::kWechat};

    for (const TownModel& t : towns) {
      const auto count = static_cast<std::size_t>(sizes[slot++]);
      if (count == 0) continue;
      const TownYear fig = Figures(t, y);
      Rng rng(Mix(Mix(options.seed, t.code_number), static_cast<std::uint64_t>(year)));

      // Respondents: more women (odds × 1.4) and older people (up to e^0.9 ≈ 2.5 × the youngest band).
      const double female_pop = fig.total > 0 ? fig.female / fig.total : 0.5;
      const double p_female = female_pop * 1.4 / (female_pop * 1.4 + (1.0 - female_pop));
      std::vector<double> age_weights(bands);
      for (std::size_t j = 0; j < bands; ++j) {
        const double position = bands > 1 ? static_cast<double>(j) / static_cast<double>(bands - 1) : 0.5;
        age_weights[j] = fig.age[j] * DetExp(0.9 * position) + 1e-9;
      }
      std::vector<double> year_levels(plan.indices.size());
      for (std::size_t k = 0; k < plan.indices.size(); ++k) {
        year_levels[k] = t.levels[k] + (k == 0 ? 0.07 : 0.06) * y + 0.15 * rng.Normal() -
                         (year == t.drop_year ? t.drop * (k == 0 ? 1.0 : 0.8) : 0.0);
      }

      for (std::size_t i = 0; i < count; ++i, ++n) {
        r.answers.clear();
        r.town_code = t.code;
        r.period = Period{year, 0};
        r.channel = channels[Pick(rng, channel_weights)];
        const bool female = rng.Chance(p_female);
        const std::size_t band = Pick(rng, age_weights);
        const double position = bands > 1 ? static_cast<double>(band) / static_cast<double>(bands - 1) : 0.5;
        r.answers[std::string(kSexQuestion)] = {female ? plan.female : plan.male};
        r.answers[std::string(kAgeBandQuestion)] = {plan.age_bands[band]};

        bool unhappy = false;
        for (std::size_t k = 0; k < plan.indices.size(); ++k) {
          const IndexPlan& ip = plan.indices[k];
          std::string code;
          if (!ip.missing.empty() && rng.Chance(0.015)) {
            code = ip.missing;
          } else {
            const double logit = year_levels[k] + (k == 0 ? 0.35 : 0.5) * (position - 0.5) -
                                 (female && k == 0 ? 0.15 : 0.0);
            const bool positive = ip.negative.empty() || rng.Chance(Logistic(logit));
            const std::vector<std::string>& pool = positive ? ip.positive : ip.negative;
            std::vector<double> w(pool.size());
            double wk = 1.0;
            for (double& x : w) {
              x = wk;
              wk *= positive ? 0.75 : 0.7;
            }
            code = pool[Pick(rng, w)];
            unhappy = unhappy || !positive;
          }
          r.answers[ip.question->code] = {code};
        }
        for (const Question* q : plan.other_required) {
          if (q->type == QuestionType::kText) {
            r.answers[q->code] = {"（演示数据）"};
          } else {
            const std::vector<std::string> codes = NonMissing(*q);
            if (!codes.empty()) r.answers[q->code] = {codes[rng.Below(codes.size())]};
          }
        }
        if (plan.comment != nullptr && rng.Chance(unhappy ? 0.12 : 0.03)) {
          r.answers[plan.comment->code] = {comments[rng.Below(comments.size())]};
        }

        const auto day = static_cast<std::int64_t>(59 + rng.Below(272));          // March..November
        const auto second = static_cast<std::int64_t>(8 * 3600 + rng.Below(14 * 3600));  // 08:00..21:59
        r.submitted_at_ms = *year_start + (day * 86400 + second) * 1000;
        r.received_at_ms = r.submitted_at_ms + static_cast<std::int64_t>(1000 + rng.Below(600000));

        // Two 64-bit draws in hex, most significant byte first: 32 characters.
        const std::uint64_t hi = rng.Next();
        const std::uint64_t lo = rng.Next();
        unsigned char key[16];
        for (int b = 0; b < 8; ++b) {
          key[b] = static_cast<unsigned char>(hi >> (56 - 8 * b));
          key[8 + b] = static_cast<unsigned char>(lo >> (56 - 8 * b));
        }
        r.respondent_key.resize(2 * sizeof key);
        WriteHex(key, sizeof key, r.respondent_key.data());
        r.source_ref = ref_prefix + std::to_string(n);
        r.raw_payload = payload_prefix + std::to_string(n) + "}";
        if (!visit(r)) return Status::Ok();
      }
    }
  }
  return Status::Ok();
}

Result<DemoSummary> SeedDemo(const DemoOptions& options, const SurveyDefinition& survey, const AreaRegistry& areas,
                             ResponseSink& responses, PopulationSink& population, const DemoProgress& progress) {
  Result<std::vector<PopulationCell>> cells = GenerateDemoPopulation(options, survey, areas);
  if (!cells.ok()) return cells.status();
  DemoSummary summary;
  summary.towns = areas.Towns().size();
  summary.years = options.last_year - options.first_year + 1;

  // One transaction per year.
  std::vector<PopulationCell> year_cells;
  for (std::size_t i = 0; i < cells->size(); ++i) {
    year_cells.push_back((*cells)[i]);
    if (i + 1 == cells->size() || (*cells)[i + 1].year != (*cells)[i].year) {
      MINYI_RETURN_IF_ERROR(population.UpsertPopulation(year_cells));
      summary.population_cells += year_cells.size();
      year_cells.clear();
    }
  }

  const std::size_t batch_size = std::max<std::size_t>(options.batch_size, 1);
  std::vector<Response> batch;
  batch.reserve(batch_size);
  std::vector<AppendResult> results;
  std::size_t done = 0;
  Status failure;
  auto flush = [&]() -> bool {
    if (batch.empty()) return true;
    failure = responses.Append(batch, &results);
    if (!failure.ok()) {
      failure = Status(failure.code(), "demo: storing responses failed after " + std::to_string(done) +
                                           " were written: " + failure.message() + " (re-running is safe)");
      return false;
    }
    for (const AppendResult& result : results) {
      switch (result.outcome) {
        case AppendOutcome::kStored: ++summary.responses_stored; break;
        case AppendOutcome::kDuplicate: ++summary.duplicates; break;
        case AppendOutcome::kConflict: ++summary.conflicts; break;
      }
    }
    done += batch.size();
    batch.clear();
    if (progress) progress(done, options.responses);
    return true;
  };
  MINYI_RETURN_IF_ERROR(GenerateDemoResponses(options, survey, areas, [&](const Response& r) {
    batch.push_back(r);
    return batch.size() < batch_size || flush();
  }));
  if (!failure.ok()) return failure;
  if (!flush()) return failure;
  if (summary.conflicts > 0) {
    spdlog::warn("demo: {} responses conflict with stored ones (seeded by another generator version?)",
                 summary.conflicts);
  }
  return summary;
}

}  // namespace minyi::collector
