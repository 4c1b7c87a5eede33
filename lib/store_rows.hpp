// Internal to the store's .cpp files: how rows and JSON columns read back
// into records. Not part of the store's interface.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "model.hpp"
#include "sqlite_util.hpp"
#include "store.hpp"

namespace jobq::rows {

using nlohmann::json;
using sql::Stmt;

inline JobState state_of(const std::string& s) {
  auto st = parse_job_state(s);
  if (!st) throw StoreError(StoreError::Kind::io, "database holds an unknown job state: " + s);
  return *st;
}

inline json spec_to_json(const ContainerSpec& s) {
  json j{{"name", s.name}, {"image", s.image}, {"env", s.env}, {"labels", s.labels}};
  j["cmd"] = s.cmd ? json(*s.cmd) : json(nullptr);
  return j;
}

inline ContainerSpec spec_from_json(const std::string& text) {
  const json j = json::parse(text);
  ContainerSpec s;
  s.name = j.at("name").get<std::string>();
  s.image = j.at("image").get<std::string>();
  s.env = j.at("env").get<std::vector<std::string>>();
  s.labels = j.at("labels").get<LabelMap>();
  if (!j.at("cmd").is_null()) s.cmd = j.at("cmd").get<std::vector<std::string>>();
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
  return a;
}

inline constexpr const char* kAppColumns =
    "name, image, max_running, env, created_at, updated_at, paused, timeout_ms";

inline constexpr const char* kJobColumns =
    "id, app, state, reason, exit_code, command, env, message, labels, cancel_requested, "
    "created_at, updated_at, submitter_uid, submitter_name, priority, not_before_ns, held, "
    "idem_key, timeout_ms";

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
  return j;
}

}  // namespace jobq::rows
