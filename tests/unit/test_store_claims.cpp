// store, the runner's and poller's side: claim_pending and its limits, the
// committed launch spec, finish_attempt, cancellation.
#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "base/time_util.hpp"
#include "store/store.hpp"
#include "test_support.hpp"

using jobq::AttemptResult;
using jobq::JobState;
using jobq::LaunchTicket;
using jobq::LogStream;
using jobq::NewJob;
using jobq::Store;
using jobq::StoreError;
using jobq::test::TempDir;

namespace {

struct Fixture {
  TempDir dir;
  Store store{dir.file("jobq.db")};

  void make_app(const std::string& name, int max_running = 0, jobq::EnvMap env = {}) {
    jobq::test::make_app(store, name, max_running, std::move(env), "img-" + name);
  }
  std::int64_t enqueue(const std::string& app) {
    NewJob nj;
    nj.app = app;
    return store.enqueue(nj).id;
  }
  JobState state(std::int64_t id) { return store.get_job(id).value().state; }
};

std::vector<std::int64_t> ids_of(const std::vector<LaunchTicket>& ts) {
  std::vector<std::int64_t> out;
  for (const auto& t : ts) out.push_back(t.job_id);
  return out;
}

AttemptResult exited(std::int64_t id, int code) {
  AttemptResult r;
  r.job_id = id;
  r.attempt = 1;
  r.state = code == 0 ? JobState::succeeded : JobState::failed;
  r.reason = code == 0 ? "" : "exit code " + std::to_string(code);
  r.exit_code = code;
  r.container_id = "cid-" + std::to_string(id);
  r.started_at = "2026-11-21T00:32:00.8577215Z";
  r.finished_at = "2026-11-21T00:32:01.1Z";
  return r;
}

std::string env_value(const LaunchTicket& t, const std::string& key) {
  for (const auto& kv : t.spec.env)
    if (kv.rfind(key + "=", 0) == 0) return kv.substr(key.size() + 1);
  return "(unset)";
}

}  // namespace

TEST_CASE_FIXTURE(Fixture, "claim_pending takes jobs first in, first out across apps") {
  make_app("a");
  make_app("b");
  const auto a1 = enqueue("a"), b1 = enqueue("b"), a2 = enqueue("a"), b2 = enqueue("b");
  CHECK(ids_of(store.claim_pending(0, 3, jobq::test::naming(store))) ==
        std::vector<std::int64_t>{a1, b1, a2});
  CHECK(state(a1) == JobState::starting);
  CHECK(state(b2) == JobState::pending);
  CHECK(ids_of(store.claim_pending(0, 3, jobq::test::naming(store))) ==
        std::vector<std::int64_t>{b2});
  CHECK(store.claim_pending(0, 3, jobq::test::naming(store)).empty());
}

TEST_CASE_FIXTURE(Fixture, "claim_pending respects max_claims") {
  make_app("a");
  for (int i = 0; i < 5; ++i) enqueue("a");
  CHECK(store.claim_pending(0, 0, jobq::test::naming(store)).empty());
  CHECK(store.claim_pending(0, -1, jobq::test::naming(store)).empty());
  CHECK(store.claim_pending(0, 2, jobq::test::naming(store)).size() == 2);
  CHECK(store.claim_pending(0, 10, jobq::test::naming(store)).size() == 3);
}

TEST_CASE_FIXTURE(Fixture, "claim_pending respects an app's max_running, counting starting jobs") {
  make_app("a", 2);
  std::vector<std::int64_t> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(enqueue("a"));
  CHECK(ids_of(store.claim_pending(0, 10, jobq::test::naming(store))) ==
        std::vector<std::int64_t>{ids[0], ids[1]});
  CHECK(store.claim_pending(0, 10, jobq::test::naming(store)).empty());  // both still `starting`
  store.mark_running(ids[0], 1, jobq::test::run_with_id("c0"));
  CHECK(
      store.claim_pending(0, 10, jobq::test::naming(store)).empty());  // running holds the slot too
  store.finish_attempt(exited(ids[0], 0));
  CHECK(ids_of(store.claim_pending(0, 10, jobq::test::naming(store))) ==
        std::vector<std::int64_t>{ids[2]});
  CHECK(store.claim_pending(0, 10, jobq::test::naming(store)).empty());

  jobq::AppUpdate raise;
  raise.max_running = 4;
  store.update_app("a", raise);
  CHECK(ids_of(store.claim_pending(0, 10, jobq::test::naming(store))) ==
        std::vector<std::int64_t>{ids[3], ids[4]});
}

TEST_CASE_FIXTURE(Fixture, "claim_pending respects the global maximum across apps") {
  make_app("a");
  make_app("b", 1);
  const auto a1 = enqueue("a"), b1 = enqueue("b"), b2 = enqueue("b"), a2 = enqueue("a");
  const auto a3 = enqueue("a");
  // b2 waits for b's own limit, so the third slot goes to a2.
  CHECK(ids_of(store.claim_pending(3, 10, jobq::test::naming(store))) ==
        std::vector<std::int64_t>{a1, b1, a2});
  CHECK(store.claim_pending(3, 10, jobq::test::naming(store)).empty());
  store.mark_running(a1, 1, jobq::test::run_with_id("c"));
  store.finish_attempt(exited(a1, 1));
  CHECK(ids_of(store.claim_pending(3, 10, jobq::test::naming(store))) ==
        std::vector<std::int64_t>{a3});
  CHECK(state(b2) == JobState::pending);
}

TEST_CASE_FIXTURE(Fixture, "the committed spec: deterministic name, env and labels") {
  make_app("web", 0, {{"SHARED", "app"}, {"APP_ONLY", "1"}});
  NewJob nj;
  nj.app = "web";
  nj.command = std::vector<std::string>{"run", "it"};
  nj.env = {{"SHARED", "job"}, {"JOB_ONLY", "2"}};
  nj.message = R"({"n":1})";
  nj.labels = {{"team", "blue"}};
  const auto id = store.enqueue(nj).id;
  const auto ts = store.claim_pending(0, 1, jobq::test::naming(store));
  REQUIRE(ts.size() == 1);
  const LaunchTicket& t = ts[0];
  CHECK(t.job_id == id);
  CHECK(t.attempt == 1);
  CHECK(t.app == "web");
  CHECK(t.spec.name == jobq::container_name_for(store.instance(), id, 1));
  CHECK(t.spec.name == "jobq-" + store.instance() + "-" + std::to_string(id) + "-1");
  CHECK(t.spec.image == "img-web");
  CHECK(t.spec.cmd == nj.command);

  CHECK(env_value(t, "SHARED") == "job");  // the job's env wins over the app's
  CHECK(env_value(t, "APP_ONLY") == "1");
  CHECK(env_value(t, "JOB_ONLY") == "2");
  CHECK(env_value(t, "JOBQ_JOB_ID") == std::to_string(id));
  CHECK(env_value(t, "JOBQ_APP") == "web");
  CHECK(env_value(t, "JOBQ_ATTEMPT") == "1");
  CHECK(env_value(t, "JOBQ_MESSAGE") == R"({"n":1})");
  CHECK(std::count_if(t.spec.env.begin(), t.spec.env.end(),
                      [](const std::string& kv) { return kv.rfind("SHARED=", 0) == 0; }) == 1);

  // The job's own labels; the runtime adds its jobq.* ones (test_runtime.cpp).
  CHECK(t.spec.labels == jobq::LabelMap{{"team", "blue"}});

  // The attempt row, and the spec as starting_attempts() reads it back.
  const auto job = store.get_job(id);
  REQUIRE(job->attempts.size() == 1);
  CHECK(job->attempts[0].runtime == "docker");  // the naming's
  CHECK(job->attempts[0].container_name == t.spec.name);
  CHECK(job->attempts[0].state == JobState::starting);
  CHECK(job->attempts[0].container_name == t.spec.name);
  const auto again = store.starting_attempts();
  REQUIRE(again.size() == 1);
  CHECK(again[0].spec.name == t.spec.name);
  CHECK(again[0].spec.env == t.spec.env);
  CHECK(again[0].spec.labels == t.spec.labels);
  CHECK(again[0].spec.cmd == t.spec.cmd);
}

TEST_CASE_FIXTURE(Fixture, "no JOBQ_MESSAGE without a message; image default command") {
  make_app("web");
  enqueue("web");
  const auto ts = store.claim_pending(0, 1, jobq::test::naming(store));
  REQUIRE(ts.size() == 1);
  CHECK(env_value(ts[0], "JOBQ_MESSAGE") == "(unset)");
  CHECK_FALSE(ts[0].spec.cmd);
}

TEST_CASE_FIXTURE(Fixture,
                  "mark_running keeps Docker's StartedAt verbatim; a vanished end keeps it") {
  make_app("a");
  const auto id = enqueue("a");
  REQUIRE(store.claim_pending(0, 10, jobq::test::naming(store)).size() == 1);
  const std::string started = "2026-11-30T04:51:02.1234567Z";
  REQUIRE(store.mark_running(id, 1, jobq::test::run_with_id("cid", started)));
  CHECK(store.get_job(id)->attempts[0].started_at == started);
  CHECK(store.running_attempts().at(0).started_ns == jobq::parse_rfc3339_ns(started).value());
  jobq::AttemptResult lost;
  lost.job_id = id;
  lost.attempt = 1;
  lost.state = JobState::lost;
  store.finish_attempt(lost);
  CHECK(store.get_job(id)->attempts[0].started_at == started);
}

TEST_CASE_FIXTURE(Fixture, "Docker's zero StartedAt is no start") {
  make_app("a");
  const auto id = enqueue("a");
  REQUIRE(store.claim_pending(0, 10, jobq::test::naming(store)).size() == 1);
  REQUIRE(store.mark_running(id, 1, jobq::test::run_with_id("cid", "0001-01-01T00:00:00Z")));
  CHECK(store.get_job(id)->attempts[0].started_at.empty());
  CHECK_FALSE(store.record_started(id, 1, "0001-01-01T00:00:00Z"));
  CHECK(store.record_started(id, 1, "2026-11-30T04:51:02Z"));
  CHECK(store.get_job(id)->attempts[0].started_at == "2026-11-30T04:51:02Z");
}

TEST_CASE_FIXTURE(Fixture, "mark_running and running_attempts") {
  make_app("web");
  const auto id = enqueue("web");
  store.claim_pending(0, 1, jobq::test::naming(store));
  CHECK(store.running_attempts().empty());
  store.mark_running(id, 1, jobq::test::run_with_id("cid-1"));
  CHECK(state(id) == JobState::running);
  CHECK(store.starting_attempts().empty());
  const auto run = store.running_attempts();
  REQUIRE(run.size() == 1);
  CHECK(run[0].job_id == id);
  CHECK(run[0].attempt == 1);
  CHECK(run[0].container_name == jobq::container_name_for(store.instance(), id, 1));
  CHECK_FALSE(run[0].cancel_requested);
  CHECK(store.get_job(id)->attempts[0].container_id == "cid-1");
}

TEST_CASE_FIXTURE(Fixture, "finish_attempt records the result verbatim, with logs, once") {
  make_app("web");
  const auto id = enqueue("web");
  store.claim_pending(0, 1, jobq::test::naming(store));
  store.mark_running(id, 1, jobq::test::run_with_id("cid"));
  AttemptResult r = exited(id, 3);
  r.error = "";
  r.stdout_log = jobq::CapturedLog{"out\n", false, 4};
  r.stderr_log = jobq::CapturedLog{std::string("tail\0bin", 8), true, 1'000'000};
  store.finish_attempt(r);

  const auto job = store.get_job(id);
  CHECK(job->state == JobState::failed);
  CHECK(job->reason == "exit code 3");
  CHECK(job->exit_code == 3);
  REQUIRE(job->attempts.size() == 1);
  const auto& a = job->attempts[0];
  CHECK(a.state == JobState::failed);
  CHECK(a.exit_code == 3);
  CHECK(a.started_at == "2026-11-21T00:32:00.8577215Z");
  CHECK(a.finished_at == "2026-11-21T00:32:01.1Z");
  CHECK(a.container_id == "cid-" + std::to_string(id));
  const auto out = store.get_log(id, 1, LogStream::stdout_stream);
  REQUIRE(out);
  CHECK(out->data == "out\n");
  CHECK_FALSE(out->truncated);
  CHECK(out->total_bytes == 4);
  const auto err = store.get_log(id, 1, LogStream::stderr_stream);
  REQUIRE(err);
  CHECK(err->data == std::string("tail\0bin", 8));
  CHECK(err->truncated);
  CHECK(err->total_bytes == 1'000'000);
  CHECK_FALSE(store.get_log(id, 2, LogStream::stdout_stream));

  // A second report of the same attempt changes nothing.
  AttemptResult again = exited(id, 0);
  again.stdout_log = jobq::CapturedLog{"other", false, 5};
  store.finish_attempt(again);
  const auto after = store.get_job(id);
  CHECK(after->state == JobState::failed);
  CHECK(after->exit_code == 3);
  CHECK(after->reason == "exit code 3");
  CHECK(after->updated_at == job->updated_at);
  CHECK(store.get_log(id, 1, LogStream::stdout_stream)->data == "out\n");
}

TEST_CASE_FIXTURE(Fixture, "finish_attempt keeps the container id when the result has none") {
  make_app("web");
  const auto id = enqueue("web");
  store.claim_pending(0, 1, jobq::test::naming(store));
  store.mark_running(id, 1, jobq::test::run_with_id("cid-kept"));
  AttemptResult lost;
  lost.job_id = id;
  lost.attempt = 1;
  lost.state = JobState::lost;
  lost.reason = "gone";
  store.finish_attempt(lost);
  const auto job = store.get_job(id);
  CHECK(job->state == JobState::lost);
  CHECK_FALSE(job->exit_code);
  CHECK(job->attempts[0].container_id == "cid-kept");
  CHECK_FALSE(store.get_log(id, 1, LogStream::stdout_stream));
}

TEST_CASE_FIXTURE(Fixture, "request_cancel: pending, starting, running, finished, missing") {
  make_app("web");
  const auto pending = enqueue("web");
  const auto c = store.request_cancel(pending);
  CHECK(c.state == JobState::cancelled);
  CHECK(c.reason == "cancel requested before it started");
  CHECK(store.claim_pending(0, 10, jobq::test::naming(store))
            .empty());  // a cancelled job is never claimed

  const auto starting = enqueue("web"), running = enqueue("web");
  CHECK(store.claim_pending(0, 10, jobq::test::naming(store)).size() == 2);
  store.mark_running(running, 1, jobq::test::run_with_id("cid"));
  for (auto id : {starting, running}) {
    const auto j = store.request_cancel(id);
    CHECK(j.cancel_requested);
    CHECK(store.cancel_requested(id));
    CHECK_FALSE(jobq::is_final(j.state));
  }
  CHECK(store.running_attempts().at(0).cancel_requested);
  store.request_cancel(running);  // asking twice is fine while it runs

  store.finish_attempt(exited(running, 0));
  try {
    store.request_cancel(running);
    FAIL("cancelled a finished job");
  } catch (const StoreError& e) {
    CHECK(e.kind() == StoreError::Kind::conflict);
  }
  CHECK(state(running) == JobState::succeeded);
  CHECK_THROWS_AS(store.request_cancel(pending), StoreError);  // cancelled is final too
  try {
    store.request_cancel(424242);
    FAIL("cancelled a missing job");
  } catch (const StoreError& e) {
    CHECK(e.kind() == StoreError::Kind::not_found);
  }
  CHECK_FALSE(store.cancel_requested(424242));
}

TEST_CASE_FIXTURE(
    Fixture,
    "who cancelled is remembered; an owner asking too keeps an admin's cancel; retry clears it") {
  make_app("web");
  const auto pending = enqueue("web");
  const auto c = store.request_cancel(pending, {1000, "alice", false});
  CHECK(c.cancelled_by_uid == 1000);
  CHECK(c.cancelled_by_name == "alice");
  CHECK_FALSE(c.cancelled_by_admin);

  const auto running = enqueue("web");
  REQUIRE(store.claim_pending(0, 10, jobq::test::naming(store)).size() == 1);
  store.mark_running(running, 1, jobq::test::run_with_id("cid"));
  store.request_cancel(running, {0, "root", true});
  const auto j = store.request_cancel(running, {1000, "alice", false});  // the owner asks too
  CHECK(j.cancelled_by_uid == 0);
  CHECK(j.cancelled_by_name == "root");
  CHECK(j.cancelled_by_admin);
  auto stopped = exited(running, 137);
  stopped.state = JobState::cancelled;  // as the poller records a cancelled job's end
  store.finish_attempt(stopped);
  CHECK(state(running) == JobState::cancelled);
  CHECK(store.get_job(running)->cancelled_by_admin);
  const auto again = store.retry_job(running, "root");
  CHECK(again.cancelled_by_uid == -1);
  CHECK_FALSE(again.cancelled_by_admin);
  CHECK(nlohmann::json(again)["cancelled_by"].is_null());
}
