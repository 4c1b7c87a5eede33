// The store's dependency cascade: what a job's end sets off, in the same
// transaction (its dependents counted or skipped, its webhooks queued).
// See store.hpp.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "base/time_util.hpp"
#include "store/sqlite_util.hpp"
#include "store/store.hpp"
#include "store/store_rows.hpp"

namespace jobq {

using sql::Stmt;
using namespace rows;

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
  // A slot's job: its schedule's last success or failure (a cancel is neither).
  Stmt outcome(*statements_,
               "UPDATE schedules SET last_success_job=CASE WHEN ?2 THEN ?1 ELSE last_success_job "
               "END, last_failure_job=CASE WHEN ?2 THEN last_failure_job ELSE ?1 END WHERE id=("
               "SELECT s.id FROM jobs j JOIN schedules s ON s.owner_uid=j.submitter_uid AND "
               "s.name=j.schedule WHERE j.id=?1)");
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
    if (state != JobState::cancelled) {
      outcome.reset();
      outcome.bind(1, id).bind(2, state == JobState::succeeded ? 1 : 0).run();
    }
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

}  // namespace jobq
