// Work that clients ask for (live log reads, store scans), run off the socket
// loop on a few threads, shared fairly between users: each uid has its own
// queue, the threads take from the uids in turn, a uid runs at most
// `running_per_uid` calls at once, and a uid that already has `per_uid`
// calls queued or running is refused (submit returns over_share) rather than
// queued without end. So one user's calls never push another's back.
// stop() lets running calls finish and drops queued ones.
#pragma once

#include <sys/types.h>

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

namespace jobq {

class FairPool {
 public:
  struct Options {
    int threads = 2;
    std::size_t per_uid = 4;          // queued + running calls of one uid
    std::size_t running_per_uid = 1;  // of them, running at once
  };
  enum class Submitted { queued, over_share, stopping };

  explicit FairPool(Options opts);
  ~FairPool();
  FairPool(const FairPool&) = delete;
  FairPool& operator=(const FairPool&) = delete;

  Submitted submit(uid_t uid, std::function<void()> task);
  // Returns once no call is queued or running.
  void wait_idle();
  void stop();
  const Options& options() const { return opts_; }
  // Calls of this uid queued or running now.
  std::size_t pending(uid_t uid);

 private:
  struct Lane {
    std::deque<std::function<void()>> queue;
    std::size_t running = 0;
  };
  void work();
  // The next call to run, taken in turn from the uids that may run one; false when none may.
  bool take(std::function<void()>& task, uid_t& uid);

  Options opts_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::condition_variable idle_;
  std::map<uid_t, Lane> lanes_;  // uids with calls queued or running
  uid_t last_served_ = 0;        // the turn goes on after this uid
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace jobq
