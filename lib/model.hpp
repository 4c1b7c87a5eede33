// The records jobq keeps: applications, jobs, attempts. Plain data; the JSON
// form (to_json) is the documented --json schema (see docs/protocol.md):
// adding a field is compatible, renaming or removing one bumps kSchemaVersion.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "job_state.hpp"

namespace jobq {

inline constexpr int kSchemaVersion = 1;

using EnvMap = std::map<std::string, std::string>;
using LabelMap = std::map<std::string, std::string>;

struct App {
  std::string name;
  std::string image;
  int max_running = 0;  // 0 = unlimited
  EnvMap env;
  bool paused = false;  // no new launches; running jobs finish
  std::int64_t timeout_ms = 0;  // jobs run at most this long; 0 = no limit
  std::string created_at;
  std::string updated_at;
};

struct Attempt {
  std::int64_t job_id = 0;
  int number = 0;
  JobState state = JobState::starting;
  std::string container_name;
  std::string container_id;
  std::optional<int> exit_code;
  bool oom_killed = false;
  std::string error;        // Docker's State.Error, or the launch error
  std::string started_at;   // Docker's State.StartedAt, verbatim
  std::string finished_at;  // Docker's State.FinishedAt, verbatim
  std::string created_at;   // when the launch intent was committed (daemon clock)
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
  int priority = 0;              // higher first, within its application
  std::int64_t not_before_ns = 0;  // pending until then (unix ns); 0 = at once
  bool held = false;             // pending and kept from starting (jobq hold)
  std::string key;               // idempotency key, unique per application
  std::int64_t timeout_ms = 0;   // 0: the application's
  std::vector<Attempt> attempts;
};

void to_json(nlohmann::json& j, const App& a);
void to_json(nlohmann::json& j, const Attempt& a);
void to_json(nlohmann::json& j, const Job& job);

// Container name of an attempt: deterministic, so a launch can be retried and
// adopted without ever creating a second container for the same attempt. The
// instance id (made once per store) keeps two daemons on one engine apart.
std::string container_name_for(const std::string& instance, std::int64_t job_id, int attempt);

}  // namespace jobq
