// visibility: what of a job or an application each reader is sent.
#include <doctest/doctest.h>

#include "server/visibility.hpp"

using jobq::App;
using jobq::Job;
using jobq::Viewer;
using nlohmann::json;

namespace {

Job alices_job() {
  Job j;
  j.id = 7;
  j.app = "web";
  j.command = std::vector<std::string>{"deploy", "--password=hunter2"};
  j.env = {{"API_TOKEN", "s3cret"}, {"REGION", "eu"}};
  j.message = R"({"card":"4111"})";
  j.labels = {{"team", "blue"}};
  j.key = "nightly";
  j.submitter_uid = 1000;
  j.submitter_name = "alice";
  return j;
}

}  // namespace

TEST_CASE("a job's owner and admins see all of it") {
  for (const Viewer v : {Viewer{1000, false}, Viewer{0, true}, Viewer{1001, true}}) {
    const json j = jobq::job_view(alices_job(), v);
    CHECK(j["command"] == json({"deploy", "--password=hunter2"}));
    CHECK(j["env"]["API_TOKEN"] == "s3cret");
    CHECK(j["message"]["card"] == "4111");
    CHECK(j["redacted"] == json::array());
  }
}

TEST_CASE(
    "another user sees a job's metadata; command, env values, message and output are withheld") {
  const json j = jobq::job_view(alices_job(), Viewer{1001, false});
  CHECK(j["id"] == 7);
  CHECK(j["app"] == "web");
  CHECK(j["state"] == "pending");
  CHECK(j["submitted_by"]["user"] == "alice");
  CHECK(j["labels"]["team"] == "blue");
  CHECK(j["key"] == "nightly");
  CHECK(j["command"].is_null());
  CHECK(j["env"] == json({{"API_TOKEN", nullptr}, {"REGION", nullptr}}));  // names only
  CHECK(j["message"].is_null());
  CHECK(j["redacted"] == json({"command", "env", "message", "output"}));
  CHECK(j.dump().find("s3cret") == std::string::npos);
  CHECK(j.dump().find("hunter2") == std::string::npos);
  CHECK(j.dump().find("4111") == std::string::npos);
  CHECK_FALSE(jobq::may_read_all(Viewer{1001, false}, alices_job()));
  CHECK_FALSE(jobq::may_read_all(Viewer{-1, false}, Job{}));  // an unknown uid owns nothing
  CHECK(jobq::jobs_view({alices_job()}, Viewer{1001, false})[0]["redacted"].size() == 4);
}

TEST_CASE("an application's env values and webhook URLs are for admins only") {
  App a;
  a.name = "web";
  a.image = "img";
  a.env = {{"DSN", "postgres://u:pw@db"}};
  a.webhooks.urls = {"https://hooks.example/T0K3N"};
  const json admin = jobq::app_view(a, Viewer{0, true});
  CHECK(admin["env"]["DSN"] == "postgres://u:pw@db");
  CHECK(admin["webhooks"]["urls"][0] == "https://hooks.example/T0K3N");
  CHECK(admin["redacted"] == json::array());
  const json user = jobq::apps_view({a}, Viewer{1000, false})[0];
  CHECK(user["image"] == "img");
  CHECK(user["env"] == json({{"DSN", nullptr}}));
  CHECK(user["webhooks"]["urls"].is_null());
  CHECK(user["webhooks"]["on"] == json({"final-failure"}));
  CHECK(user["redacted"] == json({"env", "webhooks.urls"}));
  CHECK(user.dump().find("pw@db") == std::string::npos);
  CHECK(user.dump().find("T0K3N") == std::string::npos);
}
