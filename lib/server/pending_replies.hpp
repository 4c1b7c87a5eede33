// Replies that wait for something to happen (jobq wait): each entry is
// re-checked whenever jobs change (notify) and at least once a second; it is
// dropped when it has answered, when its deadline passes (on_timeout answers
// then), or when its client has gone away.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <list>
#include <mutex>
#include <optional>
#include <thread>

#include "server/socket_server.hpp"

namespace jobq {

struct PendingReply {
  std::function<bool()> try_finish;  // true: answered
  std::function<void()> on_timeout;
  std::optional<std::chrono::steady_clock::time_point> deadline;
  Responder responder;
};

class PendingReplies {
 public:
  PendingReplies() = default;
  ~PendingReplies();
  void start();
  void stop();
  void add(PendingReply p);
  void notify();
  std::size_t size();

 private:
  void sweep();

  std::mutex mu_;
  std::condition_variable cv_;
  std::list<PendingReply> entries_;
  bool dirty_ = false;
  bool stopped_ = false;
  std::thread thread_;
};

}  // namespace jobq
