#include "core/revisions.h"

namespace minyi {

std::string_view ReviseOutcomeName(ReviseOutcome outcome) {
  switch (outcome) {
    case ReviseOutcome::kStored:
      return "stored";
    case ReviseOutcome::kDuplicate:
      return "duplicate";
    case ReviseOutcome::kRevised:
      return "revised";
    case ReviseOutcome::kStale:
      return "stale";
    case ReviseOutcome::kRefused:
      return "refused";
  }
  return "unknown";
}

std::string TownSlot(std::string_view answer_ref, std::string_view town_code) {
  std::string slot(answer_ref);
  slot += '@';
  slot += town_code;
  return slot;
}

std::string_view AnswerRefOf(std::string_view slot) {
  constexpr std::size_t kTownSuffix = 10;  // "@" + a 9-digit town code
  if (slot.size() <= kTownSuffix || slot[slot.size() - kTownSuffix] != '@') return slot;
  for (char c : slot.substr(slot.size() - kTownSuffix + 1)) {
    if (c < '0' || c > '9') return slot;
  }
  return slot.substr(0, slot.size() - kTownSuffix);
}

std::string_view WithdrawOutcomeName(WithdrawOutcome outcome) {
  switch (outcome) {
    case WithdrawOutcome::kWithdrawn:
      return "withdrawn";
    case WithdrawOutcome::kNotFound:
      return "not_found";
    case WithdrawOutcome::kAlreadyGone:
      return "already_gone";
  }
  return "unknown";
}

}  // namespace minyi
