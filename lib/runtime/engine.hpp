// The container engine as jobq needs it: what `docker run --detach` does
// (create, then start), inspect, stop, logs, remove. Implementations must be
// safe to call from several threads at once. DockerEngine talks to dockerd;
// tests use a fake. Idempotence is part of the contract: start of a started
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
#include "model/run_spec.hpp"

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

class EngineError : public std::runtime_error {
 public:
  enum class Kind { unreachable, not_found, conflict, rejected, server };
  EngineError(Kind kind, int http_status, const std::string& what)
      : std::runtime_error(what), kind_(kind), status_(http_status) {}
  Kind kind() const { return kind_; }
  int http_status() const { return status_; }
  // Worth trying again later (engine down or overloaded), as opposed to a
  // request the engine will always refuse (no such image, bad spec).
  bool transient() const { return kind_ == Kind::unreachable || kind_ == Kind::server; }

 private:
  Kind kind_;
  int status_;
};

// One line of an image pull's progress, as Docker streams it.
struct PullProgress {
  std::string id;            // a layer's id, or "" for the pull as a whole
  std::string status;        // "Pulling fs layer", "Downloading", "Pull complete", "Digest: ..."
  std::int64_t current = 0;  // bytes so far, when Docker says (Downloading, Extracting)
  std::int64_t total = 0;
};
using PullProgressFn = std::function<void(const PullProgress&)>;
using LogChunkFn = std::function<void(LogStream, std::string_view)>;

class Engine {
 public:
  virtual ~Engine() = default;
  // Negotiated API version, e.g. "1.41". Throws EngineError when unreachable.
  virtual std::string api_version() = 0;
  // Asks the engine now (not a cached answer); throws EngineError when it
  // does not answer. Returns the negotiated API version.
  virtual std::string ping() { return api_version(); }
  // The engine's own version (e.g. "20.10.24"); "" when it does not say.
  virtual std::string server_version() { return ""; }
  // Returns the new container's id. A name already taken throws kind conflict.
  virtual std::string create(const RunSpec& spec) = 0;
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

  struct LogOptions {
    bool follow = false;        // go on streaming while the container runs
    bool timestamps = false;    // each line starts with its RFC 3339 time and a space
    std::int64_t since_ns = 0;  // Unix time in ns; 0: from the start
    int tail = -1;              // the last N lines only; -1: all
  };
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

// Parses the body of GET /containers/{id}/json. Throws std::invalid_argument
// on a body that is not a container inspect document.
ContainerState parse_inspect(std::string_view body);

// The jobq.job label of one line of GET /events (a container event), or
// nullopt when the line is not such an event or carries no valid label.
std::optional<std::int64_t> job_of_event(std::string_view line);
// The event's action ("die", "kill"...), or "" when the line does not say.
std::string action_of_event(std::string_view line);

// The fromImage and tag of POST /images/create for an image reference, as
// Docker's client splits it: "reg:5000/a/b:1" -> {"reg:5000/a/b", "1"},
// "a@sha256:..." -> {"a", "sha256:..."}, "busybox" -> {"busybox", "latest"}
// (an empty tag would pull every tag).
std::pair<std::string, std::string> pull_reference(const std::string& image);

// One line of POST /images/create's stream: its progress, or the error
// Docker reports in it (`error`, `errorDetail.message`), or neither (a line
// that is not a JSON object).
struct PullLine {
  std::optional<PullProgress> progress;
  std::optional<std::string> error;
};
PullLine parse_pull_line(std::string_view line);

// Whether an engine error says that the image is missing ("No such image").
bool is_missing_image(const EngineError& e);

// A container that never ran: `created`, its StartedAt unset. A failed start
// leaves it so (State.Error set, exit code 126, 127 or 128).
bool never_ran(const ContainerState& st);

// What `docker run --detach` does, idempotently: create (or adopt the
// container that already has this name), then start it unless it already ran.
// on_created(id) runs once the container exists, before it is started (so
// its id can be recorded first). Returns the container's state after the launch.
ContainerState launch_container(Engine& engine, const RunSpec& spec,
                                const std::function<void(const std::string& id)>& on_created = {});

}  // namespace jobq
