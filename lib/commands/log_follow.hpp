// `jobq logs -f`: a job's output as it is written. Each follow runs on a
// thread of its own (it lasts as long as the job), streaming the running
// attempt's output from the engine as partial replies (PROTOCOL.md,
// "Streamed replies"), then the attempts that follow (a retry), and ends
// with an ordinary reply once the job has ended. Output the engine could not
// stream (the attempt ended before the follow began) comes from the store.
// A client that stops reading is throttled; one that leaves ends its follow.
// At most max_followers follows run at once, and at most per_user of them
// for one uid (admins, as the caller says, are held to the total only), so
// one user cannot take every slot.
#pragma once

#include <sys/types.h>

#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "base/log_filter.hpp"
#include "runtime/runtimes.hpp"
#include "server/socket_server.hpp"
#include "store/store.hpp"

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
  LogFollowers(Store& store, const Runtimes& runtimes, std::size_t max_followers = 64,
               std::size_t per_user = 8);
  ~LogFollowers();
  LogFollowers(const LogFollowers&) = delete;
  LogFollowers& operator=(const LogFollowers&) = delete;

  enum class Started { yes, all_taken, user_share, stopping };
  // Starts a follow for uid unless max_followers run already, or per_user of
  // uid's do and the uid is not `exempt` (an admin).
  Started follow(const LogRequest& req, Responder reply, uid_t uid, bool exempt);
  std::size_t max_followers() const { return max_; }
  std::size_t per_user() const { return per_user_; }
  // Ends every follow (their clients see the connection close) and joins.
  void stop();

 private:
  void run(const LogRequest& req, const Responder& reply);
  bool stopping();

  Store& store_;
  const Runtimes runtimes_;
  std::size_t max_;
  std::size_t per_user_;
  std::map<uid_t, std::size_t> by_uid_;  // follows running, per uid
  std::mutex mu_;
  bool stopping_ = false;
  std::uint64_t next_id_ = 0;
  std::map<std::uint64_t, std::thread> threads_;
  std::vector<std::uint64_t> finished_;
};

// Throws ProtocolError unavailable, naming the limit that was hit, unless `started` is yes.
void throw_unless_started(const LogFollowers& followers, LogFollowers::Started started);

}  // namespace jobq
