#include "base/metrics.hpp"

#include <cstdio>

namespace jobq {

namespace {
std::string number(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}
}  // namespace

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), counts_(bounds_.size() + 1) {}

void Histogram::observe(double seconds) {
  std::lock_guard lock(mu_);
  std::size_t i = 0;
  while (i < bounds_.size() && seconds > bounds_[i]) ++i;
  ++counts_[i];
  sum_ += seconds;
  ++count_;
}

std::string Histogram::render(const std::string& name) const {
  std::lock_guard lock(mu_);
  std::string out;
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < bounds_.size(); ++i) {
    cumulative += counts_[i];
    out += name + "_bucket{le=\"" + number(bounds_[i]) + "\"} " + std::to_string(cumulative) + "\n";
  }
  out += name + "_bucket{le=\"+Inf\"} " + std::to_string(count_) + "\n";
  out += name + "_sum " + number(sum_) + "\n";
  out += name + "_count " + std::to_string(count_) + "\n";
  return out;
}

Metrics::Metrics()
    : launch_latency({0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}),
      finish_lag({0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}),
      schedule_lag({0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}) {}

void Metrics::engine_error(const std::string& operation) {
  std::lock_guard lock(mu_);
  ++engine_errors_[operation];
}

std::string Metrics::render() const {
  std::string out;
  out += "# HELP jobq_launches_total Containers started since jobqd started.\n";
  out += "# TYPE jobq_launches_total counter\n";
  out += "jobq_launches_total " + std::to_string(launches.load()) + "\n";
  out +=
      "# HELP jobq_launch_failures_total Attempts the engine could not start since jobqd "
      "started.\n";
  out += "# TYPE jobq_launch_failures_total counter\n";
  out += "jobq_launch_failures_total " + std::to_string(launch_failures.load()) + "\n";
  out += "# HELP jobq_launch_latency_seconds From the launch intent to the container running.\n";
  out += "# TYPE jobq_launch_latency_seconds histogram\n";
  out += launch_latency.render("jobq_launch_latency_seconds");
  out +=
      "# HELP jobq_finish_detection_lag_seconds From the run's recorded finish to the result "
      "committed.\n";
  out += "# TYPE jobq_finish_detection_lag_seconds histogram\n";
  out += finish_lag.render("jobq_finish_detection_lag_seconds");
  out += "# HELP jobq_schedule_lag_seconds From a schedule's slot to its job committed.\n";
  out += "# TYPE jobq_schedule_lag_seconds histogram\n";
  out += schedule_lag.render("jobq_schedule_lag_seconds");
  out += "# HELP jobq_engine_errors_total Failed calls to the container engine, by operation.\n";
  out += "# TYPE jobq_engine_errors_total counter\n";
  std::lock_guard lock(mu_);
  for (const auto& [op, n] : engine_errors_)
    out += "jobq_engine_errors_total{operation=\"" + prometheus_label(op) + "\"} " +
           std::to_string(n) + "\n";
  return out;
}

std::string prometheus_label(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

}  // namespace jobq
