// Images: the runner claims an application's jobs only once its image is on
// the engine (pulled by the ImagePuller on threads of its own, one pull per
// image), a failed pull is the attempt's launch failure, --pull always and
// never, and a job whose image vanished goes back to pending. Driven one
// runner pass at a time against the FakeEngine.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "exec/image_puller.hpp"
#include "exec/runner.hpp"
#include "fake_engine.hpp"
#include "store/store.hpp"
#include "test_support.hpp"

using jobq::ImagePuller;
using jobq::JobState;
using jobq::PullPolicy;
using jobq::test::FakeEngine;
using jobq::test::TempDir;
using jobq::test::wait_until;
using namespace std::chrono_literals;

namespace {

struct Fixture {
  TempDir dir;
  jobq::Store store{dir.file("jobq.db")};
  FakeEngine fake;
  jobq::DockerRuntime runtime{fake, store.instance()};
  std::atomic<int> settled{0};
  std::unique_ptr<ImagePuller> puller;
  std::unique_ptr<jobq::Runner> runner;

  explicit Fixture(jobq::ImagePullerOptions po = {}, int launch_workers = 4) {
    fake.track_images();
    if (!po.auth) po.auth = [](const std::string&) { return std::string("AUTH"); };
    puller = std::make_unique<ImagePuller>(runtime, po, [this] { ++settled; });
    jobq::RunnerOptions ro;
    ro.retry_min = 1ms;
    ro.retry_max = 4ms;
    ro.launch_workers = launch_workers;
    ro.pullers["docker"] = puller.get();
    runner = std::make_unique<jobq::Runner>(
        store, runtime, ro, [](std::int64_t) {}, [](std::int64_t) {});
  }
  ~Fixture() {
    fake.release_pulls();
    runner->stop();
    puller->stop();
  }
  void make_app(const std::string& name, const std::string& image,
                PullPolicy pull = PullPolicy::missing, int retries = 0) {
    jobq::App a;
    a.name = name;
    a.image = image;
    a.pull = pull;
    a.retry.limit = retries;
    a.retry.base_ms = 1;
    a.retry.max_ms = 1;
    store.create_app(a);
  }
  std::int64_t enqueue(const std::string& app) {
    jobq::NewJob nj;
    nj.app = app;
    return store.enqueue(nj).id;
  }
  jobq::Job job(std::int64_t id) { return store.get_job(id).value(); }
  void pass() {
    runner->pass();
    runner->drain();
  }
  // Passes until the job has left `pending` (or a few seconds pass).
  bool pass_until_claimed(std::int64_t id) {
    return wait_until([&] {
      pass();
      return job(id).state != JobState::pending;
    });
  }
};

}  // namespace

TEST_CASE(
    "a missing image is pulled once while its jobs stay pending, and other apps launch meanwhile") {
  Fixture f({}, 1);  // a single launch worker: the pull must not take it
  f.make_app("big", "reg:5000/big:1");
  f.make_app("small", "small:1");
  f.fake.add_image("small:1");
  f.fake.hold_pulls(true);
  std::vector<std::int64_t> big;
  for (int i = 0; i < 4; ++i) big.push_back(f.enqueue("big"));
  f.pass();
  REQUIRE(wait_until([&] { return f.fake.pulls_now() == 1; }));
  CHECK(f.puller->pulling("reg:5000/big:1"));
  const auto small = f.enqueue("small");
  REQUIRE(f.pass_until_claimed(small));
  CHECK(f.job(small).state == JobState::running);  // not held up by the pull
  CHECK(f.fake.pulls_now() == 1);                  // which is still going on
  for (auto id : big) {
    CHECK(f.job(id).state == JobState::pending);  // no slot taken, no attempt made
    CHECK(f.job(id).attempts.empty());
  }
  f.fake.release_pulls();
  REQUIRE(wait_until([&] { return !f.puller->pulling("reg:5000/big:1"); }));
  for (auto id : big) CHECK(f.pass_until_claimed(id));
  for (auto id : big) CHECK(f.job(id).state == JobState::running);
  CHECK(f.fake.pulls_of("reg:5000/big:1") == 1);  // one pull for the four jobs
  CHECK(f.fake.max_pulls_at_once() == 1);
  CHECK(f.fake.last_pull_auth() == "AUTH");
}

TEST_CASE("an image already there is inspected once and never pulled") {
  Fixture f;
  f.make_app("a", "here:1");
  f.fake.add_image("here:1");
  const auto first = f.enqueue("a");
  REQUIRE(f.pass_until_claimed(first));
  const auto second = f.enqueue("a");
  f.pass();
  CHECK(f.job(second).state == JobState::running);  // claimed in its first pass
  CHECK(f.fake.pulls_of("here:1") == 0);
  CHECK(f.fake.has_image_calls() == 1);
}

TEST_CASE(
    "a failed pull fails the attempt with Docker's message and is retried per the job's policy") {
  jobq::ImagePullerOptions po;
  po.failure_hold = 300ms;
  Fixture f(po);
  f.make_app("a", "reg:5000/private:1", PullPolicy::missing, 1);
  const std::string docker =
      "pull access denied for reg:5000/private, repository does not exist or may require "
      "'docker login'";
  f.fake.fail_pull_with("reg:5000/private:1", docker);
  const auto id = f.enqueue("a");
  REQUIRE(wait_until([&] {
    f.pass();
    return !f.job(id).attempts.empty();
  }));
  auto j = f.job(id);
  REQUIRE(j.attempts.size() == 1);
  CHECK(j.attempts[0].state == JobState::failed);
  CHECK(j.attempts[0].error.find(docker) != std::string::npos);
  CHECK(j.attempts[0].reason.find(docker) != std::string::npos);
  CHECK(j.state == JobState::pending);  // its one retry
  CHECK(f.fake.creates() == 0);
  // Fixed (credentials added): the retry pulls again and runs.
  f.fake.fail_pull_with("reg:5000/private:1", std::nullopt);
  REQUIRE(wait_until([&] {
    f.pass();
    return f.job(id).state == JobState::running;
  }));
  CHECK(f.job(id).attempts.size() == 2);
  CHECK(f.fake.pulls_of("reg:5000/private:1") == 2);
}

TEST_CASE("without a retry policy a failed pull ends the job failed, with Docker's message") {
  Fixture f;
  f.make_app("a", "reg:5000/nope:1");
  f.fake.fail_pull_with("reg:5000/nope:1", "manifest unknown");
  const auto id = f.enqueue("a");
  REQUIRE(wait_until([&] {
    f.pass();
    return f.job(id).state == JobState::failed;
  }));
  CHECK(f.job(id).reason.find("manifest unknown") != std::string::npos);
}

TEST_CASE("a job pending since after a failed pull began waits for the next pull, not its error") {
  jobq::ImagePullerOptions po;
  po.failure_hold = 400ms;
  Fixture f(po);
  f.make_app("a", "reg:5000/flaky:1");
  f.fake.fail_pull_with("reg:5000/flaky:1", "connection refused");
  const auto early = f.enqueue("a");
  REQUIRE(wait_until([&] {
    f.pass();
    return f.job(early).state == JobState::failed;
  }));
  // Within the failure's hold: a new job does not inherit the old error.
  f.fake.fail_pull_with("reg:5000/flaky:1", std::nullopt);
  const auto late = f.enqueue("a");
  f.pass();
  CHECK(f.job(late).state == JobState::pending);
  CHECK(f.job(late).attempts.empty());
  REQUIRE(f.pass_until_claimed(late));  // the next pull, once the hold is over
  CHECK(f.job(late).state == JobState::running);
  CHECK(f.job(late).attempts.size() == 1);
  CHECK(f.fake.pulls_of("reg:5000/flaky:1") == 2);
}

TEST_CASE("--pull always pulls before launching even when the image is there") {
  jobq::ImagePullerOptions po;
  po.fresh = 100ms;
  Fixture f(po);
  f.make_app("a", "app:latest", PullPolicy::always);
  f.fake.add_image("app:latest");
  const auto first = f.enqueue("a");
  f.pass();
  CHECK(f.job(first).state == JobState::pending);  // a pull first
  REQUIRE(f.pass_until_claimed(first));
  CHECK(f.fake.pulls_of("app:latest") == 1);
  std::this_thread::sleep_for(150ms);  // past `fresh`: the next launch pulls again
  const auto second = f.enqueue("a");
  REQUIRE(f.pass_until_claimed(second));
  CHECK(f.fake.pulls_of("app:latest") == 2);
  CHECK(f.fake.has_image_calls() == 0);
}

TEST_CASE("--pull never never pulls: a missing image is the launch's failure") {
  Fixture f;
  f.make_app("a", "absent:1", PullPolicy::never);
  const auto id = f.enqueue("a");
  f.pass();
  REQUIRE(wait_until([&] {
    f.pass();
    return f.job(id).state == JobState::failed;
  }));
  CHECK(f.job(id).reason.find("No such image") != std::string::npos);
  CHECK(f.fake.pulls_of("absent:1") == 0);
}

TEST_CASE("an image removed behind jobq's back sends the job back to pending until it is pulled") {
  Fixture f;
  f.make_app("a", "gone:1");
  f.fake.add_image("gone:1");
  const auto warm = f.enqueue("a");
  REQUIRE(f.pass_until_claimed(warm));  // the puller now knows the image is there
  f.fake.remove_image("gone:1");
  const auto id = f.enqueue("a");
  f.pass();
  // Its claim was undone: no attempt, no container, pending again.
  CHECK(f.job(id).state == JobState::pending);
  CHECK(f.job(id).attempts.empty());
  REQUIRE(f.pass_until_claimed(id));
  CHECK(f.job(id).state == JobState::running);
  CHECK(f.job(id).attempts.size() == 1);
  CHECK(f.fake.pulls_of("gone:1") == 1);
  CHECK(f.fake.creates() == 2);  // one container each, never two for one attempt
}

TEST_CASE("an attempt left starting by an earlier jobqd whose image is gone waits for the pull") {
  TempDir dir;
  jobq::Store store{dir.file("jobq.db")};
  jobq::test::make_app(store, "a", 0, {}, "later:1");
  jobq::NewJob nj;
  nj.app = "a";
  const auto id = store.enqueue(nj).id;
  REQUIRE(store.claim_pending(0, 1, jobq::test::naming(store)).size() ==
          1);  // then the old jobqd died
  FakeEngine fake;
  jobq::DockerRuntime runtime{fake, store.instance()};
  fake.track_images();
  ImagePuller puller(runtime, {}, {});
  jobq::RunnerOptions ro;
  ro.pullers["docker"] = &puller;
  jobq::Runner runner(
      store, runtime, ro, [](std::int64_t) {}, [](std::int64_t) {});
  runner.pass();
  runner.drain();
  CHECK(store.get_job(id)->state == JobState::pending);
  REQUIRE(wait_until([&] {
    runner.pass();
    runner.drain();
    return store.get_job(id)->state == JobState::running;
  }));
  CHECK(fake.pulls_of("later:1") == 1);
  CHECK(fake.creates() == 1);
  puller.stop();
}

TEST_CASE(
    "check: never wants the image there; missing pulls it with progress; checks share one pull") {
  FakeEngine fake;
  jobq::DockerRuntime runtime{fake, "test"};
  fake.track_images();
  ImagePuller puller(runtime, {}, {});
  std::mutex mu;
  using Kind = ImagePuller::CheckOutcome::Kind;
  std::vector<ImagePuller::CheckOutcome> results;
  std::vector<std::string> statuses;
  const auto done = [&](const ImagePuller::CheckOutcome& e) {
    std::lock_guard l(mu);
    results.push_back(e);
  };
  const auto count = [&] {
    std::lock_guard l(mu);
    return results.size();
  };
  puller.check("x:1", PullPolicy::never, {}, done);
  REQUIRE(wait_until([&] { return count() == 1; }));
  CHECK(results[0].kind == Kind::failed);
  CHECK(results[0].message.find("pull policy is never") != std::string::npos);
  CHECK(fake.pulls_of("x:1") == 0);

  fake.hold_pulls(true);
  const auto progress = [&](const jobq::PullProgress& p) {
    std::lock_guard l(mu);
    statuses.push_back(p.status);
  };
  puller.check("x:1", PullPolicy::missing, progress, done);
  REQUIRE(wait_until([&] { return fake.pulls_now() == 1; }));
  puller.check("x:1", PullPolicy::always, {}, done);  // joins the pull under way
  puller.check("x:1", PullPolicy::missing, {}, done);
  fake.release_pulls();
  REQUIRE(wait_until([&] { return count() == 4; }));
  for (std::size_t i = 1; i < 4; ++i) CHECK(results[i].kind == Kind::ok);
  CHECK(fake.pulls_of("x:1") == 1);
  std::lock_guard l(mu);
  CHECK(std::find(statuses.begin(), statuses.end(), "Downloading") != statuses.end());
  CHECK(statuses.back() == "Pull complete");
}

TEST_CASE("check reports Docker's message when the pull fails, and stop answers waiting checks") {
  FakeEngine fake;
  jobq::DockerRuntime runtime{fake, "test"};
  fake.track_images();
  auto puller = std::make_unique<ImagePuller>(runtime, jobq::ImagePullerOptions{}, [] {});
  fake.fail_pull_with("r:5000/a:1", "no basic auth credentials");
  using Kind = ImagePuller::CheckOutcome::Kind;
  ImagePuller::CheckOutcome outcome;
  std::atomic<bool> answered{false};
  const auto done = [&](const ImagePuller::CheckOutcome& e) {
    outcome = e;
    answered = true;
  };
  puller->check("r:5000/a:1", PullPolicy::missing, {}, done);
  REQUIRE(wait_until([&] { return answered.load(); }));
  CHECK(outcome.kind == Kind::failed);
  CHECK(outcome.message.find("no basic auth credentials") != std::string::npos);

  // An engine that does not answer: nobody knows, which is not a failure.
  fake.set_unreachable(true);
  answered = false;
  puller->check("r:5000/c:1", PullPolicy::missing, {}, done);
  REQUIRE(wait_until([&] { return answered.load(); }));
  CHECK(outcome.kind == Kind::unreachable);
  fake.set_unreachable(false);

  fake.hold_pulls(true);
  answered = false;
  puller->check("r:5000/b:1", PullPolicy::missing, {}, done);
  REQUIRE(wait_until([&] { return fake.pulls_now() == 1; }));
  puller->stop();
  CHECK(answered.load());
  CHECK(outcome.kind == Kind::stopping);
}
