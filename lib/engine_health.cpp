#include "engine_health.hpp"

#include "time_util.hpp"

namespace jobq {

using nlohmann::json;

EngineHealth::EngineHealth(Engine& engine, std::chrono::milliseconds interval)
    : engine_(engine), interval_(interval) {}

EngineHealth::~EngineHealth() { stop(); }

void EngineHealth::start() {
  check();
  thread_ = std::thread([this] {
    while (kicker_.wait_for(interval_)) check();
  });
}

void EngineHealth::stop() {
  kicker_.stop();
  if (thread_.joinable()) thread_.join();
}

void EngineHealth::check() {
  json a;
  try {
    a = {{"reachable", true}, {"api_version", engine_.ping()}};
    a["version"] = engine_.server_version();
  } catch (const EngineError& e) {
    a = {{"reachable", false}, {"error", e.what()}};
  }
  std::lock_guard lock(mu_);
  answer_ = std::move(a);
  when_ = std::chrono::steady_clock::now();
  when_unix_ns_ = now_unix_ns();
}

json EngineHealth::last() const {
  std::lock_guard lock(mu_);
  if (answer_.is_null()) return json{{"reachable", false}, {"error", "the engine has not been asked yet"}};
  json out = answer_;
  out["checked_at"] = format_unix_ns(when_unix_ns_);
  out["age_ms"] =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - when_).count();
  return out;
}

}  // namespace jobq
