// pending_reason: why a pending job waits, from the job and the load read
// once per reply; and the store's side of it (app_loads, waiting_for).
#include <doctest/doctest.h>

#include "base/time_util.hpp"
#include "model/pending_reason.hpp"
#include "store/store.hpp"
#include "test_support.hpp"

using jobq::AppLoad;
using jobq::Job;
using jobq::JobState;
using jobq::PendingContext;
using nlohmann::json;

namespace {

constexpr std::int64_t kNow = 1'800'000'000'000'000'000;

Job pending_in(const std::string& app) {
  Job j;
  j.id = 7;
  j.app = app;
  j.state = JobState::pending;
  return j;
}

PendingContext load(int max, std::int64_t running, int global_max = 0,
                    std::int64_t other_running = 0) {
  return jobq::make_pending_context({{"web", AppLoad{"img", false, max, running}},
                                     {"other", AppLoad{"x", false, 0, other_running}}},
                                    global_max, kNow);
}

std::string kind(const Job& j, const PendingContext& c) {
  const json r = jobq::pending_reason(j, c);
  return r.is_null() ? "null" : r.at("kind").get<std::string>();
}

}  // namespace

TEST_CASE("only a pending job has a reason") {
  Job j = pending_in("web");
  j.state = JobState::running;
  CHECK(jobq::pending_reason(j, load(0, 0)).is_null());
}

TEST_CASE("each reason, in its order") {
  Job j = pending_in("web");
  CHECK(kind(j, load(0, 0)) == "queued");

  // Limits: the application's first, then jobqd's.
  json r = jobq::pending_reason(j, load(2, 2));
  CHECK(r["kind"] == "app_limit");
  CHECK(r["running"] == 2);
  CHECK(r["max"] == 2);
  CHECK(r["app"] == "web");
  CHECK(r["text"] == "waiting for a slot: application 'web' runs 2/2");
  r = jobq::pending_reason(j, load(3, 1, 4, 3));
  CHECK(r["kind"] == "daemon_limit");
  CHECK(r["running"] == 4);
  CHECK(r["max"] == 4);
  CHECK(kind(j, load(3, 1, 5, 3)) == "queued");

  PendingContext pulling = load(2, 2);
  pulling.pulling_images.insert("img");
  CHECK(kind(j, pulling) == "image_pull");

  j.not_before_ns = kNow + 5'000'000'000;
  r = jobq::pending_reason(j, load(2, 2));
  CHECK(r["kind"] == "not_before");
  CHECK(r["at_ns"] == kNow + 5'000'000'000);
  CHECK(r["at"] == jobq::format_unix_ns(kNow + 5'000'000'000));
  j.retries_used = 1;
  j.attempts.resize(1);
  r = jobq::pending_reason(j, load(2, 2));
  CHECK(r["kind"] == "retry_backoff");
  CHECK(r["retry"] == 1);
  j.not_before_ns = kNow - 1;  // its time has come
  CHECK(kind(j, load(0, 0)) == "queued");

  j.waiting_on = 2;
  j.waiting_for = {3, 4};
  r = jobq::pending_reason(j, load(0, 0));
  CHECK(r["kind"] == "dependencies");
  CHECK(r["jobs"] == json::array({3, 4}));
  CHECK(r["text"] == "waiting for jobs 3, 4 to end");

  PendingContext paused = load(0, 0);
  paused.apps["web"].paused = true;
  CHECK(kind(j, paused) == "paused");
  j.held = true;
  r = jobq::pending_reason(j, paused);
  CHECK(r["kind"] == "held");
  CHECK(r["text"] == "held (jobq release 7)");
}

TEST_CASE("app_loads reads each application's limit, pause and running count") {
  jobq::test::TempDir dir;
  jobq::Store store(dir.file("jobq.db"));
  jobq::test::make_app(store, "web", 2, {}, "img-web");
  jobq::test::make_app(store, "idle");
  jobq::AppUpdate pause;
  pause.paused = true;
  store.update_app("idle", pause);
  for (int i = 0; i < 3; ++i) {
    jobq::NewJob nj;
    nj.app = "web";
    store.enqueue(nj);
  }
  REQUIRE(store.claim_pending(0, 10, jobq::test::naming(store)).size() == 2);
  const auto loads = store.app_loads();
  REQUIRE(loads.size() == 2);
  CHECK(loads.at("web").running == 2);
  CHECK(loads.at("web").max_running == 2);
  CHECK(loads.at("web").image == "img-web");
  CHECK_FALSE(loads.at("web").paused);
  CHECK(loads.at("idle").paused);
  CHECK(loads.at("idle").running == 0);
}

TEST_CASE("a job's waiting_for names the dependencies that have not ended") {
  jobq::test::TempDir dir;
  jobq::Store store(dir.file("jobq.db"));
  jobq::test::make_app(store, "web");
  jobq::NewJob nj;
  nj.app = "web";
  const auto a = store.enqueue(nj).id, b = store.enqueue(nj).id;
  nj.after = {a};
  nj.after_any = {b};
  const auto c = store.enqueue(nj).id;
  CHECK(store.get_job(c)->waiting_for == std::vector<std::int64_t>{a, b});
  jobq::JobFilter f;
  f.state = JobState::pending;
  CHECK(store.list_jobs(f).back().waiting_for == std::vector<std::int64_t>{a, b});
  store.request_cancel(b);  // ended: no longer waited for
  CHECK(store.get_job(c)->waiting_for == std::vector<std::int64_t>{a});
  CHECK(store.get_job(c)->waiting_on == 1);
}
