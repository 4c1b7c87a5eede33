// policy: the JSON forms of retry policies, resources and webhooks, their
// bounds, and the rule that a job may lower its application's limits but
// never raise them.
#include <doctest/doctest.h>

#include "policy.hpp"

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
  CHECK(message([] { jobq::apply_retry({}, json{{"limit", 101}}); }).find("retry.limit") != std::string::npos);
  CHECK(message([] { jobq::apply_retry({}, json{{"on", {"sometimes"}}}); }).find("'sometimes'") != std::string::npos);
  CHECK(message([] { jobq::apply_retry({}, json{{"tries", 1}}); }).find("no field 'tries'") != std::string::npos);
  CHECK(message([] { jobq::apply_retry({}, json::array()); }).find("object") != std::string::npos);
  CHECK(message([] { jobq::apply_resources({}, json{{"memory_bytes", 1024}}); }).find("6 MiB") != std::string::npos);
  CHECK(message([] { jobq::apply_resources({}, json{{"network", "container:x"}}); }).find("network") != std::string::npos);
  CHECK(message([] { jobq::apply_resources({}, json{{"user", "a b"}}); }).find("user") != std::string::npos);
  CHECK(message([] { jobq::apply_webhooks({}, json{{"on", {"started"}}}); }).find("'started'") != std::string::npos);
  const auto res = jobq::apply_resources({}, json{{"memory_bytes", 64 << 20}, {"user", "1000:1000"}, {"network", "none"}});
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
  CHECK(raised([](Resources& j) { j.memory_bytes = 128 << 20; }).find("memory") != std::string::npos);
  CHECK(raised([](Resources& j) { j.nano_cpus = 2'000'000'000; }).find("CPUs") != std::string::npos);
  CHECK(raised([](Resources& j) { j.pids_limit = 1000; }).find("processes") != std::string::npos);
  CHECK(raised([](Resources& j) { j.network = "host"; }).find("network none") != std::string::npos);
  CHECK(raised([](Resources& j) { j.user = "0"; }).find("root") != std::string::npos);
  CHECK(raised([](Resources& j) { j.user = "00"; }).find("root") != std::string::npos);
  CHECK(raised([](Resources& j) { j.user = "1000:0"; }).find("root") != std::string::npos);
  CHECK(raised([](Resources& j) { j.user = "nobody:root"; }).find("root") != std::string::npos);
  CHECK(raised([](Resources& j) { j.user = "2000"; }).find("runs as '1000'") != std::string::npos);

  // An application without limits: a job may set its own.
  Resources open;
  Resources j;
  j.memory_bytes = 16 << 20;
  j.user = "nobody";
  CHECK(jobq::resources_excess(open, j).empty());
  CHECK(jobq::effective_resources(open, j).memory_bytes == 16 << 20);
  j.user = "root:root";
  CHECK_FALSE(jobq::resources_excess(open, j).empty());
  // The application since got a fixed user: a job's own gives way to it.
  Resources fixed;
  fixed.user = "svc";
  Resources earlier;
  earlier.user = "1000";
  CHECK(jobq::effective_resources(fixed, earlier).user == "svc");
  CHECK(jobq::effective_resources(open, earlier).user == "1000");
}
