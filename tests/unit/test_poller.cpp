// poller: recording how running attempts end, driven by tick() against the
// FakeEngine; and result_from(), the mapping of an exited container to a job's end.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/time_util.hpp"
#include "exec/poller.hpp"
#include "fake_engine.hpp"
#include "runtime/docker/docker_runtime.hpp"
#include "store/store.hpp"
#include "test_support.hpp"

using jobq::ActiveAttempt;
using jobq::ContainerState;
using jobq::JobState;
using jobq::LogStream;
using jobq::Poller;
using jobq::PollerOptions;
using jobq::test::FakeEngine;
using jobq::test::TempDir;

namespace {

struct Running {
  std::int64_t id;
  std::string name;
};

struct Fixture {
  TempDir dir;
  jobq::Store store{dir.file("jobq.db")};
  FakeEngine fake;
  jobq::DockerRuntime runtime{fake, store.instance()};
  std::mutex mu;
  std::vector<std::int64_t> finals;

  Fixture() { jobq::test::make_app(store, "web"); }
  std::unique_ptr<Poller> poller(PollerOptions o = {}) {
    return std::make_unique<Poller>(store, runtime, o, [this](std::int64_t id) {
      std::lock_guard l(mu);
      finals.push_back(id);
    });
  }
  // A job claimed by the runner, its start not yet confirmed.
  jobq::LaunchTicket claim_job() {
    jobq::NewJob nj;
    nj.app = "web";
    store.enqueue(nj);
    const auto ts = store.claim_pending(0, 1, jobq::test::naming(store));
    REQUIRE(ts.size() == 1);
    return ts[0];
  }
  // A job whose container runs, as the runner would have left it.
  Running start_job() {
    const auto t = claim_job();
    const auto st = runtime.launch(jobq::test::key_of(t), t.spec);
    store.mark_running(t.job_id, 1, st);
    return {t.job_id, t.spec.name};
  }
  jobq::Job job(std::int64_t id) { return store.get_job(id).value(); }
  std::vector<std::int64_t> final_events() {
    std::lock_guard l(mu);
    return finals;
  }
};

}  // namespace

TEST_CASE_FIXTURE(Fixture, "a container still running is left alone") {
  const auto r = start_job();
  poller()->tick();
  CHECK(job(r.id).state == JobState::running);
  CHECK(fake.exists(r.name));
  CHECK(fake.remove_calls() == 0);
  CHECK(final_events().empty());
}

TEST_CASE_FIXTURE(Fixture, "a running container's StartedAt is recorded verbatim when seen") {
  // Marked running without a start time (adopted, or inspected too early).
  const auto t = claim_job();
  const auto st = runtime.launch(jobq::test::key_of(t), t.spec);
  store.mark_running(t.job_id, 1, jobq::test::run_with_id(st.id));
  REQUIRE(job(t.job_id).attempts[0].started_at.empty());
  const std::string docker_started = fake.state_of(t.spec.name).value().started_at;
  poller()->tick();
  const auto j = job(t.job_id);
  CHECK(j.state == JobState::running);
  CHECK(j.attempts[0].started_at == docker_started);
  // Seen once: a later look changes nothing, and the end keeps Docker's own.
  CHECK_FALSE(store.record_started(t.job_id, 1, "2030-01-01T00:00:00Z"));
  fake.exit(t.spec.name, 0);
  poller()->tick();
  CHECK(job(t.job_id).attempts[0].started_at == docker_started);
}

TEST_CASE_FIXTURE(Fixture, "an exit is recorded with Docker's code and times, verbatim") {
  const auto ok = start_job(), bad = start_job(), still = start_job();
  fake.exit(ok.name, 0);
  fake.exit(bad.name, 3);
  const ContainerState ok_st = fake.state_of(ok.name).value();
  const ContainerState bad_st = fake.state_of(bad.name).value();
  poller()->tick();

  const auto j = job(ok.id);
  CHECK(j.state == JobState::succeeded);
  CHECK(j.exit_code == 0);
  CHECK(j.reason.empty());
  REQUIRE(j.attempts.size() == 1);
  CHECK(j.attempts[0].state == JobState::succeeded);
  CHECK(j.attempts[0].started_at == ok_st.started_at);
  CHECK(j.attempts[0].finished_at == ok_st.finished_at);
  CHECK(j.attempts[0].container_id == ok_st.id);
  CHECK(j.attempts[0].started_at.rfind("2099-11-21T", 0) == 0);

  const auto f = job(bad.id);
  CHECK(f.state == JobState::failed);
  CHECK(f.exit_code == 3);
  CHECK(f.reason == "exit code 3");
  CHECK(f.attempts[0].finished_at == bad_st.finished_at);

  CHECK(job(still.id).state == JobState::running);
  CHECK(final_events() == std::vector<std::int64_t>{ok.id, bad.id});
}

TEST_CASE_FIXTURE(Fixture, "an OOM kill fails the job with reason oom") {
  const auto r = start_job();
  fake.exit(r.name, 137, true);
  poller()->tick();
  const auto j = job(r.id);
  CHECK(j.state == JobState::failed);
  CHECK(j.reason == "oom");
  CHECK(j.exit_code == 137);
  CHECK(j.attempts[0].oom_killed);
}

TEST_CASE_FIXTURE(Fixture, "a container that vanished makes the job lost") {
  const auto r = start_job();
  fake.vanish(r.name);
  poller()->tick();
  const auto j = job(r.id);
  CHECK(j.state == JobState::lost);
  CHECK(j.reason.find(r.name) != std::string::npos);
  CHECK(j.reason.find("disappeared") != std::string::npos);
  CHECK_FALSE(j.exit_code);
  CHECK(j.attempts[0].state == JobState::lost);
  CHECK(final_events() == std::vector<std::int64_t>{r.id});
}

TEST_CASE_FIXTURE(Fixture, "stdout and stderr are captured separately") {
  const auto r = start_job();
  fake.set_logs(r.name, "line 1\nline 2\n", std::string("warn\0ing\n", 9));
  fake.exit(r.name, 0);
  poller()->tick();
  const auto out = store.get_log(r.id, 1, LogStream::stdout_stream);
  const auto err = store.get_log(r.id, 1, LogStream::stderr_stream);
  REQUIRE(out);
  REQUIRE(err);
  CHECK(out->data == "line 1\nline 2\n");
  CHECK_FALSE(out->truncated);
  CHECK(out->total_bytes == 14);
  CHECK(err->data == std::string("warn\0ing\n", 9));
  CHECK(err->total_bytes == 9);
}

TEST_CASE_FIXTURE(Fixture, "logs are capped per stream, keeping the tail") {
  const auto r = start_job();
  std::string big;
  for (int i = 0; i < 100; ++i) big += static_cast<char>('0' + i % 10);
  fake.set_logs(r.name, big, "short\n");
  fake.set_log_chunk(7);
  fake.exit(r.name, 1);
  PollerOptions o;
  o.log_cap = 10;
  poller(o)->tick();
  const auto out = store.get_log(r.id, 1, LogStream::stdout_stream);
  REQUIRE(out);
  CHECK(out->data == big.substr(90));
  CHECK(out->truncated);
  CHECK(out->total_bytes == 100);
  const auto err = store.get_log(r.id, 1, LogStream::stderr_stream);
  REQUIRE(err);
  CHECK(err->data == "short\n");
  CHECK_FALSE(err->truncated);
}

TEST_CASE_FIXTURE(Fixture, "the container is removed only after the result is committed") {
  const auto r = start_job();
  fake.exit(r.name, 0);
  std::vector<std::string> seen;  // the job's state at the moment of removal
  fake.set_remove_hook([&](const std::string& name) {
    if (name == r.name) seen.emplace_back(jobq::to_string(job(r.id).state));
  });
  auto p = poller();
  p->tick();
  p->settle();
  CHECK(seen == std::vector<std::string>{"succeeded"});
  CHECK_FALSE(fake.exists(r.name));
  CHECK(fake.removes() == 1);
}

TEST_CASE_FIXTURE(Fixture, "keep_containers leaves the exited container") {
  const auto r = start_job();
  fake.exit(r.name, 0);
  PollerOptions o;
  o.keep_containers = true;
  poller(o)->tick();
  CHECK(job(r.id).state == JobState::succeeded);
  CHECK(fake.exists(r.name));
  CHECK(fake.remove_calls() == 0);
}

TEST_CASE_FIXTURE(Fixture, "an unreachable engine changes nothing until it answers again") {
  const auto r = start_job();
  fake.exit(r.name, 0);
  fake.set_unreachable(true);
  auto p = poller();
  p->tick();
  CHECK(job(r.id).state == JobState::running);
  CHECK(final_events().empty());
  fake.set_unreachable(false);
  p->tick();
  CHECK(job(r.id).state == JobState::succeeded);
}

TEST_CASE_FIXTURE(Fixture, "cancelling a running job stops its container, then records cancelled") {
  const auto r = start_job();
  const auto other = start_job();
  store.request_cancel(r.id);
  PollerOptions o;
  o.stop_grace_seconds = 7;
  auto p = poller(o);
  p->tick();  // asks for the stop, off the tick's thread
  CHECK(jobq::test::wait_until([&] { return !fake.state_of(r.name)->running; }));
  CHECK(fake.stops() == 1);
  CHECK(fake.last_stop_grace() == 7);
  CHECK(fake.state_of(other.name)->running);  // only the cancelled one

  p->tick();
  p->settle();
  const auto j = job(r.id);
  CHECK(j.state == JobState::cancelled);
  CHECK(j.reason == "cancel requested while running");
  CHECK(j.exit_code == 143);
  CHECK_FALSE(fake.exists(r.name));
  CHECK(job(other.id).state == JobState::running);
  CHECK(fake.stops() == 1);
}

TEST_CASE("result_from maps an exited container to the job's end") {
  const ActiveAttempt a{42, 2, "jobq-x-42-2", false};
  ContainerState st;
  st.id = "cid";
  st.status = "exited";
  st.started_at = "2026-11-21T00:32:00.8577215Z";
  st.finished_at = "2026-11-21T00:32:01Z";

  auto r = jobq::result_from(a, jobq::status_of(st));
  CHECK(r.job_id == 42);
  CHECK(r.attempt == 2);
  CHECK(r.state == JobState::succeeded);
  CHECK(r.reason.empty());
  CHECK(r.exit_code == 0);
  CHECK(r.container_id == "cid");
  CHECK(r.started_at == st.started_at);
  CHECK(r.finished_at == st.finished_at);

  st.exit_code = 2;
  r = jobq::result_from(a, jobq::status_of(st));
  CHECK(r.state == JobState::failed);
  CHECK(r.reason == "exit code 2");
  CHECK(r.exit_code == 2);

  st.exit_code = 137;
  st.oom_killed = true;
  r = jobq::result_from(a, jobq::status_of(st));
  CHECK(r.state == JobState::failed);
  CHECK(r.reason == "oom");
  CHECK(r.oom_killed);

  st.oom_killed = false;
  st.exit_code = 127;
  st.error = "exec failed";
  r = jobq::result_from(a, jobq::status_of(st));
  CHECK(r.state == JobState::failed);
  CHECK(r.reason == "error: exec failed");
  CHECK(r.error == "exec failed");

  // A cancel asked for wins over however the container ended.
  const ActiveAttempt cancelled{42, 2, "jobq-x-42-2", true};
  for (int code : {0, 1, 143}) {
    st = ContainerState{};
    st.exit_code = code;
    r = jobq::result_from(cancelled, jobq::status_of(st));
    CHECK(r.state == JobState::cancelled);
    CHECK(r.reason == "cancel requested while running");
    CHECK(r.exit_code == code);
  }
}

TEST_CASE("a container that exited on its own before the cancel keeps its own result") {
  jobq::ActiveAttempt a{7, 1, "c", true, *jobq::parse_rfc3339_ns("2026-11-21T10:00:00Z")};
  ContainerState st;
  st.status = "exited";
  st.exit_code = 0;
  st.finished_at = "2026-11-21T09:59:59.5Z";  // before the cancel was asked for
  CHECK(jobq::result_from(a, jobq::status_of(st)).state == JobState::succeeded);
  st.finished_at = "2026-11-21T10:00:02Z";  // after: the cancel stopped it
  st.exit_code = 143;
  CHECK(jobq::result_from(a, jobq::status_of(st)).state == JobState::cancelled);
  a.cancel_requested_ns = 0;  // when unknown (an older record), the cancel wins
  st.finished_at = "2026-11-21T09:00:00Z";
  CHECK(jobq::result_from(a, jobq::status_of(st)).state == JobState::cancelled);
}

TEST_CASE("a timed-out job is recorded as timed_out, unless it ended before its deadline") {
  const auto started = *jobq::parse_rfc3339_ns("2026-11-21T10:00:00Z");
  jobq::ActiveAttempt a{8, 1, "c", false, 0, started, 1000, true};
  ContainerState st;
  st.status = "exited";
  st.exit_code = 143;
  st.finished_at = "2026-11-21T10:00:01.2Z";
  auto r = jobq::result_from(a, jobq::status_of(st));
  CHECK(r.state == JobState::timed_out);
  CHECK(r.reason.find("timeout of 1000 ms") != std::string::npos);
  CHECK(r.exit_code == 143);  // Docker's code is still recorded
  st.exit_code = 0;
  st.finished_at = "2026-11-21T10:00:00.9Z";  // done in time; the stop came too late to matter
  CHECK(jobq::result_from(a, jobq::status_of(st)).state == JobState::succeeded);
}

TEST_CASE_FIXTURE(Fixture,
                  "with many running, one list call finds the exits; a sweep inspects each") {
  std::vector<Running> jobs;
  for (int i = 0; i < 4; ++i) jobs.push_back(start_job());
  PollerOptions o;
  o.inspect_all_below = 2;  // four running count as many
  o.sweep_interval = std::chrono::hours(1);
  auto p = poller(o);
  p->tick();  // the first tick is a sweep
  const int after_sweep = fake.inspect_calls();
  CHECK(after_sweep >= 4);
  p->tick();  // nothing exited: no inspect at all
  CHECK(fake.inspect_calls() == after_sweep);
  fake.exit(jobs[1].name, 7);
  p->tick();
  CHECK(job(jobs[1].id).state == JobState::failed);
  CHECK(job(jobs[1].id).exit_code == 7);
  CHECK(fake.inspect_calls() <= after_sweep + 2);  // only the exited one
  CHECK(job(jobs[0].id).state == JobState::running);
  // A container removed outside jobq is not in the list of exited ones: the
  // next sweep finds it.
  fake.remove(jobs[2].name);
  p->tick();
  CHECK(job(jobs[2].id).state == JobState::running);
  PollerOptions sweep_now = o;
  sweep_now.sweep_interval = std::chrono::milliseconds(0);
  poller(sweep_now)->tick();
  CHECK(job(jobs[2].id).state == JobState::lost);
}

TEST_CASE_FIXTURE(Fixture, "a round for named jobs inspects only their containers") {
  const auto a = start_job();
  const auto b = start_job();
  fake.exit(a.name, 0);
  fake.exit(b.name, 0);
  auto p = poller();
  const int before = fake.inspect_calls();
  p->tick(std::set<std::int64_t>{a.id, 999});  // 999: no such running job
  CHECK(fake.inspect_calls() - before == 1);
  CHECK(job(a.id).state == JobState::succeeded);
  CHECK(job(b.id).state == JobState::running);  // not named: left for a full round
  p->tick();
  CHECK(job(b.id).state == JobState::succeeded);
}

TEST_CASE_FIXTURE(
    Fixture,
    "a job whose start call is still in flight is recorded once its container has exited") {
  const auto t = claim_job();
  const auto id = t.job_id;
  auto p = poller();
  // Named before its container exists (an event, a cancel): left to the runner.
  p->tick(std::set<std::int64_t>{id});
  CHECK(job(id).state == JobState::starting);
  const auto st = runtime.launch(jobq::test::key_of(t), t.spec);
  p->tick(std::set<std::int64_t>{id});  // running: still the runner's
  CHECK(job(id).state == JobState::starting);
  fake.exit(t.spec.name, 3);
  p->tick(std::set<std::int64_t>{id});  // the engine's die event, before the start call's answer
  CHECK(job(id).state == JobState::failed);
  CHECK(job(id).exit_code == 3);
  CHECK(final_events() == std::vector<std::int64_t>{id});
  p->settle();
  CHECK(fake.exists(t.spec.name));  // left for the runner to remove, its launch settled
  // Even retried and on its next attempt by then, the first start call's
  // late answer changes nothing.
  store.retry_job(id, "me");
  REQUIRE(store.claim_pending(0, 1, jobq::test::naming(store)).size() == 1);
  store.mark_running(id, 1, st);
  CHECK(job(id).state == JobState::starting);
  REQUIRE(job(id).attempts.size() == 2);
  CHECK(job(id).attempts[0].state == JobState::failed);
  CHECK(job(id).attempts[1].state == JobState::starting);
}

TEST_CASE_FIXTURE(Fixture,
                  "a removal waits while the engine is busy launching, within its patience") {
  const auto r = start_job();
  fake.exit(r.name, 0);
  std::atomic<bool> busy{true};
  PollerOptions o;
  o.engine_busy = [&] { return busy.load(); };
  SUBCASE("until the launches are done") {
    auto p = poller(o);
    p->tick();
    CHECK(job(r.id).state == JobState::succeeded);  // recorded at once
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    CHECK(fake.exists(r.name));  // the launches go first
    busy = false;
    p->settle();
    CHECK_FALSE(fake.exists(r.name));
  }
  SUBCASE("no longer than its patience") {
    o.removal_patience = std::chrono::milliseconds(100);
    auto p = poller(o);
    p->tick();
    p->settle();  // busy all along
    CHECK_FALSE(fake.exists(r.name));
  }
}

TEST_CASE_FIXTURE(Fixture,
                  "a start confirmed between the poller's look and its commit: the poller removes "
                  "the container") {
  const auto t = claim_job();
  const auto id = t.job_id;
  const auto st = runtime.launch(jobq::test::key_of(t), t.spec);
  fake.exit(t.spec.name, 0);
  // The poller has read the attempt as starting; the runner's mark_running
  // commits while the poller's inspect is being answered.
  bool marked = false;
  fake.set_inspect_hook([&](const std::string&) {
    if (!marked) marked = store.mark_running(id, 1, st);
  });
  auto p = poller();
  p->tick(std::set<std::int64_t>{id});
  p->settle();
  CHECK(marked);  // so the runner will not remove it: the poller must
  CHECK(job(id).state == JobState::succeeded);
  CHECK_FALSE(fake.exists(t.spec.name));
}
