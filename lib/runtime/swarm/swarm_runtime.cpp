#include "runtime/swarm/swarm_runtime.hpp"

#include <algorithm>
#include <thread>

#include "base/log_filter.hpp"
#include "base/time_util.hpp"
#include "model/placement.hpp"
#include "runtime/docker/docker_runtime.hpp"

namespace jobq {

using nlohmann::json;

namespace {

constexpr const char* kInstance = kInstanceLabel;
constexpr const char* kApp = kAppLabel;

std::string text(const json& j, const char* key) {
  const auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

const json& member(const json& j, const char* key) {
  static const json none = json::object();
  const auto it = j.find(key);
  return it != j.end() && it->is_object() ? *it : none;
}

bool starts_with(const std::string& s, const char* prefix) {
  return s.rfind(prefix, 0) == 0;
}

bool task_over(const json& task) {
  static const std::set<std::string> over{"complete", "failed", "rejected",
                                          "shutdown", "remove", "orphaned"};
  return over.count(text(member(task, "Status"), "State")) > 0;
}

// The task a service's run is: the newest (a Replicated service with restart
// condition none has one, but a manager may have made another).
std::optional<json> newest(const std::vector<json>& tasks, const std::string& service_id) {
  std::optional<json> best;
  for (const auto& t : tasks) {
    if (!service_id.empty() && text(t, "ServiceID") != service_id) continue;
    if (!best || text(t, "CreatedAt") > text(*best, "CreatedAt")) best = t;
  }
  return best;
}

LabelMap labels_of(const json& j) {
  LabelMap out;
  if (j.is_object())
    for (const auto& [k, v] : j.items())
      if (v.is_string()) out[k] = v.get<std::string>();
  return out;
}

}  // namespace

SwarmNode node_from_json(const json& node) {
  SwarmNode n;
  n.id = text(node, "ID");
  const json& desc = member(node, "Description");
  const json& spec = member(node, "Spec");
  n.hostname = text(desc, "Hostname");
  n.usable =
      text(member(node, "Status"), "State") == "ready" && text(spec, "Availability") == "active";
  n.attributes["node.id"] = n.id;
  n.attributes["node.hostname"] = n.hostname;
  n.attributes["node.role"] = text(spec, "Role");
  n.attributes["node.platform.os"] = text(member(desc, "Platform"), "OS");
  n.attributes["node.platform.arch"] = text(member(desc, "Platform"), "Architecture");
  for (const auto& [k, v] : labels_of(member(spec, "Labels"))) n.attributes["node.labels." + k] = v;
  for (const auto& [k, v] : labels_of(member(member(desc, "Engine"), "Labels")))
    n.attributes["engine.labels." + k] = v;
  return n;
}

int placement_room(const std::vector<SwarmNode>& nodes, const std::vector<std::string>& constraints,
                   int max_per_node, const std::map<std::string, int>& on_node, int unplaced) {
  int room = 0;
  for (const auto& n : nodes) {
    if (!n.usable || !satisfies(n.attributes, constraints)) continue;
    const auto it = on_node.find(n.id);
    const int there = it == on_node.end() ? 0 : it->second;
    room += std::max(0, max_per_node - there - unplaced);
  }
  return room;
}

json service_spec(const std::string& instance, const RunKey& key, const RunSpec& spec,
                  int stop_grace_seconds, const std::vector<std::string>& excluded_nodes) {
  const json labels = with_run_labels(spec.labels, instance, key);
  json container{{"Image", spec.image},
                 {"Env", spec.env},
                 {"Labels", labels},
                 {"StopGracePeriod", std::int64_t{stop_grace_seconds} * 1'000'000'000}};
  if (spec.cmd) container["Args"] = *spec.cmd;  // the image's entrypoint stays, as with docker run
  const Resources& r = spec.resources;
  if (!r.user.empty()) container["User"] = r.user;
  if (r.read_only) container["ReadOnly"] = true;
  json limits = json::object(), reservations = json::object();
  if (r.nano_cpus > 0) limits["NanoCPUs"] = reservations["NanoCPUs"] = r.nano_cpus;
  if (r.memory_bytes > 0) limits["MemoryBytes"] = reservations["MemoryBytes"] = r.memory_bytes;
  if (r.pids_limit > 0) limits["Pids"] = r.pids_limit;
  json constraints = spec.placement.constraints;
  for (const auto& id : excluded_nodes) constraints.push_back("node.id!=" + id);
  json task{{"ContainerSpec", container},
            {"Resources", {{"Limits", limits}, {"Reservations", reservations}}},
            {"RestartPolicy", {{"Condition", "none"}}},
            {"Placement", {{"Constraints", constraints}}}};
  if (!r.network.empty()) task["Networks"] = json::array({{{"Target", r.network}}});
  return json{{"Name", spec.name},
              {"Labels", labels},
              {"Mode", {{"Replicated", {{"Replicas", 1}}}}},
              {"TaskTemplate", task}};
}

RunStatus status_of_task(const json& task) {
  RunStatus st;
  const json& s = member(task, "Status");
  const std::string state = text(s, "State");
  const std::string err = text(s, "Err");
  const std::string at = text(s, "Timestamp");
  const json& cs = member(s, "ContainerStatus");
  st.container_id = text(cs, "ContainerID");
  if (const auto it = cs.find("ExitCode"); it != cs.end() && it->is_number_integer())
    st.exit_code = it->get<int>();
  st.node_id = text(task, "NodeID");
  st.times_from = TimeSource::scheduler;
  st.oom_killed = std::nullopt;  // a task never says
  if (state == "new" || state == "allocated" || state == "pending" || state == "assigned") {
    st.phase = RunPhase::queued;
    st.message = err;  // "no suitable node (...)"
  } else if (state == "accepted" || state == "preparing" || state == "ready" ||
             state == "starting") {
    st.phase = RunPhase::starting;
  } else if (state == "running") {
    st.phase = RunPhase::running;
    st.started_at = at;  // when it became running
  } else if (state == "rejected" ||
             (state == "failed" && starts_with(err, "starting container failed"))) {
    st.phase = RunPhase::launch_failed;  // no image, no such command, no such user...
    st.message = err;
    st.finished_at = at;
  } else {
    st.phase = RunPhase::ended;
    st.finished_at = at;  // when its node reported the end (its start is not kept)
    if (state == "orphaned")
      st.message = "its node was lost (Swarm gave up on the task)";
    else if (state == "failed" && !starts_with(err, "task: non-zero exit"))
      st.message = err;  // not an ordinary exit
  }
  return st;
}

SwarmRuntime::SwarmRuntime(SwarmApi& api, ContainerEngine& manager, std::string instance,
                           SwarmOptions opts)
    : api_(api), manager_(manager), instance_(std::move(instance)), opts_(opts) {}

Capabilities SwarmRuntime::capabilities() const {
  Capabilities c;
  c.pulls_images = false;  // each node gets its image (from a registry)
  c.exact_times = false;   // only on the manager's own node
  c.oom_flag = false;      // likewise
  c.end_events = false;    // API 1.41 has no task events
  c.follow = true;
  c.remote_nodes = true;
  return c;
}

std::string SwarmRuntime::run_name(std::int64_t job_id, int attempt) const {
  return container_name_for(instance_, job_id, attempt);
}

std::mutex& SwarmRuntime::app_lock(const std::string& app) {
  std::lock_guard lock(mu_);
  auto& m = app_locks_[app];
  if (!m) m = std::make_unique<std::mutex>();
  return *m;
}

RunStatus SwarmRuntime::launch(const RunKey& key, const RunSpec& spec,
                               const CreatedFn& on_created) {
  if (spec.resources.network == "none")
    throw EngineError(EngineError::Kind::rejected, 0,
                      "a Swarm service cannot run without a network (Swarm refuses 'none'); "
                      "give the application another --network");
  std::string id;
  if (const auto existing = api_.service(spec.name)) {
    id = text(*existing, "ID");  // an earlier launch of this attempt made it
  } else if (spec.placement.max_per_node <= 0) {
    try {
      id = api_.create_service(service_spec(instance_, key, spec, opts_.stop_grace_seconds, {}));
    } catch (const EngineError& e) {
      if (e.kind() != EngineError::Kind::conflict) throw;
    }
  } else {
    // One launch of this application at a time, each seeing where the
    // earlier ones went.
    std::lock_guard one_at_a_time(app_lock(key.app));
    {
      std::lock_guard lock(mu_);
      ++placed_[key.app].launching;
    }
    struct Done {
      SwarmRuntime& rt;
      const std::string& app;
      ~Done() {
        std::lock_guard lock(rt.mu_);
        auto& p = rt.placed_[app];
        --p.launching;
        p.launched.push_back(std::chrono::steady_clock::now());
      }
    } done{*this, key.app};
    const auto excluded = full_nodes(key, spec.placement);
    try {
      id = api_.create_service(
          service_spec(instance_, key, spec, opts_.stop_grace_seconds, excluded));
    } catch (const EngineError& e) {
      if (e.kind() != EngineError::Kind::conflict) throw;
    }
  }
  if (id.empty()) {  // the name was taken: an earlier launch's, adopted
    const auto existing = api_.service(spec.name);
    if (!existing)
      throw EngineError(EngineError::Kind::server, 0,
                        "service " + spec.name + " was taken, then gone: try again");
    id = text(*existing, "ID");
  }
  if (on_created) on_created(id, "");
  RunStatus st = status(spec.name);
  if (!st.exists()) {  // made and gone at once: someone removed it
    st.phase = RunPhase::queued;
    st.id = id;
  }
  return st;
}

std::vector<std::string> SwarmRuntime::full_nodes(const RunKey& key, const Placement& placement) {
  // The application's tasks that have no node yet may land on any: wait a
  // little for Swarm to place them, then count them against every node.
  const auto deadline = std::chrono::steady_clock::now() + opts_.settle;
  std::map<std::string, std::map<std::string, int>> on_node;
  std::map<std::string, int> unplaced;
  for (;;) {
    on_node.clear();
    unplaced.clear();
    count_tasks(on_node, unplaced);
    if (unplaced[key.app] == 0 || std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  std::vector<std::string> full;
  int usable = 0;
  for (const auto& n : usable_nodes()) {
    if (!satisfies(n.attributes, placement.constraints)) continue;
    ++usable;
    const int there = on_node[key.app][n.id] + unplaced[key.app];
    if (there >= placement.max_per_node) full.push_back(n.id);
  }
  if (usable > 0 && static_cast<int>(full.size()) == usable)
    throw EngineError(EngineError::Kind::server, 0,
                      "every node application " + key.app + " may use runs " +
                          std::to_string(placement.max_per_node) +
                          " of its jobs (--max-per-node); the launch waits for room");
  return full;
}

void SwarmRuntime::count_tasks(std::map<std::string, std::map<std::string, int>>& on_node,
                               std::map<std::string, int>& unplaced) {
  const json by_label{{"label", {std::string(kInstance) + "=" + instance_}}};
  const auto services = api_.services(by_label);
  const auto tasks = api_.tasks(by_label);
  for (const auto& svc : services) {
    const std::string id = text(svc, "ID");
    const LabelMap labels = labels_of(member(member(svc, "Spec"), "Labels"));
    const auto app = labels.find(kApp);
    if (app == labels.end()) continue;
    const auto task = newest(tasks, id);
    if (task && task_over(*task)) continue;
    const std::string node = task ? text(*task, "NodeID") : std::string();
    if (node.empty())
      ++unplaced[app->second];
    else
      ++on_node[app->second][node];
  }
}

std::vector<SwarmNode> SwarmRuntime::usable_nodes() {
  std::vector<SwarmNode> out;
  std::lock_guard lock(mu_);
  for (const auto& j : api_.nodes()) {
    SwarmNode n = node_from_json(j);
    hostnames_[n.id] = n.hostname;
    if (n.usable) out.push_back(std::move(n));
  }
  return out;
}

std::optional<int> SwarmRuntime::placement_room(const App& app) {
  if (app.placement.max_per_node <= 0) return std::nullopt;
  std::lock_guard lock(mu_);
  auto& p = placed_[app.name];
  p.placement = app.placement;
  if (!p.seen) return 0;  // counted at the next refresh
  return std::max(0, p.room - p.launching - static_cast<int>(p.launched.size()));
}

void SwarmRuntime::refresh_placement() {
  std::vector<std::string> apps;
  {
    std::lock_guard lock(mu_);
    const auto now = std::chrono::steady_clock::now();
    if (placed_.empty() || now - refreshed_at_ < opts_.placement_refresh) return;
    refreshed_at_ = now;
    for (const auto& [name, p] : placed_) apps.push_back(name);
  }
  const auto began = std::chrono::steady_clock::now();
  std::map<std::string, std::map<std::string, int>> on_node;
  std::map<std::string, int> unplaced;
  count_tasks(on_node, unplaced);
  const auto nodes = usable_nodes();
  std::lock_guard lock(mu_);
  for (const auto& name : apps) {
    auto& p = placed_[name];
    p.room = jobq::placement_room(nodes, p.placement.constraints, p.placement.max_per_node,
                                  on_node[name], unplaced[name]);
    p.seen = true;
    // Launches that ended before this count began are in it.
    std::erase_if(p.launched, [&](const auto& at) { return at < began; });
  }
}

std::string SwarmRuntime::manager_node() {
  {
    std::lock_guard lock(mu_);
    if (!manager_node_.empty()) return manager_node_;
  }
  const json info = api_.info();
  const std::string id = text(member(info, "Swarm"), "NodeID");
  std::lock_guard lock(mu_);
  manager_node_ = id;
  return id;
}

std::string SwarmRuntime::hostname_of(const std::string& node_id) {
  if (node_id.empty()) return "";
  {
    std::lock_guard lock(mu_);
    if (const auto it = hostnames_.find(node_id); it != hostnames_.end()) return it->second;
  }
  usable_nodes();  // learns every node's name
  std::lock_guard lock(mu_);
  const auto it = hostnames_.find(node_id);
  return it != hostnames_.end() ? it->second : node_id.substr(0, 12);
}

std::optional<json> SwarmRuntime::latest_task(const std::string& service_id) {
  return newest(api_.tasks(json{{"service", {service_id}}}), service_id);
}

RunStatus SwarmRuntime::status_of(const std::string& service_id, const json& task) {
  RunStatus st = status_of_task(task);
  st.id = service_id;
  st.node = hostname_of(st.node_id);
  const bool seen_run = st.phase == RunPhase::running || st.over();
  if (seen_run && !st.container_id.empty() && !st.node_id.empty() && st.node_id == manager_node()) {
    // On the manager's own node: the container's own record.
    if (const auto c = manager_.inspect(st.container_id)) {
      st.times_from = TimeSource::engine;
      if (parse_rfc3339_ns(c->started_at).value_or(0) > 0) st.started_at = c->started_at;
      if (st.over()) {
        st.finished_at = c->finished_at;
        st.oom_killed = c->oom_killed;
        if (st.phase == RunPhase::launch_failed && st.message.empty()) st.message = c->error;
      }
    }
  }
  return st;
}

RunStatus SwarmRuntime::status(const std::string& name) {
  {
    std::lock_guard lock(mu_);
    if (const auto it = ended_.find(name); it != ended_.end()) return it->second.status;
  }
  const auto svc = api_.service(name);
  if (!svc) return RunStatus{};
  const std::string id = text(*svc, "ID");
  const auto task = latest_task(id);
  if (!task) {  // made; Swarm has not made its task yet
    RunStatus st;
    st.phase = RunPhase::queued;
    st.id = id;
    st.times_from = TimeSource::scheduler;
    st.oom_killed = std::nullopt;
    return st;
  }
  return status_of(id, *task);
}

void SwarmRuntime::stop(const std::string& name, int grace_seconds) {
  const RunStatus st = status(name);
  if (!st.exists() || st.over()) return;
  if (!st.container_id.empty() && !st.node_id.empty() && st.node_id == manager_node()) {
    manager_.stop(st.container_id, grace_seconds);  // the task fails; its record stays
    return;
  }
  // Elsewhere Swarm stops a task only by removing its service, which takes
  // the task's record and output with it: read what can be read first.
  Ended e;
  if (const auto svc = api_.service(name))
    e.labels = labels_of(member(member(*svc, "Spec"), "Labels"));
  LogOptions with_times;
  with_times.timestamps = true;
  try {
    api_.service_logs(
        name, with_times,
        [&](LogStream s, std::string_view bytes) {
          (s == LogStream::stdout_stream ? e.output_stdout : e.output_stderr).append(bytes);
        },
        [] { return true; });
  } catch (const EngineError&) {
  }
  e.status = st;
  e.status.phase = RunPhase::ended;
  e.status.exit_code = 137;
  e.status.finished_at = now_rfc3339();
  e.status.times_from = TimeSource::scheduler;
  e.status.oom_killed = std::nullopt;
  e.status.stop_note =
      "stopped by removing its service: Swarm cannot stop one task on a node other than the "
      "manager's; its output was read just before";
  {
    std::lock_guard lock(mu_);
    ended_[name] = std::move(e);
  }
  api_.remove_service(name);
}

void SwarmRuntime::output(const std::string& name, const LogOptions& opts, const LogChunkFn& sink,
                          const std::function<bool()>& keep_going) {
  {
    std::unique_lock lock(mu_);
    if (const auto it = ended_.find(name); it != ended_.end()) {
      const Ended e = it->second;
      lock.unlock();
      const LogFilter f{opts.tail, opts.since_ns, opts.timestamps};
      for (const auto& [stream, data] : {std::pair{LogStream::stdout_stream, &e.output_stdout},
                                         std::pair{LogStream::stderr_stream, &e.output_stderr}}) {
        const std::string shown = filter_log(*data, true, f);
        if (!shown.empty()) sink(stream, shown);
      }
      return;
    }
  }
  if (!opts.follow) {
    api_.service_logs(name, opts, sink, keep_going);
    return;
  }
  // Swarm's follow never ends by itself: it ends here a second after the
  // task is seen over (what it wrote last has arrived by then).
  using clock = std::chrono::steady_clock;
  auto next_look = clock::now() + std::chrono::seconds(1);
  std::optional<clock::time_point> over_at;
  const std::function<bool()> go = [&] {
    if (keep_going && !keep_going()) return false;
    const auto now = clock::now();
    if (over_at) return now < *over_at + std::chrono::seconds(1);
    if (now >= next_look) {
      next_look = now + std::chrono::seconds(1);
      try {
        const RunStatus st = status(name);
        if (!st.exists() || st.over()) over_at = now;
      } catch (const EngineError&) {
      }
    }
    return true;
  };
  api_.service_logs(name, opts, sink, go);
}

void SwarmRuntime::forget(const std::string& name) {
  api_.remove_service(name);
  std::lock_guard lock(mu_);
  ended_.erase(name);
}

std::vector<RunSummary> SwarmRuntime::runs(bool over_only) {
  const json by_label{{"label", {std::string(kInstance) + "=" + instance_}}};
  const auto services = api_.services(by_label);
  const auto tasks = api_.tasks(by_label);
  std::vector<RunSummary> out;
  std::set<std::string> names;
  for (const auto& svc : services) {
    const json& spec = member(svc, "Spec");
    const LabelMap labels = labels_of(member(spec, "Labels"));
    const auto task = newest(tasks, text(svc, "ID"));
    RunSummary r;
    r.name = text(spec, "Name");
    read_run_labels(labels, r);
    r.over = task && task_over(*task);
    names.insert(r.name);
    if (!over_only || r.over) out.push_back(std::move(r));
  }
  std::lock_guard lock(mu_);
  for (const auto& [name, e] : ended_) {
    if (names.count(name)) continue;
    RunSummary r;
    r.name = name;
    r.over = true;
    read_run_labels(e.labels, r);
    out.push_back(std::move(r));
  }
  return out;
}

void SwarmRuntime::watch(const std::function<bool()>&, const EndFn&, const SignalFn&) {
  throw EngineError(EngineError::Kind::rejected, 0, "Swarm's API gives no task events");
}

std::string SwarmRuntime::ping() {
  const std::string version = manager_.ping();
  const json info = api_.info();
  const json& swarm = member(info, "Swarm");
  if (!swarm.value("ControlAvailable", false))
    throw EngineError(EngineError::Kind::rejected, 0,
                      "the engine answers but is not a swarm manager (its swarm state: " +
                          (text(swarm, "LocalNodeState").empty() ? std::string("unknown")
                                                                 : text(swarm, "LocalNodeState")) +
                          "); run `docker swarm init`, or point jobqd --swarm-host at a manager");
  return version;
}

}  // namespace jobq
