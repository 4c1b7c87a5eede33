// `jobq logs` (without -f) of a running job: its output so far, read from
// the engine off the socket loop, in the caller's fair share of the engine
// pool (fair_pool.hpp). Unless the client names a tail (N lines, or all),
// only the last kLiveTailDefault lines are read: the engine reads the end of
// its log for that, so the cost does not grow with the job's output (a whole
// 200 MB log takes the engine half a minute to send). The reply says when
// that default cut the output ("more": older lines exist) so the client can
// say how to get them (--tail N, --tail all). What is kept is capped like
// stored output (the last log_cap bytes of the stream).
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <string>

#include <nlohmann/json.hpp>

#include "base/fair_pool.hpp"
#include "base/log_filter.hpp"
#include "runtime/runtime.hpp"
#include "server/socket_server.hpp"

namespace jobq {

constexpr int kLiveTailDefault = 1000;

struct LiveLogRead {
  std::string container;
  LogStream stream = LogStream::stdout_stream;
  LogFilter filter;         // tail -1 with tail_given: all
  bool tail_given = false;  // the client named a tail (a number, or all)
  std::size_t cap = 8u << 20;
};

// Reads on the calling thread and returns the reply's result:
// {data_base64, truncated, total_bytes, source: "engine"}, plus
// {default_tail, more} when the default tail applied. Throws EngineError.
nlohmann::json read_live_log(Runtime& runtime, const LiveLogRead& read);

// Queues read_live_log() in uid's share of `pool`; the reply comes through
// `reply`. Throws ProtocolError unavailable when uid has its share queued.
void submit_live_log(FairPool& pool, Runtime& runtime, uid_t uid, const LiveLogRead& read,
                     const Responder& reply);

}  // namespace jobq
