#include "commands/enqueue_committer.hpp"

#include <spdlog/spdlog.h>

namespace jobq {

namespace {
constexpr std::size_t kMaxJobsPerCommit = 20'000;  // bounds one transaction's time
}

EnqueueCommitter::EnqueueCommitter(Store& store, std::function<void()> after_commit)
    : store_(store), after_commit_(std::move(after_commit)) {}

EnqueueCommitter::~EnqueueCommitter() {
  stop();
}

void EnqueueCommitter::start() {
  thread_ = std::thread([this] { run(); });
}

void EnqueueCommitter::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool EnqueueCommitter::submit(std::vector<NewJob> group, Done done) {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return false;
    queue_.emplace_back(std::move(group), std::move(done));
  }
  cv_.notify_one();
  return true;
}

void EnqueueCommitter::run() {
  for (;;) {
    std::vector<std::vector<NewJob>> groups;
    std::vector<Done> dones;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and all committed
      std::size_t jobs = 0;
      while (!queue_.empty() &&
             (groups.empty() || jobs + queue_.front().first.size() <= kMaxJobsPerCommit)) {
        jobs += queue_.front().first.size();
        groups.push_back(std::move(queue_.front().first));
        dones.push_back(std::move(queue_.front().second));
        queue_.pop_front();
      }
    }
    std::vector<EnqueueOutcome> outcomes;
    try {
      outcomes = store_.enqueue_groups(groups);
    } catch (const StoreError& e) {
      // The transaction itself failed (disk full, I/O error): none committed.
      spdlog::error("store: {}", e.what());
      outcomes.assign(groups.size(), EnqueueOutcome{{}, e});
    } catch (const std::exception& e) {
      spdlog::error("enqueue: {}", e.what());
      outcomes.assign(groups.size(),
                      EnqueueOutcome{{}, StoreError(StoreError::Kind::io, e.what())});
    }
    if (after_commit_) after_commit_();
    for (std::size_t i = 0; i < dones.size(); ++i) dones[i](std::move(outcomes[i]));
  }
}

}  // namespace jobq
