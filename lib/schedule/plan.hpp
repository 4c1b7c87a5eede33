// What becomes of a schedule's due slots: which fire and which are missed,
// and the slot it waits for next. Pure: the caller gives the time.
//
// The slots due are those from the schedule's next slot up to now. Each is
// decided by one rule set:
//  1. a slot later than its starting deadline (`deadline` > 0) is missed;
//  2. a slot that came due while jobqd ran and the schedule was active (at or
//     after `away_before`: when jobqd started, or the schedule was resumed)
//     fires, up to kMaxBurst at once (more means the clock leapt forward: the
//     older ones are missed);
//  3. the slots that passed while jobqd was down or the schedule paused
//     follow the catch-up policy: none fires none of them, last the newest
//     of them, all the newest `catch_up_max`; the others are missed.
// Consecutive missed slots are one entry (first and last slot, how many).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "schedule/slot.hpp"

namespace jobq {

enum class CatchUp { none, last, all };
std::string_view to_string(CatchUp c);
std::optional<CatchUp> catch_up_from(std::string_view s);

inline constexpr int kMaxCatchUp = 1000;  // the most `all` fires of the slots it missed
inline constexpr int kMaxBurst = 100;     // the most slots that came due at once fire

struct SlotPolicy {
  CatchUp catch_up = CatchUp::last;
  int catch_up_max = 10;             // for CatchUp::all, 1 to kMaxCatchUp
  std::chrono::seconds deadline{0};  // 0: none
};

struct PlannedSlot {
  SlotTime slot;            // the slot, or the first of a run of missed ones
  bool fire = false;        // false: missed
  std::string reason;       // why missed
  SlotTime last;            // the last slot of a run of missed ones (== slot for one)
  std::int64_t count = 1;   // how many slots it stands for
  bool count_exact = true;  // false: after a very long gap, at least `count`
};

struct SlotPlan {
  std::vector<PlannedSlot> slots;  // in order
  std::optional<SlotTime> next;    // the slot to wait for; nullopt: it fires no more
};

// Decides the slots from `next` (due: next <= now) up to `now`.
SlotPlan plan_slots(const CronExpr& e, const cctz::time_zone& zone, SlotTime next, SlotTime now,
                    SlotTime away_before, const SlotPolicy& policy);

}  // namespace jobq
