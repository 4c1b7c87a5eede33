#include "engine.hpp"

#include <nlohmann/json.hpp>

namespace jobq {

ContainerState parse_inspect(std::string_view body) {
  const auto doc = nlohmann::json::parse(body, nullptr, false);
  if (!doc.is_object() || !doc.contains("State") || !doc["State"].is_object())
    throw std::invalid_argument("engine answered an inspect without State");
  const auto& st = doc["State"];
  auto str = [](const nlohmann::json& o, const char* key) -> std::string {
    auto it = o.find(key);
    return it != o.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  ContainerState out;
  out.id = str(doc, "Id");
  out.status = str(st, "Status");
  out.running = st.value("Running", false);
  if (auto it = st.find("ExitCode"); it != st.end() && it->is_number_integer()) {
    const auto code = it->get<long long>();
    out.exit_code = code >= -1'000'000 && code <= 1'000'000 ? static_cast<int>(code) : -1;
  }
  out.oom_killed = st.contains("OOMKilled") && st["OOMKilled"].is_boolean() &&
                   st["OOMKilled"].get<bool>();
  out.error = str(st, "Error");
  out.started_at = str(st, "StartedAt");
  out.finished_at = str(st, "FinishedAt");
  if (auto cfg = doc.find("Config"); cfg != doc.end() && cfg->is_object()) {
    if (auto labels = cfg->find("Labels"); labels != cfg->end() && labels->is_object()) {
      for (const auto& [k, v] : labels->items())
        if (v.is_string()) out.labels[k] = v.get<std::string>();
    }
  }
  return out;
}

ContainerState launch_container(Engine& engine, const ContainerSpec& spec) {
  try {
    engine.create(spec);
  } catch (const EngineError& e) {
    if (e.kind() != EngineError::Kind::conflict) throw;
    // The name is taken: an earlier launch of this very attempt got this far.
  }
  auto state = engine.inspect(spec.name);
  if (!state) throw EngineError(EngineError::Kind::server, 0, "container vanished after create");
  if (state->status == "created") {
    engine.start(spec.name);
    state = engine.inspect(spec.name);
    if (!state) throw EngineError(EngineError::Kind::server, 0, "container vanished after start");
  }
  return *state;
}

}  // namespace jobq
