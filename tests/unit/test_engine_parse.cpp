// engine: parse_inspect on Docker's inspect document, and launch_container's
// create-or-adopt-then-start, against the FakeEngine.
#include <doctest/doctest.h>

#include <stdexcept>
#include <string>

#include "fake_engine.hpp"
#include "runtime/docker/docker_json.hpp"
#include "runtime/docker/docker_runtime.hpp"

using jobq::ContainerState;
using jobq::EngineError;
using jobq::parse_inspect;
using jobq::RunSpec;
using jobq::test::FakeEngine;

namespace {

// Trimmed from `docker inspect` of an exited container (Engine API 1.43).
const char* const kExited = R"({
  "Id": "4f66ad9a0b2e8d1c3f7e6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d",
  "Created": "2026-11-21T00:31:59.731012345Z",
  "Path": "sh",
  "Args": ["-c", "exit 3"],
  "State": {
    "Status": "exited",
    "Running": false,
    "Paused": false,
    "Restarting": false,
    "OOMKilled": false,
    "Dead": false,
    "Pid": 0,
    "ExitCode": 3,
    "Error": "",
    "StartedAt": "2026-11-21T00:32:00.8577215Z",
    "FinishedAt": "2026-11-21T00:32:01.10203Z"
  },
  "Image": "sha256:9c7a54a9a43cca047013b82af109fe963fde787f63f9e016fdc3384500c2823d",
  "Name": "/jobq-1a2b3c4d-7-1",
  "RestartCount": 0,
  "HostConfig": {"AutoRemove": false},
  "Config": {
    "Hostname": "4f66ad9a0b2e",
    "Env": ["JOBQ_JOB_ID=7", "PATH=/usr/bin"],
    "Cmd": ["sh", "-c", "exit 3"],
    "Image": "alpine:3.19",
    "Labels": {"jobq.app": "web", "jobq.job": "7", "jobq.attempt": "1", "team": "blue"}
  }
})";

RunSpec spec_named(const std::string& name) {
  RunSpec s;
  s.name = name;
  s.image = "alpine:3.19";
  s.cmd = std::vector<std::string>{"true"};
  s.labels = {{"jobq.app", "web"}};
  return s;
}

}  // namespace

TEST_CASE("parse_inspect reads State and Config.Labels of a realistic document") {
  const ContainerState st = parse_inspect(kExited);
  CHECK(st.id == "4f66ad9a0b2e8d1c3f7e6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d");
  CHECK(st.status == "exited");
  CHECK_FALSE(st.running);
  CHECK(st.exit_code == 3);
  CHECK_FALSE(st.oom_killed);
  CHECK(st.error.empty());
  CHECK(st.started_at == "2026-11-21T00:32:00.8577215Z");  // verbatim, not reformatted
  CHECK(st.finished_at == "2026-11-21T00:32:01.10203Z");
  CHECK(st.has_exited());
  CHECK(st.labels.size() == 4);
  CHECK(st.labels.at("jobq.job") == "7");
  CHECK(st.labels.at("team") == "blue");
}

TEST_CASE("parse_inspect of a running, an OOM-killed and a failed-to-start container") {
  const ContainerState running =
      parse_inspect(R"({"Id":"abc","State":{"Status":"running","Running":true,"ExitCode":0,)"
                    R"("StartedAt":"2026-11-21T00:32:00Z","FinishedAt":"0001-01-01T00:00:00Z"},)"
                    R"("Config":{"Labels":null}})");
  CHECK(running.running);
  CHECK(running.status == "running");
  CHECK_FALSE(running.has_exited());
  CHECK(running.finished_at == "0001-01-01T00:00:00Z");
  CHECK(running.labels.empty());

  const ContainerState oom = parse_inspect(
      R"({"Id":"def","State":{"Status":"exited","Running":false,"OOMKilled":true,"ExitCode":137}})");
  CHECK(oom.oom_killed);
  CHECK(oom.exit_code == 137);

  const ContainerState bad =
      parse_inspect(R"({"Id":"ghi","State":{"Status":"created","Running":false,"ExitCode":127,)"
                    R"("Error":"exec: \"nope\": executable file not found in $PATH"}})");
  CHECK(bad.status == "created");
  CHECK(bad.exit_code == 127);
  CHECK(bad.error == "exec: \"nope\": executable file not found in $PATH");

  CHECK(parse_inspect(R"({"State":{"Status":"dead"}})").has_exited());
  // An absurd exit code is clamped to -1 rather than overflowing an int.
  CHECK(parse_inspect(R"({"State":{"ExitCode":99999999999}})").exit_code == -1);
}

TEST_CASE("parse_inspect refuses what is not an inspect document") {
  for (const char* bad :
       {"", "garbage", "{", "[]", "null", "42", R"({"Id":"x"})", R"({"State":"running"})",
        R"({"State":null})", R"({"message":"No such container: x"})"}) {
    CAPTURE(bad);
    CHECK_THROWS_AS(parse_inspect(bad), std::invalid_argument);
  }
}

TEST_CASE("parse_inspect refuses wrongly typed State fields with invalid_argument") {
  // BUG (lib/engine.cpp:19): State.Running is read with json::value(), which
  // throws nlohmann::json::type_error when it is not a boolean; the contract
  // (and DockerEngine::inspect, lib/docker_engine.cpp:148, which only catches
  // std::invalid_argument) expects std::invalid_argument.
  CHECK_THROWS_AS(parse_inspect(R"({"State":{"Status":"running","Running":"yes"}})"),
                  std::invalid_argument);
}

TEST_CASE("launch_container creates and starts a new container") {
  FakeEngine fake;
  const auto st = jobq::launch_container(fake, spec_named("c1"));
  CHECK(st.status == "running");
  CHECK(st.running);
  CHECK(st.id == fake.state_of("c1")->id);
  CHECK(fake.creates() == 1);
  CHECK(fake.starts() == 1);
  CHECK(fake.spec_of("c1")->cmd == std::vector<std::string>{"true"});
}

TEST_CASE("launch_container adopts a container that is only created, and starts it") {
  FakeEngine fake;
  const std::string id = fake.create(spec_named("c1"));
  const auto st = jobq::launch_container(fake, spec_named("c1"));
  CHECK(st.id == id);
  CHECK(st.status == "running");
  CHECK(fake.creates() == 1);
  CHECK(fake.create_calls() == 2);  // the second one met the conflict
  CHECK(fake.starts() == 1);
}

TEST_CASE("launch_container adopts a running container without starting it again") {
  FakeEngine fake;
  fake.create(spec_named("c1"));
  fake.start("c1");
  const std::string started = fake.state_of("c1")->started_at;
  const auto st = jobq::launch_container(fake, spec_named("c1"));
  CHECK(st.status == "running");
  CHECK(st.started_at == started);
  CHECK(fake.start_calls() == 1);
}

TEST_CASE("launch_container does not start a container that already ran") {
  FakeEngine fake;
  fake.create(spec_named("c1"));
  fake.start("c1");
  fake.exit("c1", 0);
  const auto st = jobq::launch_container(fake, spec_named("c1"));
  CHECK(st.status == "exited");
  CHECK(st.exit_code == 0);
  CHECK(fake.start_calls() == 1);
  CHECK(fake.starts() == 1);
  CHECK(fake.creates() == 1);
}

TEST_CASE("launch_container passes on engine errors other than a name conflict") {
  FakeEngine fake;
  SUBCASE("unreachable") {
    fake.set_unreachable(true);
    try {
      jobq::launch_container(fake, spec_named("c1"));
      FAIL("no exception");
    } catch (const EngineError& e) {
      CHECK(e.kind() == EngineError::Kind::unreachable);
      CHECK(e.transient());
    }
  }
  SUBCASE("rejected") {
    fake.fail_create_with(EngineError(EngineError::Kind::not_found, 404, "No such image: nope"));
    try {
      jobq::launch_container(fake, spec_named("c1"));
      FAIL("no exception");
    } catch (const EngineError& e) {
      CHECK(e.kind() == EngineError::Kind::not_found);
      CHECK_FALSE(e.transient());
    }
    CHECK_FALSE(fake.exists("c1"));
  }
}

TEST_CASE("job_of_event reads the jobq.job label of a die event") {
  using jobq::job_of_event;
  const std::string die =
      R"({"status":"die","id":"abc","Type":"container","Action":"die","Actor":{"ID":"abc",)"
      R"("Attributes":{"exitCode":"0","image":"busybox","jobq.instance":"i1","jobq.job":"42",)"
      R"("name":"jobq-i1-42-1"}},"scope":"local","time":1,"timeNano":1})";
  CHECK(job_of_event(die) == std::optional<std::int64_t>(42));
  CHECK_FALSE(job_of_event("").has_value());
  CHECK_FALSE(job_of_event("not json").has_value());
  CHECK_FALSE(job_of_event(R"({"Actor":{"Attributes":{"name":"x"}}})").has_value());
  CHECK_FALSE(job_of_event(R"({"Actor":{"Attributes":{"jobq.job":"4x"}}})").has_value());
  CHECK_FALSE(job_of_event(R"({"Actor":{"Attributes":{"jobq.job":42}}})").has_value());
  CHECK_FALSE(job_of_event(R"({"Actor":{"Attributes":{"jobq.job":"-3"}}})").has_value());
}

TEST_CASE("action_of_event tells a kill (a signal) from a die") {
  using jobq::action_of_event;
  CHECK(action_of_event(R"({"Type":"container","Action":"kill","Actor":{"Attributes":)"
                        R"({"signal":"15","jobq.job":"7"}}})") == "kill");
  CHECK(action_of_event(R"({"status":"die"})") == "die");
  CHECK(action_of_event("not json").empty());
  CHECK(action_of_event(R"({"Action":15})").empty());
}

TEST_CASE("never_ran: created, with Docker's zero StartedAt") {
  jobq::ContainerState st;
  st.status = "created";
  st.started_at = "0001-01-01T00:00:00Z";
  st.exit_code = 128;
  st.error = "task 1234: already exists";
  CHECK(jobq::never_ran(st));
  st.started_at = "2026-11-30T00:56:47.242942068Z";  // it ran once (a restart would show this)
  CHECK_FALSE(jobq::never_ran(st));
  st.status = "exited";
  CHECK_FALSE(jobq::never_ran(st));
}
