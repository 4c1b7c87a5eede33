// What `jobq logs --tail/--since/--timestamps` shows of stored output. jobqd
// captures output with Docker's timestamps (each line starts with its RFC
// 3339 time and a space), so that a finished job's output can be cut by time
// and shown with or without them, like a running one's.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace jobq {

struct LogFilter {
  int tail = -1;              // the last N lines only; -1: all
  std::int64_t since_ns = 0;  // lines written at or after this time (unix ns); 0: all
  bool timestamps = false;    // keep each line's timestamp in the output
};

// Applies `f` to `data`. When `timestamped`, each line's leading timestamp is
// read (and dropped unless f.timestamps); a line without one (the first,
// when the stored tail began mid-line) is shown as is, except under `since`.
// Without timestamps in the data, `since` cannot be applied and keeps all.
std::string filter_log(std::string_view data, bool timestamped, const LogFilter& f);

}  // namespace jobq
