// store: applications, jobs and listing them, durability across reopen, the
// schema version.
// (Claims, attempts, cancellation and logs are in test_store_claims.cpp.)
#include <doctest/doctest.h>

#include <fstream>

#include <sqlite3.h>

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "base/time_util.hpp"
#include "store/store.hpp"
#include "test_support.hpp"

using jobq::App;
using jobq::JobState;
using jobq::NewJob;
using jobq::Store;
using jobq::StoreError;
using jobq::test::TempDir;

namespace {

App app(const std::string& name, int max_running = 0, jobq::EnvMap env = {}) {
  App a;
  a.name = name;
  a.image = "alpine:3.19";
  a.max_running = max_running;
  a.env = std::move(env);
  return a;
}

NewJob job_for(const std::string& app_name) {
  NewJob j;
  j.app = app_name;
  return j;
}

StoreError::Kind kind_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const StoreError& e) {
    return e.kind();
  }
  FAIL("no StoreError thrown");
  return StoreError::Kind::io;
}

int user_version(const std::string& path) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, nullptr) == SQLITE_OK);
  REQUIRE(sqlite3_step(st) == SQLITE_ROW);
  const int v = sqlite3_column_int(st, 0);
  sqlite3_finalize(st);
  sqlite3_close(db);
  return v;
}

using jobq::test::kUndoSchema9;

void exec_sql(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  char* err = nullptr;
  const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
  CAPTURE(err ? std::string(err) : std::string());
  sqlite3_free(err);
  sqlite3_close(db);
  REQUIRE(rc == SQLITE_OK);
}

}  // namespace

TEST_CASE("create, get and list applications") {
  TempDir dir;
  Store store(dir.file("jobq.db"));
  const App created = store.create_app(app("web", 2, {{"A", "1"}}));
  CHECK_FALSE(created.created_at.empty());
  CHECK(created.created_at == created.updated_at);
  store.create_app(app("batch"));

  const auto got = store.get_app("web");
  REQUIRE(got);
  CHECK(got->image == "alpine:3.19");
  CHECK(got->max_running == 2);
  CHECK(got->env == jobq::EnvMap{{"A", "1"}});
  CHECK(got->created_at == created.created_at);

  CHECK_FALSE(store.get_app("nope"));
  const auto all = store.list_apps();
  REQUIRE(all.size() == 2);
  CHECK(all[0].name == "batch");  // ordered by name
  CHECK(all[1].name == "web");
}

TEST_CASE("creating an application twice is a conflict") {
  TempDir dir;
  Store store(dir.file("jobq.db"));
  store.create_app(app("web", 1));
  CHECK(kind_of([&] { store.create_app(app("web", 5)); }) == StoreError::Kind::conflict);
  CHECK(store.get_app("web")->max_running == 1);  // the first one is untouched
}

TEST_CASE("update_app changes image, limit and env; a missing app is not_found") {
  TempDir dir;
  Store store(dir.file("jobq.db"));
  const App created =
      store.create_app(app("web", 2, {{"KEEP", "k"}, {"DROP", "d"}, {"CHANGE", "old"}}));
  jobq::AppUpdate u;
  u.image = "alpine:3.20";
  u.max_running = 0;
  u.set_env = {{"CHANGE", "new"}, {"ADD", "a"}};
  u.unset_env = {"DROP", "NOT_THERE"};
  const App updated = store.update_app("web", u);
  CHECK(updated.image == "alpine:3.20");
  CHECK(updated.max_running == 0);
  CHECK(updated.env == jobq::EnvMap{{"ADD", "a"}, {"CHANGE", "new"}, {"KEEP", "k"}});
  const auto got = store.get_app("web");
  REQUIRE(got);
  CHECK(got->image == "alpine:3.20");
  CHECK(got->env == updated.env);
  CHECK(got->created_at == created.created_at);  // an update keeps the creation time
  CHECK(got->updated_at == updated.updated_at);
  CHECK(got->updated_at >= created.updated_at);
  CHECK(store.list_apps().size() == 1);

  jobq::AppUpdate nothing;
  CHECK(store.update_app("web", nothing).image == "alpine:3.20");
  CHECK(kind_of([&] { store.update_app("nope", u); }) == StoreError::Kind::not_found);
}

TEST_CASE("delete_app: missing, idle, and refused while jobs are unfinished") {
  TempDir dir;
  Store store(dir.file("jobq.db"));
  CHECK(kind_of([&] { store.delete_app("nope", false); }) == StoreError::Kind::not_found);

  store.create_app(app("idle"));
  CHECK(store.delete_app("idle", false).empty());
  CHECK_FALSE(store.get_app("idle"));

  store.create_app(app("web"));
  const auto j = store.enqueue(job_for("web"));
  CHECK(kind_of([&] { store.delete_app("web", false); }) == StoreError::Kind::conflict);
  CHECK(store.get_app("web"));
  CHECK(store.get_job(j.id)->state == JobState::pending);
}

TEST_CASE("delete_app with force cancels pending jobs and marks running ones") {
  TempDir dir;
  Store store(dir.file("jobq.db"));
  store.create_app(app("web"));
  store.create_app(app("other"));
  const auto running = store.enqueue(job_for("web"));
  const auto tickets = store.claim_pending(0, 1, jobq::test::naming(store));
  REQUIRE(tickets.size() == 1);
  store.mark_running(running.id, 1, jobq::test::run_with_id("cid"));
  const auto pending = store.enqueue(job_for("web"));
  const auto elsewhere = store.enqueue(job_for("other"));

  const auto ids = store.delete_app("web", true);
  CHECK(ids == std::vector<std::int64_t>{running.id, pending.id});
  CHECK_FALSE(store.get_app("web"));

  const auto p = store.get_job(pending.id);
  CHECK(p->state == JobState::cancelled);
  CHECK(p->reason == "application deleted");
  const auto r = store.get_job(running.id);
  CHECK(r->state == JobState::running);  // the poller stops it
  CHECK(r->cancel_requested);
  CHECK(store.get_job(elsewhere.id)->state == JobState::pending);
  CHECK(kind_of([&] { store.enqueue(job_for("web")); }) == StoreError::Kind::not_found);
}

TEST_CASE("enqueue stores the job as given; an unknown app is not_found") {
  TempDir dir;
  Store store(dir.file("jobq.db"));
  CHECK(kind_of([&] { store.enqueue(job_for("nope")); }) == StoreError::Kind::not_found);
  store.create_app(app("web"));
  NewJob nj = job_for("web");
  nj.command = std::vector<std::string>{"sh", "-c", "echo 'hi there'"};
  nj.env = {{"X", "1"}};
  nj.message = R"({"k":[1,2]})";
  nj.labels = {{"team", "blue"}};
  nj.submitter_uid = 1000;
  nj.submitter_name = "alice";
  const auto a = store.enqueue(nj);
  const auto b = store.enqueue(job_for("web"));
  CHECK(a.id > 0);
  CHECK(b.id > a.id);
  CHECK(a.state == JobState::pending);

  const auto got = store.get_job(a.id);
  REQUIRE(got);
  CHECK(got->state == JobState::pending);
  CHECK(got->command == nj.command);
  CHECK(got->env == nj.env);
  CHECK(got->message == nj.message);
  CHECK(got->labels == nj.labels);
  CHECK(got->submitter_uid == 1000);
  CHECK(got->submitter_name == "alice");
  CHECK(got->created_at == a.created_at);
  CHECK(got->attempts.empty());
  CHECK_FALSE(store.get_job(b.id)->command);  // the image's default
  CHECK_FALSE(store.get_job(b.id)->message);
  CHECK_FALSE(store.get_job(9999));
}

TEST_CASE("list_jobs filters by app and state; limit keeps the newest") {
  TempDir dir;
  Store store(dir.file("jobq.db"));
  store.create_app(app("a"));
  store.create_app(app("b"));
  std::vector<std::int64_t> a_ids, b_ids;
  for (int i = 0; i < 4; ++i) {
    a_ids.push_back(store.enqueue(job_for("a")).id);
    b_ids.push_back(store.enqueue(job_for("b")).id);
  }
  store.request_cancel(a_ids[1]);
  auto ids = [](const std::vector<jobq::Job>& jobs) {
    std::vector<std::int64_t> out;
    for (const auto& j : jobs) out.push_back(j.id);
    return out;
  };
  jobq::JobFilter f;
  CHECK(store.list_jobs(f).size() == 8);
  f.limit = 3;
  CHECK(ids(store.list_jobs(f)) == std::vector<std::int64_t>{b_ids[2], a_ids[3], b_ids[3]});
  f.limit = 0;  // no limit
  CHECK(store.list_jobs(f).size() == 8);
  f.app = "a";
  CHECK(ids(store.list_jobs(f)) == a_ids);
  f.limit = 2;
  CHECK(ids(store.list_jobs(f)) == std::vector<std::int64_t>{a_ids[2], a_ids[3]});
  f.limit = 100;
  f.state = JobState::cancelled;
  CHECK(ids(store.list_jobs(f)) == std::vector<std::int64_t>{a_ids[1]});
  f.app.reset();
  f.state = JobState::pending;
  CHECK(store.list_jobs(f).size() == 7);
  f.app = "nope";
  CHECK(store.list_jobs(f).empty());
}

TEST_CASE("list_jobs filters by several states, user, labels and creation time") {
  TempDir dir;
  Store store(dir.file("jobq.db"));
  store.create_app(app("a"));
  auto make = [&](const std::string& user, jobq::LabelMap labels) {
    NewJob j = job_for("a");
    j.submitter_name = user;
    j.labels = std::move(labels);
    return store.enqueue(j).id;
  };
  const auto j1 = make("ann", {{"team", "x"}});
  const auto j2 = make("ben", {{"team", "y"}, {"tier", "1"}});
  const auto j3 = make("ann", {});
  const auto j4 = make("ben", {{"team", "x"}});
  store.request_cancel(j2);
  store.update_pending(j3, std::nullopt, true);
  auto ids = [&](const jobq::JobFilter& f) {
    std::vector<std::int64_t> out;
    for (const auto& j : store.list_jobs(f)) out.push_back(j.id);
    return out;
  };
  using Ids = std::vector<std::int64_t>;
  jobq::JobFilter f;
  f.states = {JobState::cancelled, JobState::pending};
  CHECK(ids(f) == Ids{j1, j2, j3, j4});
  f.limit = 2;  // the most recent two across both states
  CHECK(ids(f) == Ids{j3, j4});
  f.limit = 100;
  f.states = {JobState::cancelled, JobState::succeeded};
  CHECK(ids(f) == Ids{j2});
  f.state = JobState::pending;  // with `states`: any of them
  CHECK(ids(f) == Ids{j1, j2, j3, j4});
  f = {};
  f.user = "ann";
  CHECK(ids(f) == Ids{j1, j3});
  f.user = "nobody";
  CHECK(ids(f).empty());
  f = {};
  f.labels = {{"team", "x"}};
  CHECK(ids(f) == Ids{j1, j4});
  f.labels = {{"team", std::nullopt}};
  CHECK(ids(f) == Ids{j1, j2, j4});
  f.labels = {{"team", "y"}, {"tier", "1"}};
  CHECK(ids(f) == Ids{j2});
  f.labels = {{"team", "y"}, {"tier", "2"}};
  CHECK(ids(f).empty());
  f.user = "ben";
  f.labels = {{"team", "x"}};
  CHECK(ids(f) == Ids{j4});
  f = {};
  f.before_id = j4;
  f.labels = {{"team", "x"}};
  CHECK(ids(f) == Ids{j1});
  // Since: from the creation time of the third job on.
  f = {};
  f.since_ns = jobq::parse_rfc3339_ns(store.get_job(j3)->created_at);
  CHECK(ids(f) == Ids{j3, j4});
  f.since_ns = *f.since_ns + 3'600'000'000'000;  // an hour later: none yet
  CHECK(ids(f).empty());
  f.since_ns = 0;
  CHECK(ids(f) == Ids{j1, j2, j3, j4});
}

TEST_CASE("update_pending changes a pending job's priority and hold, and nothing else's") {
  TempDir dir;
  Store store(dir.file("jobq.db"));
  store.create_app(app("a"));
  const auto id = store.enqueue(job_for("a")).id;
  auto job = store.update_pending(id, 9, std::nullopt);
  CHECK(job.priority == 9);
  CHECK_FALSE(job.held);
  job = store.update_pending(id, std::nullopt, true);
  CHECK(job.priority == 9);
  CHECK(job.held);
  job = store.update_pending(id, -3, false);
  CHECK(job.priority == -3);
  CHECK_FALSE(job.held);
  store.request_cancel(id);
  try {
    store.update_pending(id, 1, std::nullopt);
    FAIL("a cancelled job was updated");
  } catch (const StoreError& e) {
    CHECK(e.kind() == StoreError::Kind::conflict);
    CHECK(std::string(e.what()).find("only a pending (or held) job") != std::string::npos);
  }
  CHECK(store.get_job(id)->priority == -3);
}

TEST_CASE("an enqueued job survives closing and reopening the store") {
  TempDir dir;
  const std::string path = dir.file("jobq.db");
  std::int64_t id = 0;
  std::string instance;
  {
    Store store(path);
    instance = store.instance();
    store.create_app(app("web", 3));
    NewJob nj = job_for("web");
    nj.command = std::vector<std::string>{"true"};
    nj.env = {{"X", "1"}};
    id = store.enqueue(nj).id;
  }
  Store reopened(path);
  CHECK(reopened.instance() == instance);
  REQUIRE(reopened.get_app("web"));
  CHECK(reopened.get_app("web")->max_running == 3);
  const auto job = reopened.get_job(id);
  REQUIRE(job);
  CHECK(job->state == JobState::pending);
  CHECK(job->command == std::vector<std::string>{"true"});
  CHECK(job->env == jobq::EnvMap{{"X", "1"}});
  CHECK(reopened.count_jobs_by_state() == std::map<std::string, std::int64_t>{{"pending", 1}});
}

TEST_CASE("a new database carries the schema version and a hex instance id") {
  TempDir dir;
  const std::string path = dir.file("jobq.db");
  std::string instance;
  {
    Store store(path);
    instance = store.instance();
  }
  CHECK(user_version(path) == Store::kSchemaVersion);
  CHECK(instance.size() == 8);
  CHECK(instance.find_first_not_of("0123456789abcdef") == std::string::npos);
  Store other(dir.file("other.db"));
  CHECK(other.instance() != instance);
}

TEST_CASE("a database written by a newer jobq is refused") {
  TempDir dir;
  SUBCASE("an empty database at version 99") {
    const std::string path = dir.file("new.db");
    exec_sql(path, "PRAGMA user_version=99");
    try {
      Store store(path);
      FAIL("opened a newer database");
    } catch (const StoreError& e) {
      CHECK(e.kind() == StoreError::Kind::invalid);
      CHECK(std::string(e.what()).find("newer") != std::string::npos);
    }
    CHECK(user_version(path) == 99);  // left as it was
  }
  SUBCASE("a jobq database bumped one version ahead") {
    const std::string path = dir.file("jobq.db");
    {
      Store store(path);
      store.create_app(app("web"));
    }
    exec_sql(path, "PRAGMA user_version=" + std::to_string(Store::kSchemaVersion + 1));
    CHECK_THROWS_WITH_AS(Store{path}, doctest::Contains("newer"), StoreError);
  }
}

TEST_CASE("enqueues leave no statement open, so the WAL can be checkpointed") {
  jobq::test::TempDir dir;
  jobq::Store store(dir.file("jobq.db"));
  jobq::test::make_app(store, "a");
  for (int i = 0; i < 5; ++i) {
    jobq::NewJob nj;
    nj.app = "a";
    nj.key = i % 2 ? "k" : "";  // the second use of a key returns the first job
    store.enqueue(nj);
    CHECK(store.busy_statements() == 0);
    store.enqueue_groups({{nj}, {nj, nj}});
    CHECK(store.busy_statements() == 0);
  }
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(dir.file("jobq.db").c_str(), &db) == SQLITE_OK);
  int log = -1, done = -1;
  CHECK(sqlite3_wal_checkpoint_v2(db, nullptr, SQLITE_CHECKPOINT_PASSIVE, &log, &done) ==
        SQLITE_OK);
  CHECK(log == done);
  sqlite3_close(db);
}

TEST_CASE("idempotency keys are per application and user: another user's key is not yours") {
  TempDir dir;
  Store store(dir.file("jobq.db"));
  store.create_app(app("web"));
  store.create_app(app("db"));
  auto keyed = [](const std::string& a, std::int64_t uid, const std::string& key) {
    NewJob nj = job_for(a);
    nj.key = key;
    nj.submitter_uid = uid;
    nj.submitter_name = "u" + std::to_string(uid);
    return nj;
  };
  bool existed = true;
  const auto mallory = store.enqueue(keyed("web", 1001, "nightly"), &existed);
  CHECK_FALSE(existed);
  const auto alice = store.enqueue(keyed("web", 1000, "nightly"), &existed);
  CHECK_FALSE(existed);  // her own job, not mallory's
  CHECK(alice.id != mallory.id);
  CHECK(alice.submitter_uid == 1000);
  const auto again = store.enqueue(keyed("web", 1000, "nightly"), &existed);
  CHECK(existed);  // her retried enqueue finds her job
  CHECK(again.id == alice.id);
  CHECK(store.enqueue(keyed("web", 1001, "nightly"), &existed).id == mallory.id);
  CHECK(existed);
  CHECK(store.enqueue(keyed("db", 1000, "nightly"), &existed).id != alice.id);  // per application
  CHECK_FALSE(existed);
}

TEST_CASE("migration 6 from a schema-5 database: keys per user, cancels remembered") {
  TempDir dir;
  const std::string path = dir.file("jobq.db");
  std::int64_t old_id = 0;
  {
    Store store(path);
    store.create_app(app("web"));
    NewJob nj = job_for("web");
    nj.key = "k";
    nj.submitter_uid = 1001;
    nj.submitter_name = "mallory";
    old_id = store.enqueue(nj).id;
    store.request_cancel(old_id);
  }
  // Back to exactly what schema 5 had: the per-application key index and
  // none of the canceller's columns (nor what later schemas added).
  exec_sql(path,
           "DROP INDEX jobs_by_user; DROP INDEX jobs_by_created;"
           "ALTER TABLE deliveries DROP COLUMN uuid;"
           "DROP INDEX jobs_by_key;"
           "CREATE UNIQUE INDEX jobs_by_key ON jobs(app, idem_key) WHERE idem_key IS NOT NULL;"
           "ALTER TABLE jobs DROP COLUMN cancelled_by_uid;"
           "ALTER TABLE jobs DROP COLUMN cancelled_by_name;"
           "ALTER TABLE jobs DROP COLUMN cancelled_by_admin;"
           "ALTER TABLE apps DROP COLUMN pull;" +  // schema 8's
               kUndoSchema9 +
               "PRAGMA user_version=5");
  REQUIRE(user_version(path) == 5);
  Store store(path);
  CHECK(user_version(path) == Store::kSchemaVersion);
  const auto old = store.get_job(old_id);
  REQUIRE(old);
  CHECK(old->state == JobState::cancelled);
  CHECK(old->cancelled_by_uid == -1);  // not known from before
  CHECK_FALSE(old->cancelled_by_admin);
  NewJob nj = job_for("web");
  nj.key = "k";
  nj.submitter_uid = 1000;
  nj.submitter_name = "alice";
  bool existed = true;
  const auto mine = store.enqueue(nj, &existed);
  CHECK_FALSE(existed);
  CHECK(mine.id != old_id);
  store.request_cancel(mine.id, {0, "root", true});
  const auto got = store.get_job(mine.id);
  CHECK(got->cancelled_by_uid == 0);
  CHECK(got->cancelled_by_name == "root");
  CHECK(got->cancelled_by_admin);
}

TEST_CASE("migrations 7 and 8 from a schema-6 database: applications pull missing images") {
  TempDir dir;
  const std::string path = dir.file("jobq.db");
  {
    Store store(path);
    store.create_app(app("web"));
  }
  exec_sql(
      path,
      "ALTER TABLE apps DROP COLUMN pull; DROP INDEX jobs_by_user; DROP INDEX jobs_by_created; "
      "ALTER TABLE deliveries DROP COLUMN uuid; " +
          kUndoSchema9 + "PRAGMA user_version=6");
  Store store(path);
  CHECK(user_version(path) == Store::kSchemaVersion);
  CHECK(store.get_app("web")->pull == jobq::PullPolicy::missing);
  jobq::AppUpdate u;
  u.pull = jobq::PullPolicy::never;
  CHECK(store.update_app("web", u).pull == jobq::PullPolicy::never);
  CHECK(store.get_app("web")->pull == jobq::PullPolicy::never);
  CHECK(nlohmann::json(*store.get_app("web"))["pull"] == "never");
}

TEST_CASE("migration 9 from a schema-8 database: attempts become runs of the docker runtime") {
  TempDir dir;
  const std::string path = dir.file("jobq.db");
  std::int64_t ran = 0, created = 0;
  {
    Store store(path);
    store.create_app(app("web"));
    ran = store.enqueue(job_for("web")).id;
    created = store.enqueue(job_for("web")).id;
    REQUIRE(store.claim_pending(0, 2, jobq::test::naming(store)).size() == 2);
    REQUIRE(store.mark_running(ran, 1, jobq::test::run_with_id("c-ran")));
    // The other one's container was created before an older jobqd died.
    REQUIRE(store.record_run(created, 1, "c-created", "c-created"));
  }
  // As schema 8 kept them: the container's id in container_id, nothing else.
  exec_sql(path, kUndoSchema9 + "UPDATE attempts SET container_id='c-created' WHERE job_id=" +
                     std::to_string(created) + "; PRAGMA user_version=8");
  REQUIRE(user_version(path) == 8);
  Store store(path);
  CHECK(user_version(path) == Store::kSchemaVersion);
  const auto a = store.get_job(ran)->attempts.at(0);
  CHECK(a.runtime == "docker");
  CHECK(a.run_id == "c-ran");
  CHECK(a.container_id == "c-ran");
  CHECK(a.times_from == "engine");
  CHECK(a.node.empty());
  const auto j = nlohmann::json(a);
  CHECK(j["runtime"] == "docker");
  CHECK(j["run_id"] == "c-ran");
  CHECK(j["container_id"] == "c-ran");
  CHECK(j["node"].is_null());
  // The starting attempt whose container was made keeps it as its run: a
  // relaunch adopts it (or finds it lost), and it is never unclaimed.
  const auto starting = store.starting_attempts();
  REQUIRE(starting.size() == 1);
  CHECK(starting[0].job_id == created);
  CHECK(starting[0].run_id == "c-created");
  CHECK_FALSE(store.unclaim(created, 1));
}

TEST_CASE("a database made by the previous release (schema 8) opens, upgrades and goes on") {
  // data/schema8_release.sql: jobqd 0.1.0's own database, dumped: job 1
  // succeeded, job 2 running when that jobqd stopped, job 3 cancelled while
  // running, job 4 pending after job 2.
  std::ifstream in(std::string(JOBQ_TEST_DATA_DIR) + "/schema8_release.sql");
  REQUIRE(in);
  std::string dump, line;
  while (std::getline(in, line)) dump += line + '\n';
  TempDir dir;
  const std::string path = dir.file("jobq.db");
  exec_sql(path, dump);
  REQUIRE(user_version(path) == 8);
  Store store(path);
  CHECK(user_version(path) == Store::kSchemaVersion);
  CHECK(store.instance() == "7b0a3087");

  const auto done = store.get_job(1).value();
  CHECK(done.state == JobState::succeeded);
  CHECK(done.labels == jobq::LabelMap{{"team", "blue"}});
  REQUIRE(done.attempts.size() == 1);
  CHECK(done.attempts[0].runtime == "docker");
  CHECK(done.attempts[0].run_id == done.attempts[0].container_id);
  CHECK(done.attempts[0].container_id.size() == 64);
  CHECK(done.attempts[0].times_from == "engine");
  CHECK_FALSE(done.attempts[0].started_at.empty());
  const auto j = nlohmann::json(done);
  CHECK(j["attempts"][0]["container_name"] == "jobq-7b0a3087-1-1");
  CHECK(j["attempts"][0]["run_id"] == done.attempts[0].container_id);
  // Schema 10: its OOM flag was known (Docker's), its application runs on
  // the default runtime with no placement.
  CHECK(j["attempts"][0]["oom_killed"] == false);
  CHECK(j["oom_killed"] == false);
  CHECK(j["attempts"][0]["node_id"].is_null());
  for (const auto& app : store.list_apps()) {
    CHECK(app.runtime == "docker");
    CHECK(app.placement.constraints.empty());
    CHECK(app.placement.max_per_node == 0);
  }

  // The run that was left running is found by its name and id, as before.
  const auto running = store.running_attempts();
  REQUIRE(running.size() == 1);
  CHECK(running[0].job_id == 2);
  CHECK(running[0].container_name == "jobq-7b0a3087-2-1");
  CHECK(running[0].started_ns > 0);
  CHECK(running[0].runtime == "docker");
  CHECK(store.get_job(3)->state == JobState::cancelled);
  const auto after = store.get_job(4).value();
  CHECK(after.state == JobState::pending);
  CHECK(after.waiting_on == 1);

  // It goes on: the running job ends and its dependent is claimed, named by
  // the runtime, with the runtime recorded.
  jobq::AttemptResult r;
  r.job_id = 2;
  r.attempt = 1;
  r.state = JobState::succeeded;
  r.exit_code = 0;
  REQUIRE(store.finish_attempt(r));
  const auto claimed = store.claim_pending(0, 10, jobq::test::naming(store));
  REQUIRE(claimed.size() == 1);
  CHECK(claimed[0].job_id == 4);
  CHECK(claimed[0].spec.name == "jobq-7b0a3087-4-1");
  CHECK(store.get_job(4)->attempts.at(0).runtime == "docker");
}
