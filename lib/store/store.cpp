#include "store/store.hpp"

#include <algorithm>
#include <chrono>
#include <random>

#include <nlohmann/json.hpp>

#include "base/suggest.hpp"
#include "base/time_util.hpp"
#include "base/uuid.hpp"
#include "store/sqlite_util.hpp"
#include "store/store_rows.hpp"

namespace jobq {

using nlohmann::json;
using sql::Stmt;
using sql::Transaction;
using namespace rows;

namespace {

// Migrations, in order: entry i takes the schema from version i to i + 1.
// Never edit a released entry; append a new one and bump kSchemaVersion.
const char* const kMigrations[] = {
    R"sql(
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE apps(
  name TEXT PRIMARY KEY,
  image TEXT NOT NULL,
  max_running INTEGER NOT NULL,
  env TEXT NOT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL);
CREATE TABLE jobs(
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  app TEXT NOT NULL,
  state TEXT NOT NULL,
  reason TEXT NOT NULL DEFAULT '',
  exit_code INTEGER,
  command TEXT,
  env TEXT NOT NULL,
  message TEXT,
  labels TEXT NOT NULL,
  cancel_requested INTEGER NOT NULL DEFAULT 0,
  attempts INTEGER NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  submitter_uid INTEGER NOT NULL,
  submitter_name TEXT NOT NULL);
CREATE INDEX jobs_by_state ON jobs(state, id);
CREATE INDEX jobs_by_app_state ON jobs(app, state, id);
CREATE TABLE attempts(
  job_id INTEGER NOT NULL REFERENCES jobs(id),
  number INTEGER NOT NULL,
  state TEXT NOT NULL,
  container_name TEXT NOT NULL UNIQUE,
  container_id TEXT NOT NULL DEFAULT '',
  spec TEXT NOT NULL,
  exit_code INTEGER,
  oom_killed INTEGER NOT NULL DEFAULT 0,
  error TEXT NOT NULL DEFAULT '',
  started_at TEXT NOT NULL DEFAULT '',
  finished_at TEXT NOT NULL DEFAULT '',
  created_at TEXT NOT NULL,
  PRIMARY KEY(job_id, number));
CREATE INDEX attempts_by_state ON attempts(state);
CREATE TABLE logs(
  job_id INTEGER NOT NULL,
  attempt INTEGER NOT NULL,
  stream INTEGER NOT NULL,
  data BLOB NOT NULL,
  truncated INTEGER NOT NULL,
  total_bytes INTEGER NOT NULL,
  PRIMARY KEY(job_id, attempt, stream));
)sql",
    // 2: scheduling: priorities, delays, holds, idempotency keys, paused apps.
    R"sql(
ALTER TABLE jobs ADD COLUMN priority INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN not_before_ns INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN held INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN idem_key TEXT;
ALTER TABLE jobs ADD COLUMN cancel_requested_ns INTEGER NOT NULL DEFAULT 0;
CREATE UNIQUE INDEX jobs_by_key ON jobs(app, idem_key) WHERE idem_key IS NOT NULL;
CREATE INDEX jobs_next ON jobs(app, state, priority DESC, id);
ALTER TABLE apps ADD COLUMN paused INTEGER NOT NULL DEFAULT 0;
)sql",
    // 3: timeouts, enforced from Docker's own StartedAt.
    R"sql(
ALTER TABLE apps ADD COLUMN timeout_ms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN timeout_ms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN timed_out INTEGER NOT NULL DEFAULT 0;
ALTER TABLE attempts ADD COLUMN started_ns INTEGER NOT NULL DEFAULT 0;
)sql",
    // 4: retries, dependencies, resources, webhooks (an outbox), timestamped logs.
    R"sql(
ALTER TABLE apps ADD COLUMN retry TEXT NOT NULL DEFAULT '{}';
ALTER TABLE apps ADD COLUMN resources TEXT NOT NULL DEFAULT '{}';
ALTER TABLE apps ADD COLUMN webhooks TEXT NOT NULL DEFAULT '{}';
ALTER TABLE jobs ADD COLUMN retry TEXT;
ALTER TABLE jobs ADD COLUMN resources TEXT NOT NULL DEFAULT '{}';
ALTER TABLE jobs ADD COLUMN retries_used INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN waiting_on INTEGER NOT NULL DEFAULT 0;
ALTER TABLE attempts ADD COLUMN reason TEXT NOT NULL DEFAULT '';
ALTER TABLE logs ADD COLUMN timestamped INTEGER NOT NULL DEFAULT 0;
CREATE TABLE job_deps(
  job_id INTEGER NOT NULL,
  dep_id INTEGER NOT NULL,
  any_end INTEGER NOT NULL,
  PRIMARY KEY(job_id, dep_id));
CREATE INDEX job_deps_by_dep ON job_deps(dep_id);
CREATE TABLE deliveries(
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  job_id INTEGER NOT NULL,
  event TEXT NOT NULL,
  url TEXT NOT NULL,
  body TEXT NOT NULL,
  tries INTEGER NOT NULL DEFAULT 0,
  next_ns INTEGER NOT NULL,
  state TEXT NOT NULL DEFAULT 'pending',
  last_error TEXT NOT NULL DEFAULT '',
  created_at TEXT NOT NULL);
CREATE INDEX deliveries_due ON deliveries(state, next_ns);
)sql",
    // 5: when each job ended (for retention, stats and status), by the daemon's
    // clock; whether a dependency's end was counted (once, even if it is
    // retried by hand and ends again); whether a pending job's time has come
    // (`due`), so that picking the next job reads an index of startable jobs
    // only, however many wait for a later time.
    R"sql(
ALTER TABLE jobs ADD COLUMN ended_ns INTEGER NOT NULL DEFAULT 0;
UPDATE jobs SET ended_ns = CAST(strftime('%s', updated_at) AS INTEGER) * 1000000000
  WHERE state IN ('succeeded','failed','cancelled','lost','timed_out','skipped');
CREATE INDEX jobs_ended ON jobs(ended_ns) WHERE ended_ns > 0;
ALTER TABLE job_deps ADD COLUMN counted INTEGER NOT NULL DEFAULT 0;
UPDATE job_deps SET counted = 1 WHERE dep_id IN (SELECT id FROM jobs WHERE ended_ns > 0);
ALTER TABLE jobs ADD COLUMN due INTEGER NOT NULL DEFAULT 1;
UPDATE jobs SET due = 0 WHERE state = 'pending'
  AND not_before_ns > CAST(strftime('%s', 'now') AS INTEGER) * 1000000000;
CREATE INDEX jobs_claim ON jobs(app, priority DESC, id)
  WHERE state = 'pending' AND due = 1 AND held = 0 AND waiting_on = 0;
CREATE INDEX jobs_delayed ON jobs(not_before_ns) WHERE state = 'pending' AND due = 0;
)sql",
    // 6: idempotency keys per application and user (another user's key is
    // not yours); who asked to cancel a job, and whether that was an admin
    // other than its owner (then only an admin may retry it). Jobs cancelled
    // before this version have no recorded canceller (-1).
    R"sql(
DROP INDEX jobs_by_key;
CREATE UNIQUE INDEX jobs_by_key ON jobs(app, submitter_uid, idem_key) WHERE idem_key IS NOT NULL;
ALTER TABLE jobs ADD COLUMN cancelled_by_uid INTEGER NOT NULL DEFAULT -1;
ALTER TABLE jobs ADD COLUMN cancelled_by_name TEXT NOT NULL DEFAULT '';
ALTER TABLE jobs ADD COLUMN cancelled_by_admin INTEGER NOT NULL DEFAULT 0;
)sql",
    // 7: listing by submitter and by creation time from an index; each
    // webhook call's random id (X-Jobq-Delivery), unique across daemons and
    // databases, unlike its row id (calls already queued get one here).
    R"sql(
CREATE INDEX jobs_by_user ON jobs(submitter_name, id);
CREATE INDEX jobs_by_created ON jobs(created_at);
ALTER TABLE deliveries ADD COLUMN uuid TEXT NOT NULL DEFAULT '';
UPDATE deliveries SET uuid = lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' ||
  substr(hex(randomblob(2)), 2) || '-' || substr('89ab', 1 + abs(random()) % 4, 1) ||
  substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6)));
)sql",
    // 8: when an application's image is pulled (missing, always, never).
    R"sql(
ALTER TABLE apps ADD COLUMN pull TEXT NOT NULL DEFAULT 'missing';
)sql",
    // 9: attempts are runs of a runtime (runtime/runtime.hpp): which runtime
    // ran each, the run's id there (a container's id, for every attempt made
    // before runtimes had a name), the node it ran on ('' for this machine's
    // engine) and who recorded its start and finish times.
    R"sql(
ALTER TABLE attempts ADD COLUMN runtime TEXT NOT NULL DEFAULT 'docker';
ALTER TABLE attempts ADD COLUMN run_id TEXT NOT NULL DEFAULT '';
UPDATE attempts SET run_id = container_id;
ALTER TABLE attempts ADD COLUMN node TEXT NOT NULL DEFAULT '';
ALTER TABLE attempts ADD COLUMN times_from TEXT NOT NULL DEFAULT 'engine';
)sql",
};
static_assert(std::size(kMigrations) == Store::kSchemaVersion);

std::string random_instance_id() {
  std::random_device rd;
  std::uniform_int_distribution<int> hex(0, 15);
  std::string s;
  for (int i = 0; i < 8; ++i) s += "0123456789abcdef"[hex(rd)];
  return s;
}

}  // namespace

Store::Store(const std::string& path) {
  const int flags =
      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW;
  if (sqlite3_open_v2(path.c_str(), &db_, flags, nullptr) != SQLITE_OK) {
    const std::string msg = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    db_ = nullptr;
    throw StoreError(StoreError::Kind::io, "cannot open database " + path + ": " + msg);
  }
  try {
    statements_ = std::make_unique<sql::StmtCache>(db_);
    sqlite3_busy_timeout(db_, 5000);
    sql::exec(db_, "PRAGMA journal_mode=WAL");
    sql::exec(db_, "PRAGMA synchronous=FULL");
    sql::exec(db_, "PRAGMA foreign_keys=ON");
    migrate();
  } catch (...) {
    statements_.reset();
    sqlite3_close(db_);
    db_ = nullptr;
    throw;
  }
}

Store::~Store() {
  statements_.reset();  // finalized before the connection closes
  sqlite3_close(db_);
}

void Store::migrate() {
  Transaction tx(db_);
  int version;
  {
    Stmt st(db_, "PRAGMA user_version");
    st.step();
    version = st.i32(0);
  }
  if (version > kSchemaVersion)
    throw StoreError(StoreError::Kind::invalid,
                     "the database was written by a newer jobq (schema " + std::to_string(version) +
                         ", this jobqd knows up to " + std::to_string(kSchemaVersion) +
                         "); upgrade jobq or point --state-dir elsewhere");
  for (int v = version; v < kSchemaVersion; ++v) sql::exec(db_, kMigrations[v]);
  if (version < kSchemaVersion)
    sql::exec(db_, ("PRAGMA user_version=" + std::to_string(kSchemaVersion)).c_str());
  {
    Stmt get(db_, "SELECT value FROM meta WHERE key='instance'");
    if (get.step()) {
      instance_ = get.text(0);
    } else {
      instance_ = random_instance_id();
      Stmt(db_, "INSERT INTO meta(key, value) VALUES('instance', ?)").bind(1, instance_).run();
    }
  }
  tx.commit();
}

// ---- applications ---------------------------------------------------------

App Store::create_app(const App& app) {
  std::lock_guard lock(mu_);
  App a = app;
  a.created_at = a.updated_at = now_rfc3339();
  Transaction tx(db_);
  if (app_exists_locked(a.name))
    throw StoreError(StoreError::Kind::conflict, "application '" + a.name + "' already exists");
  write_app_locked(a);
  tx.commit();
  return a;
}

void Store::write_app_locked(const App& a) {
  Stmt(
      *statements_,
      "INSERT INTO apps(name, image, max_running, env, created_at, updated_at, paused, timeout_ms, "
      "retry, resources, webhooks, pull) VALUES(?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT(name) DO "
      "UPDATE SET "
      "image=excluded.image, max_running=excluded.max_running, env=excluded.env, "
      "updated_at=excluded.updated_at, paused=excluded.paused, timeout_ms=excluded.timeout_ms, "
      "retry=excluded.retry, resources=excluded.resources, webhooks=excluded.webhooks, "
      "pull=excluded.pull")
      .bind(1, a.name)
      .bind(2, a.image)
      .bind(3, a.max_running)
      .bind(4, json(a.env).dump())
      .bind(5, a.created_at)
      .bind(6, a.updated_at)
      .bind(7, a.paused ? 1 : 0)
      .bind(8, a.timeout_ms)
      .bind(9, json(a.retry).dump())
      .bind(10, json(a.resources).dump())
      .bind(11, json(a.webhooks).dump())
      .bind(12, std::string(to_string(a.pull)))
      .run();
}

bool Store::app_exists_locked(const std::string& name) {
  Stmt exists(*statements_, "SELECT 1 FROM apps WHERE name=?");
  exists.bind(1, name);
  return exists.step();
}

std::optional<App> Store::get_app(const std::string& name) {
  std::lock_guard lock(mu_);
  Stmt st(*statements_, (std::string("SELECT ") + kAppColumns + " FROM apps WHERE name=?").c_str());
  st.bind(1, name);
  if (!st.step()) return std::nullopt;
  return read_app(st);
}

std::vector<App> Store::list_apps() {
  std::lock_guard lock(mu_);
  Stmt st(*statements_,
          (std::string("SELECT ") + kAppColumns + " FROM apps ORDER BY name").c_str());
  std::vector<App> out;
  while (st.step()) out.push_back(read_app(st));
  return out;
}

std::map<std::string, AppLoad> Store::app_loads() {
  std::lock_guard lock(mu_);
  std::map<std::string, AppLoad> out;
  {
    Stmt st(*statements_, "SELECT name, image, paused, max_running FROM apps");
    while (st.step()) out[st.text(0)] = AppLoad{st.text(1), st.i64(2) != 0, st.i32(3), 0};
  }
  Stmt st(*statements_,
          "SELECT app, COUNT(*) FROM jobs WHERE state IN ('starting','running') GROUP BY app");
  while (st.step())
    if (auto it = out.find(st.text(0)); it != out.end()) it->second.running = st.i64(1);
  return out;
}

StoreError Store::no_such_app(const std::string& name) {
  std::lock_guard lock(mu_);
  return no_such_app_locked(name);
}

StoreError Store::no_such_app_locked(const std::string& name) {
  std::vector<std::string> names;
  {
    Stmt st(*statements_, "SELECT name FROM apps");
    while (st.step()) names.push_back(st.text(0));
  }
  std::string message = "no application named '" + name + "'";
  if (const std::string best = nearest_name(name, names); !best.empty())
    message += "; did you mean '" + best + "'?";
  return StoreError(StoreError::Kind::not_found, message);
}

App Store::update_app(const std::string& name, const AppUpdate& update) {
  std::lock_guard lock(mu_);
  Transaction tx(db_);
  Stmt get(*statements_,
           (std::string("SELECT ") + kAppColumns + " FROM apps WHERE name=?").c_str());
  get.bind(1, name);
  if (!get.step()) throw no_such_app_locked(name);
  App a = read_app(get);
  if (update.image) a.image = *update.image;
  if (update.pull) a.pull = *update.pull;
  if (update.max_running) a.max_running = *update.max_running;
  if (update.paused) a.paused = *update.paused;
  if (update.timeout_ms) a.timeout_ms = *update.timeout_ms;
  if (update.retry) a.retry = apply_retry(a.retry, *update.retry);
  if (update.resources) a.resources = apply_resources(a.resources, *update.resources);
  if (update.webhooks) a.webhooks = apply_webhooks(a.webhooks, *update.webhooks);
  for (const auto& k : update.unset_env) a.env.erase(k);
  for (const auto& [k, v] : update.set_env) a.env[k] = v;
  a.updated_at = now_rfc3339();
  write_app_locked(a);
  tx.commit();
  return a;
}

std::vector<std::int64_t> Store::delete_app(const std::string& name, bool force) {
  std::lock_guard lock(mu_);
  Transaction tx(db_);
  if (!app_exists_locked(name)) throw no_such_app_locked(name);
  std::vector<std::int64_t> active;
  {
    Stmt st(*statements_,
            "SELECT id FROM jobs WHERE app=? AND state IN ('pending','starting','running') "
            "ORDER BY id");
    st.bind(1, name);
    while (st.step()) active.push_back(st.i64(0));
  }
  if (!active.empty() && !force)
    throw StoreError(StoreError::Kind::conflict,
                     "application '" + name + "' has " + std::to_string(active.size()) +
                         " unfinished job(s); cancel them first or delete with --force");
  const std::string now = now_rfc3339();
  std::vector<std::int64_t> pending;
  {
    Stmt st(*statements_, "SELECT id FROM jobs WHERE app=? AND state='pending' ORDER BY id");
    st.bind(1, name);
    while (st.step()) pending.push_back(st.i64(0));
  }
  Stmt cancel(*statements_,
              "UPDATE jobs SET state='cancelled', reason='application deleted', updated_at=? "
              "WHERE id=? AND state='pending'");
  for (auto id : pending) {
    cancel.reset();
    cancel.bind(1, now).bind(2, id).run();
    if (sqlite3_changes(db_) > 0) job_ended_locked(id);
  }
  Stmt(*statements_,
       "UPDATE jobs SET cancel_requested=1, reason='application deleted', updated_at=? "
       "WHERE app=? AND state IN ('starting','running')")
      .bind(1, now)
      .bind(2, name)
      .run();
  Stmt(*statements_, "DELETE FROM apps WHERE name=?").bind(1, name).run();
  tx.commit();
  return active;
}

// ---- jobs -----------------------------------------------------------------

Job Store::enqueue(const NewJob& nj, bool* existed) {
  std::lock_guard lock(mu_);
  Transaction tx(db_);
  Job j = enqueue_locked(nj, existed, true);
  tx.commit();
  return j;
}

std::vector<EnqueueOutcome> Store::enqueue_groups(const std::vector<std::vector<NewJob>>& groups) {
  std::lock_guard lock(mu_);
  std::vector<EnqueueOutcome> out(groups.size());
  Transaction tx(db_);
  for (std::size_t g = 0; g < groups.size(); ++g) {
    // Each group stands or falls alone: a savepoint undoes just its part.
    sql::exec(db_, "SAVEPOINT grp");
    try {
      for (const auto& nj : groups[g]) {
        bool existed = false;
        // A lone job is answered in full; a batch with ids only.
        Job j = enqueue_locked(nj, &existed, groups[g].size() == 1);
        out[g].jobs.emplace_back(std::move(j), existed);
      }
      sql::exec(db_, "RELEASE grp");
    } catch (const StoreError& e) {
      sql::exec(db_, "ROLLBACK TO grp");
      sql::exec(db_, "RELEASE grp");
      out[g].jobs.clear();
      out[g].error = e;
    }
  }
  tx.commit();  // one fsync for all of them
  return out;
}

int Store::busy_statements() {
  std::lock_guard lock(mu_);
  int n = 0;
  for (sqlite3_stmt* st = sqlite3_next_stmt(db_, nullptr); st; st = sqlite3_next_stmt(db_, st))
    n += sqlite3_stmt_busy(st) ? 1 : 0;
  return n;
}

Job Store::enqueue_locked(const NewJob& nj, bool* existed, bool load) {
  // A SELECT left on a row would keep its read snapshot open, and the WAL
  // could never be checkpointed: each is reset as soon as it is read.
  Stmt app(*statements_, "SELECT 1 FROM apps WHERE name=?");
  app.bind(1, nj.app);
  const bool app_exists = app.step();
  app.reset();
  if (!app_exists) throw no_such_app_locked(nj.app);
  if (existed) *existed = false;
  if (!nj.key.empty()) {
    Stmt same(*statements_, "SELECT id FROM jobs WHERE app=? AND submitter_uid=? AND idem_key=?");
    same.bind(1, nj.app).bind(2, nj.submitter_uid).bind(3, nj.key);
    const std::optional<std::int64_t> first =
        same.step() ? std::optional(same.i64(0)) : std::nullopt;
    same.reset();
    if (first) {
      if (existed) *existed = true;
      return load_job_locked(*first);
    }
  }
  const std::string now = now_rfc3339();
  Stmt ins(
      *statements_,
      "INSERT INTO jobs(app, state, command, env, message, labels, created_at, updated_at, "
      "submitter_uid, submitter_name, priority, not_before_ns, held, idem_key, timeout_ms, retry, "
      "resources, due) VALUES(?, 'pending', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  ins.bind(1, nj.app);
  if (nj.command)
    ins.bind(2, json(*nj.command).dump());
  else
    ins.bind_null(2);
  ins.bind(3, json(nj.env).dump())
      .bind(4, nj.message)
      .bind(5, json(nj.labels).dump())
      .bind(6, now)
      .bind(7, now)
      .bind(8, nj.submitter_uid)
      .bind(9, nj.submitter_name)
      .bind(10, nj.priority)
      .bind(11, nj.not_before_ns)
      .bind(12, nj.held ? 1 : 0);
  if (nj.key.empty())
    ins.bind_null(13);
  else
    ins.bind(13, nj.key);
  ins.bind(14, nj.timeout_ms);
  if (nj.retry.is_null())
    ins.bind_null(15);
  else
    ins.bind(15, nj.retry.dump());
  ins.bind(16, json(nj.resources).dump());
  ins.bind(17, nj.not_before_ns <= now_unix_ns() ? 1 : 0);
  ins.run();
  ins.reset();
  const std::int64_t id = sqlite3_last_insert_rowid(db_);
  if (nj.after.empty() && nj.after_any.empty()) {
    if (load) return load_job_locked(id);
    Job j;
    j.id = id;
    return j;
  }

  // Dependencies: each must exist. One that already ended counts at once.
  int waiting = 0;
  std::string skip_reason;
  Stmt dep(*statements_, "SELECT state, reason FROM jobs WHERE id=?");
  Stmt link(*statements_,
            "INSERT OR IGNORE INTO job_deps(job_id, dep_id, any_end, counted) VALUES(?,?,?,?)");
  // A dependency must exist before its dependent, so the only cycle there can
  // be is a job naming its own (future) id.
  auto add = [&](std::int64_t dep_id, bool any_end) {
    if (dep_id == id)
      throw StoreError(StoreError::Kind::invalid,
                       "dependency " + std::to_string(dep_id) + " would be this very job: a cycle");
    dep.reset();
    dep.bind(1, dep_id);
    if (!dep.step())
      throw StoreError(
          StoreError::Kind::not_found,
          "dependency " + std::to_string(dep_id) + ": no job with id " + std::to_string(dep_id));
    const JobState state = state_of(dep.text(0));
    link.reset();
    link.bind(1, id)
        .bind(2, dep_id)
        .bind(3, any_end ? 1 : 0)
        .bind(4, is_final(state) ? 1 : 0)
        .run();
    if (sqlite3_changes(db_) == 0) return;  // named twice (after wins over after_any)
    if (!is_final(state))
      ++waiting;
    else if (!any_end && state != JobState::succeeded && skip_reason.empty())
      skip_reason = dependency_reason(dep_id, state, dep.text(1));
  };
  for (auto d : nj.after) add(d, false);
  for (auto d : nj.after_any) add(d, true);
  if (!skip_reason.empty()) {
    Stmt(*statements_, "UPDATE jobs SET state='skipped', reason=? WHERE id=?")
        .bind(1, skip_reason)
        .bind(2, id)
        .run();
    job_ended_locked(id);
  } else if (waiting > 0) {
    Stmt(*statements_, "UPDATE jobs SET waiting_on=? WHERE id=?")
        .bind(1, waiting)
        .bind(2, id)
        .run();
  }
  return load_job_locked(id);
}

Job Store::retry_job(std::int64_t job_id, const std::string& by) {
  std::lock_guard lock(mu_);
  Transaction tx(db_);
  Job job = load_job_locked(job_id);
  if (!is_final(job.state))
    throw StoreError(StoreError::Kind::conflict, "job " + std::to_string(job_id) + " is " +
                                                     std::string(to_string(job.state)) +
                                                     "; only a finished job can be retried");
  if (!app_exists_locked(job.app))
    throw StoreError(
        StoreError::Kind::conflict,
        "job " + std::to_string(job_id) + ": its application '" + job.app + "' no longer exists");
  // Its dependencies count afresh: those not ended are waited for again; one
  // it needed that did not succeed must be retried first.
  int waiting = 0;
  {
    Stmt deps(*statements_,
              "SELECT d.dep_id, d.any_end, j.state, j.reason FROM job_deps d JOIN jobs j "
              "ON j.id=d.dep_id WHERE d.job_id=?");
    deps.bind(1, job_id);
    Stmt counted(*statements_, "UPDATE job_deps SET counted=? WHERE job_id=? AND dep_id=?");
    while (deps.step()) {
      const JobState state = state_of(deps.text(2));
      if (deps.i64(1) == 0 && is_final(state) && state != JobState::succeeded)
        throw StoreError(StoreError::Kind::conflict,
                         "job " + std::to_string(job_id) +
                             " cannot run: " + dependency_reason(deps.i64(0), state, deps.text(3)) +
                             "; retry that job first");
      if (!is_final(state)) ++waiting;
      counted.reset();
      counted.bind(1, is_final(state) ? 1 : 0).bind(2, job_id).bind(3, deps.i64(0)).run();
    }
  }
  Stmt(*statements_,
       "UPDATE jobs SET state='pending', reason=?, exit_code=NULL, retries_used=0, "
       "not_before_ns=0, due=1, "
       "held=0, cancel_requested=0, cancel_requested_ns=0, cancelled_by_uid=-1, "
       "cancelled_by_name='', cancelled_by_admin=0, timed_out=0, waiting_on=?, ended_ns=0, "
       "updated_at=? WHERE id=?")
      .bind(1, "retried by hand by " + by + " (after " + std::string(to_string(job.state)) + ")")
      .bind(2, waiting)
      .bind(3, now_rfc3339())
      .bind(4, job_id)
      .run();
  job = load_job_locked(job_id);
  tx.commit();
  return job;
}

void Store::job_ended_locked(std::int64_t first) {
  std::vector<std::int64_t> ended{first};
  Stmt get(*statements_, "SELECT state, reason FROM jobs WHERE id=?");
  // Each edge counts once: a dependency retried by hand that ends again
  // changes nothing for dependents that already heard of its first end.
  Stmt dependents(
      *statements_,
      "SELECT d.job_id, d.any_end, j.state FROM job_deps d JOIN jobs j ON j.id=d.job_id "
      "WHERE d.dep_id=? AND d.counted=0 ORDER BY d.job_id");
  Stmt mark(*statements_, "UPDATE job_deps SET counted=1 WHERE job_id=? AND dep_id=?");
  Stmt skip(*statements_,
            "UPDATE jobs SET state='skipped', reason=?, waiting_on=0, updated_at=? "
            "WHERE id=? AND state='pending'");
  Stmt count(*statements_, "UPDATE jobs SET waiting_on=waiting_on-1 WHERE id=? AND waiting_on>0");
  Stmt stamp(*statements_, "UPDATE jobs SET ended_ns=? WHERE id=?");
  const std::string now = now_rfc3339();
  const std::int64_t now_ns = now_unix_ns();
  while (!ended.empty()) {
    const std::int64_t id = ended.back();
    ended.pop_back();
    stamp.reset();
    stamp.bind(1, now_ns).bind(2, id).run();
    get.reset();
    get.bind(1, id);
    if (!get.step()) continue;
    const JobState state = state_of(get.text(0));
    const std::string reason = get.text(1);
    if (state == JobState::succeeded) {
      queue_webhooks_locked(id, "success");
    } else if (state != JobState::cancelled) {
      if (state != JobState::skipped) queue_webhooks_locked(id, "failure");
      queue_webhooks_locked(id, "final-failure");
    }
    std::vector<std::pair<std::int64_t, bool>> next;
    dependents.reset();
    dependents.bind(1, id);
    while (dependents.step())
      if (dependents.text(2) == "pending")
        next.emplace_back(dependents.i64(0), dependents.i64(1) != 0);
    for (const auto& [dep, any_end] : next) {
      mark.reset();
      mark.bind(1, dep).bind(2, id).run();
      if (!any_end && state != JobState::succeeded) {
        skip.reset();
        skip.bind(1, dependency_reason(id, state, reason)).bind(2, now).bind(3, dep).run();
        if (sqlite3_changes(db_) > 0) ended.push_back(dep);
      } else {
        count.reset();
        count.bind(1, dep).run();
      }
    }
  }
}

void Store::queue_webhooks_locked(std::int64_t job_id, const std::string& event) {
  Stmt app(*statements_, "SELECT a.webhooks FROM apps a JOIN jobs j ON j.app=a.name WHERE j.id=?");
  app.bind(1, job_id);
  if (!app.step()) return;
  const Webhooks hooks = apply_webhooks({}, json::parse(app.text(0)));
  if (hooks.urls.empty() || std::find(hooks.on.begin(), hooks.on.end(), event) == hooks.on.end())
    return;
  const Job job = load_job_locked(job_id);
  // The attempt the event is about: for a failure that will be retried the
  // job is pending again, and its exit code is the attempt's.
  const std::string body =
      json{{"event", event},
           {"job", job},
           {"attempt", job.attempts.empty() ? json(nullptr) : json(job.attempts.back())}}
          .dump();
  Stmt ins(*statements_,
           "INSERT INTO deliveries(job_id, event, url, body, next_ns, created_at, uuid) "
           "VALUES(?,?,?,?,?,?,?)");
  for (const auto& url : hooks.urls) {
    ins.reset();
    ins.bind(1, job_id).bind(2, event).bind(3, url).bind(4, body).bind(5, now_unix_ns());
    ins.bind(6, now_rfc3339()).bind(7, random_uuid()).run();
  }
}

std::vector<Delivery> Store::due_deliveries(std::int64_t now, int limit) {
  std::lock_guard lock(mu_);
  Stmt st(*statements_,
          "SELECT id, uuid, job_id, event, url, body, tries FROM deliveries WHERE state='pending' "
          "AND next_ns<=? ORDER BY next_ns, id LIMIT ?");
  st.bind(1, now).bind(2, limit);
  std::vector<Delivery> out;
  while (st.step())
    out.push_back(
        {st.i64(0), st.text(1), st.i64(2), st.text(3), st.text(4), st.text(5), st.i32(6)});
  return out;
}

std::optional<std::int64_t> Store::next_delivery_ns() {
  std::lock_guard lock(mu_);
  Stmt st(*statements_, "SELECT MIN(next_ns) FROM deliveries WHERE state='pending'");
  if (!st.step() || st.is_null(0)) return std::nullopt;
  return st.i64(0);
}

void Store::delivery_succeeded(std::int64_t id) {
  std::lock_guard lock(mu_);
  Stmt(*statements_, "DELETE FROM deliveries WHERE id=?").bind(1, id).run();
}

void Store::lease_delivery(std::int64_t id, std::int64_t until_ns) {
  std::lock_guard lock(mu_);
  Stmt(*statements_, "UPDATE deliveries SET next_ns=? WHERE id=? AND state='pending'")
      .bind(1, until_ns)
      .bind(2, id)
      .run();
}

void Store::delivery_failed(std::int64_t id, const std::string& error,
                            std::optional<std::int64_t> retry_at_ns) {
  std::lock_guard lock(mu_);
  Stmt(*statements_,
       "UPDATE deliveries SET tries=tries+1, last_error=?, state=?, next_ns=? WHERE id=?")
      .bind(1, error)
      .bind(2, retry_at_ns ? "pending" : "failed")
      .bind(3, retry_at_ns.value_or(0))
      .bind(4, id)
      .run();
}

Job Store::update_pending(std::int64_t job_id, std::optional<int> priority,
                          std::optional<bool> held) {
  std::lock_guard lock(mu_);
  Transaction tx(db_);
  Job job = load_job_locked(job_id);
  if (job.state != JobState::pending) {
    const std::string only = priority || !held ? "a pending (or held) job can be updated"
                             : *held           ? "a pending job can be held"
                                               : "a pending job can be released";
    throw StoreError(StoreError::Kind::conflict, "job " + std::to_string(job_id) + " is " +
                                                     std::string(to_string(job.state)) + "; only " +
                                                     only);
  }
  Stmt(*statements_, "UPDATE jobs SET priority=?1, held=?2, updated_at=?3 WHERE id=?4")
      .bind(1, priority.value_or(job.priority))
      .bind(2, held.value_or(job.held) ? 1 : 0)
      .bind(3, now_rfc3339())
      .bind(4, job_id)
      .run();
  job = load_job_locked(job_id);
  tx.commit();
  return job;
}

std::vector<Attempt> Store::load_attempts_locked(std::int64_t job_id) {
  Stmt st(*statements_,
          "SELECT number, state, container_name, container_id, exit_code, oom_killed, error, "
          "started_at, finished_at, created_at, reason, runtime, run_id, node, times_from "
          "FROM attempts WHERE job_id=? ORDER BY number");
  st.bind(1, job_id);
  std::vector<Attempt> out;
  while (st.step()) {
    Attempt a;
    a.job_id = job_id;
    a.number = st.i32(0);
    a.state = state_of(st.text(1));
    a.container_name = st.text(2);
    a.container_id = st.text(3);
    if (auto code = st.opt_i64(4)) a.exit_code = static_cast<int>(*code);
    a.oom_killed = st.i64(5) != 0;
    a.error = st.text(6);
    a.started_at = st.text(7);
    a.finished_at = st.text(8);
    a.created_at = st.text(9);
    a.reason = st.text(10);
    a.runtime = st.text(11);
    a.run_id = st.text(12);
    a.node = st.text(13);
    a.times_from = st.text(14);
    out.push_back(std::move(a));
  }
  return out;
}

Job Store::load_job_locked(std::int64_t id) {
  Stmt st(*statements_, (std::string("SELECT ") + kJobColumns + " FROM jobs WHERE id=?").c_str());
  st.bind(1, id);
  if (!st.step())
    throw StoreError(StoreError::Kind::not_found, "no job with id " + std::to_string(id));
  Job j = read_job(st);
  j.attempts = load_attempts_locked(id);
  load_deps_locked(j);
  return j;
}

void Store::load_deps_locked(Job& job) {
  Stmt st(*statements_,
          "SELECT dep_id, any_end, counted FROM job_deps WHERE job_id=? ORDER BY dep_id");
  st.bind(1, job.id);
  while (st.step()) {
    (st.i64(1) ? job.after_any : job.after).push_back(st.i64(0));
    if (st.i64(2) == 0) job.waiting_for.push_back(st.i64(0));  // its end not counted yet
  }
}

std::optional<Job> Store::get_job(std::int64_t id) {
  std::lock_guard lock(mu_);
  try {
    return load_job_locked(id);
  } catch (const StoreError& e) {
    if (e.kind() == StoreError::Kind::not_found) return std::nullopt;
    throw;
  }
}

bool Store::job_exists(std::int64_t id) {
  std::lock_guard lock(mu_);
  Stmt st(*statements_, "SELECT 1 FROM jobs WHERE id=?1");
  st.bind(1, id);
  return st.step();
}

std::vector<Job> Store::list_jobs(const JobFilter& f) {
  std::lock_guard lock(mu_);
  // Jobs are created in id order, so "created since" is also "id at least
  // the first one created since" (read from jobs_by_created): the page is
  // then a range of the index it is read from, whatever that index is.
  std::optional<std::string> since;
  std::int64_t min_id = 0;
  if (f.since_ns) {
    since = format_unix_ns(*f.since_ns);
    Stmt first(*statements_, "SELECT MIN(id) FROM jobs WHERE created_at>=?1");
    first.bind(1, *since);
    if (!first.step() || first.is_null(0)) return {};
    min_id = first.i64(0);
  }
  std::string q = std::string("SELECT ") + kJobColumns + " FROM jobs WHERE 1=1";
  if (f.app) q += " AND app=?1";
  if (f.state || !f.states.empty()) q += " AND state=?2";
  if (f.before_id) q += " AND id<?4";
  if (f.user) q += " AND submitter_name=?5";
  if (since) q += " AND id>=?6 AND created_at>=?7";
  int param = 8;
  for (const auto& [key, value] : f.labels) {
    q += " AND EXISTS(SELECT 1 FROM json_each(labels) WHERE key=?" + std::to_string(param++);
    if (value) q += " AND value=?" + std::to_string(param++);
    q += ")";
  }
  q += " ORDER BY id DESC LIMIT ?3";
  // Several states: one indexed read per state (jobs_by_state), each newest
  // first, merged; a single IN (...) would sort every match.
  std::vector<std::optional<JobState>> states(f.states.begin(), f.states.end());
  if (f.state) states.push_back(*f.state);
  std::sort(states.begin(), states.end());
  states.erase(std::unique(states.begin(), states.end()), states.end());
  if (states.empty()) states.push_back(std::nullopt);
  std::vector<Job> out;
  for (const auto& state : states) {
    Stmt st(*statements_, q.c_str());
    if (f.app) st.bind(1, *f.app);
    if (state) st.bind(2, to_string(*state));
    st.bind(3, f.limit > 0 ? f.limit : -1);
    if (f.before_id) st.bind(4, *f.before_id);
    if (f.user) st.bind(5, *f.user);
    if (since) st.bind(6, min_id).bind(7, *since);
    param = 8;
    for (const auto& [key, value] : f.labels) {
      st.bind(param++, key);
      if (value) st.bind(param++, *value);
    }
    while (st.step()) out.push_back(read_job(st));
  }
  std::sort(out.begin(), out.end(), [](const Job& a, const Job& b) { return a.id < b.id; });
  if (f.limit > 0 && out.size() > static_cast<std::size_t>(f.limit))
    out.erase(out.begin(), out.end() - f.limit);
  for (auto& j : out) {
    j.attempts = load_attempts_locked(j.id);
    load_deps_locked(j);
  }
  return out;
}

std::map<std::string, std::int64_t> Store::count_jobs_by_state() {
  std::lock_guard lock(mu_);
  Stmt st(*statements_, "SELECT state, COUNT(*) FROM jobs GROUP BY state");
  std::map<std::string, std::int64_t> out;
  while (st.step()) out[st.text(0)] = st.i64(1);
  return out;
}

std::map<std::pair<std::string, std::string>, std::int64_t> Store::count_jobs_by_app_state() {
  std::lock_guard lock(mu_);
  Stmt st(*statements_, "SELECT app, state, COUNT(*) FROM jobs GROUP BY app, state");
  std::map<std::pair<std::string, std::string>, std::int64_t> out;
  while (st.step()) out[{st.text(0), st.text(1)}] = st.i64(2);
  return out;
}

Job Store::request_cancel(std::int64_t job_id, const CancelledBy& by) {
  std::lock_guard lock(mu_);
  Transaction tx(db_);
  Job job = load_job_locked(job_id);
  if (is_final(job.state))
    throw StoreError(StoreError::Kind::conflict, "job " + std::to_string(job_id) +
                                                     " already ended (" +
                                                     std::string(to_string(job.state)) + ")");
  const std::string now = now_rfc3339();
  if (job.state == JobState::pending) {
    Stmt(*statements_,
         "UPDATE jobs SET state='cancelled', reason='cancel requested before it started', "
         "updated_at=?1, cancelled_by_uid=?3, cancelled_by_name=?4, cancelled_by_admin=?5 "
         "WHERE id=?2")
        .bind(1, now)
        .bind(2, job_id)
        .bind(3, by.uid)
        .bind(4, by.name)
        .bind(5, by.admin ? 1 : 0)
        .run();
    job_ended_locked(job_id);
  } else {
    // Asked twice while it stops: the first asker is kept, unless the
    // second is an admin other than the owner (the owner cannot launder an
    // admin's cancel by asking too).
    Stmt(*statements_,
         "UPDATE jobs SET cancel_requested=1, updated_at=?1, cancel_requested_ns=CASE WHEN "
         "cancel_requested_ns=0 THEN ?2 ELSE cancel_requested_ns END, "
         "cancelled_by_uid=CASE WHEN cancelled_by_uid=-1 OR ?6=1 THEN ?4 "
         "ELSE cancelled_by_uid END, "
         "cancelled_by_name=CASE WHEN cancelled_by_uid=-1 OR ?6=1 THEN ?5 "
         "ELSE cancelled_by_name END, "
         "cancelled_by_admin=MAX(cancelled_by_admin, ?6) WHERE id=?3")
        .bind(1, now)
        .bind(2, now_unix_ns())
        .bind(3, job_id)
        .bind(4, by.uid)
        .bind(5, by.name)
        .bind(6, by.admin ? 1 : 0)
        .run();
  }
  job = load_job_locked(job_id);
  tx.commit();
  return job;
}

}  // namespace jobq
