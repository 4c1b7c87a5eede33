#include "exec/scheduler.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <exception>

namespace jobq {

Scheduler::Scheduler(Store& store, SchedulerOptions opts, Fired on_fired)
    : store_(store), opts_(std::move(opts)), on_fired_(std::move(on_fired)) {}

Scheduler::~Scheduler() {
  stop();
}

SlotTime Scheduler::now() const {
  return std::chrono::floor<std::chrono::seconds>(opts_.clock());
}

void Scheduler::start() {
  if (thread_.joinable()) return;
  if (started_ == SlotTime{}) started_ = now();
  thread_ = std::thread([this] {
    for (;;) {
      std::optional<SlotTime> wake;
      try {
        // One that could not be committed (it changed meanwhile) is read
        // again and retried within a second, not at once: no busy loop.
        if (tick(&wake).stale > 0)
          wake = std::max(wake.value_or(now()), now() + std::chrono::seconds(1));
      } catch (const std::exception& e) {
        spdlog::warn("schedules: {}; trying again in a second", e.what());
        dirty_ = true;
        wake = now() + std::chrono::seconds(1);
      }
      auto sleep = std::chrono::duration_cast<std::chrono::milliseconds>(opts_.max_sleep);
      if (wake) {
        // Wake just past the slot's second, by the wall clock.
        const auto until =
            std::chrono::duration_cast<std::chrono::milliseconds>(*wake - opts_.clock());
        sleep =
            std::clamp(until + std::chrono::milliseconds(1), std::chrono::milliseconds(0), sleep);
      }
      if (!kicker_.wait_for(sleep)) return;
    }
  });
}

void Scheduler::stop() {
  kicker_.stop();
  if (thread_.joinable()) thread_.join();
}

void Scheduler::changed() {
  dirty_ = true;
  kicker_.kick();
}

void Scheduler::reload() {
  entries_.clear();
  std::map<std::pair<std::int64_t, std::string>, std::int64_t> by_name;
  for (auto& s : store_.list_schedules(std::nullopt)) {
    Entry e;
    try {
      e.expr = parse_cron(s.cron);
      e.zone = load_zone(s.tz);
    } catch (const std::exception& ex) {
      // Checked when made; a zone gone from the database since is not.
      spdlog::warn("schedule '{}' of {}: {}; its slots wait until it is fixed", s.name,
                   s.owner_name, ex.what());
      continue;
    }
    by_name[{s.owner_uid, s.name}] = s.id;
    e.s = std::move(s);
    const auto id = e.s.id;
    entries_.emplace(id, std::move(e));
  }
  // Depth along --after-schedule (acyclic, as the store keeps it; bounded anyway).
  for (auto& [id, e] : entries_) {
    const Entry* at = &e;
    for (int d = 0; d < 100 && !at->s.after_schedule.empty(); ++d) {
      const auto it = by_name.find({at->s.owner_uid, at->s.after_schedule});
      if (it == by_name.end()) break;
      at = &entries_.at(it->second);
      e.depth = d + 1;
    }
  }
}

FireOutcome Scheduler::tick(std::optional<SlotTime>* next_wake) {
  std::lock_guard lock(mu_);
  if (dirty_.exchange(false)) reload();
  const SlotTime t = now();
  struct Due {
    int depth;
    ScheduleAdvance adv;
    std::vector<std::int64_t> fire_slots;
  };
  std::vector<Due> due;
  for (auto& [id, e] : entries_) {
    const Schedule& s = e.s;
    if (s.paused || s.next_slot <= 0 || s.next_slot > t.time_since_epoch().count()) continue;
    SlotPolicy policy;
    policy.catch_up = catch_up_from(s.catch_up).value_or(CatchUp::last);
    policy.catch_up_max = s.catch_up_max;
    policy.deadline = std::chrono::seconds(s.deadline_s);
    const SlotTime away = std::max(started_, SlotTime(std::chrono::seconds(s.away_before)));
    const SlotPlan plan =
        plan_slots(e.expr, e.zone, SlotTime(std::chrono::seconds(s.next_slot)), t, away, policy);
    Due d{e.depth, {}, {}};
    d.adv.schedule_id = id;
    d.adv.expected_next = s.next_slot;
    d.adv.next = plan.next ? plan.next->time_since_epoch().count() : 0;
    for (const auto& p : plan.slots) {
      SlotDecision sd;
      sd.slot = p.slot.time_since_epoch().count();
      sd.fire = p.fire;
      sd.reason = p.reason;
      sd.last = p.last.time_since_epoch().count();
      sd.count = p.count;
      if (p.fire) d.fire_slots.push_back(sd.slot);
      d.adv.slots.push_back(std::move(sd));
    }
    due.push_back(std::move(d));
  }
  FireOutcome out;
  if (!due.empty()) {
    std::stable_sort(due.begin(), due.end(),
                     [](const Due& a, const Due& b) { return a.depth < b.depth; });
    std::vector<ScheduleAdvance> advances;
    for (const auto& d : due) advances.push_back(d.adv);
    out = store_.fire_slots(advances);
    const auto committed = opts_.clock();
    for (const auto& d : due) {
      entries_.at(d.adv.schedule_id).s.next_slot = d.adv.next;
      if (opts_.metrics)
        for (const auto slot : d.fire_slots)
          opts_.metrics->schedule_lag.observe(
              std::chrono::duration<double>(committed - SlotTime(std::chrono::seconds(slot)))
                  .count());
    }
    if (out.stale > 0) dirty_ = true;  // one changed meanwhile: read them all again
    if (out.missed > 0 || out.skipped > 0)
      spdlog::info("schedules: {} slot(s) fired, {} skipped, {} missed", out.fired, out.skipped,
                   out.missed);
    if (on_fired_) on_fired_(out);
  }
  if (next_wake) {
    next_wake->reset();
    for (const auto& [id, e] : entries_) {
      if (e.s.paused || e.s.next_slot <= 0) continue;
      const SlotTime n{std::chrono::seconds(e.s.next_slot)};
      if (!*next_wake || n < **next_wake) *next_wake = n;
    }
  }
  return out;
}

}  // namespace jobq
