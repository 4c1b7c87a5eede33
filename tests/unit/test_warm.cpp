// Warm containers (runtime/docker/warm_pool.hpp, exec/warm_keeper.hpp) over
// the FakeEngine: the pool kept to its target, the hand-off (rename, limits,
// the job file), what fits, relaunches after a crash at each point, and the
// keeper's sizes.
#include <doctest/doctest.h>

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "exec/runner.hpp"
#include "exec/warm_keeper.hpp"
#include "fake_engine.hpp"
#include "runtime/docker/docker_runtime.hpp"
#include "runtime/docker/warm_pool.hpp"
#include "store/store.hpp"
#include "test_support.hpp"

using jobq::ContainerExtras;
using jobq::ImageCommand;
using jobq::RunKey;
using jobq::RunPhase;
using jobq::RunSpec;
using jobq::TimeSource;
using jobq::WarmTarget;
using jobq::test::FakeEngine;
using jobq::test::TempDir;

namespace {

constexpr const char* kInstance = "i1";

struct WarmFixture {
  TempDir dir;
  FakeEngine engine;
  jobq::DockerRuntime rt{engine, kInstance, jobq::WarmOptions{dir.file("warm"), "/bin/sh"}};

  WarmFixture() {
    std::filesystem::create_directories(dir.file("warm"));
    engine.set_image_command(ImageCommand{{"/entry"}, {"default", "cmd"}, ""});
  }
  static RunSpec pool_spec() {
    RunSpec s;
    s.image = "img";
    s.env = {"A=1"};
    s.resources.memory_bytes = 64 << 20;
    return s;
  }
  static RunSpec job_spec(std::int64_t job) {
    RunSpec s = pool_spec();
    s.name = std::string("jobq-") + kInstance + "-" + std::to_string(job) + "-1";
    s.cmd = std::vector<std::string>{"echo", "hi"};
    s.env = {"A=1", "JOBQ_JOB_ID=" + std::to_string(job)};
    return s;
  }
  void tend(int size) {
    rt.tend_warm({WarmTarget{"app", pool_spec(), size}}, std::chrono::minutes(10),
                 [](const std::string&) { return true; });
  }
  int idle() { return rt.warm_idle()["app"]; }
  std::vector<std::string> pool_names() {
    std::vector<std::string> out;
    for (const auto& n : engine.names())
      if (n.find("-warm-") != std::string::npos) out.push_back(n);
    return out;
  }
  std::string job_file(const std::string& pool) {
    std::ifstream in(dir.file("warm/" + pool + "/job"), std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  std::string pool_of(const std::string& name) {
    return engine.spec_of(name)->labels.at(jobq::kWarmLabel);
  }
};

std::vector<std::string> fields(const std::string& file) {
  std::vector<std::string> out;
  std::size_t at = 0;
  while (at < file.size()) {
    const auto end = file.find('\0', at);
    out.push_back(file.substr(at, end - at));
    at = end + 1;
  }
  return out;
}

}  // namespace

TEST_CASE_FIXTURE(WarmFixture, "a pool is started to its size, idle, and is no run") {
  tend(2);
  CHECK(idle() == 2);
  const auto names = pool_names();
  REQUIRE(names.size() == 2);
  for (const auto& n : names) {
    const auto spec = engine.spec_of(n).value();
    CHECK(engine.state_of(n)->running);
    CHECK(spec.labels.at("jobq.instance") == kInstance);
    CHECK(spec.labels.at("jobq.app") == "app");
    CHECK(spec.labels.at(jobq::kWarmLabel) == n);
    CHECK(spec.resources.memory_bytes == 64 << 20);
    CHECK(spec.env == std::vector<std::string>{"A=1"});
    const auto extras = engine.extras_of(n).value();
    CHECK(extras.entrypoint == std::vector<std::string>{"/.jobq/jobq-warm"});
    REQUIRE(extras.binds.size() == 2);
    CHECK(extras.binds[0] == "/bin/sh:/.jobq/jobq-warm:ro");
    CHECK(extras.binds[1] == dir.file("warm/" + n) + ":/.jobq/handoff:ro");
    struct stat sb {};
    REQUIRE(::stat(dir.file("warm/" + n).c_str(), &sb) == 0);
    CHECK((sb.st_mode & 0777) == 0755);
  }
  CHECK(rt.runs(false).empty());  // idle containers are nobody's run
  tend(2);                        // already there: nothing more
  CHECK(engine.creates() == 2);
}

TEST_CASE_FIXTURE(WarmFixture,
                  "a launch hands its job to a warm container: id first, then the job") {
  tend(2);
  const RunSpec spec = job_spec(7);
  bool file_before_record = true;
  std::string recorded;
  const auto st =
      rt.launch(RunKey{7, 1, "app"}, spec, [&](const std::string& id, const std::string&) {
        recorded = id;
        file_before_record =
            std::filesystem::exists(dir.file("warm/" + pool_of(spec.name) + "/job"));
      });
  CHECK(recorded == engine.state_of(spec.name)->id);
  CHECK_FALSE(file_before_record);  // the run is recorded before its job is sent
  CHECK(st.phase == RunPhase::running);
  CHECK(st.times_from == TimeSource::handoff);
  CHECK(st.warm_started_at == engine.state_of(spec.name)->started_at);  // Docker's, kept
  CHECK(st.started_at != st.warm_started_at);                           // the hand-off
  CHECK(engine.creates() == 2);                                         // none made for the job
  CHECK(idle() == 1);
  const auto f = fields(job_file(pool_of(spec.name)));
  CHECK(f == std::vector<std::string>{"jobq-warm 1", "3", "/entry", "echo", "hi", "2", "A=1",
                                      "JOBQ_JOB_ID=7"});
  // It is a run now, found by its name, its job read from its name.
  const auto runs = rt.runs(false);
  REQUIRE(runs.size() == 1);
  CHECK(runs[0].name == spec.name);
  CHECK(runs[0].job_id == 7);
  CHECK(runs[0].attempt == 1);
  // Its status keeps the hand-off as its start, and Docker's end.
  engine.exit(spec.name, 3);
  const auto end = rt.status(spec.name);
  CHECK(end.phase == RunPhase::ended);
  CHECK(end.exit_code == 3);
  CHECK(end.started_at == st.started_at);
  CHECK(end.finished_at == engine.state_of(spec.name)->finished_at);
}

TEST_CASE_FIXTURE(WarmFixture, "the image's own command when the job gives none") {
  tend(1);
  RunSpec spec = job_spec(8);
  spec.cmd.reset();
  rt.launch(RunKey{8, 1, "app"}, spec);
  const auto f = fields(job_file(pool_of(spec.name)));
  REQUIRE(f.size() >= 5);
  CHECK(std::vector<std::string>(f.begin() + 1, f.begin() + 5) ==
        std::vector<std::string>{"3", "/entry", "default", "cmd"});
}

TEST_CASE_FIXTURE(WarmFixture,
                  "what fits: lower limits in place; another user or image goes cold") {
  tend(2);
  RunSpec low = job_spec(1);
  low.resources.memory_bytes = 32 << 20;
  const auto st = rt.launch(RunKey{1, 1, "app"}, low);
  CHECK(!st.warm_started_at.empty());
  CHECK(engine.update_calls() == 1);
  CHECK(engine.spec_of(low.name)->resources.memory_bytes == 32 << 20);

  RunSpec user = job_spec(2);
  user.resources.user = "1500:1500";
  CHECK(rt.launch(RunKey{2, 1, "app"}, user).warm_started_at.empty());
  RunSpec higher = job_spec(3);
  higher.resources.memory_bytes = 128 << 20;
  CHECK(rt.launch(RunKey{3, 1, "app"}, higher).warm_started_at.empty());
  RunSpec image = job_spec(4);
  image.image = "other";
  CHECK(rt.launch(RunKey{4, 1, "app"}, image).warm_started_at.empty());
  CHECK(idle() == 1);  // the cold ones took none
  CHECK(engine.creates() == 5);
  CHECK_FALSE(engine.spec_of(user.name)->labels.count(jobq::kWarmLabel));
}

TEST_CASE_FIXTURE(WarmFixture, "a relaunch after the rename adopts the renamed container") {
  tend(2);
  const RunSpec spec = job_spec(5);
  // An earlier jobqd renamed a pool container to the run, then died.
  const std::string taken = pool_names().front();
  engine.rename(taken, spec.name);
  const auto st = rt.launch(RunKey{5, 1, "app"}, spec);
  CHECK(!st.warm_started_at.empty());
  CHECK(pool_of(spec.name) == taken);
  CHECK(fields(job_file(taken)).at(2) == "/entry");
  CHECK(engine.creates() == 2);
  // The other pool container was kept (a rename of it found the name taken).
  CHECK(pool_names().size() == 1);
  tend(2);  // the renamed one is a run, not idle: one more is made
  CHECK(idle() == 2);
  CHECK(engine.creates() == 3);
  CHECK(pool_names().size() == 2);
}

TEST_CASE_FIXTURE(WarmFixture, "a relaunch after the hand-off sends nothing again") {
  tend(1);
  const RunSpec spec = job_spec(6);
  const auto first = rt.launch(RunKey{6, 1, "app"}, spec);
  const std::string pool = pool_of(spec.name);
  // A different file would show a second send.
  std::filesystem::remove(dir.file("warm/" + pool + "/job"));
  { std::ofstream(dir.file("warm/" + pool + "/job")) << "sent"; }
  const auto again = rt.launch(RunKey{6, 1, "app"}, spec);
  CHECK(job_file(pool) == "sent");
  CHECK(again.phase == RunPhase::running);
  CHECK(engine.creates() == 1);
}

TEST_CASE_FIXTURE(WarmFixture, "a renamed run waiting for its job is queued, not running") {
  tend(1);
  const RunSpec spec = job_spec(9);
  engine.rename(pool_names().front(), spec.name);
  const auto st = rt.status(spec.name);
  CHECK(st.phase == RunPhase::queued);
  CHECK(st.started_at.empty());
  engine.exit(spec.name, 137);
  const auto dead = rt.status(spec.name);
  CHECK(dead.phase == RunPhase::launch_failed);
  CHECK(dead.message.find("before its job was handed") != std::string::npos);
}

TEST_CASE_FIXTURE(WarmFixture, "a pool container gone or renamed behind the pool is skipped") {
  tend(2);
  const auto names = pool_names();
  engine.remove(names[0]);
  engine.remove(names[1]);
  // Both still in memory: each rename finds nothing, and the launch goes cold.
  const RunSpec spec = job_spec(10);
  CHECK(rt.launch(RunKey{10, 1, "app"}, spec).warm_started_at.empty());
  CHECK(engine.rename_calls() == 2);
  CHECK(idle() == 0);
}

TEST_CASE_FIXTURE(WarmFixture,
                  "tend recycles on a new spec, trims to size and sweeps directories") {
  tend(3);
  const auto before = pool_names();
  RunSpec changed = pool_spec();
  changed.env = {"A=2"};
  rt.tend_warm({WarmTarget{"app", changed, 2}}, std::chrono::minutes(10),
               [](const std::string&) { return true; });
  const auto after = pool_names();
  CHECK(after.size() == 2);
  for (const auto& n : after) {
    CHECK(std::find(before.begin(), before.end(), n) == before.end());
    CHECK(engine.spec_of(n)->env == std::vector<std::string>{"A=2"});
  }
  for (const auto& n : before) CHECK_FALSE(std::filesystem::exists(dir.file("warm/" + n)));
  rt.tend_warm({}, std::chrono::minutes(10), [](const std::string&) { return true; });
  CHECK(pool_names().empty());
  CHECK(std::filesystem::is_empty(dir.file("warm")));
}

TEST_CASE_FIXTURE(WarmFixture, "a tag pulled anew (another image id) replaces the pool") {
  engine.set_image_command(ImageCommand{{"/entry"}, {"default", "cmd"}, "sha256:aaa"});
  tend(2);
  const auto before = pool_names();
  tend(2);
  CHECK(pool_names() == before);  // the same image: kept
  engine.set_image_command(ImageCommand{{"/entry"}, {"default", "cmd"}, "sha256:bbb"});
  tend(2);
  const auto after = pool_names();
  CHECK(after.size() == 2);
  for (const auto& n : after) CHECK(std::find(before.begin(), before.end(), n) == before.end());
}

TEST_CASE_FIXTURE(WarmFixture, "an idle container past its time is replaced; a held start waits") {
  tend(1);
  const auto first = pool_names();
  rt.tend_warm(
      {WarmTarget{"app", pool_spec(), 1}}, std::chrono::milliseconds(0),
      [](const std::string&) { return false; });  // launches in flight: recycled, not refilled
  CHECK(pool_names().empty());
  tend(1);
  REQUIRE(pool_names().size() == 1);
  CHECK(pool_names() != first);
}

TEST_CASE_FIXTURE(WarmFixture, "a new jobqd removes the pool an earlier one left, makes its own") {
  tend(2);
  const auto earlier = pool_names();
  REQUIRE(earlier.size() == 2);
  jobq::DockerRuntime again{engine, kInstance, jobq::WarmOptions{dir.file("warm"), "/bin/sh"}};
  CHECK(again.warm_idle().empty());
  again.tend_warm({WarmTarget{"app", pool_spec(), 2}}, std::chrono::minutes(10),
                  [](const std::string&) { return true; });
  CHECK(again.warm_idle()["app"] == 2);
  CHECK(engine.creates() == 4);
  for (const auto& name : earlier) {
    CHECK(!engine.spec_of(name));
    CHECK(!std::filesystem::exists(dir.file("warm/" + name)));
  }
  const RunSpec spec = job_spec(11);
  const auto st = again.launch(RunKey{11, 1, "app"}, spec);
  CHECK(std::find(earlier.begin(), earlier.end(), pool_of(spec.name)) == earlier.end());
  CHECK(fields(job_file(pool_of(spec.name))).at(2) == "/entry");
  CHECK(!st.warm_started_at.empty());
}

TEST_CASE(
    "the keeper's sizes: fixed as asked, auto from a burst within the limit, the cap in turn") {
  TempDir dir;
  FakeEngine engine;
  jobq::DockerRuntime rt{engine, kInstance, jobq::WarmOptions{dir.file("warm"), "/bin/sh"}};
  jobq::Store store(dir.file("jobq.db"));
  jobq::WarmKeeperOptions opts;
  opts.max_warm = 7;
  jobq::WarmKeeper keeper(store, jobq::Runtimes{&rt}, opts,
                          [](const std::string&) { return true; });
  auto app = [](const std::string& name, int warm, int max_running = 0) {
    jobq::App a;
    a.name = name;
    a.image = "img";
    a.warm = warm;
    a.max_running = max_running;
    return a;
  };
  auto sizes = keeper.sizes({app("a", 4, 2), app("b", 10), app("c", 0)});
  CHECK(sizes["a"] == 4);  // as asked, beyond its limit of 2 (a burst's pool)
  CHECK(sizes["b"] == 3);  // the rest of the cap: one each in turn
  CHECK_FALSE(sizes.count("c"));
  // auto: the most launches in any 10 s.
  sizes = keeper.sizes({app("d", jobq::kWarmAuto, 3)});
  CHECK(sizes["d"] == 0);
  for (int i = 0; i < 5; ++i) keeper.launched("d", false);
  sizes = keeper.sizes({app("d", jobq::kWarmAuto, 3)});
  CHECK(sizes["d"] == 3);  // 5 in a burst, within its limit of 3
  keeper.launched("d", true);
  keeper.launched("d", false);
  jobq::App paused = app("d", jobq::kWarmAuto, 3);
  paused.paused = true;
  CHECK(keeper.sizes({paused})["d"] == 0);
  const auto views = keeper.pools();
  const auto d =
      std::find_if(views.begin(), views.end(), [](const auto& v) { return v.app == "d"; });
  REQUIRE(d != views.end());
  CHECK(d->automatic);
  CHECK(d->hits == 1);
  CHECK(d->misses == 1);  // the burst came before it had a pool: not misses
}

TEST_CASE("the keeper tends each runtime's pools to the applications' sizes") {
  TempDir dir;
  FakeEngine engine;
  std::filesystem::create_directories(dir.file("warm"));
  jobq::DockerRuntime rt{engine, kInstance, jobq::WarmOptions{dir.file("warm"), "/bin/sh"}};
  jobq::Store store(dir.file("jobq.db"));
  jobq::App a;
  a.name = "w";
  a.image = "img";
  a.warm = 2;
  store.create_app(a);
  bool idle = false;
  jobq::WarmKeeper keeper(store, jobq::Runtimes{&rt}, {}, [&](const std::string&) { return idle; });
  keeper.tend();
  CHECK(engine.creates() == 0);  // a launch in flight: no pool filled ahead of it
  idle = true;
  keeper.tend();
  CHECK(rt.warm_idle()["w"] == 2);
  jobq::AppUpdate u;
  u.warm = 0;
  store.update_app("w", u);
  keeper.tend();
  CHECK(rt.warm_idle()["w"] == 0);
  CHECK(engine.names().empty());
}

TEST_CASE("no warm container is made while the entrypoint is missing") {
  TempDir dir;
  FakeEngine engine;
  std::filesystem::create_directories(dir.file("warm"));
  jobq::DockerRuntime rt{engine, kInstance, jobq::WarmOptions{dir.file("warm"), dir.file("gone")}};
  rt.tend_warm({WarmTarget{"app", WarmFixture::pool_spec(), 2}}, std::chrono::minutes(10),
               [](const std::string&) { return true; });
  CHECK(engine.create_calls() == 0);  // the engine would make the missing path a directory
  CHECK_FALSE(std::filesystem::exists(dir.file("gone")));
}

TEST_CASE_FIXTURE(WarmFixture,
                  "the job file is readable by any container user under a strict umask") {
  tend(1);
  const mode_t old = ::umask(077);  // as jobqd.service's UMask=0077
  const RunSpec spec = job_spec(12);
  rt.launch(RunKey{12, 1, "app"}, spec);
  ::umask(old);
  struct stat sb {};
  REQUIRE(::stat(dir.file("warm/" + pool_of(spec.name) + "/job").c_str(), &sb) == 0);
  CHECK((sb.st_mode & 0777) == 0644);
}

TEST_CASE_FIXTURE(WarmFixture, "a renamed container that ended before its job came never ran it") {
  tend(1);
  const RunSpec spec = job_spec(13);
  engine.rename(pool_names().front(), spec.name);  // an earlier jobqd got this far
  engine.exit(spec.name, 137);
  // The engine's trouble, not the job's: the runner removes it and launches again.
  try {
    rt.launch(RunKey{13, 1, "app"}, spec);
    FAIL("a launch onto a dead warm container succeeded");
  } catch (const jobq::EngineError& e) {
    CHECK(e.kind() == jobq::EngineError::Kind::server);
  }
}

TEST_CASE("a runtime with no entrypoint hands nothing but still finishes and empties") {
  TempDir dir;
  FakeEngine engine;
  std::filesystem::create_directories(dir.file("warm"));
  engine.set_image_command(ImageCommand{{}, {"default"}, ""});
  jobq::DockerRuntime before{engine, kInstance, jobq::WarmOptions{dir.file("warm"), "/bin/sh"}};
  before.tend_warm({WarmTarget{"app", WarmFixture::pool_spec(), 2}}, std::chrono::minutes(10),
                   [](const std::string&) { return true; });
  RunSpec spec = WarmFixture::job_spec(14);
  const std::string pool = engine.names().front();
  engine.rename(pool, spec.name);  // renamed by the earlier jobqd, not yet handed
  jobq::DockerRuntime after{engine, kInstance, jobq::WarmOptions{dir.file("warm"), ""}};
  CHECK_FALSE(after.capabilities().warm);
  const auto st = after.launch(RunKey{14, 1, "app"}, spec);
  CHECK(!st.warm_started_at.empty());  // the hand-off finished
  CHECK(std::filesystem::exists(dir.file("warm/" + pool + "/job")));
  RunSpec other = WarmFixture::job_spec(15);
  CHECK(after.launch(RunKey{15, 1, "app"}, other).warm_started_at.empty());  // none handed
  after.tend_warm({}, std::chrono::minutes(10), [](const std::string&) { return true; });
  CHECK(engine.names().size() == 2);  // the two runs; the idle one is gone
}
