// Notifier: webhook calls leave the outbox in order, are tried again with
// backoff on an HTTP error or a failed transfer, and are given up after
// max_tries; a slow receiver holds up neither other calls nor the caller.
#include <doctest/doctest.h>

#include <atomic>
#include <map>
#include <mutex>

#include "notifier.hpp"
#include "policy.hpp"
#include "test_support.hpp"
#include "time_util.hpp"

using jobq::AttemptResult;
using jobq::Delivery;
using jobq::HttpPostResult;
using jobq::JobState;
using jobq::Notifier;
using jobq::NotifierOptions;
using jobq::Store;
using jobq::test::TempDir;
using jobq::test::wait_until;
using nlohmann::json;

namespace {

// A job of app `app` that ends with `state`, which queues its webhook calls.
std::int64_t finished_job(Store& store, const std::string& app, JobState state) {
  jobq::NewJob nj;
  nj.app = app;
  const auto id = store.enqueue(nj).id;
  for (const auto& t : store.claim_pending(0, 100)) {
    AttemptResult r;
    r.job_id = t.job_id;
    r.attempt = t.attempt;
    r.state = state;
    r.exit_code = state == JobState::succeeded ? 0 : 1;
    store.finish_attempt(r);
  }
  return id;
}

void hooked_app(Store& store, const std::string& name, std::vector<std::string> urls) {
  jobq::App a;
  a.name = name;
  a.image = "img";
  a.webhooks = jobq::apply_webhooks({}, json{{"urls", urls}, {"on", {"success", "final-failure"}}});
  store.create_app(a);
}

NotifierOptions fast() {
  NotifierOptions o;
  o.retry_base = std::chrono::milliseconds(1);
  o.retry_max = std::chrono::milliseconds(5);
  o.check_interval = std::chrono::milliseconds(10);
  o.max_tries = 4;
  return o;
}

}  // namespace

TEST_CASE("a delivery that fails is tried again until the receiver takes it") {
  TempDir dir;
  Store store(dir.file("jobq.db"));
  hooked_app(store, "a", {"http://hook.test/ok"});
  std::mutex mu;
  std::vector<std::string> seen;
  Notifier n(store, fast(), [&](const Delivery& d, std::chrono::milliseconds) {
    std::lock_guard lock(mu);
    seen.push_back(d.event + " " + std::to_string(d.tries));
    HttpPostResult r;
    r.status = seen.size() < 3 ? 500 : 204;
    return r;
  });
  const auto id = finished_job(store, "a", JobState::succeeded);
  n.start();
  REQUIRE(wait_until([&] { return !store.next_delivery_ns().has_value(); }));
  n.stop();
  CHECK(seen == std::vector<std::string>{"success 0", "success 1", "success 2"});
  (void)id;
}

TEST_CASE("a delivery is given up after max_tries and then left alone") {
  TempDir dir;
  Store store(dir.file("jobq.db"));
  hooked_app(store, "a", {"http://hook.test/down"});
  std::atomic<int> calls{0};
  Notifier n(store, fast(), [&](const Delivery&, std::chrono::milliseconds) {
    ++calls;
    HttpPostResult r;
    r.error = "Connection refused";
    return r;
  });
  finished_job(store, "a", JobState::failed);
  n.start();
  REQUIRE(wait_until([&] { return !store.next_delivery_ns().has_value(); }));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  n.stop();
  CHECK(calls == 4);
}

TEST_CASE("a slow receiver does not hold up another's calls") {
  TempDir dir;
  Store store(dir.file("jobq.db"));
  hooked_app(store, "slow", {"http://hook.test/slow"});
  hooked_app(store, "quick", {"http://hook.test/quick"});
  std::atomic<bool> release{false};
  std::atomic<int> quick{0};
  Notifier n(store, fast(), [&](const Delivery& d, std::chrono::milliseconds) {
    if (d.url.find("slow") != std::string::npos)
      wait_until([&] { return release.load(); }, std::chrono::seconds(20));
    else
      ++quick;
    HttpPostResult r;
    r.status = 200;
    return r;
  });
  n.start();
  finished_job(store, "slow", JobState::succeeded);
  finished_job(store, "quick", JobState::succeeded);
  finished_job(store, "quick", JobState::succeeded);
  CHECK(wait_until([&] { return quick == 2; }));
  release = true;
  CHECK(wait_until([&] { return !store.next_delivery_ns().has_value(); }));
  n.stop();
}
