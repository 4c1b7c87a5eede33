#include "daemon_commands.hpp"

#include <unistd.h>

#include <algorithm>
#include <set>
#include <vector>

#include <spdlog/spdlog.h>

#include "daemon_handlers.hpp"
#include "http_post.hpp"
#include "live_logs.hpp"
#include "log_demux.hpp"
#include "log_filter.hpp"
#include "log_follow.hpp"
#include "policy.hpp"
#include "protocol.hpp"
#include "suggest.hpp"
#include "time_util.hpp"
#include "visibility.hpp"

namespace jobq {

using nlohmann::json;

namespace {

using handlers::bad;
using handlers::Call;
using handlers::Handler;

struct Command {
  std::string_view name;
  bool admin_only;  // changes applications (enforced with roles)
  bool read_only;
  Handler handler;
};

// One enqueue.batch holds at most this many jobs (all or nothing).
constexpr std::size_t kMaxBatch = 10'000;
ErrorCode code_for(const StoreError& e);

// One `list` answers at most this many jobs (it runs on the socket loop),
// and at most about kListPageBytes of them: past that the reply is a page
// and names the cursor of the next (next_before_id). Jobs are read from the
// store kListChunk at a time, so a page of huge jobs reads few of them.
constexpr std::int64_t kMaxListed = 10'000;
constexpr std::size_t kListPageBytes = 1u << 20;
constexpr std::int64_t kListChunk = 64;
// One `wait` names at most kMaxWaitIds ids; its reply gives each distinct id
// once, the whole job while the reply is under kWaitReplyBytes, and past
// that a summary (wait_summary) that still tells how it ended.
constexpr std::size_t kMaxWaitIds = 10'000;
constexpr std::size_t kWaitReplyBytes = 1u << 20;
constexpr std::int64_t kMaxTimeoutMs = 366LL * 24 * 3600 * 1000;

std::optional<std::int64_t> timeout_arg(ArgReader& r);

bool has_nul(std::string_view s) { return s.find('\0') != std::string_view::npos; }

EnvMap checked_env(const std::optional<EnvMap>& env, const char* field) {
  if (!env) return {};
  for (const auto& [k, v] : *env) {
    if (!valid_env_name(k))
      bad(std::string(field) + ": '" + k +
          "' is not a valid environment variable name (letters, digits and _, not starting with a digit)");
    if (has_nul(v)) bad(std::string(field) + ": the value of " + k + " contains a NUL byte");
  }
  return *env;
}

std::int64_t job_id_arg(ArgReader& r) {
  auto id = r.integer("id");
  if (!id) bad("field 'id' is required");
  if (*id <= 0) bad("job ids are positive integers");
  return *id;
}

Job must_get_job(DaemonContext& ctx, std::int64_t id) {
  auto job = ctx.store.get_job(id);
  if (!job) throw ProtocolError(ErrorCode::not_found, "no job with id " + std::to_string(id));
  return *job;
}

void check_owner(DaemonContext& ctx, const Job& job, const Call& call, const char* verb);

// What `viewer` is shown of `job` in list and wait replies: the one place a
// listed or awaited job is serialized.
json job_for(const Job& job, const Viewer& viewer) { return job_view(job, viewer); }

// ---- applications -----------------------------------------------------------------

// A policy object from the request, applied over `base`; a bad field is the
// client's error, named as such.
template <typename T, typename Apply>
T policy_arg(ArgReader& r, const char* key, T base, Apply apply) {
  const json* v = r.raw(key);
  if (!v) return base;
  if (json_depth(v->dump()) > 4) bad(std::string("'") + key + "' nests too deeply");
  try {
    return apply(std::move(base), *v);
  } catch (const std::invalid_argument& e) {
    bad(e.what());
  }
}

Webhooks checked_webhooks(const Webhooks& w) {
  for (const auto& url : w.urls)
    if (!valid_webhook_url(url))
      bad("webhooks.urls: '" + url + "' is not an http:// or https:// URL");
  return w;
}

std::optional<std::int64_t> timeout_arg(ArgReader& r) {
  auto t = r.integer("timeout_ms");
  if (t && (*t < 0 || *t > kMaxTimeoutMs))
    bad("'timeout_ms' must be between 0 (none) and " + std::to_string(kMaxTimeoutMs));
  return t;
}

std::optional<json> app_create(DaemonContext& ctx, const json& args, const Call&) {
  ArgReader r(args, {"name", "image", "max_running", "env", "timeout_ms", "retry", "resources",
                     "webhooks"});
  App a;
  a.name = r.required_string("name");
  if (!valid_app_name(a.name))
    bad("'" + a.name + "' is not a valid application name (letters, digits, '.', '_', '-'; "
        "at most 64; starting with a letter or digit)");
  a.image = r.required_string("image");
  if (a.image.empty() || has_nul(a.image) || a.image.size() > 512) bad("'image' is not a valid image name");
  const auto max = r.integer("max_running").value_or(0);
  if (max < 0 || max > 100000) bad("'max_running' must be between 0 (unlimited) and 100000");
  a.max_running = static_cast<int>(max);
  a.env = checked_env(r.string_map("env"), "env");
  a.timeout_ms = timeout_arg(r).value_or(0);
  a.retry = policy_arg(r, "retry", RetryPolicy{}, apply_retry);
  a.resources = policy_arg(r, "resources", Resources{}, apply_resources);
  a.webhooks = checked_webhooks(policy_arg(r, "webhooks", Webhooks{}, apply_webhooks));
  return app_view(ctx.store.create_app(a), Viewer{-1, true});  // admins only
}

std::optional<json> app_update(DaemonContext& ctx, const json& args, const Call&) {
  ArgReader r(args, {"name", "image", "max_running", "env", "unset_env", "timeout_ms", "retry",
                     "resources", "webhooks"});
  const std::string name = r.required_string("name");
  AppUpdate u;
  u.image = r.string("image");
  if (u.image && (u.image->empty() || has_nul(*u.image))) bad("'image' is not a valid image name");
  if (auto max = r.integer("max_running")) {
    if (*max < 0 || *max > 100000) bad("'max_running' must be between 0 (unlimited) and 100000");
    u.max_running = static_cast<int>(*max);
  }
  u.set_env = checked_env(r.string_map("env"), "env");
  u.unset_env = r.string_list("unset_env").value_or(std::vector<std::string>{});
  u.timeout_ms = timeout_arg(r);
  // Checked here (against the defaults) so that a bad field is the client's error.
  if (const json* v = r.raw("retry")) {
    policy_arg(r, "retry", RetryPolicy{}, apply_retry);
    u.retry = *v;
  }
  if (const json* v = r.raw("resources")) {
    policy_arg(r, "resources", Resources{}, apply_resources);
    u.resources = *v;
  }
  if (const json* v = r.raw("webhooks")) {
    checked_webhooks(policy_arg(r, "webhooks", Webhooks{}, apply_webhooks));
    u.webhooks = *v;
  }
  App a = ctx.store.update_app(name, u);
  ctx.runner.kick();  // a higher limit may let jobs start
  return app_view(a, Viewer{-1, true});  // admins only
}

std::optional<json> app_delete(DaemonContext& ctx, const json& args, const Call&) {
  ArgReader r(args, {"name", "force"});
  const std::string name = r.required_string("name");
  const auto cancelled = ctx.store.delete_app(name, r.boolean("force").value_or(false));
  ctx.poller.kick();
  ctx.waits.notify();
  return json{{"deleted", name}, {"cancelled_jobs", cancelled}};
}

std::optional<json> app_list(DaemonContext& ctx, const json& args, const Call& call) {
  ArgReader r(args, {});
  return json{{"apps", apps_view(ctx.store.list_apps(), viewer_of(ctx.info.access, call.peer))}};
}

std::optional<json> app_show(DaemonContext& ctx, const json& args, const Call& call) {
  ArgReader r(args, {"name"});
  const std::string name = r.required_string("name");
  auto app = ctx.store.get_app(name);
  if (!app) throw ProtocolError(ErrorCode::not_found, "no application named '" + name + "'");
  return app_view(*app, viewer_of(ctx.info.access, call.peer));
}

// ---- jobs -----------------------------------------------------------------------------

// What a job may never ask for: these belong to the application, which an
// admin defines. Named here so that the refusal says why, not just "unknown".
constexpr std::string_view kApplicationOnly[] = {
    "image", "privileged", "mounts", "volumes", "binds", "devices", "cap_add", "capabilities",
    "network", "network_mode", "pid", "pid_mode", "ipc", "ipc_mode", "user", "host_config",
    "security_opt", "runtime", "userns_mode", "cgroup_parent", "sysctls", "tmpfs"};

// An enqueue's args, checked, as the job to store.
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
    if (nj.command->empty()) bad("'command' must not be empty (leave it out to run the image's default)");
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
    if (*t <= 0 || *t > kMaxTimeoutMs) bad("'timeout_ms' must be between 1 and " + std::to_string(kMaxTimeoutMs));
    const auto app = ctx.store.get_app(nj.app);
    if (app && app->timeout_ms > 0 && *t > app->timeout_ms)
      bad("the job's timeout (" + std::to_string(*t) + " ms) may not exceed its application's (" +
          std::to_string(app->timeout_ms) + " ms)");
    nj.timeout_ms = *t;
  }
  if (auto k = r.string("key")) {
    if (k->empty() || k->size() > 256 || has_nul(*k)) bad("'key' must be 1 to 256 bytes, without NUL");
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
  for (auto id : nj.after) if (id <= 0) bad("'after': job ids are positive integers");
  for (auto id : nj.after_any) if (id <= 0) bad("'after_any': job ids are positive integers");
  nj.submitter_uid = call.peer.uid;
  nj.submitter_name = user_name(call.peer.uid);
  return nj;
}

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
    for (const auto& [job, existed] : o.jobs) out.push_back(json{{"id", job.id}, {"existing", existed}});
    return json{{"jobs", out}};
  });
  return std::nullopt;
}

std::optional<json> show(DaemonContext& ctx, const json& args, const Call& call) {
  ArgReader r(args, {"id"});
  return job_view(must_get_job(ctx, job_id_arg(r)), viewer_of(ctx.info.access, call.peer));
}

json list_page(Store& store, JobFilter f, std::int64_t want, const Viewer& viewer);

std::optional<json> list(DaemonContext& ctx, const json& args, const Call& call) {
  ArgReader r(args, {"app", "state", "limit", "before_id"});
  JobFilter f;
  f.app = r.string("app");
  if (auto s = r.string("state")) {
    f.state = parse_job_state(*s);
    if (!f.state)
      bad("unknown state '" + *s +
          "' (pending, starting, running, succeeded, failed, cancelled, lost, timed_out, skipped)");
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
  handlers::submit_scan(ctx, call, [&store = ctx.store, f, want, reply = call.reply,
                                    viewer = viewer_of(ctx.info.access, call.peer)]() mutable {
    try {
      reply(encode_ok(list_page(store, f, want, viewer)));
    } catch (const std::exception& e) {
      reply(encode_error(ErrorCode::internal, e.what()));
    }
  });
  return std::nullopt;
}

// Up to `want` jobs matching `f` below f.before_id, newest first from the
// store, at most about kListPageBytes of them, as the `list` reply.
json list_page(Store& store, JobFilter f, std::int64_t want, const Viewer& viewer) {
  // Newest first, chunk by chunk, until `want` jobs or the page's bytes.
  json page = json::array();
  std::size_t bytes = 0;
  bool more = false;
  while (static_cast<std::int64_t>(page.size()) < want && !more) {
    f.limit = static_cast<int>(std::min(kListChunk, want - static_cast<std::int64_t>(page.size())));
    const std::vector<Job> chunk = store.list_jobs(f);  // oldest first
    for (auto it = chunk.rbegin(); it != chunk.rend(); ++it) {
      json j = job_for(*it, viewer);
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

json log_result(const CapturedLog& log, std::string_view source) {
  return json{{"data_base64", base64_encode(log.data)},
              {"truncated", log.truncated},
              {"total_bytes", log.total_bytes},
              {"source", source}};
}

std::optional<json> logs(DaemonContext& ctx, const json& args, const Call& call) {
  ArgReader r(args, {"id", "stream", "attempt", "follow", "tail", "since", "timestamps"});
  const Job job = must_get_job(ctx, job_id_arg(r));
  if (!may_read_all(viewer_of(ctx.info.access, call.peer), job))
    throw ProtocolError(ErrorCode::forbidden, "job " + std::to_string(job.id) + " belongs to " +
                                                  job.submitter_name +
                                                  "; its output is for its owner and admins only");
  const std::string stream_name = r.string("stream").value_or("stdout");
  const bool follow = r.boolean("follow").value_or(false);
  if (stream_name != "stdout" && stream_name != "stderr" && !(follow && stream_name == "both"))
    bad("'stream' must be stdout or stderr (or both, with follow)");
  LogRequest req;
  req.job_id = job.id;
  req.want_stdout = stream_name != "stderr";
  req.want_stderr = stream_name != "stdout";
  const auto tail = r.integer("tail");
  if (tail) {
    if (*tail < -1 || *tail > 100'000'000)
      bad("'tail' must be a number of lines, 0 or more (-1: all)");
    req.filter.tail = static_cast<int>(*tail);
  }
  if (auto since = r.string("since")) {
    const auto ns = parse_rfc3339_ns(*since);
    if (!ns) bad("'since' must be an RFC 3339 time, e.g. 2026-11-21T02:00:00Z");
    req.filter.since_ns = *ns;
  }
  req.filter.timestamps = r.boolean("timestamps").value_or(false);
  if (auto n = r.integer("attempt")) {
    if (*n <= 0 || *n > 1'000'000) bad("'attempt' must be a positive number");
    req.attempt = static_cast<int>(*n);
    if (std::none_of(job.attempts.begin(), job.attempts.end(),
                     [&](const Attempt& a) { return a.number == *n; }) &&
        (!follow || is_final(job.state)))
      throw ProtocolError(ErrorCode::not_found, "job " + std::to_string(job.id) +
                                                    " has no attempt " + std::to_string(*n));
  }
  if (follow) {
    const bool admin = is_admin(ctx.info.access, call.peer);
    throw_unless_started(ctx.followers,
                         ctx.followers.follow(req, call.reply, call.peer.uid, admin));
    return std::nullopt;
  }

  const LogStream stream = req.want_stdout ? LogStream::stdout_stream : LogStream::stderr_stream;
  if (job.attempts.empty()) return log_result({}, "none");
  const Attempt* attempt = &job.attempts.back();
  for (const auto& a : job.attempts)
    if (req.attempt && a.number == *req.attempt) attempt = &a;
  if (auto stored = ctx.store.get_log(job.id, attempt->number, stream)) {
    stored->data = filter_log(stored->data, stored->timestamped, req.filter);
    return log_result(*stored, "store");
  }
  if (attempt->state != JobState::running) return log_result({}, "none");
  // Still running: read (a tail of) what it has written so far from the engine, off the loop.
  submit_live_log(
      ctx.engine_calls, ctx.engine, call.peer.uid,
      LiveLogRead{attempt->container_name, stream, req.filter, tail.has_value(), ctx.info.log_cap},
      call.reply);
  return std::nullopt;
}

// How an awaited job ended, without its command, env, output or message:
// what `jobq wait` prints and takes its exit code from.
json wait_summary(const Job& job, const Viewer& viewer) {
  const json full = job_for(job, viewer);
  json out{{"summary", true}};
  for (const char* key :
       {"id", "app", "state", "exit_code", "reason", "cancel_requested", "finished_at"})
    if (full.contains(key)) out[key] = full[key];
  return out;
}

// One entry per distinct id, in the order first named; whole jobs (the first
// always) while the reply stays under kWaitReplyBytes, summaries after.
json wait_result(const std::vector<std::int64_t>& order, const std::map<std::int64_t, Job>& done,
                 const Viewer& viewer) {
  json jobs = json::array();
  std::size_t bytes = 0;
  for (auto id : order) {
    const Job& job = done.at(id);
    json full = job_for(job, viewer);
    const std::size_t size = full.dump().size() + 1;
    if (jobs.empty() || bytes + size <= kWaitReplyBytes) {
      bytes += size;
      jobs.push_back(std::move(full));
    } else {
      jobs.push_back(wait_summary(job, viewer));
    }
  }
  return json{{"jobs", std::move(jobs)}};
}

std::optional<json> wait(DaemonContext& ctx, const json& args, const Call& call) {
  ArgReader r(args, {"ids", "timeout_ms"});
  auto ids = r.integer_list("ids");
  if (!ids || ids->empty()) bad("field 'ids' needs at least one job id");
  if (ids->size() > kMaxWaitIds)
    bad("at most " + std::to_string(kMaxWaitIds) + " job ids can be waited for at once");
  // Each job is looked up once more only until it is final (a final job never
  // changes), so a long list of finished ids costs nothing per sweep.
  struct State {
    std::vector<std::int64_t> order;        // distinct, in the order first named
    std::map<std::int64_t, Job> done;       // final jobs
    std::vector<std::int64_t> open;         // distinct ids not final yet
  };
  auto st = std::make_shared<State>();
  std::set<std::int64_t> seen;
  for (auto id : *ids)
    if (seen.insert(id).second) st->order.push_back(id);
  for (auto id : st->order)  // unknown ids fail now, not at the deadline
    if (!ctx.store.job_exists(id))
      throw ProtocolError(ErrorCode::not_found, "no job with id " + std::to_string(id));
  st->open.assign(seen.begin(), seen.end());
  PendingReply p{
      [&store = ctx.store, st, reply = call.reply,
       viewer = viewer_of(ctx.info.access, call.peer)]() {
        for (auto it = st->open.begin(); it != st->open.end();) {
          auto job = store.get_job(*it);
          if (!job) {
            reply(encode_error(ErrorCode::not_found, "job " + std::to_string(*it) + " was removed"));
            return true;
          }
          if (!is_final(job->state)) return false;
          st->done.emplace(*it, std::move(*job));
          it = st->open.erase(it);
        }
        // The reply waits while this user's unsent replies are over budget
        // (its clients do not read); the sweep tries again within a second.
        if (!reply.user_has_room()) return false;
        reply(encode_ok(wait_result(st->order, st->done, viewer)));
        return true;
      },
      [reply = call.reply]() {
        reply(encode_error(ErrorCode::timeout, "the job(s) did not finish in time"));
      },
      std::nullopt,
      call.reply,
  };
  if (auto t = r.integer("timeout_ms")) {
    if (*t < 0) bad("'timeout_ms' must not be negative");
    p.deadline = std::chrono::steady_clock::now() +
                 std::chrono::milliseconds(std::min<std::int64_t>(*t, 10LL * 365 * 86400 * 1000));
  }
  ctx.waits.add(std::move(p));
  return std::nullopt;
}

std::optional<json> cancel(DaemonContext& ctx, const json& args, const Call& call) {
  ArgReader r(args, {"id"});
  const auto id = job_id_arg(r);
  const Job before = must_get_job(ctx, id);
  check_owner(ctx, before, call, "cancel");
  const Viewer viewer = viewer_of(ctx.info.access, call.peer);
  const bool admin_not_owner = viewer.admin && viewer.uid != before.submitter_uid;
  Job job = ctx.store.request_cancel(id, {viewer.uid, user_name(call.peer.uid), admin_not_owner});
  if (is_final(job.state)) {
    ctx.waits.notify();
    ctx.runner.kick();
  } else {
    ctx.poller.check(id);  // a running one is stopped from there
  }
  return job_view(job, viewer_of(ctx.info.access, call.peer));
}

// Users act on their own jobs only; admins on any.
void check_owner(DaemonContext& ctx, const Job& job, const Call& call, const char* verb) {
  if (is_admin(ctx.info.access, call.peer) ||
      job.submitter_uid == static_cast<std::int64_t>(call.peer.uid))
    return;
  throw ProtocolError(ErrorCode::forbidden,
                      "job " + std::to_string(job.id) + " belongs to " + job.submitter_name +
                          "; users may " + verb + " only their own jobs (admins: " +
                          admin_rule(ctx.info.access) + ")");
}

std::optional<json> hold_or_release(DaemonContext& ctx, const json& args, const Call& call,
                                    bool hold) {
  ArgReader r(args, {"id"});
  const auto id = job_id_arg(r);
  check_owner(ctx, must_get_job(ctx, id), call, hold ? "hold" : "release");
  Job job = ctx.store.set_held(id, hold);
  if (!hold) ctx.runner.kick();
  return job_view(job, viewer_of(ctx.info.access, call.peer));
}

std::optional<json> retry(DaemonContext& ctx, const json& args, const Call& call) {
  ArgReader r(args, {"id"});
  const auto id = job_id_arg(r);
  const Job before = must_get_job(ctx, id);
  check_owner(ctx, before, call, "retry");
  if (before.state == JobState::cancelled && before.cancelled_by_admin &&
      !is_admin(ctx.info.access, call.peer))
    throw ProtocolError(
        ErrorCode::forbidden,
        "job " + std::to_string(id) + " was cancelled by an admin (" + before.cancelled_by_name +
            "); only an admin may retry it (admins: " + admin_rule(ctx.info.access) + ")");
  Job job = ctx.store.retry_job(id, user_name(call.peer.uid));
  ctx.runner.kick();
  return job_view(job, viewer_of(ctx.info.access, call.peer));
}

std::optional<json> hold(DaemonContext& ctx, const json& args, const Call& call) {
  return hold_or_release(ctx, args, call, true);
}

std::optional<json> release(DaemonContext& ctx, const json& args, const Call& call) {
  return hold_or_release(ctx, args, call, false);
}

std::optional<json> pause_or_resume(DaemonContext& ctx, const json& args, bool pause) {
  ArgReader r(args, {"name"});
  AppUpdate u;
  u.paused = pause;
  App a = ctx.store.update_app(r.required_string("name"), u);
  if (!pause) ctx.runner.kick();
  return app_view(a, Viewer{-1, true});  // admins only
}

std::optional<json> app_pause(DaemonContext& ctx, const json& args, const Call&) {
  return pause_or_resume(ctx, args, true);
}

std::optional<json> app_resume(DaemonContext& ctx, const json& args, const Call&) {
  return pause_or_resume(ctx, args, false);
}

constexpr Command kCommands[] = {
    {"status", false, true, handlers::status},
    {"metrics", false, true, handlers::metrics},
    {"stats", false, true, handlers::stats},
    {"prune", true, false, handlers::prune},
    {"app.create", true, false, app_create},
    {"app.update", true, false, app_update},
    {"app.delete", true, false, app_delete},
    {"app.list", false, true, app_list},
    {"app.show", false, true, app_show},
    {"app.pause", true, false, app_pause},
    {"app.resume", true, false, app_resume},
    {"hold", false, false, hold},
    {"release", false, false, release},
    {"retry", false, false, retry},
    {"enqueue", false, false, enqueue},
    {"enqueue.batch", false, false, enqueue_batch},
    {"show", false, true, show},
    {"list", false, true, list},
    {"logs", false, true, logs},
    {"wait", false, true, wait},
    {"cancel", false, false, cancel},
};

ErrorCode code_for(const StoreError& e) {
  switch (e.kind()) {
    case StoreError::Kind::not_found: return ErrorCode::not_found;
    case StoreError::Kind::conflict: return ErrorCode::conflict;
    case StoreError::Kind::invalid: return ErrorCode::bad_request;
    case StoreError::Kind::io: return ErrorCode::internal;
    case StoreError::Kind::unavailable: return ErrorCode::unavailable;
  }
  return ErrorCode::internal;
}

}  // namespace

std::string nearest_command(std::string_view unknown) {
  std::vector<std::string> names;
  for (const auto& c : kCommands) names.emplace_back(c.name);
  return nearest_name(unknown, names);
}

void dispatch_request(DaemonContext& ctx, std::string_view line, const PeerCred& peer,
                      const Responder& reply) {
  try {
    const Request req = parse_request(line, ctx.info.max_request);
    const Command* cmd = nullptr;
    for (const auto& c : kCommands)
      if (c.name == req.cmd) cmd = &c;
    if (!cmd) {
      std::string msg = "unknown command '" + req.cmd + "'";
      if (auto near = nearest_command(req.cmd); !near.empty()) msg += "; did you mean '" + near + "'?";
      throw ProtocolError(ErrorCode::bad_request, msg);
    }
    if (cmd->admin_only && !is_admin(ctx.info.access, peer))
      throw ProtocolError(ErrorCode::forbidden,
                          "'" + req.cmd + "' is for admins: " + admin_rule(ctx.info.access) +
                              "; you are " + user_name(peer.uid) + " (uid " +
                              std::to_string(peer.uid) + ")");
    const Call call{peer, reply};
    if (auto result = cmd->handler(ctx, req.args, call)) reply(encode_ok(*result));
  } catch (const ProtocolError& e) {
    reply(encode_error(e.code(), e.what()));
  } catch (const StoreError& e) {
    if (e.kind() == StoreError::Kind::io || e.kind() == StoreError::Kind::unavailable)
      spdlog::error("store: {}", e.what());
    reply(encode_error(code_for(e), e.what()));
  } catch (const EngineError& e) {
    reply(encode_error(ErrorCode::engine, e.what()));
  } catch (const std::exception& e) {
    spdlog::error("request failed: {}", e.what());
    reply(encode_error(ErrorCode::internal, e.what()));
  }
}

}  // namespace jobq
