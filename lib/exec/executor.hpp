// Executor: jobqd's working parts and who wakes whom, in one place. It owns
// the runner and the notifier, retention, and for each runtime (runtimes.hpp)
// a lane: its poller, its image puller, its event watcher and its engine's
// health, all over one store; and it wires them:
// - a job that reached a final state wakes the notifier (its webhooks), the
//   runner (a slot is free) and the caller's on_final (jobqd: `jobq wait`);
// - a launch that started wakes the pollers for that job (only the one of
//   its runtime acts);
// - a pull that settled wakes the runner (its jobs may be claimed);
// - a runtime's end hints wake its poller for that job (or for all, after
//   a gap), and its breaks and signals tell that poller about outages;
// - the pollers hold a removal back while the runner is launching;
// - a launch tells the warm keeper (hits, misses, replenishing), which
//   starts warm runs only while the runner has no launch in flight;
// - a schedule's slot that enqueued a job wakes the runner; one that asked a
//   running job to stop (overlap replace) wakes the pollers for it; a job
//   that ended at once is a job that reached a final state.
// Every part exists for the executor's whole life, so no wake goes to a part
// that is gone; start() starts them in order, stop() stops them in the
// order that loses nothing (launches in flight commit first).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "exec/engine_health.hpp"
#include "exec/event_watcher.hpp"
#include "exec/image_puller.hpp"
#include "exec/poller.hpp"
#include "exec/retention.hpp"
#include "exec/runner.hpp"
#include "exec/scheduler.hpp"
#include "exec/warm_keeper.hpp"
#include "notify/notifier.hpp"
#include "runtime/runtimes.hpp"
#include "store/store.hpp"

namespace jobq {

struct ExecutorOptions {
  RunnerOptions runner;  // its pullers are the executor's own
  PollerOptions poller;  // its engine_busy is the runner's
  ImagePullerOptions puller;
  NotifierOptions notifier;
  WarmKeeperOptions warm;
  SchedulerOptions scheduler;
  std::chrono::milliseconds retention{0};  // 0: keep every job
};

class Executor {
 public:
  using JobEvent = std::function<void(std::int64_t job_id)>;
  // The runtimes (not owned) must outlive the executor.
  Executor(Store& store, Runtimes runtimes, ExecutorOptions opts, JobEvent on_final = {});
  ~Executor();
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  // Each engine's health first (so `status` has an answer at once), then
  // the notifier, the pollers, retention, the runner, for each runtime
  // that gives end hints its event watcher, the warm keeper and the scheduler.
  void start();
  // The scheduler, the warm keeper, the event watchers, the runner
  // (launches in flight commit), the pullers, retention, the pollers, the
  // notifier and the engines' health.
  void stop();

  const Runtimes& runtimes() const { return runtimes_; }
  Runner& runner() { return runner_; }
  WarmKeeper& warm() { return warm_; }
  Scheduler& scheduler() { return scheduler_; }
  // The default runtime's parts (runtimes.primary()).
  Poller& poller() { return lanes_.front()->poller; }
  ImagePuller& puller() { return lanes_.front()->puller; }
  EngineHealth& health() { return lanes_.front()->health; }
  // A runtime's parts, by kind; nullptr when there is no such runtime.
  Poller* poller(const std::string& kind);
  EngineHealth* health(const std::string& kind);
  // The puller of that runtime, when jobq gets its images (else nullptr).
  ImagePuller* puller(const std::string& kind);

  // Every poller looks at this job now (the one of its runtime acts).
  void check(std::int64_t job_id);
  // Every poller makes a round over all its running attempts.
  void kick_pollers();
  // Whether any puller is getting this image now.
  bool pulling(const std::string& image);
  // Runs labelled with this instance that the store does not know, of every runtime.
  std::vector<std::string> unknown_runs();

 private:
  struct Lane {
    Lane(Store& store, Runtime& runtime, const ExecutorOptions& opts, Executor& exec);
    Runtime& runtime;
    EngineHealth health;
    Poller poller;
    ImagePuller puller;
    EventWatcher events;
  };
  void job_final(std::int64_t job_id);
  Lane* lane(const std::string& kind);

  const Runtimes runtimes_;
  JobEvent on_final_;
  Notifier notifier_;
  Retention retention_;
  std::vector<std::unique_ptr<Lane>> lanes_;
  Runner runner_;
  WarmKeeper warm_;
  Scheduler scheduler_;
};

}  // namespace jobq
