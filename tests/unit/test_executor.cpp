// Executor: the wiring of jobqd's parts, run with their own threads over the
// FakeEngine. The runner's and the poller's own rounds are made too slow to
// matter (a minute), so only the wiring's wakes can move a job along.
#include <doctest/doctest.h>

#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

#include "exec/executor.hpp"
#include "fake_engine.hpp"
#include "runtime/docker/docker_runtime.hpp"
#include "test_support.hpp"

using jobq::JobState;
using jobq::test::FakeEngine;
using jobq::test::wait_until;
using namespace std::chrono_literals;

namespace {

struct Fixture {
  jobq::test::TempDir dir;
  jobq::Store store{dir.file("jobq.db")};
  FakeEngine fake;
  jobq::DockerRuntime runtime{fake, store.instance()};
  std::mutex mu;
  std::vector<std::int64_t> finals;

  jobq::ExecutorOptions slow() {
    jobq::ExecutorOptions o;
    o.runner.pass_interval = 60s;
    o.poller.interval = 60s;
    o.poller.reconcile_interval = 60s;
    return o;
  }
  std::int64_t enqueue() {
    jobq::NewJob nj;
    nj.app = "web";
    return store.enqueue(nj).id;
  }
  JobState state(std::int64_t id) { return store.get_job(id)->state; }
  std::string name_of(std::int64_t id) { return jobq::container_name_for(store.instance(), id, 1); }
};

}  // namespace

TEST_CASE_FIXTURE(Fixture,
                  "a job's end frees its slot at once: the next job starts without waiting for a "
                  "round, and the caller hears of the end") {
  jobq::test::make_app(store, "web", 1);  // one at a time
  const auto first = enqueue();
  const auto second = enqueue();
  jobq::Executor exec(store, jobq::Runtimes{&runtime}, slow(), [&](std::int64_t id) {
    std::lock_guard lock(mu);
    finals.push_back(id);
  });
  exec.start();  // the runner's first pass claims the first job
  REQUIRE(wait_until([&] { return state(first) == JobState::running; }, 5s));
  CHECK(state(second) == JobState::pending);
  fake.exit(name_of(first), 0);
  exec.poller().check(first);  // what the runtime's end hint does
  REQUIRE(wait_until([&] { return state(first) == JobState::succeeded; }, 5s));
  // Woken by the first one's end, not by a round (a minute away).
  CHECK(wait_until([&] { return state(second) == JobState::running; }, 5s));
  {
    std::lock_guard lock(mu);
    CHECK(finals == std::vector<std::int64_t>{first});
  }
  exec.stop();
}

TEST_CASE_FIXTURE(Fixture, "a started launch wakes the poller for its job") {
  jobq::test::make_app(store, "web");
  fake.set_start_hook([&](const std::string& name) { fake.exit(name, 0); });  // done at once
  jobq::Executor exec(store, jobq::Runtimes{&runtime}, slow());
  exec.start();
  std::this_thread::sleep_for(200ms);  // the first rounds (at start) have passed
  const auto id = enqueue();
  exec.runner().kick();  // what the enqueue's commit does
  // Its end is found by the look the start asked for, not by a round.
  CHECK(wait_until([&] { return state(id) == JobState::succeeded; }, 5s));
  exec.stop();
}
