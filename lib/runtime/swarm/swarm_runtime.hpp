// The runtime seam (runtime/runtime.hpp) on a Docker Swarm cluster: one
// service per run, in Replicated mode with one replica and restart
// condition none (never ReplicatedJob: on Engine API 1.41 a removed job
// service leaves its task and container behind, and a failed job is run
// again at each manager restart), named as DockerRuntime names containers
// and labelled jobq.job, jobq.attempt, jobq.app and jobq.instance, on the
// service and its containers. A launch is idempotent: a taken name (409) is
// the earlier launch of this attempt, adopted.
//
// What a run's status says comes from its task (GET /tasks): its state read
// as a phase, its exit code and the engine's error; on the manager's own
// node the container's record too (exact StartedAt, FinishedAt, OOMKilled),
// elsewhere the task's timestamps, marked as the scheduler's and with no
// claim about an OOM kill. A task no node takes is queued, with Swarm's
// words ("no suitable node ...") as its message.
//
// Stop: on the manager's node the task's container is stopped (the task
// fails, its record and output stay until the service goes); elsewhere
// Swarm cannot stop one task, so its output is read, the service removed,
// and the run's end kept here (as ended, exit 137, with a note saying so)
// until it is forgotten.
//
// Placement: an application's constraints go to Swarm as they are; its
// max_per_node is held here, from what runs where: placement_room says how
// many more of its jobs the nodes its constraints allow can take, and a
// launch adds node.id!=X for each node that has its share (a task not yet
// on a node counts against every node, so the limit holds while Swarm
// decides), launches of one application one at a time.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/docker/container_engine.hpp"
#include "runtime/docker/swarm_api.hpp"
#include "runtime/runtime.hpp"

namespace jobq {

struct SwarmOptions {
  // A service's StopGracePeriod, fixed when it is made (jobqd --stop-grace).
  int stop_grace_seconds = 10;
  // How long a launch of an application with max_per_node waits for its
  // earlier tasks to be put on nodes before it counts them against every node.
  std::chrono::milliseconds settle{2000};
  // placement_room's view is refreshed at most this often.
  std::chrono::milliseconds placement_refresh{250};
};

// A node as jobq sees it for placement.
struct SwarmNode {
  std::string id;
  std::string hostname;
  bool usable = false;                            // ready and active: Swarm may put tasks on it
  std::map<std::string, std::string> attributes;  // node.hostname, node.labels.pool, ...
};
SwarmNode node_from_json(const nlohmann::json& node);

// How many more jobs of an application the nodes can take within
// max_per_node: the sum over the usable nodes its constraints allow of
// max(0, max_per_node - its tasks on that node - its tasks on no node yet).
int placement_room(const std::vector<SwarmNode>& nodes, const std::vector<std::string>& constraints,
                   int max_per_node, const std::map<std::string, int>& on_node, int unplaced);

// The service Swarm is asked to make for this run (see the top of this file).
nlohmann::json service_spec(const std::string& instance, const RunKey& key, const RunSpec& spec,
                            int stop_grace_seconds, const std::vector<std::string>& excluded_nodes);

// A task's state in the seam's terms (no container details: status_of_task
// adds those).
RunStatus status_of_task(const nlohmann::json& task);

class SwarmRuntime final : public Runtime {
 public:
  // `api`: a swarm manager's endpoints; `manager`: the same engine's
  // per-container calls (the manager's own node: its containers' records,
  // stop, the engine's version and boot time).
  SwarmRuntime(SwarmApi& api, ContainerEngine& manager, std::string instance,
               SwarmOptions opts = {});
  // The same over one engine, owned (DockerEngine is both).
  template <class Engine>
  SwarmRuntime(std::unique_ptr<Engine> engine, std::string instance, SwarmOptions opts = {})
      : SwarmRuntime(*engine, *engine, std::move(instance), opts) {
    owned_ = std::shared_ptr<void>(std::move(engine));
  }

  std::string kind() const override { return "swarm"; }
  std::string engine_name() const override { return "the Docker Swarm manager"; }
  Capabilities capabilities() const override;
  std::string run_name(std::int64_t job_id, int attempt) const override;
  RunStatus launch(const RunKey& key, const RunSpec& spec,
                   const CreatedFn& on_created = {}) override;
  RunStatus status(const std::string& name) override;
  void stop(const std::string& name, int grace_seconds) override;
  void output(const std::string& name, const LogOptions& opts, const LogChunkFn& sink,
              const std::function<bool()>& keep_going) override;
  void forget(const std::string& name) override;
  std::vector<RunSummary> runs(bool over_only) override;
  void watch(const std::function<bool()>& keep_going, const EndFn& on_end,
             const SignalFn& on_signal) override;
  std::string api_version() override { return manager_.api_version(); }
  // Throws EngineError (rejected) when the engine answers but is not a
  // swarm manager.
  std::string ping() override;
  std::string server_version() override { return manager_.server_version(); }
  std::optional<std::int64_t> boot_time_ns() override { return manager_.boot_time_ns(); }
  bool has_image(const std::string& image) override { return manager_.has_image(image); }
  void pull(const std::string& image, const std::string& registry_auth,
            const PullProgressFn& progress, const std::function<bool()>& keep_going) override {
    manager_.pull(image, registry_auth, progress, keep_going);
  }
  std::optional<int> placement_room(const App& app) override;
  void refresh_placement() override;

 private:
  // A run stopped by removing its service: its end and output, kept until forgotten.
  struct Ended {
    RunStatus status;
    LabelMap labels;            // its service's (which job and attempt)
    std::string output_stdout;  // timestamped
    std::string output_stderr;
  };
  std::optional<nlohmann::json> latest_task(const std::string& service_id);
  RunStatus status_of(const std::string& service_id, const nlohmann::json& task);
  std::string manager_node();
  std::string hostname_of(const std::string& node_id);
  std::vector<SwarmNode> usable_nodes();
  // This instance's tasks not yet over, by application: per node, and on no node.
  void count_tasks(std::map<std::string, std::map<std::string, int>>& on_node,
                   std::map<std::string, int>& unplaced);
  // Nodes that have their share of this application's jobs (for a launch).
  std::vector<std::string> full_nodes(const RunKey& key, const Placement& placement);
  std::mutex& app_lock(const std::string& app);

  SwarmApi& api_;
  ContainerEngine& manager_;
  std::string instance_;
  SwarmOptions opts_;
  std::shared_ptr<void> owned_;

  std::mutex mu_;
  std::string manager_node_;                      // the manager's own node id, once known
  std::map<std::string, std::string> hostnames_;  // node id -> hostname
  std::map<std::string, Ended> ended_;            // by run name
  std::map<std::string, std::unique_ptr<std::mutex>> app_locks_;
  // Placement: the applications that asked, what the last refresh saw.
  struct AppPlacement {
    Placement placement;
    int room = 0;
    bool seen = false;                                            // a refresh has counted it
    int launching = 0;                                            // launches in flight
    std::vector<std::chrono::steady_clock::time_point> launched;  // since the last refresh began
  };
  std::map<std::string, AppPlacement> placed_;
  std::chrono::steady_clock::time_point refreshed_at_{};
};

}  // namespace jobq
