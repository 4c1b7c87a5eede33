// The runtime seam: what jobq needs of whatever runs its jobs, spoken in
// runs (one attempt of a job), not in any engine's objects. The runner
// launches runs, the poller asks their status, stops, reads and forgets
// them, the event watcher follows hints that one ended, and the command side
// streams their output. A runtime names each run (deterministically, so a
// launch is idempotent: an earlier launch of the same attempt is adopted,
// never doubled) and labels it with its job, attempt, application and this
// jobqd's instance, which is how it lists this instance's runs.
//
// Each runtime declares what it can know (Capabilities); the runner and the
// poller act on the phase and on those, never on an engine's own strings.
// runtime/docker/ is plain Docker containers (DockerRuntime); a Swarm
// service per run (runtime/swarm/) fits the same seam, and so do warm runs:
// containers started ahead of their job, which a launch hands a job to. Implementations must be
// safe to call from several threads at once; stop of a stopped run and forget of a missing one
// succeed.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "model/model.hpp"
#include "model/run.hpp"

namespace jobq {

class EngineError : public std::runtime_error {
 public:
  enum class Kind {
    unreachable,  // the engine did not answer
    not_found,    // no such run (or image, for a pull)
    no_image,     // a launch found no image to run
    conflict,
    rejected,  // the engine will always refuse this (a bad spec, a bad image name)
    server,    // the engine's own trouble
  };
  EngineError(Kind kind, int http_status, const std::string& what)
      : std::runtime_error(what), kind_(kind), status_(http_status) {}
  Kind kind() const { return kind_; }
  int http_status() const { return status_; }
  // Worth trying again later (engine down or overloaded), as opposed to a
  // request the engine will always refuse (no such image, bad spec).
  bool transient() const { return kind_ == Kind::unreachable || kind_ == Kind::server; }

 private:
  Kind kind_;
  int status_;
};

// One line of an image pull's progress.
struct PullProgress {
  std::string id;            // a layer's id, or "" for the pull as a whole
  std::string status;        // "Pulling fs layer", "Downloading", "Pull complete", "Digest: ..."
  std::int64_t current = 0;  // bytes so far, when the engine says
  std::int64_t total = 0;
};
using PullProgressFn = std::function<void(const PullProgress&)>;
using LogChunkFn = std::function<void(LogStream, std::string_view)>;

struct LogOptions {
  bool follow = false;        // go on streaming while the run runs
  bool timestamps = false;    // each line starts with its RFC 3339 time and a space
  std::int64_t since_ns = 0;  // Unix time in ns; 0: from the start
  int tail = -1;              // the last N lines only; -1: all
};

// Which run of which job: what a runtime names and labels a run by.
struct RunKey {
  std::int64_t job_id = 0;
  int attempt = 0;
  std::string app;
};

// One of this instance's runs, as a listing shows it. job_id and attempt
// are nullopt when the run's labels do not say (someone else's doing).
struct RunSummary {
  std::string name;
  std::optional<std::int64_t> job_id;
  std::optional<int> attempt;
  bool over = false;  // ended, or will never start
};

struct Capabilities {
  bool pulls_images = true;   // jobq gets a run's image onto the engine first (else the
                              // runtime's nodes get it themselves)
  bool exact_times = true;    // start and finish times are the engine's record of the process
  bool oom_flag = true;       // an OOM kill is reported as such
  bool end_events = true;     // watch() gives hints that a run ended
  bool follow = true;         // output() can follow a running run
  bool remote_nodes = false;  // runs may run on other machines (RunStatus::node)
  bool warm = false;          // keeps warm runs (tend_warm) and hands jobs to them at launch
};

// A warm pool wanted for an application: up to `size` runs of its image,
// started and idle, each waiting for one of its jobs. `spec` is the
// application's run with no job in it (its image, env and resources; no
// command, no JOBQ_* variables); a pool made from another spec is recycled.
struct WarmTarget {
  std::string app;
  RunSpec spec;
  int size = 0;
};

class Runtime {
 public:
  virtual ~Runtime();

  virtual std::string kind() const = 0;         // "docker"; recorded with each attempt
  virtual std::string engine_name() const = 0;  // "the Docker engine", for messages
  virtual Capabilities capabilities() const = 0;

  // The run's name for this attempt: the same every time it is asked.
  virtual std::string run_name(std::int64_t job_id, int attempt) const = 0;

  // Launches the run, idempotently: a run of this name already there (an
  // earlier launch of this attempt) is adopted, and started only if it never
  // ran. on_created(run_id, container_id) runs once the run exists (its
  // container's id, "" when not known yet), before it is started when
  // the runtime can tell the two apart. Returns its status after the launch.
  // Throws EngineError: kind no_image when the image is missing, conflict
  // never (a taken name is adopted).
  using CreatedFn = std::function<void(const std::string& run_id, const std::string& container_id)>;
  virtual RunStatus launch(const RunKey& key, const RunSpec& spec,
                           const CreatedFn& on_created = {}) = 0;
  // phase absent when there is no such run. Throws EngineError when the
  // runtime cannot tell.
  virtual RunStatus status(const std::string& name) = 0;
  // Asks it to stop: a signal to end, then a kill after grace_seconds.
  virtual void stop(const std::string& name, int grace_seconds) = 0;
  // Streams its output, demultiplexed, to `sink`. With follow it returns
  // when the run ends or keep_going() turns false (asked at least every
  // 100 ms, except while `sink` runs: a sink may block to pace a slow
  // reader). Without follow it returns at the end of the output so far. An
  // exception from `sink` or keep_going ends the stream and propagates.
  // Throws EngineError (kind not_found when there is no such run; rejected
  // when asked to follow and the runtime cannot).
  virtual void output(const std::string& name, const LogOptions& opts, const LogChunkFn& sink,
                      const std::function<bool()>& keep_going) = 0;
  // Removes the run and what the engine kept of it.
  virtual void forget(const std::string& name) = 0;
  // This instance's runs: all of them, or only those that are over.
  virtual std::vector<RunSummary> runs(bool over_only) = 0;

  // Blocks, calling on_end each time one of this instance's runs ends (with
  // its job, nullopt when the hint does not say) and on_signal each time one
  // is sent a signal (by anyone, the engine's own shutdown included), until
  // keep_going() is false (returns) or the stream breaks (throws
  // EngineError). Hints, never the truth: they only say "look at this one
  // now". Only called when capabilities().end_events.
  using EndFn = std::function<void(std::optional<std::int64_t> job_id)>;
  using SignalFn = std::function<void(std::int64_t job_id)>;
  virtual void watch(const std::function<bool()>& keep_going, const EndFn& on_end,
                     const SignalFn& on_signal) = 0;

  // The engine as a whole. api_version: negotiated once (throws EngineError
  // when unreachable); ping: asks now; server_version: "" when not said.
  virtual std::string api_version() = 0;
  virtual std::string ping() = 0;
  virtual std::string server_version() = 0;
  // When the engine's process started (Unix ns), or nullopt when that cannot
  // be known.
  virtual std::optional<std::int64_t> boot_time_ns() = 0;
  // Whether the engine has this image; throws EngineError when it cannot tell.
  virtual bool has_image(const std::string& image) = 0;
  // Pulls the image; `registry_auth` is the credentials for its registry in
  // the engine's encoding ("" for an anonymous pull). Throws EngineError
  // carrying the engine's message when the pull fails, kind unreachable when
  // the engine could not be asked or keep_going() turned false.
  virtual void pull(const std::string& image, const std::string& registry_auth,
                    const PullProgressFn& progress, const std::function<bool()>& keep_going) = 0;

  // Placement, for a runtime that puts runs on nodes: how many more runs of
  // this application may be launched now within its placement (max_per_node
  // on the nodes its constraints allow), from what refresh_placement last
  // saw; nullopt: no limit of the runtime's own. Must not block: it is
  // asked under the store's lock.
  virtual std::optional<int> placement_room(const App& app) {
    (void)app;
    return std::nullopt;
  }
  // Brings what placement_room answers from up to date; may ask the engine
  // (the runner calls it before each claim). Throws EngineError.
  virtual void refresh_placement() {}

  // Warm runs (capabilities().warm). launch() hands a job to an idle warm
  // run of its application when one fits (RunStatus::warm_started_at set),
  // else launches it cold. tend_warm brings the pools to `targets`: it
  // removes the idle runs of applications not there, of another spec, beyond
  // their size or idle for longer than idle_ttl, then starts new ones, one
  // at a time while may_start(app) says so. Blocks on the engine; called
  // from one thread. warm_idle: the idle runs by application, as last seen.
  using MayStartFn = std::function<bool(const std::string& app)>;
  virtual void tend_warm(const std::vector<WarmTarget>& targets, std::chrono::milliseconds idle_ttl,
                         const MayStartFn& may_start) {
    (void)targets;
    (void)idle_ttl;
    (void)may_start;
  }
  virtual std::map<std::string, int> warm_idle() { return {}; }
};

}  // namespace jobq
