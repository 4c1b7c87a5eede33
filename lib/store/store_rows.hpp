// Internal to the store's .cpp files: how rows and JSON columns read back
// into records. Not part of the store's interface.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "model/model.hpp"
#include "model/placement.hpp"
#include "model/policy.hpp"
#include "store/sqlite_util.hpp"
#include "store/store.hpp"

namespace jobq::rows {

using nlohmann::json;
using sql::Stmt;

inline JobState state_of(const std::string& s) {
  auto st = parse_job_state(s);
  if (!st) throw StoreError(StoreError::Kind::io, "database holds an unknown job state: " + s);
  return *st;
}

// Why a job is skipped: what became of the dependency it needed.
inline std::string dependency_reason(std::int64_t dep_id, JobState state,
                                     const std::string& reason) {
  std::string s = "dependency " + std::to_string(dep_id) + " ";
  switch (state) {
    case JobState::failed:
      s += "failed";
      break;
    case JobState::lost:
      s += "was lost";
      break;
    case JobState::timed_out:
      s += "timed out";
      break;
    case JobState::cancelled:
      s += "was cancelled";
      break;
    case JobState::skipped:
      s += "was skipped";
      break;
    default:
      s += "ended " + std::string(to_string(state));
      break;
  }
  if (!reason.empty()) s += " (" + reason + ")";
  return s;
}

inline json spec_to_json(const RunSpec& s) {
  json j{{"name", s.name}, {"image", s.image}, {"env", s.env}, {"labels", s.labels}};
  j["cmd"] = s.cmd ? json(*s.cmd) : json(nullptr);
  j["resources"] = s.resources;
  j["placement"] = s.placement;
  return j;
}

inline RunSpec spec_from_json(const std::string& text) {
  const json j = json::parse(text);
  RunSpec s;
  s.name = j.at("name").get<std::string>();
  s.image = j.at("image").get<std::string>();
  s.env = j.at("env").get<std::vector<std::string>>();
  s.labels = j.at("labels").get<LabelMap>();
  if (!j.at("cmd").is_null()) s.cmd = j.at("cmd").get<std::vector<std::string>>();
  if (j.contains("resources")) s.resources = apply_resources({}, j.at("resources"));
  if (j.contains("placement")) s.placement = apply_placement({}, j.at("placement"));
  return s;
}

inline App read_app(const Stmt& st) {
  App a;
  a.name = st.text(0);
  a.image = st.text(1);
  a.max_running = st.i32(2);
  a.env = json::parse(st.text(3)).get<EnvMap>();
  a.created_at = st.text(4);
  a.updated_at = st.text(5);
  a.paused = st.i64(6) != 0;
  a.timeout_ms = st.i64(7);
  a.retry = apply_retry({}, json::parse(st.text(8)));
  a.resources = apply_resources({}, json::parse(st.text(9)));
  a.webhooks = apply_webhooks({}, json::parse(st.text(10)));
  a.pull = parse_pull_policy(st.text(11)).value_or(PullPolicy::missing);
  a.runtime = st.text(12);
  a.placement = apply_placement({}, json::parse(st.text(13)));
  a.warm = st.i32(14);
  return a;
}

inline constexpr const char* kAppColumns =
    "name, image, max_running, env, created_at, updated_at, paused, timeout_ms, retry, resources, "
    "webhooks, pull, runtime, placement, warm";

inline constexpr const char* kJobColumns =
    "id, app, state, reason, exit_code, command, env, message, labels, cancel_requested, "
    "created_at, updated_at, submitter_uid, submitter_name, priority, not_before_ns, held, "
    "idem_key, timeout_ms, retry, resources, retries_used, waiting_on, cancelled_by_uid, "
    "cancelled_by_name, cancelled_by_admin, schedule, slot";

inline Job read_job(const Stmt& st) {
  Job j;
  j.id = st.i64(0);
  j.app = st.text(1);
  j.state = state_of(st.text(2));
  j.reason = st.text(3);
  if (auto code = st.opt_i64(4)) j.exit_code = static_cast<int>(*code);
  if (!st.is_null(5)) j.command = json::parse(st.text(5)).get<std::vector<std::string>>();
  j.env = json::parse(st.text(6)).get<EnvMap>();
  if (!st.is_null(7)) j.message = st.text(7);
  j.labels = json::parse(st.text(8)).get<LabelMap>();
  j.cancel_requested = st.i64(9) != 0;
  j.created_at = st.text(10);
  j.updated_at = st.text(11);
  j.submitter_uid = st.i64(12);
  j.submitter_name = st.text(13);
  j.priority = st.i32(14);
  j.not_before_ns = st.i64(15);
  j.held = st.i64(16) != 0;
  j.key = st.text(17);
  j.timeout_ms = st.i64(18);
  if (!st.is_null(19)) j.retry = json::parse(st.text(19));
  j.resources = apply_resources({}, json::parse(st.text(20)));
  j.retries_used = st.i32(21);
  j.waiting_on = st.i32(22);
  j.cancelled_by_uid = st.i64(23);
  j.cancelled_by_name = st.text(24);
  j.cancelled_by_admin = st.i64(25) != 0;
  j.schedule = st.text(26);
  j.slot = st.i64(27);
  return j;
}

}  // namespace jobq::rows
