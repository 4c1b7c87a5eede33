#include "exec/retention.hpp"

#include <spdlog/spdlog.h>

#include <exception>

#include "base/time_util.hpp"

namespace jobq {

Retention::Retention(Store& store, std::chrono::milliseconds retention,
                     std::chrono::milliseconds interval)
    : store_(store), retention_(retention), interval_(interval) {}

Retention::~Retention() {
  stop();
}

void Retention::start() {
  if (retention_.count() <= 0 || thread_.joinable()) return;
  thread_ = std::thread([this] {
    do {
      try {
        if (const auto n = prune_now(); n > 0)
          spdlog::info("pruned {} finished job(s) past the retention", n);
      } catch (const std::exception& e) {
        spdlog::warn("pruning past the retention: {}", e.what());
      }
    } while (kicker_.wait_for(interval_));
  });
}

void Retention::stop() {
  kicker_.stop();
  if (thread_.joinable()) thread_.join();
}

std::int64_t Retention::prune_now() {
  const std::int64_t before =
      now_unix_ns() - std::chrono::duration_cast<std::chrono::nanoseconds>(retention_).count();
  std::int64_t total = 0;
  for (std::int64_t n; !kicker_.stopped() && (n = store_.prune(before, 1000)) > 0;) total += n;
  return total;
}

}  // namespace jobq
