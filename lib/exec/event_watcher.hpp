// EventWatcher: the fast path beside the poller. It follows the runtime's
// hints (Runtime::watch) for this instance's runs and names each one that
// ends (by its job) the moment it does, so that the poller asks that one and
// records its result within milliseconds instead of at the next poll. Only
// for a runtime whose capabilities include end_events. The
// poller alone is correct without it (events can be missed, and dockerd does
// not replay them across its restart); the stream is reconnected with capped
// backoff whenever it breaks.
#pragma once

#include <functional>
#include <string>
#include <thread>

#include "base/work_pool.hpp"
#include "runtime/runtime.hpp"

namespace jobq {

class EventWatcher {
 public:
  // on_death: a run ended (its job, or nullopt: look at every one, as
  // after a gap in the stream). on_lost: the stream broke while it was up
  // (the engine went away). on_signal: a run was sent a signal (its job),
  // as dockerd does to every container when it shuts down.
  EventWatcher(Runtime& runtime, Runtime::EndFn on_death, std::function<void()> on_lost = {},
               Runtime::SignalFn on_signal = {});
  ~EventWatcher();
  void start();
  void stop();

 private:
  Runtime& runtime_;
  Runtime::EndFn on_death_;
  std::function<void()> on_lost_;
  Runtime::SignalFn on_signal_;
  Kicker kicker_;
  std::thread thread_;
};

}  // namespace jobq
