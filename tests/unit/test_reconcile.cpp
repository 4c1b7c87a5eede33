// Reconciliation and recovery: leftovers removed, strangers reported and left
// alone, a cancel that finds its container already
// running adopts it instead of removing it.
#include <doctest/doctest.h>

#include "base/time_util.hpp"
#include "exec/poller.hpp"
#include "exec/runner.hpp"
#include "fake_engine.hpp"
#include "runtime/docker/docker_runtime.hpp"
#include "store/store.hpp"
#include "test_support.hpp"

using jobq::AttemptResult;
using jobq::JobState;
using jobq::Poller;
using jobq::PollerOptions;
using jobq::test::FakeEngine;
using jobq::test::TempDir;

namespace {

struct Fixture {
  TempDir dir;
  jobq::Store store{dir.file("jobq.db")};
  FakeEngine fake;
  jobq::DockerRuntime runtime{fake, store.instance()};

  Fixture() { jobq::test::make_app(store, "web"); }
  PollerOptions options(bool keep = false) {
    PollerOptions o;
    o.keep_containers = keep;
    return o;
  }
  std::int64_t enqueue() {
    jobq::NewJob nj;
    nj.app = "web";
    return store.enqueue(nj).id;
  }
  jobq::LaunchTicket claim() {
    auto ts = store.claim_pending(0, 1, jobq::test::naming(store));
    REQUIRE(ts.size() == 1);
    return ts[0];
  }
  // A finished job whose container was never removed (jobqd stopped between
  // committing the result and removing it).
  std::string leftover() {
    const auto id = enqueue();
    const auto t = claim();
    const auto st = runtime.launch(jobq::test::key_of(t), t.spec);
    store.mark_running(id, t.attempt, st);
    fake.exit(t.spec.name, 0);
    AttemptResult r;
    r.job_id = id;
    r.attempt = t.attempt;
    r.state = JobState::succeeded;
    r.exit_code = 0;
    store.finish_attempt(r);
    return t.spec.name;
  }
};

}  // namespace

TEST_CASE("reconcile removes a container whose result is already recorded") {
  Fixture f;
  const auto name = f.leftover();
  REQUIRE(f.fake.exists(name));
  Poller poller(f.store, f.runtime, f.options(), [](std::int64_t) {});
  poller.reconcile();
  CHECK_FALSE(f.fake.exists(name));
  CHECK(poller.unknown_containers().empty());
}

TEST_CASE("reconcile keeps leftovers with keep_containers") {
  Fixture f;
  const auto name = f.leftover();
  Poller poller(f.store, f.runtime, f.options(true), [](std::int64_t) {});
  poller.reconcile();
  CHECK(f.fake.exists(name));
}

TEST_CASE(
    "reconcile reports a container with this instance's labels that no job knows, untouched") {
  Fixture f;
  jobq::RunSpec stranger;
  stranger.name = "jobq-" + f.store.instance() + "-999-1";
  stranger.image = "img";
  stranger.labels = {
      {"jobq.instance", f.store.instance()}, {"jobq.job", "999"}, {"jobq.attempt", "1"}};
  f.fake.create(stranger);
  jobq::RunSpec other = stranger;  // another daemon's: not ours to judge
  other.name = "jobq-other-1-1";
  other.labels["jobq.instance"] = "other";
  f.fake.create(other);

  Poller poller(f.store, f.runtime, f.options(), [](std::int64_t) {});
  poller.reconcile();
  CHECK(poller.unknown_containers() == std::vector<std::string>{stranger.name});
  CHECK(f.fake.exists(stranger.name));
  CHECK(f.fake.exists(other.name));
}

TEST_CASE("reconcile leaves containers of running and starting attempts alone") {
  Fixture f;
  const auto id = f.enqueue();
  const auto t = f.claim();
  f.runtime.launch(jobq::test::key_of(t), t.spec);  // still `starting` in the store
  Poller poller(f.store, f.runtime, f.options(), [](std::int64_t) {});
  poller.reconcile();
  CHECK(f.fake.exists(t.spec.name));
  CHECK(poller.unknown_containers().empty());
  CHECK(f.store.attempt_state(id, 1) == JobState::starting);
}

TEST_CASE("a cancel that finds its container already started adopts it instead of removing it") {
  Fixture f;
  const auto id = f.enqueue();
  const auto t = f.claim();
  f.runtime.launch(jobq::test::key_of(t), t.spec);  // an earlier jobqd got this far, then died
  f.store.request_cancel(id);
  REQUIRE(f.store.get_job(id)->cancel_requested);

  jobq::RunnerOptions ro;
  ro.retry_min = std::chrono::milliseconds(1);
  jobq::Runner runner(
      f.store, f.runtime, ro, [](std::int64_t) {}, [](std::int64_t) {});
  runner.pass();
  runner.drain();
  CHECK(f.fake.exists(t.spec.name));  // not removed: it ran, its result counts
  CHECK(f.store.get_job(id)->state == JobState::running);
  CHECK(f.fake.creates() == 1);

  Poller poller(f.store, f.runtime, f.options(), [](std::int64_t) {});
  poller.tick();  // the poller carries out the cancel: stop
  REQUIRE(jobq::test::wait_until([&] { return !f.fake.inspect(t.spec.name)->running; }));
  poller.tick();  // and records the end
  const auto job = f.store.get_job(id);
  CHECK(job->state == JobState::cancelled);
  CHECK(job->exit_code.has_value());
  CHECK(f.fake.creates() == 1);
}
