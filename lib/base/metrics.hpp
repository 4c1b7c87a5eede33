// The daemon's own measurements for `jobq metrics` (Prometheus text
// exposition): launches, launch latency, finish-detection lag and engine
// errors since jobqd started. Counts of jobs come from the store when asked.
// Safe to update from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace jobq {

class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds_seconds);
  void observe(double seconds);
  // The _bucket, _sum and _count lines of metric `name`.
  std::string render(const std::string& name) const;

 private:
  std::vector<double> bounds_;
  mutable std::mutex mu_;
  std::vector<std::uint64_t> counts_;  // per bound, not cumulative; last = +Inf
  double sum_ = 0;
  std::uint64_t count_ = 0;
};

struct Metrics {
  Metrics();
  std::atomic<std::uint64_t> launches{0};         // containers started
  std::atomic<std::uint64_t> launch_failures{0};  // attempts that could not start
  Histogram launch_latency;                       // launch intent committed -> container started
  Histogram finish_lag;                           // Docker's FinishedAt -> result committed
  Histogram schedule_lag;                         // a slot's time -> its job committed
  void engine_error(const std::string& operation);
  // The daemon's counters and histograms, with HELP and TYPE lines.
  std::string render() const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::uint64_t> engine_errors_;
};

// "a\"b" -> a\"b as a Prometheus label value needs (\\, \", \n escaped).
std::string prometheus_label(const std::string& value);

}  // namespace jobq
