// Handlers for schedule.*: a user's recurring jobs (model/schedule.hpp).
// A schedule is its owner's: a user names only their own; an admin may name
// another user's with "owner". The job each slot enqueues is checked as an
// enqueue of the owner's is, when the schedule is made or changed; each
// change wakes the scheduler (exec/scheduler.hpp).
#include <chrono>

#include "base/time_util.hpp"
#include "base/users.hpp"
#include "commands/handlers.hpp"
#include "exec/executor.hpp"
#include "schedule/plan.hpp"

namespace jobq::handlers {

using nlohmann::json;

namespace {

// The most schedules one user (not an admin) may have.
constexpr int kMaxSchedulesPerUser = 1000;
// Enqueue's fields a schedule's job may not set: each slot decides them.
constexpr std::string_view kSlotDecides[] = {"app", "not_before", "key", "after", "after_any"};

std::int64_t now_s() {
  return now_unix_ns() / 1'000'000'000;
}

SlotTime slot_time(std::int64_t s) {
  return SlotTime(std::chrono::seconds(s));
}

// Whose schedule a request names: the caller's, or (admins) "owner"'s.
std::int64_t owner_arg(DaemonContext& ctx, ArgReader& r, const Call& call) {
  const auto owner = r.string("owner");
  if (!owner) return call.peer.uid;
  const auto uid = user_id(*owner);
  if (!uid) bad("owner: no user named '" + *owner + "'");
  if (*uid != call.peer.uid && !is_admin(ctx.info.access, call.peer))
    throw ProtocolError(ErrorCode::forbidden,
                        "schedules are their owner's; only an admin may name another user's (" +
                            admin_rule(ctx.info.access) + ")");
  return *uid;
}

Schedule must_get(DaemonContext& ctx, std::int64_t owner, const std::string& name,
                  const Call& call) {
  auto s = ctx.store.get_schedule(owner, name);
  if (!s) {
    std::string msg = "no schedule named '" + name + "'";
    if (owner != call.peer.uid) msg += " of " + user_name(static_cast<uid_t>(owner));
    throw ProtocolError(ErrorCode::not_found, msg);
  }
  return *s;
}

// The name and owner a request names: its schedule.
Schedule named(DaemonContext& ctx, ArgReader& r, const Call& call) {
  const std::string name = r.required_string("name");
  return must_get(ctx, owner_arg(ctx, r, call), name, call);
}

// The cron expression and zone, checked; the first slot after `after`.
std::int64_t first_slot_after(const std::string& cron, const std::string& tz, std::int64_t after) {
  CronExpr e;
  cctz::time_zone zone;
  try {
    e = parse_cron(cron);
  } catch (const CronError& ex) {
    bad(std::string("--cron: ") + ex.what());
  }
  try {
    zone = load_zone(tz);
  } catch (const ZoneError& ex) {
    bad(std::string("--tz: ") + ex.what());
  }
  const auto next = next_slot(e, zone, slot_time(after));
  if (!next) bad("--cron '" + cron + "' never fires (within ten years)");
  return next->time_since_epoch().count();
}

// The job template's arguments, checked as the owner's enqueue into `app`.
NewJob job_arg(DaemonContext& ctx, const json& job, const std::string& app, const Call& call) {
  if (!job.is_object()) bad("'job' must be a JSON object (enqueue's arguments)");
  for (const auto field : kSlotDecides)
    if (job.contains(field))
      bad("a schedule's job cannot set '" + std::string(field) +
          "': each slot's job gets its application from the schedule, and its time, key and "
          "dependencies from its slot");
  json args = job;
  args["app"] = app;
  return new_job_from(ctx, args, call);
}

// The fields create and update share, read into `s`.
void read_policy(ArgReader& r, Schedule& s) {
  if (auto c = r.string("cron")) s.cron = *c;
  if (auto tz = r.string("tz")) s.tz = *tz == "UTC" ? "" : *tz;
  if (auto c = r.string("catch_up")) {
    if (!catch_up_from(*c)) bad("catch_up must be none, last or all");
    s.catch_up = *c;
  }
  if (auto n = r.integer("catch_up_max")) {
    if (*n < 1 || *n > kMaxCatchUp)
      bad("catch_up_max must be between 1 and " + std::to_string(kMaxCatchUp));
    s.catch_up_max = static_cast<int>(*n);
  }
  if (auto d = r.integer("starting_deadline_s")) {
    if (*d < 0 || *d > 366LL * 24 * 3600) bad("starting_deadline_s must be 0 (none) to a year");
    s.deadline_s = *d;
  }
  if (auto o = r.string("overlap")) {
    const auto ov = overlap_from(*o);
    if (!ov) bad("overlap must be allow, forbid or replace");
    s.overlap = *ov;
  }
  if (auto b = r.boolean("after_previous")) s.after_previous = *b;
  if (auto a = r.string("after_schedule")) {
    if (!a->empty() && !valid_schedule_name(*a)) bad("after_schedule: not a schedule name");
    s.after_schedule = *a;
  }
}

json with_next(const Schedule& s, int n) {
  json out = s;
  json next = json::array();
  if (!s.paused && s.next_slot > 0) {
    next.push_back(format_unix_s(s.next_slot));
    try {
      for (const auto t :
           next_slots(parse_cron(s.cron), load_zone(s.tz), slot_time(s.next_slot), n - 1))
        next.push_back(format_rfc3339(t));
    } catch (const std::exception&) {
      // Its zone left the database: the scheduler says so in its log.
    }
  }
  out["next_slots"] = next;
  return out;
}

std::vector<std::string_view> schedule_fields() {
  return {"name",
          "owner",
          "app",
          "cron",
          "tz",
          "job",
          "catch_up",
          "catch_up_max",
          "starting_deadline_s",
          "overlap",
          "after_previous",
          "after_schedule",
          "paused"};
}

}  // namespace

Result schedule_create(DaemonContext& ctx, const Args& args, const Call& call) {
  ArgReader r(args, schedule_fields());
  if (r.string("owner")) bad("a schedule is made by its owner ('owner' is for naming one)");
  Schedule s;
  s.name = r.required_string("name");
  if (!valid_schedule_name(s.name))
    bad("schedule names are 1 to 64 letters, digits, '_', '.' or '-', starting with a letter or "
        "digit");
  s.app = r.required_string("app");
  if (!r.string("cron")) bad("'cron' is required");
  read_policy(r, s);
  s.owner_uid = call.peer.uid;
  s.owner_name = user_name(call.peer.uid);
  s.paused = r.boolean("paused").value_or(false);
  const json* job = r.raw("job");
  const NewJob tmpl = job_arg(ctx, job ? *job : json::object(), s.app, call);
  const auto now = now_s();
  s.next_slot = first_slot_after(s.cron, s.tz, now);
  s.away_before = now;
  const int limit = is_admin(ctx.info.access, call.peer) ? 0 : kMaxSchedulesPerUser;
  const Schedule made = ctx.store.create_schedule(s, tmpl, limit);
  ctx.exec.scheduler().changed();
  return with_next(made, 5);
}

Result schedule_update(DaemonContext& ctx, const Args& args, const Call& call) {
  ArgReader r(args, schedule_fields());
  Schedule s = named(ctx, r, call);
  const std::string cron = s.cron, tz = s.tz;
  if (auto app = r.string("app")) s.app = *app;
  read_policy(r, s);
  if (r.boolean("paused")) bad("pause and resume a schedule with schedule.pause / schedule.resume");
  std::optional<NewJob> tmpl;
  if (const json* job = r.raw("job")) {
    // The fields given replace the job's; the rest stay.
    if (!job->is_object()) bad("'job' must be a JSON object (enqueue's arguments)");
    json merged = s.job;
    for (const auto& [k, v] : job->items()) merged[k] = v;
    tmpl = job_arg(ctx, merged, s.app, call);
  } else if (args.contains("app")) {
    tmpl = job_arg(ctx, s.job, s.app, call);  // the same job, checked against the new application
  }
  // A new expression or zone: its slots from now (never one decided already).
  if (s.cron != cron || s.tz != tz)
    s.next_slot = first_slot_after(s.cron, s.tz, std::max(now_s(), s.last_slot));
  const Schedule out = ctx.store.update_schedule(s, tmpl);
  ctx.exec.scheduler().changed();
  return with_next(out, 5);
}

Result schedule_list(DaemonContext& ctx, const Args& args, const Call& call) {
  ArgReader r(args, {"all", "owner"});
  std::optional<std::int64_t> owner = owner_arg(ctx, r, call);
  if (r.boolean("all").value_or(false)) {
    if (!is_admin(ctx.info.access, call.peer))
      throw ProtocolError(ErrorCode::forbidden, "only an admin may list every user's schedules (" +
                                                    admin_rule(ctx.info.access) + ")");
    owner.reset();
  }
  json out = json::array();
  for (const auto& s : ctx.store.list_schedules(owner)) out.push_back(with_next(s, 1));
  return json{{"schedules", out}};
}

Result schedule_show(DaemonContext& ctx, const Args& args, const Call& call) {
  ArgReader r(args, {"name", "owner", "slots"});
  const Schedule s = named(ctx, r, call);
  const auto n = r.integer("slots").value_or(20);
  if (n < 0 || n > 1000) bad("slots must be between 0 and 1000");
  json out = with_next(s, 5);
  out["recent_slots"] = ctx.store.schedule_slots(s.id, static_cast<int>(n));
  return out;
}

namespace {
Result pause_or_resume(DaemonContext& ctx, const Args& args, const Call& call, bool pause) {
  ArgReader r(args, {"name", "owner"});
  const Schedule s = named(ctx, r, call);
  const Schedule out = ctx.store.set_schedule_paused(s.id, pause, now_s());
  ctx.exec.scheduler().changed();
  return with_next(out, 5);
}
}  // namespace

Result schedule_pause(DaemonContext& ctx, const Args& args, const Call& call) {
  return pause_or_resume(ctx, args, call, true);
}

Result schedule_resume(DaemonContext& ctx, const Args& args, const Call& call) {
  return pause_or_resume(ctx, args, call, false);
}

Result schedule_delete(DaemonContext& ctx, const Args& args, const Call& call) {
  ArgReader r(args, {"name", "owner"});
  const Schedule s = named(ctx, r, call);
  ctx.store.delete_schedule(s.id);
  ctx.exec.scheduler().changed();
  return json{{"deleted", s.name}, {"owner", {{"uid", s.owner_uid}, {"user", s.owner_name}}}};
}

Result schedule_run(DaemonContext& ctx, const Args& args, const Call& call) {
  ArgReader r(args, {"name", "owner"});
  const Schedule s = named(ctx, r, call);
  const Job job = ctx.store.run_schedule_now(s.id, now_s());
  ctx.runner.kick();
  return job_view(job, viewer_of(ctx.info.access, call.peer));
}

}  // namespace jobq::handlers
