// A schedule's slots: the instants its cron expression fires on in its time
// zone (the zone database's rules, through CCTZ).
//
// Each matching civil time is one slot, and a slot is its instant, so the
// same instant is never two slots. Across a daylight-saving change:
//  - a civil time the change skips (02:30 when 02:00 becomes 03:00) falls at
//    the end of the gap, the first valid instant; several skipped ones and
//    a match at that instant are the one slot there;
//  - a civil time the change repeats (01:30 when 02:00 becomes 01:00) falls
//    at its first occurrence only.
// Slots are asked for strictly after an instant (the last slot taken), so
// the wall clock going back never yields a slot again.
#pragma once

#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <cctz/time_zone.h>

#include "schedule/cron.hpp"

namespace jobq {

using SlotTime = std::chrono::time_point<std::chrono::system_clock, std::chrono::seconds>;

// An unknown or malformed zone name.
class ZoneError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

// A zone of the zone database by name ("Europe/Paris"); "UTC" (and "") is
// UTC. A name is a path under the database's directory, so one that is
// absolute or climbs ("..") is refused. Throws ZoneError.
cctz::time_zone load_zone(const std::string& name);

// The instant a civil time falls on in `zone`, as above.
SlotTime slot_instant(const cctz::time_zone& zone, const cctz::civil_second& civil);

// The first slot strictly after `after`; nullopt when the expression fires
// no more (within ten years of it).
std::optional<SlotTime> next_slot(const CronExpr& e, const cctz::time_zone& zone, SlotTime after);

// Up to n slots after `after`, in order (`schedule show`'s next fire times).
std::vector<SlotTime> next_slots(const CronExpr& e, const cctz::time_zone& zone, SlotTime after,
                                 int n);

}  // namespace jobq
