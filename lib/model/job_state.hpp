// Job and attempt states. These words are part of the public API (jobq(1),
// --json, scripts match on them): never rename one, only add.
#pragma once

#include <optional>
#include <string_view>

namespace jobq {

enum class JobState {
  pending,    // waiting for a slot
  starting,   // launch intent committed, container being created/started
  running,    // container started; the poller watches it
  succeeded,  // exit code 0
  failed,     // non-zero exit, OOM kill, or launch error (see reason)
  cancelled,  // cancelled by request
  lost,       // its container vanished; reason recorded
  timed_out,  // ran past its timeout; stopped
  skipped,    // never ran: a dependency it needed did not succeed (see reason)
};

std::string_view to_string(JobState s);
std::optional<JobState> parse_job_state(std::string_view s);
bool is_final(JobState s);
// "starting" counts as running for every concurrency limit.
bool holds_slot(JobState s);

}  // namespace jobq
