// The wait handler: answers when every named job has ended (pending_replies.hpp).
#include "commands/handlers.hpp"

#include <set>

#include "server/visibility.hpp"

namespace jobq::handlers {

using nlohmann::json;

namespace {

// One `wait` names at most kMaxWaitIds ids; its reply gives each distinct id
// once, the whole job while the reply is under kWaitReplyBytes, and past
// that a summary (wait_summary) that still tells how it ended.
constexpr std::size_t kMaxWaitIds = 10'000;
constexpr std::size_t kWaitReplyBytes = 1u << 20;

// How an awaited job ended, without its command, env, output or message:
// what `jobq wait` prints and takes its exit code from.
json wait_summary(const Job& job, const Viewer& viewer) {
  const json full = job_view(job, viewer);
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
    json full = job_view(job, viewer);
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

}  // namespace

std::optional<json> wait(DaemonContext& ctx, const json& args, const Call& call) {
  ArgReader r(args, {"ids", "timeout_ms"});
  auto ids = r.integer_list("ids");
  if (!ids || ids->empty()) bad("field 'ids' needs at least one job id");
  if (ids->size() > kMaxWaitIds)
    bad("at most " + std::to_string(kMaxWaitIds) + " job ids can be waited for at once");
  // Each job is looked up once more only until it is final (a final job never
  // changes), so a long list of finished ids costs nothing per sweep.
  struct State {
    std::vector<std::int64_t> order;   // distinct, in the order first named
    std::map<std::int64_t, Job> done;  // final jobs
    std::vector<std::int64_t> open;    // distinct ids not final yet
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
            reply(
                encode_error(ErrorCode::not_found, "job " + std::to_string(*it) + " was removed"));
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

}  // namespace jobq::handlers
