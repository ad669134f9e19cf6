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
  }
  return "unknown";
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
