// Retention: finished jobs past jobqd's --retention are deleted at start
// (then hourly) on a thread of their own; unfinished ones, and finished ones
// inside the retention, are kept.
#include <doctest/doctest.h>

#include <chrono>
#include <thread>

#include "exec/retention.hpp"
#include "test_support.hpp"

using namespace std::chrono_literals;

namespace {

std::int64_t enqueue(jobq::Store& store) {
  jobq::NewJob nj;
  nj.app = "web";
  return store.enqueue(nj).id;
}

}  // namespace

TEST_CASE("finished jobs past the retention are pruned at start; others are kept") {
  jobq::test::TempDir dir;
  jobq::Store store(dir.file("jobq.db"));
  jobq::test::make_app(store, "web");
  const auto ended = enqueue(store);
  const auto pending = enqueue(store);
  store.request_cancel(ended);  // pending: cancelled, ended, at once
  std::this_thread::sleep_for(50ms);

  jobq::Retention kept_longer(store, 1h);
  CHECK(kept_longer.prune_now() == 0);
  CHECK(store.get_job(ended).has_value());

  jobq::Retention retention(store, 10ms);
  retention.start();
  CHECK(jobq::test::wait_until([&] { return !store.get_job(ended).has_value(); }));
  retention.stop();
  CHECK(store.get_job(pending).has_value());
}

TEST_CASE("a retention of 0 keeps everything and starts no thread") {
  jobq::test::TempDir dir;
  jobq::Store store(dir.file("jobq.db"));
  jobq::test::make_app(store, "web");
  const auto ended = enqueue(store);
  store.request_cancel(ended);
  jobq::Retention retention(store, 0ms);
  retention.start();
  std::this_thread::sleep_for(50ms);
  retention.stop();
  CHECK(store.get_job(ended).has_value());
}
