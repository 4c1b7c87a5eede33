// What `jobq status` says about the engine, without making status wait on
// other work: a thread of its own asks the engine (ping, version) every
// `interval`, and status takes its last answer when it is fresher than
// `fresh`. An older answer is refreshed at once, and status waits for that
// at most `patience` (on a lane of its own, never on the socket loop nor
// behind other users' engine calls): an engine that hangs shows as an
// answer growing old (`age_ms`), never as a status that does not answer.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "runtime/runtime.hpp"

namespace jobq {

class EngineHealth {
 public:
  struct Options {
    std::chrono::milliseconds interval{5000};
    std::chrono::milliseconds fresh{1000};
    std::chrono::milliseconds patience{800};
  };
  EngineHealth(Runtime& runtime, Options opts);
  explicit EngineHealth(Runtime& runtime) : EngineHealth(runtime, Options{}) {}
  ~EngineHealth();
  EngineHealth(const EngineHealth&) = delete;
  EngineHealth& operator=(const EngineHealth&) = delete;

  // Asks once on the calling thread, then starts the threads.
  void start();
  void stop();
  // {reachable, api_version, version | error, checked_at, age_ms}; before
  // the first answer {reachable: false, error}.
  nlohmann::json last() const;
  // The last answer when it is fresh; otherwise nullopt, and `later` gets
  // the refreshed answer (or, past patience, the last one) from another thread.
  std::optional<nlohmann::json> answer(std::function<void(nlohmann::json)> later);

 private:
  struct Waiter {
    std::function<void(nlohmann::json)> reply;
    std::chrono::steady_clock::time_point deadline;
    std::uint64_t generation;  // answers seen when it came
  };
  void check();
  nlohmann::json describe_locked() const;
  void check_loop();
  void answer_loop();

  Runtime& runtime_;
  Options opts_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  bool kicked_ = false;
  std::deque<Waiter> waiters_;
  nlohmann::json answer_;                       // null until the first check ends
  std::chrono::steady_clock::time_point when_;  // of answer_
  std::int64_t when_unix_ns_ = 0;
  std::uint64_t generation_ = 0;  // answers so far
  std::thread checker_;
  std::thread answerer_;
};

}  // namespace jobq
