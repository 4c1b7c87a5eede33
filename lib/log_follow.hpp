// `jobq logs -f`: a job's output as it is written. Each follow runs on a
// thread of its own (it lasts as long as the job), streaming the running
// attempt's output from the engine as partial replies (PROTOCOL.md,
// "Streamed replies"), then the attempts that follow (a retry), and ends
// with an ordinary reply once the job has ended. Output the engine could not
// stream (the attempt ended before the follow began) comes from the store.
// A client that stops reading is throttled; one that leaves ends its follow.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "engine.hpp"
#include "log_filter.hpp"
#include "socket_server.hpp"
#include "store.hpp"

namespace jobq {

struct LogRequest {
  std::int64_t job_id = 0;
  std::optional<int> attempt;  // only this one; default: the current one and later ones
  bool want_stdout = true;
  bool want_stderr = false;
  LogFilter filter;
};

class LogFollowers {
 public:
  LogFollowers(Store& store, Engine& engine, std::size_t max_followers = 64);
  ~LogFollowers();
  LogFollowers(const LogFollowers&) = delete;
  LogFollowers& operator=(const LogFollowers&) = delete;

  // False when max_followers follows are running already.
  bool follow(const LogRequest& req, Responder reply);
  // Ends every follow (their clients see the connection close) and joins.
  void stop();

 private:
  void run(const LogRequest& req, const Responder& reply);
  bool stopping();

  Store& store_;
  Engine& engine_;
  std::size_t max_;
  std::mutex mu_;
  bool stopping_ = false;
  std::uint64_t next_id_ = 0;
  std::map<std::uint64_t, std::thread> threads_;
  std::vector<std::uint64_t> finished_;
};

}  // namespace jobq
