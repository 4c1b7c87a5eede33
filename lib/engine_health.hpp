// What `jobq status` says about the engine, without making status wait on
// it: a thread of its own asks the engine (ping, version) every `interval`
// and keeps the answer; status reads the last answer and its age. So status
// never queues behind other users' engine calls, and an engine that hangs
// shows as an answer growing old ("checked 40 s ago") rather than as a
// status that does not answer.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "engine.hpp"
#include "work_pool.hpp"

namespace jobq {

class EngineHealth {
 public:
  EngineHealth(Engine& engine, std::chrono::milliseconds interval = std::chrono::seconds(5));
  ~EngineHealth();
  EngineHealth(const EngineHealth&) = delete;
  EngineHealth& operator=(const EngineHealth&) = delete;

  // Asks once on the calling thread, then every interval on its own.
  void start();
  void stop();
  // Asks the engine now, on the calling thread.
  void check();
  // {reachable, api_version, version | error, checked_at, age_ms}; before
  // the first answer {reachable: false, error}.
  nlohmann::json last() const;

 private:
  Engine& engine_;
  std::chrono::milliseconds interval_;
  Kicker kicker_;
  std::thread thread_;
  mutable std::mutex mu_;
  nlohmann::json answer_;                       // null until the first check ends
  std::chrono::steady_clock::time_point when_;  // of answer_
  std::int64_t when_unix_ns_ = 0;
};

}  // namespace jobq
