// The commands that report on the daemon as a whole: status, metrics, stats,
// and prune (retention on demand). See handlers.hpp.
#include <unistd.h>

#include "base/metrics.hpp"
#include "base/time_util.hpp"
#include "base/users.hpp"
#include "commands/handlers.hpp"
#include "store/stats.hpp"

namespace jobq::handlers {

using nlohmann::json;

namespace {

constexpr std::int64_t kHourNs = 3'600'000'000'000;

std::int64_t age_seconds(const std::string& rfc3339, std::int64_t now) {
  const auto t = parse_rfc3339_ns(rfc3339);
  return t ? std::max<std::int64_t>(0, (now - *t) / 1'000'000'000) : 0;
}

// A time argument: RFC 3339; nullopt when absent.
std::optional<std::int64_t> time_arg(ArgReader& r, const char* key) {
  auto s = r.string(key);
  if (!s) return std::nullopt;
  auto ns = parse_rfc3339_ns(*s);
  if (!ns) bad(std::string("'") + key + "' must be an RFC 3339 time");
  return ns;
}

}  // namespace

void submit_scan(DaemonContext& ctx, const Call& call, std::function<void()> task) {
  const auto got = ctx.store_scans.submit(call.peer.uid, std::move(task));
  if (got == FairPool::Submitted::over_share)
    throw ProtocolError(
        ErrorCode::unavailable,
        "you have " + std::to_string(ctx.store_scans.options().per_uid) +
            " list, stats or prune requests queued or running already; try again when they have "
            "been answered");
  if (got == FairPool::Submitted::stopping)
    throw ProtocolError(ErrorCode::unavailable, "jobqd is stopping");
}

namespace {
json warm_pools(DaemonContext& ctx) {
  json pools = json::array();
  for (const auto& p : ctx.exec.warm().pools())
    pools.push_back(json{{"app", p.app},
                         {"auto", p.automatic},
                         {"size", p.size},
                         {"idle", p.idle},
                         {"hits", p.hits},
                         {"misses", p.misses}});
  return pools;
}
}  // namespace

std::optional<json> status(DaemonContext& ctx, const json& args, const Call& call) {
  ArgReader r(args, {});
  const auto now = now_unix_ns();
  json apps = json::array();
  for (const auto& a : ctx.store.app_summaries(now - kHourNs))
    apps.push_back(
        json{{"name", a.name},
             {"paused", a.paused},
             {"running", a.running},
             {"max_running", a.max_running},
             {"pending", a.pending},
             {"failed_last_hour", a.failed_last_hour},
             {"oldest_pending_age_s", a.oldest_pending_at.empty()
                                          ? json(nullptr)
                                          : json(age_seconds(a.oldest_pending_at, now))}});
  json result{{"version", JOBQ_VERSION},
              {"protocol", kProtocolVersion},
              {"protocol_revision", kProtocolRevision},
              {"schema", kJsonSchemaVersion},
              {"socket", ctx.info.socket_path},
              {"state_dir", ctx.info.state_dir},
              {"instance", ctx.store.instance()},
              {"started_at", ctx.info.started_at},
              {"uptime_s", age_seconds(ctx.info.started_at, now)},
              {"pid", static_cast<long>(::getpid())},
              {"max_running", ctx.info.global_max_running},
              {"retention_s", ctx.info.retention_ms / 1000},
              {"launches_in_flight", ctx.runner.in_flight()},
              {"unknown_containers", ctx.exec.unknown_runs()},
              {"jobs", ctx.store.count_jobs_by_state()},
              {"apps", apps}};
  // The engine's part from its check (engine_health.hpp), with its age: never
  // behind other users' engine calls, and waiting for a fresh one briefly.
  // Every runtime's engine as last checked (never waiting): the default one
  // is "engine" too, below.
  // With how many applications use each.
  std::map<std::string, int> users;
  for (const auto& a : ctx.store.list_apps()) ++users[a.runtime];
  json runtimes = json::object();
  for (Runtime* rt : ctx.runtimes.all())
    if (EngineHealth* h = ctx.exec.health(rt->kind())) {
      json e = h->last();
      e["apps"] = users[rt->kind()];
      runtimes[rt->kind()] = std::move(e);
    }
  result["runtimes"] = std::move(runtimes);
  result["warm_pools"] = warm_pools(ctx);
  Responder reply = call.reply;
  auto engine = ctx.exec.health().answer([result, reply](json e) mutable {
    result["engine"] = std::move(e);
    reply(encode_ok(result));
  });
  if (!engine) return std::nullopt;
  result["engine"] = std::move(*engine);
  return result;
}

std::optional<json> metrics(DaemonContext& ctx, const json& args, const Call& call) {
  ArgReader r(args, {});
  const auto now = now_unix_ns();
  std::string out;
  out += "# HELP jobq_up Whether jobqd answered (always 1 in its own output).\n";
  out += "# TYPE jobq_up gauge\njobq_up 1\n";
  out += "# HELP jobq_info jobqd's version and protocol.\n# TYPE jobq_info gauge\n";
  out += "jobq_info{version=\"" + prometheus_label(JOBQ_VERSION) + "\",protocol=\"" +
         std::to_string(kProtocolVersion) + "\"} 1\n";
  out += "# HELP jobq_start_time_seconds When jobqd started (unix time).\n";
  out += "# TYPE jobq_start_time_seconds gauge\n";
  out += "jobq_start_time_seconds " +
         std::to_string(parse_rfc3339_ns(ctx.info.started_at).value_or(0) / 1'000'000'000) + "\n";
  out += "# HELP jobq_jobs Jobs in the store, by application and state.\n# TYPE jobq_jobs gauge\n";
  for (const auto& [key, n] : ctx.store.count_jobs_by_app_state())
    out += "jobq_jobs{app=\"" + prometheus_label(key.first) + "\",state=\"" + key.second + "\"} " +
           std::to_string(n) + "\n";
  out +=
      "# HELP jobq_attempts Attempts (container launches asked for) in the store, by "
      "application.\n";
  out += "# TYPE jobq_attempts gauge\n";
  for (const auto& [app, n] : ctx.store.attempts_by_app())
    out += "jobq_attempts{app=\"" + prometheus_label(app) + "\"} " + std::to_string(n) + "\n";
  out += "# HELP jobq_app_max_running An application's concurrency limit (0 = none).\n";
  out += "# TYPE jobq_app_max_running gauge\n";
  std::string oldest;
  for (const auto& a : ctx.store.app_summaries(now - kHourNs)) {
    out += "jobq_app_max_running{app=\"" + prometheus_label(a.name) + "\"} " +
           std::to_string(a.max_running) + "\n";
    if (!a.oldest_pending_at.empty())
      oldest += "jobq_oldest_pending_age_seconds{app=\"" + prometheus_label(a.name) + "\"} " +
                std::to_string(age_seconds(a.oldest_pending_at, now)) + "\n";
  }
  out += "# HELP jobq_oldest_pending_age_seconds Age of the oldest pending job, by application.\n";
  out += "# TYPE jobq_oldest_pending_age_seconds gauge\n" + oldest;
  std::string warm_size, warm_idle, warm_hits, warm_misses;
  for (const auto& p : ctx.exec.warm().pools()) {
    const std::string app = "{app=\"" + prometheus_label(p.app) + "\"} ";
    warm_size += "jobq_warm_pool_size" + app + std::to_string(p.size) + "\n";
    warm_idle += "jobq_warm_idle" + app + std::to_string(p.idle) + "\n";
    warm_hits += "jobq_warm_hits_total" + app + std::to_string(p.hits) + "\n";
    warm_misses += "jobq_warm_misses_total" + app + std::to_string(p.misses) + "\n";
  }
  out += "# HELP jobq_warm_pool_size Warm containers an application's pool is kept at.\n";
  out += "# TYPE jobq_warm_pool_size gauge\n" + warm_size;
  out += "# HELP jobq_warm_idle Warm containers idle now, waiting for a job.\n";
  out += "# TYPE jobq_warm_idle gauge\n" + warm_idle;
  out += "# HELP jobq_warm_hits_total Launches that took a warm container.\n";
  out += "# TYPE jobq_warm_hits_total counter\n" + warm_hits;
  out += "# HELP jobq_warm_misses_total Launches of an application with a pool that went cold.\n";
  out += "# TYPE jobq_warm_misses_total counter\n" + warm_misses;
  // Schedules are their owners': others see only their own (admins all).
  const bool admin = is_admin(ctx.info.access, call.peer);
  out += "# HELP jobq_schedule_slots_total A schedule's slots so far, by outcome.\n";
  out += "# TYPE jobq_schedule_slots_total counter\n";
  for (const auto& s : ctx.store.list_schedules(
           admin ? std::nullopt : std::optional<std::int64_t>(call.peer.uid))) {
    const std::string labels = "{owner=\"" + prometheus_label(s.owner_name) + "\",schedule=\"" +
                               prometheus_label(s.name) + "\",outcome=\"";
    out += "jobq_schedule_slots_total" + labels + "fired\"} " + std::to_string(s.fired) + "\n";
    out += "jobq_schedule_slots_total" + labels + "skipped\"} " + std::to_string(s.skipped) + "\n";
    out += "jobq_schedule_slots_total" + labels + "missed\"} " + std::to_string(s.missed) + "\n";
  }
  out += ctx.metrics.render();
  return json{{"text", out}};
}

std::optional<json> stats(DaemonContext& ctx, const json& args, const Call& call) {
  ArgReader r(args, {"app", "since", "schedule", "owner"});
  const auto app = r.string("app");
  const auto since = time_arg(r, "since").value_or(now_unix_ns() - 24 * kHourNs);
  // The caller's schedule; an admin's `owner` names another user's.
  std::optional<std::pair<std::int64_t, std::string>> schedule;
  if (auto name = r.string("schedule")) {
    std::int64_t owner = call.peer.uid;
    if (auto o = r.string("owner")) {
      const auto uid = user_id(*o);
      if (!uid) bad("owner: no user named '" + *o + "'");
      if (*uid != call.peer.uid && !is_admin(ctx.info.access, call.peer))
        throw ProtocolError(ErrorCode::forbidden, "only an admin may name another user's schedule");
      owner = *uid;
    }
    schedule = std::pair{owner, *name};
  }
  // A scan of every job ended in the window: off the socket loop.
  Responder reply = call.reply;
  Store& store = ctx.store;
  submit_scan(ctx, call, [&store, app, since, schedule, reply] {
    try {
      json out = summarize_ended(store.ended_jobs(since, app, schedule));
      out["since"] = format_unix_ns(since);
      reply(encode_ok(out));
    } catch (const std::exception& e) {
      reply(encode_error(ErrorCode::internal, e.what()));
    }
  });
  return std::nullopt;
}

std::optional<json> prune(DaemonContext& ctx, const json& args, const Call& call) {
  ArgReader r(args, {"before", "dry_run"});
  std::int64_t before = 0;
  if (auto t = time_arg(r, "before")) {
    before = *t;
  } else if (ctx.info.retention_ms > 0) {
    before = now_unix_ns() - ctx.info.retention_ms * 1'000'000;
  } else {
    bad("jobqd keeps finished jobs forever (--retention 0): say which to prune with 'before'");
  }
  const auto dry = r.boolean("dry_run").value_or(false);
  Responder reply = call.reply;
  Store& store = ctx.store;
  submit_scan(ctx, call, [&store, before, dry, reply] {
    try {
      std::int64_t n = 0;
      if (dry) {
        n = store.count_prunable(before);
      } else {
        // In batches, so that other work gets the store in between.
        for (std::int64_t got; (got = store.prune(before, 1000)) > 0;) n += got;
      }
      reply(encode_ok(json{{"before", format_unix_ns(before)}, {"dry_run", dry}, {"jobs", n}}));
    } catch (const std::exception& e) {
      reply(encode_error(ErrorCode::internal, e.what()));
    }
  });
  return std::nullopt;
}

}  // namespace jobq::handlers
