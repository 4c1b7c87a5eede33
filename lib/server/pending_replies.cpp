#include "server/pending_replies.hpp"

#include <spdlog/spdlog.h>

#include "wire/protocol.hpp"

namespace jobq {

PendingReplies::~PendingReplies() {
  stop();
}

void PendingReplies::start() {
  thread_ = std::thread([this] {
    std::unique_lock lock(mu_);
    while (!stopped_) {
      auto wake = std::chrono::steady_clock::now() + std::chrono::seconds(1);
      for (const auto& e : entries_)
        if (e.deadline && *e.deadline < wake) wake = *e.deadline;
      cv_.wait_until(lock, wake, [&] { return dirty_ || stopped_; });
      if (stopped_) break;
      dirty_ = false;
      lock.unlock();
      sweep();
      lock.lock();
    }
  });
}

void PendingReplies::stop() {
  {
    std::lock_guard lock(mu_);
    stopped_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void PendingReplies::add(PendingReply p) {
  {
    std::lock_guard lock(mu_);
    entries_.push_back(std::move(p));
    dirty_ = true;
  }
  cv_.notify_all();
}

void PendingReplies::notify() {
  {
    std::lock_guard lock(mu_);
    dirty_ = true;
  }
  cv_.notify_all();
}

std::size_t PendingReplies::size() {
  std::lock_guard lock(mu_);
  return entries_.size();
}

void PendingReplies::sweep() {
  // Entries are only removed here (one thread); new ones are appended, so
  // iterators stay valid while the lock is released around the checks.
  std::unique_lock lock(mu_);
  for (auto it = entries_.begin(); it != entries_.end();) {
    PendingReply& p = *it;
    lock.unlock();
    bool done = false;
    try {
      if (!p.responder.client_alive()) {
        done = true;
      } else if (p.try_finish()) {
        done = true;
      } else if (p.deadline && std::chrono::steady_clock::now() >= *p.deadline) {
        p.on_timeout();
        done = true;
      }
    } catch (const std::exception& e) {
      spdlog::error("pending reply: {}", e.what());
      p.responder(encode_error(ErrorCode::internal, e.what()));
      done = true;
    }
    lock.lock();
    it = done ? entries_.erase(it) : std::next(it);
  }
}

}  // namespace jobq
