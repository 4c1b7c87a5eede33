// Handlers for one job or a list of them: show, list (filtered in the
// store's query, pages built off the socket loop), cancel, hold, release,
// update (a pending job's priority and hold), retry. Each job they answer
// carries its pending_reason (pending_reason.hpp), from the load read once
// per reply.
#include "commands/handlers.hpp"

#include <algorithm>

#include "base/time_util.hpp"
#include "base/users.hpp"
#include "model/pending_reason.hpp"
#include "server/visibility.hpp"

namespace jobq::handlers {

using nlohmann::json;

namespace {

// One `list` answers at most this many jobs, and at most about
// kListPageBytes of them: past that the reply is a page and names the cursor
// of the next (next_before_id). Jobs are read from the store kListChunk at a
// time, so a page of huge jobs reads few of them.
constexpr std::int64_t kMaxListed = 10'000;
constexpr std::size_t kListPageBytes = 1u << 20;
constexpr std::int64_t kListChunk = 64;

json list_page(Store& store, Executor& exec, JobFilter f, std::int64_t want, const Viewer& viewer,
               int global_max);

// What pending jobs wait for now: read once for a whole reply, with the
// images the puller is looking at or pulling.
PendingContext pending_context(Store& store, Executor& exec, int global_max) {
  PendingContext pc = make_pending_context(store.app_loads(), global_max, now_unix_ns());
  for (const auto& [name, load] : pc.apps)
    if (!load.image.empty() && exec.pulling(load.image)) pc.pulling_images.insert(load.image);
  return pc;
}

json view_with_reason(const Job& job, const Viewer& viewer, const PendingContext& pc) {
  json j = job_view(job, viewer);
  j["pending_reason"] = pending_reason(job, pc);
  return j;
}

// One job's reply: its view and why it is pending, if it is.
json job_reply(DaemonContext& ctx, const Job& job, const Call& call) {
  return view_with_reason(job, viewer_of(ctx.info.access, call.peer),
                          pending_context(ctx.store, ctx.exec, ctx.info.global_max_running));
}

}  // namespace

std::optional<json> show(DaemonContext& ctx, const json& args, const Call& call) {
  ArgReader r(args, {"id"});
  return job_reply(ctx, must_get_job(ctx, job_id_arg(r)), call);
}

std::optional<json> list(DaemonContext& ctx, const json& args, const Call& call) {
  ArgReader r(args, {"app", "state", "states", "user", "labels", "since", "limit", "before_id",
                     "schedule"});
  JobFilter f;
  f.app = r.string("app");
  auto state_of = [](const std::string& s) {
    const auto state = parse_job_state(s);
    if (!state)
      bad("unknown state '" + s +
          "' (pending, starting, running, succeeded, failed, cancelled, lost, timed_out, skipped)");
    return *state;
  };
  if (auto s = r.string("state")) f.state = state_of(*s);
  for (const auto& s : r.string_list("states").value_or(std::vector<std::string>{}))
    f.states.push_back(state_of(s));
  f.user = r.string("user");
  if (auto s = r.string("schedule")) {
    // The caller's schedule; an admin's `user` names whose.
    std::int64_t owner = call.peer.uid;
    if (f.user && is_admin(ctx.info.access, call.peer))
      if (const auto uid = user_id(*f.user)) owner = *uid;
    f.schedule = std::pair{owner, *s};
  }
  if (const json* labels = r.raw("labels")) {
    if (!labels->is_object() || labels->size() > 16)
      bad("'labels' must be an object of at most 16 labels, each a string or null (set at all)");
    for (const auto& [key, value] : labels->items()) {
      if (!value.is_string() && !value.is_null())
        bad("'labels': the value of '" + key + "' must be a string or null");
      f.labels[key] = value.is_string() ? std::optional(value.get<std::string>()) : std::nullopt;
    }
  }
  if (auto since = r.string("since")) {
    f.since_ns = parse_rfc3339_ns(*since);
    if (!f.since_ns) bad("'since' must be an RFC 3339 time, e.g. 2026-11-21T02:00:00Z");
  }
  const auto limit = r.integer("limit").value_or(100);
  if (limit < 0 || limit > kMaxListed)
    bad("'limit' must be between 0 (the most, " + std::to_string(kMaxListed) + ") and " +
        std::to_string(kMaxListed));
  const std::int64_t want = limit == 0 ? kMaxListed : limit;
  f.before_id = r.integer("before_id");
  if (f.before_id && *f.before_id <= 0) bad("'before_id' must be a positive job id");
  // A page is built off the socket loop, in the caller's share of the scan
  // pool: many users' lists at once never hold up the loop (nor `status`).
  handlers::submit_scan(ctx, call,
                        [&store = ctx.store, &exec = ctx.exec, f, want, reply = call.reply,
                         viewer = viewer_of(ctx.info.access, call.peer),
                         global_max = ctx.info.global_max_running]() mutable {
                          try {
                            reply(encode_ok(list_page(store, exec, f, want, viewer, global_max)));
                          } catch (const std::exception& e) {
                            reply(encode_error(ErrorCode::internal, e.what()));
                          }
                        });
  return std::nullopt;
}

namespace {

// Up to `want` jobs matching `f` below f.before_id, newest first from the
// store, at most about kListPageBytes of them, as the `list` reply.
json list_page(Store& store, Executor& exec, JobFilter f, std::int64_t want, const Viewer& viewer,
               int global_max) {
  const PendingContext pc = pending_context(store, exec, global_max);
  // Newest first, chunk by chunk, until `want` jobs or the page's bytes.
  json page = json::array();
  std::size_t bytes = 0;
  bool more = false;
  while (static_cast<std::int64_t>(page.size()) < want && !more) {
    f.limit = static_cast<int>(std::min(kListChunk, want - static_cast<std::int64_t>(page.size())));
    const std::vector<Job> chunk = store.list_jobs(f);  // oldest first
    for (auto it = chunk.rbegin(); it != chunk.rend(); ++it) {
      json j = view_with_reason(*it, viewer, pc);
      const std::size_t size = j.dump().size() + 1;
      if (!page.empty() && bytes + size > kListPageBytes) {
        more = true;
        break;
      }
      bytes += size;
      page.push_back(std::move(j));
      f.before_id = it->id;
    }
    if (static_cast<int>(chunk.size()) < f.limit) break;              // no older jobs
    if (static_cast<std::int64_t>(page.size()) == want) more = true;  // maybe older ones
  }
  std::reverse(page.begin(), page.end());
  json result{{"jobs", std::move(page)}};
  if (more) result["next_before_id"] = *f.before_id;
  return result;
}

}  // namespace

std::optional<json> cancel(DaemonContext& ctx, const json& args, const Call& call) {
  ArgReader r(args, {"id"});
  const auto id = job_id_arg(r);
  const Job before = owned_job(ctx, id, call, "cancel");
  const Viewer viewer = viewer_of(ctx.info.access, call.peer);
  const bool admin_not_owner = viewer.admin && viewer.uid != before.submitter_uid;
  Job job = ctx.store.request_cancel(id, {viewer.uid, user_name(call.peer.uid), admin_not_owner});
  if (is_final(job.state)) {
    ctx.waits.notify();
    ctx.runner.kick();
  } else {
    ctx.exec.check(id);  // a running one is stopped from there
  }
  return job_reply(ctx, job, call);
}

namespace {

std::optional<json> hold_or_release(DaemonContext& ctx, const json& args, const Call& call,
                                    bool hold) {
  ArgReader r(args, {"id"});
  const auto id = job_id_arg(r);
  owned_job(ctx, id, call, hold ? "hold" : "release");
  Job job = ctx.store.update_pending(id, std::nullopt, hold);
  if (!hold) ctx.runner.kick();
  return job_reply(ctx, job, call);
}

}  // namespace

std::optional<json> retry(DaemonContext& ctx, const json& args, const Call& call) {
  ArgReader r(args, {"id"});
  const auto id = job_id_arg(r);
  const Job before = owned_job(ctx, id, call, "retry");
  if (before.state == JobState::cancelled && before.cancelled_by_admin &&
      !is_admin(ctx.info.access, call.peer))
    throw ProtocolError(
        ErrorCode::forbidden,
        "job " + std::to_string(id) + " was cancelled by an admin (" + before.cancelled_by_name +
            "); only an admin may retry it (admins: " + admin_rule(ctx.info.access) + ")");
  Job job = ctx.store.retry_job(id, user_name(call.peer.uid));
  ctx.runner.kick();
  return job_reply(ctx, job, call);
}

std::optional<json> update(DaemonContext& ctx, const json& args, const Call& call) {
  ArgReader r(args, {"id", "priority", "held"});
  const auto id = job_id_arg(r);
  std::optional<int> priority;
  if (auto p = r.integer("priority")) {
    if (*p < -1000 || *p > 1000) bad("'priority' must be between -1000 and 1000");
    priority = static_cast<int>(*p);
  }
  const auto held = r.boolean("held");
  if (!priority && !held) bad("nothing to update: give 'priority' and/or 'held'");
  owned_job(ctx, id, call, "update");
  Job job = ctx.store.update_pending(id, priority, held);
  ctx.runner.kick();  // a release, or a new order among the pending
  return job_reply(ctx, job, call);
}

std::optional<json> hold(DaemonContext& ctx, const json& args, const Call& call) {
  return hold_or_release(ctx, args, call, true);
}

std::optional<json> release(DaemonContext& ctx, const json& args, const Call& call) {
  return hold_or_release(ctx, args, call, false);
}

}  // namespace jobq::handlers
