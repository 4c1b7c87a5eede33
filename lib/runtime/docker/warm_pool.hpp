// Warm containers for DockerRuntime: per application, containers of its
// image started ahead of their jobs, each idle in jobq-warm
// (daemon/jobq_warm.cpp) until one job is handed to it.
//
// A warm container is named by its pool name, jobq-<instance>-warm-<hex>,
// also its label jobq.warm, and labelled jobq.instance, jobq.app,
// jobq.warm.spec (a hash of the spec it was made from) and
// jobq.warm.command (its image's entrypoint and cmd, JSON). Its entrypoint
// is jobq-warm, mounted read-only; at /.jobq/handoff it mounts, read-only,
// its own directory under the pools' root, which only jobqd writes.
//
// The hand-off of a claimed attempt, whose run name N was committed with
// the claim (the intent):
//  1. an idle container that fits is taken from memory (one launcher holds it);
//  2. it is renamed from its pool name to N. The rename names the old
//     name, so a container can be renamed once only (a compare-and-swap in
//     the engine), and N is from then on the run, found by name as any;
//  3. its limits are lowered in place when the job asks for less;
//  4. its id is recorded (on_created), then the job file is written whole
//     (a rename): argv and env, the job's as a cold container would have
//     them. The file's mtime is the hand-off: the run's start.
// A relaunch after a crash at any point finds N taken (and adopts it: the
// job file is written if absent, its content fixed by the attempt's stored
// spec) or the container still in the pool; so the job runs once and is not
// lost. A failed rename or update never leaves a container half given: it
// is removed, or (renamed, unrecorded) removed before the launch is retried.
// Only containers this process made are handed a job: a restarted jobqd
// removes the idle ones an earlier jobqd left, since that jobqd's last
// requests may still be in flight in the engine (a remove that landed after
// a hand-off would take the job's run with it).
#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "runtime/docker/container_engine.hpp"
#include "runtime/runtime.hpp"

namespace jobq {

struct WarmOptions {
  std::string root;    // the host directory holding each warm container's hand-off directory
  std::string helper;  // jobq-warm on the host ("": none is made or handed a job)
  bool enabled() const { return !root.empty() && !helper.empty(); }
};

inline constexpr const char* kWarmLabel = "jobq.warm";
inline constexpr const char* kWarmHelperPath = "/.jobq/jobq-warm";
inline constexpr const char* kWarmHandoffPath = "/.jobq/handoff";

// Whether a spec may run in a container made from pool_spec: the same
// image, user, network and read-only root, and limits equal or lower
// (lowered in place).
bool warm_fits(const RunSpec& pool_spec, const RunSpec& job_spec);
// A stable hash of what a pool is made from (image, the image's id, env,
// resources).
std::string warm_spec_hash(const RunSpec& pool_spec, const std::string& image_id);
// What jobq-warm reads: the job's argv (the image's entrypoint, then the
// job's command or the image's cmd) and env.
std::string warm_job_file(const ImageCommand& image, const RunSpec& job_spec);

// Adjusts a warm container's status (labelled jobq.warm) with what only
// the hand-off knows: the job's start (the job file's mtime; Docker's
// StartedAt becomes warm_started_at), and that a container still waiting
// for its job has not started it (queued; launch_failed if it ended).
RunStatus warm_status(const std::string& root, const ContainerState& st, RunStatus seen);

class WarmPool {
 public:
  WarmPool(ContainerEngine& engine, std::string instance, WarmOptions opts);

  // Hands the attempt to an idle container of its application that fits:
  // its status after the hand-off, or nullopt when none fits (or the engine
  // refused one: launch it cold). Throws EngineError when the engine could
  // not be asked (the launch is retried).
  std::optional<RunStatus> hand_off(const RunKey& key, const RunSpec& spec,
                                    const Runtime::CreatedFn& on_created);
  // Finishes the hand-off to N found already renamed (an earlier launch of
  // this attempt): the job file is written unless there.
  RunStatus finish(const ContainerState& st, const RunSpec& spec);

  void tend(const std::vector<WarmTarget>& targets, std::chrono::milliseconds idle_ttl,
            const Runtime::MayStartFn& may_start);
  std::map<std::string, int> idle();

 private:
  struct Idle {
    std::string pool;  // its pool name
    std::string app;
    std::string hash;
    RunSpec spec;
    ImageCommand command;
    std::chrono::steady_clock::time_point since;
  };
  std::optional<Idle> take(const std::string& app, const RunSpec& spec);
  void give_back(Idle w);
  // Removes a container of the pool (and its directory); never throws.
  void discard(const std::string& pool);
  void make_one(const WarmTarget& t, const std::string& hash, const ImageCommand& command);
  void write_job(const std::string& pool, const std::string& content);
  std::string dir_of(const std::string& pool) const;

  ContainerEngine& engine_;
  const std::string instance_;
  const WarmOptions opts_;
  std::mutex mu_;
  std::deque<Idle> idle_;       // oldest first
  std::set<std::string> busy_;  // taken by a launch or being made: tend leaves them be
  // Renamed to a run by this process, until their containers are gone: a
  // list made before the rename must not put them back in the pool.
  std::set<std::string> handed_;
};

}  // namespace jobq
