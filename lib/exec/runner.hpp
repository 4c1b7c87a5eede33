// Runner: moves pending jobs to running. Each pass claims as many pending
// jobs as the launch pool has free workers, in FIFO order, within every
// application's max_running and the daemon's global max (a claimed job is
// `starting` and holds its slot), commits the intent, then launches its run
// in the pool through the runtime (runtime/runtime.hpp), under the
// attempt's fixed run name, adopting a run that already exists. The run's id
// is recorded as soon as the runtime made it, before its start: a starting
// attempt whose recorded run is gone is `lost`, never made again. A launch
// the engine could not serve stays `starting` and is retried with backoff:
// same attempt, same name, so it never runs twice; a run that never started
// (queued, no start time) and that the engine fails to start with an error
// of its own (a start in flight when dockerd died) is removed and made
// again, up to kEngineStartTries times. None of this counts against the
// job's retry policy. Attempts left `starting` by an earlier jobqd are
// picked up the same way on start.
// Runtimes: each application's jobs launch through its runtime (by kind;
// a kind this jobqd lacks keeps them pending), each starting attempt's
// through the one recorded with it. A runtime that places runs on nodes may
// limit how many of an application's jobs a pass claims (placement_room).
// Images: with a puller for its runtime, an application's jobs are claimed only once its
// image is there (pulled when missing, or before each launch with --pull
// always), so a pull holds no launch worker and no slot; a failed pull is
// the attempt's launch failure, with the engine's message. A launch that
// finds no image (EngineError no_image: the image was removed behind jobq's
// back, or an attempt left starting across a restart) sends the job back to
// pending, once, to wait for the pull: its run was never made.
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
#include "exec/image_puller.hpp"
#include "runtime/runtimes.hpp"
#include "store/store.hpp"

namespace jobq {

struct RunnerOptions {
  int global_max_running = 0;  // 0 = unlimited
  int launch_workers = 4;
  bool keep_containers = false;  // leave a container that failed to start
  std::chrono::milliseconds pass_interval{1000};
  std::chrono::milliseconds retry_min{500};
  std::chrono::milliseconds retry_max{30'000};
  Metrics* metrics = nullptr;  // launches, their latency, engine errors (optional)
  // By runtime kind: gets images before their jobs are claimed (see
  // image_puller.hpp); none for a runtime: its jobs are claimed at once, and
  // a missing image is a launch failure (or the runtime's own business).
  std::map<std::string, ImagePuller*> pullers;
  // After each launch: the application, and whether its run was warm.
  std::function<void(const std::string& app, bool warm)> on_launched;
};

class Runner {
 public:
  // Starts that the engine fails with a container that never ran are tried
  // again (removed, created anew) this many times before the job fails.
  static constexpr int kEngineStartTries = 8;

  using JobEvent = std::function<void(std::int64_t job_id)>;
  // on_started: the attempt runs (the poller should look); on_final: the job ended.
  Runner(Store& store, const Runtimes& runtimes, RunnerOptions opts, JobEvent on_started,
         JobEvent on_final);
  // With one runtime, every application's.
  Runner(Store& store, Runtime& runtime, RunnerOptions opts, JobEvent on_started, JobEvent on_final)
      : Runner(store, Runtimes{&runtime}, std::move(opts), std::move(on_started),
               std::move(on_final)) {}
  ~Runner();
  void start();
  void stop();
  void kick() { kicker_.kick(); }
  int in_flight();
  // Launches in flight of applications other than this one.
  int in_flight_except(const std::string& app);

  // One scheduling pass (public for tests driving it step by step).
  void pass();
  // Blocks until no launch is in flight (tests).
  void drain();

 private:
  // False: the engine could not be reached; try again later.
  bool launch(const LaunchTicket& t);
  std::chrono::milliseconds next_wait();
  bool dispatch(const LaunchTicket& t);
  void retry_later(std::int64_t job_id);
  // The attempt's end was recorded while its launch was in flight: removes
  // the container (unless kept). Returns true (the launch is done).
  bool recorded_meanwhile(const LaunchTicket& t);
  // The recorded container of a starting attempt is gone: the job is lost.
  bool lost_before_start(const LaunchTicket& t);
  // Counts the engine's failures to start this job's container; returns the count.
  int note_engine_start_failure(std::int64_t job_id);
  // The engine lacked the image at create: the job goes back to pending
  // until its image is pulled (once per job; true when it did).
  bool wait_for_image(const LaunchTicket& t);

  ImagePuller* puller_for(const std::string& runtime) const;

  Store& store_;
  const Runtimes runtimes_;
  RunnerOptions opts_;
  JobEvent on_started_;
  JobEvent on_final_;
  WorkPool pool_;
  Kicker kicker_;
  std::thread thread_;

  std::mutex mu_;
  std::condition_variable idle_cv_;
  std::map<std::int64_t, std::string> in_flight_;  // job: its application
  struct Backoff {
    std::chrono::steady_clock::time_point not_before;
    std::chrono::milliseconds delay;
    int engine_start_failures = 0;
  };
  std::map<std::int64_t, Backoff> backoff_;
  std::set<std::int64_t> sent_back_for_image_;  // jobs wait_for_image() sent back
};

}  // namespace jobq
