// store: what happens when an attempt ends. A failure the retry policy names
// puts the job back to pending (a new attempt, after a jittered delay) until
// the limit; dependents start when their dependencies allow, and are skipped,
// in cascade, when one they needed did not succeed. Webhook calls are queued
// in the same transaction as the end they announce.
#include <doctest/doctest.h>

#include <random>
#include <string>
#include <vector>

#include "base/time_util.hpp"
#include "model/policy.hpp"
#include "store/store.hpp"
#include "test_support.hpp"

using jobq::AttemptResult;
using jobq::JobState;
using jobq::NewJob;
using jobq::Store;
using jobq::StoreError;
using jobq::test::TempDir;
using nlohmann::json;

namespace {

struct Fixture {
  TempDir dir;
  Store store{dir.file("jobq.db")};

  void make_app(const std::string& name, json retry = json::object(), json hooks = json::object()) {
    jobq::App a;
    a.name = name;
    a.image = "img";
    a.retry = jobq::apply_retry({}, retry);
    a.webhooks = jobq::apply_webhooks({}, hooks);
    store.create_app(a);
  }
  std::int64_t enqueue(const std::string& app, std::vector<std::int64_t> after = {},
                       std::vector<std::int64_t> after_any = {}, json retry = nullptr) {
    NewJob nj;
    nj.app = app;
    nj.after = std::move(after);
    nj.after_any = std::move(after_any);
    nj.retry = std::move(retry);
    return store.enqueue(nj).id;
  }
  // Claims whatever is due and returns the claimed (job, attempt) pairs.
  std::vector<std::pair<std::int64_t, int>> claim() {
    std::vector<std::pair<std::int64_t, int>> out;
    for (const auto& t : store.claim_pending(0, 100, jobq::test::naming(store)))
      out.emplace_back(t.job_id, t.attempt);
    return out;
  }
  // Runs job `id`'s next attempt to the given end (claiming it if due).
  void end(std::int64_t id, int attempt, JobState state, int code = 0, bool oom = false,
           bool launch_error = false) {
    AttemptResult r;
    r.job_id = id;
    r.attempt = attempt;
    r.state = state;
    r.exit_code = code;
    r.oom_killed = oom;
    r.launch_error = launch_error;
    r.reason = state == JobState::succeeded ? "" : "exit code " + std::to_string(code);
    store.finish_attempt(r);
  }
  jobq::Job job(std::int64_t id) { return *store.get_job(id); }
};

const json kFastRetry{{"limit", 2}, {"base_ms", 0}, {"max_ms", 0}};

}  // namespace

TEST_CASE("a failed attempt is retried as a new attempt until the limit") {
  Fixture f;
  f.make_app("a", kFastRetry);
  const auto id = f.enqueue("a");
  REQUIRE(f.claim() == std::vector<std::pair<std::int64_t, int>>{{id, 1}});
  f.end(id, 1, JobState::failed, 3);
  CHECK(f.job(id).state == JobState::pending);
  CHECK(f.job(id).retries_used == 1);
  CHECK(f.job(id).reason.find("retry 1 of 2") != std::string::npos);
  CHECK_FALSE(f.job(id).exit_code.has_value());
  REQUIRE(f.claim() == std::vector<std::pair<std::int64_t, int>>{{id, 2}});
  f.end(id, 2, JobState::failed, 4);
  REQUIRE(f.claim() == std::vector<std::pair<std::int64_t, int>>{{id, 3}});
  f.end(id, 3, JobState::failed, 5);
  const auto j = f.job(id);
  CHECK(j.state == JobState::failed);
  CHECK(j.exit_code == 5);
  REQUIRE(j.attempts.size() == 3);
  CHECK(j.attempts[0].exit_code == 3);
  CHECK(j.attempts[1].exit_code == 4);
  CHECK(j.attempts[0].reason == "exit code 3");
  CHECK(f.claim().empty());
}

TEST_CASE("a success ends the retries; the job keeps every attempt") {
  Fixture f;
  f.make_app("a", kFastRetry);
  const auto id = f.enqueue("a");
  f.claim();
  f.end(id, 1, JobState::failed, 1);
  f.claim();
  f.end(id, 2, JobState::succeeded, 0);
  const auto j = f.job(id);
  CHECK(j.state == JobState::succeeded);
  CHECK(j.attempts.size() == 2);
  CHECK(f.claim().empty());
}

TEST_CASE("only the failure kinds the policy names are retried") {
  Fixture f;
  f.make_app("a", json{{"limit", 3}, {"base_ms", 0}, {"max_ms", 0}, {"on", {"oom", "launch"}}});
  const auto exit_job = f.enqueue("a");
  const auto oom_job = f.enqueue("a");
  const auto launch_job = f.enqueue("a");
  const auto lost_job = f.enqueue("a");
  const auto timeout_job = f.enqueue("a");
  f.claim();
  f.end(exit_job, 1, JobState::failed, 1);
  f.end(oom_job, 1, JobState::failed, 137, true);
  f.end(launch_job, 1, JobState::failed, 0, false, true);
  f.end(lost_job, 1, JobState::lost);
  f.end(timeout_job, 1, JobState::timed_out, 143);
  CHECK(f.job(exit_job).state == JobState::failed);
  CHECK(f.job(oom_job).state == JobState::pending);
  CHECK(f.job(launch_job).state == JobState::pending);
  CHECK(f.job(lost_job).state == JobState::lost);
  CHECK(f.job(timeout_job).state == JobState::timed_out);
}

TEST_CASE("an enqueue may override the policy; a cancelled job is never retried") {
  Fixture f;
  f.make_app("a", kFastRetry);
  const auto none = f.enqueue("a", {}, {}, json{{"limit", 0}});
  const auto cancelled = f.enqueue("a");
  f.claim();
  f.end(none, 1, JobState::failed, 1);
  CHECK(f.job(none).state == JobState::failed);
  f.store.request_cancel(cancelled);
  f.end(cancelled, 1, JobState::cancelled, 143);
  CHECK(f.job(cancelled).state == JobState::cancelled);
}

TEST_CASE("the retry waits: the job is not due before its jittered delay") {
  Fixture f;
  f.make_app("a", json{{"limit", 1}, {"base_ms", 60'000}, {"max_ms", 60'000}});
  const auto id = f.enqueue("a");
  f.claim();
  const auto before = jobq::now_unix_ns();
  f.end(id, 1, JobState::failed, 1);
  const auto j = f.job(id);
  CHECK(j.state == JobState::pending);
  CHECK(j.not_before_ns >= before);
  CHECK(j.not_before_ns <= jobq::now_unix_ns() + 60'000'000'000LL);
  if (j.not_before_ns > jobq::now_unix_ns() + 10'000'000) {
    CHECK(f.claim().empty());
    CHECK(f.store.next_due_ns() == j.not_before_ns);
  }
}

TEST_CASE("full jitter stays within min(max, base * 2^n) and spreads") {
  jobq::RetryPolicy p;
  p.base_ms = 100;
  p.max_ms = 1000;
  std::mt19937_64 rng(42);
  for (int n = 0; n < 70; ++n) {
    const std::int64_t cap = n >= 4 ? 1000 : 100LL << n;
    std::int64_t lo = cap, hi = 0;
    for (int i = 0; i < 200; ++i) {
      const auto d = jobq::retry_delay_ms(p, n, rng());
      CHECK(d >= 0);
      CHECK(d <= cap);
      lo = std::min(lo, d);
      hi = std::max(hi, d);
    }
    CHECK(hi - lo > cap / 2);  // not a constant delay
  }
}

TEST_CASE("jobq retry: a finished job runs again with a fresh retry budget") {
  Fixture f;
  f.make_app("a", json{{"limit", 1}, {"base_ms", 0}, {"max_ms", 0}});
  const auto id = f.enqueue("a");
  CHECK_THROWS_AS(f.store.retry_job(id, "me"), StoreError);  // still pending
  f.claim();
  f.end(id, 1, JobState::failed, 1);
  f.claim();
  f.end(id, 2, JobState::failed, 1);
  REQUIRE(f.job(id).state == JobState::failed);
  const auto j = f.store.retry_job(id, "me");
  CHECK(j.state == JobState::pending);
  CHECK(j.retries_used == 0);
  CHECK(j.reason.find("retried by hand by me") != std::string::npos);
  REQUIRE(f.claim() == std::vector<std::pair<std::int64_t, int>>{{id, 3}});
  f.end(id, 3, JobState::failed, 1);
  CHECK(f.job(id).state == JobState::pending);  // the budget was renewed
}

TEST_CASE("dependencies: a chain runs in order; a failure skips the rest, in cascade") {
  Fixture f;
  f.make_app("a");
  const auto a = f.enqueue("a");
  const auto b = f.enqueue("a", {a});
  const auto c = f.enqueue("a", {b});
  const auto any = f.enqueue("a", {}, {b});
  CHECK(f.job(b).waiting_on == 1);
  CHECK(f.job(c).after == std::vector<std::int64_t>{b});
  CHECK(f.claim() == std::vector<std::pair<std::int64_t, int>>{{a, 1}});
  f.end(a, 1, JobState::succeeded);
  CHECK(f.claim() == std::vector<std::pair<std::int64_t, int>>{{b, 1}});
  f.end(b, 1, JobState::failed, 4);
  const auto jc = f.job(c);
  CHECK(jc.state == JobState::skipped);
  CHECK(jc.reason == "dependency " + std::to_string(b) + " failed (exit code 4)");
  CHECK(jc.attempts.empty());
  // after_any runs whatever the dependency's end.
  CHECK(f.claim() == std::vector<std::pair<std::int64_t, int>>{{any, 1}});
}

TEST_CASE("dependencies: skips cascade through pending dependents") {
  Fixture f;
  f.make_app("a");
  const auto a = f.enqueue("a");
  const auto b = f.enqueue("a", {a});
  const auto c = f.enqueue("a", {b});
  const auto d = f.enqueue("a", {}, {c});
  f.store.request_cancel(a);
  CHECK(f.job(b).state == JobState::skipped);
  CHECK(f.job(b).reason.find("was cancelled") != std::string::npos);
  CHECK(f.job(c).state == JobState::skipped);
  CHECK(f.job(c).reason.find("dependency " + std::to_string(b) + " was skipped") == 0);
  CHECK(f.job(d).state == JobState::pending);
  CHECK(f.claim() == std::vector<std::pair<std::int64_t, int>>{{d, 1}});
}

TEST_CASE("dependencies: all must succeed; a retried dependency keeps its dependents waiting") {
  Fixture f;
  f.make_app("a", kFastRetry);
  const auto a = f.enqueue("a");
  const auto b = f.enqueue("a");
  const auto c = f.enqueue("a", {a, b});
  f.claim();
  f.end(a, 1, JobState::failed, 1);  // retried: not an end
  CHECK(f.job(c).state == JobState::pending);
  CHECK(f.job(c).waiting_on == 2);
  f.end(b, 1, JobState::succeeded);
  CHECK(f.job(c).waiting_on == 1);
  REQUIRE(f.claim() == std::vector<std::pair<std::int64_t, int>>{{a, 2}});
  f.end(a, 2, JobState::succeeded);
  CHECK(f.claim() == std::vector<std::pair<std::int64_t, int>>{{c, 1}});
}

TEST_CASE("dependencies: a missing or cyclic one is refused and nothing is enqueued") {
  Fixture f;
  f.make_app("a");
  const auto a = f.enqueue("a");
  CHECK_THROWS_AS(f.enqueue("a", {a, a + 100}), StoreError);
  // The next id would be the new job itself: a cycle of one.
  try {
    f.enqueue("a", {}, {a + 1});
    FAIL("a job depending on itself was enqueued");
  } catch (const StoreError& e) {
    CHECK(e.kind() == StoreError::Kind::invalid);
    CHECK(std::string(e.what()).find("cycle") != std::string::npos);
  }
  CHECK(f.store.list_jobs({}).size() == 1);
}

TEST_CASE("dependencies: one that already ended counts at once") {
  Fixture f;
  f.make_app("a");
  const auto ok = f.enqueue("a");
  const auto bad = f.enqueue("a");
  f.claim();
  f.end(ok, 1, JobState::succeeded);
  f.end(bad, 1, JobState::failed, 2);
  const auto runs = f.enqueue("a", {ok});
  CHECK(f.job(runs).waiting_on == 0);
  const auto skipped = f.enqueue("a", {ok, bad});
  CHECK(f.job(skipped).state == JobState::skipped);
  const auto any = f.enqueue("a", {}, {bad});
  CHECK(f.job(any).state == JobState::pending);
  CHECK(f.job(any).waiting_on == 0);
}

TEST_CASE("webhooks are queued with the end they announce, per the application's events") {
  Fixture f;
  f.make_app(
      "a", kFastRetry,
      json{{"urls", {"http://127.0.0.1:9/x"}}, {"on", {"success", "failure", "final-failure"}}});
  f.make_app("quiet", json::object(),
             json{{"urls", {"http://127.0.0.1:9/y"}}});  // final-failure only
  const auto id = f.enqueue("a");
  const auto ok = f.enqueue("quiet");
  f.claim();
  f.end(ok, 1, JobState::succeeded);
  CHECK(f.store.due_deliveries(jobq::now_unix_ns(), 100).empty());
  f.end(id, 1, JobState::failed, 1);
  auto due = f.store.due_deliveries(jobq::now_unix_ns(), 100);
  REQUIRE(due.size() == 1);
  CHECK(due[0].event == "failure");
  const json body = json::parse(due[0].body);
  CHECK(body["job"]["id"] == id);
  CHECK(body["job"]["attempts"].size() == 1);
  f.store.delivery_succeeded(due[0].id);
  f.claim();
  f.end(id, 2, JobState::succeeded);
  due = f.store.due_deliveries(jobq::now_unix_ns(), 100);
  REQUIRE(due.size() == 1);
  CHECK(due[0].event == "success");
  CHECK(json::parse(due[0].body)["job"]["exit_code"] == 0);
  // A failed delivery waits for its retry time; given up, it is no longer due.
  f.store.delivery_failed(due[0].id, "HTTP 500", jobq::now_unix_ns() + 60'000'000'000LL);
  CHECK(f.store.due_deliveries(jobq::now_unix_ns(), 100).empty());
  CHECK(f.store.next_delivery_ns().has_value());
  f.store.delivery_failed(due[0].id, "HTTP 500", std::nullopt);
  CHECK_FALSE(f.store.next_delivery_ns().has_value());
}

TEST_CASE("a dependency's end counts once, even when it is retried by hand and ends again") {
  Fixture f;
  f.make_app("a");
  const auto a = f.enqueue("a");
  const auto b = f.enqueue("a");
  const auto c = f.enqueue("a", {a, b});
  CHECK(f.claim().size() == 2);  // a and b
  f.end(a, 1, JobState::succeeded);
  CHECK(f.job(c).waiting_on == 1);
  f.store.retry_job(a, "me");
  REQUIRE(f.claim() == std::vector<std::pair<std::int64_t, int>>{{a, 2}});
  f.end(a, 2, JobState::succeeded);
  CHECK(f.job(c).waiting_on == 1);  // still waits for b
  CHECK(f.claim().empty());
  f.end(b, 1, JobState::succeeded);
  CHECK(f.claim() == std::vector<std::pair<std::int64_t, int>>{{c, 1}});
}

TEST_CASE("retrying a dependent by hand waits for its dependencies again, or is refused") {
  Fixture f;
  f.make_app("a");
  const auto a = f.enqueue("a");
  const auto d = f.enqueue("a", {a});
  f.store.request_cancel(d);  // cancelled while it waited
  CHECK(f.job(d).state == JobState::cancelled);
  const auto again = f.store.retry_job(d, "me");
  CHECK(again.waiting_on == 1);
  CHECK(f.claim() == std::vector<std::pair<std::int64_t, int>>{{a, 1}});  // not d
  f.end(a, 1, JobState::failed, 2);
  CHECK(f.job(d).state == JobState::skipped);
  try {
    f.store.retry_job(d, "me");
    FAIL("a job whose dependency failed was retried");
  } catch (const StoreError& e) {
    CHECK(e.kind() == StoreError::Kind::conflict);
    CHECK(std::string(e.what()).find("retry that job first") != std::string::npos);
  }
}
