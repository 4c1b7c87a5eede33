// runner: claims and launches against the FakeEngine, driven one pass at a
// time (pass() + drain(); the runner's own thread is never started).
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "exec/poller.hpp"
#include "exec/runner.hpp"
#include "fake_engine.hpp"
#include "store/store.hpp"
#include "test_support.hpp"

using jobq::EngineError;
using jobq::JobState;
using jobq::Runner;
using jobq::RunnerOptions;
using jobq::test::FakeEngine;
using jobq::test::TempDir;
using namespace std::chrono_literals;

namespace {

struct Fixture {
  TempDir dir;
  jobq::Store store{dir.file("jobq.db")};
  FakeEngine fake;
  jobq::DockerRuntime runtime{fake, store.instance()};
  std::mutex mu;
  std::vector<std::int64_t> started, finals;

  RunnerOptions options(int global_max = 0) {
    RunnerOptions o;
    o.global_max_running = global_max;
    o.retry_min = 1ms;
    o.retry_max = 4ms;
    return o;
  }
  std::unique_ptr<Runner> runner(RunnerOptions o) {
    return std::make_unique<Runner>(
        store, runtime, o,
        [this](std::int64_t id) {
          std::lock_guard l(mu);
          started.push_back(id);
        },
        [this](std::int64_t id) {
          std::lock_guard l(mu);
          finals.push_back(id);
        });
  }
  void make_app(const std::string& name, int max_running = 0) {
    jobq::test::make_app(store, name, max_running);
  }
  std::int64_t enqueue(const std::string& app) {
    jobq::NewJob nj;
    nj.app = app;
    return store.enqueue(nj).id;
  }
  jobq::Job job(std::int64_t id) { return store.get_job(id).value(); }
  std::string name_of(std::int64_t id, int attempt = 1) {
    return jobq::container_name_for(store.instance(), id, attempt);
  }
  bool was_final(std::int64_t id) {
    std::lock_guard l(mu);
    return std::count(finals.begin(), finals.end(), id) == 1;
  }
  int holding_slots(const std::string& app) {
    int n = 0;
    jobq::JobFilter f;
    f.app = app;
    f.limit = 0;
    for (const auto& j : store.list_jobs(f)) n += jobq::holds_slot(j.state);
    return n;
  }
  // Runs jobs to completion: a pass, then one running container exits and
  // the poller records it, until nothing is left. Returns the passes made.
  int run_all(Runner& r, const std::function<void()>& after_pass) {
    jobq::Poller poller(store, runtime, jobq::PollerOptions{}, [](std::int64_t) {});
    for (int round = 1; round <= 200; ++round) {
      r.pass();
      r.drain();
      after_pass();
      const auto running = fake.running_names();
      if (running.empty() && store.count_jobs_by_state().count("pending") == 0) return round;
      if (!running.empty()) fake.exit(running.front(), 0);
      poller.tick();
      poller.settle();  // its removals done
    }
    FAIL("jobs did not finish in 200 rounds");
    return 0;
  }
};

}  // namespace

TEST_CASE_FIXTURE(Fixture, "an app's max_running holds while its jobs run to completion") {
  make_app("a", 2);
  std::vector<std::int64_t> ids;
  for (int i = 0; i < 8; ++i) ids.push_back(enqueue("a"));
  auto r = runner(options());
  run_all(*r, [&] {
    CHECK(fake.running_now() <= 2);
    CHECK(holding_slots("a") <= 2);
  });
  CHECK(fake.max_running_seen() == 2);  // the limit was used, never exceeded
  CHECK(fake.max_running_seen_with_label("jobq.app", "a") == 2);
  CHECK(fake.creates() == 8);
  CHECK(fake.starts() == 8);
  for (auto id : ids) CHECK(job(id).state == JobState::succeeded);
  CHECK(fake.names().empty());  // the poller removed every container
  std::lock_guard l(mu);
  CHECK(started.size() == 8);
}

TEST_CASE_FIXTURE(Fixture, "the global maximum holds across apps") {
  make_app("a");
  make_app("b");
  for (int i = 0; i < 5; ++i) {
    enqueue("a");
    enqueue("b");
  }
  auto r = runner(options(3));
  run_all(*r, [&] { CHECK(fake.running_now() <= 3); });
  CHECK(fake.max_running_seen() == 3);
  CHECK(fake.max_running_seen_with_label("jobq.app", "a") >= 1);
  CHECK(fake.max_running_seen_with_label("jobq.app", "b") >= 1);
  CHECK(fake.creates() == 10);
  CHECK(store.count_jobs_by_state() == std::map<std::string, std::int64_t>{{"succeeded", 10}});
}

TEST_CASE_FIXTURE(Fixture, "a created container with the attempt's name is adopted and started") {
  make_app("a");
  const auto id = enqueue("a");
  jobq::RunSpec earlier;
  earlier.name = name_of(id);
  earlier.image = "img";
  const std::string cid = fake.create(earlier);
  auto r = runner(options());
  r->pass();
  r->drain();
  CHECK(fake.creates() == 1);
  CHECK(fake.create_calls() == 2);
  CHECK(fake.starts() == 1);
  const auto j = job(id);
  CHECK(j.state == JobState::running);
  REQUIRE(j.attempts.size() == 1);
  CHECK(j.attempts[0].container_id == cid);
  CHECK(fake.state_of(name_of(id))->running);
}

TEST_CASE_FIXTURE(Fixture, "a launch left `starting` by an earlier jobqd is adopted, not redone") {
  make_app("a");
  const auto id = enqueue("a");
  const auto tickets = store.claim_pending(
      0, 10, jobq::test::naming(store));  // the earlier jobqd committed the intent,
  REQUIRE(tickets.size() == 1);
  const std::string cid = fake.create(tickets[0].spec);  // created and started the container,
  fake.start(tickets[0].spec.name);                      // then died before mark_running.
  auto r = runner(options());
  r->pass();
  r->drain();
  CHECK(fake.creates() == 1);
  CHECK(fake.start_calls() == 1);  // already running: not started again
  const auto j = job(id);
  CHECK(j.state == JobState::running);
  REQUIRE(j.attempts.size() == 1);
  CHECK(j.attempts[0].container_id == cid);
}

TEST_CASE_FIXTURE(Fixture, "an unreachable engine leaves the job starting until it answers") {
  make_app("a");
  const auto id = enqueue("a");
  fake.set_unreachable(true);
  auto r = runner(options());
  for (int i = 0; i < 3; ++i) {
    r->pass();
    r->drain();
    std::this_thread::sleep_for(5ms);
  }
  auto j = job(id);
  CHECK(j.state == JobState::starting);
  CHECK(j.attempts.size() == 1);  // retried as the same attempt, never claimed twice
  CHECK(fake.creates() == 0);
  CHECK_FALSE(was_final(id));

  fake.set_unreachable(false);
  CHECK(jobq::test::wait_until([&] {
    r->pass();
    r->drain();
    return job(id).state == JobState::running;
  }));
  j = job(id);
  REQUIRE(j.attempts.size() == 1);
  CHECK(j.attempts[0].container_name == name_of(id, 1));
  CHECK(fake.creates() == 1);
  CHECK(fake.state_of(name_of(id))->running);
}

TEST_CASE_FIXTURE(Fixture, "a failed launch is not retried before its backoff has passed") {
  make_app("a");
  const auto id = enqueue("a");
  RunnerOptions o = options();
  o.retry_min = std::chrono::hours(1);
  o.retry_max = std::chrono::hours(1);
  fake.fail_create_with(EngineError(EngineError::Kind::server, 500, "engine overloaded"));
  auto r = runner(o);
  r->pass();
  r->drain();
  CHECK(fake.create_calls() == 1);
  fake.fail_create_with(std::nullopt);
  r->pass();
  r->drain();
  CHECK(fake.create_calls() == 1);  // still backing off
  CHECK(job(id).state == JobState::starting);

  auto restarted = runner(options());  // a new jobqd has no backoff state
  restarted->pass();
  restarted->drain();
  CHECK(job(id).state == JobState::running);
  CHECK(fake.creates() == 1);
}

TEST_CASE_FIXTURE(Fixture, "an error the engine will always give fails the job") {
  make_app("a");
  const auto id = enqueue("a");
  std::string message;
  SUBCASE("rejected") {
    message = "invalid reference format: repository name must be lowercase";
    fake.fail_create_with(EngineError(EngineError::Kind::rejected, 400, message));
  }
  SUBCASE("no such image") {
    message = "No such image: nope:latest";
    fake.fail_create_with(EngineError(EngineError::Kind::not_found, 404, message));
  }
  auto r = runner(options());
  r->pass();
  r->drain();
  const auto j = job(id);
  CHECK(j.state == JobState::failed);
  CHECK(j.reason == "launch failed: " + message);
  REQUIRE(j.attempts.size() == 1);
  CHECK(j.attempts[0].state == JobState::failed);
  CHECK(j.attempts[0].error == message);
  CHECK(was_final(id));
  r->pass();
  r->drain();
  CHECK(fake.create_calls() == 1);  // final: never tried again
  CHECK(fake.names().empty());
}

TEST_CASE_FIXTURE(Fixture, "a container that cannot start fails the job with Docker's error") {
  make_app("a");
  const auto id = enqueue("a");
  const std::string error = "exec: \"nope\": executable file not found in $PATH";
  fake.fail_start_with(error);
  RunnerOptions o = options();
  SUBCASE("removing the container") {
    o.keep_containers = false;
  }
  SUBCASE("keeping the container") {
    o.keep_containers = true;
  }
  auto r = runner(o);
  r->pass();
  r->drain();
  const auto j = job(id);
  CHECK(j.state == JobState::failed);
  CHECK(j.reason == "could not start: " + error);
  CHECK(j.exit_code == 127);
  REQUIRE(j.attempts.size() == 1);
  CHECK(j.attempts[0].error == error);
  CHECK(fake.exists(name_of(id)) == o.keep_containers);
  CHECK(was_final(id));
}

TEST_CASE_FIXTURE(Fixture, "cancelling before the launch means no container at all") {
  make_app("a");
  auto r = runner(options());
  SUBCASE("while pending") {
    const auto id = enqueue("a");
    store.request_cancel(id);
    r->pass();
    r->drain();
    CHECK(job(id).state == JobState::cancelled);
    CHECK(job(id).attempts.empty());
  }
  SUBCASE("after the claim, before the launch") {
    const auto id = enqueue("a");
    REQUIRE(store.claim_pending(0, 10, jobq::test::naming(store)).size() == 1);
    store.request_cancel(id);
    r->pass();
    r->drain();
    const auto j = job(id);
    CHECK(j.state == JobState::cancelled);
    CHECK(j.reason == "cancel requested before it started");
    REQUIRE(j.attempts.size() == 1);
    CHECK(j.attempts[0].state == JobState::cancelled);
    CHECK(was_final(id));
  }
  CHECK(fake.create_calls() == 0);
  CHECK(fake.start_calls() == 0);
}

TEST_CASE_FIXTURE(Fixture, "cancelling after an earlier launch got as far as create removes it") {
  make_app("a");
  const auto id = enqueue("a");
  const auto tickets = store.claim_pending(0, 10, jobq::test::naming(store));
  REQUIRE(tickets.size() == 1);
  fake.create(tickets[0].spec);
  store.request_cancel(id);
  auto r = runner(options());
  r->pass();
  r->drain();
  CHECK(job(id).state == JobState::cancelled);
  CHECK_FALSE(fake.exists(tickets[0].spec.name));
  CHECK(fake.start_calls() == 0);
}

TEST_CASE_FIXTURE(
    Fixture,
    "a job recorded while its start call is in flight: the runner removes its container, once") {
  make_app("a");
  const auto id = enqueue("a");
  jobq::Poller poller(store, runtime, jobq::PollerOptions{}, [](std::int64_t) {});
  // dockerd answers the start call only after the container has exited and
  // the poller, told by the engine's event, has recorded it.
  fake.set_start_hook([&](const std::string& name) {
    fake.exit(name, 0);
    poller.tick(std::set<std::int64_t>{id});
    poller.settle();
    CHECK(fake.exists(name));  // the poller left it: the launch is not settled
  });
  auto r = runner(options());
  r->pass();
  r->drain();
  const auto j = job(id);
  CHECK(j.state == JobState::succeeded);
  REQUIRE(j.attempts.size() == 1);
  CHECK(j.attempts[0].state == JobState::succeeded);
  CHECK(fake.starts() == 1);
  CHECK_FALSE(fake.exists(name_of(id)));  // removed by the runner
  std::lock_guard l(mu);
  CHECK(started.empty());  // never reported as started: it had already ended
}

TEST_CASE_FIXTURE(Fixture, "the container's id is recorded before its start call") {
  make_app("a");
  const auto id = enqueue("a");
  std::string recorded;
  fake.set_start_hook([&](const std::string&) { recorded = job(id).attempts.at(0).container_id; });
  auto r = runner(options());
  r->pass();
  r->drain();
  CHECK(job(id).state == JobState::running);
  CHECK_FALSE(recorded.empty());
  CHECK(recorded == fake.state_of(name_of(id))->id);
}

TEST_CASE_FIXTURE(Fixture,
                  "a start the engine fails with a container that never ran: made anew, not the "
                  "job's failure") {
  make_app("a");
  const auto id = enqueue("a");
  // After dockerd died during a start and came back: the container is
  // `created`, exit code 128, State.Error set, StartedAt the zero time.
  fake.fail_next_starts(1, "failed to create task for container: task 1234: already exists");
  auto r = runner(options());
  r->pass();
  r->drain();
  auto j = job(id);
  CHECK(j.state == JobState::starting);  // not failed: tried again later
  CHECK_FALSE(was_final(id));
  CHECK_FALSE(fake.exists(name_of(id)));  // it never ran: removed
  CHECK(jobq::test::wait_until([&] {
    r->pass();
    r->drain();
    return job(id).state == JobState::running;
  }));
  j = job(id);
  REQUIRE(j.attempts.size() == 1);  // the same attempt, the same name
  CHECK(j.retries_used == 0);       // not counted against its retry policy
  CHECK(fake.creates() == 2);
  CHECK(fake.starts() == 1);  // ran once
  CHECK(j.attempts[0].container_id == fake.state_of(name_of(id))->id);
  CHECK(fake.state_of(name_of(id))->running);
}

TEST_CASE_FIXTURE(Fixture, "an engine that never manages to start it fails the job in the end") {
  make_app("a");
  const auto id = enqueue("a");
  fake.fail_next_starts(1000, "OCI runtime create failed: id already in use");
  auto r = runner(options());
  CHECK(jobq::test::wait_until([&] {
    r->pass();
    r->drain();
    return job(id).state == JobState::failed;
  }));
  CHECK(job(id).reason == "could not start: OCI runtime create failed: id already in use");
  CHECK(fake.creates() == Runner::kEngineStartTries + 1);
  CHECK(fake.starts() == 0);
}

TEST_CASE_FIXTURE(Fixture,
                  "a starting attempt whose container was removed behind jobq's back is lost, "
                  "never created again") {
  make_app("a");
  const auto id = enqueue("a");
  // dockerd started the container, but the start call's answer was lost
  // (jobqd or the connection died): the attempt stays starting.
  fake.set_start_hook([](const std::string&) {
    throw EngineError(EngineError::Kind::unreachable, 0, "connection reset during start");
  });
  {
    auto r = runner(options());
    r->pass();
    r->drain();
  }
  REQUIRE(job(id).state == JobState::starting);
  REQUIRE(fake.state_of(name_of(id))->running);
  fake.set_start_hook({});
  fake.vanish(name_of(id));  // docker rm -f while jobqd was down
  auto restarted = runner(options());
  restarted->pass();
  restarted->drain();
  const auto j = job(id);
  CHECK(j.state == JobState::lost);
  CHECK(j.reason.find("removed outside jobq before its start was confirmed") != std::string::npos);
  CHECK(fake.creates() == 1);  // never created (nor run) again
  CHECK(fake.starts() == 1);
  CHECK(was_final(id));
}
