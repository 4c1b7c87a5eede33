// Group commit for enqueues. Acknowledged means durable, and with
// synchronous=FULL each commit waits for the disk (several milliseconds on
// many machines), so enqueues one transaction each would cap the rate at one
// fsync per job. Instead the socket loop hands each checked enqueue (or
// batch) here; one thread commits everything that has arrived meanwhile in a
// single transaction (each request all-or-nothing on its own, by savepoint),
// then answers them all. The socket loop never waits for the disk.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "store/store.hpp"

namespace jobq {

class EnqueueCommitter {
 public:
  using Done = std::function<void(EnqueueOutcome)>;
  // `after_commit` runs after each commit (e.g. to wake the runner).
  EnqueueCommitter(Store& store, std::function<void()> after_commit);
  ~EnqueueCommitter();
  EnqueueCommitter(const EnqueueCommitter&) = delete;
  EnqueueCommitter& operator=(const EnqueueCommitter&) = delete;

  void start();
  // Commits what is queued, then stops.
  void stop();
  // `done` is called on the committer's thread once the group is committed
  // (or refused); false when stopping (nothing was queued).
  bool submit(std::vector<NewJob> group, Done done);

 private:
  void run();

  Store& store_;
  std::function<void()> after_commit_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::pair<std::vector<NewJob>, Done>> queue_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace jobq
