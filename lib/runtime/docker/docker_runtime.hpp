// The runtime seam (runtime/runtime.hpp) for plain Docker containers: one
// container per run, named jobq-<instance>-<job>-<attempt> and labelled
// jobq.job, jobq.attempt, jobq.app and jobq.instance; what `docker run
// --detach` does, made idempotent (create, or adopt the container that
// already has the name; then start it unless it already ran). Docker's
// states and exit codes are read into the seam's terms here, and nowhere
// else.
#pragma once

#include <memory>
#include <string>

#include "runtime/docker/container_engine.hpp"
#include "runtime/docker/warm_pool.hpp"
#include "runtime/runtime.hpp"

namespace jobq {

// Container name of an attempt: deterministic, so a launch can be retried and
// adopted without ever creating a second container for the same attempt. The
// instance id (made once per store) keeps two daemons on one engine apart.
std::string container_name_for(const std::string& instance, std::int64_t job_id, int attempt);

// The labels of this jobqd's runs (containers, and Swarm's services): the
// instance's marks them as ours; the others say whose they are.
inline constexpr const char* kInstanceLabel = "jobq.instance";
inline constexpr const char* kAppLabel = "jobq.app";
// `labels` with a run's jobq.* labels added: its job, attempt, application and instance.
LabelMap with_run_labels(LabelMap labels, const std::string& instance, const RunKey& key);
// A run's job and attempt as its labels say (left unset where they do not).
void read_run_labels(const LabelMap& labels, RunSummary& r);

// A container that never ran: `created`, its StartedAt unset. A failed start
// leaves it so (State.Error set, exit code 126, 127 or 128).
bool never_ran(const ContainerState& st);

// Docker's view of a container in the seam's terms: `created` is queued
// (launch_failed when a start failed: State.Error set, never started),
// `exited` and `dead` are ended, anything else runs.
RunStatus status_of(const ContainerState& st);

// What `docker run --detach` does, idempotently: create (or adopt the
// container that already has this name), then start it unless it already ran.
// on_created(id) runs once the container exists, before it is started (so
// its id can be recorded first). Returns the container's state after the launch.
ContainerState launch_container(ContainerEngine& engine, const RunSpec& spec,
                                const std::function<void(const std::string& id)>& on_created = {});

class DockerRuntime final : public Runtime {
 public:
  // `instance`: this jobqd's store instance; its runs carry it as a label.
  // With warm options enabled it keeps warm pools (warm_pool.hpp).
  DockerRuntime(ContainerEngine& engine, std::string instance, WarmOptions warm = {});
  // The same, owning its engine.
  DockerRuntime(std::unique_ptr<ContainerEngine> engine, std::string instance,
                WarmOptions warm = {});

  std::string kind() const override { return "docker"; }
  std::string engine_name() const override { return "the Docker engine"; }
  Capabilities capabilities() const override {
    Capabilities c;
    c.warm = warm_opts_.enabled();
    return c;
  }
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
  std::string api_version() override { return engine_.api_version(); }
  std::string ping() override { return engine_.ping(); }
  std::string server_version() override { return engine_.server_version(); }
  std::optional<std::int64_t> boot_time_ns() override { return engine_.boot_time_ns(); }
  bool has_image(const std::string& image) override { return engine_.has_image(image); }
  void pull(const std::string& image, const std::string& registry_auth,
            const PullProgressFn& progress, const std::function<bool()>& keep_going) override {
    engine_.pull(image, registry_auth, progress, keep_going);
  }
  void tend_warm(const std::vector<WarmTarget>& targets, std::chrono::milliseconds idle_ttl,
                 const Runtime::MayStartFn& may_start) override;
  std::map<std::string, int> warm_idle() override;

 private:
  std::unique_ptr<ContainerEngine> owned_;  // null when the engine is the caller's
  ContainerEngine& engine_;
  std::string instance_;
  WarmOptions warm_opts_;
  // Null without a hand-off root; with a root but no helper it only reads
  // and finishes the warm runs there and empties their pools.
  std::unique_ptr<WarmPool> warm_;
};

// jobqd's runtime: DockerEngine on `socket_path`, owned by the runtime.
std::unique_ptr<Runtime> make_docker_runtime(const std::string& socket_path,
                                             const std::string& instance, WarmOptions warm = {});

// The job and attempt a run's name says (jobq-<instance>-<job>-<attempt>),
// for a warm container renamed to its run (it carries no jobq.job label).
void read_run_name(const std::string& instance, const std::string& name, RunSummary& r);

}  // namespace jobq
