#include "base/fair_pool.hpp"

#include <exception>

#include <spdlog/spdlog.h>

namespace jobq {

FairPool::FairPool(Options opts) : opts_(opts) {
  if (opts_.threads < 1) opts_.threads = 1;
  if (opts_.per_uid < 1) opts_.per_uid = 1;
  if (opts_.running_per_uid < 1) opts_.running_per_uid = 1;
  for (int i = 0; i < opts_.threads; ++i) threads_.emplace_back([this] { work(); });
}

FairPool::~FairPool() {
  stop();
}

FairPool::Submitted FairPool::submit(uid_t uid, std::function<void()> task) {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return Submitted::stopping;
    Lane& lane = lanes_[uid];
    if (lane.queue.size() + lane.running >= opts_.per_uid) return Submitted::over_share;
    lane.queue.push_back(std::move(task));
  }
  cv_.notify_all();
  return Submitted::queued;
}

std::size_t FairPool::pending(uid_t uid) {
  std::lock_guard lock(mu_);
  auto it = lanes_.find(uid);
  return it == lanes_.end() ? 0 : it->second.queue.size() + it->second.running;
}

void FairPool::wait_idle() {
  std::unique_lock lock(mu_);
  idle_.wait(lock, [&] { return lanes_.empty(); });
}

void FairPool::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    for (auto it = lanes_.begin(); it != lanes_.end();) {
      it->second.queue.clear();
      it = it->second.running == 0 ? lanes_.erase(it) : std::next(it);
    }
  }
  cv_.notify_all();
  idle_.notify_all();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
}

bool FairPool::take(std::function<void()>& task, uid_t& uid) {
  if (lanes_.empty()) return false;
  // Round robin: the first uid after the last one served, wrapping around.
  auto start = lanes_.upper_bound(last_served_);
  if (start == lanes_.end()) start = lanes_.begin();
  auto it = start;
  do {
    Lane& lane = it->second;
    if (!lane.queue.empty() && lane.running < opts_.running_per_uid) {
      task = std::move(lane.queue.front());
      lane.queue.pop_front();
      ++lane.running;
      uid = it->first;
      last_served_ = uid;
      return true;
    }
    if (++it == lanes_.end()) it = lanes_.begin();
  } while (it != start);
  return false;
}

void FairPool::work() {
  for (;;) {
    std::function<void()> task;
    uid_t uid = 0;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || take(task, uid); });
      if (stopping_ && !task) return;
    }
    try {
      task();
    } catch (const std::exception& e) {
      spdlog::error("background task failed: {}", e.what());
    }
    task = nullptr;  // its captures (a reply) go now, not with the next call
    {
      std::lock_guard lock(mu_);
      auto it = lanes_.find(uid);
      if (it != lanes_.end() && --it->second.running == 0 && it->second.queue.empty())
        lanes_.erase(it);
    }
    cv_.notify_all();
    idle_.notify_all();
  }
}

}  // namespace jobq
