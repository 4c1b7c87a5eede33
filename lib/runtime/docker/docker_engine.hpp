// dockerd's Engine API over its Unix socket (or TCP): the per-container
// calls (ContainerEngine) and a swarm manager's (SwarmApi).
// The API version is negotiated once from GET /_ping (min of ours and the
// engine's) and used as the /vX.Y prefix of every later call.
#pragma once

#include <mutex>
#include <string>

#include "runtime/docker/container_engine.hpp"
#include "runtime/docker/swarm_api.hpp"
#include "runtime/docker/unix_http.hpp"

namespace jobq {

// Socket path from DOCKER_HOST (unix:// only) or /var/run/docker.sock.
// Throws std::invalid_argument for a DOCKER_HOST jobq cannot use.
std::string docker_socket_from_env();
// "unix:///path" -> "/path"; throws std::invalid_argument for any other address.
std::string engine_socket_path(const std::string& address);

// "1.41" < "1.9" is false: versions compare as numbers, part by part.
int compare_api_versions(const std::string& a, const std::string& b);

class DockerEngine final : public ContainerEngine, public SwarmApi {
 public:
  static constexpr const char* kMaxApiVersion = "1.43";
  static constexpr const char* kMinApiVersion = "1.25";

  explicit DockerEngine(std::string socket_path);
  explicit DockerEngine(EngineAddress address);
  const EngineAddress& address() const { return address_; }

  std::string api_version() override;
  std::string ping() override;
  std::string server_version() override;
  std::string create(const RunSpec& spec) override { return create_with(spec, {}); }
  std::string create_with(const RunSpec& spec, const ContainerExtras& extras) override;
  void rename(const std::string& id_or_name, const std::string& new_name) override;
  void update_limits(const std::string& id_or_name, const Resources& limits) override;
  ImageCommand image_command(const std::string& image) override;
  void start(const std::string& id_or_name) override;
  std::optional<ContainerState> inspect(const std::string& id_or_name) override;
  void stop(const std::string& id_or_name, int grace_seconds) override;
  void logs(const std::string& id_or_name, const LogChunkFn& sink) override;
  void remove(const std::string& id_or_name) override;
  std::vector<ContainerSummary> list(const std::string& label_key,
                                     const std::string& label_value) override;
  std::vector<ContainerSummary> list_exited(const std::string& label_key,
                                            const std::string& label_value) override;
  bool has_image(const std::string& image) override;
  void pull(const std::string& image, const std::string& registry_auth,
            const PullProgressFn& progress, const std::function<bool()>& keep_going) override;
  void watch_deaths(const std::string& instance, const std::function<bool()>& keep_going,
                    const DeathEvent& on_event, const SignalEvent& on_signal) override;
  // From the socket's peer (SO_PEERCRED) and its /proc entry, when that is
  // a process named dockerd in this PID namespace.
  std::optional<std::int64_t> boot_time_ns() override;
  void stream_logs(const std::string& id_or_name, const LogOptions& opts, const LogChunkFn& sink,
                   const std::function<bool()>& keep_going) override;

  nlohmann::json info() override;
  std::string create_service(const nlohmann::json& spec) override;
  std::optional<nlohmann::json> service(const std::string& name) override;
  std::vector<nlohmann::json> services(const nlohmann::json& filters) override;
  void remove_service(const std::string& name) override;
  std::vector<nlohmann::json> tasks(const nlohmann::json& filters) override;
  std::vector<nlohmann::json> nodes() override;
  void service_logs(const std::string& name, const LogOptions& opts, const LogChunkFn& sink,
                    const std::function<bool()>& keep_going) override;

 private:
  std::string prefix();  // "/v1.41", negotiating on first use
  std::vector<ContainerSummary> list_filtered(const nlohmann::json& filters);
  // A framed log stream at `path` (a container's or a service's logs).
  void stream_framed(const std::string& path, const std::string& what, const LogOptions& opts,
                     const LogChunkFn& sink, const std::function<bool()>& keep_going);
  // GET of a JSON array (a list call).
  std::vector<nlohmann::json> get_list(const std::string& path, const std::string& what);
  HttpResponse call(const std::string& method, const std::string& path,
                    const std::string* body = nullptr, long timeout_ms = 60'000,
                    const std::function<void(std::string_view)>& on_body = {},
                    const std::function<bool()>& keep_going = {},
                    const std::vector<std::string>& headers = {});

  EngineAddress address_;
  UnixHttpClient http_;
  std::mutex mu_;
  std::string version_;
};

}  // namespace jobq
