// The store's schedules: their definitions, and the one transaction that
// decides due slots and enqueues their jobs (fire_slots). See store.hpp.
#include <algorithm>
#include <set>

#include <nlohmann/json.hpp>

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

namespace {

constexpr const char* kScheduleColumns =
    "id, name, owner_uid, owner_name, app, cron, tz, job, catch_up, catch_up_max, deadline_s, "
    "overlap, after_previous, after_schedule, paused, next_slot, last_slot, away_before, fired, "
    "skipped, missed, created_at, updated_at, last_success_job, last_failure_job";

Schedule read_schedule(const Stmt& st) {
  Schedule s;
  s.id = st.i64(0);
  s.name = st.text(1);
  s.owner_uid = st.i64(2);
  s.owner_name = st.text(3);
  s.app = st.text(4);
  s.cron = st.text(5);
  s.tz = st.text(6);
  s.job = json::parse(st.text(7));
  s.catch_up = st.text(8);
  s.catch_up_max = st.i32(9);
  s.deadline_s = st.i64(10);
  s.overlap = overlap_from(st.text(11)).value_or(Overlap::allow);
  s.after_previous = st.i64(12) != 0;
  s.after_schedule = st.text(13);
  s.paused = st.i64(14) != 0;
  s.next_slot = st.i64(15);
  s.last_slot = st.i64(16);
  s.away_before = st.i64(17);
  s.fired = st.i64(18);
  s.skipped = st.i64(19);
  s.missed = st.i64(20);
  s.created_at = st.text(21);
  s.updated_at = st.text(22);
  s.last_success_job = st.opt_i64(23);
  s.last_failure_job = st.opt_i64(24);
  return s;
}

// The job a slot enqueues, as recorded: what the owner gave to enqueue.
json template_of(const NewJob& nj) {
  json t = json::object();
  if (nj.command) t["command"] = *nj.command;
  if (!nj.env.empty()) t["env"] = nj.env;
  if (nj.message) t["message"] = *nj.message;
  if (!nj.labels.empty()) t["labels"] = nj.labels;
  if (nj.priority != 0) t["priority"] = nj.priority;
  if (nj.timeout_ms > 0) t["timeout_ms"] = nj.timeout_ms;
  if (!nj.retry.is_null()) t["retry"] = nj.retry;
  if (const json res = nj.resources; res != json(Resources{})) t["resources"] = res;
  return t;
}

NewJob job_from_template(const Schedule& s) {
  NewJob nj;
  nj.app = s.app;
  const json& t = s.job;
  if (t.contains("command")) nj.command = t["command"].get<std::vector<std::string>>();
  if (t.contains("env")) nj.env = t["env"].get<EnvMap>();
  if (t.contains("message")) nj.message = t["message"].get<std::string>();
  if (t.contains("labels")) nj.labels = t["labels"].get<LabelMap>();
  nj.priority = t.value("priority", 0);
  nj.timeout_ms = t.value("timeout_ms", std::int64_t{0});
  if (t.contains("retry")) nj.retry = t["retry"];
  if (t.contains("resources")) nj.resources = apply_resources({}, t["resources"]);
  nj.submitter_uid = s.owner_uid;
  nj.submitter_name = s.owner_name;
  nj.schedule = s.name;
  return nj;
}

}  // namespace

std::optional<Schedule> Store::read_schedule_locked(const char* where, std::int64_t a,
                                                    const std::string* b) {
  Stmt st(*statements_,
          (std::string("SELECT ") + kScheduleColumns + " FROM schedules WHERE " + where).c_str());
  st.bind(1, a);
  if (b) st.bind(2, *b);
  if (!st.step()) return std::nullopt;
  Schedule s = read_schedule(st);
  st.reset();
  return s;
}

std::optional<Schedule> Store::get_schedule(std::int64_t owner_uid, const std::string& name) {
  std::lock_guard lock(mu_);
  return read_schedule_locked("owner_uid=? AND name=?", owner_uid, &name);
}

std::optional<Schedule> Store::get_schedule_by_id(std::int64_t id) {
  std::lock_guard lock(mu_);
  return read_schedule_locked("id=?", id, nullptr);
}

std::vector<Schedule> Store::list_schedules(std::optional<std::int64_t> owner_uid) {
  std::lock_guard lock(mu_);
  std::vector<std::int64_t> ids;
  {
    Stmt st(*statements_, owner_uid ? "SELECT id FROM schedules WHERE owner_uid=? ORDER BY name"
                                    : "SELECT id FROM schedules ORDER BY owner_name, name");
    if (owner_uid) st.bind(1, *owner_uid);
    while (st.step()) ids.push_back(st.i64(0));
  }
  std::vector<Schedule> out;
  for (const auto id : ids)
    if (auto s = read_schedule_locked("id=?", id, nullptr)) out.push_back(std::move(*s));
  return out;
}

void Store::check_after_schedule_locked(const Schedule& s) {
  // The chain it would wait on must exist and not lead back to it.
  std::string at = s.after_schedule;
  for (int hops = 0; !at.empty(); ++hops) {
    if (at == s.name || hops > 10'000)
      throw StoreError(StoreError::Kind::invalid,
                       "--after-schedule " + s.after_schedule + " would close a cycle");
    auto o = read_schedule_locked("owner_uid=? AND name=?", s.owner_uid, &at);
    if (!o)
      throw StoreError(StoreError::Kind::not_found,
                       "--after-schedule: you have no schedule named '" + at + "'");
    at = o->after_schedule;
  }
}

void Store::write_schedule_locked(std::int64_t id, const Schedule& s,
                                  const std::optional<NewJob>& tmpl) {
  Stmt up(*statements_,
          "UPDATE schedules SET app=?, cron=?, tz=?, catch_up=?, catch_up_max=?, deadline_s=?, "
          "overlap=?, after_previous=?, after_schedule=?, next_slot=?, updated_at=? WHERE id=?");
  up.bind(1, s.app)
      .bind(2, s.cron)
      .bind(3, s.tz)
      .bind(4, s.catch_up)
      .bind(5, s.catch_up_max)
      .bind(6, s.deadline_s)
      .bind(7, std::string(to_string(s.overlap)))
      .bind(8, s.after_previous ? 1 : 0)
      .bind(9, s.after_schedule)
      .bind(10, s.next_slot)
      .bind(11, now_rfc3339())
      .bind(12, id)
      .run();
  if (tmpl)
    Stmt(*statements_, "UPDATE schedules SET job=? WHERE id=?")
        .bind(1, template_of(*tmpl).dump())
        .bind(2, id)
        .run();
}

Schedule Store::create_schedule(const Schedule& s, const NewJob& tmpl, int max_per_owner) {
  std::lock_guard lock(mu_);
  Transaction tx(db_);
  if (!app_exists_locked(s.app)) throw no_such_app_locked(s.app);
  if (read_schedule_locked("owner_uid=? AND name=?", s.owner_uid, &s.name))
    throw StoreError(StoreError::Kind::conflict,
                     "you have a schedule named '" + s.name + "' already");
  if (max_per_owner > 0) {
    Stmt n(*statements_, "SELECT COUNT(*) FROM schedules WHERE owner_uid=?");
    n.bind(1, s.owner_uid);
    n.step();
    if (n.i64(0) >= max_per_owner)
      throw StoreError(StoreError::Kind::conflict, "you have " + std::to_string(n.i64(0)) +
                                                       " schedules, the most one user may");
  }
  check_after_schedule_locked(s);
  // Who and when; the definition as an update writes it.
  const std::string now = now_rfc3339();
  Stmt(*statements_,
       "INSERT INTO schedules(name, owner_uid, owner_name, app, cron, tz, job, catch_up, "
       "catch_up_max, deadline_s, overlap, after_previous, after_schedule, paused, next_slot, "
       "last_slot, away_before, created_at, updated_at) "
       "VALUES(?,?,?,'','','','{}','',0,0,'',0,'',?,0,0,?,?,?)")
      .bind(1, s.name)
      .bind(2, s.owner_uid)
      .bind(3, s.owner_name)
      .bind(4, s.paused ? 1 : 0)
      .bind(5, s.away_before)
      .bind(6, now)
      .bind(7, now)
      .run();
  const std::int64_t id = sqlite3_last_insert_rowid(db_);
  write_schedule_locked(id, s, tmpl);
  auto out = read_schedule_locked("id=?", id, nullptr);
  tx.commit();
  return *out;
}

Schedule Store::update_schedule(const Schedule& s, const std::optional<NewJob>& tmpl) {
  std::lock_guard lock(mu_);
  Transaction tx(db_);
  if (!read_schedule_locked("id=?", s.id, nullptr))
    throw StoreError(StoreError::Kind::not_found, "schedule '" + s.name + "' no longer exists");
  if (!app_exists_locked(s.app)) throw no_such_app_locked(s.app);
  check_after_schedule_locked(s);
  write_schedule_locked(s.id, s, tmpl);
  auto out = read_schedule_locked("id=?", s.id, nullptr);
  tx.commit();
  return *out;
}

Schedule Store::set_schedule_paused(std::int64_t id, bool paused, std::int64_t now_s) {
  std::lock_guard lock(mu_);
  Transaction tx(db_);
  auto s = read_schedule_locked("id=?", id, nullptr);
  if (!s) throw StoreError(StoreError::Kind::not_found, "no such schedule");
  if (s->paused != paused) {
    Stmt up(*statements_,
            "UPDATE schedules SET paused=?, away_before=CASE WHEN ?=0 THEN ? ELSE away_before END, "
            "updated_at=? WHERE id=?");
    up.bind(1, paused ? 1 : 0)
        .bind(2, paused ? 1 : 0)
        .bind(3, now_s)
        .bind(4, now_rfc3339())
        .bind(5, id)
        .run();
  }
  s = read_schedule_locked("id=?", id, nullptr);
  tx.commit();
  return *s;
}

void Store::delete_schedule(std::int64_t id) {
  std::lock_guard lock(mu_);
  Transaction tx(db_);
  auto s = read_schedule_locked("id=?", id, nullptr);
  if (!s) throw StoreError(StoreError::Kind::not_found, "no such schedule");
  Stmt dep(*statements_, "SELECT name FROM schedules WHERE owner_uid=? AND after_schedule=?");
  dep.bind(1, s->owner_uid).bind(2, s->name);
  if (dep.step())
    throw StoreError(StoreError::Kind::conflict,
                     "schedule '" + dep.text(0) + "' waits on '" + s->name +
                         "' (--after-schedule); change or delete it first");
  dep.reset();
  Stmt(*statements_, "DELETE FROM schedule_slots WHERE schedule_id=?").bind(1, id).run();
  Stmt(*statements_, "DELETE FROM schedules WHERE id=?").bind(1, id).run();
  tx.commit();
}

std::vector<SlotRecord> Store::schedule_slots(std::int64_t id, int limit) {
  std::lock_guard lock(mu_);
  Stmt st(*statements_,
          "SELECT s.slot, s.last_slot, s.count, s.manual, s.outcome, s.job_id, s.reason, "
          "s.decided_at, j.state FROM schedule_slots s LEFT JOIN jobs j ON j.id=s.job_id "
          "WHERE s.schedule_id=? ORDER BY s.slot DESC, s.manual DESC LIMIT ?");
  st.bind(1, id).bind(2, limit);
  std::vector<SlotRecord> out;
  while (st.step()) {
    SlotRecord r;
    r.slot = st.i64(0);
    r.last_slot = st.i64(1);
    r.count = st.i64(2);
    r.manual = st.i64(3) != 0;
    const std::string outcome = st.text(4);
    r.outcome = outcome == "missed"    ? SlotOutcome::missed
                : outcome == "skipped" ? SlotOutcome::skipped
                                       : SlotOutcome::fired;
    r.job_id = st.opt_i64(5);
    r.reason = st.text(6);
    r.decided_at = st.text(7);
    r.job_state = st.text(8);
    out.push_back(std::move(r));
  }
  return out;
}

std::string Store::app_refuses_locked(const NewJob& nj) {
  // Checked when the schedule was made or changed; its application may have
  // lowered its limits since. (No application: the enqueue says so.)
  Stmt app(*statements_, "SELECT timeout_ms, resources FROM apps WHERE name=?");
  app.bind(1, nj.app);
  if (!app.step()) return "";
  const std::int64_t timeout_ms = app.i64(0);
  const Resources limits = apply_resources({}, json::parse(app.text(1)));
  app.reset();
  if (timeout_ms > 0 && nj.timeout_ms > timeout_ms)
    return "its job's timeout (" + std::to_string(nj.timeout_ms) +
           " ms) exceeds its application's now (" + std::to_string(timeout_ms) + " ms)";
  if (auto why = resources_excess(limits, nj.resources); !why.empty())
    return why + " now (a job may lower its application's limits, never raise them)";
  return "";
}

void Store::record_slot_locked(std::int64_t schedule_id, const SlotDecision& d, bool manual,
                               SlotOutcome outcome, std::optional<std::int64_t> job_id) {
  Stmt ins(*statements_,
           "INSERT INTO schedule_slots(schedule_id, slot, manual, last_slot, count, outcome, "
           "job_id, reason, decided_at, decided_ns) VALUES(?,?,?,?,?,?,?,?,?,?)");
  ins.bind(1, schedule_id)
      .bind(2, d.slot)
      .bind(3, manual ? 1 : 0)
      .bind(4, d.last > 0 ? d.last : d.slot)
      .bind(5, d.count)
      .bind(6, std::string(to_string(outcome)))
      .bind(7, job_id)
      .bind(8, d.reason)
      .bind(9, now_rfc3339())
      .bind(10, now_unix_ns())
      .run();
}

FireOutcome Store::fire_slots(const std::vector<ScheduleAdvance>& advances) {
  std::lock_guard lock(mu_);
  FireOutcome out;
  Transaction tx(db_);
  for (const auto& adv : advances) {
    sql::exec(db_, "SAVEPOINT sched");
    FireOutcome one;
    try {
      fire_one_locked(adv, one);
      sql::exec(db_, "RELEASE sched");
    } catch (const StoreError&) {
      sql::exec(db_, "ROLLBACK TO sched");
      sql::exec(db_, "RELEASE sched");
      ++out.stale;
      continue;
    }
    using Ids = std::vector<std::int64_t> FireOutcome::*;
    for (const Ids v :
         {&FireOutcome::enqueued, &FireOutcome::cancel_requested, &FireOutcome::ended})
      (out.*v).insert((out.*v).end(), (one.*v).begin(), (one.*v).end());
    out.fired += one.fired;
    out.skipped += one.skipped;
    out.missed += one.missed;
    out.stale += one.stale;
  }
  tx.commit();  // one fsync for the whole round
  return out;
}

void Store::fire_one_locked(const ScheduleAdvance& adv, FireOutcome& out) {
  const auto s = read_schedule_locked("id=?", adv.schedule_id, nullptr);
  if (!s || s->paused || s->next_slot != adv.expected_next) {
    ++out.stale;
    return;
  }
  std::int64_t fired = 0, skipped = 0, missed = 0, last = s->last_slot;
  Stmt prev_st(
      *statements_,
      "SELECT s.job_id, s.slot, j.state FROM schedule_slots s JOIN jobs j ON j.id=s.job_id "
      "WHERE s.schedule_id=? AND s.manual=0 AND s.outcome='fired' "
      "ORDER BY s.slot DESC LIMIT 1");
  Stmt cover(*statements_,
             "SELECT s.outcome, s.job_id, s.slot FROM schedule_slots s JOIN schedules o "
             "ON o.id=s.schedule_id WHERE o.owner_uid=? AND o.name=? AND s.manual=0 "
             "AND s.slot<=? ORDER BY s.slot DESC LIMIT 1");
  for (const SlotDecision& d0 : adv.slots) {
    SlotDecision d = d0;
    last = std::max(last, d.last > 0 ? d.last : d.slot);
    if (!d.fire) {
      record_slot_locked(s->id, d, false, SlotOutcome::missed, std::nullopt);
      queue_slot_webhooks_locked(*s, d, "slot-missed");
      missed += d.count;
      continue;
    }
    NewJob nj = job_from_template(*s);
    nj.slot = d.slot;
    std::string skip;
    // The previous slot's job: overlap, and --after-previous.
    prev_st.reset();
    prev_st.bind(1, s->id);
    const bool ask_previous = s->overlap != Overlap::allow || s->after_previous;
    if (ask_previous && prev_st.step()) {
      const std::int64_t prev = prev_st.i64(0);
      const std::int64_t prev_slot = prev_st.i64(1);
      const JobState prev_state = state_of(prev_st.text(2));
      prev_st.reset();
      if (!is_final(prev_state)) {
        if (s->overlap == Overlap::forbid) {
          skip = "job " + std::to_string(prev) + " of the slot at " + format_unix_s(prev_slot) +
                 " has not ended (--overlap forbid)";
        } else if (s->overlap == Overlap::replace) {
          const JobState now_state =
              request_cancel_locked(prev, {s->owner_uid, s->owner_name, false});
          (is_final(now_state) ? out.ended : out.cancel_requested).push_back(prev);
          nj.after_any.push_back(prev);  // starts once the one it replaces has stopped
        }
      }
      if (skip.empty() && s->after_previous) nj.after.push_back(prev);
    }
    prev_st.reset();
    if (skip.empty() && !s->after_schedule.empty()) {
      cover.reset();
      cover.bind(1, s->owner_uid).bind(2, s->after_schedule).bind(3, d.slot);
      if (!cover.step()) {
        skip = "schedule '" + s->after_schedule + "' has no slot at or before " +
               format_unix_s(d.slot);
      } else if (cover.text(0) != "fired" || cover.is_null(1)) {
        skip = "the slot of schedule '" + s->after_schedule + "' at " +
               format_unix_s(cover.i64(2)) + " was " + cover.text(0) + ", not fired";
      } else {
        // A job pruned since has long ended: nothing to wait for.
        const std::int64_t dep = cover.i64(1);
        Stmt exists(*statements_, "SELECT 1 FROM jobs WHERE id=?");
        exists.bind(1, dep);
        if (exists.step()) nj.after.push_back(dep);
      }
      cover.reset();
    }
    if (skip.empty()) skip = app_refuses_locked(nj);
    if (skip.empty()) {
      sql::exec(db_, "SAVEPOINT slotjob");
      try {
        // Read back whole only when a dependency may have ended it at once.
        const bool deps = !nj.after.empty() || !nj.after_any.empty();
        Job j = enqueue_locked(nj, nullptr, deps);
        if (!deps) j.state = JobState::pending;
        sql::exec(db_, "RELEASE slotjob");
        record_slot_locked(s->id, d, false, SlotOutcome::fired, j.id);
        out.enqueued.push_back(j.id);
        if (is_final(j.state)) out.ended.push_back(j.id);
        ++fired;
        continue;
      } catch (const StoreError& e) {
        sql::exec(db_, "ROLLBACK TO slotjob");
        sql::exec(db_, "RELEASE slotjob");
        skip = e.what();
      }
    }
    d.reason = skip;
    record_slot_locked(s->id, d, false, SlotOutcome::skipped, std::nullopt);
    queue_slot_webhooks_locked(*s, d, "slot-skipped");
    ++skipped;
  }
  Stmt(*statements_,
       "UPDATE schedules SET next_slot=?, last_slot=?, fired=fired+?, skipped=skipped+?, "
       "missed=missed+? WHERE id=?")
      .bind(1, adv.next)
      .bind(2, last)
      .bind(3, fired)
      .bind(4, skipped)
      .bind(5, missed)
      .bind(6, s->id)
      .run();
  out.fired += fired;
  out.skipped += skipped;
  out.missed += missed;
}

Job Store::run_schedule_now(std::int64_t id, std::int64_t now_s) {
  std::lock_guard lock(mu_);
  Transaction tx(db_);
  const auto s = read_schedule_locked("id=?", id, nullptr);
  if (!s) throw StoreError(StoreError::Kind::not_found, "no such schedule");
  NewJob nj = job_from_template(*s);
  nj.slot = now_s;
  Stmt same(*statements_,
            "SELECT 1 FROM schedule_slots WHERE schedule_id=? AND slot=? AND manual=1");
  same.bind(1, id).bind(2, now_s);
  if (same.step())
    throw StoreError(StoreError::Kind::conflict,
                     "schedule '" + s->name + "' was run by hand this very second; try again");
  same.reset();
  const Job j = enqueue_locked(nj, nullptr, true);
  SlotDecision d;
  d.slot = now_s;
  d.fire = true;
  record_slot_locked(id, d, true, SlotOutcome::fired, j.id);
  Stmt(*statements_, "UPDATE schedules SET fired=fired+1 WHERE id=?").bind(1, id).run();
  tx.commit();
  return j;
}

}  // namespace jobq
