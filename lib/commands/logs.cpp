// The logs handler: stored output, a running job's live output, or -f.
#include "commands/handlers.hpp"

#include "base/base64.hpp"
#include "base/log_filter.hpp"
#include "base/time_util.hpp"
#include "commands/live_logs.hpp"
#include "commands/log_follow.hpp"
#include "server/visibility.hpp"

namespace jobq::handlers {

using nlohmann::json;

namespace {

json log_result(const CapturedLog& log, std::string_view source) {
  return json{{"data_base64", base64_encode(log.data)},
              {"truncated", log.truncated},
              {"total_bytes", log.total_bytes},
              {"source", source}};
}

}  // namespace

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
  if (job.attempts.empty()) {  // never started: say why there is nothing
    json none = log_result({}, "none");
    none["started"] = false;
    none["state"] = std::string(to_string(job.state));
    none["reason"] = job.reason;
    if (job.held) none["held"] = true;
    return none;
  }
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
      ctx.engine_calls, ctx.runtimes.get(attempt->runtime), call.peer.uid,
      LiveLogRead{attempt->container_name, stream, req.filter, tail.has_value(), ctx.info.log_cap},
      call.reply);
  return std::nullopt;
}

}  // namespace jobq::handlers
