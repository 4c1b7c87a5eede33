// Notifier: delivers webhook calls from the store's outbox. A job's end and
// its notifications are committed in one transaction (store/cascade.cpp), so
// a call is never forgotten across a restart; the notifier only sends. It
// runs on its own thread and pool, so a slow or dead receiver never holds up
// the runner or the poller. Delivery is at least once: a 2xx answer removes the
// call; anything else is tried again with full-jitter backoff, and after
// max_tries it is given up, kept as failed and logged. Receivers can drop
// repeats by the X-Jobq-Delivery header.
#pragma once

#include <chrono>
#include <functional>
#include <mutex>
#include <set>
#include <thread>

#include "base/work_pool.hpp"
#include "notify/http_post.hpp"
#include "store/store.hpp"

namespace jobq {

struct NotifierOptions {
  int workers = 2;
  std::chrono::milliseconds timeout{10'000};  // per call
  int max_tries = 8;
  std::chrono::milliseconds retry_base{1000};
  std::chrono::milliseconds retry_max{300'000};
  std::chrono::milliseconds check_interval{1000};
};

class Notifier {
 public:
  using Send = std::function<HttpPostResult(const Delivery&, std::chrono::milliseconds timeout)>;
  // `send` defaults to an HTTP POST of the delivery's body to its URL.
  Notifier(Store& store, NotifierOptions opts, Send send = {});
  ~Notifier();
  void start();
  void stop();
  void kick() { kicker_.kick(); }
  // Sends what is due now, on the pool (public for tests).
  void pass();
  // Blocks until no call is in flight (tests).
  void drain();

 private:
  void deliver(const Delivery& d);
  std::chrono::milliseconds next_wait();

  Store& store_;
  NotifierOptions opts_;
  Send send_;
  WorkPool pool_;
  Kicker kicker_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable idle_cv_;
  std::set<std::int64_t> in_flight_;
};

// The HTTP request a delivery makes: its body, with headers naming the event,
// the job and the delivery (for receivers that drop repeats).
HttpPostResult post_delivery(const Delivery& d, std::chrono::milliseconds timeout);

}  // namespace jobq
