#include "commands/live_logs.hpp"

#include <algorithm>

#include "base/base64.hpp"
#include "base/log_tail.hpp"
#include "wire/protocol.hpp"

namespace jobq {

using nlohmann::json;

json read_live_log(Runtime& runtime, const LiveLogRead& read) {
  LogOptions opts;
  opts.timestamps = read.filter.timestamps;
  opts.since_ns = read.filter.since_ns;
  opts.tail = read.tail_given ? read.filter.tail : kLiveTailDefault;
  TailBuffer tail(read.cap);  // the same cap as stored output
  std::size_t lines = 0;      // of both streams: the engine's tail counts both
  runtime.output(
      read.container, opts,
      [&](LogStream s, std::string_view bytes) {
        lines += static_cast<std::size_t>(std::count(bytes.begin(), bytes.end(), '\n'));
        if (s == read.stream) tail.append(bytes);
      },
      [] { return true; });
  const bool cut = tail.truncated();
  const auto total = tail.total_bytes();
  json out{{"data_base64", base64_encode(tail.take())},
           {"truncated", cut},
           {"total_bytes", total},
           {"source", "engine"}};
  if (!read.tail_given) {
    out["default_tail"] = kLiveTailDefault;
    out["more"] = lines >= static_cast<std::size_t>(kLiveTailDefault);
  }
  return out;
}

void submit_live_log(FairPool& pool, Runtime& runtime, uid_t uid, const LiveLogRead& read,
                     const Responder& reply) {
  const auto got = pool.submit(uid, [&runtime, read, reply] {
    try {
      reply(encode_ok(read_live_log(runtime, read)));
    } catch (const EngineError& e) {
      reply(encode_error(ErrorCode::engine, e.what()));
    }
  });
  if (got == FairPool::Submitted::over_share)
    throw ProtocolError(ErrorCode::unavailable,
                        "you have " + std::to_string(pool.options().per_uid) +
                            " requests that read from the engine queued or running already (jobqd "
                            "--engine-calls-per-user); try again when they have been answered");
  if (got == FairPool::Submitted::stopping)
    throw ProtocolError(ErrorCode::unavailable, "jobqd is stopping");
}

}  // namespace jobq
