// Executor: jobqd's working parts and who wakes whom, in one place. It owns
// the runner, the poller, the image puller, the event watcher, retention,
// the webhook notifier and the engine's health, all over one store and one
// runtime, and wires them:
// - a job that reached a final state wakes the notifier (its webhooks), the
//   runner (a slot is free) and the caller's on_final (jobqd: `jobq wait`);
// - a launch that started wakes the poller for that job;
// - a pull that settled wakes the runner (its jobs may be claimed);
// - the runtime's end hints wake the poller for that job (or for all, after
//   a gap), and its breaks and signals tell the poller about outages;
// - the poller holds a removal back while the runner is launching.
// Every part exists for the executor's whole life, so no wake goes to a part
// that is gone; start() starts them in order, stop() stops them in the
// order that loses nothing (launches in flight commit first).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>

#include "exec/engine_health.hpp"
#include "exec/event_watcher.hpp"
#include "exec/image_puller.hpp"
#include "exec/poller.hpp"
#include "exec/retention.hpp"
#include "exec/runner.hpp"
#include "notify/notifier.hpp"
#include "runtime/runtime.hpp"
#include "store/store.hpp"

namespace jobq {

struct ExecutorOptions {
  RunnerOptions runner;  // its puller is the executor's own
  PollerOptions poller;  // its engine_busy is the runner's
  ImagePullerOptions puller;
  NotifierOptions notifier;
  std::chrono::milliseconds retention{0};  // 0: keep every job
};

class Executor {
 public:
  using JobEvent = std::function<void(std::int64_t job_id)>;
  Executor(Store& store, Runtime& runtime, ExecutorOptions opts, JobEvent on_final = {});
  ~Executor();
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  // The engine's health first (so `status` has an answer at once), then the
  // notifier, the poller, retention, the runner and, when the runtime gives
  // end hints, the event watcher.
  void start();
  // The event watcher, the runner (launches in flight commit), the puller,
  // retention, the poller, the notifier and the engine's health.
  void stop();

  Runner& runner() { return runner_; }
  Poller& poller() { return poller_; }
  ImagePuller& puller() { return puller_; }
  EngineHealth& health() { return health_; }

 private:
  void job_final(std::int64_t job_id);

  Runtime& runtime_;
  JobEvent on_final_;
  Notifier notifier_;
  EngineHealth health_;
  Poller poller_;
  Retention retention_;
  ImagePuller puller_;
  Runner runner_;
  EventWatcher events_;
};

}  // namespace jobq
