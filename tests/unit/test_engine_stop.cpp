// The engine stopping under running jobs (poller): which exits are the
// engine's doing (an outage jobqd saw, a signal followed by the engine going
// away, a restart while jobqd was down), and that the outage ends when the
// engine answers again, with nothing running.
#include <doctest/doctest.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "base/time_util.hpp"
#include "exec/poller.hpp"
#include "fake_engine.hpp"
#include "runtime/docker/docker_runtime.hpp"
#include "store/store.hpp"
#include "test_support.hpp"

using jobq::JobState;
using jobq::Poller;
using jobq::PollerOptions;
using jobq::test::FakeEngine;
using jobq::test::TempDir;
using namespace std::chrono_literals;

namespace {

const std::string kStopped = "killed when the Docker engine stopped";

struct Fixture {
  TempDir dir;
  jobq::Store store{dir.file("jobq.db")};
  FakeEngine fake;
  jobq::DockerRuntime runtime{fake, store.instance()};

  Fixture() {
    jobq::test::make_app(store, "web");
    fake.use_real_clock(true);  // Docker's times against the outage jobqd saw
  }
  std::unique_ptr<Poller> poller(PollerOptions o = {}) {
    return std::make_unique<Poller>(store, runtime, o, [](std::int64_t) {});
  }
  // A running job; `retry` overrides the application's retry policy.
  std::pair<std::int64_t, std::string> start_job(nlohmann::json retry = nullptr) {
    jobq::NewJob nj;
    nj.app = "web";
    nj.retry = std::move(retry);
    store.enqueue(nj);
    const auto ts = store.claim_pending(0, 1, jobq::test::naming(store));
    REQUIRE(ts.size() == 1);
    const auto st = runtime.launch(jobq::test::key_of(ts[0]), ts[0].spec);
    store.mark_running(ts[0].job_id, 1, st);
    return {ts[0].job_id, ts[0].spec.name};
  }
  jobq::Job job(std::int64_t id) { return store.get_job(id).value(); }
};

}  // namespace

TEST_CASE_FIXTURE(Fixture, "an outage ends when the engine answers again, with nothing running") {
  auto p = poller();
  p->tick();
  fake.set_unreachable(true);
  p->engine_lost();  // the event stream broke
  p->tick();
  fake.set_unreachable(false);
  p->tick();  // nothing runs: the engine is asked all the same
  std::this_thread::sleep_for(5ms);
  // Later jobs that die with the codes of a kill, on their own.
  for (const int code : {137, 143, 255}) {
    const auto [id, name] = start_job();
    fake.exit(name, code);
    p->tick();
    const auto j = job(id);
    CHECK(j.state == JobState::failed);
    CHECK(j.exit_code == code);
    CHECK(j.reason.find("engine stopped") == std::string::npos);
    CHECK(j.reason.rfind("exit code " + std::to_string(code), 0) == 0);
  }
}

TEST_CASE_FIXTURE(
    Fixture,
    "a job that died in an outage jobqd saw failed with the engine named, even with exit 0") {
  const auto [id, name] = start_job(nlohmann::json{{"limit", 1}, {"on", {"lost"}}});
  const auto [other, other_name] = start_job();
  auto p = poller();
  p->tick();
  fake.set_unreachable(true);
  p->engine_lost();
  fake.exit(name, 0);  // it trapped SIGTERM and exited 0
  fake.exit(other_name, 137);
  p->tick();
  CHECK(job(id).state == JobState::running);  // nothing known while the engine is away
  fake.set_unreachable(false);
  p->tick();
  p->settle();
  const auto j = job(id);
  CHECK(j.state == JobState::pending);  // --retry-on lost retries it
  CHECK(j.retries_used == 1);
  REQUIRE(j.attempts.size() == 1);
  CHECK(j.attempts[0].state == JobState::failed);
  CHECK(j.attempts[0].exit_code == 0);
  CHECK(j.attempts[0].reason == kStopped + " (exit code 0)");
  const auto o = job(other);
  CHECK(o.state == JobState::failed);  // no retry policy: final
  CHECK(o.reason == kStopped + " (exit code 137)");
}

TEST_CASE_FIXTURE(
    Fixture, "an exit after a signal from outside jobq is held until the engine's fate is known") {
  PollerOptions o;
  SUBCASE("the engine then went away: its shutdown stopped the job") {
    o.signal_hold = 10s;
    const auto [id, name] = start_job();
    auto p = poller(o);
    p->signalled(id);    // dockerd's shutdown sends SIGTERM (a `kill` event)
    fake.exit(name, 0);  // the job traps it, exits 0 (a `die` event)
    p->tick();
    CHECK(job(id).state == JobState::running);  // held
    p->engine_lost();                           // seconds later the stream ends: the engine stopped
    p->tick();                                  // (it answers again at once here)
    const auto j = job(id);
    CHECK(j.state == JobState::failed);
    CHECK(j.exit_code == 0);
    CHECK(j.reason == kStopped + " (exit code 0)");
  }
  SUBCASE("the engine stayed: a `docker stop` by hand, the job's own result") {
    o.signal_hold = 50ms;
    const auto [id, name] = start_job();
    auto p = poller(o);
    p->signalled(id);
    fake.exit(name, 0);
    p->tick();
    CHECK(job(id).state == JobState::running);
    std::this_thread::sleep_for(60ms);
    p->tick();
    CHECK(job(id).state == JobState::succeeded);
    CHECK(job(id).reason.empty());
  }
}

TEST_CASE_FIXTURE(Fixture, "a job killed by an engine restart while jobqd was down says so") {
  const auto [id, name] = start_job();
  const auto [later, later_name] = start_job();
  std::this_thread::sleep_for(5ms);
  const auto boot = jobq::now_unix_ns();  // the engine restarted, after both started
  std::this_thread::sleep_for(5ms);
  fake.exit(name, 255);
  fake.set_boot_time(boot);
  auto p = poller();  // jobqd starts again
  p->tick();
  const auto j = job(id);
  CHECK(j.state == JobState::failed);
  CHECK(j.reason == kStopped + ": the Docker engine restarted at " + jobq::format_unix_ns(boot) +
                        " while jobqd was down (exit code 255)");
  // One started under the new engine is judged by its own exit.
  const auto [fresh, fresh_name] = start_job();
  fake.exit(fresh_name, 0);
  p->tick();
  CHECK(job(fresh).state == JobState::succeeded);
  CHECK(job(later).state == JobState::running);  // still running: nothing to say
}
