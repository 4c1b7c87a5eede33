// One run (an attempt of a job) in no runtime's terms. RunSpec is what it is
// to execute: the image, command, env, resources and the labels the job
// asked for; the store keeps it with the attempt (as JSON) so that a
// relaunch after a crash runs exactly what was claimed. The runtime names a
// run and adds its own labels (runtime/runtime.hpp). RunStatus is what a
// runtime observed of a run, with where its times came from.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "model/model.hpp"

namespace jobq {

struct RunSpec {
  std::string name;  // the run's name, given by its runtime (Runtime::run_name)
  std::string image;
  std::optional<std::vector<std::string>> cmd;  // nullopt: the image's default
  std::vector<std::string> env;                 // "K=V"
  LabelMap labels;                              // the job's own; the runtime adds its jobq.* ones
  Resources resources;                          // limits, network, read-only root, user
  Placement placement;  // where it may run, for a runtime with nodes (the application's)
};

// The spec of attempt `attempt` of `job` in `app`: the application's env
// under the job's, the JOBQ_* variables, the job's labels, and the job's
// resources within the application's. A pure function; the name is left
// for the runtime.
RunSpec run_spec_for(const App& app, const Job& job, int attempt);

// Where a run is in its life, as its runtime sees it.
enum class RunPhase {
  absent,         // the runtime has no such run (never made, or removed)
  queued,         // it exists but has not started (a created container, a pending task)
  starting,       // the runtime is starting it
  running,        // it runs (or is paused, or being restarted or removed)
  ended,          // it ran and ended: its exit code is its own
  launch_failed,  // it exists but could not start; `message` says why
};

// Who recorded a run's start and finish times: the engine that ran the
// process (Docker's State.StartedAt/FinishedAt) or a scheduler above it (a
// Swarm task's timestamps), which is not the same moment; or, for a warm
// run, jobq's hand-off of the job to a container already running (its
// start) and the engine's record of its end.
enum class TimeSource { engine, scheduler, handoff };
const char* to_string(TimeSource s);
std::optional<TimeSource> parse_time_source(const std::string& s);

struct RunStatus {
  RunPhase phase = RunPhase::absent;
  std::string id;            // the runtime's id of the run
  std::string container_id;  // the container that ran it, where one is known
  int exit_code = 0;
  std::optional<bool> oom_killed;  // nullopt: this runtime cannot tell
  std::string message;             // the engine's own message (why it failed to start...)
  std::string started_at;          // RFC 3339 as recorded; "" while not known
  std::string finished_at;         // RFC 3339 as recorded; "" while not known
  TimeSource times_from = TimeSource::engine;
  std::string node;     // where it ran (a host name); "" for this machine's engine
  std::string node_id;  // the scheduler's id of that node; "" when none
  // What this exit code may also mean on this runtime (Docker: 255 is also
  // what it reports for a container killed by an engine restart); "" for
  // nothing more than the code.
  std::string exit_note;
  // How the runtime stopped it, when not by a signal to its process alone
  // (Swarm, off the manager's node: by removing its service); "" otherwise.
  std::string stop_note;
  // A warm run (its job handed to a container started ahead of it): when
  // that container started (the engine's record); "" for a cold run.
  std::string warm_started_at;

  bool exists() const { return phase != RunPhase::absent; }
  // It ran and is over (ended) or never will run (launch_failed).
  bool over() const { return phase == RunPhase::ended || phase == RunPhase::launch_failed; }
  // Its start was recorded (a run that never started has no StartedAt).
  bool started() const;
};

}  // namespace jobq
