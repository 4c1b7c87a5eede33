// The store's history: applications at a glance, ended jobs (for stats),
// attempts per application, and retention (prune). See store.hpp.
#include <map>

#include "base/time_util.hpp"
#include "store/sqlite_util.hpp"
#include "store/store.hpp"
#include "store/store_rows.hpp"

namespace jobq {

using sql::Stmt;
using sql::Transaction;
using namespace rows;

std::vector<AppSummary> Store::app_summaries(std::int64_t since_ns) {
  std::lock_guard lock(mu_);
  std::map<std::string, AppSummary> by_name;
  {
    Stmt st(*statements_, "SELECT name, max_running, paused FROM apps ORDER BY name");
    while (st.step()) {
      AppSummary a;
      a.name = st.text(0);
      a.max_running = st.i32(1);
      a.paused = st.i64(2) != 0;
      by_name.emplace(a.name, a);
    }
  }
  {
    Stmt st(*statements_,
            "SELECT app, state, COUNT(*), MIN(created_at) FROM jobs "
            "WHERE state IN ('pending','starting','running') GROUP BY app, state");
    while (st.step()) {
      auto it = by_name.find(st.text(0));
      if (it == by_name.end()) continue;
      if (st.text(1) == "pending") {
        it->second.pending = st.i64(2);
        it->second.oldest_pending_at = st.text(3);
      } else {
        it->second.running += st.i64(2);
      }
    }
  }
  {
    Stmt st(*statements_,
            "SELECT app, COUNT(*) FROM jobs WHERE ended_ns>=? AND "
            "state IN ('failed','lost','timed_out') GROUP BY app");
    st.bind(1, since_ns);
    while (st.step())
      if (auto it = by_name.find(st.text(0)); it != by_name.end())
        it->second.failed_last_hour = st.i64(1);
  }
  std::vector<AppSummary> out;
  for (auto& [name, a] : by_name) out.push_back(std::move(a));
  return out;
}

std::vector<EndedJob> Store::ended_jobs(
    std::int64_t since_ns, const std::optional<std::string>& app,
    const std::optional<std::pair<std::int64_t, std::string>>& schedule) {
  std::lock_guard lock(mu_);
  Stmt st(*statements_,
          "SELECT j.app, j.state, j.created_at, "
          "(SELECT started_at FROM attempts WHERE job_id=j.id ORDER BY number LIMIT 1), "
          "(SELECT started_at FROM attempts WHERE job_id=j.id ORDER BY number DESC LIMIT 1), "
          "(SELECT finished_at FROM attempts WHERE job_id=j.id ORDER BY number DESC LIMIT 1) "
          "FROM jobs j WHERE j.ended_ns>=?1 AND j.ended_ns>0 AND (?2 IS NULL OR j.app=?2) "
          "AND (?3 IS NULL OR (j.schedule=?3 AND j.submitter_uid=?4))");
  st.bind(1, since_ns);
  if (schedule)
    st.bind(3, schedule->second).bind(4, schedule->first);
  else
    st.bind_null(3).bind_null(4);
  if (app)
    st.bind(2, *app);
  else
    st.bind_null(2);
  std::vector<EndedJob> out;
  while (st.step()) {
    EndedJob e;
    e.app = st.text(0);
    e.state = state_of(st.text(1));
    e.created_at = st.text(2);
    if (!st.is_null(3)) e.first_started_at = st.text(3);
    if (!st.is_null(4)) e.started_at = st.text(4);
    if (!st.is_null(5)) e.finished_at = st.text(5);
    out.push_back(std::move(e));
  }
  return out;
}

std::map<std::string, std::int64_t> Store::attempts_by_app() {
  std::lock_guard lock(mu_);
  Stmt st(*statements_,
          "SELECT j.app, COUNT(*) FROM attempts a JOIN jobs j ON j.id=a.job_id GROUP BY j.app");
  std::map<std::string, std::int64_t> out;
  while (st.step()) out[st.text(0)] = st.i64(1);
  return out;
}

std::int64_t Store::count_prunable(std::int64_t before_ns) {
  std::lock_guard lock(mu_);
  Stmt st(*statements_, "SELECT COUNT(*) FROM jobs WHERE ended_ns>0 AND ended_ns<?");
  st.bind(1, before_ns);
  st.step();
  return st.i64(0);
}

std::int64_t Store::prune(std::int64_t before_ns, int limit) {
  std::lock_guard lock(mu_);
  Transaction tx(db_);
  std::vector<std::int64_t> ids;
  {
    Stmt st(*statements_,
            "SELECT id FROM jobs WHERE ended_ns>0 AND ended_ns<? ORDER BY ended_ns LIMIT ?");
    st.bind(1, before_ns).bind(2, limit);
    while (st.step()) ids.push_back(st.i64(0));
  }
  const char* deletes[] = {"DELETE FROM logs WHERE job_id=?",
                           "DELETE FROM attempts WHERE job_id=?",
                           "DELETE FROM job_deps WHERE job_id=?",
                           "DELETE FROM deliveries WHERE job_id=? AND state<>'pending'",
                           "DELETE FROM schedule_slots WHERE job_id=?",
                           "DELETE FROM jobs WHERE id=?"};
  for (const char* sql_text : deletes) {
    Stmt del(*statements_, sql_text);
    for (auto id : ids) {
      del.reset();
      del.bind(1, id).run();
    }
  }
  if (ids.empty()) {
    // The pass is over: the slots' webhook calls (no job) and records of
    // missed or skipped slots (no job) that are as old go too.
    Stmt(*statements_,
         "DELETE FROM deliveries WHERE job_id=0 AND state<>'pending' AND created_at<?")
        .bind(1, format_unix_ns(before_ns))
        .run();
    Stmt(*statements_, "DELETE FROM schedule_slots WHERE job_id IS NULL AND decided_ns<?")
        .bind(1, before_ns)
        .run();
  }
  tx.commit();
  return static_cast<std::int64_t>(ids.size());
}

}  // namespace jobq
