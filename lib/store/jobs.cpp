// The store's jobs: enqueue (with dependencies), retry, update while
// pending, cancel, and reading, listing and counting them. See store.hpp.
#include <algorithm>

#include <nlohmann/json.hpp>

#include "base/time_util.hpp"
#include "store/sqlite_util.hpp"
#include "store/store.hpp"
#include "store/store_rows.hpp"

namespace jobq {

using nlohmann::json;
using sql::Stmt;
using sql::Transaction;
using namespace rows;

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
      "resources, due, schedule, slot) "
      "VALUES(?, 'pending', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
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
  if (nj.schedule.empty())
    ins.bind_null(18);
  else
    ins.bind(18, nj.schedule);
  ins.bind(19, nj.slot);
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
  Stmt st(
      *statements_,
      "SELECT number, state, container_name, container_id, exit_code, oom_killed, error, "
      "started_at, finished_at, created_at, reason, runtime, run_id, node, times_from, node_id, "
      "oom_known, waiting, warm_started_at "
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
    if (st.i64(16) != 0) a.oom_killed = st.i64(5) != 0;
    a.error = st.text(6);
    a.started_at = st.text(7);
    a.finished_at = st.text(8);
    a.created_at = st.text(9);
    a.reason = st.text(10);
    a.runtime = st.text(11);
    a.run_id = st.text(12);
    a.node = st.text(13);
    a.times_from = st.text(14);
    a.node_id = st.text(15);
    a.waiting = st.text(17);
    a.warm_started_at = st.text(18);
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
  if (f.schedule) q += " AND schedule=?8 AND submitter_uid=?9";
  int param = 10;
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
    if (f.schedule) st.bind(8, f.schedule->second).bind(9, f.schedule->first);
    param = 10;
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
  request_cancel_locked(job_id, by);
  Job job = load_job_locked(job_id);
  tx.commit();
  return job;
}

JobState Store::request_cancel_locked(std::int64_t job_id, const CancelledBy& by) {
  Stmt read(*statements_, "SELECT state FROM jobs WHERE id=?");
  read.bind(1, job_id);
  if (!read.step())
    throw StoreError(StoreError::Kind::not_found, "no job with id " + std::to_string(job_id));
  const JobState state = state_of(read.text(0));
  read.reset();
  if (is_final(state))
    throw StoreError(
        StoreError::Kind::conflict,
        "job " + std::to_string(job_id) + " already ended (" + std::string(to_string(state)) + ")");
  const std::string now = now_rfc3339();
  if (state == JobState::pending) {
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
  return state == JobState::pending ? JobState::cancelled : state;
}

}  // namespace jobq
