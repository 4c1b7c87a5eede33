#include "model/model.hpp"

#include "model/placement.hpp"

#include "base/time_util.hpp"

namespace jobq {

namespace {
nlohmann::json optional_string(const std::string& s) {
  return s.empty() ? nlohmann::json(nullptr) : nlohmann::json(s);
}

// An RFC 3339 time as Unix nanoseconds; null when unset, Docker's zero time
// or malformed.
nlohmann::json unix_ns(const std::string& s) {
  const auto ns = parse_rfc3339_ns(s);
  return ns ? nlohmann::json(*ns) : nlohmann::json(nullptr);
}

// Milliseconds from one time to another, never negative (Docker may report
// an instant container's FinishedAt a little before its StartedAt); null
// when either is not known.
nlohmann::json ms_between(const std::string& from, const std::string& to) {
  const auto a = parse_rfc3339_ns(from), b = parse_rfc3339_ns(to);
  if (!a || !b) return nullptr;
  return *b > *a ? (*b - *a) / 1'000'000 : 0;
}
}  // namespace

void to_json(nlohmann::json& j, const RetryPolicy& r) {
  j = nlohmann::json{
      {"limit", r.limit}, {"base_ms", r.base_ms}, {"max_ms", r.max_ms}, {"on", r.on}};
}

void to_json(nlohmann::json& j, const Resources& r) {
  j = nlohmann::json{{"memory_bytes", r.memory_bytes}, {"nano_cpus", r.nano_cpus},
                     {"pids_limit", r.pids_limit},     {"network", r.network},
                     {"read_only", r.read_only},       {"user", r.user},
                     {"job_users", r.job_users}};
}

void to_json(nlohmann::json& j, const Webhooks& w) {
  j = nlohmann::json{{"urls", w.urls}, {"on", w.on}};
}

const char* to_string(PullPolicy p) {
  switch (p) {
    case PullPolicy::always:
      return "always";
    case PullPolicy::never:
      return "never";
    case PullPolicy::missing:
      break;
  }
  return "missing";
}

std::optional<PullPolicy> parse_pull_policy(const std::string& s) {
  for (const auto p : {PullPolicy::missing, PullPolicy::always, PullPolicy::never})
    if (s == to_string(p)) return p;
  return std::nullopt;
}

void to_json(nlohmann::json& j, const App& a) {
  j = nlohmann::json{
      {"name", a.name},
      {"image", a.image},
      {"pull", to_string(a.pull)},
      {"runtime", a.runtime},
      {"placement", a.placement},
      {"warm", a.warm == kWarmAuto ? nlohmann::json("auto") : nlohmann::json(a.warm)},
      {"max_running", a.max_running},
      {"env", a.env},
      {"paused", a.paused},
      {"timeout_ms", a.timeout_ms},
      {"retry", a.retry},
      {"resources", a.resources},
      {"webhooks", a.webhooks},
      {"created_at", a.created_at},
      {"updated_at", a.updated_at}};
}

void to_json(nlohmann::json& j, const Attempt& a) {
  j = nlohmann::json{{"number", a.number},
                     {"state", to_string(a.state)},
                     {"container_name", a.container_name},
                     {"container_id", optional_string(a.container_id)},
                     {"runtime", a.runtime},
                     {"run_id", optional_string(a.run_id)},
                     {"node", optional_string(a.node)},
                     {"node_id", optional_string(a.node_id)},
                     {"times_from", a.times_from},
                     {"exit_code", a.exit_code ? nlohmann::json(*a.exit_code) : nullptr},
                     {"oom_killed", a.oom_killed ? nlohmann::json(*a.oom_killed) : nullptr},
                     {"error", optional_string(a.error)},
                     {"started_at", optional_string(a.started_at)},
                     {"finished_at", optional_string(a.finished_at)},
                     {"started_ns", unix_ns(a.started_at)},
                     {"finished_ns", unix_ns(a.finished_at)},
                     {"run_ms", ms_between(a.started_at, a.finished_at)},
                     {"reason", optional_string(a.reason)},
                     {"waiting", optional_string(a.waiting)},
                     {"warm", !a.warm_started_at.empty()},
                     {"warm_started_at", optional_string(a.warm_started_at)},
                     {"created_at", a.created_at}};
}

void to_json(nlohmann::json& j, const Job& job) {
  nlohmann::json message = nullptr;
  if (job.message) message = nlohmann::json::parse(*job.message, nullptr, false);
  const Attempt* last = job.attempts.empty() ? nullptr : &job.attempts.back();
  const std::string none;
  const std::string& started = last ? last->started_at : none;
  const std::string& finished = last ? last->finished_at : none;
  // Queue time: from the enqueue to the first attempt's start.
  const std::string& first_started = job.attempts.empty() ? none : job.attempts.front().started_at;
  j = nlohmann::json{
      {"id", job.id},
      {"app", job.app},
      {"state", to_string(job.state)},
      {"reason", optional_string(job.reason)},
      {"exit_code", job.exit_code ? nlohmann::json(*job.exit_code) : nullptr},
      {"oom_killed", !last              ? nlohmann::json(false)
                     : last->oom_killed ? nlohmann::json(*last->oom_killed)
                                        : nlohmann::json(nullptr)},
      {"node", last ? optional_string(last->node) : nlohmann::json(nullptr)},
      {"node_id", last ? optional_string(last->node_id) : nlohmann::json(nullptr)},
      {"command", job.command ? nlohmann::json(*job.command) : nullptr},
      {"env", job.env},
      {"message", message},
      {"labels", job.labels},
      {"cancel_requested", job.cancel_requested},
      {"created_at", job.created_at},
      {"updated_at", job.updated_at},
      {"started_at", optional_string(started)},
      {"finished_at", optional_string(finished)},
      {"created_ns", unix_ns(job.created_at)},
      {"started_ns", unix_ns(started)},
      {"finished_ns", unix_ns(finished)},
      {"run_ms", ms_between(started, finished)},
      {"queue_ms", ms_between(job.created_at, first_started)},
      {"submitted_by", {{"uid", job.submitter_uid}, {"user", job.submitter_name}}},
      {"priority", job.priority},
      {"not_before", job.not_before_ns > 0 ? nlohmann::json(format_unix_ns(job.not_before_ns))
                                           : nlohmann::json(nullptr)},
      {"not_before_ns",
       job.not_before_ns > 0 ? nlohmann::json(job.not_before_ns) : nlohmann::json(nullptr)},
      {"held", job.held},
      {"key", optional_string(job.key)},
      {"timeout_ms", job.timeout_ms},
      {"retry", job.retry},
      {"retries_used", job.retries_used},
      {"resources", job.resources},
      {"after", job.after},
      {"after_any", job.after_any},
      {"waiting_on", job.waiting_on},
      {"cancelled_by", job.cancelled_by_uid < 0
                           ? nlohmann::json(nullptr)
                           : nlohmann::json{{"uid", job.cancelled_by_uid},
                                            {"user", job.cancelled_by_name},
                                            {"admin", job.cancelled_by_admin}}},
      {"schedule", optional_string(job.schedule)},
      {"slot", job.slot > 0 ? nlohmann::json(format_unix_s(job.slot)) : nlohmann::json(nullptr)},
      {"attempts", job.attempts},
  };
}

}  // namespace jobq
