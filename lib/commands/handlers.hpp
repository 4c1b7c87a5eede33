// Internal to the daemon's command files: what a handler gets and returns,
// the argument checks they share (args.cpp), and every handler. The
// command table (dispatch.cpp) names each handler with its flags;
// handlers live in one file per subject: apps, enqueue, jobs (show, list,
// cancel, hold, release, update, retry), logs, wait, insight (status,
// metrics, stats, prune).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "commands/dispatch.hpp"
#include "model/policy.hpp"
#include "server/visibility.hpp"
#include "wire/protocol.hpp"

namespace jobq::handlers {

struct Call {
  const PeerCred& peer;
  const Responder& reply;
};

// A handler returns the result to send, or nullopt when it answers later
// through call.reply itself.
using Handler = std::optional<nlohmann::json> (*)(DaemonContext&, const nlohmann::json& args,
                                                  const Call&);

[[noreturn]] inline void bad(const std::string& msg) {
  throw ProtocolError(ErrorCode::bad_request, msg);
}

// Runs `task` off the socket loop in the caller's share of the store-scan
// pool (fair_pool.hpp): list pages, stats, prune. Throws `unavailable` when
// the caller has its share queued or running already, or jobqd is stopping.
void submit_scan(DaemonContext& ctx, const Call& call, std::function<void()> task);

// ---- argument checks and lookups (args.cpp) ---------------------------------

inline constexpr std::int64_t kMaxTimeoutMs = 366LL * 24 * 3600 * 1000;

bool has_nul(std::string_view s);
// Env names valid for a container, values without NUL; `field` names the argument.
EnvMap checked_env(const std::optional<EnvMap>& env, const char* field);
// The request's "id": a positive integer, required.
std::int64_t job_id_arg(ArgReader& r);
// The job, or not_found.
Job must_get_job(DaemonContext& ctx, std::int64_t id);
// The job, when the caller may `verb` it: users act on their own jobs only,
// admins on any (forbidden otherwise; not_found when there is no such job).
Job owned_job(DaemonContext& ctx, std::int64_t id, const Call& call, const char* verb);
// Webhook URLs that are http:// or https://.
Webhooks checked_webhooks(const Webhooks& w);
// "timeout_ms": 0 (none) up to kMaxTimeoutMs, or absent.
std::optional<std::int64_t> timeout_arg(ArgReader& r);
// The error code a store failure is answered with.
ErrorCode code_for(const StoreError& e);
// An enqueue's arguments checked into the job to store, as the caller's
// (enqueue.cpp): what enqueue refuses, this refuses.
NewJob new_job_from(DaemonContext& ctx, const nlohmann::json& args, const Call& call);

// A policy object from the request, applied over `base`; a bad field is the
// client's error, named as such.
template <typename T, typename Apply>
T policy_arg(ArgReader& r, const char* key, T base, Apply apply) {
  const nlohmann::json* v = r.raw(key);
  if (!v) return base;
  if (json_depth(v->dump()) > 4) bad(std::string("'") + key + "' nests too deeply");
  try {
    return apply(std::move(base), *v);
  } catch (const std::invalid_argument& e) {
    bad(e.what());
  }
}

// ---- the handlers -------------------------------------------------------------------

using Result = std::optional<nlohmann::json>;
using Args = nlohmann::json;

Result app_create(DaemonContext&, const Args&, const Call&);
Result app_update(DaemonContext&, const Args&, const Call&);
Result app_delete(DaemonContext&, const Args&, const Call&);
Result app_list(DaemonContext&, const Args&, const Call&);
Result app_show(DaemonContext&, const Args&, const Call&);
Result app_pause(DaemonContext&, const Args&, const Call&);
Result app_resume(DaemonContext&, const Args&, const Call&);
Result enqueue(DaemonContext&, const Args&, const Call&);
Result enqueue_batch(DaemonContext&, const Args&, const Call&);
Result show(DaemonContext&, const Args&, const Call&);
Result list(DaemonContext&, const Args&, const Call&);
Result cancel(DaemonContext&, const Args&, const Call&);
Result hold(DaemonContext&, const Args&, const Call&);
Result release(DaemonContext&, const Args&, const Call&);
Result update(DaemonContext&, const Args&, const Call&);
Result retry(DaemonContext&, const Args&, const Call&);
Result logs(DaemonContext&, const Args&, const Call&);
Result wait(DaemonContext&, const Args&, const Call&);
Result schedule_create(DaemonContext&, const Args&, const Call&);
Result schedule_update(DaemonContext&, const Args&, const Call&);
Result schedule_list(DaemonContext&, const Args&, const Call&);
Result schedule_show(DaemonContext&, const Args&, const Call&);
Result schedule_pause(DaemonContext&, const Args&, const Call&);
Result schedule_resume(DaemonContext&, const Args&, const Call&);
Result schedule_delete(DaemonContext&, const Args&, const Call&);
Result schedule_run(DaemonContext&, const Args&, const Call&);

std::optional<nlohmann::json> status(DaemonContext&, const nlohmann::json&, const Call&);
std::optional<nlohmann::json> metrics(DaemonContext&, const nlohmann::json&, const Call&);
std::optional<nlohmann::json> stats(DaemonContext&, const nlohmann::json&, const Call&);
std::optional<nlohmann::json> prune(DaemonContext&, const nlohmann::json&, const Call&);

}  // namespace jobq::handlers
