#include "exec/image_puller.hpp"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "base/time_util.hpp"

namespace jobq {

namespace {
using Clock = std::chrono::steady_clock;

const char* const kStopping = "jobqd is stopping";
using Outcome = ImagePuller::CheckOutcome;
const Outcome kStoppingOutcome{Outcome::Kind::stopping, kStopping};
}  // namespace

ImagePuller::ImagePuller(Runtime& runtime, ImagePullerOptions opts,
                         std::function<void()> on_settled)
    : runtime_(runtime),
      opts_(std::move(opts)),
      on_settled_(std::move(on_settled)),
      pool_(std::max(1, opts_.workers)) {
  if (!opts_.auth) opts_.auth = [](const std::string&) { return std::string(); };
}

ImagePuller::~ImagePuller() {
  stop();
}

bool ImagePuller::start_locked(const std::string& image, Entry& e, Mode mode) {
  e.busy = true;
  e.running = mode;
  e.began_ns = now_unix_ns();
  if (pool_.submit([this, image] { run(image); })) return true;
  e.busy = false;
  e.running = Mode::none;
  return false;
}

ImagePuller::Verdict ImagePuller::gate(const std::string& image, PullPolicy policy) {
  if (policy == PullPolicy::never) return {};
  std::lock_guard lock(mu_);
  if (stopping_) return {false, ""};
  Entry& e = entries_[image];
  if (e.busy) return {false, ""};
  const auto now = Clock::now();
  if (e.known == Entry::Known::failed && now - e.settled_at < opts_.failure_hold)
    return {true, e.error, e.error_began_ns};
  if (e.known == Entry::Known::present &&
      (policy == PullPolicy::missing || now - e.pulled_at < opts_.fresh))
    return {};
  if (now < e.retry_after) return {false, ""};
  start_locked(image, e, policy == PullPolicy::always ? Mode::pull : Mode::inspect_then_pull);
  return {false, ""};
}

void ImagePuller::forget(const std::string& image) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(image);
  if (it == entries_.end() || it->second.busy) return;
  it->second.known = Entry::Known::absent;
}

bool ImagePuller::pulling(const std::string& image) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(image);
  return it != entries_.end() && it->second.busy;
}

void ImagePuller::check(const std::string& image, PullPolicy policy, PullProgressFn progress,
                        Done done) {
  const Mode mode = policy == PullPolicy::never    ? Mode::inspect
                    : policy == PullPolicy::always ? Mode::pull
                                                   : Mode::inspect_then_pull;
  {
    std::lock_guard lock(mu_);
    if (!stopping_) {
      Entry& e = entries_[image];
      Waiter w{mode, std::move(progress), done};
      if (!e.busy) {
        e.waiters.push_back(std::move(w));
        if (start_locked(image, e, mode)) return;
        e.waiters.clear();
      } else if (e.running >= mode || e.pulling) {
        e.waiters.push_back(std::move(w));  // joins the task (or pull) under way
        return;
      } else {
        e.next = std::max(e.next, mode);
        e.next_waiters.push_back(std::move(w));
        return;
      }
    }
  }
  done(kStoppingOutcome);
}

ImagePuller::CheckOutcome ImagePuller::work(
    const std::string& image, Mode mode, const std::function<void(const PullProgress&)>& progress) {
  Entry::Known known = Entry::Known::unknown;
  bool pulled = false;
  bool unreachable = false;
  std::optional<std::string> error;
  try {
    if (mode != Mode::pull && runtime_.has_image(image)) {
      known = Entry::Known::present;
    } else if (mode == Mode::inspect) {
      known = Entry::Known::absent;
      error = "image " + image + " is not on " + runtime_.engine_name() +
              ", and the application's pull policy is never "
              "(pull it on the engine, or use --pull missing)";
    } else {
      const auto began = Clock::now();
      {
        std::lock_guard lock(mu_);
        entries_[image].pulling = true;
      }
      spdlog::info("pulling image {}", image);
      runtime_.pull(image, opts_.auth(image), progress, [this] {
        std::lock_guard lock(mu_);
        return !stopping_;
      });
      known = Entry::Known::present;
      pulled = true;
      spdlog::info("pulled image {} in {:.1f} s", image,
                   std::chrono::duration<double>(Clock::now() - began).count());
    }
  } catch (const EngineError& e) {
    unreachable = e.kind() == EngineError::Kind::unreachable;
    known = unreachable ? Entry::Known::unknown : Entry::Known::failed;
    error = e.what();
    spdlog::warn("image {}: {}", image, e.what());
  } catch (const std::exception& e) {
    known = Entry::Known::failed;
    error = "pull " + image + ": " + e.what();
    spdlog::warn("{}", *error);
  }
  std::lock_guard lock(mu_);
  Entry& e = entries_[image];
  const auto now = Clock::now();
  e.pulling = false;
  e.known = known;
  e.settled_at = now;
  if (pulled) e.pulled_at = now;
  if (known == Entry::Known::failed) {
    e.error = error.value_or("");
    e.error_began_ns = e.began_ns;
  }
  if (unreachable) e.retry_after = now + opts_.unreachable_wait;
  if (stopping_ && error) return kStoppingOutcome;
  if (!error) return {};
  return {unreachable ? Outcome::Kind::unreachable : Outcome::Kind::failed, *error};
}

void ImagePuller::run(const std::string& image) {
  for (;;) {
    Mode mode;
    {
      std::lock_guard lock(mu_);
      mode = entries_[image].running;
    }
    // Progress goes to the checks waiting on this task, joined or not yet.
    const auto progress = [&](const PullProgress& p) {
      std::vector<PullProgressFn> sinks;
      {
        std::lock_guard lock(mu_);
        for (const auto& w : entries_[image].waiters)
          if (w.progress) sinks.push_back(w.progress);
      }
      for (const auto& sink : sinks) sink(p);
    };
    const Outcome outcome = work(image, mode, progress);
    std::vector<Waiter> finished, dropped;
    bool again = false;
    {
      std::lock_guard lock(mu_);
      Entry& e = entries_[image];
      finished.swap(e.waiters);
      if (e.next != Mode::none && !stopping_) {
        e.running = e.next;
        e.began_ns = now_unix_ns();
        e.next = Mode::none;
        e.waiters.swap(e.next_waiters);
        again = true;
      } else {
        dropped.swap(e.next_waiters);  // only when stopping
        e.next = Mode::none;
        e.busy = false;
        e.running = Mode::none;
      }
    }
    const auto answer = [&](const Waiter& w, const Outcome& result) {
      try {
        w.done(result);
      } catch (const std::exception& ex) {
        spdlog::error("image {}: answering a check: {}", image, ex.what());
      }
    };
    for (const auto& w : finished) answer(w, outcome);
    for (const auto& w : dropped) answer(w, kStoppingOutcome);
    if (on_settled_) on_settled_();
    if (!again) return;
  }
}

void ImagePuller::stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  pool_.stop();
  // Checks whose task never ran (dropped from the pool's queue).
  std::vector<Waiter> left;
  {
    std::lock_guard lock(mu_);
    for (auto& [image, e] : entries_) {
      for (auto& w : e.waiters) left.push_back(std::move(w));
      for (auto& w : e.next_waiters) left.push_back(std::move(w));
      e.waiters.clear();
      e.next_waiters.clear();
      e.busy = false;
    }
  }
  for (const auto& w : left) w.done(kStoppingOutcome);
}

}  // namespace jobq
