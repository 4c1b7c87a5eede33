// policy: the JSON forms of retry policies, resources and webhooks, their
// bounds, and the rule that a job may lower its application's limits but
// never raise them.
#include <doctest/doctest.h>

#include "model/placement.hpp"
#include "model/policy.hpp"

using jobq::Resources;
using nlohmann::json;

TEST_CASE("sizes and CPU counts as users type them") {
  CHECK(jobq::parse_size("64m") == 64LL << 20);
  CHECK(jobq::parse_size("1G") == 1LL << 30);
  CHECK(jobq::parse_size("512k") == 512LL << 10);
  CHECK(jobq::parse_size("2gb") == 2LL << 30);
  CHECK(jobq::parse_size("1048576") == 1048576);
  CHECK(jobq::parse_size("0") == 0);
  for (const char* bad : {"", "m", "-1m", "1.5g", "12q", "99999999999t"})
    CHECK_MESSAGE(!jobq::parse_size(bad), bad);
  CHECK(jobq::parse_cpus("0.5") == 500'000'000);
  CHECK(jobq::parse_cpus("2") == 2'000'000'000);
  CHECK(jobq::parse_cpus(".25") == 250'000'000);
  for (const char* bad : {"", "a", "1,5", "-1", "2000"}) CHECK_MESSAGE(!jobq::parse_cpus(bad), bad);
  CHECK(jobq::format_cpus(1'500'000'000) == "1.5");
  CHECK(jobq::format_cpus(2'000'000'000) == "2");
  CHECK(jobq::format_size(64LL << 20) == "64 MiB");
  CHECK(jobq::format_size(1000) == "1000 bytes");
}

TEST_CASE("policies apply only the fields given, within bounds, naming what is wrong") {
  auto r = jobq::apply_retry({}, json{{"limit", 5}});
  CHECK(r.limit == 5);
  CHECK(r.base_ms == 1000);  // untouched
  r = jobq::apply_retry(r, json{{"on", {"exit", "timeout", "exit"}}});
  CHECK(r.on == std::vector<std::string>{"exit", "timeout"});
  CHECK(r.limit == 5);
  auto message = [](auto f) {
    try {
      f();
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  CHECK(message([] {
          jobq::apply_retry({}, json{{"limit", 101}});
        }).find("retry.limit") != std::string::npos);
  CHECK(message([] {
          jobq::apply_retry({}, json{{"on", {"sometimes"}}});
        }).find("'sometimes'") != std::string::npos);
  CHECK(message([] {
          jobq::apply_retry({}, json{{"tries", 1}});
        }).find("no field 'tries'") != std::string::npos);
  CHECK(message([] { jobq::apply_retry({}, json::array()); }).find("object") != std::string::npos);
  CHECK(message([] {
          jobq::apply_resources({}, json{{"memory_bytes", 1024}});
        }).find("6 MiB") != std::string::npos);
  CHECK(message([] {
          jobq::apply_resources({}, json{{"network", "container:x"}});
        }).find("network") != std::string::npos);
  CHECK(message([] {
          jobq::apply_resources({}, json{{"user", "a b"}});
        }).find("user") != std::string::npos);
  CHECK(message([] {
          jobq::apply_webhooks({}, json{{"on", {"started"}}});
        }).find("'started'") != std::string::npos);
  const auto res = jobq::apply_resources(
      {}, json{{"memory_bytes", 64 << 20}, {"user", "1000:1000"}, {"network", "none"}});
  CHECK(res.memory_bytes == 64 << 20);
  CHECK(res.user == "1000:1000");
  // The JSON form reads back as the same policy (the store keeps it so).
  json j = res;
  const auto back = jobq::apply_resources({}, j);
  CHECK(back.memory_bytes == res.memory_bytes);
  CHECK(back.network == "none");
}

TEST_CASE("a job may lower its application's limits, never raise them") {
  Resources app;
  app.memory_bytes = 64 << 20;
  app.nano_cpus = 1'000'000'000;
  app.pids_limit = 100;
  app.network = "bridge";
  app.read_only = true;
  app.user = "1000";
  Resources job;
  CHECK(jobq::resources_excess(app, job).empty());
  job.memory_bytes = 32 << 20;
  job.nano_cpus = 500'000'000;
  job.pids_limit = 10;
  job.network = "none";
  CHECK(jobq::resources_excess(app, job).empty());
  const auto eff = jobq::effective_resources(app, job);
  CHECK(eff.memory_bytes == 32 << 20);
  CHECK(eff.nano_cpus == 500'000'000);
  CHECK(eff.pids_limit == 10);
  CHECK(eff.network == "none");
  CHECK(eff.read_only);  // the job cannot turn it off
  CHECK(eff.user == "1000");

  auto raised = [&](auto change) {
    Resources j;
    change(j);
    return jobq::resources_excess(app, j);
  };
  CHECK(raised([](Resources& j) { j.memory_bytes = 128 << 20; }).find("memory") !=
        std::string::npos);
  CHECK(raised([](Resources& j) { j.nano_cpus = 2'000'000'000; }).find("CPUs") !=
        std::string::npos);
  CHECK(raised([](Resources& j) { j.pids_limit = 1000; }).find("processes") != std::string::npos);
  CHECK(raised([](Resources& j) { j.network = "host"; }).find("network none") != std::string::npos);
  CHECK(raised([](Resources& j) { j.user = "0"; }).find("root") != std::string::npos);
  CHECK(raised([](Resources& j) { j.user = "00"; }).find("root") != std::string::npos);
  CHECK(raised([](Resources& j) { j.user = "1000:0"; }).find("root") != std::string::npos);
  CHECK(raised([](Resources& j) { j.user = "nobody:root"; }).find("root") != std::string::npos);
  CHECK(raised([](Resources& j) { j.user = "2000"; }).find("lets no job choose") !=
        std::string::npos);
  CHECK(raised([](Resources& j) { j.job_users = "1-100"; }).find("belongs to the application") !=
        std::string::npos);

  // An application without limits: a job may set its own, but not its user.
  Resources open;
  Resources j;
  j.memory_bytes = 16 << 20;
  CHECK(jobq::resources_excess(open, j).empty());
  CHECK(jobq::effective_resources(open, j).memory_bytes == 16 << 20);
  j.user = "nobody";
  CHECK(jobq::resources_excess(open, j).find("lets no job choose") != std::string::npos);
  j.user = "1000";  // gid 0 by Docker's default
  CHECK_FALSE(jobq::resources_excess(open, j).empty());
  j.user = "root:root";
  CHECK_FALSE(jobq::resources_excess(open, j).empty());
}

TEST_CASE("a job's own user: numeric UID:GID within its application's range, never 0") {
  Resources app;
  app.job_users = "10000-10999";
  auto why = [&](const char* user) { return jobq::job_user_excess(app, user); };
  CHECK(why("10000:10999").empty());
  CHECK(why("10500:10500").empty());
  CHECK(why("10001").find("numeric UID:GID") != std::string::npos);
  CHECK(why("svc:svc").find("numeric UID:GID") != std::string::npos);
  CHECK(why("10001:staff").find("numeric UID:GID") != std::string::npos);
  CHECK(why("010001:10001").find("numeric UID:GID") != std::string::npos);
  CHECK(why("10001:0").find("root") != std::string::npos);
  CHECK(why("0:10001").find("root") != std::string::npos);
  CHECK(why("9999:10001").find("outside the ids") != std::string::npos);
  CHECK(why("10001:11000").find("outside the ids") != std::string::npos);
  Resources job;
  job.user = "10001:10001";
  CHECK(jobq::resources_excess(app, job).empty());
  CHECK(jobq::effective_resources(app, job).user == "10001:10001");
  // The application since lost its range (or got a fixed user): the job's
  // own user gives way to the application's.
  Resources closed;
  closed.user = "svc";
  CHECK(jobq::effective_resources(closed, job).user == "svc");
  CHECK(jobq::effective_resources(Resources{}, job).user.empty());

  CHECK(jobq::apply_resources({}, json{{"job_users", "1-2"}}).job_users == "1-2");
  for (const char* bad : {"0-10", "10-1", "10", "a-b", "1-99999999999", "-5"}) {
    CAPTURE(bad);
    CHECK_THROWS_AS(jobq::apply_resources({}, json{{"job_users", bad}}), std::invalid_argument);
  }
}

TEST_CASE("placement: constraints in the scheduler's syntax, per-node limits, schedule timeout") {
  using jobq::apply_placement;
  using jobq::parse_constraint;
  const auto c = parse_constraint("node.labels.pool == batch");
  REQUIRE(c);
  CHECK(c->key == "node.labels.pool");
  CHECK(c->equal);
  CHECK(c->value == "batch");
  const auto ne = parse_constraint("node.hostname!=db1");
  REQUIRE(ne);
  CHECK_FALSE(ne->equal);
  for (const char* bad : {"node.hostname", "==x", "node.hostname==", "a b==c", "k=v",
                          "node.role==manager==x", "k==v\n"})
    CHECK_FALSE(parse_constraint(bad));

  const auto p = apply_placement({}, {{"constraints", {"node.labels.pool==batch"}},
                                      {"max_per_node", 2},
                                      {"schedule_timeout_ms", 60000}});
  CHECK(p.constraints == std::vector<std::string>{"node.labels.pool==batch"});
  CHECK(p.max_per_node == 2);
  CHECK(p.schedule_timeout_ms == 60000);
  CHECK(apply_placement(p, {{"max_per_node", 0}}).constraints == p.constraints);  // a subset
  CHECK_THROWS_WITH_AS(apply_placement({}, {{"constraints", {"pool=batch"}}}),
                       doctest::Contains("is not KEY==VALUE or KEY!=VALUE"), std::invalid_argument);
  CHECK_THROWS_AS(apply_placement({}, {{"max_per_node", -1}}), std::invalid_argument);
  CHECK_THROWS_AS(apply_placement({}, {{"nodes", 1}}), std::invalid_argument);
  CHECK(nlohmann::json(p)["max_per_node"] == 2);
}

TEST_CASE("placement: which nodes satisfy constraints, as Swarm's scheduler reads them") {
  const jobq::NodeAttributes db1{
      {"node.hostname", "db1"}, {"node.role", "worker"}, {"node.labels.pool", "Batch"}};
  const jobq::NodeAttributes web{{"node.hostname", "web"}, {"node.role", "manager"}};
  CHECK(jobq::satisfies(db1, {"node.labels.pool==batch"}));  // values without regard to case
  CHECK_FALSE(jobq::satisfies(web, {"node.labels.pool==batch"}));
  CHECK(jobq::satisfies(web, {"node.labels.pool!=batch"}));  // a label it lacks equals nothing
  CHECK_FALSE(jobq::satisfies(db1, {"node.hostname!=db1"}));
  CHECK(jobq::satisfies(web, {"node.hostname!=db1", "node.role==manager"}));
  CHECK_FALSE(jobq::satisfies(db1, {"node.hostname!=web", "node.role==manager"}));
  CHECK(jobq::satisfies(db1, {}));
}
