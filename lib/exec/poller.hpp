// Poller: the watcher of running attempts of one runtime, through the
// runtime seam (runtime/runtime.hpp); jobqd has one per runtime, each with
// its own view of its engine's outages. Every interval (or when kicked) it asks the status
// of each running attempt's run; told that one run ended (an engine event)
// or just started (the runner), it asks that one at once. Once a run has
// ended, it records what the runtime says happened (exit code, OOM kill
// where known, the engine's message, start and finish times verbatim with
// who recorded them, the node), captures stdout and stderr (each capped,
// keeping the tail), commits all of it in one transaction, and only then has
// the run forgotten (removed), by a worker of its own so that the next
// result is not kept waiting. A run that is gone is recorded as `lost`.
// Cancellation of a running job is carried out here too: the run is
// stopped, and the end that follows is recorded as `cancelled`.
//
// Reconciliation (at the first round and then every reconcile_interval):
// every run of this instance is matched against the store. A run whose
// attempt already has its result committed is a leftover (jobqd stopped
// between commit and removal) and is removed; one the store does not know at
// all is reported (log, `jobq status`), never touched.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "base/metrics.hpp"
#include "base/work_pool.hpp"
#include "runtime/runtime.hpp"
#include "store/store.hpp"

namespace jobq {

struct PollerOptions {
  std::chrono::milliseconds interval{1000};
  std::size_t log_cap = 8u << 20;  // per stream
  bool keep_containers = false;
  int stop_grace_seconds = 10;
  int stop_workers = 2;
  int remove_workers = 2;
  // A finished container's removal waits while this says the engine is busy
  // launching (a removal costs the engine work that launches are waiting
  // for), for removal_patience at most.
  std::function<bool()> engine_busy;
  std::chrono::milliseconds removal_patience{5000};
  std::chrono::milliseconds reconcile_interval{60'000};
  Metrics* metrics = nullptr;  // finish-detection lag, engine errors (optional)
  // Up to this many running, every tick asks each run's status; above, a
  // tick lists the ended ones (one call) and each is asked every sweep.
  std::size_t inspect_all_below = 16;
  std::chrono::milliseconds sweep_interval{30'000};
  // How long the exit of a container signalled from outside jobq waits to
  // learn whether the engine is shutting down (dockerd's stop of its
  // containers took 12 s with their default 10 s stop timeout).
  std::chrono::milliseconds signal_hold{60'000};
};

class Poller {
 public:
  using JobEvent = std::function<void(std::int64_t job_id)>;
  Poller(Store& store, Runtime& runtime, PollerOptions opts, JobEvent on_final);
  ~Poller();
  void start();
  void stop();
  // Wakes the poller for a round over every running attempt.
  void kick();
  // Wakes it to look at this job's container alone (an event named it, or it
  // has just started). The round over all of them still comes each interval.
  void check(std::int64_t job_id);

  // One round over every running attempt (public for tests).
  void tick();
  // One round over the running attempts of these jobs only.
  void tick(const std::set<std::int64_t>& jobs);
  // Waits until the containers of recorded results are removed (for tests;
  // stop() does not wait: reconcile removes what is left).
  void settle() { removers_.wait_idle(); }
  // One reconciliation of the engine's containers with the store.
  void reconcile();
  // Containers labelled with this instance that the store does not know.
  std::vector<std::string> unknown_containers();
  // The engine stopped answering (failed call, or its event stream broke):
  // an outage opens, and closes when it answers again (a call succeeds; each
  // round pings it while the outage is open).
  void engine_lost();
  // A container of this job was sent a signal that was not jobq's (a `kill`
  // event): `docker stop`, or dockerd stopping every container as it shuts
  // down. Its exit is held until it is known whether the
  // engine went away after it (PollerOptions::signal_hold at most).
  void signalled(std::int64_t job_id);

 private:
  // Asks the status of one active attempt's run and acts on what it finds.
  // False: the engine is unreachable, so the round ends.
  bool look_at(const ActiveAttempt& a);
  void finish(const ActiveAttempt& a, const RunStatus& st);
  // A run that exists and has not started (a task no node took yet): its
  // scheduler's words are recorded, and past the application's schedule
  // timeout it is removed and the job fails.
  void unplaced(const ActiveAttempt& a, const RunStatus& st);
  // An attempt of this poller's runtime (each runtime has its poller).
  bool mine(const ActiveAttempt& a) const { return a.runtime == runtime_.kind(); }
  // A running run: stop it if cancelled or past its timeout.
  void check_deadlines(const ActiveAttempt& a);
  // Names of ended runs from one list call, or nullopt: ask each.
  std::optional<std::set<std::string>> ended_runs(std::size_t running);
  void engine_error(const char* operation) {
    if (opts_.metrics) opts_.metrics->engine_error(operation);
  }
  void request_stop(const ActiveAttempt& a);
  // The engine answered: an open outage closes.
  void engine_answered();
  // Whether the engine stopped this ended run, and why ("": it did
  // not); *hold: not known yet (its signal came from outside jobq, and the
  // engine may be shutting down). See poller.cpp for what dockerd does.
  std::string engine_stop_reason(const ActiveAttempt& a, const RunStatus& st, bool* hold);

  Store& store_;
  Runtime& runtime_;
  PollerOptions opts_;
  JobEvent on_final_;
  WorkPool stoppers_;
  WorkPool removers_;
  Kicker kicker_;
  std::thread thread_;
  std::mutex mu_;
  std::set<std::int64_t> stopping_;
  std::set<std::int64_t> targets_;  // jobs to look at in the next round
  bool all_ = false;                // the next round looks at every one
  std::vector<std::string> unknown_;
  bool engine_down_ = false;
  std::int64_t outage_start_ns_ = 0;            // when the engine was seen going away (0: never)
  std::int64_t outage_end_ns_ = 0;              // when it answered again (INT64_MAX: not yet)
  std::optional<std::int64_t> engine_boot_ns_;  // when its process started, if known
  bool boot_known_ = false;                     // engine_boot_ns_ was asked for
  std::int64_t started_ns_ = 0;                 // when this poller (jobqd) started
  std::map<std::int64_t, std::int64_t> signalled_;  // job -> when a signal not of jobq's came
  std::map<std::int64_t, int> log_failures_;        // job -> failed log fetches (poller thread)
  std::chrono::steady_clock::time_point next_reconcile_{};
  std::chrono::steady_clock::time_point next_sweep_{};
};

// How an ended run's status reads as a job's end.
AttemptResult result_from(const ActiveAttempt& a, const RunStatus& st);

}  // namespace jobq
