// ImagePuller: gets applications' images onto the engine as `docker run
// --pull` does, without holding up any launch. Pulls run on a pool of their
// own (`workers` threads), one task per image at a time however many jobs
// or clients want it; the launch workers never wait for a pull.
//
// The runner asks gate() (cheap, never blocking: it is called while the
// store claims) for each application that has jobs to start. An image it
// does not know yet is looked at (GET /images/{name}/json) and pulled when
// missing; meanwhile gate() says "not yet", so the application's jobs stay
// pending and hold no slot, and other applications' jobs are claimed as
// usual. When the task ends, on_settled() is called (the runner looks
// again). A pull that failed answers gate() with Docker's message for
// failure_hold: the jobs claimed then fail their attempt with it (a launch
// failure, retried per their policy); after that the next claim pulls again.
// With --pull always, only a pull that ended less than `fresh` ago lets a
// job start. With never, gate() always says yes (a missing image is then
// the engine's launch error).
//
// check() serves `app create/update`: the image must be had under the
// policy (never: it must be there; missing: there, or pulled now; always:
// pulled now), reporting Docker's progress to the caller. Knowledge is kept
// in memory only: a restart looks again.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/work_pool.hpp"
#include "model/model.hpp"
#include "runtime/runtime.hpp"

namespace jobq {

struct ImagePullerOptions {
  int workers = 2;
  std::chrono::milliseconds failure_hold{5000};
  std::chrono::milliseconds fresh{2000};
  // After the engine did not answer, the image is not asked about again before this.
  std::chrono::milliseconds unreachable_wait{2000};
  // The credentials for a pull of an image, in the runtime's encoding ("" for none);
  // default: none (anonymous pulls); jobqd passes registry_auth_for
  // (its user's ~/.docker/config.json and credential helpers).
  std::function<std::string(const std::string& image)> auth;
};

class ImagePuller {
 public:
  ImagePuller(Runtime& runtime, ImagePullerOptions opts, std::function<void()> on_settled);
  ~ImagePuller();
  ImagePuller(const ImagePuller&) = delete;
  ImagePuller& operator=(const ImagePuller&) = delete;

  struct Verdict {
    bool claim = true;  // false: not yet (the image is being looked at or pulled)
    std::string error;  // set: the pull failed; the attempt fails with this
    // With error: the pull began then (Unix ns); the error is for the jobs
    // that were waiting by then, a job pending since later waits for the next pull.
    std::int64_t error_for_jobs_before_ns = 0;
  };
  Verdict gate(const std::string& image, PullPolicy policy);
  // The engine said "No such image" at a launch: look (and pull) again
  // before the next claim.
  void forget(const std::string& image);
  // Whether the image is being looked at or pulled now (a pending job's reason).
  bool pulling(const std::string& image);

  struct CheckOutcome {
    // ok: the image can be had (it is there now); failed: it cannot (the
    // message says why: Docker's, or the policy's); unreachable: the engine
    // did not answer, so nobody knows; stopping: jobqd stops.
    enum class Kind { ok, failed, unreachable, stopping };
    Kind kind = Kind::ok;
    std::string message;
  };
  using Done = std::function<void(const CheckOutcome&)>;
  // Runs on the puller's threads: progress for each line of a pull, then
  // done exactly once (also when jobqd stops first).
  void check(const std::string& image, PullPolicy policy, PullProgressFn progress, Done done);
  // Pulls in flight end (their checks get an error); later calls are refused.
  void stop();

 private:
  // What a task does, in rising order: each includes the ones before.
  enum class Mode { none, inspect, inspect_then_pull, pull };
  struct Waiter {
    Mode mode;
    PullProgressFn progress;
    Done done;
  };
  struct Entry {
    enum class Known { unknown, present, absent, failed };
    Known known = Known::unknown;
    bool busy = false;                 // a task is queued or running
    Mode running = Mode::none;         // the mode of the task running now
    bool pulling = false;              // and it has got as far as pulling
    Mode next = Mode::none;            // asked for while busy: run again after
    std::vector<Waiter> waiters;       // of the task running now
    std::vector<Waiter> next_waiters;  // of the next task
    std::chrono::steady_clock::time_point settled_at{};
    std::chrono::steady_clock::time_point pulled_at{};
    std::chrono::steady_clock::time_point retry_after{};
    std::string error;
    std::int64_t began_ns = 0;        // when the task running now began (Unix ns)
    std::int64_t error_began_ns = 0;  // when the failed one began
  };
  // Under mu_: queues a task for the image; false when stopping.
  bool start_locked(const std::string& image, Entry& e, Mode mode);
  void run(const std::string& image);
  // One task's work; returns what its waiters are told.
  CheckOutcome work(const std::string& image, Mode mode,
                    const std::function<void(const PullProgress&)>& progress);

  Runtime& runtime_;
  ImagePullerOptions opts_;
  std::function<void()> on_settled_;
  std::mutex mu_;
  std::map<std::string, Entry> entries_;
  bool stopping_ = false;
  WorkPool pool_;
};

}  // namespace jobq
