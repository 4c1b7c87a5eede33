// The store's schema and connection: the migrations, in order, opening
// the database and bringing it up to date. See store.hpp.
#include <iterator>
#include <random>
#include <string>

#include "store/sqlite_util.hpp"
#include "store/store.hpp"

namespace jobq {

using sql::Stmt;
using sql::Transaction;

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
    // 10: an application names its runtime and, for one that places runs on
    // nodes, its placement (constraints, jobs per node, how long a run may
    // wait for a node); an attempt records its node's id, whether its
    // runtime could tell an OOM kill at all (0: oom_killed means "unknown")
    // and, while its run waits for a node, the scheduler's words for why.
    R"sql(
ALTER TABLE apps ADD COLUMN runtime TEXT NOT NULL DEFAULT 'docker';
ALTER TABLE apps ADD COLUMN placement TEXT NOT NULL DEFAULT '{}';
ALTER TABLE attempts ADD COLUMN node_id TEXT NOT NULL DEFAULT '';
ALTER TABLE attempts ADD COLUMN oom_known INTEGER NOT NULL DEFAULT 1;
ALTER TABLE attempts ADD COLUMN waiting TEXT NOT NULL DEFAULT '';
)sql",
    // 11: an application may keep warm containers (its pool's size, -1 for
    // one sized from its launches); an attempt that ran in one records when
    // that container started, apart from its start (the hand-off).
    R"sql(
ALTER TABLE apps ADD COLUMN warm INTEGER NOT NULL DEFAULT 0;
ALTER TABLE attempts ADD COLUMN warm_started_at TEXT NOT NULL DEFAULT '';
)sql",
    // 12: schedules (model/schedule.hpp), the record of each of their slots
    // (keyed by schedule and slot: a slot is decided once) and, on a job a
    // slot made, its schedule's name and its slot (Unix seconds).
    R"sql(
CREATE TABLE schedules(
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  owner_uid INTEGER NOT NULL,
  owner_name TEXT NOT NULL,
  app TEXT NOT NULL,
  cron TEXT NOT NULL,
  tz TEXT NOT NULL,
  job TEXT NOT NULL,
  catch_up TEXT NOT NULL,
  catch_up_max INTEGER NOT NULL,
  deadline_s INTEGER NOT NULL,
  overlap TEXT NOT NULL,
  after_previous INTEGER NOT NULL,
  after_schedule TEXT NOT NULL,
  paused INTEGER NOT NULL,
  next_slot INTEGER NOT NULL,
  last_slot INTEGER NOT NULL,
  away_before INTEGER NOT NULL,
  fired INTEGER NOT NULL DEFAULT 0,
  skipped INTEGER NOT NULL DEFAULT 0,
  missed INTEGER NOT NULL DEFAULT 0,
  last_success_job INTEGER,
  last_failure_job INTEGER,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  UNIQUE(owner_uid, name)
);
CREATE TABLE schedule_slots(
  schedule_id INTEGER NOT NULL,
  slot INTEGER NOT NULL,
  manual INTEGER NOT NULL,
  last_slot INTEGER NOT NULL,
  count INTEGER NOT NULL,
  outcome TEXT NOT NULL,
  job_id INTEGER,
  reason TEXT NOT NULL,
  decided_at TEXT NOT NULL,
  decided_ns INTEGER NOT NULL,
  PRIMARY KEY(schedule_id, slot, manual)
);
CREATE INDEX schedule_slots_by_job ON schedule_slots(job_id) WHERE job_id IS NOT NULL;
ALTER TABLE jobs ADD COLUMN schedule TEXT;
ALTER TABLE jobs ADD COLUMN slot INTEGER NOT NULL DEFAULT 0;
CREATE INDEX jobs_by_schedule ON jobs(schedule, submitter_uid, id) WHERE schedule IS NOT NULL;
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

int Store::busy_statements() {
  std::lock_guard lock(mu_);
  int n = 0;
  for (sqlite3_stmt* st = sqlite3_next_stmt(db_, nullptr); st; st = sqlite3_next_stmt(db_, st))
    n += sqlite3_stmt_busy(st) ? 1 : 0;
  return n;
}

}  // namespace jobq
