// Scheduler: fires schedules' slots (model/schedule.hpp). A thread of its own
// sleeps until the earliest next slot of the schedules it holds (kept in
// memory, read again from the store whenever one changes: changed()), then
// decides every due slot (schedule/plan.hpp) and commits them all in one
// store transaction (Store::fire_slots), which enqueues each fired slot's
// job and moves its schedule past it: a slot is decided exactly once,
// whatever crashes when. A schedule's next slot is always found from its
// last, never from the clock, so the wall clock going back repeats nothing;
// what passed while jobqd was down (before this scheduler started) or the
// schedule paused follows its catch-up policy. Schedules waiting on another
// (--after-schedule) are decided after it in the same round.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

#include "base/metrics.hpp"
#include "base/work_pool.hpp"
#include "schedule/plan.hpp"
#include "store/store.hpp"

namespace jobq {

struct SchedulerOptions {
  // The wall clock (tests inject one).
  std::function<std::chrono::system_clock::time_point()> clock = [] {
    return std::chrono::system_clock::now();
  };
  Metrics* metrics = nullptr;  // slot lag (optional)
  // The longest sleep: how soon a wall clock set forward is noticed.
  std::chrono::milliseconds max_sleep{10'000};
};

class Scheduler {
 public:
  // After a round: the jobs enqueued, those asked to stop (overlap
  // replace), those that ended at once.
  using Fired = std::function<void(const FireOutcome&)>;
  Scheduler(Store& store, SchedulerOptions opts, Fired on_fired = {});
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Slots that passed before now were missed while jobqd was down.
  void start();
  void stop();
  // A schedule was made, changed, paused, resumed or deleted.
  void changed();
  // One round now (the thread's, and tests'): returns what was fired; sets
  // *next_wake to the earliest next slot (nullopt: none).
  FireOutcome tick(std::optional<SlotTime>* next_wake = nullptr);
  // When this scheduler started (what passed before it was missed).
  void set_started(SlotTime t) { started_ = t; }

 private:
  struct Entry {
    Schedule s;
    CronExpr expr;
    cctz::time_zone zone;
    int depth = 0;  // how many schedules it waits on, through --after-schedule
  };
  void reload();
  SlotTime now() const;

  Store& store_;
  SchedulerOptions opts_;
  Fired on_fired_;
  std::atomic<bool> dirty_{true};
  std::mutex mu_;  // one round at a time
  std::map<std::int64_t, Entry> entries_;
  SlotTime started_{};
  Kicker kicker_;
  std::thread thread_;
};

}  // namespace jobq
