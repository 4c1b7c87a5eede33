// The store's side for the runner and the poller: claims within limits,
// launch intents, results, and the notes of recovery. See store.hpp.
#include <algorithm>
#include <chrono>

#include "base/time_util.hpp"
#include "model/policy.hpp"
#include "store/sqlite_util.hpp"
#include "store/store.hpp"
#include "store/store_rows.hpp"

namespace jobq {

using nlohmann::json;
using sql::Stmt;
using sql::Transaction;
using namespace rows;

std::vector<LaunchTicket> Store::claim_pending(int global_max, int max_claims,
                                               const RunNaming& naming, const ClaimGate& gate) {
  std::lock_guard lock(mu_);
  if (max_claims <= 0) return {};
  Transaction tx(db_);
  std::map<std::string, int> busy;
  int busy_total = 0;
  {
    Stmt st(*statements_,
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
    Stmt st(*statements_,
            (std::string("SELECT ") + kAppColumns + " FROM apps WHERE paused=0").c_str());
    while (st.step()) {
      App a = read_app(st);
      apps.emplace(a.name, std::move(a));
    }
  }
  // Each app's next jobs in its own order (priority, then FIFO), as many as
  // it has room for; then claimed in fair_share's order.
  const std::int64_t now_ns = now_unix_ns();
  std::vector<std::vector<Job>> queues;
  std::map<std::string, std::string> pull_errors;  // by application
  // Delayed jobs whose time has come join the startable ones (jobs_claim).
  Stmt(*statements_,
       "UPDATE jobs INDEXED BY jobs_delayed SET due=1 WHERE state='pending' AND due=0 AND "
       "not_before_ns<=?")
      .bind(1, now_ns)
      .run();
  Stmt pending(*statements_,
               (std::string("SELECT ") + kJobColumns +
                " FROM jobs INDEXED BY jobs_claim WHERE app=? AND state='pending' AND due=1 AND "
                "held=0 AND waiting_on=0 "
                "ORDER BY priority DESC, id LIMIT ?")
                   .c_str());
  for (const auto& [name, app] : apps) {
    int room = budget;
    if (app.max_running > 0) room = std::min(room, app.max_running - busy[name]);
    if (room <= 0) continue;
    pending.reset();
    pending.bind(1, name).bind(2, room);
    std::vector<Job> q;
    while (pending.step()) q.push_back(read_job(pending));
    if (q.empty()) continue;
    if (gate) {
      ClaimVerdict v = gate(app);
      if (!v.claim || v.room == 0) continue;
      if (v.room > 0 && q.size() > static_cast<std::size_t>(v.room))
        q.resize(static_cast<std::size_t>(v.room));
      if (!v.pull_error.empty()) {
        if (v.pull_error_before_ns > 0)
          std::erase_if(q, [&](const Job& j) {
            return parse_rfc3339_ns(j.updated_at).value_or(0) > v.pull_error_before_ns;
          });
        if (q.empty()) continue;
        pull_errors[name] = std::move(v.pull_error);
      }
    }
    queues.push_back(std::move(q));
  }
  std::vector<Job> candidates = fair_share(std::move(queues), budget, served_);

  std::vector<LaunchTicket> out;
  const std::string now = now_rfc3339();
  Stmt attempts_of(*statements_, "SELECT attempts FROM jobs WHERE id=?");
  Stmt ins(*statements_,
           "INSERT INTO attempts(job_id, number, state, container_name, spec, created_at, runtime) "
           "VALUES(?, ?, 'starting', ?, ?, ?, ?)");
  Stmt upd(*statements_, "UPDATE jobs SET state='starting', attempts=?, updated_at=? WHERE id=?");
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
    t.spec = run_spec_for(app, job, number);
    t.runtime = app.runtime;
    t.spec.name = naming(app.runtime, job.id, number);
    if (auto e = pull_errors.find(job.app); e != pull_errors.end()) t.pull_error = e->second;

    ins.reset();
    ins.bind(1, job.id).bind(2, number).bind(3, t.spec.name).bind(4, spec_to_json(t.spec).dump());
    ins.bind(5, now).bind(6, t.runtime).run();
    upd.reset();
    upd.bind(1, number).bind(2, now).bind(3, job.id).run();
    out.push_back(std::move(t));
  }
  tx.commit();
  return out;
}

bool Store::unclaim(std::int64_t job_id, int attempt) {
  std::lock_guard lock(mu_);
  Transaction tx(db_);
  Stmt(*statements_,
       "DELETE FROM attempts WHERE job_id=? AND number=? AND state='starting' AND run_id=''")
      .bind(1, job_id)
      .bind(2, attempt)
      .run();
  if (sqlite3_changes(db_) == 0) return false;
  Stmt(*statements_,
       "UPDATE jobs SET state='pending', attempts=?, updated_at=? WHERE id=? AND state='starting'")
      .bind(1, attempt - 1)
      .bind(2, now_rfc3339())
      .bind(3, job_id)
      .run();
  tx.commit();
  return true;
}

std::optional<std::int64_t> Store::next_due_ns() {
  std::lock_guard lock(mu_);
  // A range of jobs_delayed. Times already passed are made due by the next claim.
  Stmt st(*statements_,
          "SELECT MIN(not_before_ns) FROM jobs INDEXED BY jobs_delayed WHERE state='pending' AND "
          "due=0 AND not_before_ns>?");
  st.bind(1, now_unix_ns());
  if (!st.step() || st.is_null(0)) return std::nullopt;
  return st.i64(0);
}

std::vector<LaunchTicket> Store::starting_attempts() {
  std::lock_guard lock(mu_);
  Stmt st(
      *statements_,
      "SELECT a.job_id, a.number, j.app, a.spec, a.run_id, a.runtime FROM attempts a JOIN jobs j "
      "ON j.id=a.job_id WHERE a.state='starting' ORDER BY a.job_id");
  std::vector<LaunchTicket> out;
  while (st.step()) {
    LaunchTicket t;
    t.job_id = st.i64(0);
    t.attempt = st.i32(1);
    t.app = st.text(2);
    t.spec = spec_from_json(st.text(3));
    t.run_id = st.text(4);
    t.runtime = st.text(5);
    out.push_back(std::move(t));
  }
  return out;
}

bool Store::record_run(std::int64_t job_id, int attempt, const std::string& run_id,
                       const std::string& container_id) {
  std::lock_guard lock(mu_);
  Stmt(*statements_,
       "UPDATE attempts SET run_id=?, container_id=? WHERE job_id=? AND number=? AND "
       "state='starting'")
      .bind(1, run_id)
      .bind(2, container_id)
      .bind(3, job_id)
      .bind(4, attempt)
      .run();
  return sqlite3_changes(db_) > 0;
}

void Store::note_waiting(std::int64_t job_id, int attempt, const std::string& why) {
  std::lock_guard lock(mu_);
  Stmt(*statements_,
       "UPDATE attempts SET waiting=?1 WHERE job_id=?2 AND number=?3 AND state='running' AND "
       "waiting<>?1")
      .bind(1, why)
      .bind(2, job_id)
      .bind(3, attempt)
      .run();
}

bool Store::mark_running(std::int64_t job_id, int attempt, const RunStatus& run) {
  std::lock_guard lock(mu_);
  Transaction tx(db_);
  // Docker's zero time ("never started") or a malformed one is no start.
  const std::int64_t started_ns = parse_rfc3339_ns(run.started_at).value_or(0);
  Stmt(*statements_,
       "UPDATE attempts SET state='running', run_id=?, container_id=?, node=?, times_from=?, "
       "started_ns=?, started_at=?, warm_started_at=? WHERE job_id=? AND number=? AND "
       "state='starting'")
      .bind(1, run.id)
      .bind(2, run.container_id)
      .bind(3, run.node)
      .bind(4, std::string(to_string(run.times_from)))
      .bind(5, started_ns)
      .bind(6, started_ns > 0 ? run.started_at : std::string())
      .bind(7, run.warm_started_at)
      .bind(8, job_id)
      .bind(9, attempt)
      .run();
  // Not starting any more: its result was recorded while the start call was
  // in flight (the poller saw it exit), and the job may even be on its next
  // attempt by now. Nothing to mark.
  if (sqlite3_changes(db_) == 0) return false;
  Stmt(*statements_,
       "UPDATE jobs SET state='running', updated_at=? WHERE id=? AND state='starting'")
      .bind(1, now_rfc3339())
      .bind(2, job_id)
      .run();
  tx.commit();
  return true;
}

bool Store::record_started(std::int64_t job_id, int attempt, const std::string& started_at) {
  const std::int64_t started_ns = parse_rfc3339_ns(started_at).value_or(0);
  if (started_ns <= 0) return false;
  std::lock_guard lock(mu_);
  Stmt(*statements_,
       "UPDATE attempts SET started_ns=?, started_at=?, waiting='' "
       "WHERE job_id=? AND number=? AND state='running' AND started_ns=0")
      .bind(1, started_ns)
      .bind(2, started_at)
      .bind(3, job_id)
      .bind(4, attempt)
      .run();
  return sqlite3_changes(db_) > 0;
}

namespace {
// The attempts of ActiveAttempt, in its order (read_active).
const std::string kActiveAttemptSelect =
    "SELECT a.job_id, a.number, a.container_name, j.cancel_requested, j.cancel_requested_ns, "
    "a.started_ns, CASE WHEN j.timeout_ms>0 THEN j.timeout_ms ELSE COALESCE(p.timeout_ms, 0) END, "
    "j.timed_out, a.state='starting', a.runtime, "
    "COALESCE(json_extract(p.placement, '$.schedule_timeout_ms'), 0), a.created_at "
    "FROM attempts a JOIN jobs j ON j.id=a.job_id LEFT JOIN apps p ON p.name=j.app ";
const std::string kRunningAttempts =
    kActiveAttemptSelect + "WHERE a.state='running' ORDER BY a.job_id";
const std::string kActiveAttemptsOfJob =
    kActiveAttemptSelect + "WHERE a.job_id=? AND a.state IN ('starting','running')";
ActiveAttempt read_active(const Stmt& st) {
  ActiveAttempt a;
  a.job_id = st.i64(0);
  a.attempt = st.i32(1);
  a.container_name = st.text(2);
  a.cancel_requested = st.i64(3) != 0;
  a.cancel_requested_ns = st.i64(4);
  a.started_ns = st.i64(5);
  a.timeout_ms = st.i64(6);
  a.timed_out = st.i64(7) != 0;
  a.starting = st.i64(8) != 0;
  a.runtime = st.text(9);
  a.schedule_timeout_ms = st.i64(10);
  a.launched_ns = parse_rfc3339_ns(st.text(11)).value_or(0);
  return a;
}
}  // namespace

std::vector<ActiveAttempt> Store::running_attempts() {
  std::lock_guard lock(mu_);
  Stmt st(*statements_, kRunningAttempts);
  std::vector<ActiveAttempt> out;
  while (st.step()) out.push_back(read_active(st));
  return out;
}

std::vector<ActiveAttempt> Store::active_attempts_of(const std::set<std::int64_t>& jobs) {
  std::lock_guard lock(mu_);
  std::vector<ActiveAttempt> out;
  for (const std::int64_t id : jobs) {
    Stmt st(*statements_, kActiveAttemptsOfJob);
    st.bind(1, id);
    while (st.step()) out.push_back(read_active(st));
  }
  return out;
}

namespace {
// The failure kinds a retry policy names (see kRetryKinds); "" for none.
std::string failure_kind(const AttemptResult& r) {
  switch (r.state) {
    case JobState::timed_out:
      return "timeout";
    case JobState::lost:
      return "lost";
    case JobState::failed:
      return r.engine_stopped               ? "lost"
             : r.oom_killed.value_or(false) ? "oom"
             : r.launch_error               ? "launch"
                                            : "exit";
    default:
      return "";
  }
}
}  // namespace

void record_run_status(AttemptResult& r, const RunStatus& st) {
  r.exit_code = st.exit_code;
  r.oom_killed = st.oom_killed;
  r.error = st.message;
  r.container_id = st.container_id;
  r.run_id = st.id;
  r.node = st.node;
  r.node_id = st.node_id;
  r.times_from = st.times_from;
  r.started_at = st.started_at;
  r.finished_at = st.finished_at;
  r.warm_started_at = st.warm_started_at;
}

std::optional<JobState> Store::finish_attempt(const AttemptResult& r) {
  std::lock_guard lock(mu_);
  Transaction tx(db_);
  std::optional<JobState> was;
  {
    Stmt st(*statements_, "SELECT state FROM attempts WHERE job_id=? AND number=?");
    st.bind(1, r.job_id).bind(2, r.attempt);
    if (st.step()) was = parse_job_state(st.text(0));
  }
  Stmt upd(
      *statements_,
      "UPDATE attempts SET container_id=CASE WHEN ?1='' THEN container_id ELSE ?1 END, "
      "run_id=CASE WHEN ?2='' THEN run_id ELSE ?2 END, node=CASE WHEN ?3='' THEN node ELSE ?3 END, "
      "times_from=CASE WHEN ?4='' THEN times_from ELSE ?4 END, exit_code=?5, oom_killed=?6, "
      "error=?7, started_at=CASE WHEN ?8='' THEN started_at ELSE ?8 END, finished_at=?9, "
      "reason=?10, state=?11, node_id=CASE WHEN ?14='' THEN node_id ELSE ?14 END, oom_known=?15, "
      "warm_started_at=CASE WHEN ?16='' THEN warm_started_at ELSE ?16 END "
      "WHERE job_id=?12 AND number=?13 AND state IN ('starting','running')");
  upd.bind(1, r.container_id)
      .bind(2, r.run_id)
      .bind(3, r.node)
      .bind(4, r.times_from ? std::string(to_string(*r.times_from)) : std::string())
      .bind(5, r.exit_code)
      .bind(6, r.oom_killed.value_or(false) ? 1 : 0)
      .bind(7, r.error)
      .bind(8, r.started_at)
      .bind(9, r.finished_at)
      .bind(10, r.reason)
      .bind(11, to_string(r.state))
      .bind(12, r.job_id)
      .bind(13, r.attempt)
      .bind(14, r.node_id)
      .bind(15, r.oom_killed ? 1 : 0)
      .bind(16, r.warm_started_at)
      .run();
  if (sqlite3_changes(db_) == 0) return std::nullopt;  // already finished: nothing to record twice

  // Try again? Only a failure the policy names, within its limit, and never
  // a job someone asked to cancel.
  Stmt job(*statements_,
           "SELECT j.retry, j.retries_used, j.cancel_requested, a.retry FROM jobs j "
           "LEFT JOIN apps a ON a.name=j.app WHERE j.id=?");
  job.bind(1, r.job_id);
  std::optional<std::int64_t> retry_at;
  std::string retry_reason;
  const std::string kind = failure_kind(r);
  if (job.step() && !kind.empty() && job.i64(2) == 0 && !job.is_null(3)) {
    RetryPolicy policy = apply_retry({}, json::parse(job.text(3)));
    if (!job.is_null(0)) policy = apply_retry(policy, json::parse(job.text(0)));
    const int used = job.i32(1);
    if (used < policy.limit &&
        std::find(policy.on.begin(), policy.on.end(), kind) != policy.on.end()) {
      const auto delay_ms = retry_delay_ms(policy, used, rng_());
      retry_at = now_unix_ns() + delay_ms * 1'000'000;
      retry_reason =
          "attempt " + std::to_string(r.attempt) + " " + std::string(to_string(r.state)) +
          (r.reason.empty() ? "" : " (" + r.reason + ")") + "; retry " + std::to_string(used + 1) +
          " of " + std::to_string(policy.limit) + " at " + format_unix_ns(*retry_at);
    }
  }
  if (retry_at) {
    Stmt(*statements_,
         "UPDATE jobs SET state='pending', reason=?, exit_code=NULL, retries_used=retries_used+1, "
         "not_before_ns=?, due=0, timed_out=0, updated_at=? WHERE id=?")
        .bind(1, retry_reason)
        .bind(2, *retry_at)
        .bind(3, now_rfc3339())
        .bind(4, r.job_id)
        .run();
    queue_webhooks_locked(r.job_id, "failure");
  } else {
    Stmt(*statements_, "UPDATE jobs SET state=?, reason=?, exit_code=?, updated_at=? WHERE id=?")
        .bind(1, to_string(r.state))
        .bind(2, r.reason)
        .bind(3, r.exit_code)
        .bind(4, now_rfc3339())
        .bind(5, r.job_id)
        .run();
  }
  Stmt log(*statements_,
           "INSERT OR REPLACE INTO logs(job_id, attempt, stream, data, truncated, total_bytes, "
           "timestamped) VALUES(?,?,?,?,?,?,?)");
  auto put = [&](const std::optional<CapturedLog>& l, LogStream s) {
    if (!l) return;
    log.reset();
    log.bind(1, r.job_id).bind(2, r.attempt).bind(3, static_cast<int>(s)).bind_blob(4, l->data);
    log.bind(5, l->truncated ? 1 : 0).bind(6, static_cast<std::int64_t>(l->total_bytes));
    log.bind(7, l->timestamped ? 1 : 0).run();
  };
  put(r.stdout_log, LogStream::stdout_stream);
  put(r.stderr_log, LogStream::stderr_stream);
  // The end is recorded (with its output, for the webhook's body) before the
  // dependents and the notifications hear of it.
  if (!retry_at) job_ended_locked(r.job_id);
  tx.commit();
  return was;
}

void Store::mark_timed_out(std::int64_t job_id) {
  std::lock_guard lock(mu_);
  Stmt(*statements_, "UPDATE jobs SET timed_out=1, updated_at=? WHERE id=?")
      .bind(1, now_rfc3339())
      .bind(2, job_id)
      .run();
}

bool Store::cancel_requested(std::int64_t job_id) {
  std::lock_guard lock(mu_);
  Stmt st(*statements_, "SELECT cancel_requested FROM jobs WHERE id=?");
  st.bind(1, job_id);
  return st.step() && st.i64(0) != 0;
}

bool Store::attempt_is_starting(std::int64_t job_id, int attempt) {
  return attempt_state(job_id, attempt) == JobState::starting;
}

std::optional<JobState> Store::attempt_state(std::int64_t job_id, int attempt) {
  std::lock_guard lock(mu_);
  Stmt st(*statements_, "SELECT state FROM attempts WHERE job_id=? AND number=?");
  st.bind(1, job_id).bind(2, attempt);
  if (!st.step()) return std::nullopt;
  return state_of(st.text(0));
}

std::optional<CapturedLog> Store::get_log(std::int64_t job_id, int attempt, LogStream stream) {
  std::lock_guard lock(mu_);
  Stmt st(*statements_,
          "SELECT data, truncated, total_bytes, timestamped FROM logs WHERE job_id=? AND attempt=? "
          "AND stream=?");
  st.bind(1, job_id).bind(2, attempt).bind(3, static_cast<int>(stream));
  if (!st.step()) return std::nullopt;
  return CapturedLog{st.text(0), st.i64(1) != 0, static_cast<std::uint64_t>(st.i64(2)),
                     st.i64(3) != 0};
}

}  // namespace jobq
