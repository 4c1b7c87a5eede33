// Retention: finished jobs (with their attempts and output) older than
// jobqd's --retention are deleted in batches at start and then hourly, on
// a thread of its own, so that a long prune never holds up the poller's
// results. `jobq prune` is the same deletion on demand (commands/insight).
#pragma once

#include <chrono>
#include <cstdint>
#include <thread>

#include "base/work_pool.hpp"
#include "store/store.hpp"

namespace jobq {

class Retention {
 public:
  // retention 0: jobs are kept forever, and start() starts nothing.
  Retention(Store& store, std::chrono::milliseconds retention,
            std::chrono::milliseconds interval = std::chrono::hours(1));
  ~Retention();
  Retention(const Retention&) = delete;
  Retention& operator=(const Retention&) = delete;

  void start();
  // Stops between two batches.
  void stop();
  // Deletes what is past the retention now; returns how many jobs.
  std::int64_t prune_now();

 private:
  Store& store_;
  std::chrono::milliseconds retention_;
  std::chrono::milliseconds interval_;
  Kicker kicker_;
  std::thread thread_;
};

}  // namespace jobq
