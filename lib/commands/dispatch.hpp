// The daemon's command table: one entry per protocol command, with its
// handler. Adding a command touches this table and its handler only.
// dispatch_request() turns any failure into an error reply for that one
// client: a handler that throws never takes the daemon down.
#pragma once

#include <string>
#include <string_view>

#include "base/fair_pool.hpp"
#include "base/metrics.hpp"
#include "commands/enqueue_committer.hpp"
#include "commands/log_follow.hpp"
#include "exec/executor.hpp"
#include "runtime/runtimes.hpp"
#include "server/access.hpp"
#include "server/pending_replies.hpp"
#include "server/socket_server.hpp"
#include "store/store.hpp"
#include "wire/protocol.hpp"

namespace jobq {

struct DaemonInfo {
  std::string socket_path;
  std::string state_dir;
  std::string started_at;
  int global_max_running = 0;
  AccessPolicy access;
  std::size_t log_cap = 8u << 20;
  std::int64_t retention_ms = 0;               // finished jobs kept this long; 0 = forever
  std::size_t max_request = kMaxRequestBytes;  // --max-request
};

struct DaemonContext {
  Store& store;
  const Runtimes& runtimes;
  Executor& exec;  // the runner, and each runtime's poller, puller and engine health
  Runner& runner;  // exec's
  PendingReplies& waits;
  FairPool& engine_calls;   // engine reads asked for by clients (live logs), per uid
  FairPool& store_scans;    // store scans asked for by clients (list, stats, prune), per uid
  LogFollowers& followers;  // jobq logs -f
  Metrics& metrics;
  EnqueueCommitter& committer;  // group commit of enqueues
  DaemonInfo info;
};

void dispatch_request(DaemonContext& ctx, std::string_view line, const PeerCred& peer,
                      const Responder& reply);

// The closest known command name to `unknown`, or "" when none is close.
std::string nearest_command(std::string_view unknown);

}  // namespace jobq
