// Notifier: webhook calls leave the outbox in order, are tried again with
// backoff on an HTTP error or a failed transfer, and are given up after
// max_tries; a slow receiver holds up neither other calls nor the caller.
#include <doctest/doctest.h>

#include <sqlite3.h>

#include <atomic>
#include <map>
#include <mutex>
#include <regex>
#include <set>

#include "base/time_util.hpp"
#include "base/uuid.hpp"
#include "model/policy.hpp"
#include "notify/notifier.hpp"
#include "test_support.hpp"

using jobq::AttemptResult;
using jobq::Delivery;
using jobq::HttpPostResult;
using jobq::JobState;
using jobq::Notifier;
using jobq::NotifierOptions;
using jobq::Store;
using jobq::test::TempDir;
using jobq::test::wait_until;
using nlohmann::json;

namespace {

// A job of app `app` that ends with `state`, which queues its webhook calls.
std::int64_t finished_job(Store& store, const std::string& app, JobState state) {
  jobq::NewJob nj;
  nj.app = app;
  const auto id = store.enqueue(nj).id;
  for (const auto& t : store.claim_pending(0, 100, jobq::test::naming(store))) {
    AttemptResult r;
    r.job_id = t.job_id;
    r.attempt = t.attempt;
    r.state = state;
    r.exit_code = state == JobState::succeeded ? 0 : 1;
    store.finish_attempt(r);
  }
  return id;
}

void hooked_app(Store& store, const std::string& name, std::vector<std::string> urls) {
  jobq::App a;
  a.name = name;
  a.image = "img";
  a.webhooks = jobq::apply_webhooks({}, json{{"urls", urls}, {"on", {"success", "final-failure"}}});
  store.create_app(a);
}

NotifierOptions fast() {
  NotifierOptions o;
  o.retry_base = std::chrono::milliseconds(1);
  o.retry_max = std::chrono::milliseconds(5);
  o.check_interval = std::chrono::milliseconds(10);
  o.max_tries = 4;
  return o;
}

}  // namespace

TEST_CASE("a delivery that fails is tried again until the receiver takes it") {
  TempDir dir;
  Store store(dir.file("jobq.db"));
  hooked_app(store, "a", {"http://hook.test/ok"});
  std::mutex mu;
  std::vector<std::string> seen;
  Notifier n(store, fast(), [&](const Delivery& d, std::chrono::milliseconds) {
    std::lock_guard lock(mu);
    seen.push_back(d.event + " " + std::to_string(d.tries));
    HttpPostResult r;
    r.status = seen.size() < 3 ? 500 : 204;
    return r;
  });
  const auto id = finished_job(store, "a", JobState::succeeded);
  n.start();
  REQUIRE(wait_until([&] { return !store.next_delivery_ns().has_value(); }));
  n.stop();
  CHECK(seen == std::vector<std::string>{"success 0", "success 1", "success 2"});
  (void)id;
}

TEST_CASE("a delivery is given up after max_tries and then left alone") {
  TempDir dir;
  Store store(dir.file("jobq.db"));
  hooked_app(store, "a", {"http://hook.test/down"});
  std::atomic<int> calls{0};
  Notifier n(store, fast(), [&](const Delivery&, std::chrono::milliseconds) {
    ++calls;
    HttpPostResult r;
    r.error = "Connection refused";
    return r;
  });
  finished_job(store, "a", JobState::failed);
  n.start();
  REQUIRE(wait_until([&] { return !store.next_delivery_ns().has_value(); }));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  n.stop();
  CHECK(calls == 4);
}

TEST_CASE("a slow receiver does not hold up another's calls") {
  TempDir dir;
  Store store(dir.file("jobq.db"));
  hooked_app(store, "slow", {"http://hook.test/slow"});
  hooked_app(store, "quick", {"http://hook.test/quick"});
  std::atomic<bool> release{false};
  std::atomic<int> quick{0};
  Notifier n(store, fast(), [&](const Delivery& d, std::chrono::milliseconds) {
    if (d.url.find("slow") != std::string::npos)
      wait_until([&] { return release.load(); }, std::chrono::seconds(20));
    else
      ++quick;
    HttpPostResult r;
    r.status = 200;
    return r;
  });
  n.start();
  finished_job(store, "slow", JobState::succeeded);
  finished_job(store, "quick", JobState::succeeded);
  finished_job(store, "quick", JobState::succeeded);
  CHECK(wait_until([&] { return quick == 2; }));
  release = true;
  CHECK(wait_until([&] { return !store.next_delivery_ns().has_value(); }));
  n.stop();
}

TEST_CASE("a delivery's id is a random UUID: the same on each try, new in another database") {
  const std::regex uuid_v4("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
  TempDir one, two;
  Store a(one.file("jobq.db")), b(two.file("jobq.db"));
  for (Store* s : {&a, &b}) {
    hooked_app(*s, "a", {"http://hook.test/ok"});
    finished_job(*s, "a", JobState::succeeded);
  }
  const auto due_a = a.due_deliveries(jobq::now_unix_ns() + 1'000'000'000, 10);
  const auto due_b = b.due_deliveries(jobq::now_unix_ns() + 1'000'000'000, 10);
  REQUIRE(due_a.size() == 1);
  REQUIRE(due_b.size() == 1);
  CHECK(due_a[0].id == due_b[0].id);  // the row ids repeat across databases...
  CHECK(std::regex_match(due_a[0].uuid, uuid_v4));
  CHECK(due_a[0].uuid != due_b[0].uuid);  // ... the delivery ids do not
  a.delivery_failed(due_a[0].id, "HTTP 500", 0);
  const auto again = a.due_deliveries(jobq::now_unix_ns() + 1'000'000'000, 10);
  REQUIRE(again.size() == 1);
  CHECK(again[0].uuid == due_a[0].uuid);
}

TEST_CASE("random_uuid: version 4, RFC 4122 variant, never the same twice") {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    const std::string u = jobq::random_uuid();
    REQUIRE(u.size() == 36);
    CHECK(u[14] == '4');
    CHECK(std::string("89ab").find(u[19]) != std::string::npos);
    seen.insert(u);
  }
  CHECK(seen.size() == 1000);
}

TEST_CASE("calls queued before schema 7 get a random UUID when the store is upgraded") {
  TempDir dir;
  const std::string path = dir.file("jobq.db");
  {
    Store store(path);
    hooked_app(store, "a", {"http://hook.test/ok"});
    finished_job(store, "a", JobState::succeeded);
    finished_job(store, "a", JobState::succeeded);
  }
  {  // back to schema 6, as an older jobqd left it
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
    REQUIRE(sqlite3_exec(db,
                         ("ALTER TABLE apps DROP COLUMN pull; DROP INDEX jobs_by_user; DROP INDEX "
                          "jobs_by_created; ALTER TABLE deliveries DROP COLUMN uuid; " +
                          jobq::test::kUndoSchema9 + "PRAGMA user_version=6")
                             .c_str(),
                         nullptr, nullptr, nullptr) == SQLITE_OK);
    sqlite3_close(db);
  }
  Store store(path);
  const auto due = store.due_deliveries(jobq::now_unix_ns() + 1'000'000'000, 10);
  REQUIRE(due.size() == 2);
  const std::regex uuid_v4("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
  CHECK(std::regex_match(due[0].uuid, uuid_v4));
  CHECK(std::regex_match(due[1].uuid, uuid_v4));
  CHECK(due[0].uuid != due[1].uuid);
}
