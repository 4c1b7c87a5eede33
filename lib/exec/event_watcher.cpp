#include "exec/event_watcher.hpp"

#include <algorithm>

#include <spdlog/spdlog.h>

namespace jobq {

EventWatcher::EventWatcher(Runtime& runtime, Runtime::EndFn on_death, std::function<void()> on_lost,
                           Runtime::SignalFn on_signal)
    : runtime_(runtime),
      on_death_(std::move(on_death)),
      on_lost_(std::move(on_lost)),
      on_signal_(std::move(on_signal)) {}

EventWatcher::~EventWatcher() {
  stop();
}

void EventWatcher::start() {
  thread_ = std::thread([this] {
    std::chrono::milliseconds backoff{500};
    const auto keep_going = [this] { return !kicker_.stopped(); };
    while (keep_going()) {
      const auto began = std::chrono::steady_clock::now();
      try {
        runtime_.watch(keep_going, on_death_, on_signal_);
      } catch (const EngineError& e) {
        if (!keep_going()) break;
        spdlog::debug("events: {}; reconnecting in {} ms", e.what(), backoff.count());
      }
      // An engine that is down refuses at once; a stream that lasted was up,
      // and its end means the engine went away.
      if (std::chrono::steady_clock::now() - began > std::chrono::seconds(1)) {
        backoff = std::chrono::milliseconds(500);
        if (on_lost_) on_lost_();
      }
      // Whatever died while the stream was down is found by one look at
      // every running run.
      on_death_(std::nullopt);
      if (!kicker_.wait_for(backoff)) break;
      backoff = std::min(backoff * 2, std::chrono::milliseconds(30'000));
    }
  });
}

void EventWatcher::stop() {
  kicker_.stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace jobq
