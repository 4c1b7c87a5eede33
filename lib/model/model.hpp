// The records jobq keeps: applications, jobs, attempts. Plain data; the JSON
// form (to_json) is the documented --json schema (the README's "JSON output" section):
// adding a field is compatible, renaming or removing one bumps kJsonSchemaVersion
// (the database's own version is Store::kSchemaVersion).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/job_state.hpp"

namespace jobq {

// A job's two output streams (the numbers are Docker's stream ids too).
enum class LogStream { stdout_stream = 1, stderr_stream = 2 };

inline constexpr int kJsonSchemaVersion = 1;

using EnvMap = std::map<std::string, std::string>;
using LabelMap = std::map<std::string, std::string>;

// When a failed attempt is tried again: up to `limit` more attempts, the
// n-th retry (n from 0) after random(0, min(max_ms, base_ms * 2^n)) ms (full
// jitter), for the kinds of failure named in `on`.
struct RetryPolicy {
  int limit = 0;
  std::int64_t base_ms = 1000;
  std::int64_t max_ms = 300'000;
  std::vector<std::string> on{"exit", "oom", "lost", "launch"};
};
// The failure kinds a RetryPolicy can name: a non-zero exit, an OOM kill, a
// container that vanished, an engine error at launch, a timeout.
inline const std::vector<std::string> kRetryKinds{"exit", "oom", "lost", "launch", "timeout"};

// Limits on a container. Zero or empty: none (the engine's default).
struct Resources {
  std::int64_t memory_bytes = 0;
  std::int64_t nano_cpus = 0;  // 1e9 = one CPU
  std::int64_t pids_limit = 0;
  std::string network;     // none, bridge, or a named network; "" = the engine's default
  bool read_only = false;  // read-only root filesystem
  std::string user;        // user[:group] inside the container; "" = the image's
  // Application only: the ids a job may run as ("MIN-MAX", both ends >= 1).
  // A job's own user must then be numeric UID:GID with both ids in range;
  // "" = no job chooses its user (see policy.hpp, job_user_excess).
  std::string job_users;
};

// Where an application's notifications go, and for which events:
// success, failure (every failed attempt), final-failure (the job ended
// without success: after its last retry, lost, timed out or skipped).
struct Webhooks {
  std::vector<std::string> urls;
  std::vector<std::string> on{"final-failure"};
};
// The last two are a schedule's (model/schedule.hpp): a slot of one of the
// application's schedules was missed or skipped.
inline const std::vector<std::string> kWebhookEvents{"success", "failure", "final-failure",
                                                     "slot-missed", "slot-skipped"};

// When jobqd pulls an application's image, as `docker run --pull`: when
// the engine does not have it (missing), before every launch (always), or
// never (a missing image is then a launch failure).
enum class PullPolicy { missing, always, never };
const char* to_string(PullPolicy p);
std::optional<PullPolicy> parse_pull_policy(const std::string& s);

// Where an application's runs may go, on a runtime that places them on
// nodes (Swarm): the scheduler's constraints, in its own syntax
// (node.labels.pool==batch, node.hostname!=db1), at most max_per_node of
// the application's jobs on one node at once (0: no limit; jobq adds the
// exclusions from what runs where), and how long a run may wait for a node
// before its job fails (0: as long as it takes).
struct Placement {
  std::vector<std::string> constraints;
  int max_per_node = 0;
  std::int64_t schedule_timeout_ms = 0;
};

// The runtime an application's jobs run on unless it names another.
inline constexpr const char* kDefaultRuntime = "docker";
// App::warm's value for a pool sized from the application's recent launches.
inline constexpr int kWarmAuto = -1;
inline constexpr int kMaxWarm = 1000;  // the most one application may ask for

struct App {
  std::string name;
  std::string image;
  std::string runtime = kDefaultRuntime;  // which runtime runs its jobs (runtime/runtimes.hpp)
  Placement placement;
  // Containers kept started and idle, each waiting for one of its jobs
  // (runtime/docker/warm_pool.hpp): 0 none, kWarmAuto sized from its
  // recent launches.
  int warm = 0;
  PullPolicy pull = PullPolicy::missing;
  int max_running = 0;  // 0 = unlimited
  EnvMap env;
  bool paused = false;          // no new launches; running jobs finish
  std::int64_t timeout_ms = 0;  // jobs run at most this long; 0 = no limit
  RetryPolicy retry;
  Resources resources;
  Webhooks webhooks;
  std::string created_at;
  std::string updated_at;
};

struct Attempt {
  std::int64_t job_id = 0;
  int number = 0;
  JobState state = JobState::starting;
  std::string container_name;  // the run's name (Runtime::run_name)
  std::string container_id;    // the container that ran it, where known
  std::string runtime;         // which runtime ran it ("docker")
  std::string run_id;          // the runtime's id of the run
  std::string node;            // where it ran (a host name); "" for this machine's engine
  std::string node_id;         // the scheduler's id of that node; "" when none
  std::string times_from;      // who recorded its times: "engine" or "scheduler"
  std::optional<int> exit_code;
  std::optional<bool> oom_killed;  // nullopt: its runtime could not tell
  std::string error;        // the engine's own message (Docker's State.Error), or the launch error
  std::string reason;       // why it ended as it did, when not plainly
  std::string waiting;      // why its run has not started yet (a scheduler's words); "" if not
  std::string started_at;   // the run's start as recorded (Docker's State.StartedAt), verbatim
  std::string finished_at;  // ... and its finish
  std::string created_at;   // when the launch intent was committed (daemon clock)
  // A warm run: when its container started, before its job was handed to it
  // (Docker's StartedAt; started_at is then the hand-off). "" for a cold run.
  std::string warm_started_at;
};

struct Job {
  std::int64_t id = 0;
  std::string app;
  JobState state = JobState::pending;
  std::string reason;  // why it ended as it did, when not plainly
  std::optional<int> exit_code;
  std::optional<std::vector<std::string>> command;  // nullopt: the image's default
  EnvMap env;
  std::optional<std::string> message;  // compact JSON text
  LabelMap labels;
  bool cancel_requested = false;
  std::string created_at;
  std::string updated_at;
  std::int64_t submitter_uid = -1;
  std::string submitter_name;
  int priority = 0;                       // higher first, within its application
  std::int64_t not_before_ns = 0;         // pending until then (unix ns); 0 = at once
  bool held = false;                      // pending and kept from starting (jobq hold)
  std::string key;                        // idempotency key, unique per application and submitter
  std::int64_t timeout_ms = 0;            // 0: the application's
  nlohmann::json retry = nullptr;         // fields that override the application's policy
  Resources resources;                    // lowers the application's (zero/empty: as it)
  int retries_used = 0;                   // automatic retries so far
  std::vector<std::int64_t> after;        // start only when all of these succeeded
  std::vector<std::int64_t> after_any;    // start only when all of these ended
  int waiting_on = 0;                     // dependencies not ended yet
  std::vector<std::int64_t> waiting_for;  // ... which they are (read with the job)
  std::int64_t cancelled_by_uid = -1;     // who asked to cancel it; -1: nobody (or not known)
  std::string cancelled_by_name;
  bool cancelled_by_admin = false;  // an admin other than its owner: only an admin may retry it
  std::string schedule;             // the schedule whose slot made it; "" for none
  std::int64_t slot = 0;            // ... and that slot (Unix seconds)
  std::vector<Attempt> attempts;
};

void to_json(nlohmann::json& j, const RetryPolicy& r);
void to_json(nlohmann::json& j, const Resources& r);
void to_json(nlohmann::json& j, const Webhooks& w);
void to_json(nlohmann::json& j, const App& a);
void to_json(nlohmann::json& j, const Attempt& a);
void to_json(nlohmann::json& j, const Job& job);

}  // namespace jobq
