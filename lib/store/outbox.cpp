// The store's webhook outbox: calls queued with a job's end (in its
// transaction), then leased, delivered or tried again by the notifier.
// See store.hpp.
#include <algorithm>

#include <nlohmann/json.hpp>

#include "base/time_util.hpp"
#include "base/uuid.hpp"
#include "model/policy.hpp"
#include "store/sqlite_util.hpp"
#include "store/store.hpp"

namespace jobq {

using nlohmann::json;
using sql::Stmt;

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

void Store::queue_slot_webhooks_locked(const Schedule& s, const SlotDecision& d,
                                       const std::string& event) {
  Stmt app(*statements_, "SELECT webhooks FROM apps WHERE name=?");
  app.bind(1, s.app);
  if (!app.step()) return;
  const Webhooks hooks = apply_webhooks({}, json::parse(app.text(0)));
  app.reset();
  if (hooks.urls.empty() || std::find(hooks.on.begin(), hooks.on.end(), event) == hooks.on.end())
    return;
  const std::string body = json{
      {"event", event},
      {"schedule", {{"name", s.name}, {"owner", {{"uid", s.owner_uid}, {"user", s.owner_name}}}}},
      {"app", s.app},
      {"slot", format_unix_s(d.slot)},
      {"last_slot", format_unix_s(d.last > 0 ? d.last : d.slot)},
      {"count", d.count},
      {"reason", d.reason}}.dump();
  // job_id 0: about no job (the notifier then sends no X-Jobq-Job).
  Stmt ins(*statements_,
           "INSERT INTO deliveries(job_id, event, url, body, next_ns, created_at, uuid) "
           "VALUES(0,?,?,?,?,?,?)");
  for (const auto& url : hooks.urls) {
    ins.reset();
    ins.bind(1, event).bind(2, url).bind(3, body).bind(4, now_unix_ns());
    ins.bind(5, now_rfc3339()).bind(6, random_uuid()).run();
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

}  // namespace jobq
