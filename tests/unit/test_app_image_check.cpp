// app.create and app.update check the image (unless check_image is false):
// it must be had under the application's pull policy, with the pull's
// progress streamed as partial lines when asked, and a clear error when it
// cannot be had. The pull policy is stored and shown. Also the store's
// undoing of a claim (unclaim).
#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <vector>

#include "daemon_fixture.hpp"
#include "test_support.hpp"
#include "wire/protocol.hpp"

using jobq::test::FakeEngine;
using jobq::test::TempDir;
using jobq::test::wait_until;
using nlohmann::json;

namespace {

struct Fixture : jobq::test::DaemonFixture {
  Fixture() { engine.track_images(); }
  ~Fixture() { engine.release_pulls(); }
  std::uint64_t send(const std::string& cmd, json args) {
    return jobq::test::DaemonFixture::send(0, cmd, args);
  }
};

}  // namespace

TEST_CASE_FIXTURE(Fixture, "app create pulls a missing image, streaming its progress when asked") {
  const json r = wait_reply(
      send("app.create", {{"name", "a"}, {"image", "reg:5000/a:1"}, {"progress", true}}));
  REQUIRE(r["ok"] == true);
  CHECK(r["result"]["pull"] == "missing");
  CHECK(engine.pulls_of("reg:5000/a:1") == 1);
  CHECK(engine.has_image("reg:5000/a:1"));
  const auto partials = lines_of(1, false);
  REQUIRE(partials.size() >= 3);
  bool downloading = false;
  for (const auto& p : partials) {
    REQUIRE(p["more"] == true);
    const json& pull = p["result"]["pull"];
    if (pull["status"] == "Downloading") {
      downloading = true;
      CHECK(pull["current"] == 512);
      CHECK(pull["total"] == 1024);
      CHECK(pull["id"] == "0123456789ab");
    }
  }
  CHECK(downloading);
  CHECK(store.get_app("a")->pull == jobq::PullPolicy::missing);
}

TEST_CASE_FIXTURE(Fixture, "app create refuses an image it cannot have, with Docker's message") {
  engine.fail_pull_with("reg:5000/private:1", "no basic auth credentials");
  json r = wait_reply(send("app.create", {{"name", "a"}, {"image", "reg:5000/private:1"}}));
  CHECK(r["ok"] == false);
  CHECK(r["error"]["code"] == "engine");
  const std::string msg = r["error"]["message"];
  CHECK(msg.find("image reg:5000/private:1 cannot be had") != std::string::npos);
  CHECK(msg.find("no basic auth credentials") != std::string::npos);
  CHECK(msg.find("--no-image-check") != std::string::npos);
  CHECK_FALSE(store.get_app("a").has_value());
  CHECK(lines_of(1, false).empty());  // no progress unless asked

  // --pull never: the image must be there already; nothing is pulled.
  r = wait_reply(send("app.create", {{"name", "b"}, {"image", "absent:1"}, {"pull", "never"}}));
  CHECK(r["ok"] == false);
  CHECK(r["error"]["message"].get<std::string>().find("pull policy is never") != std::string::npos);
  CHECK(engine.pulls_of("absent:1") == 0);

  // Told not to check: created as it is.
  const int looks = engine.has_image_calls();
  r = wait_reply(
      send("app.create",
           {{"name", "c"}, {"image", "absent:1"}, {"pull", "never"}, {"check_image", false}}));
  REQUIRE(r["ok"] == true);
  CHECK(r["result"]["pull"] == "never");
  CHECK(engine.has_image_calls() == looks);  // not looked at

  // A name already taken is said before any pull.
  r = wait_reply(send("app.create", {{"name", "c"}, {"image", "reg:5000/other:1"}}));
  CHECK(r["error"]["code"] == "conflict");
  CHECK(engine.pulls_of("reg:5000/other:1") == 0);

  r = wait_reply(send("app.create", {{"name", "d"}, {"image", "x"}, {"pull", "sometimes"}}));
  CHECK(r["error"]["code"] == "bad_request");
}

TEST_CASE_FIXTURE(
    Fixture,
    "app create while the engine is down: created, with a warning that the image was not checked") {
  engine.set_unreachable(true);
  const json r = wait_reply(send("app.create", {{"name", "a"}, {"image", "reg:5000/a:1"}}));
  REQUIRE(r["ok"] == true);
  REQUIRE(r["result"]["warnings"].size() == 1);
  CHECK(r["result"]["warnings"][0].get<std::string>().find("was not checked") != std::string::npos);
  CHECK(store.get_app("a").has_value());
}

TEST_CASE_FIXTURE(Fixture,
                  "app update checks the image it will run, under the policy it will have") {
  engine.add_image("img:1");
  REQUIRE(wait_reply(send("app.create", {{"name", "a"}, {"image", "img:1"}}))["ok"] == true);
  CHECK(engine.pulls_of("img:1") == 0);  // there: only inspected

  // A new image that cannot be had: refused, the application unchanged.
  engine.fail_pull_with("img:2", "manifest for img:2 not found");
  json r = wait_reply(send("app.update", {{"name", "a"}, {"image", "img:2"}}));
  CHECK(r["ok"] == false);
  CHECK(r["error"]["message"].get<std::string>().find("manifest for img:2 not found") !=
        std::string::npos);
  CHECK(store.get_app("a")->image == "img:1");

  // --pull always alone: the current image is pulled now.
  r = wait_reply(send("app.update", {{"name", "a"}, {"pull", "always"}}));
  REQUIRE(r["ok"] == true);
  CHECK(r["result"]["pull"] == "always");
  CHECK(engine.pulls_of("img:1") == 1);
  CHECK(store.get_app("a")->pull == jobq::PullPolicy::always);

  // Other changes do not look at the image.
  const int looks = engine.has_image_calls() + engine.pulls_of("img:1");
  REQUIRE(wait_reply(send("app.update", {{"name", "a"}, {"max_running", 3}}))["ok"] == true);
  CHECK(engine.has_image_calls() + engine.pulls_of("img:1") == looks);
}

TEST_CASE("unclaim returns a claimed job with no container to pending, as if never claimed") {
  TempDir dir;
  jobq::Store store{dir.file("jobq.db")};
  jobq::test::make_app(store, "a");
  jobq::NewJob nj;
  nj.app = "a";
  const auto id = store.enqueue(nj).id;
  auto t = store.claim_pending(0, 1, jobq::test::naming(store));
  REQUIRE(t.size() == 1);
  CHECK(store.unclaim(id, 1));
  auto job = store.get_job(id).value();
  CHECK(job.state == jobq::JobState::pending);
  CHECK(job.attempts.empty());
  CHECK_FALSE(store.unclaim(id, 1));  // once
  // Claimed again: the same attempt number (and container name).
  t = store.claim_pending(0, 1, jobq::test::naming(store));
  REQUIRE(t.size() == 1);
  CHECK(t[0].attempt == 1);
  // A run was recorded: never undone (it may have run).
  REQUIRE(store.record_run(id, 1, "abc", "abc"));
  CHECK_FALSE(store.unclaim(id, 1));
  CHECK(store.get_job(id)->state == jobq::JobState::starting);
}

TEST_CASE("the claim gate keeps an application's jobs pending, or hands them a pull error") {
  TempDir dir;
  jobq::Store store{dir.file("jobq.db")};
  jobq::test::make_app(store, "held");
  jobq::test::make_app(store, "broken");
  jobq::test::make_app(store, "fine");
  for (const char* app : {"held", "broken", "fine"}) {
    jobq::NewJob nj;
    nj.app = app;
    store.enqueue(nj);
  }
  std::vector<std::string> asked;
  const auto tickets =
      store.claim_pending(0, 10, jobq::test::naming(store), [&](const jobq::App& a) {
        asked.push_back(a.name);
        if (a.name == "held") return jobq::ClaimVerdict{false, ""};
        if (a.name == "broken") return jobq::ClaimVerdict{true, "pull failed"};
        return jobq::ClaimVerdict{};
      });
  CHECK(asked.size() == 3);
  REQUIRE(tickets.size() == 2);
  for (const auto& t : tickets) CHECK(t.pull_error == (t.app == "broken" ? "pull failed" : ""));
  jobq::JobFilter held;
  held.app = "held";
  held.limit = 10;
  CHECK(store.list_jobs(held)[0].state == jobq::JobState::pending);
}
