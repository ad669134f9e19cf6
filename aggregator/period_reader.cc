#include "aggregator/period_reader.h"

#include <cmath>
#include <cstring>
#include <functional>
#include <string_view>

namespace minyi::aggregator {
namespace {

using IndexPlan = PeriodReader::IndexPlan;
using ItemPlan = PeriodReader::ItemPlan;
using OptionInfo = PeriodReader::OptionInfo;

// FNV-1a 64 (Fowler–Noll–Vo): cheap, deterministic, good enough to tell two response sets apart.
class Fnv64 {
 public:
  Fnv64() = default;
  explicit Fnv64(std::uint64_t state) : h_(state) {}
  void Bytes(const void* data, std::size_t size) {
    const unsigned char* p = static_cast<const unsigned char*>(data);
    for (std::size_t i = 0; i < size; ++i) {
      h_ ^= p[i];
      h_ *= 0x100000001b3ULL;
    }
  }
  void Text(std::string_view s) {
    Bytes(s.data(), s.size());
    const unsigned char sep = 0x1f;
    Bytes(&sep, 1);
  }
  std::uint64_t value() const { return h_; }

 private:
  std::uint64_t h_ = 0xcbf29ce484222325ULL;
};

// A code dictionary: few entries (a handful of sexes and age bands), so a linear search over
// string_views beats hashing and needs no allocation per lookup.
std::int32_t CodeId(std::vector<std::string>* dictionary, std::string_view code) {
  if (code.empty()) return kBlankCode;
  for (std::size_t i = 0; i < dictionary->size(); ++i) {
    if ((*dictionary)[i] == code) return static_cast<std::int32_t>(i);
  }
  dictionary->emplace_back(code);
  return static_cast<std::int32_t>(dictionary->size() - 1);
}

// The question slots one response fills: slot 0 sex, 1 age band, then every index item in plan order.
struct Slots {
  std::vector<std::string_view> questions;  // per slot
  std::vector<std::string_view> values;     // per slot, for the current response
};

// Translates one analysis row into what the estimation needs: its sex and age-band codes and, per
// index, the outcome (positive or not, or out of the domain) and the score; hashes the row into the
// town's hash (run.h). Shared by the PeriodData builder and the cell-sums builder, so both read the
// same respondents.
class RowTranslator {
 public:
  RowTranslator(const std::vector<IndexPlan>& plans, bool has_sex, bool has_age) : plans_(plans) {
    slots_.questions.push_back(has_sex ? std::string_view(kSexQuestion) : std::string_view());
    slots_.questions.push_back(has_age ? std::string_view(kAgeBandQuestion) : std::string_view());
    for (const IndexPlan& plan : plans_) {
      for (const ItemPlan& item : plan.items) slots_.questions.push_back(item.question);
    }
    slots_.values.resize(slots_.questions.size());
    positive_.resize(plans_.size());
    score_.resize(plans_.size());
  }

  std::int64_t unknown_codes() const { return unknown_codes_; }
  std::string_view sex() const { return slots_.values[0]; }
  std::string_view age() const { return slots_.values[1]; }
  const std::vector<std::uint8_t>& positive() const { return positive_; }
  const std::vector<double>& score() const { return score_; }

  Status Translate(const AnalysisRow& r, Fnv64* hash) {
    if (!std::isfinite(r.weight) || r.weight < 0 || r.weight > MaxPopulation(AreaLevel::kTown)) {
      return Status::InvalidInput("response " + std::to_string(r.response_id) + ": base weight " +
                                  PopulationFigureText(r.weight) + " must be finite and within 0.." +
                                  PopulationFigureText(MaxPopulation(AreaLevel::kTown)) +
                                  " (a respondent stands for at most a town's population cap)");
    }
    for (std::string_view& v : slots_.values) v = std::string_view();
    ForEachAnalysisCode(r.codes, [&](std::string_view question, std::string_view value) {
      for (std::size_t s = 0; s < slots_.questions.size(); ++s) {
        if (slots_.questions[s] == question) slots_.values[s] = value;
      }
    });
    Fnv64& h = *hash;
    h.Bytes(&r.response_id, sizeof r.response_id);
    std::uint64_t weight_bits = 0;
    std::memcpy(&weight_bits, &r.weight, sizeof weight_bits);
    h.Bytes(&weight_bits, sizeof weight_bits);
    h.Text(sex());
    h.Text(age());
    std::size_t slot = 2;
    for (std::size_t k = 0; k < plans_.size(); ++k) {
      const IndexPlan& plan = plans_[k];
      bool in_domain = true;
      bool positive = false;
      double score = 0;
      for (const ItemPlan& item : plan.items) {
        const std::string_view code = slots_.values[slot++];
        h.Text(code);
        const OptionInfo* o = nullptr;
        for (const OptionInfo& candidate : item.options) {
          if (candidate.code == code) {
            o = &candidate;
            break;
          }
        }
        if (!code.empty() && o == nullptr) ++unknown_codes_;
        if (o == nullptr || o->missing) {
          in_domain = false;
          continue;
        }
        positive = o->positive;
        score += item.weight * o->score;
      }
      positive_[k] = in_domain ? static_cast<std::uint8_t>(positive && plan.spec.has_share) : kOutOfDomain;
      score_[k] = in_domain ? score : 0.0;
    }
    return Status::Ok();
  }

 private:
  const std::vector<IndexPlan>& plans_;
  Slots slots_;
  std::int64_t unknown_codes_ = 0;
  std::vector<std::uint8_t> positive_;
  std::vector<double> score_;
};

class Builder {
 public:
  Builder(const std::vector<IndexPlan>& plans, bool has_sex, bool has_age, PeriodData* data)
      : translator_(plans, has_sex, has_age), data_(*data) {}

  std::int64_t unknown_codes() const { return translator_.unknown_codes(); }

  Status Add(const AnalysisRow& r) {
    if (data_.towns.empty() || data_.towns.back().code != r.town_code) {
      if (!data_.towns.empty() && r.town_code < data_.towns.back().code) {
        return Status::InvalidInput("responses of " + data_.period.ToString() +
                                    " are not ordered by town at response " + std::to_string(r.response_id));
      }
      CloseTown();
      TownData town;
      town.code = std::string(r.town_code);
      town.begin = static_cast<std::uint32_t>(data_.base_weight.size());
      town.end = town.begin;
      data_.towns.push_back(std::move(town));
    }
    MINYI_RETURN_IF_ERROR(translator_.Translate(r, &town_hash_));
    data_.towns.back().response_id_sum += r.response_id;
    data_.AddRespondent(r.weight, CodeId(&data_.sex_codes, translator_.sex()),
                        CodeId(&data_.age_codes, translator_.age()), translator_.positive(),
                        translator_.score());
    return Status::Ok();
  }

  void CloseTown() {
    if (!data_.towns.empty() && data_.towns.back().response_hash == 0) {
      data_.towns.back().response_hash = town_hash_.value();
    }
    town_hash_ = Fnv64{};
  }

 private:
  RowTranslator translator_;
  PeriodData& data_;
  Fnv64 town_hash_;
};

// A town's parents from the registry, or from its code's prefixes (with a warning) when the registry
// does not know it.
void ResolveParents(const AreaRegistry& areas, const std::string& code, const std::string& period_text,
                    std::string* county, std::string* city, std::string* province,
                    std::vector<std::string>* warnings) {
  const Area* area = areas.Find(code);
  const Area* c = area ? areas.Parent(code) : nullptr;
  const Area* ci = c ? areas.Parent(c->code) : nullptr;
  const Area* p = ci ? areas.Parent(ci->code) : nullptr;
  if (area && area->level == AreaLevel::kTown && c && ci && p) {
    *county = c->code;
    *city = ci->code;
    *province = p->code;
    return;
  }
  if (warnings != nullptr) {
    warnings->push_back(period_text + " town " + code +
                        ": not in the area registry; rolled up by its code prefixes");
  }
  *county = code.substr(0, 6);
  *city = code.substr(0, 4);
  *province = code.substr(0, 2);
}

// Adds one row to a town's cell sums; rows must come in ascending id order (the sums are then the
// same bits however the town was read, town_sums.h).
Status AddRow(RowTranslator* translator, const AnalysisRow& row, TownSums* sums) {
  if (sums->respondents > 0 && row.response_id <= sums->last_response_id) {
    return Status::Internal("town " + sums->code + ": response " + std::to_string(row.response_id) +
                            " read after response " + std::to_string(sums->last_response_id));
  }
  Fnv64 hash(sums->response_hash);
  const std::int64_t unknown_before = translator->unknown_codes();
  MINYI_RETURN_IF_ERROR(translator->Translate(row, &hash));
  sums->response_hash = hash.value();
  sums->unknown_codes += translator->unknown_codes() - unknown_before;
  sums->Add(row.response_id, row.weight, translator->sex(), translator->age(), translator->positive().data(),
            translator->score().data(), translator->positive().size());
  return Status::Ok();
}

}  // namespace

Result<PeriodReader> PeriodReader::Create(const SurveyDefinition& def) {
  PeriodReader reader;
  reader.survey_id_ = def.id;
  for (const IndexDefinition& index : def.indices) {
    IndexPlan plan;
    plan.spec.id = index.id;
    plan.spec.min_n = index.min_n;
    plan.spec.has_share = index.items.size() == 1 && !index.positive.empty();
    double weight_sum = 0;
    for (const IndexItem& item : index.items) weight_sum += item.weight;
    if (index.items.empty() || !(weight_sum > 0)) {
      return Status::InvalidInput("survey " + def.id + " index " + index.id +
                                  ": no items with positive weight");
    }
    for (const IndexItem& item : index.items) {
      const Question* q = def.FindQuestion(item.question);
      if (q == nullptr) {
        return Status::InvalidInput("survey " + def.id + " index " + index.id + ": item '" + item.question +
                                    "' is not a question");
      }
      ItemPlan ip;
      ip.question = item.question;
      ip.weight = item.weight / weight_sum;
      for (const Option& option : q->options) {
        OptionInfo info;
        info.code = option.code;
        const std::optional<double> score = def.Score(*q, option.code);
        info.missing = option.missing || !score.has_value();
        info.score = score.value_or(0);
        for (const std::string& p : index.positive) info.positive = info.positive || p == option.code;
        ip.options.push_back(info);
      }
      plan.items.push_back(std::move(ip));
    }
    reader.indices_.push_back(plan.spec);
    reader.plans_.push_back(std::move(plan));
  }
  const Question* sex = def.FindQuestion(kSexQuestion);
  const Question* age = def.FindQuestion(kAgeBandQuestion);
  reader.has_sex_ = sex != nullptr;
  reader.has_age_ = age != nullptr;
  // Seeding the dictionaries with the definition's options keeps code ids independent of the data
  // (the same ids whether a whole period or a single town is read).
  if (sex != nullptr) {
    for (const Option& o : sex->options) reader.sex_options_.push_back(o.code);
  }
  if (age != nullptr) {
    for (const Option& o : age->options) reader.age_options_.push_back(o.code);
  }
  return reader;
}

Result<PeriodReader::Read> PeriodReader::ReadPeriod(AnalysisSource& source, const Period& period,
                                                    const std::vector<std::string>* towns,
                                                    const PopulationTable& population,
                                                    const AreaRegistry& areas) const {
  Read out;
  PeriodData& data = out.data;
  data.period = period;
  data.indices = indices_;
  data.sex_codes = sex_options_;
  data.age_codes = age_options_;
  Builder builder(plans_, has_sex_, has_age_, &data);
  Status failure;
  auto visit = [&](const AnalysisRow& row) {
    ++out.responses;
    failure = builder.Add(row);
    return failure.ok();
  };
  AnalysisQuery query;
  query.survey_id = survey_id_;
  query.period = period;
  if (towns == nullptr) {
    MINYI_RETURN_IF_ERROR(source.ScanAnalysis(query, visit));
    MINYI_RETURN_IF_ERROR(failure);
  } else {
    for (const std::string& town : *towns) {
      query.town_code = town;
      MINYI_RETURN_IF_ERROR(source.ScanAnalysis(query, visit));
      MINYI_RETURN_IF_ERROR(failure);
    }
  }
  builder.CloseTown();

  const std::string period_text = period.ToString();
  if (builder.unknown_codes() > 0) {
    out.warnings.push_back(period_text + ": " + std::to_string(builder.unknown_codes()) +
                           " answers with option codes the question does not have (treated as missing)");
  }
  for (TownData& town : data.towns) {
    ResolveParents(areas, town.code, period_text, &town.county, &town.city, &town.province, &out.warnings);
    const TownMargins* m = population.Find(period.year, town.code);
    if (m == nullptr) continue;
    town.population.has_total = m->has_total;
    town.population.total = m->total;
    for (const auto& [code, n] : m->by_sex) {
      town.population.sex.push_back(MarginCell{CodeId(&data.sex_codes, code), n});
    }
    for (const auto& [code, n] : m->by_age_band) {
      town.population.age.push_back(MarginCell{CodeId(&data.age_codes, code), n});
    }
  }
  return out;
}

Status PeriodReader::ScanTownSums(AnalysisSource& source, const Period& period, const AreaRegistry& areas,
                                  const std::function<Status(TownSums&)>& town_done) const {
  RowTranslator translator(plans_, has_sex_, has_age_);
  const std::string period_text = period.ToString();
  TownSums town;
  Status failure;
  auto close = [&]() -> Status {
    if (town.respondents == 0) return Status::Ok();
    ResolveParents(areas, town.code, period_text, &town.county, &town.city, &town.province, nullptr);
    Status s = town_done(town);
    town = TownSums{};
    return s;
  };
  auto visit = [&](const AnalysisRow& row) {
    if (town.respondents > 0 && town.code != row.town_code) {
      if (row.town_code < town.code) {
        failure =
            Status::InvalidInput("responses of " + period_text + " are not ordered by town at response " +
                                 std::to_string(row.response_id));
        return false;
      }
      failure = close();
      if (!failure.ok()) return false;
    }
    if (town.respondents == 0) town.code = std::string(row.town_code);
    failure = AddRow(&translator, row, &town);
    return failure.ok();
  };
  AnalysisQuery query;
  query.survey_id = survey_id_;
  query.period = period;
  MINYI_RETURN_IF_ERROR(source.ScanAnalysis(query, visit));
  MINYI_RETURN_IF_ERROR(failure);
  return close();
}

Status PeriodReader::AddToTownSums(AnalysisSource& source, const Period& period, const AreaRegistry& areas,
                                   TownSums* sums) const {
  RowTranslator translator(plans_, has_sex_, has_age_);
  Status failure;
  AnalysisQuery query;
  query.survey_id = survey_id_;
  query.period = period;
  query.town_code = sums->code;
  query.after_response_id = sums->last_response_id;
  MINYI_RETURN_IF_ERROR(source.ScanAnalysis(query, [&](const AnalysisRow& row) {
    failure = AddRow(&translator, row, sums);
    return failure.ok();
  }));
  MINYI_RETURN_IF_ERROR(failure);
  ResolveParents(areas, sums->code, period.ToString(), &sums->county, &sums->city, &sums->province, nullptr);
  return Status::Ok();
}

}  // namespace minyi::aggregator
