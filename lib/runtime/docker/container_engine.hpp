// Docker's Engine API per container, as DockerRuntime needs it: create, start,
// inspect, stop, logs, remove, list by label, events, images. DockerEngine
// speaks it to dockerd over its socket; the unit tests' FakeEngine keeps
// containers in memory. Implementations must be safe to call from several
// threads at once. Idempotence is part of the contract: start of a started
// container, stop of a stopped one and remove of a missing one all succeed.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "model/model.hpp"
#include "model/run.hpp"
#include "runtime/runtime.hpp"

namespace jobq {

struct ContainerState {
  std::string id;
  std::string status;  // created, running, paused, restarting, removing, exited, dead
  bool running = false;
  int exit_code = 0;
  bool oom_killed = false;
  std::string error;
  std::string started_at;   // verbatim; "0001-01-01T00:00:00Z" when unset
  std::string finished_at;  // verbatim
  LabelMap labels;

  bool has_exited() const { return status == "exited" || status == "dead"; }
};

struct ContainerSummary {
  std::string id;
  std::string name;  // without Docker's leading '/'
  std::string state;
  LabelMap labels;
};

// What a container may get beyond its RunSpec: an entrypoint in place of
// the image's, and bind mounts ("HOST:CONTAINER:ro").
struct ContainerExtras {
  std::vector<std::string> entrypoint;
  std::vector<std::string> binds;
};

// An image's own command: what `docker run IMAGE [CMD]` executes is its
// entrypoint followed by CMD, or by its default cmd when none is given;
// and which image it is (its id: a tag pulled anew names another).
struct ImageCommand {
  std::vector<std::string> entrypoint;
  std::vector<std::string> cmd;
  std::string id;
};

class ContainerEngine {
 public:
  virtual ~ContainerEngine() = default;
  // Negotiated API version, e.g. "1.41". Throws EngineError when unreachable.
  virtual std::string api_version() = 0;
  // Asks the engine now (not a cached answer); throws EngineError when it
  // does not answer. Returns the negotiated API version.
  virtual std::string ping() { return api_version(); }
  // The engine's own version (e.g. "20.10.24"); "" when it does not say.
  virtual std::string server_version() { return ""; }
  // Returns the new container's id. A name already taken throws kind conflict.
  virtual std::string create(const RunSpec& spec) = 0;
  // The same, with extras. The default has none to give (kind rejected).
  virtual std::string create_with(const RunSpec& spec, const ContainerExtras& extras) {
    (void)spec;
    (void)extras;
    throw EngineError(EngineError::Kind::rejected, 0, "this engine cannot create with extras");
  }
  // Renames a container: kind not_found when there is none of that name
  // (which makes a rename by the old name a compare-and-swap), conflict
  // when the new name is taken.
  virtual void rename(const std::string& id_or_name, const std::string& new_name) {
    (void)new_name;
    throw EngineError(EngineError::Kind::rejected, 0, "this engine cannot rename " + id_or_name);
  }
  // Sets a running container's memory, CPU and pids limits (0: none), as
  // `docker update` does.
  virtual void update_limits(const std::string& id_or_name, const Resources& limits) {
    (void)limits;
    throw EngineError(EngineError::Kind::rejected, 0, "this engine cannot update " + id_or_name);
  }
  // The image's entrypoint and default cmd (GET /images/{name}/json).
  // Throws EngineError (not_found when there is no such image).
  virtual ImageCommand image_command(const std::string& image) {
    (void)image;
    return {};
  }
  virtual void start(const std::string& id_or_name) = 0;
  // nullopt when no such container exists.
  virtual std::optional<ContainerState> inspect(const std::string& id_or_name) = 0;
  virtual void stop(const std::string& id_or_name, int grace_seconds) = 0;
  // Streams the container's whole output, demultiplexed, to `sink`.
  virtual void logs(const std::string& id_or_name, const LogChunkFn& sink) = 0;
  virtual void remove(const std::string& id_or_name) = 0;
  // Every container (running or not) carrying the label key=value.
  virtual std::vector<ContainerSummary> list(const std::string& label_key,
                                             const std::string& label_value) = 0;
  // Those of them that have exited (or are dead).
  virtual std::vector<ContainerSummary> list_exited(const std::string& label_key,
                                                    const std::string& label_value) {
    auto all = list(label_key, label_value);
    std::erase_if(
        all, [](const ContainerSummary& c) { return c.state != "exited" && c.state != "dead"; });
    return all;
  }
  // Blocks, calling on_event each time a container labelled
  // jobq.instance=<instance> dies, with its jobq.job label (nullopt when the
  // event does not say), and on_signal each time one is sent a signal (a
  // `kill` event: `docker stop`, `docker kill`, or the engine stopping its
  // containers at its own shutdown), until keep_going() is false (returns)
  // or the stream breaks (throws EngineError). Events are hints, never the
  // truth: they only say "inspect this one now". The default has no events.
  using DeathEvent = std::function<void(std::optional<std::int64_t> job_id)>;
  using SignalEvent = std::function<void(std::int64_t job_id)>;
  virtual void watch_deaths(const std::string& instance, const std::function<bool()>& keep_going,
                            const DeathEvent& on_event, const SignalEvent& on_signal = {}) {
    (void)instance;
    (void)keep_going;
    (void)on_event;
    (void)on_signal;
  }
  // Whether the engine has this image (GET /images/{name}/json). Throws
  // EngineError when the engine cannot tell. The default has every image.
  virtual bool has_image(const std::string& image) {
    (void)image;
    return true;
  }
  // Pulls the image (POST /images/create), as `docker pull` does; calls
  // `progress` for each line Docker streams. `registry_auth` is the
  // X-Registry-Auth header's value ("" for none: an anonymous pull). Throws
  // EngineError carrying Docker's message when the pull fails (also one
  // reported inside the stream), kind unreachable when the engine could not
  // be asked or keep_going() turned false. The default cannot pull.
  virtual void pull(const std::string& image, const std::string& registry_auth,
                    const PullProgressFn& progress, const std::function<bool()>& keep_going) {
    (void)registry_auth;
    (void)progress;
    (void)keep_going;
    throw EngineError(EngineError::Kind::rejected, 0,
                      "pull " + image + ": this engine cannot pull images");
  }
  // When the engine's process started (Unix ns), or nullopt when that cannot
  // be known (another PID namespace, a proxy). The Engine API does not say
  // (/info has no such field, and dockerd logs no event when it starts).
  virtual std::optional<std::int64_t> boot_time_ns() { return std::nullopt; }

  // Streams the container's output, demultiplexed, to `sink`, with Docker's
  // follow/timestamps/since/tail. With follow it returns when the container
  // stops (the engine ends the stream) or keep_going() turns false (asked at
  // least every 100 ms, except while `sink` runs: a sink may block to pace
  // a slow reader). Without follow it returns at the end of the output so far.
  // An exception from `sink` or keep_going ends the stream and propagates.
  // Throws EngineError (kind not_found when there is no such container).
  // The default cannot follow (throws kind rejected) and ignores since, tail
  // and timestamps: it is logs().
  virtual void stream_logs(const std::string& id_or_name, const LogOptions& opts,
                           const LogChunkFn& sink, const std::function<bool()>& keep_going) {
    (void)keep_going;
    if (opts.follow)
      throw EngineError(EngineError::Kind::rejected, 0,
                        "this engine cannot follow a container's output");
    logs(id_or_name, sink);
  }
};

}  // namespace jobq
