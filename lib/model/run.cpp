#include "model/run.hpp"

#include "base/time_util.hpp"
#include "model/policy.hpp"

namespace jobq {

RunSpec run_spec_for(const App& app, const Job& job, int attempt) {
  RunSpec spec;
  spec.image = app.image;
  spec.cmd = job.command;
  EnvMap env = app.env;
  for (const auto& [k, v] : job.env) env[k] = v;
  env["JOBQ_JOB_ID"] = std::to_string(job.id);
  env["JOBQ_APP"] = job.app;
  env["JOBQ_ATTEMPT"] = std::to_string(attempt);
  if (job.message) env["JOBQ_MESSAGE"] = *job.message;
  for (const auto& [k, v] : env) spec.env.push_back(k + "=" + v);
  spec.labels = job.labels;
  spec.resources = effective_resources(app.resources, job.resources);
  spec.placement = app.placement;
  return spec;
}

const char* to_string(TimeSource s) {
  switch (s) {
    case TimeSource::scheduler:
      return "scheduler";
    case TimeSource::handoff:
      return "handoff";
    case TimeSource::engine:
      break;
  }
  return "engine";
}

std::optional<TimeSource> parse_time_source(const std::string& s) {
  if (s == "engine") return TimeSource::engine;
  if (s == "scheduler") return TimeSource::scheduler;
  if (s == "handoff") return TimeSource::handoff;
  return std::nullopt;
}

bool RunStatus::started() const {
  return parse_rfc3339_ns(started_at).value_or(0) > 0;
}

}  // namespace jobq
