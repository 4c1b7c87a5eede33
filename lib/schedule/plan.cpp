#include "schedule/plan.hpp"

#include <deque>

namespace jobq {

namespace {

// Due slots walked one by one, at most this many; past it (a per-second
// schedule after days away) the walk leaps towards now, keeping at least
// kKept slots, more than can ever fire at once.
constexpr std::int64_t kMaxWalk = 100'000;
constexpr std::size_t kKept = 2 * (kMaxBurst + kMaxCatchUp);

struct Due {
  std::deque<SlotTime> slots;  // the newest ones, in order
  std::int64_t dropped = 0;    // older ones, counted, not kept
  bool exact = true;           // false: the walk leapt, `dropped` is a lower bound
  std::optional<SlotTime> first_dropped, last_dropped;
  std::optional<SlotTime> next;  // the first slot after now
};

Due walk_due(const CronExpr& e, const cctz::time_zone& zone, SlotTime next, SlotTime now) {
  Due d;
  std::optional<SlotTime> at = next;
  std::int64_t walked = 0;
  while (at && *at <= now) {
    d.slots.push_back(*at);
    if (d.slots.size() > kKept) {
      if (!d.first_dropped) d.first_dropped = d.slots.front();
      d.last_dropped = d.slots.front();
      d.slots.pop_front();
      ++d.dropped;
    }
    if (++walked == kMaxWalk) {
      // Leap: the kept slots span `w`; start again 2w before now, so that as
      // many remain (if they fall evenly).
      const auto w = d.slots.back() - d.slots.front();
      const SlotTime from = now - 2 * w;
      if (from > d.slots.back()) {
        if (!d.first_dropped) d.first_dropped = d.slots.front();
        d.dropped += static_cast<std::int64_t>(d.slots.size());
        d.last_dropped = d.slots.back();
        d.slots.clear();
        d.exact = false;
        at = next_slot(e, zone, from);
        continue;
      }
    }
    at = next_slot(e, zone, *at);
  }
  d.next = at;
  return d;
}

void add_missed(SlotPlan& plan, SlotTime slot, SlotTime last, std::int64_t count, bool exact,
                const std::string& reason) {
  if (!plan.slots.empty()) {
    PlannedSlot& prev = plan.slots.back();
    if (!prev.fire && prev.reason == reason) {
      prev.last = last;
      prev.count += count;
      prev.count_exact = prev.count_exact && exact;
      return;
    }
  }
  plan.slots.push_back({slot, false, reason, last, count, exact});
}

}  // namespace

std::string_view to_string(CatchUp c) {
  switch (c) {
    case CatchUp::none:
      return "none";
    case CatchUp::last:
      return "last";
    case CatchUp::all:
      return "all";
  }
  return "last";
}

std::optional<CatchUp> catch_up_from(std::string_view s) {
  for (const CatchUp c : {CatchUp::none, CatchUp::last, CatchUp::all})
    if (s == to_string(c)) return c;
  return std::nullopt;
}

SlotPlan plan_slots(const CronExpr& e, const cctz::time_zone& zone, SlotTime next, SlotTime now,
                    SlotTime away_before, const SlotPolicy& policy) {
  SlotPlan plan;
  Due d = walk_due(e, zone, next, now);
  plan.next = d.next;
  const std::string away_reason = "due while jobqd was down or the schedule paused (--catch-up " +
                                  std::string(to_string(policy.catch_up)) + ")";
  if (d.dropped > 0)
    add_missed(plan, *d.first_dropped, *d.last_dropped, d.dropped, d.exact,
               d.exact ? away_reason
                       : away_reason + "; at least this many (too long a gap to count each)");

  // How many of each kind may fire, counted from the newest.
  int away_room = policy.catch_up == CatchUp::none   ? 0
                  : policy.catch_up == CatchUp::last ? 1
                                                     : policy.catch_up_max;
  int burst_room = kMaxBurst;
  std::vector<bool> fires(d.slots.size(), false);
  std::vector<std::string> why(d.slots.size());
  for (std::size_t i = d.slots.size(); i-- > 0;) {
    const SlotTime s = d.slots[i];
    if (policy.deadline.count() > 0 && now - s > policy.deadline) {
      why[i] = "past its starting deadline of " + std::to_string(policy.deadline.count()) + " s";
    } else if (s >= away_before) {
      if (burst_room > 0) {
        fires[i] = true;
        --burst_room;
      } else {
        why[i] = "more than " + std::to_string(kMaxBurst) +
                 " slots came due at once (the clock leapt forward)";
      }
    } else if (away_room > 0) {
      fires[i] = true;
      --away_room;
    } else {
      why[i] = away_reason;
    }
  }
  for (std::size_t i = 0; i < d.slots.size(); ++i) {
    if (fires[i])
      plan.slots.push_back({d.slots[i], true, "", d.slots[i], 1, true});
    else
      add_missed(plan, d.slots[i], d.slots[i], 1, true, why[i]);
  }
  return plan;
}

}  // namespace jobq
