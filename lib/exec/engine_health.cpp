#include "exec/engine_health.hpp"

#include "base/time_util.hpp"

namespace jobq {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

EngineHealth::EngineHealth(Runtime& runtime, Options opts) : runtime_(runtime), opts_(opts) {}

EngineHealth::~EngineHealth() {
  stop();
}

void EngineHealth::start() {
  check();
  checker_ = std::thread([this] { check_loop(); });
  answerer_ = std::thread([this] { answer_loop(); });
}

void EngineHealth::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (checker_.joinable()) checker_.join();
  if (answerer_.joinable()) answerer_.join();
}

void EngineHealth::check() {
  json a;
  try {
    a = {{"reachable", true}, {"api_version", runtime_.ping()}};
    a["version"] = runtime_.server_version();
  } catch (const EngineError& e) {
    a = {{"reachable", false}, {"error", e.what()}};
  }
  {
    std::lock_guard lock(mu_);
    answer_ = std::move(a);
    when_ = Clock::now();
    when_unix_ns_ = now_unix_ns();
    ++generation_;
  }
  cv_.notify_all();
}

void EngineHealth::check_loop() {
  for (;;) {
    {
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, opts_.interval, [&] { return stopping_ || kicked_; });
      if (stopping_) return;
      kicked_ = false;
    }
    check();
  }
}

void EngineHealth::answer_loop() {
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return stopping_ || !waiters_.empty(); });
    if (stopping_) return;
    Waiter w = std::move(waiters_.front());
    waiters_.pop_front();
    cv_.wait_until(lock, w.deadline, [&] { return stopping_ || generation_ > w.generation; });
    lock.unlock();
    w.reply(last());
    lock.lock();
  }
}

json EngineHealth::last() const {
  std::lock_guard lock(mu_);
  return describe_locked();
}

json EngineHealth::describe_locked() const {
  if (answer_.is_null())
    return json{{"reachable", false}, {"error", "the engine has not been asked yet"}};
  json out = answer_;
  out["checked_at"] = format_unix_ns(when_unix_ns_);
  out["age_ms"] =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - when_).count();
  return out;
}

std::optional<json> EngineHealth::answer(std::function<void(json)> later) {
  {
    std::lock_guard lock(mu_);
    if ((!answer_.is_null() && Clock::now() - when_ < opts_.fresh) || stopping_)
      return describe_locked();
    waiters_.push_back(Waiter{std::move(later), Clock::now() + opts_.patience, generation_});
    kicked_ = true;
  }
  cv_.notify_all();
  return std::nullopt;
}

}  // namespace jobq
