// The swarm runtime's reading of Swarm (runtime/swarm/swarm_runtime.hpp):
// the service it asks for, each task state of SWARM.md's table in the
// seam's terms, and placement within max_per_node. Against a real swarm:
// tests/integration/swarm_*.sh.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "runtime/swarm/swarm_runtime.hpp"

using jobq::RunPhase;
using nlohmann::json;

namespace {

json task(const std::string& state, const std::string& err = "", int exit_code = 0,
          const std::string& node = "n1") {
  return json{{"ID", "t1"},
              {"ServiceID", "s1"},
              {"NodeID", node},
              {"CreatedAt", "2026-11-30T10:00:00Z"},
              {"Status",
               {{"Timestamp", "2026-11-30T10:00:05.5Z"},
                {"State", state},
                {"Err", err},
                {"ContainerStatus", {{"ContainerID", "c1"}, {"ExitCode", exit_code}}}}}};
}

}  // namespace

TEST_CASE("swarm: the service asked for is Replicated, one replica, never restarted") {
  jobq::RunSpec spec;
  spec.name = "jobq-inst-42-1";
  spec.image = "img:1";
  spec.cmd = std::vector<std::string>{"sh", "-c", "exit 3"};
  spec.env = {"K=V"};
  spec.labels = {{"team", "blue"}};
  spec.resources.memory_bytes = 64 << 20;
  spec.resources.nano_cpus = 500'000'000;
  spec.resources.pids_limit = 64;
  spec.resources.user = "65534";
  spec.resources.read_only = true;
  spec.resources.network = "bridge";
  spec.placement.constraints = {"node.labels.pool==b"};
  const json s = jobq::service_spec("inst", {42, 1, "web"}, spec, 10, {"nodeA"});
  CHECK(s["Name"] == "jobq-inst-42-1");
  CHECK(s["Mode"] == json{{"Replicated", {{"Replicas", 1}}}});
  CHECK(s["Labels"]["jobq.job"] == "42");
  CHECK(s["Labels"]["jobq.attempt"] == "1");
  CHECK(s["Labels"]["jobq.app"] == "web");
  CHECK(s["Labels"]["jobq.instance"] == "inst");
  CHECK(s["Labels"]["team"] == "blue");
  const json& t = s["TaskTemplate"];
  CHECK(t["RestartPolicy"]["Condition"] == "none");
  CHECK(t["ContainerSpec"]["Args"] == json{"sh", "-c", "exit 3"});  // the entrypoint stays
  CHECK_FALSE(t["ContainerSpec"].contains("Command"));
  CHECK(t["ContainerSpec"]["Labels"] == s["Labels"]);
  CHECK(t["ContainerSpec"]["User"] == "65534");
  CHECK(t["ContainerSpec"]["ReadOnly"] == true);
  CHECK(t["ContainerSpec"]["StopGracePeriod"] == 10'000'000'000LL);
  CHECK(t["Resources"]["Limits"]["MemoryBytes"] == 64 << 20);
  CHECK(t["Resources"]["Limits"]["Pids"] == 64);
  // Reservations equal to limits: Swarm packs nodes by what jobs may use.
  CHECK(t["Resources"]["Reservations"]["MemoryBytes"] == 64 << 20);
  CHECK(t["Resources"]["Reservations"]["NanoCPUs"] == 500'000'000);
  CHECK(t["Placement"]["Constraints"] == json{"node.labels.pool==b", "node.id!=nodeA"});
  CHECK(t["Networks"] == json::array({{{"Target", "bridge"}}}));

  spec.cmd.reset();
  const json d = jobq::service_spec("inst", {42, 1, "web"}, spec, 10, {});
  CHECK_FALSE(d["TaskTemplate"]["ContainerSpec"].contains("Args"));  // the image's command
}

TEST_CASE("swarm: each task state in the seam's terms") {
  auto st =
      jobq::status_of_task(task("pending", "no suitable node (insufficient memory on 2 nodes)"));
  CHECK(st.phase == RunPhase::queued);
  CHECK(st.message == "no suitable node (insufficient memory on 2 nodes)");
  CHECK(jobq::status_of_task(task("assigned")).phase == RunPhase::queued);
  CHECK(jobq::status_of_task(task("preparing")).phase == RunPhase::starting);

  st = jobq::status_of_task(task("running"));
  CHECK(st.phase == RunPhase::running);
  CHECK(st.started_at == "2026-11-30T10:00:05.5Z");
  CHECK(st.times_from == jobq::TimeSource::scheduler);
  CHECK(st.node_id == "n1");
  CHECK(st.container_id == "c1");

  st = jobq::status_of_task(task("complete"));
  CHECK(st.phase == RunPhase::ended);
  CHECK(st.exit_code == 0);
  CHECK(st.message.empty());
  CHECK(st.finished_at == "2026-11-30T10:00:05.5Z");
  CHECK(st.started_at.empty());  // the task keeps no start once it ended
  CHECK_FALSE(st.oom_killed.has_value());

  // A non-zero exit is an ordinary end, not an engine error; an OOM kill
  // looks the same (137) and is not claimed.
  st = jobq::status_of_task(task("failed", "task: non-zero exit (137)", 137));
  CHECK(st.phase == RunPhase::ended);
  CHECK(st.exit_code == 137);
  CHECK(st.message.empty());
  CHECK_FALSE(st.oom_killed.has_value());

  st = jobq::status_of_task(task("rejected", "No such image: nosuch:1", 0, ""));
  CHECK(st.phase == RunPhase::launch_failed);
  CHECK(st.message == "No such image: nosuch:1");

  st = jobq::status_of_task(task(
      "failed", "starting container failed: exec: \"nosuch\": executable file not found", 127));
  CHECK(st.phase == RunPhase::launch_failed);
  CHECK(st.exit_code == 127);

  st = jobq::status_of_task(task("orphaned"));
  CHECK(st.phase == RunPhase::ended);
  CHECK_FALSE(st.message.empty());
  CHECK(jobq::status_of_task(task("shutdown", "", 137)).phase == RunPhase::ended);
}

TEST_CASE("swarm: nodes as constraints see them, and the room max_per_node leaves") {
  const json n1{
      {"ID", "n1"},
      {"Description", {{"Hostname", "db1"}, {"Platform", {{"OS", "linux"}}}}},
      {"Spec", {{"Role", "worker"}, {"Availability", "active"}, {"Labels", {{"pool", "b"}}}}},
      {"Status", {{"State", "ready"}}}};
  const json n2{{"ID", "n2"},
                {"Description", {{"Hostname", "web1"}}},
                {"Spec", {{"Role", "manager"}, {"Availability", "active"}}},
                {"Status", {{"State", "ready"}}}};
  json drained = n2;
  drained["ID"] = "n3";
  drained["Spec"]["Availability"] = "drain";
  const auto a = jobq::node_from_json(n1);
  CHECK(a.hostname == "db1");
  CHECK(a.usable);
  CHECK(a.attributes.at("node.labels.pool") == "b");
  CHECK(a.attributes.at("node.role") == "worker");
  CHECK(a.attributes.at("node.platform.os") == "linux");
  const std::vector<jobq::SwarmNode> nodes{a, jobq::node_from_json(n2),
                                           jobq::node_from_json(drained)};
  CHECK_FALSE(nodes[2].usable);
  // Two usable nodes, two each: four, less what runs where.
  CHECK(jobq::placement_room(nodes, {}, 2, {}, 0) == 4);
  CHECK(jobq::placement_room(nodes, {}, 2, {{"n1", 2}}, 0) == 2);
  CHECK(jobq::placement_room(nodes, {}, 2, {{"n1", 3}}, 0) == 2);  // never below nothing
  // A task not yet on a node counts against every node.
  CHECK(jobq::placement_room(nodes, {}, 2, {{"n1", 1}}, 1) == 1);
  // Only the nodes its constraints allow.
  CHECK(jobq::placement_room(nodes, {"node.labels.pool==b"}, 2, {}, 0) == 2);
  CHECK(jobq::placement_room(nodes, {"node.labels.pool==c"}, 2, {}, 0) == 0);
}
