// The Engine API's swarm endpoints, as a swarm manager answers them: the
// services, tasks and nodes that SwarmRuntime (runtime/swarm/) needs, in
// Docker's own JSON (GET /services/{name}, /tasks, /nodes, /info; POST
// /services/create; DELETE /services/{name}; GET /services/{name}/logs).
// DockerEngine speaks it; the unit tests' FakeSwarm keeps services in
// memory. Safe to call from several threads at once. Throws EngineError
// (kind unreachable when the manager does not answer).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/runtime.hpp"

namespace jobq {

class SwarmApi {
 public:
  virtual ~SwarmApi();
  // GET /info: the engine's own view (.Swarm.NodeID, .Swarm.ControlAvailable).
  virtual nlohmann::json info() = 0;
  // POST /services/create: the new service's id. A taken name throws
  // EngineError kind conflict.
  virtual std::string create_service(const nlohmann::json& spec) = 0;
  // GET /services/{name}; nullopt when there is none.
  virtual std::optional<nlohmann::json> service(const std::string& name) = 0;
  // GET /services?filters=...
  virtual std::vector<nlohmann::json> services(const nlohmann::json& filters) = 0;
  // DELETE /services/{name}; one already gone is fine.
  virtual void remove_service(const std::string& name) = 0;
  // GET /tasks?filters=...
  virtual std::vector<nlohmann::json> tasks(const nlohmann::json& filters) = 0;
  // GET /nodes
  virtual std::vector<nlohmann::json> nodes() = 0;
  // GET /services/{name}/logs, demultiplexed (the containers' 8-byte
  // frames), as ContainerEngine::stream_logs; kind not_found when there is
  // no such service.
  virtual void service_logs(const std::string& name, const LogOptions& opts, const LogChunkFn& sink,
                            const std::function<bool()>& keep_going) = 0;
};

}  // namespace jobq
