// EventWatcher: the fast path beside the poller. It follows the engine's
// event stream for this instance's containers and names each one that dies
// (by its job) the moment it does, so that the poller inspects that one and
// records its result within milliseconds instead of at the next poll. The
// poller alone is correct without it (events can be missed, and dockerd does
// not replay them across its restart); the stream is reconnected with capped
// backoff whenever it breaks.
#pragma once

#include <functional>
#include <string>
#include <thread>

#include "base/work_pool.hpp"
#include "runtime/engine.hpp"

namespace jobq {

class EventWatcher {
 public:
  // on_death: a container died (its job, or nullopt: look at every one, as
  // after a gap in the stream). on_lost: the stream broke while it was up
  // (the engine went away). on_signal: a container was sent a signal (its
  // job), as dockerd does to every container when it shuts down.
  EventWatcher(Engine& engine, std::string instance, Engine::DeathEvent on_death,
               std::function<void()> on_lost = {}, Engine::SignalEvent on_signal = {});
  ~EventWatcher();
  void start();
  void stop();

 private:
  Engine& engine_;
  std::string instance_;
  Engine::DeathEvent on_death_;
  std::function<void()> on_lost_;
  Engine::SignalEvent on_signal_;
  Kicker kicker_;
  std::thread thread_;
};

}  // namespace jobq
