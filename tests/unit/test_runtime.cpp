// The runtime seam (runtime/runtime.hpp). First DockerRuntime over the
// FakeEngine: its names, labels, phases and listing. Then a runtime of
// another shape (ServiceRuntime below: a run is running as soon as it is
// made, its times are a scheduler's, it cannot tell an OOM kill, it runs on
// another node, it has no end events and cannot follow), driven through the
// runner and the poller exactly as jobqd drives Docker: what they record
// comes from the seam, never from Docker's strings.
#include <doctest/doctest.h>

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/time_util.hpp"
#include "exec/poller.hpp"
#include "exec/runner.hpp"
#include "fake_engine.hpp"
#include "model/pending_reason.hpp"
#include "runtime/docker/docker_runtime.hpp"
#include "store/store.hpp"
#include "test_support.hpp"

using jobq::EngineError;
using jobq::JobState;
using jobq::RunKey;
using jobq::RunPhase;
using jobq::RunSpec;
using jobq::test::FakeEngine;
using jobq::test::TempDir;

namespace {

RunSpec spec_named(const std::string& name) {
  RunSpec s;
  s.name = name;
  s.image = "img";
  s.labels = {{"team", "blue"}};
  return s;
}

}  // namespace

TEST_CASE("DockerRuntime names runs deterministically and labels them with their job") {
  FakeEngine fake;
  jobq::DockerRuntime rt(fake, "inst");
  CHECK(rt.kind() == "docker");
  CHECK(rt.run_name(7, 2) == "jobq-inst-7-2");
  CHECK(rt.run_name(7, 2) == rt.run_name(7, 2));
  std::string created_id;
  const auto st = rt.launch(RunKey{7, 2, "web"}, spec_named(rt.run_name(7, 2)),
                            [&](const std::string& id, const std::string&) { created_id = id; });
  CHECK(st.phase == RunPhase::running);
  CHECK(st.id == created_id);
  CHECK(st.container_id == st.id);
  CHECK(st.times_from == jobq::TimeSource::engine);
  CHECK(st.started());
  CHECK(st.node.empty());
  const auto labels = fake.spec_of("jobq-inst-7-2").value().labels;
  CHECK(labels == jobq::LabelMap{{"team", "blue"},
                                 {"jobq.job", "7"},
                                 {"jobq.attempt", "2"},
                                 {"jobq.app", "web"},
                                 {"jobq.instance", "inst"}});
  // Launched again (a relaunch after a crash): adopted, never made twice.
  const auto again = rt.launch(RunKey{7, 2, "web"}, spec_named(rt.run_name(7, 2)));
  CHECK(again.id == st.id);
  CHECK(fake.creates() == 1);
  CHECK(fake.starts() == 1);
}

TEST_CASE("DockerRuntime reads Docker's states as phases") {
  FakeEngine fake;
  jobq::DockerRuntime rt(fake, "inst");
  CHECK(rt.status("nope").phase == RunPhase::absent);
  CHECK_FALSE(rt.status("nope").exists());

  fake.create(spec_named("a"));
  CHECK(rt.status("a").phase == RunPhase::queued);
  fake.start("a");
  CHECK(rt.status("a").phase == RunPhase::running);
  fake.exit("a", 3);
  auto st = rt.status("a");
  CHECK(st.phase == RunPhase::ended);
  CHECK(st.over());
  CHECK(st.exit_code == 3);
  CHECK(st.oom_killed == std::optional<bool>(false));
  CHECK(st.exit_note.empty());

  rt.launch(RunKey{1, 1, "web"}, spec_named("b"));
  fake.exit("b", 137, true);
  CHECK(rt.status("b").oom_killed == std::optional<bool>(true));

  // 255 is also what Docker reports for a container an engine restart killed.
  rt.launch(RunKey{2, 1, "web"}, spec_named("c"));
  fake.exit("c", 255);
  CHECK(rt.status("c").exit_note.find("engine restart") != std::string::npos);

  // A start that fails leaves a created container with the engine's message.
  fake.fail_start_with("exec: \"nope\": executable file not found");
  CHECK_THROWS_AS(rt.launch(RunKey{3, 1, "web"}, spec_named("d")), EngineError);
  st = rt.status("d");
  CHECK(st.phase == RunPhase::launch_failed);
  CHECK(st.over());
  CHECK_FALSE(st.started());
  CHECK(st.message.find("executable file not found") != std::string::npos);
}

TEST_CASE("DockerRuntime lists this instance's runs, with job and attempt from their labels") {
  FakeEngine fake;
  jobq::DockerRuntime rt(fake, "inst");
  rt.launch(RunKey{1, 1, "web"}, spec_named(rt.run_name(1, 1)));
  rt.launch(RunKey{2, 3, "web"}, spec_named(rt.run_name(2, 3)));
  fake.exit(rt.run_name(2, 3), 0);
  jobq::DockerRuntime other(fake, "other");
  other.launch(RunKey{9, 1, "web"}, spec_named(other.run_name(9, 1)));
  RunSpec stray = spec_named("stray");
  stray.labels = {{"jobq.instance", "inst"}, {"jobq.job", "x1"}};
  fake.create(stray);

  std::map<std::string, jobq::RunSummary> all;
  for (const auto& r : rt.runs(false)) all[r.name] = r;
  REQUIRE(all.size() == 3);
  CHECK(all.at("jobq-inst-1-1").job_id == std::optional<std::int64_t>(1));
  CHECK(all.at("jobq-inst-2-3").attempt == std::optional<int>(3));
  CHECK(all.at("jobq-inst-2-3").over);
  CHECK_FALSE(all.at("jobq-inst-1-1").over);
  CHECK_FALSE(all.at("stray").job_id);  // a label that is not a job id
  const auto ended = rt.runs(true);
  REQUIRE(ended.size() == 1);
  CHECK(ended[0].name == "jobq-inst-2-3");
}

TEST_CASE("DockerRuntime: a launch without its image is kind no_image") {
  FakeEngine fake;
  fake.track_images();
  jobq::DockerRuntime rt(fake, "inst");
  try {
    rt.launch(RunKey{1, 1, "web"}, spec_named("a"));
    FAIL("launched without an image");
  } catch (const EngineError& e) {
    CHECK(e.kind() == EngineError::Kind::no_image);
  }
  CHECK(rt.status("a").phase == RunPhase::absent);
}

namespace {

// A runtime shaped like a scheduler's service per run (Swarm's, say).
class ServiceRuntime final : public jobq::Runtime {
 public:
  std::string kind() const override { return "service"; }
  std::string engine_name() const override { return "the test scheduler"; }
  jobq::Capabilities capabilities() const override {
    jobq::Capabilities c;
    c.exact_times = false;
    c.oom_flag = false;
    c.end_events = false;
    c.follow = false;
    c.remote_nodes = true;
    return c;
  }
  std::string run_name(std::int64_t job_id, int attempt) const override {
    return "svc-" + std::to_string(job_id) + "-" + std::to_string(attempt);
  }
  jobq::RunStatus launch(const RunKey& key, const RunSpec& spec,
                         const CreatedFn& on_created) override {
    std::lock_guard lock(mu_);
    auto it = runs_.find(spec.name);
    if (it == runs_.end()) {
      jobq::RunStatus st;
      st.id = "service-id-" + std::to_string(++made_);
      st.node = "node-2";
      st.times_from = jobq::TimeSource::scheduler;
      st.oom_killed = std::nullopt;  // never known here
      if (!reject_.empty()) {
        st.phase = RunPhase::launch_failed;
        st.message = reject_;
      } else if (!queue_.empty()) {
        st.phase = RunPhase::queued;  // no node takes it
        st.message = queue_;
      } else {
        st.phase = RunPhase::running;  // running as soon as it is made
        st.started_at = jobq::now_rfc3339();
      }
      it = runs_.emplace(spec.name, st).first;
      keys_[spec.name] = key;
    }
    if (on_created) on_created(it->second.id, "");
    return it->second;
  }
  jobq::RunStatus status(const std::string& name) override {
    std::lock_guard lock(mu_);
    const auto it = runs_.find(name);
    return it == runs_.end() ? jobq::RunStatus{} : it->second;
  }
  void stop(const std::string& name, int) override {
    ++stops;
    end(name, 143);
  }
  void output(const std::string& name, const jobq::LogOptions& opts, const jobq::LogChunkFn& sink,
              const std::function<bool()>&) override {
    if (opts.follow) throw EngineError(EngineError::Kind::rejected, 0, "cannot follow");
    if (!status(name).exists()) throw EngineError(EngineError::Kind::not_found, 404, "no run");
    sink(jobq::LogStream::stdout_stream, opts.timestamps
                                             ? "2026-11-30T10:00:01Z hello from " + name + "\n"
                                             : "hello from " + name + "\n");
  }
  void forget(const std::string& name) override {
    std::lock_guard lock(mu_);
    runs_.erase(name);
    ++forgets;
  }
  std::vector<jobq::RunSummary> runs(bool over_only) override {
    std::lock_guard lock(mu_);
    std::vector<jobq::RunSummary> out;
    for (const auto& [name, st] : runs_)
      if (!over_only || st.over())
        out.push_back({name, keys_[name].job_id, keys_[name].attempt, st.over()});
    return out;
  }
  void watch(const std::function<bool()>&, const EndFn&, const SignalFn&) override {}
  std::string api_version() override { return "1.41"; }
  std::string ping() override { return "1.41"; }
  std::string server_version() override { return "test"; }
  std::optional<std::int64_t> boot_time_ns() override { return std::nullopt; }
  bool has_image(const std::string&) override { return true; }
  void pull(const std::string&, const std::string&, const jobq::PullProgressFn&,
            const std::function<bool()>&) override {}

  void end(const std::string& name, int code) {
    std::lock_guard lock(mu_);
    auto& st = runs_.at(name);
    st.phase = RunPhase::ended;
    st.exit_code = code;
    st.finished_at = jobq::now_rfc3339();
  }
  void reject_launches(std::string why) {
    std::lock_guard lock(mu_);
    reject_ = std::move(why);
  }
  void queue_launches(std::string why) {
    std::lock_guard lock(mu_);
    queue_ = std::move(why);
  }
  int stops = 0;
  int forgets = 0;

 private:
  std::mutex mu_;
  std::map<std::string, jobq::RunStatus> runs_;
  std::map<std::string, RunKey> keys_;
  std::string reject_;
  std::string queue_;
  int made_ = 0;
};

struct ServiceFixture {
  TempDir dir;
  jobq::Store store{dir.file("jobq.db")};
  ServiceRuntime rt;
  jobq::Runner runner{store, rt, jobq::RunnerOptions{}, [](std::int64_t) {}, [](std::int64_t) {}};
  jobq::Poller poller{store, rt, jobq::PollerOptions{}, [](std::int64_t) {}};

  ServiceFixture() {
    jobq::App a;
    a.name = "web";
    a.image = "img";
    a.runtime = "service";
    store.create_app(a);
  }
  ~ServiceFixture() {
    runner.stop();
    poller.stop();
  }
  std::int64_t enqueue_and_launch() {
    jobq::NewJob nj;
    nj.app = "web";
    const auto id = store.enqueue(nj).id;
    runner.pass();
    runner.drain();
    return id;
  }
  jobq::Job job(std::int64_t id) { return store.get_job(id).value(); }
};

}  // namespace

TEST_CASE_FIXTURE(ServiceFixture,
                  "another runtime: the run's id, node and times' source are recorded, and no "
                  "OOM kill is claimed") {
  const auto id = enqueue_and_launch();
  auto j = job(id);
  REQUIRE(j.state == JobState::running);
  REQUIRE(j.attempts.size() == 1);
  const auto& a = j.attempts[0];
  CHECK(a.container_name == "svc-" + std::to_string(id) + "-1");  // the runtime's name
  CHECK(a.runtime == "service");
  CHECK(a.run_id == "service-id-1");
  CHECK(a.node == "node-2");
  CHECK(a.times_from == "scheduler");
  CHECK(a.started_at == rt.status(a.container_name).started_at);  // the runtime's, verbatim

  rt.end(a.container_name, 0);
  const std::string finished = rt.status(a.container_name).finished_at;
  poller.tick();
  poller.settle();
  j = job(id);
  CHECK(j.state == JobState::succeeded);
  CHECK(j.exit_code == 0);
  CHECK_FALSE(j.attempts[0].oom_killed.has_value());  // not known, so not claimed either way
  CHECK(j.attempts[0].node == "node-2");
  CHECK(j.attempts[0].times_from == "scheduler");
  CHECK(j.attempts[0].finished_at == finished);
  const auto out = store.get_log(id, 1, jobq::LogStream::stdout_stream);
  REQUIRE(out);
  CHECK(out->data.find("hello from svc-") != std::string::npos);
  CHECK(rt.forgets == 1);  // forgotten once its result was committed
  const auto json = nlohmann::json(j.attempts[0]);
  CHECK(json["runtime"] == "service");
  CHECK(json["node"] == "node-2");
  CHECK(json["times_from"] == "scheduler");
  CHECK(json["oom_killed"].is_null());
}

TEST_CASE_FIXTURE(ServiceFixture, "another runtime: a launch it rejects fails with its message") {
  rt.reject_launches("no suitable node (insufficient memory on 3 nodes)");
  const auto id = enqueue_and_launch();
  const auto j = job(id);
  CHECK(j.state == JobState::failed);
  REQUIRE(j.attempts.size() == 1);
  CHECK(j.attempts[0].reason ==
        "could not start: no suitable node (insufficient memory on 3 nodes)");
  CHECK(j.attempts[0].run_id == "service-id-1");
  CHECK(j.attempts[0].node == "node-2");
}

TEST_CASE_FIXTURE(ServiceFixture, "another runtime: a cancel stops the run and records it") {
  const auto id = enqueue_and_launch();
  REQUIRE(job(id).state == JobState::running);
  store.request_cancel(id);
  poller.tick();  // asks it to stop (the stop ends it)
  REQUIRE(jobq::test::wait_until([&] { return rt.stops == 1; }));
  poller.tick();
  const auto j = job(id);
  CHECK(j.state == JobState::cancelled);
  CHECK(j.exit_code == 143);
  CHECK(rt.stops == 1);
}

TEST_CASE_FIXTURE(ServiceFixture,
                  "another runtime: a run no node takes shows the scheduler's words as the job's "
                  "pending reason, and fails after its schedule timeout") {
  rt.queue_launches("no suitable node (scheduling constraints not satisfied on 2 nodes)");
  jobq::AppUpdate u;
  u.placement = nlohmann::json{{"schedule_timeout_ms", 300}};
  store.update_app("web", u);
  const auto id = enqueue_and_launch();
  REQUIRE(job(id).state == JobState::running);  // launched: it holds its slot
  poller.tick();
  auto j = job(id);
  REQUIRE(j.state == JobState::running);
  CHECK(j.attempts[0].waiting ==
        "no suitable node (scheduling constraints not satisfied on 2 nodes)");
  CHECK(j.attempts[0].started_at.empty());
  const auto why = jobq::pending_reason(j, jobq::PendingContext{});
  REQUIRE(why.is_object());
  CHECK(why["kind"] == "placement");
  CHECK(why["text"] ==
        "waiting for a node: no suitable node (scheduling constraints not satisfied on 2 nodes)");

  std::this_thread::sleep_for(std::chrono::milliseconds(350));
  poller.tick();
  j = job(id);
  CHECK(j.state == JobState::failed);
  CHECK(j.attempts[0].reason ==
        "no node took it within its schedule timeout of 300 ms: no suitable node (scheduling "
        "constraints not satisfied on 2 nodes)");
  CHECK(rt.forgets == 1);  // it never ran: removed
  CHECK(rt.stops == 0);
}

TEST_CASE_FIXTURE(ServiceFixture, "another runtime: a cancel of a run no node took removes it") {
  rt.queue_launches("no suitable node");
  const auto id = enqueue_and_launch();
  store.request_cancel(id);
  poller.tick();
  const auto j = job(id);
  CHECK(j.state == JobState::cancelled);
  CHECK(j.attempts[0].reason == "cancelled before a node took it");
  CHECK(rt.forgets == 1);
}

TEST_CASE(
    "two runtimes: each application launches through its own, and each poller looks "
    "only at its runtime's runs") {
  TempDir dir;
  jobq::Store store{dir.file("jobq.db")};
  FakeEngine fake;
  jobq::DockerRuntime docker(fake, store.instance());
  ServiceRuntime service;
  jobq::test::make_app(store, "local");  // the default runtime: docker
  jobq::App web;
  web.name = "web";
  web.image = "img";
  web.runtime = "service";
  store.create_app(web);
  jobq::Runner runner{store, jobq::Runtimes{&docker, &service}, jobq::RunnerOptions{},
                      [](std::int64_t) {}, [](std::int64_t) {}};
  jobq::Poller docker_poller{store, docker, jobq::PollerOptions{}, [](std::int64_t) {}};
  jobq::Poller service_poller{store, service, jobq::PollerOptions{}, [](std::int64_t) {}};
  jobq::NewJob nj;
  nj.app = "local";
  const auto local_id = store.enqueue(nj).id;
  nj.app = "web";
  const auto web_id = store.enqueue(nj).id;
  runner.pass();
  runner.drain();
  const auto local = store.get_job(local_id).value();
  const auto remote = store.get_job(web_id).value();
  REQUIRE(local.state == JobState::running);
  REQUIRE(remote.state == JobState::running);
  CHECK(local.attempts[0].runtime == "docker");
  CHECK(remote.attempts[0].runtime == "service");
  CHECK(remote.attempts[0].container_name == "svc-" + std::to_string(web_id) + "-1");
  CHECK(fake.creates() == 1);  // only the docker application's
  // The service's poller never asks the service about the container (which
  // it would find absent, and record as lost), and the other way round.
  service_poller.tick();
  docker_poller.tick();
  CHECK(store.get_job(local_id)->state == JobState::running);
  CHECK(store.get_job(web_id)->state == JobState::running);
  service.end(remote.attempts[0].container_name, 3);
  docker_poller.tick();
  CHECK(store.get_job(web_id)->state == JobState::running);
  service_poller.tick();
  service_poller.settle();
  CHECK(store.get_job(web_id)->state == JobState::failed);
  CHECK(store.get_job(local_id)->state == JobState::running);
  runner.stop();
  docker_poller.stop();
  service_poller.stop();
}
