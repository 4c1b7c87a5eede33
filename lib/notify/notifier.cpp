#include "notify/notifier.hpp"

#include <algorithm>
#include <random>

#include <spdlog/spdlog.h>

#include "base/time_util.hpp"
#include "model/policy.hpp"

namespace jobq {

HttpPostResult post_delivery(const Delivery& d, std::chrono::milliseconds timeout) {
  std::vector<std::string> headers{"X-Jobq-Event: " + d.event, "X-Jobq-Delivery: " + d.uuid};
  if (d.job_id > 0) headers.push_back("X-Jobq-Job: " + std::to_string(d.job_id));  // not a slot's
  return http_post_json(d.url, d.body, headers, timeout);
}

Notifier::Notifier(Store& store, NotifierOptions opts, Send send)
    : store_(store),
      opts_(opts),
      send_(send ? std::move(send) : Send(post_delivery)),
      pool_(std::max(1, opts.workers)) {}

Notifier::~Notifier() {
  stop();
}

void Notifier::start() {
  thread_ = std::thread([this] {
    do {
      try {
        pass();
      } catch (const std::exception& e) {
        spdlog::error("notifier: {}", e.what());
      }
    } while (kicker_.wait_for(next_wait()));
  });
}

void Notifier::stop() {
  kicker_.stop();
  if (thread_.joinable()) thread_.join();
  pool_.stop();
}

std::chrono::milliseconds Notifier::next_wait() {
  try {
    if (auto next = store_.next_delivery_ns()) {
      const auto wait = std::chrono::milliseconds((*next - now_unix_ns()) / 1'000'000 + 1);
      return std::clamp(wait, std::chrono::milliseconds(1), opts_.check_interval);
    }
  } catch (const StoreError&) {
  }
  return opts_.check_interval;
}

void Notifier::drain() {
  std::unique_lock lock(mu_);
  idle_cv_.wait(lock, [&] { return in_flight_.empty(); });
}

void Notifier::pass() {
  for (const auto& d : store_.due_deliveries(now_unix_ns(), opts_.workers * 8)) {
    {
      std::lock_guard lock(mu_);
      if (!in_flight_.insert(d.id).second) continue;
    }
    // Not due while in flight: the loop sleeps instead of finding it again.
    store_.lease_delivery(d.id, now_unix_ns() + (opts_.timeout.count() + 5000) * 1'000'000);
    const bool queued = pool_.submit([this, d] {
      try {
        deliver(d);
      } catch (const std::exception& e) {
        spdlog::error("webhook {} for job {}: {}", d.id, d.job_id, e.what());
      }
      {
        std::lock_guard lock(mu_);
        in_flight_.erase(d.id);
      }
      idle_cv_.notify_all();
      kicker_.kick();
    });
    if (!queued) {
      std::lock_guard lock(mu_);
      in_flight_.erase(d.id);
    }
  }
}

void Notifier::deliver(const Delivery& d) {
  const HttpPostResult r = send_(d, opts_.timeout);
  if (r.status >= 200 && r.status < 300) {
    store_.delivery_succeeded(d.id);
    spdlog::info("webhook {}: job {} {} delivered to {} ({})", d.id, d.job_id, d.event, d.url,
                 r.status);
    return;
  }
  const std::string error = r.status == 0 ? r.error : "HTTP " + std::to_string(r.status);
  const int tries = d.tries + 1;
  if (tries >= opts_.max_tries) {
    store_.delivery_failed(d.id, error, std::nullopt);
    spdlog::error("webhook {}: job {} {} to {} failed {} times (last: {}); given up", d.id,
                  d.job_id, d.event, d.url, tries, error);
    return;
  }
  RetryPolicy backoff;
  backoff.base_ms = opts_.retry_base.count();
  backoff.max_ms = opts_.retry_max.count();
  thread_local std::mt19937_64 rng{std::random_device{}()};
  const auto delay_ms = retry_delay_ms(backoff, tries - 1, rng());
  store_.delivery_failed(d.id, error, now_unix_ns() + delay_ms * 1'000'000);
  spdlog::warn("webhook {}: job {} {} to {} failed ({}); try {} of {} in {} ms", d.id, d.job_id,
               d.event, d.url, error, tries + 1, opts_.max_tries, delay_ms);
}

}  // namespace jobq
