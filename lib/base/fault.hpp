// Fault injection, for tests only: JOBQD_CRASH_AT=<point> makes jobqd kill
// itself with SIGKILL the first time it reaches that point, so a test can
// crash it exactly there and check what the next start makes of it.
// Points, in the order a job meets them:
//   after_intent_commit   attempt committed as starting, no engine call yet
//   after_create          container created, not started
//   after_start           container started, not yet recorded as running
//   before_result_commit  exit seen and logs read, result not committed
//   after_result_commit   result committed, container not yet removed
// Never set it in production: it exists to be crashed.
#pragma once

namespace jobq {

void fault_point(const char* name);

}  // namespace jobq
