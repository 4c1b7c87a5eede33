#include "store.hpp"

#include <algorithm>
#include <random>

#include <nlohmann/json.hpp>

#include "sqlite_util.hpp"
#include "time_util.hpp"

namespace jobq {

using nlohmann::json;
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
};
static_assert(std::size(kMigrations) == Store::kSchemaVersion);

std::string random_instance_id() {
  std::random_device rd;
  std::uniform_int_distribution<int> hex(0, 15);
  std::string s;
  for (int i = 0; i < 8; ++i) s += "0123456789abcdef"[hex(rd)];
  return s;
}

JobState state_of(const std::string& s) {
  auto st = parse_job_state(s);
  if (!st) throw StoreError(StoreError::Kind::io, "database holds an unknown job state: " + s);
  return *st;
}

json spec_to_json(const ContainerSpec& s) {
  json j{{"name", s.name}, {"image", s.image}, {"env", s.env}, {"labels", s.labels}};
  j["cmd"] = s.cmd ? json(*s.cmd) : json(nullptr);
  return j;
}

ContainerSpec spec_from_json(const std::string& text) {
  const json j = json::parse(text);
  ContainerSpec s;
  s.name = j.at("name").get<std::string>();
  s.image = j.at("image").get<std::string>();
  s.env = j.at("env").get<std::vector<std::string>>();
  s.labels = j.at("labels").get<LabelMap>();
  if (!j.at("cmd").is_null()) s.cmd = j.at("cmd").get<std::vector<std::string>>();
  return s;
}

App read_app(const Stmt& st) {
  App a;
  a.name = st.text(0);
  a.image = st.text(1);
  a.max_running = st.i32(2);
  a.env = json::parse(st.text(3)).get<EnvMap>();
  a.created_at = st.text(4);
  a.updated_at = st.text(5);
  return a;
}

constexpr const char* kJobColumns =
    "id, app, state, reason, exit_code, command, env, message, labels, cancel_requested, "
    "created_at, updated_at, submitter_uid, submitter_name";

Job read_job(const Stmt& st) {
  Job j;
  j.id = st.i64(0);
  j.app = st.text(1);
  j.state = state_of(st.text(2));
  j.reason = st.text(3);
  if (auto code = st.opt_i64(4)) j.exit_code = static_cast<int>(*code);
  if (!st.is_null(5)) j.command = json::parse(st.text(5)).get<std::vector<std::string>>();
  j.env = json::parse(st.text(6)).get<EnvMap>();
  if (!st.is_null(7)) j.message = st.text(7);
  j.labels = json::parse(st.text(8)).get<LabelMap>();
  j.cancel_requested = st.i64(9) != 0;
  j.created_at = st.text(10);
  j.updated_at = st.text(11);
  j.submitter_uid = st.i64(12);
  j.submitter_name = st.text(13);
  return j;
}

}  // namespace

Store::Store(const std::string& path) {
  const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  if (sqlite3_open_v2(path.c_str(), &db_, flags, nullptr) != SQLITE_OK) {
    const std::string msg = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    db_ = nullptr;
    throw StoreError(StoreError::Kind::io, "cannot open database " + path + ": " + msg);
  }
  try {
    sqlite3_busy_timeout(db_, 5000);
    sql::exec(db_, "PRAGMA journal_mode=WAL");
    sql::exec(db_, "PRAGMA synchronous=FULL");
    sql::exec(db_, "PRAGMA foreign_keys=ON");
    migrate();
  } catch (...) {
    sqlite3_close(db_);
    db_ = nullptr;
    throw;
  }
}

Store::~Store() { sqlite3_close(db_); }

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
  Stmt(db_,
       "INSERT INTO apps(name, image, max_running, env, created_at, updated_at) "
       "VALUES(?,?,?,?,?,?) ON CONFLICT(name) DO UPDATE SET image=excluded.image, "
       "max_running=excluded.max_running, env=excluded.env, updated_at=excluded.updated_at")
      .bind(1, a.name)
      .bind(2, a.image)
      .bind(3, a.max_running)
      .bind(4, json(a.env).dump())
      .bind(5, a.created_at)
      .bind(6, a.updated_at)
      .run();
}

bool Store::app_exists_locked(const std::string& name) {
  Stmt exists(db_, "SELECT 1 FROM apps WHERE name=?");
  exists.bind(1, name);
  return exists.step();
}

std::optional<App> Store::get_app(const std::string& name) {
  std::lock_guard lock(mu_);
  Stmt st(db_,
          "SELECT name, image, max_running, env, created_at, updated_at FROM apps WHERE name=?");
  st.bind(1, name);
  if (!st.step()) return std::nullopt;
  return read_app(st);
}

std::vector<App> Store::list_apps() {
  std::lock_guard lock(mu_);
  Stmt st(db_,
          "SELECT name, image, max_running, env, created_at, updated_at FROM apps ORDER BY name");
  std::vector<App> out;
  while (st.step()) out.push_back(read_app(st));
  return out;
}

App Store::update_app(const std::string& name, const AppUpdate& update) {
  std::lock_guard lock(mu_);
  Transaction tx(db_);
  Stmt get(db_,
           "SELECT name, image, max_running, env, created_at, updated_at FROM apps WHERE name=?");
  get.bind(1, name);
  if (!get.step()) throw StoreError(StoreError::Kind::not_found, "no application named '" + name + "'");
  App a = read_app(get);
  if (update.image) a.image = *update.image;
  if (update.max_running) a.max_running = *update.max_running;
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
  if (!app_exists_locked(name))
    throw StoreError(StoreError::Kind::not_found, "no application named '" + name + "'");
  std::vector<std::int64_t> active;
  {
    Stmt st(db_,
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
  Stmt(db_,
       "UPDATE jobs SET state='cancelled', reason='application deleted', updated_at=? "
       "WHERE app=? AND state='pending'")
      .bind(1, now)
      .bind(2, name)
      .run();
  Stmt(db_,
       "UPDATE jobs SET cancel_requested=1, reason='application deleted', updated_at=? "
       "WHERE app=? AND state IN ('starting','running')")
      .bind(1, now)
      .bind(2, name)
      .run();
  Stmt(db_, "DELETE FROM apps WHERE name=?").bind(1, name).run();
  tx.commit();
  return active;
}

// ---- jobs -----------------------------------------------------------------

Job Store::enqueue(const NewJob& nj) {
  std::lock_guard lock(mu_);
  Transaction tx(db_);
  if (!app_exists_locked(nj.app))
    throw StoreError(StoreError::Kind::not_found, "no application named '" + nj.app + "'");
  const std::string now = now_rfc3339();
  Stmt ins(db_,
           "INSERT INTO jobs(app, state, command, env, message, labels, created_at, updated_at, "
           "submitter_uid, submitter_name) VALUES(?, 'pending', ?, ?, ?, ?, ?, ?, ?, ?)");
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
      .run();
  const std::int64_t id = sqlite3_last_insert_rowid(db_);
  tx.commit();
  Job j;
  j.id = id;
  j.app = nj.app;
  j.command = nj.command;
  j.env = nj.env;
  j.message = nj.message;
  j.labels = nj.labels;
  j.created_at = j.updated_at = now;
  j.submitter_uid = nj.submitter_uid;
  j.submitter_name = nj.submitter_name;
  return j;
}

std::vector<Attempt> Store::load_attempts_locked(std::int64_t job_id) {
  Stmt st(db_,
          "SELECT number, state, container_name, container_id, exit_code, oom_killed, error, "
          "started_at, finished_at, created_at FROM attempts WHERE job_id=? ORDER BY number");
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
    out.push_back(std::move(a));
  }
  return out;
}

Job Store::load_job_locked(std::int64_t id) {
  Stmt st(db_, (std::string("SELECT ") + kJobColumns + " FROM jobs WHERE id=?").c_str());
  st.bind(1, id);
  if (!st.step()) throw StoreError(StoreError::Kind::not_found, "no job with id " + std::to_string(id));
  Job j = read_job(st);
  j.attempts = load_attempts_locked(id);
  return j;
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

std::vector<Job> Store::list_jobs(const JobFilter& f) {
  std::lock_guard lock(mu_);
  std::string q = std::string("SELECT ") + kJobColumns + " FROM jobs WHERE 1=1";
  if (f.app) q += " AND app=?1";
  if (f.state) q += " AND state=?2";
  q += " ORDER BY id DESC LIMIT ?3";
  Stmt st(db_, q.c_str());
  if (f.app) st.bind(1, *f.app);
  if (f.state) st.bind(2, to_string(*f.state));
  st.bind(3, f.limit > 0 ? f.limit : -1);
  std::vector<Job> out;
  while (st.step()) out.push_back(read_job(st));
  for (auto& j : out) j.attempts = load_attempts_locked(j.id);
  std::reverse(out.begin(), out.end());
  return out;
}

std::map<std::string, std::int64_t> Store::count_jobs_by_state() {
  std::lock_guard lock(mu_);
  Stmt st(db_, "SELECT state, COUNT(*) FROM jobs GROUP BY state");
  std::map<std::string, std::int64_t> out;
  while (st.step()) out[st.text(0)] = st.i64(1);
  return out;
}

// ---- the runner's side ------------------------------------------------------

std::vector<LaunchTicket> Store::claim_pending(int global_max, int max_claims) {
  std::lock_guard lock(mu_);
  if (max_claims <= 0) return {};
  Transaction tx(db_);
  std::map<std::string, int> busy;
  int busy_total = 0;
  {
    Stmt st(db_,
            "SELECT app, COUNT(*) FROM jobs WHERE state IN ('starting','running') GROUP BY app");
    while (st.step()) {
      busy[st.text(0)] = st.i32(1);
      busy_total += st.i32(1);
    }
  }
  int budget = max_claims;
  if (global_max > 0) budget = std::min(budget, global_max - busy_total);
  if (budget <= 0) return {};

  std::map<std::string, App> apps;
  {
    Stmt st(db_, "SELECT name, image, max_running, env, created_at, updated_at FROM apps");
    while (st.step()) {
      App a = read_app(st);
      apps.emplace(a.name, std::move(a));
    }
  }
  // The oldest pending jobs of each app that has room, merged by id (FIFO).
  std::vector<Job> candidates;
  Stmt pending(db_, (std::string("SELECT ") + kJobColumns +
                     " FROM jobs WHERE app=? AND state='pending' ORDER BY id LIMIT ?")
                        .c_str());
  for (const auto& [name, app] : apps) {
    int room = budget;
    if (app.max_running > 0) room = std::min(room, app.max_running - busy[name]);
    if (room <= 0) continue;
    pending.reset();
    pending.bind(1, name).bind(2, room);
    while (pending.step()) candidates.push_back(read_job(pending));
  }
  std::sort(candidates.begin(), candidates.end(),
            [](const Job& a, const Job& b) { return a.id < b.id; });
  if (candidates.size() > static_cast<std::size_t>(budget))
    candidates.resize(static_cast<std::size_t>(budget));

  std::vector<LaunchTicket> out;
  const std::string now = now_rfc3339();
  Stmt attempts_of(db_, "SELECT attempts FROM jobs WHERE id=?");
  Stmt ins(db_,
           "INSERT INTO attempts(job_id, number, state, container_name, spec, created_at) "
           "VALUES(?, ?, 'starting', ?, ?, ?)");
  Stmt upd(db_, "UPDATE jobs SET state='starting', attempts=?, updated_at=? WHERE id=?");
  for (const Job& job : candidates) {
    const App& app = apps.at(job.app);
    attempts_of.reset();
    attempts_of.bind(1, job.id);
    attempts_of.step();
    const int number = attempts_of.i32(0) + 1;

    LaunchTicket t;
    t.job_id = job.id;
    t.attempt = number;
    t.app = job.app;
    t.spec.name = container_name_for(instance_, job.id, number);
    t.spec.image = app.image;
    t.spec.cmd = job.command;
    EnvMap env = app.env;
    for (const auto& [k, v] : job.env) env[k] = v;
    env["JOBQ_JOB_ID"] = std::to_string(job.id);
    env["JOBQ_APP"] = job.app;
    env["JOBQ_ATTEMPT"] = std::to_string(number);
    if (job.message) env["JOBQ_MESSAGE"] = *job.message;
    for (const auto& [k, v] : env) t.spec.env.push_back(k + "=" + v);
    t.spec.labels = job.labels;
    t.spec.labels["jobq.job"] = std::to_string(job.id);
    t.spec.labels["jobq.attempt"] = std::to_string(number);
    t.spec.labels["jobq.app"] = job.app;
    t.spec.labels["jobq.instance"] = instance_;

    ins.reset();
    ins.bind(1, job.id).bind(2, number).bind(3, t.spec.name).bind(4, spec_to_json(t.spec).dump());
    ins.bind(5, now).run();
    upd.reset();
    upd.bind(1, number).bind(2, now).bind(3, job.id).run();
    out.push_back(std::move(t));
  }
  tx.commit();
  return out;
}

std::vector<LaunchTicket> Store::starting_attempts() {
  std::lock_guard lock(mu_);
  Stmt st(db_,
          "SELECT a.job_id, a.number, j.app, a.spec FROM attempts a JOIN jobs j ON j.id=a.job_id "
          "WHERE a.state='starting' ORDER BY a.job_id");
  std::vector<LaunchTicket> out;
  while (st.step()) {
    LaunchTicket t;
    t.job_id = st.i64(0);
    t.attempt = st.i32(1);
    t.app = st.text(2);
    t.spec = spec_from_json(st.text(3));
    out.push_back(std::move(t));
  }
  return out;
}

void Store::mark_running(std::int64_t job_id, int attempt, const std::string& container_id) {
  std::lock_guard lock(mu_);
  Transaction tx(db_);
  Stmt(db_,
       "UPDATE attempts SET state='running', container_id=? "
       "WHERE job_id=? AND number=? AND state='starting'")
      .bind(1, container_id)
      .bind(2, job_id)
      .bind(3, attempt)
      .run();
  Stmt(db_, "UPDATE jobs SET state='running', updated_at=? WHERE id=? AND state='starting'")
      .bind(1, now_rfc3339())
      .bind(2, job_id)
      .run();
  tx.commit();
}

std::vector<ActiveAttempt> Store::running_attempts() {
  std::lock_guard lock(mu_);
  Stmt st(db_,
          "SELECT a.job_id, a.number, a.container_name, j.cancel_requested FROM attempts a "
          "JOIN jobs j ON j.id=a.job_id WHERE a.state='running' ORDER BY a.job_id");
  std::vector<ActiveAttempt> out;
  while (st.step())
    out.push_back({st.i64(0), st.i32(1), st.text(2), st.i64(3) != 0});
  return out;
}

void Store::finish_attempt(const AttemptResult& r) {
  std::lock_guard lock(mu_);
  Transaction tx(db_);
  Stmt upd(db_,
           "UPDATE attempts SET state=?, container_id=CASE WHEN ?='' THEN container_id ELSE ? END, "
           "exit_code=?, oom_killed=?, error=?, started_at=?, finished_at=? "
           "WHERE job_id=? AND number=? AND state IN ('starting','running')");
  upd.bind(1, to_string(r.state))
      .bind(2, r.container_id)
      .bind(3, r.container_id)
      .bind(4, r.exit_code)
      .bind(5, r.oom_killed ? 1 : 0)
      .bind(6, r.error)
      .bind(7, r.started_at)
      .bind(8, r.finished_at)
      .bind(9, r.job_id)
      .bind(10, r.attempt)
      .run();
  if (sqlite3_changes(db_) == 0) return;  // already finished: nothing to record twice
  Stmt(db_, "UPDATE jobs SET state=?, reason=?, exit_code=?, updated_at=? WHERE id=?")
      .bind(1, to_string(r.state))
      .bind(2, r.reason)
      .bind(3, r.exit_code)
      .bind(4, now_rfc3339())
      .bind(5, r.job_id)
      .run();
  Stmt log(db_,
           "INSERT OR REPLACE INTO logs(job_id, attempt, stream, data, truncated, total_bytes) "
           "VALUES(?,?,?,?,?,?)");
  auto put = [&](const std::optional<CapturedLog>& l, LogStream s) {
    if (!l) return;
    log.reset();
    log.bind(1, r.job_id).bind(2, r.attempt).bind(3, static_cast<int>(s)).bind_blob(4, l->data);
    log.bind(5, l->truncated ? 1 : 0).bind(6, static_cast<std::int64_t>(l->total_bytes)).run();
  };
  put(r.stdout_log, LogStream::stdout_stream);
  put(r.stderr_log, LogStream::stderr_stream);
  tx.commit();
}

bool Store::cancel_requested(std::int64_t job_id) {
  std::lock_guard lock(mu_);
  Stmt st(db_, "SELECT cancel_requested FROM jobs WHERE id=?");
  st.bind(1, job_id);
  return st.step() && st.i64(0) != 0;
}

bool Store::attempt_is_starting(std::int64_t job_id, int attempt) {
  return attempt_state(job_id, attempt) == JobState::starting;
}

std::optional<JobState> Store::attempt_state(std::int64_t job_id, int attempt) {
  std::lock_guard lock(mu_);
  Stmt st(db_, "SELECT state FROM attempts WHERE job_id=? AND number=?");
  st.bind(1, job_id).bind(2, attempt);
  if (!st.step()) return std::nullopt;
  return state_of(st.text(0));
}

std::vector<std::int64_t> Store::note_engine_kills(std::int64_t engine_lost_ns,
                                                   std::int64_t window_ns) {
  std::lock_guard lock(mu_);
  Transaction tx(db_);
  Stmt st(db_,
          "SELECT j.id, a.finished_at, j.exit_code FROM jobs j JOIN attempts a "
          "ON a.job_id=j.id AND a.number=j.attempts WHERE j.state='failed' AND "
          "j.cancel_requested=0 AND j.exit_code IN (137, 143, 255) AND a.oom_killed=0");
  std::vector<std::pair<std::int64_t, int>> hits;
  while (st.step()) {
    const auto finished = parse_rfc3339_ns(st.text(1));
    if (finished && *finished <= engine_lost_ns && *finished >= engine_lost_ns - window_ns)
      hits.emplace_back(st.i64(0), st.i32(2));
  }
  Stmt upd(db_, "UPDATE jobs SET reason=? WHERE id=?");
  std::vector<std::int64_t> ids;
  for (const auto& [id, code] : hits) {
    upd.reset();
    upd.bind(1, "killed when the Docker engine stopped (exit code " + std::to_string(code) + ")")
        .bind(2, id)
        .run();
    ids.push_back(id);
  }
  tx.commit();
  return ids;
}

Job Store::request_cancel(std::int64_t job_id) {
  std::lock_guard lock(mu_);
  Transaction tx(db_);
  Job job = load_job_locked(job_id);
  if (is_final(job.state))
    throw StoreError(StoreError::Kind::conflict, "job " + std::to_string(job_id) +
                                                     " already ended (" +
                                                     std::string(to_string(job.state)) + ")");
  const std::string now = now_rfc3339();
  if (job.state == JobState::pending) {
    Stmt(db_,
         "UPDATE jobs SET state='cancelled', reason='cancel requested before it started', updated_at=? "
         "WHERE id=?")
        .bind(1, now)
        .bind(2, job_id)
        .run();
  } else {
    Stmt(db_, "UPDATE jobs SET cancel_requested=1, updated_at=? WHERE id=?")
        .bind(1, now)
        .bind(2, job_id)
        .run();
  }
  job = load_job_locked(job_id);
  tx.commit();
  return job;
}

std::optional<CapturedLog> Store::get_log(std::int64_t job_id, int attempt, LogStream stream) {
  std::lock_guard lock(mu_);
  Stmt st(db_,
          "SELECT data, truncated, total_bytes FROM logs WHERE job_id=? AND attempt=? AND stream=?");
  st.bind(1, job_id).bind(2, attempt).bind(3, static_cast<int>(stream));
  if (!st.step()) return std::nullopt;
  return CapturedLog{st.text(0), st.i64(1) != 0, static_cast<std::uint64_t>(st.i64(2))};
}

}  // namespace jobq
