// Internal to the daemon's command files: what a handler gets and returns.
// The command table (daemon_commands.cpp) names every handler; handlers for
// jobs and applications live there, those that report on the daemon as a
// whole (status, metrics, stats, prune) in daemon_insight.cpp.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "daemon_commands.hpp"
#include "protocol.hpp"

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

std::optional<nlohmann::json> status(DaemonContext&, const nlohmann::json&, const Call&);
std::optional<nlohmann::json> metrics(DaemonContext&, const nlohmann::json&, const Call&);
std::optional<nlohmann::json> stats(DaemonContext&, const nlohmann::json&, const Call&);
std::optional<nlohmann::json> prune(DaemonContext&, const nlohmann::json&, const Call&);

}  // namespace jobq::handlers
