// Handlers for enqueue and enqueue.batch: the arguments checked into jobs,
// committed in groups (enqueue_committer.hpp), answered after the commit.
#include "commands/handlers.hpp"

#include <set>
#include <vector>

#include "base/time_util.hpp"
#include "model/policy.hpp"
#include "server/visibility.hpp"

namespace jobq::handlers {

using nlohmann::json;

namespace {

// One enqueue.batch holds at most this many jobs (all or nothing).
constexpr std::size_t kMaxBatch = 10'000;

// What a job may never ask for: these belong to the application, which an
// admin defines. Named here so that the refusal says why, not just "unknown".
constexpr std::string_view kApplicationOnly[] = {
    "image",       "privileged",    "mounts",  "volumes",      "binds",        "devices",
    "cap_add",     "capabilities",  "network", "network_mode", "pid",          "pid_mode",
    "ipc",         "ipc_mode",      "user",    "host_config",  "security_opt", "runtime",
    "userns_mode", "cgroup_parent", "sysctls", "tmpfs"};

}  // namespace

NewJob new_job_from(DaemonContext& ctx, const json& args, const Call& call) {
  if (!args.is_object()) bad("each job must be a JSON object");
  for (auto field : kApplicationOnly)
    if (args.contains(field))
      throw ProtocolError(ErrorCode::forbidden,
                          "a job cannot set '" + std::string(field) +
                              "': the image, privileges, mounts, devices, capabilities and host "
                              "namespaces belong to the application, which an admin defines");
  ArgReader r(args, {"app", "command", "env", "message", "labels", "priority", "not_before", "key",
                     "timeout_ms", "retry", "resources", "after", "after_any"});
  NewJob nj;
  nj.app = r.required_string("app");
  nj.command = r.string_list("command");
  if (nj.command) {
    if (nj.command->empty())
      bad("'command' must not be empty (leave it out to run the image's default)");
    for (const auto& a : *nj.command)
      if (has_nul(a)) bad("'command' contains a NUL byte");
  }
  nj.env = checked_env(r.string_map("env"), "env");
  for (const auto& [k, v] : nj.env)
    if (k.rfind("JOBQ_", 0) == 0) bad("env: names starting with JOBQ_ are set by jobq itself");
  if (auto m = r.string("message")) {
    if (m->size() > kMaxMessageBytes)
      throw ProtocolError(ErrorCode::too_large, "message is " + std::to_string(m->size()) +
                                                    " bytes; the limit is " +
                                                    std::to_string(kMaxMessageBytes));
    if (json_depth(*m) > kMaxJsonDepth)
      bad("'message' nests deeper than " + std::to_string(kMaxJsonDepth) + " levels");
    const json parsed = json::parse(*m, nullptr, false);
    if (parsed.is_discarded()) bad("'message' is not valid JSON");
    nj.message = parsed.dump(-1, ' ', false, json::error_handler_t::strict);
    if (has_nul(*nj.message)) bad("'message' contains a NUL byte");
    // The compact form is what the container gets: it is the one to measure.
    if (nj.message->size() > kMaxMessageBytes)
      throw ProtocolError(ErrorCode::too_large, "message is " + std::to_string(nj.message->size()) +
                                                    " bytes in compact JSON; the limit is " +
                                                    std::to_string(kMaxMessageBytes));
  }
  if (auto labels = r.string_map("labels")) {
    for (const auto& [k, v] : *labels) {
      if (!valid_label_key(k)) bad("labels: '" + k + "' is not a valid label key");
      if (k.rfind("jobq.", 0) == 0) bad("labels: keys starting with 'jobq.' are reserved for jobq");
      if (has_nul(v)) bad("labels: the value of " + k + " contains a NUL byte");
    }
    nj.labels = *labels;
  }
  if (auto p = r.integer("priority")) {
    if (*p < -1000 || *p > 1000) bad("'priority' must be between -1000 and 1000");
    nj.priority = static_cast<int>(*p);
  }
  if (auto t = r.string("not_before")) {
    auto ns = parse_rfc3339_ns(*t);
    if (!ns) bad("'not_before' must be an RFC 3339 time, e.g. 2026-11-21T02:00:00Z");
    nj.not_before_ns = *ns;
  }
  if (auto t = r.integer("timeout_ms")) {
    if (*t <= 0 || *t > kMaxTimeoutMs)
      bad("'timeout_ms' must be between 1 and " + std::to_string(kMaxTimeoutMs));
    const auto app = ctx.store.get_app(nj.app);
    if (app && app->timeout_ms > 0 && *t > app->timeout_ms)
      bad("the job's timeout (" + std::to_string(*t) + " ms) may not exceed its application's (" +
          std::to_string(app->timeout_ms) + " ms)");
    nj.timeout_ms = *t;
  }
  if (auto k = r.string("key")) {
    if (k->empty() || k->size() > 256 || has_nul(*k))
      bad("'key' must be 1 to 256 bytes, without NUL");
    nj.key = *k;
  }
  if (const json* v = r.raw("retry")) {
    policy_arg(r, "retry", RetryPolicy{}, apply_retry);  // each field within its bounds
    nj.retry = *v;
  }
  nj.resources = policy_arg(r, "resources", Resources{}, apply_resources);
  if (r.raw("resources")) {
    const auto app = ctx.store.get_app(nj.app);
    if (app) {
      if (auto why = resources_excess(app->resources, nj.resources); !why.empty())
        bad(why + " (a job may lower its application's limits, never raise them)");
    }
  }
  nj.after = r.integer_list("after").value_or(std::vector<std::int64_t>{});
  nj.after_any = r.integer_list("after_any").value_or(std::vector<std::int64_t>{});
  if (nj.after.size() + nj.after_any.size() > 1000) bad("a job may depend on at most 1000 jobs");
  for (auto id : nj.after)
    if (id <= 0) bad("'after': job ids are positive integers");
  for (auto id : nj.after_any)
    if (id <= 0) bad("'after_any': job ids are positive integers");
  nj.submitter_uid = call.peer.uid;
  nj.submitter_name = user_name(call.peer.uid);
  return nj;
}

namespace {

// Answered once committed (group commit: see enqueue_committer.hpp): only
// then is the job acknowledged.
void commit_then_reply(DaemonContext& ctx, std::vector<NewJob> group, Responder reply,
                       std::function<json(const EnqueueOutcome&)> result) {
  const bool queued = ctx.committer.submit(std::move(group), [reply, result](EnqueueOutcome o) {
    if (o.error) {
      reply(encode_error(code_for(*o.error), o.error->what()));
      return;
    }
    reply(encode_ok(result(o)));
  });
  if (!queued) throw ProtocolError(ErrorCode::unavailable, "jobqd is stopping; try again");
}

}  // namespace

std::optional<json> enqueue(DaemonContext& ctx, const json& args, const Call& call) {
  const Viewer viewer = viewer_of(ctx.info.access, call.peer);
  commit_then_reply(
      ctx, {new_job_from(ctx, args, call)}, call.reply, [viewer](const EnqueueOutcome& o) {
        json out = job_view(o.jobs.at(0).first, viewer);
        out["existing"] = o.jobs.at(0).second;  // true: the key was used before; this is that job
        return out;
      });
  return std::nullopt;
}

// Many jobs, all or none: {jobs: [args of enqueue]} -> {jobs: [{id, existing}]}.
std::optional<json> enqueue_batch(DaemonContext& ctx, const json& args, const Call& call) {
  ArgReader r(args, {"jobs"});
  const json* jobs = r.raw("jobs");
  if (!jobs || !jobs->is_array() || jobs->empty()) bad("'jobs' must be a non-empty list of jobs");
  if (jobs->size() > kMaxBatch) bad("a batch holds at most " + std::to_string(kMaxBatch) + " jobs");
  std::vector<NewJob> group;
  group.reserve(jobs->size());
  for (std::size_t i = 0; i < jobs->size(); ++i) {
    try {
      group.push_back(new_job_from(ctx, (*jobs)[i], call));
    } catch (const ProtocolError& e) {
      throw ProtocolError(e.code(), "job " + std::to_string(i + 1) + " of the batch: " + e.what() +
                                        " (nothing was enqueued)");
    }
  }
  commit_then_reply(ctx, std::move(group), call.reply, [](const EnqueueOutcome& o) {
    json out = json::array();
    for (const auto& [job, existed] : o.jobs)
      out.push_back(json{{"id", job.id}, {"existing", existed}});
    return json{{"jobs", out}};
  });
  return std::nullopt;
}

}  // namespace jobq::handlers
