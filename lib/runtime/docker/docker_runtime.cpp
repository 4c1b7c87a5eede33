#include "runtime/docker/docker_runtime.hpp"

#include <charconv>

#include "base/fault.hpp"
#include "base/time_util.hpp"
#include "runtime/docker/docker_engine.hpp"

namespace jobq {

namespace {

template <class T>
std::optional<T> label_number(const LabelMap& labels, const char* key) {
  const auto it = labels.find(key);
  if (it == labels.end()) return std::nullopt;
  T v{};
  const auto& s = it->second;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || v <= 0) return std::nullopt;
  return v;
}

// Whether an engine error says that the image is missing ("No such image").
bool is_missing_image(const EngineError& e) {
  return e.kind() == EngineError::Kind::not_found &&
         std::string_view(e.what()).find("No such image") != std::string_view::npos;
}
}  // namespace

std::string container_name_for(const std::string& instance, std::int64_t job_id, int attempt) {
  return "jobq-" + instance + "-" + std::to_string(job_id) + "-" + std::to_string(attempt);
}

LabelMap with_run_labels(LabelMap labels, const std::string& instance, const RunKey& key) {
  labels["jobq.job"] = std::to_string(key.job_id);
  labels["jobq.attempt"] = std::to_string(key.attempt);
  labels[kAppLabel] = key.app;
  labels[kInstanceLabel] = instance;
  return labels;
}

void read_run_labels(const LabelMap& labels, RunSummary& r) {
  r.job_id = label_number<std::int64_t>(labels, "jobq.job");
  r.attempt = label_number<int>(labels, "jobq.attempt");
}

bool never_ran(const ContainerState& st) {
  return st.status == "created" && parse_rfc3339_ns(st.started_at).value_or(0) <= 0;
}

RunStatus status_of(const ContainerState& st) {
  RunStatus out;
  out.id = st.id;
  out.container_id = st.id;
  out.exit_code = st.exit_code;
  out.oom_killed = st.oom_killed;
  out.message = st.error;
  out.started_at = st.started_at;
  out.finished_at = st.finished_at;
  out.times_from = TimeSource::engine;
  if (st.status == "created")
    out.phase = never_ran(st) && !st.error.empty() ? RunPhase::launch_failed : RunPhase::queued;
  else if (st.has_exited())
    out.phase = RunPhase::ended;
  else
    out.phase = RunPhase::running;
  // The exit code Docker also records when an engine restart found the
  // container's processes already gone (see Poller::engine_stop_reason).
  if (out.phase == RunPhase::ended && st.exit_code == 255)
    out.exit_note = "also what Docker reports for a container killed by an engine restart";
  return out;
}

ContainerState launch_container(ContainerEngine& engine, const RunSpec& spec,
                                const std::function<void(const std::string& id)>& on_created) {
  bool adopted = false;
  try {
    const std::string id = engine.create(spec);
    if (on_created) on_created(id);
    fault_point("after_create");
  } catch (const EngineError& e) {
    if (e.kind() != EngineError::Kind::conflict) throw;
    // The name is taken: an earlier launch of this very attempt got this far.
    adopted = true;
  }
  auto state = engine.inspect(spec.name);
  if (!state) throw EngineError(EngineError::Kind::server, 0, "container vanished after create");
  if (adopted && on_created) on_created(state->id);
  if (state->status == "created") {
    engine.start(spec.name);
    fault_point("after_start");
    state = engine.inspect(spec.name);
    if (!state) throw EngineError(EngineError::Kind::server, 0, "container vanished after start");
  }
  return *state;
}

void read_run_name(const std::string& instance, const std::string& name, RunSummary& r) {
  const std::string prefix = "jobq-" + instance + "-";
  if (name.rfind(prefix, 0) != 0) return;
  const std::string rest = name.substr(prefix.size());
  const auto dash = rest.find('-');
  if (dash == std::string::npos) return;
  LabelMap fake{{"jobq.job", rest.substr(0, dash)}, {"jobq.attempt", rest.substr(dash + 1)}};
  read_run_labels(fake, r);
}

DockerRuntime::DockerRuntime(ContainerEngine& engine, std::string instance, WarmOptions warm)
    : engine_(engine), instance_(std::move(instance)), warm_opts_(std::move(warm)) {
  if (!warm_opts_.root.empty()) warm_ = std::make_unique<WarmPool>(engine_, instance_, warm_opts_);
}

std::string DockerRuntime::run_name(std::int64_t job_id, int attempt) const {
  return container_name_for(instance_, job_id, attempt);
}

RunStatus DockerRuntime::launch(const RunKey& key, const RunSpec& spec,
                                const CreatedFn& on_created) {
  RunSpec labelled = spec;
  if (labelled.name.empty()) labelled.name = run_name(key.job_id, key.attempt);
  labelled.labels = with_run_labels(std::move(labelled.labels), instance_, key);
  try {
    if (warm_ && warm_opts_.enabled())
      if (auto st = warm_->hand_off(key, labelled, on_created)) return *st;
    const auto st = launch_container(engine_, labelled, [&](const std::string& id) {
      if (on_created) on_created(id, id);  // a container is its own run
    });
    // An earlier launch of this attempt took a warm container: finish its hand-off.
    if (st.labels.count(kWarmLabel)) {
      if (!warm_)
        throw EngineError(EngineError::Kind::rejected, 0,
                          spec.name + " is a warm container, and this jobqd keeps none");
      return warm_->finish(st, labelled);
    }
    return status_of(st);
  } catch (const EngineError& e) {
    if (!is_missing_image(e)) throw;
    throw EngineError(EngineError::Kind::no_image, e.http_status(), e.what());
  }
}

RunStatus DockerRuntime::status(const std::string& name) {
  const auto st = engine_.inspect(name);
  if (!st) return RunStatus{};
  if (st->labels.count(kWarmLabel)) return warm_status(warm_opts_.root, *st, status_of(*st));
  return status_of(*st);
}

void DockerRuntime::stop(const std::string& name, int grace_seconds) {
  engine_.stop(name, grace_seconds);
}

void DockerRuntime::output(const std::string& name, const LogOptions& opts, const LogChunkFn& sink,
                           const std::function<bool()>& keep_going) {
  engine_.stream_logs(name, opts, sink, keep_going);
}

void DockerRuntime::forget(const std::string& name) {
  engine_.remove(name);
}

std::vector<RunSummary> DockerRuntime::runs(bool over_only) {
  const auto containers = over_only ? engine_.list_exited(kInstanceLabel, instance_)
                                    : engine_.list(kInstanceLabel, instance_);
  std::vector<RunSummary> out;
  out.reserve(containers.size());
  for (const auto& c : containers) {
    RunSummary r;
    r.name = c.name;
    if (const auto w = c.labels.find(kWarmLabel); w != c.labels.end()) {
      if (w->second == c.name) continue;  // idle in its pool: no run yet
      read_run_name(instance_, c.name, r);
    } else {
      read_run_labels(c.labels, r);
    }
    r.over = c.state == "exited" || c.state == "dead";
    out.push_back(std::move(r));
  }
  return out;
}

void DockerRuntime::watch(const std::function<bool()>& keep_going, const EndFn& on_end,
                          const SignalFn& on_signal) {
  engine_.watch_deaths(instance_, keep_going, on_end, on_signal);
}

DockerRuntime::DockerRuntime(std::unique_ptr<ContainerEngine> engine, std::string instance,
                             WarmOptions warm)
    : owned_(std::move(engine)),
      engine_(*owned_),
      instance_(std::move(instance)),
      warm_opts_(std::move(warm)) {
  if (!warm_opts_.root.empty()) warm_ = std::make_unique<WarmPool>(engine_, instance_, warm_opts_);
}

void DockerRuntime::tend_warm(const std::vector<WarmTarget>& targets,
                              std::chrono::milliseconds idle_ttl,
                              const Runtime::MayStartFn& may_start) {
  if (warm_) warm_->tend(targets, idle_ttl, may_start);
}

std::map<std::string, int> DockerRuntime::warm_idle() {
  return warm_ ? warm_->idle() : std::map<std::string, int>{};
}

std::unique_ptr<Runtime> make_docker_runtime(const std::string& socket_path,
                                             const std::string& instance, WarmOptions warm) {
  return std::make_unique<DockerRuntime>(std::make_unique<DockerEngine>(socket_path), instance,
                                         std::move(warm));
}

}  // namespace jobq
