#include "sql/store_common.h"

#include <Poco/DigestEngine.h>
#include <Poco/SHA2Engine.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

namespace minyi::sql::internal {

std::size_t Utf8Length(std::string_view s) {
  std::size_t n = 0;
  for (char c : s) {
    if ((static_cast<unsigned char>(c) & 0xC0U) != 0x80U) ++n;
  }
  return n;
}

namespace {

bool IsTownCode(std::string_view s) {
  if (s.size() != 9) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

Status CheckLength(std::string_view what, std::string_view value, std::size_t max, std::string_view where) {
  if (Utf8Length(value) > max) {
    return Status::InvalidInput(std::string(where) + ": " + std::string(what) + " is longer than " +
                                std::to_string(max) + " characters");
  }
  return Status::Ok();
}

Status CheckRequired(std::string_view what, std::string_view value, std::size_t max, std::string_view where) {
  if (value.empty()) return Status::InvalidInput(std::string(where) + ": " + std::string(what) + " is empty");
  return CheckLength(what, value, max, where);
}

}  // namespace

Status ValidateResponse(const Response& r, std::size_t position) {
  const std::string where =
      "response " + std::to_string(position) +
      (r.source_ref.empty() ? std::string() : " (source_ref " + r.source_ref.substr(0, 64) + ")");
  MINYI_RETURN_IF_ERROR(CheckRequired("survey_id", r.survey_id, kMaxSurveyIdChars, where));
  MINYI_RETURN_IF_ERROR(CheckRequired("source_ref", r.source_ref, kMaxKeyChars, where));
  MINYI_RETURN_IF_ERROR(CheckLength("respondent_key", r.respondent_key, kMaxKeyChars, where));
  if (r.town_code.empty()) return Status::InvalidInput(where + ": town_code is empty");
  if (!IsTownCode(r.town_code)) {
    return Status::InvalidInput(where + ": town_code '" + r.town_code.substr(0, 32) +
                                "' is not a 9-digit town code");
  }
  if (r.period.year <= 0) return Status::InvalidInput(where + ": period year is not set");
  if (r.period.quarter < 0 || r.period.quarter > 4) {
    return Status::InvalidInput(where + ": period quarter " + std::to_string(r.period.quarter) +
                                " is not 0..4");
  }
  if (!std::isfinite(r.weight) || r.weight < 0) {
    return Status::InvalidInput(where + ": weight must be a finite number >= 0");
  }
  for (const auto& [question, values] : r.answers) {
    MINYI_RETURN_IF_ERROR(CheckRequired("question code", question, kMaxQuestionCodeChars, where));
  }
  return Status::Ok();
}

ReviseResult DecideRevision(const SlotState& slot, const std::string& incoming_hash, const Response& incoming,
                            const RevisePolicy& policy) {
  ReviseResult result{ReviseOutcome::kStored, slot.current_id, Refusal::kNone};
  if (slot.has_current && slot.current_hash == incoming_hash) {
    result.outcome = ReviseOutcome::kDuplicate;
  } else if (slot.has_current && slot.current_town != incoming.town_code) {
    // Checked before the log: a log hit would say "duplicate", which tells the caller that another
    // town's slot once held this content.
    result = {ReviseOutcome::kRefused, slot.current_id, Refusal::kOtherTown};
  } else if (slot.hash_in_log) {
    result.outcome = ReviseOutcome::kDuplicate;
  } else if (!slot.has_current) {
    result.outcome = ReviseOutcome::kStored;
  } else if (!policy.allow_revisions) {
    result = {ReviseOutcome::kRefused, slot.current_id, Refusal::kRevisionNotAllowed};
  } else {
    result.outcome = incoming.submitted_at_ms >= slot.current_submitted_at_ms ? ReviseOutcome::kRevised
                                                                              : ReviseOutcome::kStale;
  }
  return result;
}

std::pair<std::string, std::string> TownSlotRange(std::string_view answer_ref) {
  return {TownSlot(answer_ref, "000000000"), TownSlot(answer_ref, "999999999")};
}

WithdrawOutcome CombineWithdrawals(const std::vector<WithdrawOutcome>& outcomes) {
  WithdrawOutcome combined = WithdrawOutcome::kNotFound;
  for (WithdrawOutcome o : outcomes) {
    if (o == WithdrawOutcome::kWithdrawn) return o;
    if (o == WithdrawOutcome::kAlreadyGone) combined = o;
  }
  return combined;
}

Status ValidateRevisionReason(std::string_view reason) {
  if (Utf8Length(reason) > kMaxReasonChars) {
    return Status::InvalidInput("revision reason: at most " + std::to_string(kMaxReasonChars) +
                                " characters");
  }
  return Status::Ok();
}

Result<std::vector<std::string>> StartRevisions(const std::vector<Response>& batch, std::string_view reason,
                                                std::vector<ReviseResult>* results) {
  if (results == nullptr) return Status::Internal("StoreRevisions: results is null");
  results->clear();
  MINYI_RETURN_IF_ERROR(ValidateBatch(batch));
  MINYI_RETURN_IF_ERROR(ValidateRevisionReason(reason));
  std::vector<std::string> hashes;
  hashes.reserve(batch.size());
  for (const Response& r : batch) hashes.push_back(r.ContentHash());
  return hashes;
}

Status ValidateBatch(const std::vector<Response>& batch) {
  for (std::size_t i = 0; i < batch.size(); ++i) MINYI_RETURN_IF_ERROR(ValidateResponse(batch[i], i));
  return Status::Ok();
}

Status ValidatePopulation(const std::vector<PopulationCell>& cells) {
  for (std::size_t i = 0; i < cells.size(); ++i) {
    const PopulationCell& c = cells[i];
    const std::string where = "population cell " + std::to_string(i);
    if (c.year <= 0) return Status::InvalidInput(where + ": year is not set");
    if (!IsTownCode(c.town_code)) {
      return Status::InvalidInput(where + ": town_code '" + c.town_code.substr(0, 32) +
                                  "' is not a 9-digit town code");
    }
    MINYI_RETURN_IF_ERROR(CheckLength("sex", c.sex, kMaxDemographicChars, where));
    MINYI_RETURN_IF_ERROR(CheckLength("age_band", c.age_band, kMaxDemographicChars, where));
    if (!std::isfinite(c.population) || c.population < 0) {
      return Status::InvalidInput(where + ": population must be a finite number >= 0");
    }
  }
  return Status::Ok();
}

Status ValidateIndexRows(const std::vector<IndexRow>& rows) {
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const IndexRow& r = rows[i];
    const std::string where = "index row " + std::to_string(i);
    MINYI_RETURN_IF_ERROR(CheckRequired("survey_id", r.survey_id, kMaxSurveyIdChars, where));
    if (r.period.year <= 0) return Status::InvalidInput(where + ": period year is not set");
    if (r.period.quarter < 0 || r.period.quarter > 4)
      return Status::InvalidInput(where + ": period quarter is not 0..4");
    MINYI_RETURN_IF_ERROR(CheckRequired("level", r.level, kMaxDemographicChars, where));
    MINYI_RETURN_IF_ERROR(CheckRequired("area_code", r.area_code, kMaxDemographicChars, where));
    MINYI_RETURN_IF_ERROR(CheckRequired("index_id", r.index_id, kMaxSurveyIdChars, where));
    MINYI_RETURN_IF_ERROR(CheckLength("ci_method", r.ci_method, 32, where));
    MINYI_RETURN_IF_ERROR(CheckLength("weighting", r.weighting, 32, where));
    MINYI_RETURN_IF_ERROR(CheckLength("definition_version", r.definition_version, kMaxKeyChars, where));
    MINYI_RETURN_IF_ERROR(CheckLength("population_version", r.population_version, 64, where));
    MINYI_RETURN_IF_ERROR(CheckLength("response_hash", r.response_hash, 128, where));
    MINYI_RETURN_IF_ERROR(CheckLength("code_version", r.code_version, kMaxKeyChars, where));
    MINYI_RETURN_IF_ERROR(CheckLength("model_method", r.model_method, 16, where));
  }
  return Status::Ok();
}

Status ValidateMetaKey(const std::string& key) {
  return CheckRequired("meta key", key, kMaxKeyChars, "meta");
}

bool StoredAsValue(double v) { return std::isfinite(v); }

std::string PopulationFingerprint(const std::vector<PopulationCell>& cells) {
  if (cells.empty()) return "";
  Poco::SHA2Engine sha(Poco::SHA2Engine::SHA_256);
  char number[64];
  for (const PopulationCell& c : cells) {
    std::snprintf(number, sizeof number, "%.17g", c.population);
    const std::string line =
        std::to_string(c.year) + '\t' + c.town_code + '\t' + c.sex + '\t' + c.age_band + '\t' + number + '\n';
    sha.update(line);
  }
  return Poco::DigestEngine::digestToHex(sha.digest()).substr(0, 16);
}

std::string JoinSurveys(std::vector<std::string> surveys) {
  std::sort(surveys.begin(), surveys.end());
  surveys.erase(std::unique(surveys.begin(), surveys.end()), surveys.end());
  std::string out;
  for (const auto& s : surveys) out += (out.empty() ? "" : ",") + s;
  return out;
}

std::vector<std::string> SplitSurveys(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

}  // namespace minyi::sql::internal
