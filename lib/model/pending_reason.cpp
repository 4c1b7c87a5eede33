#include "model/pending_reason.hpp"

#include "base/time_util.hpp"

namespace jobq {

using nlohmann::json;

PendingContext make_pending_context(std::map<std::string, AppLoad> apps, int global_max,
                                    std::int64_t now_ns) {
  PendingContext ctx;
  for (const auto& entry : apps) ctx.running_total += entry.second.running;
  ctx.apps = std::move(apps);
  ctx.global_max = global_max;
  ctx.now_ns = now_ns;
  return ctx;
}

namespace {

json reason(const char* kind, std::string text, json details = json::object()) {
  details["kind"] = kind;
  details["text"] = std::move(text);
  return details;
}

std::string id_list(const std::vector<std::int64_t>& ids) {
  std::string s;
  for (const auto id : ids) s += (s.empty() ? "" : ", ") + std::to_string(id);
  return s;
}

}  // namespace

json pending_reason(const Job& job, const PendingContext& ctx) {
  if (job.state == JobState::running && !job.attempts.empty()) {
    const Attempt& a = job.attempts.back();
    if (!a.waiting.empty() && a.started_at.empty())
      return reason("placement", "waiting for a node: " + a.waiting, {{"message", a.waiting}});
  }
  if (job.state != JobState::pending) return nullptr;
  const std::string id = std::to_string(job.id);
  if (job.held) return reason("held", "held (jobq release " + id + ")");
  const auto app = ctx.apps.find(job.app);
  if (app != ctx.apps.end() && app->second.paused)
    return reason("paused",
                  "application '" + job.app + "' is paused (jobq app resume " + job.app + ")",
                  {{"app", job.app}});
  if (job.waiting_on > 0)
    return reason("dependencies",
                  "waiting for job" + std::string(job.waiting_for.size() == 1 ? " " : "s ") +
                      id_list(job.waiting_for) + " to end",
                  {{"jobs", job.waiting_for}});
  if (job.not_before_ns > ctx.now_ns) {
    const json at{{"at", format_unix_ns(job.not_before_ns)}, {"at_ns", job.not_before_ns}};
    // A failed attempt's retry sets the delay; a job retried by hand has none.
    if (job.retries_used > 0 && !job.attempts.empty()) {
      json d = at;
      d["retry"] = job.retries_used;
      return reason("retry_backoff", "waiting to retry at " + at["at"].get<std::string>(), d);
    }
    return reason("not_before", "delayed until " + at["at"].get<std::string>(), at);
  }
  if (app == ctx.apps.end()) return reason("queued", "waiting its turn");
  const AppLoad& load = app->second;
  if (ctx.pulling_images.count(load.image))
    return reason("image_pull", "image " + load.image + " is being pulled",
                  {{"image", load.image}});
  if (load.max_running > 0 && load.running >= load.max_running)
    return reason("app_limit",
                  "waiting for a slot: application '" + job.app + "' runs " +
                      std::to_string(load.running) + "/" + std::to_string(load.max_running),
                  {{"app", job.app}, {"running", load.running}, {"max", load.max_running}});
  if (ctx.global_max > 0 && ctx.running_total >= ctx.global_max)
    return reason("daemon_limit",
                  "waiting for a slot: jobqd runs " + std::to_string(ctx.running_total) + "/" +
                      std::to_string(ctx.global_max),
                  {{"running", ctx.running_total}, {"max", ctx.global_max}});
  return reason("queued", "waiting its turn (a slot is free)");
}

}  // namespace jobq
