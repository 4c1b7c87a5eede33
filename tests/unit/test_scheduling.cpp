// store: which pending job starts next. Priority within an application, one
// job per application per round across them, and jobs that may not start
// yet: held, not yet due, in a paused application. Idempotency keys.
#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <vector>

#include "store/store.hpp"
#include "test_support.hpp"

using jobq::JobState;
using jobq::NewJob;
using jobq::Store;
using jobq::test::TempDir;

namespace {

struct Fixture {
  TempDir dir;
  Store store{dir.file("jobq.db")};

  void make_app(const std::string& name, int max_running = 0) {
    jobq::test::make_app(store, name, max_running);
  }
  std::int64_t enqueue(const std::string& app, int priority = 0, std::int64_t not_before_ns = 0,
                       const std::string& key = "") {
    NewJob nj;
    nj.app = app;
    nj.priority = priority;
    nj.not_before_ns = not_before_ns;
    nj.key = key;
    return store.enqueue(nj).id;
  }
  std::vector<std::int64_t> claim(int n, int global_max = 0) {
    std::vector<std::int64_t> out;
    for (const auto& t : store.claim_pending(global_max, n, jobq::test::naming(store)))
      out.push_back(t.job_id);
    return out;
  }
};

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

TEST_CASE("within an application, higher priority starts first, then first come") {
  Fixture f;
  f.make_app("a");
  const auto low = f.enqueue("a", -5);
  const auto plain1 = f.enqueue("a");
  const auto high = f.enqueue("a", 10);
  const auto plain2 = f.enqueue("a");
  CHECK(f.claim(4) == std::vector<std::int64_t>{high, plain1, plain2, low});
}

TEST_CASE("a flood in one application takes one slot a round from another's single job") {
  Fixture f;
  f.make_app("flood");
  f.make_app("single");
  std::vector<std::int64_t> flood;
  for (int i = 0; i < 50; ++i) flood.push_back(f.enqueue("flood"));
  const auto single = f.enqueue("single");
  // Two slots: one for each application, although single's job is the newest.
  const auto first = f.claim(2);
  CHECK(first.size() == 2);
  CHECK(first[0] == flood[0]);
  CHECK(first[1] == single);
}

TEST_CASE("the global limit still caps a round-robin claim") {
  Fixture f;
  f.make_app("a");
  f.make_app("b");
  for (int i = 0; i < 5; ++i) {
    f.enqueue("a");
    f.enqueue("b");
  }
  CHECK(f.claim(100, 3).size() == 3);
  CHECK(f.claim(100, 3).empty());  // 3 starting already hold every slot
}

TEST_CASE("a job that is not yet due waits; the runner is told when it falls due") {
  Fixture f;
  f.make_app("a");
  const auto later = now_ns() + 3'600'000'000'000;  // in an hour
  const auto delayed = f.enqueue("a", 0, later);
  const auto now = f.enqueue("a");
  CHECK(f.claim(10) == std::vector<std::int64_t>{now});
  CHECK(f.store.next_due_ns() == later);
  CHECK(f.store.get_job(delayed)->state == JobState::pending);
  const auto past = f.enqueue("a", 0, now_ns() - 1'000'000);
  CHECK(f.claim(10) == std::vector<std::int64_t>{past});
}

TEST_CASE("a held job does not start until released; only pending jobs can be held") {
  Fixture f;
  f.make_app("a");
  const auto id = f.enqueue("a");
  CHECK(f.store.update_pending(id, std::nullopt, true).held);
  CHECK(f.claim(10).empty());
  CHECK_FALSE(f.store.update_pending(id, std::nullopt, false).held);
  CHECK(f.claim(10) == std::vector<std::int64_t>{id});
  CHECK_THROWS_AS(f.store.update_pending(id, std::nullopt, true),
                  jobq::StoreError);  // starting now
}

TEST_CASE("a paused application launches nothing until resumed") {
  Fixture f;
  f.make_app("a");
  const auto id = f.enqueue("a");
  jobq::AppUpdate pause;
  pause.paused = true;
  CHECK(f.store.update_app("a", pause).paused);
  CHECK(f.claim(10).empty());
  jobq::AppUpdate resume;
  resume.paused = false;
  f.store.update_app("a", resume);
  CHECK(f.claim(10) == std::vector<std::int64_t>{id});
}

TEST_CASE("an idempotency key returns the first job, per application") {
  Fixture f;
  f.make_app("a");
  f.make_app("b");
  bool existed = true;
  NewJob nj;
  nj.app = "a";
  nj.key = "nightly-2026-11-21";
  const auto first = f.store.enqueue(nj, &existed);
  CHECK_FALSE(existed);
  const auto again = f.store.enqueue(nj, &existed);
  CHECK(existed);
  CHECK(again.id == first.id);
  nj.app = "b";  // the same key in another application is another job
  const auto other = f.store.enqueue(nj, &existed);
  CHECK_FALSE(existed);
  CHECK(other.id != first.id);
  CHECK(f.store.list_jobs({}).size() == 2);
}

TEST_CASE("fair share holds across claims under a global limit of one") {
  Fixture f;
  f.make_app("flood");
  f.make_app("single");
  std::vector<std::int64_t> flood;
  for (int i = 0; i < 20; ++i) flood.push_back(f.enqueue("flood"));
  const auto single = f.enqueue("single");
  auto finish = [&](std::int64_t id) {
    jobq::AttemptResult r;
    r.job_id = id;
    r.attempt = 1;
    r.state = JobState::succeeded;
    r.exit_code = 0;
    f.store.finish_attempt(r);
  };
  const auto first = f.claim(1, 1);
  REQUIRE(first.size() == 1);
  finish(first[0]);
  const auto second = f.claim(1, 1);
  REQUIRE(second.size() == 1);
  // single's job waited for at most one launch slot of the flood.
  CHECK((first[0] == single || second[0] == single));
}
