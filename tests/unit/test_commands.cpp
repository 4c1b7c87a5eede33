// The daemon's command table and handlers, through dispatch_request as
// jobqd's socket loop calls it, over the fake engine and a temporary store:
// every command name the CLI may send is served; who may do what (admins
// define applications and act on any job, users on their own); and what
// another user's job shows.
#include <doctest/doctest.h>

#include <string>

#include "daemon_fixture.hpp"
#include "wire/commands.hpp"

using nlohmann::json;

namespace {

constexpr uid_t kRoot = 0;
constexpr uid_t kAlice = 1000;
constexpr uid_t kBob = 1001;

struct Fixture : jobq::test::DaemonFixture {
  Fixture() {
    committer.start();
    health.start();
    const json r = call(kRoot, jobq::cmd::app_create,
                        {{"name", "web"}, {"image", "busybox:1"}, {"check_image", false}});
    REQUIRE(r["ok"] == true);
  }
  ~Fixture() { committer.stop(); }
  std::int64_t enqueue_as(uid_t uid, json args = json::object()) {
    args["app"] = "web";
    args["command"] = {"echo", "secret-argument"};
    args["env"] = {{"TOKEN", "s3cret"}};
    const json r = call(uid, jobq::cmd::enqueue, args);
    REQUIRE(r["ok"] == true);
    return r["result"]["id"].get<std::int64_t>();
  }
};

std::string code_of(const json& reply) {
  return reply["ok"] == true ? "ok" : reply["error"]["code"].get<std::string>();
}

}  // namespace

TEST_CASE_FIXTURE(Fixture, "every command the CLI sends is one jobqd serves, and no other") {
  for (const std::string name : jobq::cmd::all) {
    CAPTURE(name);
    const json r = call(kRoot, name);
    // Empty arguments are refused by most, but never as an unknown command.
    if (r["ok"] == false)
      CHECK(r["error"]["message"].get<std::string>().find("unknown command") == std::string::npos);
  }
  const json r = call(kRoot, "app.crate");
  CHECK(code_of(r) == "bad_request");
  CHECK(r["error"]["message"].get<std::string>().find("unknown command 'app.crate'") !=
        std::string::npos);
  CHECK(r["error"]["message"].get<std::string>().find("app.create") != std::string::npos);
}

TEST_CASE_FIXTURE(Fixture, "applications are defined by admins only") {
  const json create = {{"name", "mine"}, {"image", "busybox:1"}, {"check_image", false}};
  CHECK(code_of(call(kAlice, jobq::cmd::app_create, create)) == "forbidden");
  CHECK(code_of(call(kAlice, jobq::cmd::app_update, {{"name", "web"}, {"max_running", 1}})) ==
        "forbidden");
  CHECK(code_of(call(kAlice, jobq::cmd::app_pause, {{"name", "web"}})) == "forbidden");
  CHECK(code_of(call(kAlice, jobq::cmd::app_delete, {{"name", "web"}})) == "forbidden");
  CHECK(code_of(call(kAlice, jobq::cmd::prune, json::object())) == "forbidden");
  // Nothing was changed by the refused calls.
  CHECK(code_of(call(kAlice, jobq::cmd::app_show, {{"name", "mine"}})) == "not_found");
  const json web = call(kAlice, jobq::cmd::app_show, {{"name", "web"}});
  REQUIRE(code_of(web) == "ok");
  CHECK(web["result"]["paused"] == false);
  // An admin may.
  CHECK(code_of(call(kRoot, jobq::cmd::app_create, create)) == "ok");
  CHECK(code_of(call(kRoot, jobq::cmd::app_pause, {{"name", "mine"}})) == "ok");
}

TEST_CASE_FIXTURE(Fixture, "a user acts on their own jobs; an admin on anyone's") {
  const auto id = enqueue_as(kAlice);
  for (const std::string name : {jobq::cmd::hold, jobq::cmd::cancel}) {
    CAPTURE(name);
    CHECK(code_of(call(kBob, name, {{"id", id}})) == "forbidden");
  }
  CHECK(code_of(call(kBob, jobq::cmd::update, {{"id", id}, {"priority", 5}})) == "forbidden");
  const json shown = call(kAlice, jobq::cmd::show, {{"id", id}});
  CHECK(shown["result"]["state"] == "pending");
  CHECK(shown["result"]["held"] == false);
  CHECK(shown["result"]["priority"] == 0);

  const json held = call(kAlice, jobq::cmd::hold, {{"id", id}});
  REQUIRE(code_of(held) == "ok");
  CHECK(held["result"]["held"] == true);
  CHECK(code_of(call(kRoot, jobq::cmd::release, {{"id", id}})) == "ok");
  const json cancelled = call(kRoot, jobq::cmd::cancel, {{"id", id}});
  REQUIRE(code_of(cancelled) == "ok");
  CHECK(cancelled["result"]["state"] == "cancelled");
  CHECK(code_of(call(kAlice, jobq::cmd::cancel, {{"id", id}})) == "conflict");
}

TEST_CASE_FIXTURE(Fixture, "another user's job shows its metadata, not its command or secrets") {
  const auto id = enqueue_as(kAlice, {{"labels", {{"team", "blue"}}}});
  const json mine = call(kAlice, jobq::cmd::show, {{"id", id}});
  CHECK(mine["result"]["env"]["TOKEN"] == "s3cret");
  const json theirs = call(kBob, jobq::cmd::show, {{"id", id}});
  REQUIRE(code_of(theirs) == "ok");
  CHECK(theirs["result"]["labels"]["team"] == "blue");
  CHECK(theirs["result"]["command"].is_null());
  CHECK(theirs.dump().find("s3cret") == std::string::npos);
  CHECK(theirs.dump().find("secret-argument") == std::string::npos);
  const json listed = call(kBob, jobq::cmd::list, json::object());
  REQUIRE(code_of(listed) == "ok");
  CHECK(listed.dump().find("s3cret") == std::string::npos);
  CHECK(listed.dump().find(std::to_string(id)) != std::string::npos);
}
