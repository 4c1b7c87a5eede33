// A fixed set of worker threads running queued tasks (engine calls that take
// hundreds of milliseconds: launches, stops, live log fetches). stop() lets
// running tasks finish and drops queued ones: their work is durable intent in
// the store and is picked up again on the next start.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace jobq {

class WorkPool {
 public:
  explicit WorkPool(int threads);
  ~WorkPool();
  WorkPool(const WorkPool&) = delete;
  WorkPool& operator=(const WorkPool&) = delete;

  // False once stopping: the task was not queued.
  bool submit(std::function<void()> task);
  // Returns once no task is queued or running.
  void wait_idle();
  void stop();
  int size() const { return static_cast<int>(threads_.size()); }

 private:
  void work();

  std::mutex mu_;
  std::condition_variable cv_;
  std::condition_variable idle_;
  std::deque<std::function<void()>> queue_;
  int running_ = 0;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

// A sleeping thread's alarm clock: kick() wakes wait_for() early.
class Kicker {
 public:
  void kick();
  // Returns false when stopped.
  template <typename Duration>
  bool wait_for(Duration d) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, d, [&] { return kicked_ || stopped_; });
    kicked_ = false;
    return !stopped_;
  }
  void stop();
  bool stopped();

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool kicked_ = false;
  bool stopped_ = false;
};

}  // namespace jobq
